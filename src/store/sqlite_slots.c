/* sqlite_slots.c : owns the SQLite backend's roll-up of the queue report
 * (slots.h): one row per 15-minute slot, queue and disposition code, and the
 * thresholds the rows were counted with (meta 'report_slots'). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/slots.h"
#include "sqlite.h"

int
sq_put_slot(struct cl_store *st, const struct cl_slot_row *row, char *err)
{
	struct sq *q = (struct sq *)st;
	struct cl_slot_figs f = row->f;
	sqlite3_stmt *s = sq_stmt(
	    q, SQ_SLOT_PUT,
	    "INSERT INTO report_slots(slot, queue, code, " CL_SLOT_COLS ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
	    " ON CONFLICT(slot, queue, code) DO UPDATE SET answered = answered + excluded.answered,"
	    " abandoned = abandoned + excluded.abandoned,"
	    " short_abandoned = short_abandoned + excluded.short_abandoned,"
	    " unanswered = unanswered + excluded.unanswered, active = active + excluded.active,"
	    " within_sla = within_sla + excluded.within_sla, transferred = transferred + excluded.transferred,"
	    " sum_wait_answered = sum_wait_answered + excluded.sum_wait_answered,"
	    " sum_wait_abandoned = sum_wait_abandoned + excluded.sum_wait_abandoned,"
	    " sum_talk = sum_talk + excluded.sum_talk, sum_hold = sum_hold + excluded.sum_hold,"
	    " sum_wrap = sum_wrap + excluded.sum_wrap, max_wait = max(max_wait, excluded.max_wait),"
	    " count = count + excluded.count",
	    err);
	int rc = SQLITE_OK;

	if (s == NULL)
		return -1;
	sq_int(s, 1, row->slot, &rc);
	sq_text(s, 2, row->queue, &rc);
	sq_text(s, 3, row->code, &rc);
	for (int i = 0; i < CL_SLOT_NFIGS; i++)
		sq_int(s, 4 + i, *cl_rows_slot_fig(&f, i), &rc);
	if (rc != SQLITE_OK) {
		sq_done(s);
		return sq_fail(q, "report slot", err);
	}
	return sq_run(q, s, "report slot", err);
}

int
sq_clear_slots(struct cl_store *st, int64_t from_ms, int64_t until_ms, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_SLOT_CLEAR, "DELETE FROM report_slots WHERE slot >= ? AND slot < ?", err);
	int rc = SQLITE_OK;

	if (s == NULL)
		return -1;
	sq_int(s, 1, from_ms, &rc);
	sq_int(s, 2, until_ms, &rc);
	if (rc != SQLITE_OK) {
		sq_done(s);
		return sq_fail(q, "report slots", err);
	}
	return sq_run(q, s, "report slots", err);
}

int
sq_slot_conf(struct cl_store *st, int set, int64_t *sla_ms, int64_t *short_ms, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s;
	char text[64];
	long long a, b;
	int rc = SQLITE_OK, ret = 0;

	if (set) {
		if (*sla_ms < 0)
			s = sq_stmt(q, SQ_SLOT_CONF_DEL, "DELETE FROM meta WHERE key = 'report_slots'", err);
		else
			s = sq_stmt(q, SQ_SLOT_CONF_PUT,
			            "INSERT OR REPLACE INTO meta(key, value) VALUES('report_slots', ?)", err);
		if (s == NULL)
			return -1;
		snprintf(text, sizeof(text), "%lld %lld", (long long)*sla_ms, (long long)*short_ms);
		if (*sla_ms >= 0)
			sq_text(s, 1, text, &rc);
		if (rc != SQLITE_OK) {
			sq_done(s);
			return sq_fail(q, "report slots", err);
		}
		return sq_run(q, s, "report slots", err);
	}
	if ((s = sq_stmt(q, SQ_SLOT_CONF_GET, "SELECT CAST(value AS TEXT) FROM meta WHERE key = 'report_slots'",
	                 err)) == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sscanf(sq_col(s, 0), "%lld %lld", &a, &b) == 2) {
		*sla_ms = a;
		*short_ms = b;
		ret = 1;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = sq_fail(q, "report slots", err);
	}
	sq_done(s);
	return ret;
}

int
sq_report_slots(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *queue, int codes,
                int (*fn)(void *, const struct cl_slot_row *), void *arg, char *err)
{
	struct sq *q = (struct sq *)st;
	/* By queue filter, then with or without the codes' rows (a queue report has no use for them). */
	static const char *const sql[4] = {
	    "SELECT slot, queue, code, " CL_SLOT_COLS " FROM report_slots WHERE slot >= ?1 AND slot < ?2 AND code = ''",
	    "SELECT slot, queue, code, " CL_SLOT_COLS " FROM report_slots WHERE slot >= ?1 AND slot < ?2",
	    "SELECT slot, queue, code, " CL_SLOT_COLS " FROM report_slots WHERE slot >= ?1 AND slot < ?2 AND queue = ?3"
	    " AND code = ''",
	    "SELECT slot, queue, code, " CL_SLOT_COLS
	    " FROM report_slots WHERE slot >= ?1 AND slot < ?2 AND queue = ?3",
	};
	int v = (queue != NULL) * 2 + (codes != 0);
	sqlite3_stmt *s = sq_stmt(q, SQ_REPORT_SLOTS + v, sql[v], err);
	int rc = SQLITE_OK, stop = 0;

	if (s == NULL)
		return -1;
	sq_int(s, 1, from_ms, &rc);
	sq_int(s, 2, until_ms, &rc);
	if (queue != NULL)
		sq_text(s, 3, queue, &rc);
	while (rc == SQLITE_OK && stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cl_slot_row row = {
		    .slot = sqlite3_column_int64(s, 0), .queue = sq_col(s, 1), .code = sq_col(s, 2)};
		for (int i = 0; i < CL_SLOT_NFIGS; i++)
			*cl_rows_slot_fig(&row.f, i) = sqlite3_column_int64(s, 3 + i);
		rc = SQLITE_OK;
		stop = fn(arg, &row);
	}
	if (stop == 0 && rc != SQLITE_DONE)
		sq_fail(q, "report slots", err);
	sq_done(s);
	return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}
