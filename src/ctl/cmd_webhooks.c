/* cmd_webhooks.c : owns `callogctl webhooks` (the outbox's pending and failed
 * deliveries with their last answer) and `callogctl webhooks retry ID`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "callogd/ctl.h"
#include "callogd/store.h"
#include "callogd/util.h"

#define LIST_MAX 1000

static const char *const states[] = {"held", "pending", "delivered", "failed"};

static int
add_row(void *arg, const struct cl_outbox_row *r)
{
	char due[CL_TIME_LEN], last[CL_TIME_LEN];
	json_t *j;

	cl_time_format(r->due_ms, due);
	if (r->last_ms)
		cl_time_format(r->last_ms, last);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s}", "id", r->delivery_id, "state",
	              states[r->state & 3], "hook", r->hook, "type", r->type, "call_id", r->call_id, "revision",
	              r->revision, "attempts", r->attempts, "due_at", due, "last_at", r->last_ms ? last : "",
	              "last_answer", r->last_error);
	return j == NULL || json_array_append_new(arg, j) < 0 ? -1 : 0;
}

static int
list(struct cl_store *st, int as_json)
{
	static const char *const header[] = {"ID",  "STATE", "HOOK", "TYPE",       "CALL_ID",
	                                     "REV", "TRIES", "NEXT", "LAST_ANSWER"};
	char err[CL_ERR_LEN];
	json_t *rows = json_array(), *table = json_array(), *r;
	size_t i;
	int rc = 1;

	if (rows == NULL || table == NULL || cl_store_outbox_list(st, LIST_MAX, add_row, rows, err) != 0) {
		fprintf(stderr, "callogctl: webhooks: %s\n", rows && table ? err : "out of memory");
		goto out;
	}
	if (as_json) {
		json_t *o = json_pack("{s:O}", "deliveries", rows);
		char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (text)
			puts(text);
		free(text);
		json_decref(o);
		rc = 0;
		goto out;
	}
	json_array_foreach (rows, i, r) {
		char rev[16], tries[16], next[24];
		const char *state = cl_ctl_cell(r, "state");
		snprintf(rev, sizeof(rev), "%lld", (long long)json_integer_value(json_object_get(r, "revision")));
		snprintf(tries, sizeof(tries), "%lld", (long long)json_integer_value(json_object_get(r, "attempts")));
		snprintf(next, sizeof(next), "%.19s", strcmp(state, "failed") == 0 ? "-" : cl_ctl_cell(r, "due_at"));
		if (strlen(next) > 10 && next[10] == 'T')
			next[10] = ' ';
		if (json_array_append_new(table, json_pack("[s,s,s,s,s,s,s,s,s]", cl_ctl_cell(r, "id"), state,
		                                           cl_ctl_cell(r, "hook"), cl_ctl_cell(r, "type"),
		                                           cl_ctl_cell(r, "call_id"), rev, tries, next,
		                                           cl_ctl_cell(r, "last_answer"))) < 0)
			goto out;
	}
	cl_ctl_print_table(header, 9, table);
	rc = 0;
out:
	json_decref(rows);
	json_decref(table);
	return rc;
}

int
cl_ctl_webhooks(struct cl_ctl *ctl, int argc, char **argv)
{
	struct cl_store *st;
	char err[CL_ERR_LEN];
	int rc;

	if (argc == 3 && strcmp(argv[1], "retry") == 0) {
		if (strlen(argv[2]) > 95 || argv[2][0] == '\0')
			return cl_ctl_usage_error("webhooks retry: \"%s\" is no delivery id", argv[2]);
		if ((st = cl_ctl_store(ctl, 0)) == NULL)
			return 1;
		rc = cl_store_outbox_retry(st, argv[2], cl_now_ms(), err);
		cl_store_close(st);
		if (rc < 0)
			return cl_ctl_fail("webhooks retry: %s", err);
		if (rc == 0)
			return cl_ctl_fail("webhooks retry: no delivery %s", argv[2]);
		printf("%s is sent again now\n", argv[2]);
		return 0;
	}
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0))
		return cl_ctl_usage_error("webhooks takes [--json] or retry ID", NULL);
	if ((st = cl_ctl_store(ctl, CL_STORE_READONLY)) == NULL)
		return 1;
	rc = list(st, argc == 2);
	cl_store_close(st);
	return rc;
}
