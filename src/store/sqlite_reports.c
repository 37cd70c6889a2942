/* sqlite_reports.c : owns the SQLite backend's report tables (docs/http-api.md): the
 * marks that shape agents' legs, the legs, the agents' state history, the
 * rows the reports read, and their back-fill from the event log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/report.h"
#include "sqlite.h"

int
sq_put_mark(struct cl_store *st, const struct cl_event *ev, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	if (ev->call_id == NULL || !cl_event_is_mark(ev->type))
		return 0;
	if ((s = sq_stmt(
	         q, SQ_PUT_MARK,
	         "INSERT OR IGNORE INTO call_marks(call_id, seq, ts, type, agent, to_agent) VALUES(?,?,?,?,?,?)",
	         err)) == NULL)
		return -1;
	sq_text(s, 1, ev->call_id, &rc);
	sq_int(s, 2, ev->seq, &rc);
	sq_int(s, 3, ev->ts, &rc);
	sq_text(s, 4, cl_event_type_name(ev->type), &rc);
	sq_text(s, 5, ev->agent, &rc);
	sq_text(s, 6, ev->to_agent, &rc);
	if (rc != SQLITE_OK) {
		sq_done(s);
		return sq_fail(q, "mark", err);
	}
	return sq_run(q, s, "mark", err);
}

int
sq_call_marks(struct cl_store *st, const char *call_id, int (*fn)(void *, const struct cl_event *), void *arg,
              char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s =
	    sq_stmt(q, SQ_CALL_MARKS,
	            "SELECT seq, ts, type, agent, to_agent FROM call_marks WHERE call_id = ? ORDER BY seq", err);
	int rc = SQLITE_OK, stop = 0;

	if (s == NULL)
		return -1;
	sq_text(s, 1, call_id, &rc);
	while (rc == SQLITE_OK && stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		int type = cl_event_type_parse(sq_col(s, 2));
		struct cl_event ev = {
		    .type = type < 0 ? CL_EV__COUNT : (enum cl_event_type)type,
		    .call_id = call_id,
		    .seq = sqlite3_column_int64(s, 0),
		    .ts = sqlite3_column_int64(s, 1),
		    .agent = (const char *)sqlite3_column_text(s, 3),
		    .to_agent = (const char *)sqlite3_column_text(s, 4),
		};
		rc = SQLITE_OK;
		if (type >= 0)
			stop = fn(arg, &ev);
	}
	if (stop == 0 && rc != SQLITE_DONE)
		sq_fail(q, "marks", err);
	sq_done(s);
	return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}

int
sq_put_legs(struct cl_store *st, const char *call_id, const struct cl_call_facts *f, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *del = sq_stmt(q, SQ_DEL_LEGS, "DELETE FROM call_legs WHERE call_id = ?", err), *ins;
	int rc = SQLITE_OK;

	if (del == NULL)
		return -1;
	sq_text(del, 1, call_id, &rc);
	if (rc != SQLITE_OK) {
		sq_done(del);
		return sq_fail(q, "legs", err);
	}
	if (sq_run(q, del, "legs", err) < 0)
		return -1;
	if ((ins = sq_stmt(q, SQ_PUT_LEG,
	                   "INSERT OR REPLACE INTO call_legs(call_id, agent, rang, answered, talk_ms, hold_ms)"
	                   " VALUES(?,?,?,?,?,?)",
	                   err)) == NULL)
		return -1;
	for (int i = 0; i < f->n_legs; i++) {
		const struct cl_call_leg *l = &f->legs[i];
		sq_text(ins, 1, call_id, &rc);
		sq_text(ins, 2, l->agent, &rc);
		sq_int(ins, 3, l->rang, &rc);
		sq_int(ins, 4, l->answered, &rc);
		sq_int(ins, 5, l->talk_ms, &rc);
		sq_int(ins, 6, l->hold_ms, &rc);
		if (rc != SQLITE_OK) {
			sq_done(ins);
			return sq_fail(q, "legs", err);
		}
		if (sq_run(q, ins, "legs", err) < 0)
			return -1;
	}
	return 0;
}

int
sq_state_history(struct sq *q, const char *agent, const char *state, const char *reason, int64_t ts, char *err)
{
	sqlite3_stmt *s =
	    sq_stmt(q, SQ_PUT_STATE_ROW, "INSERT INTO agent_states(agent, ts, state, reason) VALUES(?,?,?,?)", err);
	int rc = SQLITE_OK;

	if (s == NULL)
		return -1;
	sq_text(s, 1, agent, &rc);
	sq_int(s, 2, ts, &rc);
	sq_text(s, 3, state, &rc);
	sq_text(s, 4, reason != NULL ? reason : "", &rc);
	if (rc != SQLITE_OK) {
		sq_done(s);
		return sq_fail(q, "state history", err);
	}
	return sq_run(q, s, "state history", err);
}

int
sq_purge_report_rows(struct sq *q, const char *call_id, char *err)
{
	sqlite3_stmt *marks = sq_stmt(q, SQ_PURGE_MARKS, "DELETE FROM call_marks WHERE call_id = ?", err);
	sqlite3_stmt *legs = marks ? sq_stmt(q, SQ_PURGE_LEGS, "DELETE FROM call_legs WHERE call_id = ?", err) : NULL;
	int rc = SQLITE_OK;

	if (legs == NULL)
		return -1;
	sq_text(marks, 1, call_id, &rc);
	sq_text(legs, 1, call_id, &rc);
	if (rc != SQLITE_OK) {
		sq_done(marks);
		sq_done(legs);
		return sq_fail(q, "purge report rows", err);
	}
	if (sq_run(q, marks, "purge marks", err) < 0 || sq_run(q, legs, "purge legs", err) < 0)
		return -1;
	return 0;
}

int
sq_purge_states(struct sq *q, int64_t before_ms, int max, char *err)
{
	/* The last state before the cut still holds after it: reports from before_ms on start from it. */
	sqlite3_stmt *s = sq_stmt(q, SQ_PURGE_STATES,
	                          "DELETE FROM agent_states WHERE rowid IN (SELECT a.rowid FROM agent_states a"
	                          " WHERE a.ts < ?1 AND EXISTS (SELECT 1 FROM agent_states b WHERE b.agent = a.agent"
	                          " AND b.ts < ?1 AND (b.ts > a.ts OR (b.ts = a.ts AND b.rowid > a.rowid))) LIMIT ?2)",
	                          err);
	int rc = SQLITE_OK, n;

	if (s == NULL || q->base.ops->begin(&q->base, err) < 0)
		return -1;
	sq_int(s, 1, before_ms, &rc);
	sq_int(s, 2, max, &rc);
	if (rc != SQLITE_OK) {
		sq_done(s);
		sq_fail(q, "purge states", err);
		goto fail;
	}
	if (sq_run(q, s, "purge states", err) < 0)
		goto fail;
	n = sqlite3_changes(q->db);
	if (q->base.ops->commit(&q->base, err) < 0)
		goto fail;
	return n;
fail:
	q->base.ops->rollback(&q->base);
	return -1;
}

int
sq_report_calls(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *queue, int64_t now_ms,
                int (*fn)(void *, const struct cl_report_call *), void *arg, char *err)
{
	struct sq *q = (struct sq *)st;
	/* Every column is in calls_report: the range is read from the index alone. */
	static const char *const sql[2] = {
	    "SELECT offered_at, direction, queue, outcome, answered_at, ended_at, hold_ms, hold_since, wrap_ms,"
	    " transferred, disp_code, disp_agent FROM calls WHERE offered_at >= ?1 AND offered_at < ?2",
	    "SELECT offered_at, direction, queue, outcome, answered_at, ended_at, hold_ms, hold_since, wrap_ms,"
	    " transferred, disp_code, disp_agent FROM calls WHERE offered_at >= ?1 AND offered_at < ?2 AND queue = ?3",
	};
	sqlite3_stmt *s = sq_stmt(q, SQ_REPORT_CALLS + (queue != NULL), sql[queue != NULL], err);
	int rc = SQLITE_OK, stop = 0;

	if (s == NULL)
		return -1;
	sq_int(s, 1, from_ms, &rc);
	sq_int(s, 2, until_ms, &rc);
	if (queue != NULL)
		sq_text(s, 3, queue, &rc);
	while (rc == SQLITE_OK && stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cl_report_call c = {
		    .offered_at = sqlite3_column_int64(s, 0),
		    .inbound = sqlite3_column_int(s, 1) == CL_DIR_INBOUND,
		    .queue = sq_col(s, 2),
		    .wrap_ms = sqlite3_column_int64(s, 8),
		    .transferred = sqlite3_column_int(s, 9),
		    .disp_code = sq_col(s, 10),
		    .disp_agent = sq_col(s, 11),
		};
		rc = SQLITE_OK;
		if (cl_outcome_parse(sq_col(s, 3), &c.outcome) < 0)
			continue;
		cl_call_durations(c.offered_at, sqlite3_column_int64(s, 4), sqlite3_column_int64(s, 5),
		                  sqlite3_column_int64(s, 6), sqlite3_column_int64(s, 7), now_ms, &c.wait_ms,
		                  &c.talk_ms, &c.hold_ms);
		stop = fn(arg, &c);
	}
	if (stop == 0 && rc != SQLITE_DONE)
		sq_fail(q, "report calls", err);
	sq_done(s);
	return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}

int
sq_report_legs(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *agent,
               int (*fn)(void *, const struct cl_report_leg *), void *arg, char *err)
{
	struct sq *q = (struct sq *)st;
	static const char *const sql[2] = {
	    "SELECT c.offered_at, c.queue, l.agent, l.rang, l.answered, l.talk_ms, l.hold_ms FROM calls c"
	    " JOIN call_legs l ON l.call_id = c.call_id WHERE c.offered_at >= ?1 AND c.offered_at < ?2",
	    "SELECT c.offered_at, c.queue, l.agent, l.rang, l.answered, l.talk_ms, l.hold_ms FROM calls c"
	    " JOIN call_legs l ON l.call_id = c.call_id WHERE c.offered_at >= ?1 AND c.offered_at < ?2"
	    " AND l.agent = ?3",
	};
	sqlite3_stmt *s = sq_stmt(q, SQ_REPORT_LEGS + (agent != NULL), sql[agent != NULL], err);
	int rc = SQLITE_OK, stop = 0;

	if (s == NULL)
		return -1;
	sq_int(s, 1, from_ms, &rc);
	sq_int(s, 2, until_ms, &rc);
	if (agent != NULL)
		sq_text(s, 3, agent, &rc);
	while (rc == SQLITE_OK && stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cl_report_leg l = {
		    .offered_at = sqlite3_column_int64(s, 0),
		    .queue = sq_col(s, 1),
		    .agent = sq_col(s, 2),
		    .rang = sqlite3_column_int(s, 3),
		    .answered = sqlite3_column_int(s, 4),
		    .talk_ms = sqlite3_column_int64(s, 5),
		    .hold_ms = sqlite3_column_int64(s, 6),
		};
		rc = SQLITE_OK;
		stop = fn(arg, &l);
	}
	if (stop == 0 && rc != SQLITE_DONE)
		sq_fail(q, "report legs", err);
	sq_done(s);
	return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}

/* One agent's states: the last before from_ms, then those in [from_ms, until_ms). */
static int
agent_states_of(struct sq *q, const char *agent, int64_t from_ms, int64_t until_ms,
                int (*fn)(void *, const struct cl_state_row *), void *arg, char *err)
{
	sqlite3_stmt *s = sq_stmt(q, SQ_STATES,
	                          "SELECT ts, state, reason FROM agent_states WHERE agent = ?1 AND ts >= coalesce("
	                          "(SELECT max(ts) FROM agent_states WHERE agent = ?1 AND ts < ?2), ?2) AND ts < ?3"
	                          " ORDER BY ts, rowid",
	                          err);
	int rc = SQLITE_OK, stop = 0;

	if (s == NULL)
		return -1;
	sq_text(s, 1, agent, &rc);
	sq_int(s, 2, from_ms, &rc);
	sq_int(s, 3, until_ms, &rc);
	while (rc == SQLITE_OK && stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cl_state_row r = {
		    .agent = agent, .ts = sqlite3_column_int64(s, 0), .state = sq_col(s, 1), .reason = sq_col(s, 2)};
		rc = SQLITE_OK;
		stop = fn(arg, &r);
	}
	if (stop == 0 && rc != SQLITE_DONE)
		sq_fail(q, "agent states", err);
	sq_done(s);
	return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}

int
sq_agent_states(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *agent,
                int (*fn)(void *, const struct cl_state_row *), void *arg, char *err)
{
	struct sq *q = (struct sq *)st;
	static const char *const sql[2] = {
	    "SELECT DISTINCT agent FROM agent_states ORDER BY agent",
	    "SELECT DISTINCT agent FROM agent_states WHERE agent = ?1",
	};
	sqlite3_stmt *s = sq_stmt(q, SQ_STATE_AGENTS + (agent != NULL), sql[agent != NULL], err);
	char id[CL_ID_MAX + 1];
	int rc = SQLITE_OK, ret = 0;

	if (s == NULL)
		return -1;
	if (agent != NULL)
		sq_text(s, 1, agent, &rc);
	while (rc == SQLITE_OK && ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		sq_copy(id, sizeof(id), s, 0);
		rc = SQLITE_OK;
		ret = agent_states_of(q, id, from_ms, until_ms, fn, arg, err);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = sq_fail(q, "agent states", err);
	sq_done(s);
	return ret;
}

int
sq_connected(struct cl_store *st, int64_t since_ms, int (*fn)(void *, const struct cl_connected_row *), void *arg,
             char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_CONNECTED,
	                          "SELECT call_id, agent, queue, last_answered_at FROM calls WHERE offered_at >= ?"
	                          " AND ended_at = 0 AND answered_at > 0 AND agent != '' ORDER BY offered_at",
	                          err);
	int rc = SQLITE_OK, stop = 0;

	if (s == NULL)
		return -1;
	sq_int(s, 1, since_ms, &rc);
	while (rc == SQLITE_OK && stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cl_connected_row c = {.call_id = sq_col(s, 0),
		                             .agent = sq_col(s, 1),
		                             .queue = sq_col(s, 2),
		                             .since = sqlite3_column_int64(s, 3)};
		rc = SQLITE_OK;
		stop = fn(arg, &c);
	}
	if (stop == 0 && rc != SQLITE_DONE)
		sq_fail(q, "connected calls", err);
	sq_done(s);
	return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}

static int
add_mark(void *arg, const struct cl_event *ev)
{
	(void)cl_marks_add(arg, ev);
	return 0;
}

int
sq_backfill_reports(struct sq *q, char *err)
{
	struct cl_marks *m = cl_marks_new();
	struct cl_call_facts f;
	sqlite3_stmt *sel = NULL, *upd = NULL;
	char id[CL_ID_MAX + 1];
	int rc = SQLITE_ERROR;

	if (m == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	if (sqlite3_prepare_v2(q->db, "SELECT DISTINCT call_id FROM call_marks", -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(q->db, "UPDATE calls SET wrap_ms = ?, transferred = ? WHERE call_id = ?", -1, &upd,
	                       NULL) != SQLITE_OK) {
		sq_fail(q, "report back-fill", err);
		goto out;
	}
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		sq_copy(id, sizeof(id), sel, 0);
		cl_marks_reset(m);
		rc = SQLITE_OK;
		if (sq_call_marks(&q->base, id, add_mark, m, err) < 0)
			goto fail;
		if (cl_marks_facts(m, &f) < 0) {
			snprintf(err, CL_ERR_LEN, "out of memory");
			goto fail;
		}
		if (sq_put_legs(&q->base, id, &f, err) < 0)
			goto fail;
		sq_int(upd, 1, f.wrap_ms, &rc);
		sq_int(upd, 2, f.transferred, &rc);
		sq_text(upd, 3, id, &rc);
		if (rc != SQLITE_OK) {
			sq_done(upd);
			sq_fail(q, "report back-fill", err);
			goto fail;
		}
		if (sq_run(q, upd, "report back-fill", err) < 0)
			goto fail;
	}
	if (rc != SQLITE_DONE)
		sq_fail(q, "report back-fill", err);
	goto out;
fail:
	rc = SQLITE_ERROR;
out:
	(void)sqlite3_finalize(sel);
	(void)sqlite3_finalize(upd);
	free(m);
	return rc == SQLITE_DONE ? 0 : -1;
}
