/* bench_rawsql.c : the raw SQLite floor for ingest: batched inserts of event rows (and, with -c, their call
 * records) with the daemon's tables and indexes, WAL, synchronous=FULL, on a given disk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench.h"

/*
 * The tables mirror what the daemon writes for each event (src/store/store.c):
 * the event log (rowid seq, a unique index on the producer's id, an index on
 * (call_id, seq), the line as body) and the call record with its four indexes.
 * Rows are the lines bench_ingest sends, so sizes match. "At its best": no
 * reads, the ids known, each touched call written once per transaction.
 */
static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, eid TEXT, call_id TEXT,"
    " type TEXT NOT NULL, ts INTEGER NOT NULL, received_at INTEGER NOT NULL, body TEXT NOT NULL);"
    "CREATE UNIQUE INDEX IF NOT EXISTS events_eid ON events(eid) WHERE eid IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS events_call ON events(call_id, seq);"
    "CREATE TABLE IF NOT EXISTS calls(call_id TEXT PRIMARY KEY, direction INTEGER NOT NULL DEFAULT 0,"
    " from_num TEXT NOT NULL DEFAULT '', to_num TEXT NOT NULL DEFAULT '', number TEXT NOT NULL DEFAULT '',"
    " queue TEXT NOT NULL DEFAULT '', agent TEXT NOT NULL DEFAULT '', agents TEXT NOT NULL DEFAULT '[]',"
    " customer_id TEXT, has_offer INTEGER NOT NULL DEFAULT 0, offered_at INTEGER NOT NULL DEFAULT 0,"
    " answered_at INTEGER NOT NULL DEFAULT 0, ended_at INTEGER NOT NULL DEFAULT 0, hold_ms INTEGER NOT NULL DEFAULT 0,"
    " hold_since INTEGER NOT NULL DEFAULT 0, end_reason TEXT NOT NULL DEFAULT '', end_by TEXT NOT NULL DEFAULT '',"
    " disp_code TEXT NOT NULL DEFAULT '', disp_agent TEXT NOT NULL DEFAULT '', disp_at INTEGER NOT NULL DEFAULT 0,"
    " disp_notes TEXT, data TEXT, last_seq INTEGER NOT NULL DEFAULT 0, last_answered_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS calls_offered ON calls(offered_at);"
    "CREATE INDEX IF NOT EXISTS calls_customer ON calls(customer_id, offered_at) WHERE customer_id IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS calls_number ON calls(number, offered_at);"
    "CREATE INDEX IF NOT EXISTS calls_ended ON calls(ended_at) WHERE ended_at > 0;";

/* The call record after its events up to step (0..BN_STEPS-1), as the daemon would hold it. */
static void
put_call(sqlite3_stmt *s, const char *cid, long call, int step, int64_t ms, int64_t seq)
{
	char agent[16], agents[32];

	snprintf(agent, sizeof(agent), "a%ld", call % 200 + 1);
	snprintf(agents, sizeof(agents), "[\"%s\"]", agent);
	sqlite3_bind_text(s, 1, cid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, "+15551234567", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, "+18005550100", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, "+15551234567", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, "support", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, step >= 3 ? agent : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 7, step >= 3 ? agents : "[]", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 8, ms);
	sqlite3_bind_int64(s, 9, step >= 3 ? ms : 0);
	sqlite3_bind_int64(s, 10, step >= 6 ? ms : 0);
	sqlite3_bind_text(s, 11, step >= 6 ? "completed" : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 12, step >= 7 ? "resolved" : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 13, step >= 7 ? agent : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 14, step >= 7 ? ms : 0);
	sqlite3_bind_text(s, 15, "{\"ivr\":\"billing\"}", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 16, seq);
	sqlite3_bind_int64(s, 17, step >= 3 ? ms : 0);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_rawsql -f DBFILE [-b BATCH] [-c] [-d SECONDS] [-W WARMUP]\n"
	                "  -b BATCH  events per transaction (default 1000)\n"
	                "  -c        also write each touched call record once per transaction, as the daemon does\n");
	exit(2);
}

static int
check(sqlite3 *db, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "bench_rawsql: %s: %s\n", what, sqlite3_errmsg(db));
		exit(1);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	int batch = 1000, calls = 0, opt;
	double seconds = 5, warmup = 1;
	sqlite3 *db;
	sqlite3_stmt *ins, *put = NULL;
	char *msg = NULL, tag[32], line[1024], eid[160], cid[160];
	long ev = 0, measured = 0, txns = 0;
	int64_t t0, tm0 = 0, end, seq = 0;

	while ((opt = getopt(argc, argv, "f:b:cd:W:")) != -1) {
		switch (opt) {
		case 'f':
			path = optarg;
			break;
		case 'b':
			batch = atoi(optarg);
			break;
		case 'c':
			calls = 1;
			break;
		case 'd':
			seconds = atof(optarg);
			break;
		case 'W':
			warmup = atof(optarg);
			break;
		default:
			usage();
		}
	}
	if (path == NULL || batch < 1)
		usage();
	snprintf(tag, sizeof(tag), "r%ld", (long)getpid());
	check(NULL, sqlite3_open(path, &db), "open");
	if (sqlite3_exec(db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "bench_rawsql: schema: %s\n", msg);
		return 1;
	}
	check(db,
	      sqlite3_prepare_v2(db,
	                         "INSERT INTO events(seq, eid, call_id, type, ts, received_at, body) "
	                         "VALUES(?, ?, ?, ?, ?, ?, ?)",
	                         -1, &ins, NULL),
	      "prepare");
	if (calls)
		check(db,
		      sqlite3_prepare_v2(
		          db,
		          "INSERT OR REPLACE INTO calls(call_id, from_num, to_num, number, queue, agent, "
		          "agents, has_offer, offered_at, answered_at, ended_at, end_reason, disp_code, "
		          "disp_agent, disp_at, data, last_seq, last_answered_at) "
		          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
		          -1, &put, NULL),
		      "prepare calls");
	t0 = bn_now_ns();
	end = t0 + (int64_t)((warmup + seconds) * 1e9);
	for (;;) {
		int64_t now = bn_now_ns();

		if (now >= end)
			break;
		if (tm0 == 0 && now >= t0 + (int64_t)(warmup * 1e9)) {
			tm0 = now;
			measured = 0;
			txns = 0;
		}
		check(db, sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), "begin");
		for (int i = 0; i < batch; i++, ev++) {
			const char *type;
			long call = ev / BN_STEPS;
			int step = (int)(ev % BN_STEPS);
			size_t n = bn_event_line(line, tag, call, step, 200, &type);

			snprintf(eid, sizeof(eid), "%s-%ld-%d", tag, call, step);
			snprintf(cid, sizeof(cid), "%s-%ld", tag, call);
			sqlite3_bind_int64(ins, 1, ++seq);
			sqlite3_bind_text(ins, 2, eid, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 3, cid, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 4, type, -1, SQLITE_STATIC);
			sqlite3_bind_int64(ins, 5, now / 1000000);
			sqlite3_bind_int64(ins, 6, now / 1000000);
			sqlite3_bind_text(ins, 7, line, (int)n - 1, SQLITE_STATIC);
			check(db, sqlite3_step(ins), "insert");
			sqlite3_reset(ins);
			/* A call's last event in this transaction writes its record (calls are 8 events in a row). */
			if (put != NULL && (step == BN_STEPS - 1 || i == batch - 1)) {
				put_call(put, cid, call, step, now / 1000000, seq);
				check(db, sqlite3_step(put), "insert call");
				sqlite3_reset(put);
			}
		}
		check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
		measured += batch;
		txns++;
	}
	double secs = (double)(bn_now_ns() - tm0) / 1e9;
	printf("batch=%d calls=%d seconds=%.2f rows=%ld txns=%ld rows_per_s=%.0f\n", batch, calls, secs, measured, txns,
	       (double)measured / secs);
	sqlite3_finalize(put);
	sqlite3_finalize(ins);
	sqlite3_close(db);
	return 0;
}
