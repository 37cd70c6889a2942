/* cmd_calls.c : callogctl calls and purge. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "callogd/ctl.h"
#include "callogd/numbers.h"
#include "callogd/util.h"
#include "callogd/store.h"
#include "callogd/views.h"

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
		const char *t = cl_ctl_cell(c, "offered_at");
		json_t *row;

		/* "2026-11-22T10:00:00.000Z" -> "2026-11-22 10:00:00" */
		snprintf(when, sizeof(when), "%.19s", t);
		if (strlen(when) > 10 && when[10] == 'T')
			when[10] = ' ';
		fmt_duration(json_object_get(c, "wait_ms"), wait, sizeof(wait));
		fmt_duration(json_object_get(c, "talk_ms"), talk, sizeof(talk));
		row = json_pack("[s,s,s,s,s,s,s,s,s,s]", when, cl_ctl_cell(c, "call_id"),
		                strcmp(cl_ctl_cell(c, "direction"), "outbound") == 0 ? "out" : "in",
		                strcmp(cl_ctl_cell(c, "direction"), "outbound") == 0 ? cl_ctl_cell(c, "to")
		                                                                     : cl_ctl_cell(c, "from"),
		                cl_ctl_cell(c, "queue"), cl_ctl_cell(c, "agent"), cl_ctl_cell(c, "outcome"), wait, talk,
		                cl_ctl_cell(json_object_get(c, "disposition"), "code"));
		if (row == NULL || json_array_append_new(rows, row) < 0) {
			json_decref(rows);
			return -1;
		}
	}
	cl_ctl_print_table(header, 10, rows);
	json_decref(rows);
	return 0;
}

int
cl_ctl_calls(struct cl_ctl *ctl, int argc, char **argv)
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
		if ((m = cl_ctl_opt_value(argc, argv, &i, "--since", &since)) == 0 &&
		    (m = cl_ctl_opt_value(argc, argv, &i, "--until", &until)) == 0 &&
		    (m = cl_ctl_opt_value(argc, argv, &i, "--agent", &f.agent)) == 0 &&
		    (m = cl_ctl_opt_value(argc, argv, &i, "--queue", &f.queue)) == 0 &&
		    (m = cl_ctl_opt_value(argc, argv, &i, "--number", &number)) == 0 &&
		    (m = cl_ctl_opt_value(argc, argv, &i, "--limit", &limit)) == 0)
			return cl_ctl_usage_error("calls: unexpected argument %s", argv[i]);
		if (m < 0)
			return cl_ctl_usage_error("calls: %s needs a value", argv[i]);
	}
	if (since != NULL && cl_ctl_parse_when(since, 0, &f.since) < 0)
		return cl_ctl_usage_error("calls: --since %s is not RFC 3339 or YYYY-MM-DD", since);
	if (until != NULL && cl_ctl_parse_when(until, 1, &f.until) < 0)
		return cl_ctl_usage_error("calls: --until %s is not RFC 3339 or YYYY-MM-DD", until);
	if (f.agent != NULL && (why = cl_ctl_id_problem(f.agent)) != NULL)
		return cl_ctl_usage_error("calls: --agent %s", why);
	if (f.queue != NULL && (why = cl_ctl_id_problem(f.queue)) != NULL)
		return cl_ctl_usage_error("calls: --queue %s", why);
	if (limit != NULL) {
		long v;
		if (cl_ctl_parse_long(limit, 1, 1000, &v) < 0)
			return cl_ctl_usage_error("calls: --limit %s is not a number from 1 to 1000", limit);
		f.limit = (int)v;
	}
	if (number != NULL && strlen(number) > CL_NUMBER_MAX_INPUT)
		return cl_ctl_usage_error("calls: --number is longer than 64 bytes", NULL);
	if (cl_ctl_config(ctl) < 0)
		return 1;
	if (number != NULL) {
		if (cl_number_normalize(&ctl->rules, number, num) != CL_NUMBER_OK)
			return cl_ctl_usage_error("calls: --number %s is not a phone number", number);
		f.number = num;
	}
	if ((st = cl_ctl_store(ctl, CL_STORE_READONLY)) == NULL)
		return 1;
	res = cl_view_calls(st, &f, cl_now_ms(), err);
	cl_store_close(st);
	if (res == NULL)
		return cl_ctl_fail("%s", err);
	if (as_json) {
		if (json_dumpf(res, stdout, JSON_COMPACT) == 0 && putchar('\n') != EOF)
			rc = 0;
	} else if (print_calls(res) == 0) {
		rc = 0;
	} else {
		cl_ctl_fail("%s", "out of memory");
	}
	json_decref(res);
	return rc;
}

int
cl_ctl_purge(struct cl_ctl *ctl, int argc, char **argv)
{
	const char *before = NULL;
	char err[CL_ERR_LEN] = "", when[CL_TIME_LEN];
	struct cl_store *st;
	int64_t ms, n;
	int rc;

	for (int i = 1; i < argc; i++) {
		int m = cl_ctl_opt_value(argc, argv, &i, "--before", &before);
		if (m < 0)
			return cl_ctl_usage_error("purge: --before needs a DATE", NULL);
		if (m == 0)
			return cl_ctl_usage_error("purge: unexpected argument %s", argv[i]);
	}
	if (before == NULL)
		return cl_ctl_usage_error("purge needs --before DATE", NULL);
	if (cl_ctl_parse_when(before, 0, &ms) < 0)
		return cl_ctl_usage_error("purge: --before %s is not RFC 3339 or YYYY-MM-DD", before);
	if ((st = cl_ctl_store(ctl, 0)) == NULL)
		return 1;
	cl_ctl_yield_to_daemon();
	rc = cl_store_purge(st, ms, &n, err);
	cl_store_close(st);
	if (rc < 0)
		return cl_ctl_fail("purge: %s", err);
	cl_time_format(ms, when);
	printf("purged %" PRId64 " call%s that ended before %s\n", n, n == 1 ? "" : "s", when);
	return 0;
}
