/* bench_pgraw.c : PostgreSQL's own floor for ingest: the event rows bench_ingest sends, inserted in
 * batches over libpq (one pipelined prepared INSERT a row, BATCH rows a transaction), with the
 * daemon's events table and indexes and synchronous_commit=on: what the server gives at best. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static const char schema[] =
    "DROP TABLE IF EXISTS rawbench;"
    "CREATE TABLE rawbench(seq BIGINT PRIMARY KEY, eid TEXT COLLATE \"C\", call_id TEXT COLLATE \"C\","
    " type TEXT NOT NULL, ts BIGINT NOT NULL, received_at BIGINT NOT NULL, body TEXT NOT NULL);"
    "CREATE UNIQUE INDEX rawbench_eid ON rawbench(eid) WHERE eid IS NOT NULL;"
    "CREATE INDEX rawbench_call ON rawbench(call_id, seq);"
    "SET synchronous_commit = on;";

static void
die(PGconn *c, const char *what)
{
	fprintf(stderr, "bench_pgraw: %s: %s", what, PQerrorMessage(c));
	exit(1);
}

static void
ok(PGconn *c, PGresult *r, const char *what)
{
	ExecStatusType s = PQresultStatus(r);

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_PIPELINE_SYNC)
		die(c, what);
	PQclear(r);
}

/* Reads every result up to the sync that ends the transaction. */
static void
drain(PGconn *c)
{
	PGresult *r;

	for (;;) {
		if ((r = PQgetResult(c)) == NULL)
			continue; /* the end of one statement's results */
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			return;
		}
		ok(c, r, "insert");
	}
}

int
main(int argc, char **argv)
{
	const char *url = NULL;
	int batch = 1000, secs = 5, opt;
	char line[2048], seqs[32], ts[32], eid[96], cid[96];

	while ((opt = getopt(argc, argv, "u:b:d:")) != -1) {
		if (opt == 'u')
			url = optarg;
		else if (opt == 'b')
			batch = atoi(optarg);
		else if (opt == 'd')
			secs = atoi(optarg);
	}
	if (url == NULL || batch < 1 || secs < 1) {
		fprintf(stderr, "usage: bench_pgraw -u URL [-b ROWS_PER_TRANSACTION] [-d SECONDS]\n");
		return 2;
	}
	PGconn *c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK)
		die(c, "connect");
	ok(c, PQexec(c, schema), "schema");
	ok(c, PQprepare(c, "ins", "INSERT INTO rawbench VALUES($1,$2,$3,$4,$5,$5,$6)", 0, NULL), "prepare");
	if (!PQenterPipelineMode(c))
		die(c, "pipeline");
	long seq = 0, txns = 0;
	int64_t start = bn_now_ns(), end = start + (int64_t)secs * 1000000000LL;
	while (bn_now_ns() < end) {
		PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
		for (int i = 0; i < batch; i++, seq++) {
			const char *type;
			size_t n = bn_event_line(line, "raw", seq / BN_STEPS, (int)(seq % BN_STEPS), 200, &type);
			line[n - 1] = '\0';
			snprintf(seqs, sizeof(seqs), "%ld", seq + 1);
			snprintf(ts, sizeof(ts), "%lld", (long long)(bn_now_ns() / 1000000));
			snprintf(eid, sizeof(eid), "raw-%ld-%d", seq / BN_STEPS, (int)(seq % BN_STEPS));
			snprintf(cid, sizeof(cid), "raw-%ld", seq / BN_STEPS);
			const char *v[6] = {seqs, eid, cid, type, ts, line};
			if (!PQsendQueryPrepared(c, "ins", 6, v, NULL, NULL, 0))
				die(c, "send");
		}
		PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
		if (!PQpipelineSync(c))
			die(c, "sync");
		drain(c);
		txns++;
	}
	double s = (double)(bn_now_ns() - start) / 1e9;
	printf("pgraw batch=%d seconds=%.2f rows=%ld rows_per_s=%.0f transactions=%ld\n", batch, s, seq, seq / s, txns);
	PQfinish(c);
	return 0;
}
