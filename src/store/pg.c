/* pg.c : owns the PostgreSQL backend's connection: opening and reopening it,
 * the schema and its migrations (schema_pg.sql), transactions, the event log
 * with the cluster-wide seq, daemon secrets and revoked sessions, and the
 * operations table. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/util.h"
#include "pg.h"

extern const char cl_pg_schema[]; /* schema_pg.sql, embedded by the build */

#define MIGRATE_LOCK "7467105938120" /* pg_advisory_xact_lock key: one migration at a time */

/* ---- schema ---- */

static int
schema_version(struct pg *g, int *v, char *err)
{
	PGresult *r = pg_exec(g, "SELECT version FROM callogd_schema", NULL, "schema version", err);

	if (r == NULL)
		return -1;
	*v = PQntuples(r) > 0 ? (int)pg_int(r, 0, 0) : 0;
	PQclear(r);
	return 0;
}

static int
ensure_secret(struct pg *g, const char *name, char *err)
{
	unsigned char key[32];
	char hex[65];
	struct pg_params p = {0};

	if (cl_random_bytes(key, sizeof(key)) < 0) {
		snprintf(err, CL_ERR_LEN, "no randomness available");
		return -1;
	}
	for (size_t i = 0; i < sizeof(key); i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	pgp_text(&p, name);
	pgp_text(&p, hex);
	return pg_do(g, "INSERT INTO secrets(name, value) VALUES($1, decode($2, 'hex')) ON CONFLICT DO NOTHING", &p,
	             "secret", err);
}

static int
migrate(struct pg *g, char *err)
{
	char *text = NULL;
	int v, latest = cl_schema_latest(cl_pg_schema);

	/* Not pipelined: the schema's sections are many statements each. */
	if (pg_do(g, "BEGIN", NULL, "begin", err) < 0 || (g->txn = 1) != 1 ||
	    pg_do(g, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", NULL, "schema lock", err) < 0 ||
	    pg_do(g, "CREATE TABLE IF NOT EXISTS callogd_schema(version INTEGER NOT NULL)", NULL, "schema", err) < 0 ||
	    schema_version(g, &v, err) < 0)
		goto fail;
	if (v > latest) {
		snprintf(err, CL_ERR_LEN, "database schema version %d is newer than this callogd knows (%d)", v,
		         latest);
		goto fail;
	}
	for (; v < latest; v++) {
		size_t len;
		const char *sec = cl_schema_section(cl_pg_schema, v + 1, &len);
		struct pg_params p = {0};
		if ((text = cl_strndup(sec, len)) == NULL) {
			snprintf(err, CL_ERR_LEN, "out of memory");
			goto fail;
		}
		if (pg_do(g, text, NULL, "schema", err) < 0)
			goto fail;
		free(text);
		text = NULL;
		pgp_int(&p, v + 1);
		if (pg_do(g,
		          v == 0 ? "INSERT INTO callogd_schema(version) VALUES($1)"
		                 : "UPDATE callogd_schema SET version = $1",
		          &p, "schema version", err) < 0)
			goto fail;
	}
	if (ensure_secret(g, "session_key", err) < 0)
		goto fail;
	return pg_commit(&g->base, err);
fail:
	free(text);
	pg_rollback(&g->base);
	return -1;
}

/* ---- open, close ---- */

static void pg_close(struct cl_store *st);
static const struct cl_store_ops pg_ops;

static int
claims(const char *where)
{
	return strncmp(where, "postgresql://", 13) == 0 || strncmp(where, "postgres://", 11) == 0;
}

static struct cl_store *
pg_open(const char *where, int flags, char *err)
{
	struct pg *g = calloc(1, sizeof(*g));
	char why[CL_ERR_LEN];
	int v;

	if (g == NULL || (g->where = strdup(where)) == NULL) {
		free(g);
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	g->base.ops = &pg_ops;
	g->readonly = (flags & CL_STORE_READONLY) != 0;
	pthread_mutex_init(&g->cancel_mtx, NULL);
	if (pg_connect(g, why) < 0)
		goto named;
	if (g->readonly) {
		if (schema_version(g, &v, why) < 0)
			goto named;
		if (v != cl_schema_latest(cl_pg_schema)) {
			snprintf(err, CL_ERR_LEN, "database has schema version %d, expected %d", v,
			         cl_schema_latest(cl_pg_schema));
			goto fail;
		}
	} else if (migrate(g, why) < 0) {
		goto named;
	}
	return &g->base;
named:
	/* Never the connection string itself: it may hold a password. */
	snprintf(err, CL_ERR_LEN, "database (PostgreSQL): %.200s", why);
fail:
	pg_close(&g->base);
	return NULL;
}

static void
pg_close(struct cl_store *st)
{
	struct pg *g = (struct pg *)st;

	if (g->cancel)
		PQfreeCancel(g->cancel);
	if (g->conn)
		PQfinish(g->conn);
	pthread_mutex_destroy(&g->cancel_mtx);
	free(g->where);
	free(g);
}

const struct cl_store_backend cl_store_pg = {claims, pg_open};

/* ---- transactions ---- */

static int
in_txn(struct pg *g)
{
	return g->txn ||
	       (g->conn != NULL && PQstatus(g->conn) == CONNECTION_OK && PQtransactionStatus(g->conn) != PQTRANS_IDLE);
}

/* A write transaction runs in a pipeline: its writes go out without waiting for their results. */
int
pg_begin(struct cl_store *st, char *err)
{
	struct pg *g = (struct pg *)st;

	if (in_txn(g)) {
		snprintf(err, CL_ERR_LEN, "begin: a transaction is already open");
		return -1;
	}
	g->locked = 0;
	if (pg_pipe_start(g, err) < 0)
		return -1;
	g->txn = 1;
	if (pg_do(g, "BEGIN", NULL, "begin", err) < 0) {
		pg_rollback(st);
		return -1;
	}
	return 0;
}

/*
 * The cluster row is the lock every transaction that writes events takes (at
 * its first event, or when the writer asks whether its cache is stale): seq
 * order is then commit order on every node, and one call's record is never
 * read and written by two nodes at once.
 */
static int
lock_cluster(struct pg *g, char *err)
{
	PGresult *r;

	if (g->locked)
		return 0;
	if ((r = pg_run(g, PG_LOCK, "SELECT last_seq, gen FROM cluster WHERE id = 1 FOR UPDATE", NULL, "cluster lock",
	                err)) == NULL)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		snprintf(err, CL_ERR_LEN, "cluster lock: the cluster row is missing");
		return -1;
	}
	g->cur_seq = pg_int(r, 0, 0);
	g->txn_gen = pg_int(r, 0, 1);
	g->locked = 1;
	PQclear(r);
	return 0;
}

/* Holding the cluster row makes the commit count a generation: other writers drop their caches. */
int
pg_bump(struct pg *g, char *err)
{
	return lock_cluster(g, err);
}

int
pg_commit(struct cl_store *st, char *err)
{
	struct pg *g = (struct pg *)st;
	struct pg_params p = {0};
	PGresult *r;
	int ok;

	/* The other nodes' followers are woken at the commit: the payload is a hint, they read the rows. */
	if (g->locked) {
		pgp_int(&p, g->cur_seq);
		if (pg_do_slot(g, PG_PUT_SEQ, "UPDATE cluster SET last_seq = greatest(last_seq, $1), gen = gen + 1", &p,
		               "last seq", err) < 0 ||
		    pg_do_slot(g, PG_NOTIFY, "SELECT pg_notify('callogd_events', $1::text)", &p, "notify", err) < 0)
			return -1;
	}
	if ((r = pg_exec(g, "COMMIT", NULL, "commit", err)) == NULL)
		return -1;
	/* COMMIT of a failed transaction answers ROLLBACK. */
	ok = strcmp(PQcmdStatus(r), "COMMIT") == 0;
	PQclear(r);
	if (!ok) {
		snprintf(err, CL_ERR_LEN, "commit: the transaction was rolled back");
		return -1;
	}
	g->txn = 0;
	if (pg_pipe_end(g, err) < 0)
		return -1;
	if (g->locked)
		g->seen_gen = g->txn_gen + 1;
	g->locked = 0;
	return 0;
}

void
pg_rollback(struct cl_store *st)
{
	struct pg *g = (struct pg *)st;
	char err[CL_ERR_LEN];

	g->locked = 0;
	g->nested_reads = 0;
	pg_pipe_abort(g);
	g->txn = 0;
	if (in_txn(g))
		(void)pg_do(g, "ROLLBACK", NULL, "rollback", err); /* a lost connection has rolled back already */
}

static int
pg_begin_read(struct cl_store *st, char *err)
{
	struct pg *g = (struct pg *)st;

	if (in_txn(g)) {
		g->nested_reads++;
		return 0;
	}
	if (pg_do(g, "BEGIN ISOLATION LEVEL REPEATABLE READ", NULL, "begin", err) < 0)
		return -1;
	g->txn = 1;
	return 0;
}

static void
pg_end_read(struct cl_store *st)
{
	struct pg *g = (struct pg *)st;
	char err[CL_ERR_LEN];

	if (g->nested_reads > 0) {
		g->nested_reads--;
		return;
	}
	g->txn = 0;
	if (in_txn(g) && pg_do(g, "COMMIT", NULL, "commit", err) < 0)
		pg_rollback(st);
}

/* Whether another node (or a purge) committed since this connection last looked: its cached calls are stale. */
static int
pg_changed(struct cl_store *st, char *err)
{
	struct pg *g = (struct pg *)st;
	int changed;

	if (lock_cluster(g, err) < 0)
		return -1;
	changed = g->seen_gen != 0 && g->txn_gen != g->seen_gen;
	g->seen_gen = g->txn_gen;
	return changed;
}

static void
pg_interrupt(struct cl_store *st)
{
	struct pg *g = (struct pg *)st;
	char buf[256];

	pthread_mutex_lock(&g->cancel_mtx);
	if (g->cancel)
		(void)PQcancel(g->cancel, buf, sizeof(buf));
	pthread_mutex_unlock(&g->cancel_mtx);
}

static int
pg_check(struct cl_store *st, char *err)
{
	return pg_do((struct pg *)st, "SELECT 1", NULL, "database unreachable", err);
}

/* ---- the event log ---- */

static int
pg_last_seq(struct cl_store *st, int64_t *seq, char *err)
{
	PGresult *r =
	    pg_exec((struct pg *)st,
	            "SELECT greatest((SELECT last_seq FROM cluster), (SELECT coalesce(max(seq), 0) FROM events))", NULL,
	            "last seq", err);

	if (r == NULL)
		return -1;
	*seq = pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

static int
pg_event_seq(struct cl_store *st, const char *event_id, int64_t *seq, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int found;

	pgp_text(&p, event_id);
	if ((r = pg_run((struct pg *)st, PG_FIND_EID, "SELECT seq FROM events WHERE eid = $1", &p, "find event",
	                err)) == NULL)
		return -1;
	found = PQntuples(r) > 0;
	if (found)
		*seq = pg_int(r, 0, 0);
	PQclear(r);
	return found;
}

#define PUT_EVENT_SQL                                                                                                  \
	"INSERT INTO events(seq, eid, call_id, type, ts, received_at, body) VALUES($1,$2,$3,$4,$5,$6,$7)"              \
	" ON CONFLICT (eid) WHERE eid IS NOT NULL DO NOTHING RETURNING seq"

/* The seq the store gives is the cluster's next: ev->seq is overwritten with it. */
static int
pg_put_event(struct cl_store *st, struct cl_event *ev, int64_t *dup_seq, char *err)
{
	struct pg *g = (struct pg *)st;
	struct pg_params p = {0};
	PGresult *r;
	int stored;

	if (lock_cluster(g, err) < 0)
		return -1;
	pgp_int(&p, g->cur_seq + 1);
	/* In a pipeline the insert is not waited for: its id was probed before (dedup), and an id
	 * another node stored meanwhile fails the transaction, whose events are then sent again. */
	/* In a pipeline the insert is not waited for: its id was probed before (dedup), and an id
	 * another node stored meanwhile fails the transaction, whose events are then sent again. */
	pgp_text(&p, ev->id);
	pgp_text(&p, ev->call_id);
	pgp_text(&p, cl_event_type_name(ev->type));
	pgp_int(&p, ev->ts);
	pgp_int(&p, ev->received_at);
	pgp_text(&p, ev->body);
	if (g->piped && ev->fresh) {
		if (pg_queue_event(g, PG_PUT_EVENT, PUT_EVENT_SQL, &p, err) < 0)
			return -1;
		ev->seq = ++g->cur_seq;
		return 0;
	}
	/* A repeated id waits for the transaction that holds it, then does nothing. */
	if ((r = pg_run(g, PG_PUT_EVENT, PUT_EVENT_SQL, &p, "insert event", err)) == NULL)
		return -1;
	stored = PQntuples(r) == 1;
	PQclear(r);
	if (stored) {
		ev->seq = ++g->cur_seq;
		return 0;
	}
	if (ev->id != NULL && (stored = pg_event_seq(st, ev->id, dup_seq, err)) != 0)
		return stored;
	snprintf(err, CL_ERR_LEN, "insert event: refused and not found");
	return -1;
}

static int
pg_call_events(struct cl_store *st, const char *call_id, int (*fn)(void *, const struct cl_stored_event *), void *arg,
               char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int stop = 0;

	pgp_text(&p, call_id);
	if ((r = pg_run((struct pg *)st, PG_CALL_EVENTS,
	                "SELECT seq, ts, received_at, call_id, body FROM events WHERE call_id = $1 ORDER BY seq", &p,
	                "call events", err)) == NULL)
		return -1;
	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		struct cl_stored_event e = {
		    .seq = pg_int(r, i, 0),
		    .ts = pg_int(r, i, 1),
		    .received_at = pg_int(r, i, 2),
		    .call_id = pg_col(r, i, 3),
		    .body = pg_col(r, i, 4),
		    .len = (size_t)PQgetlength(r, i, 4),
		};
		stop = fn(arg, &e);
	}
	PQclear(r);
	return stop;
}

static int
pg_live_events(struct cl_store *st, int64_t since_ms, int (*fn)(void *, const char *, size_t, int64_t), void *arg,
               char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	int stop = 0;

	pgp_int(&p, since_ms);
	if ((r = pg_run((struct pg *)st, PG_LIVE_EVENTS,
	                "SELECT e.body, e.received_at FROM calls AS c JOIN events AS e ON e.call_id = c.call_id"
	                " WHERE c.ended_at = 0 AND c.offered_at >= $1 ORDER BY e.seq",
	                &p, "live events", err)) == NULL)
		return -1;
	for (int i = 0; stop == 0 && i < PQntuples(r); i++)
		stop = fn(arg, pg_col(r, i, 0), (size_t)PQgetlength(r, i, 0), pg_int(r, i, 1));
	PQclear(r);
	return stop;
}

/* ---- secrets and revoked sessions ---- */

static int
pg_secret(struct cl_store *st, const char *name, unsigned char *out, size_t len, char *err)
{
	struct pg_params p = {0};
	PGresult *r;
	const char *hex;
	int ret = -1;

	pgp_text(&p, name);
	if ((r = pg_exec((struct pg *)st, "SELECT encode(value, 'hex') FROM secrets WHERE name = $1", &p, "secret",
	                 err)) == NULL)
		return -1;
	hex = PQntuples(r) == 1 ? pg_col(r, 0, 0) : "";
	if (strlen(hex) == 2 * len) {
		for (size_t i = 0; i < len; i++) {
			unsigned v;
			if (sscanf(hex + 2 * i, "%2x", &v) != 1)
				break;
			out[i] = (unsigned char)v;
			ret = i + 1 == len ? 0 : -1;
		}
	}
	if (ret < 0)
		snprintf(err, CL_ERR_LEN, "secret \"%s\" is missing", name);
	PQclear(r);
	return ret;
}

static int
pg_revoke_session(struct cl_store *st, const char *mac, int64_t until_ms, int64_t now_ms, char *err)
{
	struct pg *g = (struct pg *)st;
	struct pg_params put = {0}, expire = {0};

	pgp_text(&put, mac);
	pgp_int(&put, until_ms);
	pgp_int(&expire, now_ms);
	if (pg_begin(st, err) < 0 ||
	    pg_do(g,
	          "INSERT INTO revoked(mac, until_ms) VALUES($1, $2) ON CONFLICT (mac) DO UPDATE SET until_ms ="
	          " excluded.until_ms",
	          &put, "revoke", err) < 0 ||
	    pg_do(g, "DELETE FROM revoked WHERE until_ms < $1", &expire, "revoke", err) < 0 || pg_commit(st, err) < 0) {
		pg_rollback(st);
		return -1;
	}
	return 0;
}

static int
pg_revoked_sessions(struct cl_store *st, int64_t now_ms, void (*fn)(void *, const char *, int64_t), void *arg,
                    char *err)
{
	struct pg_params p = {0};
	PGresult *r;

	pgp_int(&p, now_ms);
	if ((r = pg_exec((struct pg *)st, "SELECT mac, until_ms FROM revoked WHERE until_ms >= $1", &p,
	                 "revoked sessions", err)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++)
		fn(arg, pg_col(r, i, 0), pg_int(r, i, 1));
	PQclear(r);
	return 0;
}

static const struct cl_store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .begin_read = pg_begin_read,
    .end_read = pg_end_read,
    .changed = pg_changed,
    .check = pg_check,
    .interrupt = pg_interrupt,
    .last_seq = pg_last_seq,
    .put_event = pg_put_event,
    .event_seq = pg_event_seq,
    .call_events = pg_call_events,
    .live_events = pg_live_events,
    .get_call = pg_get_call,
    .put_call = pg_put_call,
    .list_calls = pg_list_calls,
    .history = pg_history,
    .queue_stats = pg_queue_stats,
    .purge = pg_purge,
    .put_mark = pg_put_mark,
    .call_marks = pg_call_marks,
    .put_legs = pg_put_legs,
    .report_calls = pg_report_calls,
    .report_legs = pg_report_legs,
    .agent_states = pg_agent_states,
    .put_slot = pg_put_slot,
    .clear_slots = pg_clear_slots,
    .slot_conf = pg_slot_conf,
    .report_slots = pg_report_slots,
    .connected = pg_connected,
    .outbox_put = pg_outbox_put,
    .outbox_due = pg_outbox_due,
    .outbox_result = pg_outbox_result,
    .outbox_list = pg_outbox_list,
    .outbox_retry = pg_outbox_retry,
    .customer_get = pg_customer_get,
    .customer_match = pg_customer_match,
    .customer_put = pg_customer_put,
    .phones = pg_phones,
    .put_agent_state = pg_put_agent_state,
    .agents = pg_agents,
    .token_add = pg_token_add,
    .token_find = pg_token_find,
    .agent_add = pg_agent_add,
    .agent_remove = pg_agent_remove,
    .agent_token = pg_agent_token,
    .revoke_session = pg_revoke_session,
    .revoked_sessions = pg_revoked_sessions,
    .secret = pg_secret,
};
