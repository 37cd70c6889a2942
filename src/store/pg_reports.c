/* pg_reports.c : owns the PostgreSQL backend's report tables (docs/http-api.md):
 * the marks that shape agents' legs, the legs, the agents' state history and
 * the rows the reports read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/report.h"
#include "pg.h"

int
pg_put_mark(struct cl_store *st, const struct cl_event *ev, char *err)
{
	struct pg_params p = {0};

	if (ev->call_id == NULL || !cl_event_is_mark(ev->type))
		return 0;
	pgp_text(&p, ev->call_id);
	pgp_int(&p, ev->seq);
	pgp_int(&p, ev->ts);
	pgp_text(&p, cl_event_type_name(ev->type));
	pgp_text(&p, ev->agent);
	pgp_text(&p, ev->to_agent);
	return pg_do_slot((struct pg *)st, PG_PUT_MARK,
	                  "INSERT INTO call_marks(call_id, seq, ts, type, agent, to_agent) VALUES($1,$2,$3,$4,$5,$6)"
	                  " ON CONFLICT DO NOTHING",
	                  &p, "mark", err);
}

int
pg_call_marks(struct cl_store *st, const char *call_id, int (*fn)(void *, const struct cl_event *), void *arg,
              char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int stop = 0;

	pgp_text(&p, call_id);
	if ((r = pg_run((struct pg *)st, PG_CALL_MARKS,
	                "SELECT seq, ts, type, agent, to_agent FROM call_marks WHERE call_id = $1 ORDER BY seq", &p,
	                "marks", err)) == NULL)
		return -1;
	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		int type = cl_event_type_parse(pg_col(r, i, 2));
		struct cl_event ev = {
		    .type = type < 0 ? CL_EV__COUNT : (enum cl_event_type)type,
		    .call_id = call_id,
		    .seq = pg_int(r, i, 0),
		    .ts = pg_int(r, i, 1),
		    .agent = pg_null(r, i, 3) ? NULL : pg_col(r, i, 3),
		    .to_agent = pg_null(r, i, 4) ? NULL : pg_col(r, i, 4),
		};
		if (type >= 0)
			stop = fn(arg, &ev);
	}
	PQclear(r);
	return stop;
}

int
pg_put_legs(struct cl_store *st, const char *call_id, const struct cl_call_facts *f, char *err)
{
	struct pg *g = (struct pg *)st;
	struct pg_params p = {0};

	pgp_text(&p, call_id);
	if (pg_do_slot(g, PG_DEL_LEGS, "DELETE FROM call_legs WHERE call_id = $1", &p, "legs", err) < 0)
		return -1;
	for (int i = 0; i < f->n_legs; i++) {
		const struct cl_call_leg *l = &f->legs[i];
		struct pg_params q = {0};
		pgp_text(&q, call_id);
		pgp_text(&q, l->agent);
		pgp_int(&q, l->rang);
		pgp_int(&q, l->answered);
		pgp_int(&q, l->talk_ms);
		pgp_int(&q, l->hold_ms);
		if (pg_do_slot(g, PG_PUT_LEG,
		               "INSERT INTO call_legs(call_id, agent, rang, answered, talk_ms, hold_ms)"
		               " VALUES($1,$2,$3,$4,$5,$6) ON CONFLICT (call_id, agent) DO UPDATE SET rang = $3,"
		               " answered = $4, talk_ms = $5, hold_ms = $6",
		               &q, "legs", err) < 0)
			return -1;
	}
	return 0;
}

int
pg_report_calls(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *queue, int64_t now_ms,
                int (*fn)(void *, const struct cl_report_call *), void *arg, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int stop = 0;

	pgp_int(&p, from_ms);
	pgp_int(&p, until_ms);
	pgp_text(&p, queue);
	if ((r = pg_run((struct pg *)st, PG_REPORT_CALLS,
	                "SELECT offered_at, direction, queue, outcome, answered_at, ended_at, hold_ms, hold_since,"
	                " wrap_ms, transferred, disp_code, disp_agent FROM calls WHERE offered_at >= $1 AND"
	                " offered_at < $2 AND ($3::text IS NULL OR queue = $3::text)",
	                &p, "report calls", err)) == NULL)
		return -1;
	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		struct cl_report_call c = {
		    .offered_at = pg_int(r, i, 0),
		    .inbound = pg_int(r, i, 1) == CL_DIR_INBOUND,
		    .queue = pg_col(r, i, 2),
		    .wrap_ms = pg_int(r, i, 8),
		    .transferred = (int)pg_int(r, i, 9),
		    .disp_code = pg_col(r, i, 10),
		    .disp_agent = pg_col(r, i, 11),
		};
		if (cl_outcome_parse(pg_col(r, i, 3), &c.outcome) < 0)
			continue;
		cl_call_durations(c.offered_at, pg_int(r, i, 4), pg_int(r, i, 5), pg_int(r, i, 6), pg_int(r, i, 7),
		                  now_ms, &c.wait_ms, &c.talk_ms, &c.hold_ms);
		stop = fn(arg, &c);
	}
	PQclear(r);
	return stop;
}

int
pg_report_legs(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *agent,
               int (*fn)(void *, const struct cl_report_leg *), void *arg, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int stop = 0;

	pgp_int(&p, from_ms);
	pgp_int(&p, until_ms);
	pgp_text(&p, agent);
	if ((r = pg_run((struct pg *)st, PG_REPORT_LEGS,
	                "SELECT c.offered_at, c.queue, l.agent, l.rang, l.answered, l.talk_ms, l.hold_ms FROM calls c"
	                " JOIN call_legs l ON l.call_id = c.call_id WHERE c.offered_at >= $1 AND c.offered_at < $2"
	                " AND ($3::text IS NULL OR l.agent = $3::text)",
	                &p, "report legs", err)) == NULL)
		return -1;
	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		struct cl_report_leg l = {
		    .offered_at = pg_int(r, i, 0),
		    .queue = pg_col(r, i, 1),
		    .agent = pg_col(r, i, 2),
		    .rang = (int)pg_int(r, i, 3),
		    .answered = (int)pg_int(r, i, 4),
		    .talk_ms = pg_int(r, i, 5),
		    .hold_ms = pg_int(r, i, 6),
		};
		stop = fn(arg, &l);
	}
	PQclear(r);
	return stop;
}

/* Per agent: the last state before from_ms, then those in [from_ms, until_ms), by agent, time, insertion. */
int
pg_agent_states(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *agent,
                int (*fn)(void *, const struct cl_state_row *), void *arg, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int stop = 0;

	pgp_int(&p, from_ms);
	pgp_int(&p, until_ms);
	pgp_text(&p, agent);
	if ((r = pg_run((struct pg *)st, PG_STATES,
	                "SELECT s.agent, s.ts, s.state, s.reason FROM agent_states s WHERE ($3::text IS NULL OR"
	                " s.agent = $3::text) AND s.ts < $2 AND s.ts >= coalesce((SELECT max(b.ts) FROM agent_states b"
	                " WHERE b.agent = s.agent AND b.ts < $1), $1) ORDER BY s.agent, s.ts, s.rid",
	                &p, "agent states", err)) == NULL)
		return -1;
	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		struct cl_state_row s = {.agent = pg_col(r, i, 0),
		                         .ts = pg_int(r, i, 1),
		                         .state = pg_col(r, i, 2),
		                         .reason = pg_col(r, i, 3)};
		stop = fn(arg, &s);
	}
	PQclear(r);
	return stop;
}

int
pg_connected(struct cl_store *st, int64_t since_ms, int (*fn)(void *, const struct cl_connected_row *), void *arg,
             char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int stop = 0;

	pgp_int(&p, since_ms);
	if ((r = pg_run((struct pg *)st, PG_CONNECTED,
	                "SELECT call_id, agent, queue, last_answered_at FROM calls WHERE offered_at >= $1"
	                " AND ended_at = 0 AND answered_at > 0 AND agent <> '' ORDER BY offered_at",
	                &p, "connected calls", err)) == NULL)
		return -1;
	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		struct cl_connected_row c = {.call_id = pg_col(r, i, 0),
		                             .agent = pg_col(r, i, 1),
		                             .queue = pg_col(r, i, 2),
		                             .since = pg_int(r, i, 3)};
		stop = fn(arg, &c);
	}
	PQclear(r);
	return stop;
}
