/* cmd_people.c : callogctl import, customer, agent and token. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "callogd/ctl.h"
#include "callogd/numbers.h"
#include "callogd/util.h"
#include "callogd/customers.h"
#include "callogd/store.h"
#include "callogd/views.h"

/* --- import, customer --------------------------------------------------- */

int
cl_ctl_import(struct cl_ctl *ctl, int argc, char **argv)
{
	struct cl_store *st;
	int rc;

	if (argc != 2)
		return cl_ctl_usage_error("import takes one FILE.csv", NULL);
	if ((st = cl_ctl_store(ctl, 0)) == NULL)
		return 1;
	cl_ctl_yield_to_daemon();
	rc = cl_customers_import_file(st, &ctl->rules, argv[1], stdout, stderr);
	cl_store_close(st);
	return rc;
}

int
cl_ctl_customer(struct cl_ctl *ctl, int argc, char **argv)
{
	struct cl_store *st;
	int rc;

	if (argc != 2)
		return cl_ctl_usage_error("customer takes one NUMBER", NULL);
	if (strlen(argv[1]) > CL_NUMBER_MAX_INPUT)
		return cl_ctl_usage_error("customer: NUMBER is longer than 64 bytes", NULL);
	if ((st = cl_ctl_store(ctl, CL_STORE_READONLY)) == NULL)
		return 1;
	rc = cl_customers_print_lookup(st, &ctl->rules, argv[1], ctl->cfg.pops_history, stdout, stderr);
	cl_store_close(st);
	return rc;
}

/* --- agent, token ------------------------------------------------------- */

static int
agent_add(struct cl_ctl *ctl, int argc, char **argv)
{
	const char *id = NULL, *name = NULL, *why;
	char token[CL_TOKEN_LEN], err[CL_ERR_LEN] = "";
	struct cl_store *st;
	int rc;

	for (int i = 1; i < argc; i++) {
		int m = cl_ctl_opt_value(argc, argv, &i, "--name", &name);
		if (m < 0)
			return cl_ctl_usage_error("agent add: --name needs a value", NULL);
		if (m > 0)
			continue;
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return cl_ctl_usage_error("agent add: unknown option %s", argv[i]);
		if (id != NULL)
			return cl_ctl_usage_error("agent add: unexpected argument %s", argv[i]);
		id = argv[i];
	}
	if (id == NULL)
		return cl_ctl_usage_error("agent add needs an ID", NULL);
	if ((why = cl_ctl_id_problem(id)) != NULL)
		return cl_ctl_usage_error("agent add: the agent ID %s", why);
	if (name != NULL && (why = cl_ctl_name_problem(name)) != NULL)
		return cl_ctl_usage_error("agent add: --name %s", why);
	if ((st = cl_ctl_store(ctl, 0)) == NULL)
		return 1;
	rc = cl_store_agent_add(st, id, name, token, err);
	cl_store_close(st);
	if (rc < 0)
		return cl_ctl_fail("%s", err);
	printf("%s\n", token);
	fprintf(stderr, "callogctl: agent %s added; keep its token, it is not shown again\n", id);
	return 0;
}

static int
agent_list(struct cl_ctl *ctl, int argc, char **argv)
{
	static const char *const header[] = {"ID", "NAME", "STATE", "SINCE"};
	char err[CL_ERR_LEN] = "";
	struct cl_store *st;
	json_t *res, *rows = NULL, *a;
	int as_json = 0, rc = 1;
	size_t i;

	for (int k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--json") == 0)
			as_json = 1;
		else
			return cl_ctl_usage_error("agent list: unexpected argument %s", argv[k]);
	}
	if ((st = cl_ctl_store(ctl, CL_STORE_READONLY)) == NULL)
		return 1;
	res = cl_view_agents(st, err);
	cl_store_close(st);
	if (res == NULL)
		return cl_ctl_fail("%s", err);
	if (as_json) {
		if (json_dumpf(res, stdout, JSON_INDENT(2)) == 0 && putchar('\n') != EOF)
			rc = 0;
		goto out;
	}
	if ((rows = json_array()) == NULL)
		goto oom;
	json_array_foreach (json_object_get(res, "agents"), i, a) {
		json_t *row = json_pack("[s,s,s,s]", cl_ctl_cell(a, "id"), cl_ctl_cell(a, "name"),
		                        cl_ctl_cell(a, "state"), cl_ctl_cell(a, "since"));
		if (row == NULL || json_array_append_new(rows, row) < 0)
			goto oom;
	}
	cl_ctl_print_table(header, 4, rows);
	rc = 0;
	goto out;
oom:
	cl_ctl_fail("%s", "out of memory");
out:
	json_decref(rows);
	json_decref(res);
	return rc;
}

static int
agent_remove(struct cl_ctl *ctl, int argc, char **argv)
{
	char err[CL_ERR_LEN] = "";
	struct cl_store *st;
	const char *why;
	int rc;

	if (argc != 2)
		return cl_ctl_usage_error("agent remove takes one ID", NULL);
	if ((why = cl_ctl_id_problem(argv[1])) != NULL)
		return cl_ctl_usage_error("agent remove: the agent ID %s", why);
	if ((st = cl_ctl_store(ctl, 0)) == NULL)
		return 1;
	rc = cl_store_agent_remove(st, argv[1], err);
	cl_store_close(st);
	if (rc < 0)
		return cl_ctl_fail("%s", err);
	if (rc == 0)
		return cl_ctl_fail("no such agent: %s", argv[1]);
	fprintf(stderr, "callogctl: agent %s removed\n", argv[1]);
	return 0;
}

int
cl_ctl_agent(struct cl_ctl *ctl, int argc, char **argv)
{
	if (argc < 2)
		return cl_ctl_usage_error("agent needs add, list or remove", NULL);
	if (strcmp(argv[1], "add") == 0)
		return agent_add(ctl, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return agent_list(ctl, argc - 1, argv + 1);
	if (strcmp(argv[1], "remove") == 0)
		return agent_remove(ctl, argc - 1, argv + 1);
	return cl_ctl_usage_error("agent: unknown subcommand %s", argv[1]);
}

int
cl_ctl_token(struct cl_ctl *ctl, int argc, char **argv)
{
	char token[CL_TOKEN_LEN], err[CL_ERR_LEN] = "";
	struct cl_store *st;
	const char *why;
	int rc;

	int role = CL_ROLE_ADMIN;

	if (argc < 2 || strcmp(argv[1], "add") != 0)
		return cl_ctl_usage_error("token needs add NAME [--role admin|supervisor|producer]", NULL);
	if (argc == 5 && strcmp(argv[3], "--role") == 0) {
		if ((role = cl_role_parse(argv[4])) == 0)
			return cl_ctl_usage_error("token add: --role is admin, supervisor or producer", NULL);
	} else if (argc != 3) {
		return cl_ctl_usage_error("token add takes one NAME and an optional --role ROLE", NULL);
	}
	if ((why = cl_ctl_name_problem(argv[2])) != NULL)
		return cl_ctl_usage_error("token add: the NAME %s", why);
	if ((st = cl_ctl_store(ctl, 0)) == NULL)
		return 1;
	rc = cl_store_token_add(st, argv[2], role, token, err);
	cl_store_close(st);
	if (rc < 0)
		return cl_ctl_fail("%s", err);
	printf("%s\n", token);
	fprintf(stderr, "callogctl: API token %s (%s) added; keep it, it is not shown again\n", argv[2],
	        cl_role_name(role));
	return 0;
}
