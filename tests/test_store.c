/* test_store.c : the storage interface's contract, through store.h only, on a
 * real SQLite file: event log and duplicates, durable seq across purges,
 * other connections' commits seen, bounded purges, live events, transactions.
 * A second backend must pass the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callogd/store.h"
#include "callogd/util.h"
#include "testutil.h"

static char dir[64], path[128];
static struct cl_numbers rules;

/* Parses line as the daemon would, with seq; -1 when it is not a valid event. */
static int
parse(const char *line, int64_t seq, struct cl_event *ev)
{
	char msg[CL_ERR_LEN], *id = NULL;

	if (cl_event_parse(line, strlen(line), 1700000000000LL, &rules, ev, &id, msg) != CL_EVERR_NONE) {
		fprintf(stderr, "parse %s: %s\n", line, msg);
		free(id);
		return -1;
	}
	ev->seq = seq;
	return 0;
}

/* Stores line as event seq with its call record, in one transaction; put_event's result. */
static int
put(struct cl_store *st, const char *line, int64_t seq, int64_t *dup)
{
	char err[CL_ERR_LEN];
	struct cl_event ev;
	struct cl_call c;
	int rc, have;

	if (parse(line, seq, &ev) < 0 || cl_store_begin(st, err) < 0)
		return -1;
	rc = cl_store_put_event(st, &ev, dup, err);
	if (rc == 0 && ev.call_id != NULL) {
		have = cl_store_get_call(st, ev.call_id, &c, err);
		if (have == 0)
			cl_call_init(&c, ev.call_id);
		if (have < 0 || cl_call_apply(&c, &ev) < 0 || cl_store_put_call(st, &c, err) < 0)
			rc = -1;
		if (have >= 0)
			cl_call_clear(&c);
	}
	if (rc >= 0 && cl_store_commit(st, err) < 0)
		rc = -1;
	if (rc < 0) {
		fprintf(stderr, "put %s: %s\n", line, err);
		cl_store_rollback(st);
	}
	cl_event_clear(&ev);
	return rc;
}

static int
count_line(void *arg, const char *body, size_t len, int64_t received_at)
{
	(void)received_at;
	if (len != strlen(body))
		return -1;
	(*(int *)arg)++;
	return 0;
}

static int
count_call(void *arg, const struct cl_call *c)
{
	(void)c;
	(*(int *)arg)++;
	return 0;
}

static void
test_log_seq_and_duplicates(void)
{
	char err[CL_ERR_LEN];
	struct cl_store *st = cl_store_open(path, 0, err), *other;
	int64_t seq = -1, dup = 0;
	int n = 0;

	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(cl_store_last_seq(st, &seq, err), 0);
	CHECK_INT(seq, 0);
	CHECK_INT(put(st,
	              "{\"type\":\"call.offered\",\"id\":\"e1\",\"call_id\":\"c1\",\"from\":\"1\",\"to\":\"2\","
	              "\"ts\":\"2020-01-01T00:00:00Z\"}",
	              1, &dup),
	          0);
	CHECK_INT(put(st, "{\"type\":\"call.ended\",\"id\":\"e2\",\"call_id\":\"c1\",\"ts\":\"2020-01-01T00:01:00Z\"}",
	              2, &dup),
	          0);
	CHECK_INT(put(st, "{\"type\":\"call.offered\",\"id\":\"e3\",\"call_id\":\"c2\",\"from\":\"1\",\"to\":\"2\"}", 3,
	              &dup),
	          0);
	/* The same id again: the original's seq, nothing stored. */
	CHECK_INT(put(st, "{\"type\":\"call.ended\",\"id\":\"e2\",\"call_id\":\"c1\"}", 4, &dup), 1);
	CHECK_INT(dup, 2);
	CHECK_INT(cl_store_event_seq(st, "e3", &seq, err), 1);
	CHECK_INT(seq, 3);
	CHECK_INT(cl_store_event_seq(st, "nope", &seq, err), 0);
	/* Live events: c2 is not ended (c1 is). */
	CHECK_INT(cl_store_live_events(st, 0, count_line, &n, err), 0);
	CHECK_INT(n, 1);

	/* Another connection purges c1, the newest ended call: seq still does not go back. */
	other = cl_store_open(path, 0, err);
	CHECK(other != NULL);
	CHECK_INT(cl_store_begin(st, err), 0);
	CHECK_INT(cl_store_changed(st, err), 0);
	cl_store_rollback(st);
	{
		int64_t purged = 0;
		CHECK_INT(cl_store_purge(other, 1600000000000LL, &purged, err), 0);
		CHECK_INT(purged, 1);
	}
	CHECK_INT(cl_store_begin(st, err), 0);
	CHECK_INT(cl_store_changed(st, err), 1); /* the writer drops its cache here */
	CHECK_INT(cl_store_changed(st, err), 0);
	/* A transaction is one at a time on a connection. */
	CHECK_INT(cl_store_begin(st, err), -1);
	cl_store_rollback(st);
	cl_store_close(other);
	cl_store_close(st);

	st = cl_store_open(path, CL_STORE_READONLY, err);
	CHECK(st != NULL);
	CHECK_INT(cl_store_last_seq(st, &seq, err), 0);
	CHECK_INT(seq, 3);
	CHECK_INT(cl_store_event_seq(st, "e1", &seq, err), 0); /* purged with its call */
	CHECK_INT(cl_store_check(st, err), 0);
	cl_store_close(st);
}

/* Purges run in bounded transactions and take everything that qualifies. */
static void
test_purge_in_chunks(void)
{
	char err[CL_ERR_LEN], p2[160];
	struct cl_store *st;
	int64_t purged = 0;
	struct cl_call_filter f = {.limit = 10};
	int n = 0;

	snprintf(p2, sizeof(p2), "%s/purge.db", dir);
	st = cl_store_open(p2, 0, err);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_INT(cl_store_begin(st, err), 0);
	for (int i = 0; i < 2500; i++) {
		struct cl_call c;
		char id[32];
		snprintf(id, sizeof(id), "p%d", i);
		cl_call_init(&c, id);
		c.offered_at = 1000 + i;
		c.ended_at = i == 2499 ? 0 : 2000 + i; /* the last one is still going */
		CHECK_INT(cl_store_put_call(st, &c, err), 0);
		cl_call_clear(&c);
	}
	CHECK_INT(cl_store_commit(st, err), 0);
	CHECK_INT(cl_store_purge(st, 1000000, &purged, err), 0);
	CHECK_INT(purged, 2499);
	CHECK_INT(cl_store_list_calls(st, &f, count_call, &n, err), 0);
	CHECK_INT(n, 1);
	cl_store_close(st);
}

int
main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/test_store_XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/a.db", dir);
	cl_numbers_init(&rules, "1", "1", "011");
	test_log_seq_and_duplicates();
	test_purge_in_chunks();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	TEST_DONE();
}
