/* pg_calls.c : the PostgreSQL backend's call records: read, write (with the
 * outcome computed in C), the call list, a caller's history, queue figures,
 * and purging in bounded transactions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "callogd/util.h"
#include "pg.h"

#define CALL_COLS                                                                                                      \
	"call_id, direction, from_num, to_num, number, queue, agent, agents, customer_id, has_offer, offered_at, "     \
	"answered_at, ended_at, hold_ms, hold_since, end_reason, end_by, disp_code, disp_agent, disp_at, "             \
	"disp_notes, data, last_seq, last_answered_at, wrap_ms, transferred"

#define PURGE_CHUNK 1000
#define PURGE_GAP_NS 5000000

/* Fills c from row i of CALL_COLS; -1 on out of memory. */
static int
row_to_call(const PGresult *r, int i, struct cl_call *c)
{
	memset(c, 0, sizeof(*c));
	pg_copy(c->call_id, sizeof(c->call_id), r, i, 0);
	c->direction = (int)pg_int(r, i, 1);
	pg_copy(c->from, sizeof(c->from), r, i, 2);
	pg_copy(c->to, sizeof(c->to), r, i, 3);
	pg_copy(c->number, sizeof(c->number), r, i, 4);
	pg_copy(c->queue, sizeof(c->queue), r, i, 5);
	pg_copy(c->agent, sizeof(c->agent), r, i, 6);
	cl_rows_agents(pg_col(r, i, 7), c);
	pg_copy(c->customer_id, sizeof(c->customer_id), r, i, 8);
	c->has_offer = (int)pg_int(r, i, 9);
	c->offered_at = pg_int(r, i, 10);
	c->answered_at = pg_int(r, i, 11);
	c->ended_at = pg_int(r, i, 12);
	c->hold_ms = pg_int(r, i, 13);
	c->hold_since = pg_int(r, i, 14);
	pg_copy(c->end_reason, sizeof(c->end_reason), r, i, 15);
	pg_copy(c->end_by, sizeof(c->end_by), r, i, 16);
	pg_copy(c->disp_code, sizeof(c->disp_code), r, i, 17);
	pg_copy(c->disp_agent, sizeof(c->disp_agent), r, i, 18);
	c->disp_at = pg_int(r, i, 19);
	if (!pg_null(r, i, 20) && (c->disp_notes = strdup(pg_col(r, i, 20))) == NULL)
		return -1;
	if (!pg_null(r, i, 21) && (c->data = strdup(pg_col(r, i, 21))) == NULL)
		return -1;
	c->last_seq = pg_int(r, i, 22);
	c->last_answered_at = pg_int(r, i, 23);
	c->wrap_ms = pg_int(r, i, 24);
	c->transferred = (int)pg_int(r, i, 25);
	return 0;
}

/* fn for each row of r (CALL_COLS) until it returns non-zero, which is returned; clears r. -1 on out of memory. */
static int
each_call(PGresult *r, int (*fn)(void *, const struct cl_call *), void *arg, char *err)
{
	int stop = 0;

	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		struct cl_call c;
		if (row_to_call(r, i, &c) < 0) {
			cl_call_clear(&c);
			snprintf(err, CL_ERR_LEN, "out of memory");
			stop = -1;
			break;
		}
		stop = fn(arg, &c);
		cl_call_clear(&c);
	}
	PQclear(r);
	return stop;
}

int
pg_get_call(struct cl_store *st, const char *call_id, struct cl_call *c, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int ret = 0;

	pgp_text(&p, call_id);
	if ((r = pg_run((struct pg *)st, PG_GET_CALL, "SELECT " CALL_COLS " FROM calls WHERE call_id = $1", &p,
	                "get call", err)) == NULL)
		return -1;
	if (PQntuples(r) == 1) {
		ret = 1;
		if (row_to_call(r, 0, c) < 0) {
			cl_call_clear(c);
			snprintf(err, CL_ERR_LEN, "out of memory");
			ret = -1;
		}
	}
	PQclear(r);
	return ret;
}

int
pg_put_call(struct cl_store *st, const struct cl_call *c, char *err)
{
	struct pg_params p = {0};
	char *aj = cl_rows_agents_json(c);
	int ret;

	if (aj == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	pgp_text(&p, c->call_id);
	pgp_int(&p, c->direction);
	pgp_text(&p, c->from);
	pgp_text(&p, c->to);
	pgp_text(&p, c->number);
	pgp_text(&p, c->queue);
	pgp_text(&p, c->agent);
	pgp_text(&p, aj);
	pgp_text(&p, c->customer_id[0] ? c->customer_id : NULL);
	pgp_int(&p, c->has_offer);
	pgp_int(&p, c->offered_at);
	pgp_int(&p, c->answered_at);
	pgp_int(&p, c->ended_at);
	pgp_int(&p, c->hold_ms);
	pgp_int(&p, c->hold_since);
	pgp_text(&p, c->end_reason);
	pgp_text(&p, c->end_by);
	pgp_text(&p, c->disp_code);
	pgp_text(&p, c->disp_agent);
	pgp_int(&p, c->disp_at);
	pgp_text(&p, c->disp_notes);
	pgp_text(&p, c->data);
	pgp_int(&p, c->last_seq);
	pgp_int(&p, c->last_answered_at);
	pgp_int(&p, c->wrap_ms);
	pgp_int(&p, c->transferred);
	pgp_text(&p, cl_outcome_name(cl_call_outcome(c)));
	/* A rewritten call moves to the end of its offer time's ties, as SQLite's REPLACE gives it a new rowid. */
	ret = pg_do_slot((struct pg *)st, PG_PUT_CALL,
	                 "INSERT INTO calls(" CALL_COLS ", outcome) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,"
	                 "$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27) ON CONFLICT (call_id) DO UPDATE SET"
	                 " rid = nextval('calls_rid'), direction = $2, from_num = $3, to_num = $4, number = $5,"
	                 " queue = $6, agent = $7, agents = $8, customer_id = $9, has_offer = $10, offered_at = $11,"
	                 " answered_at = $12, ended_at = $13, hold_ms = $14, hold_since = $15, end_reason = $16,"
	                 " end_by = $17, disp_code = $18, disp_agent = $19, disp_at = $20, disp_notes = $21,"
	                 " data = $22, last_seq = $23, last_answered_at = $24, wrap_ms = $25, transferred = $26,"
	                 " outcome = $27",
	                 &p, "put call", err);
	free(aj);
	return ret;
}

int
pg_list_calls(struct cl_store *st, const struct cl_call_filter *f, int (*fn)(void *, const struct cl_call *), void *arg,
              char *err)
{
	struct pg_params p = {0};
	char sql[1400];
	int n = 0;
	PGresult *r;

#define NEXT (++n)
	/* Built in the order the parameters are added below. */
	snprintf(sql, sizeof(sql), "SELECT " CALL_COLS " FROM calls WHERE true");
	if (f->since) {
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), " AND offered_at >= $%d", NEXT);
		pgp_int(&p, f->since);
	}
	if (f->until) {
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), " AND offered_at < $%d", NEXT);
		pgp_int(&p, f->until);
	}
	if (f->agent) {
		n++;
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), " AND (agent = $%d OR agents::jsonb ? $%d)", n,
		         n);
		pgp_text(&p, f->agent);
	}
	if (f->queue) {
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), " AND queue = $%d", NEXT);
		pgp_text(&p, f->queue);
	}
	if (f->number) {
		n++;
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql),
		         " AND (number = $%d OR from_num = $%d OR to_num = $%d)", n, n, n);
		pgp_text(&p, f->number);
	}
	if (f->before) {
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql),
		         " AND (offered_at, rid) < (SELECT offered_at, rid FROM calls WHERE call_id = $%d)", NEXT);
		pgp_text(&p, f->before);
	}
	snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), " ORDER BY offered_at DESC, rid DESC LIMIT $%d", NEXT);
	pgp_int(&p, f->limit);
#undef NEXT
	if ((r = pg_exec((struct pg *)st, sql, &p, "list calls", err)) == NULL)
		return -1;
	return each_call(r, fn, arg, err);
}

#define HISTORY_COLS                                                                                                   \
	"call_id, offered_at, agent, outcome, disp_code, disp_notes, queue, answered_at, ended_at,"                    \
	" (SELECT name FROM agents WHERE agents.id = calls.agent) FROM calls"
#define HISTORY_END " AND call_id IS DISTINCT FROM $2::text ORDER BY offered_at DESC LIMIT $3"

int
pg_history(struct cl_store *st, const char *customer_id, const char *number, const char *exclude, int max,
           int (*fn)(void *, const struct cl_history_row *), void *arg, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int stop = 0;

	pgp_text(&p, customer_id ? customer_id : number);
	pgp_text(&p, exclude);
	pgp_int(&p, max);
	/* One statement each, so each plan uses its index. */
	r = customer_id ? pg_run((struct pg *)st, PG_HISTORY,
	                         "SELECT " HISTORY_COLS " WHERE customer_id = $1" HISTORY_END, &p, "call history", err)
	                : pg_run((struct pg *)st, PG_HISTORY_NUMBER,
	                         "SELECT " HISTORY_COLS " WHERE number = $1" HISTORY_END, &p, "call history", err);
	if (r == NULL)
		return -1;
	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		struct cl_history_row h = {
		    .call_id = pg_col(r, i, 0),
		    .offered_at = pg_int(r, i, 1),
		    .agent = pg_col(r, i, 2),
		    .disp_code = pg_col(r, i, 4),
		    .disp_notes = pg_null(r, i, 5) ? NULL : pg_col(r, i, 5),
		    .queue = pg_col(r, i, 6),
		    .agent_name = pg_col(r, i, 9),
		};
		int64_t ans = pg_int(r, i, 7), end = pg_int(r, i, 8);
		h.duration_ms = ans > 0 && end >= ans ? end - ans : -1;
		if (cl_outcome_parse(pg_col(r, i, 3), &h.outcome) < 0)
			h.outcome = CL_OUTCOME_ACTIVE;
		stop = fn(arg, &h);
	}
	PQclear(r);
	return stop;
}

int
pg_queue_stats(struct cl_store *st, const char *queue, int64_t from_ms, int64_t now_ms, int64_t sla_ms,
               int (*fn)(void *, const struct cl_queue_stats *), void *arg, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int stop = 0;

	pgp_int(&p, now_ms);
	pgp_int(&p, from_ms);
	pgp_int(&p, sla_ms);
	pgp_text(&p, queue);
	if ((r = pg_run((struct pg *)st, PG_STATS,
	                "SELECT queue, count(*),"
	                " count(*) FILTER (WHERE ended_at = 0 AND answered_at = 0),"
	                " max(CASE WHEN ended_at = 0 AND answered_at = 0 THEN $1::bigint - offered_at END),"
	                " count(*) FILTER (WHERE answered_at > 0),"
	                " count(*) FILTER (WHERE outcome = 'abandoned'),"
	                " trunc(avg(CASE WHEN answered_at > 0 THEN answered_at - offered_at END)),"
	                " count(*) FILTER (WHERE answered_at > 0 AND answered_at - offered_at <= $3::bigint)"
	                " FROM calls WHERE offered_at >= $2 AND ($4::text IS NULL OR queue = $4::text)"
	                " GROUP BY queue ORDER BY queue",
	                &p, "queue figures", err)) == NULL)
		return -1;
	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		struct cl_queue_stats q = {
		    .queue = pg_col(r, i, 0),
		    .offered = pg_int(r, i, 1),
		    .waiting = pg_int(r, i, 2),
		    .longest_wait_ms = pg_int(r, i, 3),
		    .answered = pg_int(r, i, 4),
		    .abandoned = pg_int(r, i, 5),
		    .has_average = !pg_null(r, i, 6),
		    .average_wait_ms = pg_int(r, i, 6),
		    .answered_within_sla = pg_int(r, i, 7),
		};
		stop = fn(arg, &q);
	}
	PQclear(r);
	return stop;
}

/* One transaction: deletes up to PURGE_CHUNK calls ended before before_ms; their count, or -1. */
static int
purge_chunk(struct pg *g, int64_t before_ms, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int n;

	pgp_int(&p, before_ms);
	pgp_int(&p, PURGE_CHUNK);
	if (pg_begin(&g->base, err) < 0)
		return -1;
	/* Other nodes' writers drop their caches, as the purged calls may be in them. */
	if (pg_bump(g, err) < 0 ||
	    pg_do(
	        g,
	        "CREATE TEMP TABLE IF NOT EXISTS purging(call_id TEXT COLLATE \"C\" PRIMARY KEY) ON COMMIT DELETE ROWS",
	        NULL, "purge", err) < 0 ||
	    (r = pg_exec(g,
	                 "INSERT INTO purging SELECT call_id FROM calls WHERE ended_at > 0 AND ended_at < $1 AND "
	                 "offered_at < $1"
	                 " LIMIT $2",
	                 &p, "purge", err)) == NULL)
		goto fail;
	n = atoi(PQcmdTuples(r));
	PQclear(r);
	if (pg_do(g, "DELETE FROM events WHERE call_id IN (SELECT call_id FROM purging)", NULL, "purge events", err) <
	        0 ||
	    pg_do(g, "DELETE FROM call_marks WHERE call_id IN (SELECT call_id FROM purging)", NULL, "purge marks",
	          err) < 0 ||
	    pg_do(g, "DELETE FROM call_legs WHERE call_id IN (SELECT call_id FROM purging)", NULL, "purge legs", err) <
	        0 ||
	    pg_do(g, "DELETE FROM calls WHERE call_id IN (SELECT call_id FROM purging)", NULL, "purge calls", err) <
	        0 ||
	    pg_commit(&g->base, err) < 0)
		goto fail;
	return n;
fail:
	pg_rollback(&g->base);
	return -1;
}

/* Agents' states before before_ms, each agent's last one kept (it still holds then); their count, or -1. */
static int
purge_states(struct pg *g, int64_t before_ms, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int n;

	pgp_int(&p, before_ms);
	pgp_int(&p, PURGE_CHUNK);
	if (pg_begin(&g->base, err) < 0 ||
	    (r = pg_exec(g,
	                 "DELETE FROM agent_states WHERE rid IN (SELECT a.rid FROM agent_states a WHERE a.ts < $1 AND"
	                 " EXISTS (SELECT 1 FROM agent_states b WHERE b.agent = a.agent AND b.ts < $1 AND (b.ts > a.ts"
	                 " OR (b.ts = a.ts AND b.rid > a.rid))) LIMIT $2)",
	                 &p, "purge states", err)) == NULL)
		goto fail;
	n = atoi(PQcmdTuples(r));
	PQclear(r);
	if (pg_commit(&g->base, err) < 0)
		goto fail;
	return n;
fail:
	pg_rollback(&g->base);
	return -1;
}

int
pg_purge(struct cl_store *st, int64_t before_ms, int64_t *ncalls, char *err)
{
	struct timespec gap = {0, PURGE_GAP_NS};
	int n;

	while ((n = purge_chunk((struct pg *)st, before_ms, err)) == PURGE_CHUNK) {
		*ncalls += n;
		nanosleep(&gap, NULL);
	}
	if (n < 0)
		return -1;
	*ncalls += n;
	while ((n = purge_states((struct pg *)st, before_ms, err)) == PURGE_CHUNK)
		nanosleep(&gap, NULL);
	return n < 0 ? -1 : 0;
}
