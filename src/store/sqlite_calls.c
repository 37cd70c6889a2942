/* sqlite_calls.c : the SQLite backend's call records: read, write (with the
 * outcome computed in C), the call list, a caller's history, queue figures,
 * and purging in bounded transactions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "callogd/util.h"
#include "sqlite.h"

#define CALL_COLS                                                                                                      \
	"call_id, direction, from_num, to_num, number, queue, agent, agents, customer_id, has_offer, offered_at, "     \
	"answered_at, ended_at, hold_ms, hold_since, end_reason, end_by, disp_code, disp_agent, disp_at, "             \
	"disp_notes, data, last_seq, last_answered_at, wrap_ms, transferred"

#define PURGE_CHUNK 1000     /* calls deleted per transaction */
#define PURGE_GAP_NS 5000000 /* between transactions: a waiting writer takes its turn */

static char *
dup_col(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	return v ? strdup((const char *)v) : NULL;
}

/* Fills c from a row of CALL_COLS; -1 on out of memory. */
static int
row_to_call(sqlite3_stmt *s, struct cl_call *c)
{
	memset(c, 0, sizeof(*c));
	sq_copy(c->call_id, sizeof(c->call_id), s, 0);
	c->direction = sqlite3_column_int(s, 1);
	sq_copy(c->from, sizeof(c->from), s, 2);
	sq_copy(c->to, sizeof(c->to), s, 3);
	sq_copy(c->number, sizeof(c->number), s, 4);
	sq_copy(c->queue, sizeof(c->queue), s, 5);
	sq_copy(c->agent, sizeof(c->agent), s, 6);
	cl_rows_agents(sq_col(s, 7), c);
	sq_copy(c->customer_id, sizeof(c->customer_id), s, 8);
	c->has_offer = sqlite3_column_int(s, 9);
	c->offered_at = sqlite3_column_int64(s, 10);
	c->answered_at = sqlite3_column_int64(s, 11);
	c->ended_at = sqlite3_column_int64(s, 12);
	c->hold_ms = sqlite3_column_int64(s, 13);
	c->hold_since = sqlite3_column_int64(s, 14);
	sq_copy(c->end_reason, sizeof(c->end_reason), s, 15);
	sq_copy(c->end_by, sizeof(c->end_by), s, 16);
	sq_copy(c->disp_code, sizeof(c->disp_code), s, 17);
	sq_copy(c->disp_agent, sizeof(c->disp_agent), s, 18);
	c->disp_at = sqlite3_column_int64(s, 19);
	if (sqlite3_column_type(s, 20) != SQLITE_NULL && (c->disp_notes = dup_col(s, 20)) == NULL)
		return -1;
	if (sqlite3_column_type(s, 21) != SQLITE_NULL && (c->data = dup_col(s, 21)) == NULL)
		return -1;
	c->last_seq = sqlite3_column_int64(s, 22);
	c->last_answered_at = sqlite3_column_int64(s, 23);
	c->wrap_ms = sqlite3_column_int64(s, 24);
	c->transferred = sqlite3_column_int(s, 25);
	return 0;
}

int
sq_get_call(struct cl_store *st, const char *call_id, struct cl_call *c, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_GET_CALL, "SELECT " CALL_COLS " FROM calls WHERE call_id = ?", err);
	int rc = SQLITE_OK, ret = -1;

	if (s == NULL)
		return -1;
	sq_text(s, 1, call_id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		ret = 1;
		if (row_to_call(s, c) < 0) {
			cl_call_clear(c);
			snprintf(err, CL_ERR_LEN, "out of memory");
			ret = -1;
		}
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	} else {
		sq_fail(q, "get call", err);
	}
	sq_done(s);
	return ret;
}

int
sq_event_ids(struct cl_store *st, int (*fn)(void *, const char *, size_t), void *arg, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_EVENT_IDS, "SELECT eid FROM events WHERE eid IS NOT NULL", err);
	int rc = SQLITE_OK, stop = 0;

	if (s == NULL)
		return -1;
	while (stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		stop = fn(arg, (const char *)sqlite3_column_text(s, 0), (size_t)sqlite3_column_bytes(s, 0));
	if (stop == 0 && rc != SQLITE_DONE)
		sq_fail(q, "list event ids", err);
	sq_done(s);
	return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}

int
sq_put_call(struct cl_store *st, const struct cl_call *c, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_PUT_CALL,
	                          "INSERT OR REPLACE INTO calls(" CALL_COLS ", outcome)"
	                          " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	                          err);
	char *aj;
	int rc = SQLITE_OK, ret;

	if (s == NULL)
		return -1;
	if ((aj = cl_rows_agents_json(c)) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	sq_text(s, 1, c->call_id, &rc);
	sq_int(s, 2, c->direction, &rc);
	sq_text(s, 3, c->from, &rc);
	sq_text(s, 4, c->to, &rc);
	sq_text(s, 5, c->number, &rc);
	sq_text(s, 6, c->queue, &rc);
	sq_text(s, 7, c->agent, &rc);
	sq_text(s, 8, aj, &rc);
	sq_text(s, 9, c->customer_id[0] ? c->customer_id : NULL, &rc);
	sq_int(s, 10, c->has_offer, &rc);
	sq_int(s, 11, c->offered_at, &rc);
	sq_int(s, 12, c->answered_at, &rc);
	sq_int(s, 13, c->ended_at, &rc);
	sq_int(s, 14, c->hold_ms, &rc);
	sq_int(s, 15, c->hold_since, &rc);
	sq_text(s, 16, c->end_reason, &rc);
	sq_text(s, 17, c->end_by, &rc);
	sq_text(s, 18, c->disp_code, &rc);
	sq_text(s, 19, c->disp_agent, &rc);
	sq_int(s, 20, c->disp_at, &rc);
	sq_text(s, 21, c->disp_notes, &rc);
	sq_text(s, 22, c->data, &rc);
	sq_int(s, 23, c->last_seq, &rc);
	sq_int(s, 24, c->last_answered_at, &rc);
	sq_int(s, 25, c->wrap_ms, &rc);
	sq_int(s, 26, c->transferred, &rc);
	sq_text(s, 27, cl_outcome_name(cl_call_outcome(c)), &rc);
	if (rc != SQLITE_OK) {
		sq_done(s);
		ret = sq_fail(q, "put call", err);
	} else {
		ret = sq_run(q, s, "put call", err); /* bindings cleared: aj may go */
	}
	free(aj);
	return ret;
}

int
sq_list_calls(struct cl_store *st, const struct cl_call_filter *f, int (*fn)(void *, const struct cl_call *), void *arg,
              char *err)
{
	struct sq *q = (struct sq *)st;
	/* One statement per combination of filters, so each can use its index. */
	int mask = (f->since != 0) | (f->until != 0) << 1 | (f->agent != NULL) << 2 | (f->queue != NULL) << 3 |
	           (f->number != NULL) << 4 | (f->before != NULL) << 5;
	char sql[1024];
	sqlite3_stmt *s;
	int i = 1, rc = SQLITE_OK, stop = 0;

	snprintf(sql, sizeof(sql),
	         "SELECT " CALL_COLS " FROM calls WHERE 1%s%s%s%s%s%s ORDER BY offered_at DESC, rowid DESC LIMIT ?",
	         f->since ? " AND offered_at >= ?" : "", f->until ? " AND offered_at < ?" : "",
	         f->agent ? " AND (agent = ? OR EXISTS (SELECT 1 FROM json_each(calls.agents) WHERE value = ?))" : "",
	         f->queue ? " AND queue = ?" : "", f->number ? " AND (number = ? OR from_num = ? OR to_num = ?)" : "",
	         /* The cursor: the rows after the given one in this order (none when it is unknown). */
	         f->before ? " AND (offered_at, rowid) < (SELECT offered_at, rowid FROM calls WHERE call_id = ?)" : "");
	if ((s = sq_stmt(q, SQ_LIST_CALLS + mask, sql, err)) == NULL)
		return -1;
	if (f->since)
		sq_int(s, i++, f->since, &rc);
	if (f->until)
		sq_int(s, i++, f->until, &rc);
	if (f->agent) {
		sq_text(s, i++, f->agent, &rc);
		sq_text(s, i++, f->agent, &rc);
	}
	if (f->queue)
		sq_text(s, i++, f->queue, &rc);
	if (f->number) {
		sq_text(s, i++, f->number, &rc);
		sq_text(s, i++, f->number, &rc);
		sq_text(s, i++, f->number, &rc);
	}
	if (f->before)
		sq_text(s, i++, f->before, &rc);
	sq_int(s, i, f->limit, &rc);
	while (rc == SQLITE_OK && stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cl_call c;
		if (row_to_call(s, &c) < 0) {
			cl_call_clear(&c);
			snprintf(err, CL_ERR_LEN, "out of memory");
			sq_done(s);
			return -1;
		}
		stop = fn(arg, &c);
		cl_call_clear(&c);
		rc = SQLITE_OK;
	}
	if (stop == 0 && rc != SQLITE_DONE)
		sq_fail(q, "list calls", err);
	sq_done(s);
	return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}

#define HISTORY_COLS                                                                                                   \
	"call_id, offered_at, agent, outcome, disp_code, disp_notes, queue, answered_at, ended_at,"                    \
	" (SELECT name FROM agents WHERE agents.id = calls.agent)"

int
sq_history(struct cl_store *st, const char *customer_id, const char *number, const char *exclude, int max,
           int (*fn)(void *, const struct cl_history_row *), void *arg, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = customer_id ? sq_stmt(q, SQ_HIST_CUSTOMER,
	                                        "SELECT " HISTORY_COLS " FROM calls WHERE customer_id = ?1"
	                                        " AND call_id IS NOT ?2 ORDER BY offered_at DESC LIMIT ?3",
	                                        err)
	                              : sq_stmt(q, SQ_HIST_NUMBER,
	                                        "SELECT " HISTORY_COLS " FROM calls WHERE number = ?1"
	                                        " AND call_id IS NOT ?2 ORDER BY offered_at DESC LIMIT ?3",
	                                        err);
	int rc = SQLITE_OK, stop = 0;

	if (s == NULL)
		return -1;
	sq_text(s, 1, customer_id ? customer_id : number, &rc);
	sq_text(s, 2, exclude, &rc);
	sq_int(s, 3, max, &rc);
	while (rc == SQLITE_OK && stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cl_history_row h = {
		    .call_id = sq_col(s, 0),
		    .offered_at = sqlite3_column_int64(s, 1),
		    .agent = sq_col(s, 2),
		    .disp_code = sq_col(s, 4),
		    .disp_notes = sqlite3_column_type(s, 5) == SQLITE_NULL ? NULL : sq_col(s, 5),
		    .queue = sq_col(s, 6),
		    .agent_name = sq_col(s, 9),
		};
		int64_t ans = sqlite3_column_int64(s, 7), end = sqlite3_column_int64(s, 8);
		h.duration_ms = ans > 0 && end >= ans ? end - ans : -1;
		if (cl_outcome_parse(sq_col(s, 3), &h.outcome) < 0)
			h.outcome = CL_OUTCOME_ACTIVE;
		stop = fn(arg, &h);
		rc = SQLITE_OK;
	}
	if (stop == 0 && rc != SQLITE_DONE)
		sq_fail(q, "call history", err);
	sq_done(s);
	return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}

int
sq_queue_stats(struct cl_store *st, const char *queue, int64_t from_ms, int64_t now_ms, int64_t sla_ms,
               int (*fn)(void *, const struct cl_queue_stats *), void *arg, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_STATS,
	                          "SELECT queue, count(*),"
	                          " sum(ended_at = 0 AND answered_at = 0),"
	                          " max(CASE WHEN ended_at = 0 AND answered_at = 0 THEN ?1 - offered_at END),"
	                          " sum(answered_at > 0),"
	                          " sum(outcome = 'abandoned'),"
	                          " avg(CASE WHEN answered_at > 0 THEN answered_at - offered_at END),"
	                          " sum(answered_at > 0 AND answered_at - offered_at <= ?3)"
	                          " FROM calls WHERE offered_at >= ?2 AND (?4 IS NULL OR queue = ?4)"
	                          " GROUP BY queue ORDER BY queue",
	                          err);
	int rc = SQLITE_OK, stop = 0;

	if (s == NULL)
		return -1;
	sq_int(s, 1, now_ms, &rc);
	sq_int(s, 2, from_ms, &rc);
	sq_int(s, 3, sla_ms, &rc);
	sq_text(s, 4, queue, &rc);
	while (rc == SQLITE_OK && stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cl_queue_stats r = {
		    .queue = sq_col(s, 0),
		    .offered = sqlite3_column_int64(s, 1),
		    .waiting = sqlite3_column_int64(s, 2),
		    .longest_wait_ms = sqlite3_column_int64(s, 3),
		    .answered = sqlite3_column_int64(s, 4),
		    .abandoned = sqlite3_column_int64(s, 5),
		    .has_average = sqlite3_column_type(s, 6) != SQLITE_NULL,
		    .average_wait_ms = (int64_t)sqlite3_column_double(s, 6),
		    .answered_within_sla = sqlite3_column_int64(s, 7),
		};
		stop = fn(arg, &r);
		rc = SQLITE_OK;
	}
	if (stop == 0 && rc != SQLITE_DONE)
		sq_fail(q, "queue figures", err);
	sq_done(s);
	return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}

/* One transaction: deletes up to PURGE_CHUNK calls offered and ended before before_ms; their count, or -1. */
static int
purge_chunk(struct sq *q, int64_t before_ms, char (*ids)[CL_ID_MAX + 1], char *err)
{
	sqlite3_stmt *pick, *evs, *call;
	int rc = SQLITE_OK, n = 0;

	if ((pick =
	         sq_stmt(q, SQ_PURGE_PICK,
	                 "SELECT call_id FROM calls WHERE ended_at > 0 AND ended_at < ?1 AND offered_at < ?1 LIMIT ?2",
	                 err)) == NULL ||
	    (evs = sq_stmt(q, SQ_PURGE_EVENTS, "DELETE FROM events WHERE call_id = ?", err)) == NULL ||
	    (call = sq_stmt(q, SQ_PURGE_CALL, "DELETE FROM calls WHERE call_id = ?", err)) == NULL ||
	    q->base.ops->begin(&q->base, err) < 0)
		return -1;
	sq_int(pick, 1, before_ms, &rc);
	sq_int(pick, 2, PURGE_CHUNK, &rc);
	/* The ids are copied out first: rows are not deleted under an open scan. */
	while (rc == SQLITE_OK && n < PURGE_CHUNK && (rc = sqlite3_step(pick)) == SQLITE_ROW) {
		sq_copy(ids[n++], sizeof(ids[0]), pick, 0);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_OK) {
		sq_fail(q, "purge", err);
		sq_done(pick);
		goto fail;
	}
	sq_done(pick);
	rc = SQLITE_OK;
	for (int i = 0; i < n; i++) {
		sq_text(evs, 1, ids[i], &rc);
		sq_text(call, 1, ids[i], &rc);
		if (rc != SQLITE_OK) {
			sq_done(evs);
			sq_done(call);
			sq_fail(q, "purge", err);
			goto fail;
		}
		if (sq_run(q, evs, "purge events", err) < 0 || sq_run(q, call, "purge calls", err) < 0 ||
		    sq_purge_report_rows(q, ids[i], err) < 0 || sq_outbox_purge_call(q, ids[i], err) < 0)
			goto fail;
	}
	if (q->base.ops->commit(&q->base, err) < 0)
		goto fail;
	return n;
fail:
	q->base.ops->rollback(&q->base);
	return -1;
}

int
sq_purge(struct cl_store *st, int64_t before_ms, int64_t *ncalls, char *err)
{
	struct sq *q = (struct sq *)st;
	char(*ids)[CL_ID_MAX + 1] = malloc(PURGE_CHUNK * sizeof(*ids));
	struct timespec gap = {0, PURGE_GAP_NS};
	int n;

	if (ids == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	while ((n = purge_chunk(q, before_ms, ids, err)) == PURGE_CHUNK) {
		*ncalls += n;
		nanosleep(&gap, NULL);
	}
	free(ids);
	if (n < 0)
		return -1;
	*ncalls += n;
	while ((n = sq_purge_states(q, before_ms, PURGE_CHUNK, err)) == PURGE_CHUNK)
		nanosleep(&gap, NULL);
	return n < 0 ? -1 : 0;
}

/* Migration to version 4: every existing call gets its outcome, by the rule in calls.c. */
int
sq_backfill_outcomes(struct sq *q, char *err)
{
	sqlite3_stmt *sel = NULL, *upd = NULL;
	int rc = SQLITE_ERROR;

	if (sqlite3_prepare_v2(q->db,
	                       "SELECT answered_at, ended_at, end_reason, end_by, rowid FROM calls"
	                       " WHERE ended_at != 0",
	                       -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(q->db, "UPDATE calls SET outcome = ? WHERE rowid = ?", -1, &upd, NULL) != SQLITE_OK) {
		sq_fail(q, "outcomes", err);
		goto out;
	}
	/* Updating a column no index holds does not disturb the scan of the table. */
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		enum cl_outcome o = cl_outcome_of(sqlite3_column_int64(sel, 0), sqlite3_column_int64(sel, 1),
		                                  sq_col(sel, 2), sq_col(sel, 3));
		rc = SQLITE_OK;
		sq_text(upd, 1, cl_outcome_name(o), &rc);
		sq_int(upd, 2, sqlite3_column_int64(sel, 4), &rc);
		if (rc != SQLITE_OK) {
			sq_done(upd);
			sq_fail(q, "outcomes", err);
			goto out;
		}
		if (sq_run(q, upd, "outcomes", err) < 0) {
			rc = SQLITE_ERROR;
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		sq_fail(q, "outcomes", err);
out:
	(void)sqlite3_finalize(sel);
	(void)sqlite3_finalize(upd);
	return sel != NULL && upd != NULL && rc == SQLITE_DONE ? 0 : -1;
}
