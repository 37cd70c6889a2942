/* bench_report.c : report latency (docs/http-api.md) over a generated database: a
 * daily queue report over 31 days, an hourly one over 7 days, and a daily
 * agents report, each run through cl_reports_run() on a read-only store as a
 * worker would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include <jansson.h>

#include "callogd/report.h"
#include "callogd/reports.h"
#include "callogd/store.h"
#include "callogd/tz.h"
#include "callogd/util.h"
#include "bench.h"

#define DAY_MS 86400000LL

static void
usage(void)
{
	fprintf(stderr,
	        "usage: bench_report -f DBFILE [-n CALLS] [-r RUNS]  (-n: generate CALLS over the last 31 days)\n");
	exit(2);
}

static void
ok(sqlite3 *db, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "bench_report: %s: %s\n", what, sqlite3_errmsg(db));
		exit(1);
	}
}

/* n calls spread over the 31 days before end_ms: 8 queues, 40 agents, every outcome. */
static void
generate(const char *path, long n, int64_t end_ms)
{
	static const char *const codes[] = {"resolved", "callback", "sale", "no_sale", ""};
	char err[CL_ERR_LEN], id[32], queue[16], agent[16];
	struct cl_store *st = cl_store_open(path, 0, err);
	sqlite3_stmt *call, *leg;
	sqlite3 *db;

	if (st == NULL) {
		fprintf(stderr, "bench_report: %s\n", err);
		exit(1);
	}
	cl_store_close(st);
	ok(NULL, sqlite3_open(path, &db), "open");
	ok(db, sqlite3_exec(db, "PRAGMA synchronous=OFF; PRAGMA cache_size=-262144; BEGIN", NULL, NULL, NULL), "begin");
	ok(db,
	   sqlite3_prepare_v2(db,
	                      "INSERT INTO calls(call_id, direction, queue, agent, has_offer, offered_at, answered_at,"
	                      " ended_at, hold_ms, end_reason, disp_code, disp_agent, wrap_ms, transferred, outcome)"
	                      " VALUES(?,?,?,?,1,?,?,?,?,?,?,?,?,?,?)",
	                      -1, &call, NULL),
	   "prepare");
	ok(db,
	   sqlite3_prepare_v2(
	       db, "INSERT INTO call_legs(call_id, agent, rang, answered, talk_ms, hold_ms) VALUES(?,?,1,?,?,?)", -1,
	       &leg, NULL),
	   "prepare");
	for (long j = 0; j < n; j++) {
		int64_t offered = end_ms - 31 * DAY_MS + j * (31 * DAY_MS / n);
		unsigned long h = (unsigned long)j * 2654435761UL;
		int kind = (int)(h % 10); /* 0-6 answered, 7 abandoned, 8-9 unanswered */
		int64_t wait = (int64_t)(h % 60000), answered = kind < 7 ? offered + wait : 0;
		int64_t ended = offered + wait + (kind < 7 ? 200000 : 0);
		const char *code = kind < 7 ? codes[h % 5] : "";

		snprintf(id, sizeof(id), "b-%09ld", j);
		snprintf(queue, sizeof(queue), "q%lu", h % 8);
		snprintf(agent, sizeof(agent), "a%lu", (h >> 8) % 40);
		sqlite3_bind_text(call, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int(call, 2, j % 20 == 0 ? CL_DIR_OUTBOUND : CL_DIR_INBOUND);
		sqlite3_bind_text(call, 3, queue, -1, SQLITE_STATIC);
		sqlite3_bind_text(call, 4, kind < 7 ? agent : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(call, 5, offered);
		sqlite3_bind_int64(call, 6, answered);
		sqlite3_bind_int64(call, 7, ended);
		sqlite3_bind_int64(call, 8, kind < 7 ? (int64_t)(h % 20000) : 0);
		sqlite3_bind_text(call, 9,
		                  kind < 7    ? "completed"
		                  : kind == 7 ? "abandoned"
		                              : "no_answer",
		                  -1, SQLITE_STATIC);
		sqlite3_bind_text(call, 10, code, -1, SQLITE_STATIC);
		sqlite3_bind_text(call, 11, code[0] ? agent : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(call, 12, code[0] ? (int64_t)(h % 30000) : 0);
		sqlite3_bind_int(call, 13, h % 13 == 0);
		sqlite3_bind_text(call, 14,
		                  kind < 7    ? "answered"
		                  : kind == 7 ? "abandoned"
		                              : "unanswered",
		                  -1, SQLITE_STATIC);
		ok(db, sqlite3_step(call), "call");
		sqlite3_reset(call);
		sqlite3_bind_text(leg, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(leg, 2, agent, -1, SQLITE_STATIC);
		sqlite3_bind_int(leg, 3, kind < 7);
		sqlite3_bind_int64(leg, 4, kind < 7 ? 200000 - (int64_t)(h % 20000) : 0);
		sqlite3_bind_int64(leg, 5, kind < 7 ? (int64_t)(h % 20000) : 0);
		ok(db, sqlite3_step(leg), "leg");
		sqlite3_reset(leg);
	}
	ok(db, sqlite3_exec(db, "COMMIT; ANALYZE; PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL), "commit");
	sqlite3_finalize(call);
	sqlite3_finalize(leg);
	sqlite3_close(db);
}

/* The local midnight days before end_ms (a local midnight). */
static int64_t
days_before(const struct cl_tz *tz, int64_t end_ms, int days)
{
	return cl_tz_floor(tz, CL_INTERVAL_DAY, (end_ms - days * DAY_MS + DAY_MS / 2) / 1000) * 1000;
}

/* Counts the report slots (or, with sla_ms < 0, marks them not built), as the daemon's writer does. */
static void
slots(const char *path, int64_t sla_ms)
{
	char err[CL_ERR_LEN];
	struct cl_store *st = cl_store_open(path, 0, err);
	int64_t t0 = bn_now_ns(), shrt = 5000;
	int rc = st == NULL ? -1 : cl_store_begin(st, err);

	if (rc == 0)
		rc = sla_ms >= 0 ? cl_store_build_slots(st, sla_ms, shrt, err) : cl_store_unbuild_slots(st, err);
	if (rc == 0)
		rc = cl_store_commit(st, err);
	if (rc < 0) {
		fprintf(stderr, "bench_report: slots: %s\n", err);
		exit(1);
	}
	cl_store_close(st);
	if (sla_ms >= 0)
		printf("slots counted seconds=%.1f\n", (double)(bn_now_ns() - t0) / 1e9);
}

/* Runs one report runs times on st; prints the median and worst latency and the rows made; returns its JSON. */
static char *
measure(struct cl_store *st, const struct cl_tz *tz, const char *label, enum cl_report_kind kind, enum cl_interval iv,
        int64_t from_ms, int64_t until_ms, int runs)
{
	double ms[64];
	size_t rows = 0;
	char err[CL_ERR_LEN], *text = NULL;

	for (int i = 0; i < runs; i++) {
		struct cl_report_params p = {.kind = kind,
		                             .tz = tz,
		                             .interval = iv,
		                             .from_ms = from_ms,
		                             .until_ms = until_ms,
		                             .sla_ms = 20000,
		                             .short_abandon_ms = 5000};
		int64_t t0 = bn_now_ns();
		struct cl_report *r = cl_report_new(&p, err);
		json_t *j;

		if (r == NULL || cl_reports_run(st, r, until_ms, err) < 0 || (j = cl_report_json(r)) == NULL) {
			fprintf(stderr, "bench_report: %s: %s\n", label, err);
			exit(1);
		}
		ms[i] = (double)(bn_now_ns() - t0) / 1e6;
		rows = json_array_size(json_object_get(j, "rows"));
		free(text);
		text = json_dumps(j, JSON_SORT_KEYS);
		json_decref(j);
		cl_report_free(r);
	}
	bn_sort(ms, (size_t)runs);
	printf("%-34s rows=%-6zu median_ms=%.1f max_ms=%.1f\n", label, rows, bn_pct(ms, (size_t)runs, 0.5),
	       ms[runs - 1]);
	return text;
}

/* The three reports slots serve, with slots, then from every call: the answers must be the same. */
static void
measure_queues(const char *path, const struct cl_tz *tz, int64_t end_ms, int runs)
{
	static const struct {
		const char *label;
		enum cl_report_kind kind;
		enum cl_interval iv;
		int days;
	} v[] = {{"queues daily 31 days", CL_REPORT_QUEUES, CL_INTERVAL_DAY, 31},
	         {"queues hourly 7 days", CL_REPORT_QUEUES, CL_INTERVAL_HOUR, 7},
	         {"dispositions daily 31 days", CL_REPORT_DISPOSITIONS, CL_INTERVAL_DAY, 31}};
	char *with[3], *without[3], label[64], err[CL_ERR_LEN];
	struct cl_store *st;

	for (int pass = 0; pass < 2; pass++) {
		if ((st = cl_store_open(path, CL_STORE_READONLY, err)) == NULL) {
			fprintf(stderr, "bench_report: %s\n", err);
			exit(1);
		}
		for (int i = 0; i < 3; i++) {
			snprintf(label, sizeof(label), "%s%s", v[i].label, pass ? " (every call)" : "");
			(pass ? without : with)[i] = measure(st, tz, label, v[i].kind, v[i].iv,
			                                     days_before(tz, end_ms, v[i].days), end_ms, runs);
		}
		cl_store_close(st);
		if (pass == 0)
			slots(path, -1);
	}
	slots(path, 20000);
	for (int i = 0; i < 3; i++) {
		if (with[i] == NULL || without[i] == NULL || strcmp(with[i], without[i]) != 0) {
			fprintf(stderr, "bench_report: %s: the slots' answer differs from the calls'\n", v[i].label);
			exit(1);
		}
		free(with[i]);
		free(without[i]);
	}
	printf("slots' answers = every call's answers: yes\n");
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	long ncalls = 0;
	int runs = 5, opt;
	char err[CL_ERR_LEN];
	struct cl_store *st;
	struct cl_tz *tz;
	int64_t end_ms, t0;

	while ((opt = getopt(argc, argv, "f:n:r:")) != -1) {
		switch (opt) {
		case 'f':
			path = optarg;
			break;
		case 'n':
			ncalls = atol(optarg);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (path == NULL || ncalls < 0 || runs < 1 || runs > 64)
		usage();
	if ((tz = cl_tz_load("Europe/Amsterdam", err)) == NULL) {
		fprintf(stderr, "bench_report: %s\n", err);
		return 1;
	}
	/* The report's range: the 31 local days before today. */
	end_ms = cl_tz_floor(tz, CL_INTERVAL_DAY, cl_now_ms() / 1000) * 1000;
	if (ncalls > 0) {
		t0 = bn_now_ns();
		generate(path, ncalls, end_ms);
		printf("generated calls=%ld seconds=%.1f\n", ncalls, (double)(bn_now_ns() - t0) / 1e9);
		slots(path, 20000);
	}
	measure_queues(path, tz, end_ms, runs);
	if ((st = cl_store_open(path, CL_STORE_READONLY, err)) == NULL) {
		fprintf(stderr, "bench_report: %s\n", err);
		return 1;
	}
	free(measure(st, tz, "agents daily 31 days", CL_REPORT_AGENTS, CL_INTERVAL_DAY, days_before(tz, end_ms, 31),
	             end_ms, runs));
	cl_store_close(st);
	cl_tz_free(tz);
	return 0;
}
