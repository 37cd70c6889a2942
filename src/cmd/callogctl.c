/* callogctl.c : the operator's tool: argument parsing and one function per
 * command of SPEC §7; the work itself is in the library modules. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "callogd/client.h"
#include "callogd/config.h"
#include "callogd/customers.h"
#include "callogd/numbers.h"
#include "callogd/sim.h"
#include "callogd/store.h"
#include "callogd/util.h"
#include "callogd/views.h"

#define EXIT_USAGE 2

#define SEND_MAX_IN_FLIGHT 1024    /* lines sent and not yet answered */
#define SEND_MAX_OUT (1024 * 1024) /* bytes queued for the socket */
#define SEND_READ_CHUNK 65536      /* bytes read from the input at once */
#define SEND_STALL_MS 30000        /* no answer for this long: give up */
#define SIM_PHONES 1000            /* customer phones sampled for simulate */
#define NAME_MAX_LEN 256           /* agent and token names */
#define COL_MAX 32                 /* widest table column */

static const char usage_text[] =
    "usage: callogctl [-c FILE] COMMAND [ARGS]\n"
    "\n"
    "  -c FILE   config file (default " CL_DEFAULT_CONFIG ")\n"
    "  -h        this help\n"
    "\n"
    "commands:\n"
    "  import FILE.csv                     upsert customers (header id,name,phones,email,account,tier,notes)\n"
    "  customer NUMBER                     the customer lookup a screen-pop would make\n"
    "  agent add ID [--name NAME]          create an agent; prints its token, once\n"
    "  agent list [--json]                 agents: id, name, state, since\n"
    "  agent remove ID                     delete an agent\n"
    "  token add NAME                      create an API token; prints it, once\n"
    "  calls [--since T] [--until T] [--agent A] [--queue Q] [--number N] [--limit N] [--json]\n"
    "                                      the call log, newest first (limit 1..1000, default 50);\n"
    "                                      T is RFC 3339 or YYYY-MM-DD (UTC; --until DATE includes that day)\n"
    "  send [FILE]                         send NDJSON events (stdin by default); print the answers\n"
    "  simulate [--calls N] [--rate R] [--agents K] [--seed S]\n"
    "                                      drive contact-center traffic through the daemon\n"
    "                                      (defaults: 100 calls, 5 calls/s, 10 agents)\n"
    "  purge --before DATE                 delete calls (and their events) that ended before DATE\n"
    "  help                                this help\n";

struct ctl {
	const char *config_path;
	struct cl_config cfg;
	int cfg_loaded;
	struct cl_numbers rules;
};

static int
usage_error(const char *fmt, const char *arg)
{
	if (fmt != NULL) {
		fputs("callogctl: ", stderr);
		fprintf(stderr, fmt, arg);
		fputc('\n', stderr);
	}
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

static int
fail(const char *fmt, const char *arg)
{
	fputs("callogctl: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

/* Loads the config once, with the number rules every command may need. */
static int
ctl_config(struct ctl *ctl)
{
	char err[CL_ERR_LEN] = "";

	if (ctl->cfg_loaded)
		return 0;
	if (cl_config_load(&ctl->cfg, ctl->config_path, err) < 0) {
		fail("%s", err);
		return -1;
	}
	ctl->cfg_loaded = 1;
	if (cl_numbers_init(&ctl->rules, ctl->cfg.country_code, ctl->cfg.national_prefix,
	                    ctl->cfg.international_prefix) < 0) {
		fail("%s: bad numbers rules", ctl->config_path);
		return -1;
	}
	return 0;
}

static struct cl_store *
ctl_store(struct ctl *ctl, int flags)
{
	char err[CL_ERR_LEN] = "";
	struct cl_store *st;

	if (ctl_config(ctl) < 0)
		return NULL;
	if ((st = cl_store_open(ctl->cfg.db_path, flags, err)) == NULL)
		fprintf(stderr, "callogctl: %s: %s\n", ctl->cfg.db_path, err);
	return st;
}

/* IDs (agents, queues) are 1..CL_ID_MAX printable ASCII bytes, no spaces. */
static const char *
id_problem(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return "is empty";
	if (n > CL_ID_MAX)
		return "is longer than 128 bytes";
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)s[i]))
			return "must be printable ASCII without spaces";
	return NULL;
}

/* Names are 1..NAME_MAX_LEN bytes of UTF-8 without control characters. */
static const char *
name_problem(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return "is empty";
	if (n > NAME_MAX_LEN)
		return "is longer than 256 bytes";
	if (!cl_utf8_valid(s, n))
		return "is not valid UTF-8";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "contains control characters";
	return NULL;
}

/*
 * Matches "--name VALUE" and "--name=VALUE" at argv[*i]; sets *val and moves
 * *i past what it used. 1 on a match, 0 when argv[*i] is another option, -1
 * when the value is missing.
 */
static int
opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

static int
parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* RFC 3339, or YYYY-MM-DD for midnight UTC of that day (+1 day with end_of_day). */
static int
parse_when(const char *s, int end_of_day, int64_t *ms)
{
	char buf[40];

	if (strlen(s) == 10) {
		snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
		if (cl_time_parse(buf, ms) < 0)
			return -1;
		if (end_of_day)
			*ms += 86400000;
		return 0;
	}
	return cl_time_parse(s, ms);
}

/* --- import, customer --------------------------------------------------- */

static int
cmd_import(struct ctl *ctl, int argc, char **argv)
{
	struct cl_store *st;
	int rc;

	if (argc != 2)
		return usage_error("import takes one FILE.csv", NULL);
	if ((st = ctl_store(ctl, 0)) == NULL)
		return 1;
	rc = cl_customers_import_file(st, &ctl->rules, argv[1], stdout, stderr);
	cl_store_close(st);
	return rc;
}

static int
cmd_customer(struct ctl *ctl, int argc, char **argv)
{
	struct cl_store *st;
	int rc;

	if (argc != 2)
		return usage_error("customer takes one NUMBER", NULL);
	if (strlen(argv[1]) > CL_NUMBER_MAX_INPUT)
		return usage_error("customer: NUMBER is longer than 64 bytes", NULL);
	if ((st = ctl_store(ctl, CL_STORE_READONLY)) == NULL)
		return 1;
	rc = cl_customers_print_lookup(st, &ctl->rules, argv[1], ctl->cfg.pops_history, stdout, stderr);
	cl_store_close(st);
	return rc;
}

/* --- agent, token ------------------------------------------------------- */

static int
agent_add(struct ctl *ctl, int argc, char **argv)
{
	const char *id = NULL, *name = NULL, *why;
	char token[CL_TOKEN_LEN], err[CL_ERR_LEN] = "";
	struct cl_store *st;
	int rc;

	for (int i = 1; i < argc; i++) {
		int m = opt_value(argc, argv, &i, "--name", &name);
		if (m < 0)
			return usage_error("agent add: --name needs a value", NULL);
		if (m > 0)
			continue;
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return usage_error("agent add: unknown option %s", argv[i]);
		if (id != NULL)
			return usage_error("agent add: unexpected argument %s", argv[i]);
		id = argv[i];
	}
	if (id == NULL)
		return usage_error("agent add needs an ID", NULL);
	if ((why = id_problem(id)) != NULL)
		return usage_error("agent add: the agent ID %s", why);
	if (name != NULL && (why = name_problem(name)) != NULL)
		return usage_error("agent add: --name %s", why);
	if ((st = ctl_store(ctl, 0)) == NULL)
		return 1;
	rc = cl_store_agent_add(st, id, name, token, err);
	cl_store_close(st);
	if (rc < 0)
		return fail("%s", err);
	printf("%s\n", token);
	fprintf(stderr, "callogctl: agent %s added; keep its token, it is not shown again\n", id);
	return 0;
}

/* Appends s to a fixed-width cell: cut to COL_MAX with a "~" when longer. */
static void
print_cell(const char *s, int width, int last)
{
	int n = (int)strlen(s);

	if (n > COL_MAX)
		printf("%.*s~", COL_MAX - 1, s);
	else
		fputs(s, stdout);
	if (!last)
		printf("%*s", (n > COL_MAX ? COL_MAX : n) < width ? width - (n > COL_MAX ? COL_MAX : n) + 2 : 2, "");
}

/* Prints rows (an array of arrays of strings) under header as aligned columns. */
static void
print_table(const char *const *header, int ncols, json_t *rows)
{
	int width[16] = {0};
	size_t r;
	json_t *row;

	for (int k = 0; k < ncols && k < 16; k++)
		width[k] = (int)strlen(header[k]);
	json_array_foreach (rows, r, row) {
		for (int k = 0; k < ncols && k < 16; k++) {
			int n = (int)strlen(json_string_value(json_array_get(row, (size_t)k)));
			if (n > COL_MAX)
				n = COL_MAX;
			if (n > width[k])
				width[k] = n;
		}
	}
	for (int k = 0; k < ncols; k++)
		print_cell(header[k], width[k], k == ncols - 1);
	putchar('\n');
	json_array_foreach (rows, r, row) {
		for (int k = 0; k < ncols; k++)
			print_cell(json_string_value(json_array_get(row, (size_t)k)), width[k], k == ncols - 1);
		putchar('\n');
	}
}

/* A string field for a table cell: "-" when null or absent. */
static const char *
cell(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s != NULL && s[0] != '\0' ? s : "-";
}

static int
agent_list(struct ctl *ctl, int argc, char **argv)
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
			return usage_error("agent list: unexpected argument %s", argv[k]);
	}
	if ((st = ctl_store(ctl, CL_STORE_READONLY)) == NULL)
		return 1;
	res = cl_view_agents(st, err);
	cl_store_close(st);
	if (res == NULL)
		return fail("%s", err);
	if (as_json) {
		if (json_dumpf(res, stdout, JSON_INDENT(2)) == 0 && putchar('\n') != EOF)
			rc = 0;
		goto out;
	}
	if ((rows = json_array()) == NULL)
		goto oom;
	json_array_foreach (json_object_get(res, "agents"), i, a) {
		json_t *row =
		    json_pack("[s,s,s,s]", cell(a, "id"), cell(a, "name"), cell(a, "state"), cell(a, "since"));
		if (row == NULL || json_array_append_new(rows, row) < 0)
			goto oom;
	}
	print_table(header, 4, rows);
	rc = 0;
	goto out;
oom:
	fail("%s", "out of memory");
out:
	json_decref(rows);
	json_decref(res);
	return rc;
}

static int
agent_remove(struct ctl *ctl, int argc, char **argv)
{
	char err[CL_ERR_LEN] = "";
	struct cl_store *st;
	const char *why;
	int rc;

	if (argc != 2)
		return usage_error("agent remove takes one ID", NULL);
	if ((why = id_problem(argv[1])) != NULL)
		return usage_error("agent remove: the agent ID %s", why);
	if ((st = ctl_store(ctl, 0)) == NULL)
		return 1;
	rc = cl_store_agent_remove(st, argv[1], err);
	cl_store_close(st);
	if (rc < 0)
		return fail("%s", err);
	if (rc == 0)
		return fail("no such agent: %s", argv[1]);
	fprintf(stderr, "callogctl: agent %s removed\n", argv[1]);
	return 0;
}

static int
cmd_agent(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 2)
		return usage_error("agent needs add, list or remove", NULL);
	if (strcmp(argv[1], "add") == 0)
		return agent_add(ctl, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return agent_list(ctl, argc - 1, argv + 1);
	if (strcmp(argv[1], "remove") == 0)
		return agent_remove(ctl, argc - 1, argv + 1);
	return usage_error("agent: unknown subcommand %s", argv[1]);
}

static int
cmd_token(struct ctl *ctl, int argc, char **argv)
{
	char token[CL_TOKEN_LEN], err[CL_ERR_LEN] = "";
	struct cl_store *st;
	const char *why;
	int rc;

	if (argc < 2 || strcmp(argv[1], "add") != 0)
		return usage_error("token needs add NAME", NULL);
	if (argc != 3)
		return usage_error("token add takes one NAME", NULL);
	if ((why = name_problem(argv[2])) != NULL)
		return usage_error("token add: the NAME %s", why);
	if ((st = ctl_store(ctl, 0)) == NULL)
		return 1;
	rc = cl_store_token_add(st, argv[2], token, err);
	cl_store_close(st);
	if (rc < 0)
		return fail("%s", err);
	printf("%s\n", token);
	fprintf(stderr, "callogctl: API token %s added; keep it, it is not shown again\n", argv[2]);
	return 0;
}

/* --- calls, purge ------------------------------------------------------- */

/* "4.2s", "1:05", "12:00:07": a duration in ms for a table cell. */
static void
fmt_duration(json_t *v, char *buf, size_t len)
{
	if (!json_is_integer(v)) {
		snprintf(buf, len, "-");
		return;
	}
	long long ms = (long long)json_integer_value(v), s = ms / 1000;
	if (s < 60)
		snprintf(buf, len, "%lld.%llds", s, ms % 1000 / 100);
	else if (s >= 3600)
		snprintf(buf, len, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%lld:%02lld", s / 60, s % 60);
}

static int
print_calls(json_t *res)
{
	static const char *const header[] = {"TIME",  "CALL_ID", "DIR",  "FROM", "QUEUE",
	                                     "AGENT", "OUTCOME", "WAIT", "TALK", "DISPOSITION"};
	json_t *rows = json_array(), *c;
	size_t i;

	if (rows == NULL)
		return -1;
	json_array_foreach (json_object_get(res, "calls"), i, c) {
		char when[CL_TIME_LEN], wait[32], talk[32];
		const char *t = cell(c, "offered_at");
		json_t *row;

		/* "2026-11-22T10:00:00.000Z" -> "2026-11-22 10:00:00" */
		snprintf(when, sizeof(when), "%.19s", t);
		if (strlen(when) > 10 && when[10] == 'T')
			when[10] = ' ';
		fmt_duration(json_object_get(c, "wait_ms"), wait, sizeof(wait));
		fmt_duration(json_object_get(c, "talk_ms"), talk, sizeof(talk));
		row = json_pack("[s,s,s,s,s,s,s,s,s,s]", when, cell(c, "call_id"),
		                strcmp(cell(c, "direction"), "outbound") == 0 ? "out" : "in",
		                strcmp(cell(c, "direction"), "outbound") == 0 ? cell(c, "to") : cell(c, "from"),
		                cell(c, "queue"), cell(c, "agent"), cell(c, "outcome"), wait, talk,
		                cell(json_object_get(c, "disposition"), "code"));
		if (row == NULL || json_array_append_new(rows, row) < 0) {
			json_decref(rows);
			return -1;
		}
	}
	print_table(header, 10, rows);
	json_decref(rows);
	return 0;
}

static int
cmd_calls(struct ctl *ctl, int argc, char **argv)
{
	struct cl_call_filter f = {.limit = 50};
	const char *since = NULL, *until = NULL, *number = NULL, *limit = NULL, *why;
	char num[CL_NUMBER_LEN], err[CL_ERR_LEN] = "";
	struct cl_store *st;
	json_t *res;
	int as_json = 0, rc = 1;

	for (int i = 1; i < argc; i++) {
		int m;
		if (strcmp(argv[i], "--json") == 0) {
			as_json = 1;
			continue;
		}
		if ((m = opt_value(argc, argv, &i, "--since", &since)) == 0 &&
		    (m = opt_value(argc, argv, &i, "--until", &until)) == 0 &&
		    (m = opt_value(argc, argv, &i, "--agent", &f.agent)) == 0 &&
		    (m = opt_value(argc, argv, &i, "--queue", &f.queue)) == 0 &&
		    (m = opt_value(argc, argv, &i, "--number", &number)) == 0 &&
		    (m = opt_value(argc, argv, &i, "--limit", &limit)) == 0)
			return usage_error("calls: unexpected argument %s", argv[i]);
		if (m < 0)
			return usage_error("calls: %s needs a value", argv[i]);
	}
	if (since != NULL && parse_when(since, 0, &f.since) < 0)
		return usage_error("calls: --since %s is not RFC 3339 or YYYY-MM-DD", since);
	if (until != NULL && parse_when(until, 1, &f.until) < 0)
		return usage_error("calls: --until %s is not RFC 3339 or YYYY-MM-DD", until);
	if (f.agent != NULL && (why = id_problem(f.agent)) != NULL)
		return usage_error("calls: --agent %s", why);
	if (f.queue != NULL && (why = id_problem(f.queue)) != NULL)
		return usage_error("calls: --queue %s", why);
	if (limit != NULL) {
		long v;
		if (parse_long(limit, 1, 1000, &v) < 0)
			return usage_error("calls: --limit %s is not a number from 1 to 1000", limit);
		f.limit = (int)v;
	}
	if (number != NULL && strlen(number) > CL_NUMBER_MAX_INPUT)
		return usage_error("calls: --number is longer than 64 bytes", NULL);
	if (ctl_config(ctl) < 0)
		return 1;
	if (number != NULL) {
		if (cl_number_normalize(&ctl->rules, number, num) != CL_NUMBER_OK)
			return usage_error("calls: --number %s is not a phone number", number);
		f.number = num;
	}
	if ((st = ctl_store(ctl, CL_STORE_READONLY)) == NULL)
		return 1;
	res = cl_view_calls(st, &f, cl_now_ms(), err);
	cl_store_close(st);
	if (res == NULL)
		return fail("%s", err);
	if (as_json) {
		if (json_dumpf(res, stdout, JSON_COMPACT) == 0 && putchar('\n') != EOF)
			rc = 0;
	} else if (print_calls(res) == 0) {
		rc = 0;
	} else {
		fail("%s", "out of memory");
	}
	json_decref(res);
	return rc;
}

static int
cmd_purge(struct ctl *ctl, int argc, char **argv)
{
	const char *before = NULL;
	char err[CL_ERR_LEN] = "", when[CL_TIME_LEN];
	struct cl_store *st;
	int64_t ms, n;
	int rc;

	for (int i = 1; i < argc; i++) {
		int m = opt_value(argc, argv, &i, "--before", &before);
		if (m < 0)
			return usage_error("purge: --before needs a DATE", NULL);
		if (m == 0)
			return usage_error("purge: unexpected argument %s", argv[i]);
	}
	if (before == NULL)
		return usage_error("purge needs --before DATE", NULL);
	if (parse_when(before, 0, &ms) < 0)
		return usage_error("purge: --before %s is not RFC 3339 or YYYY-MM-DD", before);
	if ((st = ctl_store(ctl, 0)) == NULL)
		return 1;
	rc = cl_store_purge(st, ms, &n, err);
	cl_store_close(st);
	if (rc < 0)
		return fail("purge: %s", err);
	cl_time_format(ms, when);
	printf("purged %" PRId64 " call%s that ended before %s\n", n, n == 1 ? "" : "s", when);
	return 0;
}

/* --- send --------------------------------------------------------------- */

struct sender {
	struct cl_client *cl;
	int in_fd;
	char *buf; /* input not yet sent */
	size_t len, cap;
	size_t limit;    /* a partial line longer than this is streamed through */
	int passthrough; /* the current line is being streamed: its answer is counted */
	int eof;
	int64_t sent, answers, errors;
};

/* Blank lines (whitespace only) get no answer from the daemon: not sent, not counted. */
static int
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* Moves the complete lines of s->buf to the client. */
static int
send_lines(struct sender *s, char *err)
{
	size_t start = 0;

	while (start < s->len) {
		char *p = s->buf + start, *lf = memchr(p, '\n', s->len - start);
		size_t n = lf ? (size_t)(lf - p) : s->len - start;
		if (s->passthrough) {
			if (cl_client_send_raw(s->cl, p, lf ? n + 1 : n, err) < 0)
				return -1;
			start += lf ? n + 1 : n;
			s->passthrough = lf == NULL;
			continue;
		}
		if (lf == NULL) {
			/* An over-long line goes out as it comes; the daemon answers too_long. */
			if (n > s->limit) {
				if (cl_client_send_raw(s->cl, p, n, err) < 0)
					return -1;
				cl_client_expect(s->cl, 1);
				s->sent++;
				s->passthrough = 1;
				start += n;
			}
			break;
		}
		if (!blank(p, n)) {
			if (cl_client_send_line(s->cl, p, n, err) < 0)
				return -1;
			s->sent++;
		}
		start += n + 1;
	}
	memmove(s->buf, s->buf + start, s->len - start);
	s->len -= start;
	return 0;
}

static int
send_input(struct sender *s, char *err)
{
	ssize_t n;

	do
		n = read(s->in_fd, s->buf + s->len, s->cap - s->len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(err, CL_ERR_LEN, "read: %s", strerror(errno));
		return -1;
	}
	if (n == 0) {
		s->eof = 1;
		if (s->passthrough)
			return cl_client_send_raw(s->cl, "\n", 1, err);
		if (s->len > 0 && !blank(s->buf, s->len)) {
			if (cl_client_send_line(s->cl, s->buf, s->len, err) < 0)
				return -1;
			s->sent++;
		}
		s->len = 0;
		return 0;
	}
	s->len += (size_t)n;
	return send_lines(s, err);
}

static int
send_answer(void *arg, const char *line, size_t len, char *err)
{
	struct sender *s = arg;

	(void)err;
	s->answers++;
	if (!cl_client_is_ack(line, len))
		s->errors++;
	fwrite(line, 1, len, stdout);
	putchar('\n');
	return 0;
}

static int
cmd_send(struct ctl *ctl, int argc, char **argv)
{
	struct sender s = {.in_fd = STDIN_FILENO};
	const char *path = NULL;
	char err[CL_ERR_LEN] = "";
	int64_t last_progress;
	int rc = 1;

	if (argc > 2)
		return usage_error("send takes at most one FILE", NULL);
	if (argc == 2 && argv[1][0] == '-' && argv[1][1] != '\0')
		return usage_error("send: unknown option %s", argv[1]);
	if (argc == 2 && strcmp(argv[1], "-") != 0)
		path = argv[1];
	if (ctl_config(ctl) < 0)
		return 1;
	if (path != NULL && (s.in_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "callogctl: %s: %s\n", path, strerror(errno));
		return 1;
	}
	s.limit = (size_t)ctl->cfg.events_max_line + 1; /* room for a CR */
	s.cap = s.limit + SEND_READ_CHUNK;
	if ((s.buf = malloc(s.cap)) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto out;
	}
	if ((s.cl = cl_client_open(&ctl->cfg, err)) == NULL)
		goto out;
	last_progress = cl_mono_us();
	while (!s.eof || cl_client_in_flight(s.cl) > 0 || cl_client_out_pending(s.cl) > 0) {
		int want_input = !s.eof && cl_client_in_flight(s.cl) < SEND_MAX_IN_FLIGHT &&
		                 cl_client_out_pending(s.cl) < SEND_MAX_OUT;
		struct pollfd p[2] = {
		    {.fd = cl_client_fd(s.cl), .events = cl_client_poll_events(s.cl)},
		    {.fd = want_input ? s.in_fd : -1, .events = POLLIN},
		};
		int64_t answers = s.answers;
		int n = poll(p, 2, want_input ? -1 : 1000);
		if (n < 0 && errno != EINTR) {
			snprintf(err, sizeof(err), "poll: %s", strerror(errno));
			goto out;
		}
		if (n > 0 && p[0].revents && cl_client_handle(s.cl, p[0].revents, send_answer, &s, err) < 0)
			goto out;
		if (n > 0 && p[1].revents && send_input(&s, err) < 0)
			goto out;
		if (s.answers != answers || want_input) {
			last_progress = cl_mono_us();
		} else if (cl_mono_us() - last_progress > (int64_t)SEND_STALL_MS * 1000) {
			snprintf(err, sizeof(err), "no answer from the daemon for %d s with %lld due",
			         SEND_STALL_MS / 1000, (long long)cl_client_in_flight(s.cl));
			goto out;
		}
	}
	err[0] = '\0';
	rc = s.errors > 0 ? 1 : 0;
out:
	if (fflush(stdout) != 0 && rc == 0) {
		snprintf(err, sizeof(err), "stdout: %s", strerror(errno));
		rc = 1;
	}
	if (err[0] != '\0')
		fail("send: %s", err);
	else if (s.errors > 0)
		fprintf(stderr, "callogctl: send: %lld of %lld events rejected\n", (long long)s.errors,
		        (long long)s.sent);
	cl_client_close(s.cl);
	free(s.buf);
	if (path != NULL && s.in_fd >= 0)
		close(s.in_fd);
	return rc;
}

/* --- simulate ----------------------------------------------------------- */

/* splitmix64: the phone sample follows --seed like the rest of the traffic. */
static uint64_t
sample_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

struct sample {
	char **phones;
	int n, seen;
};

/* Keeps num in phones[n] if it is E.164 (the generated JSON then needs no escaping). */
static int
sample_keep(void *arg, const char *num)
{
	struct sample *sm = arg;

	sm->seen++;
	if (strlen(num) >= CL_NUMBER_LEN || strspn(num + 1, "0123456789") != strlen(num + 1) ||
	    (sm->phones[sm->n] = strdup(num)) == NULL)
		return 0;
	sm->n++;
	return 0;
}

/*
 * Up to max customer phones, chosen by seed; none is fine (then all callers
 * are made up). A table of up to 4 x max phones is read whole and shuffled;
 * a larger one is sampled with index probes at random numbers, so a million
 * customers cost max seeks, not a sort of the table.
 */
static int
sample_phones(struct ctl *ctl, uint64_t seed, char ***out, int max)
{
	char err[CL_ERR_LEN] = "", probe[16];
	struct cl_store *st = cl_store_open(ctl->cfg.db_path, CL_STORE_READONLY, err);
	struct sample sm = {NULL, 0, 0};
	int small = 4 * max;
	uint64_t rng = seed;

	*out = NULL;
	if (st == NULL)
		return 0;
	if ((sm.phones = calloc((size_t)small + 1, sizeof(*sm.phones))) == NULL)
		goto out;
	if (cl_store_phones(st, "+", small + 1, sample_keep, &sm, err) == 0 && sm.seen <= small) {
		for (int i = sm.n - 1; i > 0; i--) { /* Fisher-Yates, then keep the first max */
			int j = (int)(sample_next(&rng) % (uint64_t)(i + 1));
			char *t = sm.phones[i];
			sm.phones[i] = sm.phones[j];
			sm.phones[j] = t;
		}
		for (; sm.n > max; sm.n--)
			free(sm.phones[sm.n - 1]);
		goto out;
	}
	while (sm.n > 0)
		free(sm.phones[--sm.n]);
	for (int i = 0; i < max; i++) {
		int before = sm.seen;
		/* "+" and 11 digits: numbers above the last one wrap to the first. */
		snprintf(probe, sizeof(probe), "+%011llu", (unsigned long long)(sample_next(&rng) % 100000000000ULL));
		if (cl_store_phones(st, probe, 1, sample_keep, &sm, err) != 0 ||
		    (sm.seen == before &&
		     (cl_store_phones(st, "+", 1, sample_keep, &sm, err) != 0 || sm.seen == before)))
			break;
	}
out:
	cl_store_close(st);
	*out = sm.phones;
	return sm.n;
}

static int
cmd_simulate(struct ctl *ctl, int argc, char **argv)
{
	struct cl_sim_opts o;
	struct cl_sim_report r;
	struct cl_client *cl = NULL;
	const char *calls = NULL, *rate = NULL, *agents = NULL, *seed = NULL;
	char err[CL_ERR_LEN] = "", **phones = NULL;
	int nphones = 0, rc = 1;

	cl_sim_defaults(&o);
	for (int i = 1; i < argc; i++) {
		int m;
		if ((m = opt_value(argc, argv, &i, "--calls", &calls)) == 0 &&
		    (m = opt_value(argc, argv, &i, "--rate", &rate)) == 0 &&
		    (m = opt_value(argc, argv, &i, "--agents", &agents)) == 0 &&
		    (m = opt_value(argc, argv, &i, "--seed", &seed)) == 0)
			return usage_error("simulate: unexpected argument %s", argv[i]);
		if (m < 0)
			return usage_error("simulate: %s needs a value", argv[i]);
	}
	if (calls != NULL) {
		long v;
		if (parse_long(calls, 1, CL_SIM_MAX_CALLS, &v) < 0)
			return usage_error("simulate: --calls %s is not a number from 1 to 10000000", calls);
		o.calls = v;
	}
	if (rate != NULL) {
		char *end;
		errno = 0;
		o.rate = strtod(rate, &end);
		if (errno != 0 || end == rate || *end != '\0' || !(o.rate >= 0.01 && o.rate <= CL_SIM_MAX_RATE))
			return usage_error("simulate: --rate %s is not a rate from 0.01 to 100000 calls/s", rate);
	}
	if (agents != NULL) {
		long v;
		if (parse_long(agents, 1, CL_SIM_MAX_AGENTS, &v) < 0)
			return usage_error("simulate: --agents %s is not a number from 1 to 10000", agents);
		o.agents = (int)v;
	}
	if (seed != NULL) {
		char *end;
		errno = 0;
		o.seed = strtoull(seed, &end, 10);
		if (errno != 0 || end == seed || *end != '\0' || seed[0] == '-')
			return usage_error("simulate: --seed %s is not a number", seed);
	}
	if (ctl_config(ctl) < 0)
		return 1;
	nphones = sample_phones(ctl, o.seed, &phones, SIM_PHONES);
	o.phones = (const char *const *)phones;
	o.nphones = nphones;
	if ((cl = cl_client_open(&ctl->cfg, err)) == NULL) {
		fail("simulate: %s", err);
		goto out;
	}
	if (cl_sim_run(cl, &o, &r, stderr, err) < 0) {
		fail("simulate: %s", err);
		cl_sim_print_report(&r, stdout);
		goto out;
	}
	cl_sim_print_report(&r, stdout);
	rc = r.errors > 0 ? 1 : 0;
out:
	cl_client_close(cl);
	for (int i = 0; i < nphones; i++)
		free(phones[i]);
	free(phones);
	return rc;
}

/* --- main --------------------------------------------------------------- */

struct command {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
};

static const struct command commands[] = {
    {"import", cmd_import}, {"customer", cmd_customer}, {"agent", cmd_agent},       {"token", cmd_token},
    {"calls", cmd_calls},   {"send", cmd_send},         {"simulate", cmd_simulate}, {"purge", cmd_purge},
};

int
main(int argc, char **argv)
{
	struct ctl ctl = {.config_path = CL_DEFAULT_CONFIG};
	int i = 1, rc;

	signal(SIGPIPE, SIG_IGN);
	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (strcmp(argv[i], "-c") == 0) {
			if (i + 1 >= argc)
				return usage_error("-c needs a FILE", NULL);
			ctl.config_path = argv[++i];
		} else if (strncmp(argv[i], "-c", 2) == 0) {
			ctl.config_path = argv[i] + 2;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else {
			return usage_error("unknown option %s", argv[i]);
		}
	}
	if (i >= argc)
		return usage_error("no COMMAND given", NULL);
	if (strcmp(argv[i], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	rc = -1;
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		if (strcmp(argv[i], commands[k].name) == 0) {
			rc = commands[k].run(&ctl, argc - i, argv + i);
			break;
		}
	}
	if (rc < 0)
		rc = usage_error("unknown command %s", argv[i]);
	if (ctl.cfg_loaded)
		cl_config_free(&ctl.cfg);
	return rc;
}
