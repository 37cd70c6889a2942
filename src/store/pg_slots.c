/* pg_slots.c : owns the PostgreSQL backend's roll-up of the queue report
 * (slots.h): one row per 15-minute slot, queue and disposition code, and the
 * thresholds the rows were counted with (slot_conf). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/slots.h"
#include "pg.h"

int
pg_put_slot(struct cl_store *st, const struct cl_slot_row *row, char *err)
{
	struct cl_slot_figs f = row->f;
	struct pg_params p = {0};

	pgp_int(&p, row->slot);
	pgp_text(&p, row->queue);
	pgp_text(&p, row->code);
	for (int i = 0; i < CL_SLOT_NFIGS; i++)
		pgp_int(&p, *cl_rows_slot_fig(&f, i));
	return pg_do_slot(
	    (struct pg *)st, PG_SLOT_PUT,
	    "INSERT INTO report_slots AS r(slot, queue, code, " CL_SLOT_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,"
	    "$11,$12,$13,$14,$15,$16,$17) ON CONFLICT (slot, queue, code) DO UPDATE SET"
	    " answered = r.answered + excluded.answered, abandoned = r.abandoned + excluded.abandoned,"
	    " short_abandoned = r.short_abandoned + excluded.short_abandoned,"
	    " unanswered = r.unanswered + excluded.unanswered, active = r.active + excluded.active,"
	    " within_sla = r.within_sla + excluded.within_sla, transferred = r.transferred + excluded.transferred,"
	    " sum_wait_answered = r.sum_wait_answered + excluded.sum_wait_answered,"
	    " sum_wait_abandoned = r.sum_wait_abandoned + excluded.sum_wait_abandoned,"
	    " sum_talk = r.sum_talk + excluded.sum_talk, sum_hold = r.sum_hold + excluded.sum_hold,"
	    " sum_wrap = r.sum_wrap + excluded.sum_wrap, max_wait = greatest(r.max_wait, excluded.max_wait),"
	    " count = r.count + excluded.count",
	    &p, "report slot", err);
}

int
pg_clear_slots(struct cl_store *st, int64_t from_ms, int64_t until_ms, char *err)
{
	struct pg_params p = {0};

	pgp_int(&p, from_ms);
	pgp_int(&p, until_ms);
	return pg_do_slot((struct pg *)st, PG_SLOT_CLEAR, "DELETE FROM report_slots WHERE slot >= $1 AND slot < $2", &p,
	                  "report slots", err);
}

int
pg_slot_conf(struct cl_store *st, int set, int64_t *sla_ms, int64_t *short_ms, char *err)
{
	struct pg *g = (struct pg *)st;
	struct pg_params p = {0};
	PGresult *r;
	int found;

	if (set && *sla_ms < 0)
		return pg_do(g, "DELETE FROM slot_conf", NULL, "report slots", err);
	if (set) {
		pgp_int(&p, *sla_ms);
		pgp_int(&p, *short_ms);
		return pg_do(g,
		             "INSERT INTO slot_conf(id, sla_ms, short_ms) VALUES(1, $1, $2) ON CONFLICT (id) DO UPDATE"
		             " SET sla_ms = $1, short_ms = $2",
		             &p, "report slots", err);
	}
	if ((r = pg_exec(g, "SELECT sla_ms, short_ms FROM slot_conf", NULL, "report slots", err)) == NULL)
		return -1;
	if ((found = PQntuples(r) == 1)) {
		*sla_ms = pg_int(r, 0, 0);
		*short_ms = pg_int(r, 0, 1);
	}
	PQclear(r);
	return found;
}

int
pg_report_slots(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *queue, int codes,
                int (*fn)(void *, const struct cl_slot_row *), void *arg, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int stop = 0;

	pgp_int(&p, from_ms);
	pgp_int(&p, until_ms);
	pgp_text(&p, queue);
	pgp_int(&p, codes);
	/* codes 0: the queues' own rows only (code ''), what a queue report reads. */
	if ((r = pg_run((struct pg *)st, PG_REPORT_SLOTS,
	                "SELECT slot, queue, code, " CL_SLOT_COLS " FROM report_slots WHERE slot >= $1 AND slot < $2"
	                " AND ($3::text IS NULL OR queue = $3::text) AND ($4::int <> 0 OR code = '')",
	                &p, "report slots", err)) == NULL)
		return -1;
	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		struct cl_slot_row row = {.slot = pg_int(r, i, 0), .queue = pg_col(r, i, 1), .code = pg_col(r, i, 2)};
		for (int k = 0; k < CL_SLOT_NFIGS; k++)
			*cl_rows_slot_fig(&row.f, k) = pg_int(r, i, 3 + k);
		stop = fn(arg, &row);
	}
	PQclear(r);
	return stop;
}
