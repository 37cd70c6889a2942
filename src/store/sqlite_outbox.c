/* sqlite_outbox.c : owns the SQLite backend's webhook outbox (store.h): deliveries
 * journaled in the writer's transactions, picked when due, their tries recorded. */
#include <stdio.h>
#include <string.h>

#include "sqlite.h"

#define ROW_COLUMNS                                                                                                    \
	"id, delivery_id, body_id, hook, call_id, type, call, revision, state, attempts, last_status, created_at,"     \
	" due_at, expires_at, last_at, last_error"

/* Reads one row of ROW_COLUMNS into r (pointers into s, valid until the next step). */
static void
read_row(sqlite3_stmt *s, struct cl_outbox_row *r)
{
	r->id = sqlite3_column_int64(s, 0);
	r->delivery_id = sq_col(s, 1);
	r->body_id = sq_col(s, 2);
	r->hook = sq_col(s, 3);
	r->call_id = sq_col(s, 4);
	r->type = sq_col(s, 5);
	r->call = sq_col(s, 6);
	r->revision = sqlite3_column_int(s, 7);
	r->state = sqlite3_column_int(s, 8);
	r->attempts = sqlite3_column_int(s, 9);
	r->last_status = sqlite3_column_int(s, 10);
	r->created_ms = sqlite3_column_int64(s, 11);
	r->due_ms = sqlite3_column_int64(s, 12);
	r->expires_ms = sqlite3_column_int64(s, 13);
	r->last_ms = sqlite3_column_int64(s, 14);
	r->last_error = sq_col(s, 15);
}

static int
insert(struct sq *q, const struct cl_outbox_put *p, int revision, char *err)
{
	sqlite3_stmt *s =
	    sq_stmt(q, SQ_OB_INSERT,
	            "INSERT INTO webhook_outbox(delivery_id, body_id, hook, call_id, type, revision, call,"
	            " state, created_at, due_at, expires_at) VALUES(?1 || '-' || ?2, ?1, ?3, ?4, ?5, ?2, ?6,"
	            " 0, ?7, ?8, ?8 + ?9)",
	            err);
	int rc = SQLITE_OK;

	if (s == NULL)
		return -1;
	sq_text(s, 1, p->body_id, &rc);
	sq_int(s, 2, revision, &rc);
	sq_text(s, 3, p->hook, &rc);
	sq_text(s, 4, p->call_id, &rc);
	sq_text(s, 5, p->type, &rc);
	sq_text(s, 6, p->call, &rc);
	sq_int(s, 7, p->now_ms, &rc);
	sq_int(s, 8, p->due_ms, &rc);
	sq_int(s, 9, CL_OUTBOX_TTL_MS, &rc);
	if (rc != SQLITE_OK) {
		sq_done(s);
		return sq_fail(q, "outbox insert", err);
	}
	return sq_run(q, s, "outbox insert", err) < 0 ? -1 : 1;
}

int
sq_outbox_put(struct cl_store *st, const struct cl_outbox_put *p, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_OB_LATEST,
	                          "SELECT id, revision, state, call = ?4, due_at FROM webhook_outbox"
	                          " WHERE hook = ?1 AND call_id = ?2 AND type = ?3 ORDER BY revision DESC LIMIT 1",
	                          err);
	int rc = SQLITE_OK, revision, state, same;
	int64_t id, due;

	if (s == NULL)
		return -1;
	sq_text(s, 1, p->hook, &rc);
	sq_text(s, 2, p->call_id, &rc);
	sq_text(s, 3, p->type, &rc);
	sq_text(s, 4, p->call, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sq_done(s);
		return insert(q, p, 1, err);
	}
	if (rc != SQLITE_ROW) {
		sq_fail(q, "outbox latest", err);
		sq_done(s);
		return -1;
	}
	id = sqlite3_column_int64(s, 0);
	revision = sqlite3_column_int(s, 1);
	state = sqlite3_column_int(s, 2);
	same = sqlite3_column_int(s, 3);
	due = sqlite3_column_int64(s, 4);
	sq_done(s);
	if (p->once || (same && (state != CL_OUTBOX_HELD || due == p->due_ms)))
		return 0;
	if (state != CL_OUTBOX_HELD)
		return insert(q, p, revision + 1, err);
	if ((s = sq_stmt(q, SQ_OB_UPDATE,
	                 "UPDATE webhook_outbox SET call = ?2, due_at = ?3, expires_at = ?3 + ?4 WHERE id = ?1",
	                 err)) == NULL)
		return -1;
	rc = SQLITE_OK;
	sq_int(s, 1, id, &rc);
	sq_text(s, 2, p->call, &rc);
	sq_int(s, 3, p->due_ms, &rc);
	sq_int(s, 4, CL_OUTBOX_TTL_MS, &rc);
	if (rc != SQLITE_OK) {
		sq_done(s);
		return sq_fail(q, "outbox update", err);
	}
	return sq_run(q, s, "outbox update", err) < 0 ? -1 : 1;
}

/* Calls fn for each row of s (bound); 0, fn's non-zero, or -1 with err. */
static int
each_row(struct sq *q, sqlite3_stmt *s, int (*fn)(void *, const struct cl_outbox_row *), void *arg, const char *what,
         char *err)
{
	struct cl_outbox_row r;
	int rc, stop = 0;

	while (stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_row(s, &r);
		stop = fn(arg, &r);
	}
	if (stop == 0 && rc != SQLITE_DONE)
		sq_fail(q, what, err);
	sq_done(s);
	return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}

int
sq_outbox_due(struct cl_store *st, const char *hook, int64_t now_ms, int max,
              int (*fn)(void *, const struct cl_outbox_row *), void *arg, int64_t *open, char *err)
{
	/* Promoting and picking in one write transaction: the writer's in-place change of a
	 * HELD delivery (cl_store_outbox_put) is either before it or sees it PENDING. */
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *promote, *due, *count;
	int rc = SQLITE_OK, ret;

	if ((promote = sq_stmt(q, SQ_OB_PROMOTE,
	                       "UPDATE webhook_outbox SET state = 1 WHERE hook = ?1 AND state = 0 AND due_at <= ?2",
	                       err)) == NULL ||
	    (due = sq_stmt(q, SQ_OB_DUE,
	                   "SELECT " ROW_COLUMNS " FROM webhook_outbox AS o WHERE hook = ?1 AND state = 1 AND"
	                   " due_at <= ?2 AND NOT EXISTS (SELECT 1 FROM webhook_outbox AS e WHERE e.hook = o.hook"
	                   " AND e.call_id = o.call_id AND e.state < 2 AND e.id < o.id) ORDER BY due_at, id LIMIT ?3",
	                   err)) == NULL ||
	    (count = sq_stmt(q, SQ_OB_COUNT, "SELECT count(*) FROM webhook_outbox WHERE state < 2", err)) == NULL)
		return -1;
	int own = sqlite3_get_autocommit(q->db); /* else in the caller's transaction */
	if (own && sq_exec(q, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	sq_text(promote, 1, hook, &rc);
	sq_int(promote, 2, now_ms, &rc);
	if (rc != SQLITE_OK || sq_run(q, promote, "outbox promote", err) < 0)
		goto fail;
	sq_text(due, 1, hook, &rc);
	sq_int(due, 2, now_ms, &rc);
	sq_int(due, 3, max, &rc);
	if (rc != SQLITE_OK) {
		sq_done(due);
		sq_fail(q, "outbox due", err);
		goto fail;
	}
	if ((ret = each_row(q, due, fn, arg, "outbox due", err)) < 0)
		goto fail;
	if (open != NULL) {
		if (sqlite3_step(count) != SQLITE_ROW) {
			sq_fail(q, "outbox count", err);
			sq_done(count);
			goto fail;
		}
		*open = sqlite3_column_int64(count, 0);
		sq_done(count);
	}
	if (own && sq_exec(q, "COMMIT", err) < 0)
		goto fail;
	return ret;
fail:
	sq_done(promote);
	if (own && !sqlite3_get_autocommit(q->db))
		(void)sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
sq_outbox_result(struct cl_store *st, int64_t id, int state, int64_t due_ms, int status, const char *error,
                 int64_t now_ms, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_OB_RESULT,
	                          "UPDATE webhook_outbox SET state = ?2, due_at = ?3, attempts = attempts + 1,"
	                          " last_status = ?4, last_error = ?5, last_at = ?6 WHERE id = ?1",
	                          err);
	int rc = SQLITE_OK;

	if (s == NULL)
		return -1;
	sq_int(s, 1, id, &rc);
	sq_int(s, 2, state, &rc);
	sq_int(s, 3, due_ms, &rc);
	sq_int(s, 4, status, &rc);
	sq_text(s, 5, error ? error : "", &rc);
	sq_int(s, 6, now_ms, &rc);
	if (rc != SQLITE_OK) {
		sq_done(s);
		return sq_fail(q, "outbox result", err);
	}
	return sq_run(q, s, "outbox result", err);
}

int
sq_outbox_list(struct cl_store *st, int max, int (*fn)(void *, const struct cl_outbox_row *), void *arg, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s =
	    sq_stmt(q, SQ_OB_LIST,
	            "SELECT " ROW_COLUMNS " FROM webhook_outbox WHERE state IN (0, 1, 3) ORDER BY id LIMIT ?1", err);
	int rc = SQLITE_OK;

	if (s == NULL)
		return -1;
	sq_int(s, 1, max, &rc);
	if (rc != SQLITE_OK) {
		sq_done(s);
		return sq_fail(q, "outbox list", err);
	}
	return each_row(q, s, fn, arg, "outbox list", err);
}

int
sq_outbox_retry(struct cl_store *st, const char *delivery_id, int64_t now_ms, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(
	    q, SQ_OB_RETRY,
	    "UPDATE webhook_outbox SET state = 1, due_at = ?2, expires_at = ?2 + ?3 WHERE delivery_id = ?1", err);
	int rc = SQLITE_OK;

	if (s == NULL)
		return -1;
	sq_text(s, 1, delivery_id, &rc);
	sq_int(s, 2, now_ms, &rc);
	sq_int(s, 3, CL_OUTBOX_TTL_MS, &rc);
	if (rc != SQLITE_OK) {
		sq_done(s);
		return sq_fail(q, "outbox retry", err);
	}
	if (sq_run(q, s, "outbox retry", err) < 0)
		return -1;
	return sqlite3_changes(q->db) > 0 ? 1 : 0;
}

int
sq_outbox_purge_call(struct sq *q, const char *call_id, char *err)
{
	sqlite3_stmt *s = sq_stmt(q, SQ_OB_PURGE, "DELETE FROM webhook_outbox WHERE call_id = ? AND state >= 2", err);
	int rc = SQLITE_OK;

	if (s == NULL)
		return -1;
	sq_text(s, 1, call_id, &rc);
	if (rc != SQLITE_OK) {
		sq_done(s);
		return sq_fail(q, "purge outbox", err);
	}
	return sq_run(q, s, "purge outbox", err);
}
