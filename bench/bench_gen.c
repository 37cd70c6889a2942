/* bench_gen.c : generates a callogd database of N customers and M logged calls quickly, with direct SQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "callogd/store.h"
#include "callogd/util.h"
#include "bench.h"

/*
 * The schema comes from cl_store_open() (the daemon's own migrations); the
 * rows are written here in one transaction with synchronous=OFF. Customer k
 * is "C-<k>" with the phone +1555<k, 7 digits>; call j belongs to a customer
 * picked by a multiplicative hash, was offered within the last year, answered
 * by a1..a200, ended, dispositioned, and has two logged events.
 */

static void
usage(void)
{
	fprintf(stderr, "usage: bench_gen -f DBFILE -c CUSTOMERS -n CALLS\n");
	exit(2);
}

static void
ok(sqlite3 *db, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "bench_gen: %s: %s\n", what, sqlite3_errmsg(db));
		exit(1);
	}
}

static sqlite3_stmt *
prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;

	ok(db, sqlite3_prepare_v2(db, sql, -1, &s, NULL), sql);
	return s;
}

static void
step(sqlite3 *db, sqlite3_stmt *s, const char *what)
{
	ok(db, sqlite3_step(s), what);
	sqlite3_reset(s);
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	long ncust = 1000, ncalls = 1000, seq;
	int opt;
	char err[CL_ERR_LEN], id[64], name[64], phone[32], phones[64], email[96], acct[32], cid[64], eid[80];
	char body[512], agent[16], agents[24];
	struct cl_store *st;
	sqlite3 *db;
	sqlite3_stmt *cust, *ph, *call, *ev, *maxseq;
	int64_t now_ms = (int64_t)time(NULL) * 1000, t0 = bn_now_ns();

	while ((opt = getopt(argc, argv, "f:c:n:")) != -1) {
		switch (opt) {
		case 'f':
			path = optarg;
			break;
		case 'c':
			ncust = atol(optarg);
			break;
		case 'n':
			ncalls = atol(optarg);
			break;
		default:
			usage();
		}
	}
	if (path == NULL || ncust < 1 || ncust > 9999999 || ncalls < 0)
		usage();
	if ((st = cl_store_open(path, 0, err)) == NULL) {
		fprintf(stderr, "bench_gen: %s\n", err);
		return 1;
	}
	/* The schema made, the rows go in through a raw connection of the bench's own. */
	cl_store_close(st);
	ok(NULL, sqlite3_open(path, &db), "open");
	ok(db, sqlite3_exec(db, "PRAGMA synchronous=OFF; PRAGMA cache_size=-262144; BEGIN", NULL, NULL, NULL), "begin");
	maxseq = prep(db, "SELECT COALESCE(MAX(seq), 0) FROM events");
	ok(db, sqlite3_step(maxseq), "max seq");
	seq = (long)sqlite3_column_int64(maxseq, 0);
	sqlite3_finalize(maxseq);
	cust = prep(db, "INSERT OR REPLACE INTO customers(id, name, phones, email, account, tier, notes, updated_at) "
	                "VALUES(?,?,?,?,?,?,?,?)");
	ph = prep(db, "INSERT OR REPLACE INTO customer_phones(number, customer_id) VALUES(?,?)");
	call =
	    prep(db, "INSERT OR REPLACE INTO calls(call_id, direction, from_num, to_num, number, queue, agent, agents,"
	             " customer_id, has_offer, offered_at, answered_at, ended_at, hold_ms, end_reason, end_by,"
	             " disp_code, disp_agent, disp_at, disp_notes, last_seq, outcome)"
	             " VALUES(?,0,?,'+18005550100',?,'support',?,?,?,1,?,?,?,0,'completed','caller','billing',?,?,?,?,'"
	             "answered')");
	ev = prep(db, "INSERT INTO events(seq, eid, call_id, type, ts, received_at, body) VALUES(?,?,?,?,?,?,?)");
	for (long k = 1; k <= ncust; k++) {
		snprintf(id, sizeof(id), "C-%07ld", k);
		snprintf(name, sizeof(name), "Customer %ld", k);
		snprintf(phone, sizeof(phone), "+1555%07ld", k);
		snprintf(phones, sizeof(phones), "[\"%s\"]", phone);
		snprintf(email, sizeof(email), "customer%ld@example.com", k);
		snprintf(acct, sizeof(acct), "ACC-%07ld", k);
		sqlite3_bind_text(cust, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(cust, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(cust, 3, phones, -1, SQLITE_STATIC);
		sqlite3_bind_text(cust, 4, email, -1, SQLITE_STATIC);
		sqlite3_bind_text(cust, 5, acct, -1, SQLITE_STATIC);
		sqlite3_bind_text(cust, 6, k % 10 == 0 ? "gold" : "standard", -1, SQLITE_STATIC);
		sqlite3_bind_text(cust, 7, "prefers email; renewal due in spring", -1, SQLITE_STATIC);
		sqlite3_bind_int64(cust, 8, now_ms);
		step(db, cust, "customer");
		sqlite3_bind_text(ph, 1, phone, -1, SQLITE_STATIC);
		sqlite3_bind_text(ph, 2, id, -1, SQLITE_STATIC);
		step(db, ph, "phone");
	}
	for (long j = 1; j <= ncalls; j++) {
		long k = (long)(((unsigned long)j * 2654435761UL) % (unsigned long)ncust) + 1;
		int64_t offered = now_ms - 86400000LL * 365 + (int64_t)j * (86400000LL * 364 / (ncalls + 1));

		snprintf(id, sizeof(id), "C-%07ld", k);
		snprintf(phone, sizeof(phone), "+1555%07ld", k);
		snprintf(cid, sizeof(cid), "h-%08ld", j);
		snprintf(agent, sizeof(agent), "a%ld", j % 200 + 1);
		snprintf(agents, sizeof(agents), "[\"%s\"]", agent);
		sqlite3_bind_text(call, 1, cid, -1, SQLITE_STATIC);
		sqlite3_bind_text(call, 2, phone, -1, SQLITE_STATIC);
		sqlite3_bind_text(call, 3, phone, -1, SQLITE_STATIC);
		sqlite3_bind_text(call, 4, agent, -1, SQLITE_STATIC);
		sqlite3_bind_text(call, 5, agents, -1, SQLITE_STATIC);
		sqlite3_bind_text(call, 6, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(call, 7, offered);
		sqlite3_bind_int64(call, 8, offered + 12000);
		sqlite3_bind_int64(call, 9, offered + 312000);
		sqlite3_bind_text(call, 10, agent, -1, SQLITE_STATIC);
		sqlite3_bind_int64(call, 11, offered + 330000);
		sqlite3_bind_text(call, 12, "asked about the last invoice", -1, SQLITE_STATIC);
		sqlite3_bind_int64(call, 13, seq + 2);
		step(db, call, "call");
		for (int e = 0; e < 2; e++) {
			int n =
			    e == 0
			        ? snprintf(
			              body, sizeof(body),
			              "{\"type\":\"call.offered\",\"call_id\":\"%s\",\"id\":\"%s-o\",\"from\":\"%s\","
			              "\"to\":\"+18005550100\",\"queue\":\"support\"}",
			              cid, cid, phone)
			        : snprintf(body, sizeof(body),
			                   "{\"type\":\"call.ended\",\"call_id\":\"%s\",\"id\":\"%s-e\",\"reason\":"
			                   "\"completed\",\"by\":\"caller\"}",
			                   cid, cid);
			snprintf(eid, sizeof(eid), "%s-%c", cid, e == 0 ? 'o' : 'e');
			sqlite3_bind_int64(ev, 1, ++seq);
			sqlite3_bind_text(ev, 2, eid, -1, SQLITE_STATIC);
			sqlite3_bind_text(ev, 3, cid, -1, SQLITE_STATIC);
			sqlite3_bind_text(ev, 4, e == 0 ? "call.offered" : "call.ended", -1, SQLITE_STATIC);
			sqlite3_bind_int64(ev, 5, offered + e * 312000);
			sqlite3_bind_int64(ev, 6, offered + e * 312000);
			sqlite3_bind_text(ev, 7, body, n, SQLITE_STATIC);
			step(db, ev, "event");
		}
	}
	ok(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
	sqlite3_finalize(cust);
	sqlite3_finalize(ph);
	sqlite3_finalize(call);
	sqlite3_finalize(ev);
	ok(db, sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL), "checkpoint");
	sqlite3_close(db);
	printf("customers=%ld calls=%ld events=%ld seconds=%.1f\n", ncust, ncalls, 2 * ncalls,
	       (double)(bn_now_ns() - t0) / 1e9);
	return 0;
}
