/* bench_rawsql.c : the raw SQLite limit: batched inserts of event rows (WAL, synchronous=FULL) on a given disk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench.h"

/*
 * The table mirrors the daemon's event log (src/store.c): rowid seq, a unique
 * index on the producer's id, an index on (call_id, seq), the JSON body. Rows
 * are the lines bench_ingest sends, so sizes match.
 */
static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, eid TEXT, call_id TEXT,"
    " type TEXT NOT NULL, ts INTEGER NOT NULL, received_at INTEGER NOT NULL, body TEXT NOT NULL);"
    "CREATE UNIQUE INDEX IF NOT EXISTS events_eid ON events(eid) WHERE eid IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS events_call ON events(call_id, seq);";

static void
usage(void)
{
	fprintf(stderr, "usage: bench_rawsql -f DBFILE [-b BATCH] [-d SECONDS] [-W WARMUP]\n");
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
	int batch = 1000, opt;
	double seconds = 5, warmup = 1;
	sqlite3 *db;
	sqlite3_stmt *ins;
	char *msg = NULL, tag[32], line[1024], eid[160], cid[160];
	long ev = 0, measured = 0, txns = 0;
	int64_t t0, tm0 = 0, end;

	while ((opt = getopt(argc, argv, "f:b:d:W:")) != -1) {
		switch (opt) {
		case 'f':
			path = optarg;
			break;
		case 'b':
			batch = atoi(optarg);
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
	                         "VALUES((SELECT COALESCE(MAX(seq), 0) + 1 FROM events), ?, ?, ?, ?, ?, ?)",
	                         -1, &ins, NULL),
	      "prepare");
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
			sqlite3_bind_text(ins, 1, eid, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 2, cid, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 3, type, -1, SQLITE_STATIC);
			sqlite3_bind_int64(ins, 4, now / 1000000);
			sqlite3_bind_int64(ins, 5, now / 1000000);
			sqlite3_bind_text(ins, 6, line, (int)n - 1, SQLITE_STATIC);
			check(db, sqlite3_step(ins), "insert");
			sqlite3_reset(ins);
		}
		check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
		measured += batch;
		txns++;
	}
	double secs = (double)(bn_now_ns() - tm0) / 1e9;
	printf("batch=%d seconds=%.2f rows=%ld txns=%ld rows_per_s=%.0f\n", batch, secs, measured, txns,
	       (double)measured / secs);
	sqlite3_finalize(ins);
	sqlite3_close(db);
	return 0;
}
