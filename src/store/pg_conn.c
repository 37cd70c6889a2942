/* pg_conn.c : owns the PostgreSQL backend's connection to the server: connecting
 * and reconnecting with backoff, statements (prepared once per connection) and
 * their parameters and results, and the pipeline a write transaction sends its
 * statements through, so that one round trip carries many of them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/util.h"
#include "pg.h"

#define BACKOFF_MIN_US 100000
#define BACKOFF_MAX_US 2000000

/* ---- parameters and results ---- */

void
pgp_text(struct pg_params *p, const char *v)
{
	pgp_textn(p, v, v ? strlen(v) : 0);
}

void
pgp_textn(struct pg_params *p, const char *v, size_t n)
{
	if (p->n >= PG_MAX_PARAMS)
		return;
	/* Text goes in binary format: its bytes as they are, no terminator needed. */
	p->v[p->n] = v;
	p->len[p->n] = (int)n;
	p->n++;
}

void
pgp_int(struct pg_params *p, int64_t v)
{
	if (p->n >= PG_MAX_PARAMS)
		return;
	snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", (long long)v);
	p->v[p->n] = p->num[p->n];
	p->len[p->n] = -1; /* text format */
	p->n++;
}

const char *
pg_col(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

int64_t
pg_int(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int
pg_null(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col);
}

void
pg_copy(char *dst, size_t len, const PGresult *r, int row, int col)
{
	snprintf(dst, len, "%s", pg_col(r, row, col));
}

/* ---- the connection ---- */

/* PostgreSQL's message on one line: "what: message". */
static void
fail_text(const char *what, const char *msg, char *err)
{
	size_t n;

	snprintf(err, CL_ERR_LEN, "%s: %s", what, msg && msg[0] ? msg : "unknown error");
	n = strlen(err);
	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
	for (char *c = err; *c; c++)
		if (*c == '\n' || *c == '"')
			*c = *c == '"' ? '\'' : ' ';
}

static void
quiet(void *arg, const char *msg)
{
	(void)arg; /* notices ("relation exists, skipping") are not errors; leaf modules never log */
	(void)msg;
}

static int set_node(struct pg *g, char *err);

int
pg_connect(struct pg *g, char *err)
{
	/* Ours first: the connection string's own settings override them. */
	const char *keys[] = {"connect_timeout",
	                      "keepalives_idle",
	                      "keepalives_interval",
	                      "keepalives_count",
	                      "application_name",
	                      "dbname",
	                      NULL};
	const char *vals[] = {"3", "5", "2", "2", "callogd", g->where, NULL};
	PGcancel *c;

	if (g->conn != NULL)
		PQfinish(g->conn);
	memset(g->prepared, 0, sizeof(g->prepared));
	g->piped = 0;
	g->npend = 0;
	g->locked = 0;
	g->nested_reads = 0;
	g->conn = PQconnectdbParams(keys, vals, 1);
	if (g->conn == NULL) {
		snprintf(err, CL_ERR_LEN, "PostgreSQL: out of memory");
		return -1;
	}
	if (PQstatus(g->conn) != CONNECTION_OK) {
		fail_text("PostgreSQL", PQerrorMessage(g->conn), err);
		return -1;
	}
	(void)PQsetNoticeProcessor(g->conn, quiet, NULL);
	c = PQgetCancel(g->conn);
	pthread_mutex_lock(&g->cancel_mtx);
	if (g->cancel)
		PQfreeCancel(g->cancel);
	g->cancel = c;
	pthread_mutex_unlock(&g->cancel_mtx);
	if (g->readonly)
		return pg_do(g, "SET default_transaction_read_only = on", NULL, "set-up", err);
	return set_node(g, err);
}

/* The session's node name: events stored on it are marked with it (events.node). */
static int
set_node(struct pg *g, char *err)
{
	struct pg_params p = {0};

	pgp_text(&p, cl_store_node());
	return pg_do(g, "SELECT set_config('callogd.node', $1, false)", &p, "set-up", err);
}

/*
 * A lost connection is reopened, at most once per backoff step; -1 while it
 * cannot be. Never inside a transaction: what it did is gone with the
 * connection, so every statement fails until the caller rolls back.
 */
static int
ensure(struct pg *g, char *err)
{
	int64_t now;

	if (g->conn != NULL && PQstatus(g->conn) == CONNECTION_OK)
		return 0;
	if (g->txn) {
		snprintf(err, CL_ERR_LEN, "PostgreSQL: the connection was lost in the transaction");
		return -1;
	}
	now = cl_mono_us();
	if (now < g->retry_at) {
		snprintf(err, CL_ERR_LEN, "PostgreSQL unreachable (retrying)");
		return -1;
	}
	if (pg_connect(g, err) == 0) {
		g->backoff_us = 0;
		return 0;
	}
	g->backoff_us = g->backoff_us ? g->backoff_us * 2 : BACKOFF_MIN_US;
	if (g->backoff_us > BACKOFF_MAX_US)
		g->backoff_us = BACKOFF_MAX_US;
	g->retry_at = now + g->backoff_us;
	return -1;
}

/* The first error of r as "what: message". */
static void
result_error(struct pg *g, const PGresult *r, const char *what, char *err)
{
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	fail_text(what, m ? m : r ? PQresultErrorMessage(r) : PQerrorMessage(g->conn), err);
}

/* Checks r; NULL (r cleared) with err on failure. */
static PGresult *
checked(struct pg *g, PGresult *r, const char *what, char *err)
{
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return r;
	result_error(g, r, what, err);
	PQclear(r);
	return NULL;
}

static int
nparams(const struct pg_params *p, int *fmt)
{
	for (int i = 0; p && i < p->n; i++)
		fmt[i] = p->len[i] >= 0;
	return p ? p->n : 0;
}

/* ---- the pipeline ---- */

enum { P_DISCARD, P_WANT, P_EVENT, P_PREPARE }; /* what a pending result is: kind | slot << 4 */

int
pg_pipe_start(struct pg *g, char *err)
{
	if (ensure(g, err) < 0)
		return -1;
	if (g->piped)
		return 0;
	if (!PQenterPipelineMode(g->conn)) {
		fail_text("pipeline", PQerrorMessage(g->conn), err);
		return -1;
	}
	g->piped = 1;
	g->npend = 0;
	return 0;
}

static int
push(struct pg *g, int kind, int slot)
{
	g->pend[g->npend++] = kind | slot << 4;
	return 0;
}

/* Sends one statement down the pipeline (preparing it first, if need be). */
static int
send_one(struct pg *g, int slot, const char *sql, const struct pg_params *p, int kind, const char *what, char *err)
{
	char name[16];
	int fmt[PG_MAX_PARAMS], n = nparams(p, fmt), ok;

	if (ensure(g, err) < 0)
		return -1;
	if (slot < 0) {
		ok = PQsendQueryParams(g->conn, sql, n, NULL, p ? p->v : NULL, p ? p->len : NULL, fmt, 0);
	} else {
		snprintf(name, sizeof(name), "s%d", slot);
		if (!g->prepared[slot]) {
			if (!PQsendPrepare(g->conn, name, sql, 0, NULL)) {
				fail_text(what, PQerrorMessage(g->conn), err);
				return -1;
			}
			push(g, P_PREPARE, slot);
			g->prepared[slot] = 1;
		}
		ok = PQsendQueryPrepared(g->conn, name, n, p ? p->v : NULL, p ? p->len : NULL, fmt, 0);
	}
	if (!ok) {
		fail_text(what, PQerrorMessage(g->conn), err);
		return -1;
	}
	return push(g, kind, slot < 0 ? 0 : slot);
}

/*
 * Reads the results of everything sent since the last sync. The last
 * statement's result goes to *last when it is not NULL. The first error
 * found is the one reported; the statements after it were skipped.
 */
static int
drain(struct pg *g, PGresult **last, char *err)
{
	int failed = 0, n = g->npend;
	PGresult *r;

	g->npend = 0;
	if (!PQpipelineSync(g->conn)) {
		fail_text("pipeline", PQerrorMessage(g->conn), err);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int kind = g->pend[i] & 15, slot = g->pend[i] >> 4;
		ExecStatusType s;
		if ((r = PQgetResult(g->conn)) == NULL) {
			if (!failed)
				fail_text("pipeline", PQerrorMessage(g->conn), err);
			return -1;
		}
		s = PQresultStatus(r);
		if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
			/* An id stored by another connection after its probe: the producer is told to send again. */
			if (kind == P_EVENT && PQntuples(r) != 1 && !failed) {
				snprintf(err, CL_ERR_LEN, "insert event: its id was stored meanwhile by another node");
				failed = 1;
			}
			if (last != NULL && i == n - 1)
				*last = r;
			else
				PQclear(r);
		} else {
			if (s != PGRES_PIPELINE_ABORTED && !failed) {
				result_error(g, r, "pipeline", err);
				failed = 1;
			}
			if (kind == P_PREPARE)
				g->prepared[slot] = 0;
			PQclear(r);
		}
		while ((r = PQgetResult(g->conn)) != NULL) /* the NULL that ends each statement's results */
			PQclear(r);
	}
	r = PQgetResult(g->conn);
	if (r == NULL || PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
		if (!failed)
			fail_text("pipeline", PQerrorMessage(g->conn), err);
		failed = 1;
	}
	PQclear(r);
	if (failed && last != NULL && *last != NULL) {
		PQclear(*last);
		*last = NULL;
	}
	return failed ? -1 : 0;
}

/* Queues a statement whose result is not needed; a long queue is drained first (no deadlock on full buffers). */
static int
queue(struct pg *g, int slot, const char *sql, const struct pg_params *p, int kind, const char *what, char *err)
{
	if (g->npend + 2 > PG_PIPE_MAX && drain(g, NULL, err) < 0)
		return -1;
	return send_one(g, slot, sql, p, kind, what, err);
}

int
pg_queue_event(struct pg *g, int slot, const char *sql, const struct pg_params *p, char *err)
{
	return queue(g, slot, sql, p, P_EVENT, "insert event", err);
}

int
pg_pipe_end(struct pg *g, char *err)
{
	int rc = 0;

	if (!g->piped)
		return 0;
	if (g->npend > 0)
		rc = drain(g, NULL, err);
	if (!PQexitPipelineMode(g->conn) && rc == 0) {
		fail_text("pipeline", PQerrorMessage(g->conn), err);
		rc = -1;
	}
	g->piped = 0;
	return rc;
}

void
pg_pipe_abort(struct pg *g)
{
	char err[CL_ERR_LEN];

	if (!g->piped)
		return;
	if (PQstatus(g->conn) == CONNECTION_OK) {
		if (g->npend > 0)
			(void)drain(g, NULL, err);
		(void)PQexitPipelineMode(g->conn);
	}
	g->npend = 0;
	g->piped = 0;
}

/* A statement and its result: through the pipeline (one round trip for all queued) when it is on. */
static PGresult *
run(struct pg *g, int slot, const char *sql, const struct pg_params *p, const char *what, char *err)
{
	PGresult *r = NULL;

	if (g->piped) {
		if (queue(g, slot, sql, p, P_WANT, what, err) < 0 || drain(g, &r, err) < 0)
			return NULL;
		return r;
	}
	if (ensure(g, err) < 0)
		return NULL;
	if (slot >= 0 && !g->prepared[slot]) {
		char name[16];
		snprintf(name, sizeof(name), "s%d", slot);
		if ((r = checked(g, PQprepare(g->conn, name, sql, 0, NULL), what, err)) == NULL)
			return NULL;
		PQclear(r);
		g->prepared[slot] = 1;
	}
	if (slot >= 0) {
		char name[16];
		int fmt[PG_MAX_PARAMS], n = nparams(p, fmt);
		snprintf(name, sizeof(name), "s%d", slot);
		return checked(g, PQexecPrepared(g->conn, name, n, p ? p->v : NULL, p ? p->len : NULL, fmt, 0), what,
		               err);
	}
	if (p == NULL || p->n == 0)
		return checked(g, PQexec(g->conn, sql), what, err);
	{
		int fmt[PG_MAX_PARAMS], n = nparams(p, fmt);
		return checked(g, PQexecParams(g->conn, sql, n, NULL, p->v, p->len, fmt, 0), what, err);
	}
}

PGresult *
pg_run(struct pg *g, int slot, const char *sql, const struct pg_params *p, const char *what, char *err)
{
	return run(g, slot, sql, p, what, err);
}

PGresult *
pg_exec(struct pg *g, const char *sql, const struct pg_params *p, const char *what, char *err)
{
	return run(g, -1, sql, p, what, err);
}

int
pg_do(struct pg *g, const char *sql, const struct pg_params *p, const char *what, char *err)
{
	PGresult *r;

	if (g->piped)
		return queue(g, -1, sql, p, P_DISCARD, what, err);
	r = run(g, -1, sql, p, what, err);
	PQclear(r);
	return r ? 0 : -1;
}

int
pg_do_slot(struct pg *g, int slot, const char *sql, const struct pg_params *p, const char *what, char *err)
{
	PGresult *r;

	if (g->piped)
		return queue(g, slot, sql, p, P_DISCARD, what, err);
	r = run(g, slot, sql, p, what, err);
	PQclear(r);
	return r ? 0 : -1;
}
