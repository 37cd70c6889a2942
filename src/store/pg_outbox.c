/* pg_outbox.c : owns the PostgreSQL backend's webhook outbox (store.h): deliveries
 * journaled in the writer's transactions, picked when due, their tries recorded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

#define ROW_COLUMNS                                                                                                    \
	"id, delivery_id, body_id, hook, call_id, type, call, revision, state, attempts, last_status, created_at,"     \
	" due_at, expires_at, last_at, last_error"

/* fn for each row of r (ROW_COLUMNS) until it returns non-zero, which is returned; clears r. */
static int
each_row(PGresult *r, int (*fn)(void *, const struct cl_outbox_row *), void *arg)
{
	int stop = 0;

	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		struct cl_outbox_row o = {
		    .id = pg_int(r, i, 0),
		    .delivery_id = pg_col(r, i, 1),
		    .body_id = pg_col(r, i, 2),
		    .hook = pg_col(r, i, 3),
		    .call_id = pg_col(r, i, 4),
		    .type = pg_col(r, i, 5),
		    .call = pg_col(r, i, 6),
		    .revision = (int)pg_int(r, i, 7),
		    .state = (int)pg_int(r, i, 8),
		    .attempts = (int)pg_int(r, i, 9),
		    .last_status = (int)pg_int(r, i, 10),
		    .created_ms = pg_int(r, i, 11),
		    .due_ms = pg_int(r, i, 12),
		    .expires_ms = pg_int(r, i, 13),
		    .last_ms = pg_int(r, i, 14),
		    .last_error = pg_col(r, i, 15),
		};
		stop = fn(arg, &o);
	}
	PQclear(r);
	return stop;
}

static int
insert(struct pg *g, const struct cl_outbox_put *p, int revision, char *err)
{
	struct pg_params q = {0};

	pgp_text(&q, p->body_id);
	pgp_int(&q, revision);
	pgp_text(&q, p->hook);
	pgp_text(&q, p->call_id);
	pgp_text(&q, p->type);
	pgp_text(&q, p->call);
	pgp_int(&q, p->now_ms);
	pgp_int(&q, p->due_ms);
	pgp_int(&q, CL_OUTBOX_TTL_MS);
	return pg_do_slot(g, PG_OB_INSERT,
	                  "INSERT INTO webhook_outbox(delivery_id, body_id, hook, call_id, type, revision, call, state,"
	                  " created_at, due_at, expires_at) VALUES($1::text || '-' || $2::int, $1, $3, $4, $5, $2, $6,"
	                  " 0, $7, $8, $8::bigint + $9::bigint)",
	                  &q, "outbox insert", err) < 0
	           ? -1
	           : 1;
}

int
pg_outbox_put(struct cl_store *st, const struct cl_outbox_put *p, char *err)
{
	struct pg *g = (struct pg *)st;
	struct pg_params q = {0};
	PGresult *r;
	int revision, state, same;
	int64_t id, due;

	pgp_text(&q, p->hook);
	pgp_text(&q, p->call_id);
	pgp_text(&q, p->type);
	pgp_text(&q, p->call);
	if ((r = pg_run(g, PG_OB_LATEST,
	                "SELECT id, revision, state, call = $4, due_at FROM webhook_outbox WHERE hook = $1 AND"
	                " call_id = $2 AND type = $3 ORDER BY revision DESC LIMIT 1",
	                &q, "outbox latest", err)) == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return insert(g, p, 1, err);
	}
	id = pg_int(r, 0, 0);
	revision = (int)pg_int(r, 0, 1);
	state = (int)pg_int(r, 0, 2);
	same = pg_col(r, 0, 3)[0] == 't';
	due = pg_int(r, 0, 4);
	PQclear(r);
	if (p->once || (same && (state != CL_OUTBOX_HELD || due == p->due_ms)))
		return 0;
	if (state != CL_OUTBOX_HELD)
		return insert(g, p, revision + 1, err);
	struct pg_params u = {0};
	pgp_int(&u, id);
	pgp_text(&u, p->call);
	pgp_int(&u, p->due_ms);
	pgp_int(&u, CL_OUTBOX_TTL_MS);
	return pg_do_slot(g, PG_OB_UPDATE,
	                  "UPDATE webhook_outbox SET call = $2, due_at = $3, expires_at = $3::bigint + $4::bigint"
	                  " WHERE id = $1",
	                  &u, "outbox update", err) < 0
	           ? -1
	           : 1;
}

int
pg_outbox_due(struct cl_store *st, const char *hook, int64_t now_ms, int max,
              int (*fn)(void *, const struct cl_outbox_row *), void *arg, int64_t *open, char *err)
{
	/* Promoting and picking in one transaction: the writer's in-place change of a HELD
	 * delivery (cl_store_outbox_put) is either before it or sees it PENDING. */
	struct pg *g = (struct pg *)st;
	struct pg_params p = {0}, d = {0};
	int own = !g->txn, ret;
	PGresult *r;

	pgp_text(&p, hook);
	pgp_int(&p, now_ms);
	pgp_text(&d, hook);
	pgp_int(&d, now_ms);
	pgp_int(&d, max);
	if (own && pg_begin(st, err) < 0)
		return -1;
	if (pg_do_slot(g, PG_OB_PROMOTE,
	               "UPDATE webhook_outbox SET state = 1 WHERE hook = $1 AND state = 0 AND due_at <= $2", &p,
	               "outbox promote", err) < 0 ||
	    (r = pg_run(g, PG_OB_DUE,
	                "SELECT " ROW_COLUMNS " FROM webhook_outbox AS o WHERE hook = $1 AND state = 1 AND due_at <= $2"
	                " AND NOT EXISTS (SELECT 1 FROM webhook_outbox AS e WHERE e.hook = o.hook AND e.call_id ="
	                " o.call_id AND e.state < 2 AND e.id < o.id) ORDER BY due_at, id LIMIT $3",
	                &d, "outbox due", err)) == NULL)
		goto fail;
	ret = each_row(r, fn, arg);
	if (open != NULL) {
		if ((r = pg_run(g, PG_OB_COUNT, "SELECT count(*) FROM webhook_outbox WHERE state < 2", NULL,
		                "outbox count", err)) == NULL)
			goto fail;
		*open = pg_int(r, 0, 0);
		PQclear(r);
	}
	if (own && pg_commit(st, err) < 0)
		goto fail;
	return ret;
fail:
	if (own)
		pg_rollback(st);
	return -1;
}

int
pg_outbox_result(struct cl_store *st, int64_t id, int state, int64_t due_ms, int status, const char *error,
                 int64_t now_ms, char *err)
{
	struct pg_params p = {0};

	pgp_int(&p, id);
	pgp_int(&p, state);
	pgp_int(&p, due_ms);
	pgp_int(&p, status);
	pgp_text(&p, error ? error : "");
	pgp_int(&p, now_ms);
	return pg_do_slot(
	    (struct pg *)st, PG_OB_RESULT,
	    "UPDATE webhook_outbox SET state = $2, due_at = $3, attempts = attempts + 1, last_status = $4,"
	    " last_error = $5, last_at = $6 WHERE id = $1",
	    &p, "outbox result", err);
}

int
pg_outbox_list(struct cl_store *st, int max, int (*fn)(void *, const struct cl_outbox_row *), void *arg, char *err)
{
	struct pg_params p = {0};
	PGresult *r;

	pgp_int(&p, max);
	if ((r = pg_exec((struct pg *)st,
	                 "SELECT " ROW_COLUMNS " FROM webhook_outbox WHERE state IN (0, 1, 3) ORDER BY id LIMIT $1", &p,
	                 "outbox list", err)) == NULL)
		return -1;
	return each_row(r, fn, arg);
}

int
pg_outbox_retry(struct cl_store *st, const char *delivery_id, int64_t now_ms, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int n;

	pgp_text(&p, delivery_id);
	pgp_int(&p, now_ms);
	pgp_int(&p, CL_OUTBOX_TTL_MS);
	if ((r = pg_exec((struct pg *)st,
	                 "UPDATE webhook_outbox SET state = 1, due_at = $2, expires_at = $2::bigint + $3::bigint"
	                 " WHERE delivery_id = $1",
	                 &p, "outbox retry", err)) == NULL)
		return -1;
	n = atoi(PQcmdTuples(r));
	PQclear(r);
	return n > 0 ? 1 : 0;
}
