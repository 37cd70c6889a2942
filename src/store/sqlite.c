/* sqlite.c : owns the SQLite backend's connection: opening, the schema and its
 * migrations (schema_sqlite.sql), transactions, the event log, daemon secrets
 * and revoked sessions, and the operations table. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "callogd/log.h"
#include "callogd/util.h"
#include "sqlite.h"

extern const char cl_sqlite_schema[]; /* schema_sqlite.sql, embedded by the build */

#define BUSY_TIMEOUT_MS 5000
#define BUSY_POLL_US 500

/* ---- helpers shared by the backend's files ---- */

sqlite3_stmt *
sq_stmt(struct sq *q, int slot, const char *sql, char *err)
{
	if (q->stmt[slot] == NULL &&
	    sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q->stmt[slot], NULL) != SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "prepare: %s", sqlite3_errmsg(q->db));
		q->stmt[slot] = NULL;
		return NULL;
	}
	return q->stmt[slot];
}

void
sq_done(sqlite3_stmt *s)
{
	/* reset() repeats the step's error code, which the caller has handled. */
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
}

int
sq_fail(struct sq *q, const char *what, char *err)
{
	snprintf(err, CL_ERR_LEN, "%s: %s", what, sqlite3_errmsg(q->db));
	return -1;
}

int
sq_exec(struct sq *q, const char *sql, char *err)
{
	char *msg = NULL;

	if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "%s", msg ? msg : sqlite3_errmsg(q->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
sq_run(struct sq *q, sqlite3_stmt *s, const char *what, char *err)
{
	int rc = sqlite3_step(s);

	if (rc != SQLITE_DONE)
		sq_fail(q, what, err);
	sq_done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

void
sq_text(sqlite3_stmt *s, int i, const char *v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

void
sq_textn(sqlite3_stmt *s, int i, const char *v, size_t len, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = v ? sqlite3_bind_text(s, i, v, (int)len, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

void
sq_int(sqlite3_stmt *s, int i, int64_t v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_int64(s, i, v);
}

const char *
sq_col(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	return v ? (const char *)v : "";
}

void
sq_copy(char *dst, size_t len, sqlite3_stmt *s, int i)
{
	snprintf(dst, len, "%s", sq_col(s, i));
}

/* ---- SQLite's own log, routed into log.c ---- */

static void
log_from_sqlite(void *arg, int code, const char *msg)
{
	int prim = code & 0xff;

	(void)arg;
	/* Routine: a statement re-prepared, WAL recovered, a duplicate event id refused. */
	if (prim == SQLITE_SCHEMA || prim == SQLITE_NOTICE || prim == SQLITE_CONSTRAINT)
		cl_log(CL_LOG_DEBUG, "src=sqlite code=%d msg=\"%s\"", code, msg);
	else
		cl_log(prim == SQLITE_WARNING ? CL_LOG_WARN : CL_LOG_ERROR, "src=sqlite code=%d msg=\"%s\"", code, msg);
}

static pthread_once_t configured = PTHREAD_ONCE_INIT;

static void
configure(void)
{
	/* Both must precede sqlite3_initialize(), which the first open makes. Memory
	 * statistics take a global mutex on every allocation, which the writer
	 * thread and the readers would then contend for. */
	if (sqlite3_config(SQLITE_CONFIG_LOG, log_from_sqlite, NULL) != SQLITE_OK ||
	    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
		cl_log(CL_LOG_DEBUG, "msg=\"sqlite configured late: its log is not routed\"");
}

/*
 * Waits for a lock in short, even steps: SQLite's own handler backs off to
 * 100 ms sleeps, so a writer waiting behind an import of many small
 * transactions would keep missing the gaps between them.
 */
static int
busy_wait(void *arg, int count)
{
	/* The budget is wall-clock time: on a loaded machine each sleep overshoots, and
	 * counting sleeps stretched 5 s into 20. A connection waits on one thread at a time. */
	static _Thread_local int64_t since_us;
	struct timespec ts = {0, BUSY_POLL_US * 1000};

	(void)arg;
	if (count == 0)
		since_us = cl_mono_us();
	else if (cl_mono_us() - since_us >= (int64_t)BUSY_TIMEOUT_MS * 1000)
		return 0;
	nanosleep(&ts, NULL);
	return 1;
}

/* ---- schema ---- */

static int
user_version(struct sq *q, int *v, char *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return sq_fail(q, "cannot read schema version", err);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(s, 0);
	else
		sq_fail(q, "cannot read schema version", err);
	(void)sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Creates the named 32-byte random secret unless it exists (inside migrate's transaction). */
static int
ensure_secret(struct sq *q, const char *name, char *err)
{
	unsigned char key[32];
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_OK;

	if (cl_random_bytes(key, sizeof(key)) < 0) {
		snprintf(err, CL_ERR_LEN, "no randomness available");
		return -1;
	}
	if ((s = sq_stmt(q, SQ_META_PUT, "INSERT OR IGNORE INTO meta(key, value) VALUES(?, ?)", err)) == NULL)
		return -1;
	sq_text(s, 1, name, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(s, 2, key, sizeof(key), SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		sq_done(s);
		return sq_fail(q, "secret", err);
	}
	return sq_run(q, s, "secret", err);
}

static int
migrate(struct sq *q, char *err)
{
	char sql[64], *text = NULL;
	int v, latest = cl_schema_latest(cl_sqlite_schema);

	if (sq_exec(q, "BEGIN IMMEDIATE", err) < 0 || user_version(q, &v, err) < 0)
		goto fail;
	if (v > latest) {
		snprintf(err, CL_ERR_LEN, "database schema version %d is newer than this callogd knows (%d)", v,
		         latest);
		goto fail;
	}
	for (; v < latest; v++) {
		size_t len;
		const char *sec = cl_schema_section(cl_sqlite_schema, v + 1, &len);
		if ((text = cl_strndup(sec, len)) == NULL) {
			snprintf(err, CL_ERR_LEN, "out of memory");
			goto fail;
		}
		if (sq_exec(q, text, err) < 0)
			goto fail;
		free(text);
		text = NULL;
		/* The outcome rule lives in C (calls.c): existing rows get it here. */
		if (v + 1 == 4 && sq_backfill_outcomes(q, err) < 0)
			goto fail;
		/* Legs, wraps and transfers come from the marks the section copied (report.h's rules). */
		if (v + 1 == 5 && sq_backfill_reports(q, err) < 0)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", v + 1);
		if (sq_exec(q, sql, err) < 0)
			goto fail;
	}
	if (ensure_secret(q, "session_key", err) < 0)
		goto fail;
	return sq_exec(q, "COMMIT", err);
fail:
	free(text);
	if (!sqlite3_get_autocommit(q->db))
		(void)sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* ---- open, close ---- */

static void sq_close(struct cl_store *st);
static const struct cl_store_ops sq_ops;

static int
claims(const char *where)
{
	(void)where;
	return 1; /* a path: the fallback for any name no other backend claims */
}

static struct cl_store *
sq_open(const char *path, int flags, char *err)
{
	struct sq *q = calloc(1, sizeof(*q));
	int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	char why[CL_ERR_LEN];
	int v;

	if (q == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	q->base.ops = &sq_ops;
	q->readonly = (flags & CL_STORE_READONLY) != 0;
	if (!q->readonly)
		oflags |= SQLITE_OPEN_CREATE;
	(void)pthread_once(&configured, configure);
	if (sqlite3_open_v2(path, &q->db, oflags, NULL) != SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "cannot open database %s: %s", path,
		         q->db ? sqlite3_errmsg(q->db) : "out of memory");
		goto fail;
	}
	/*
	 * A larger page cache keeps index seeks (duplicate ids, caller lookups)
	 * off pread() as the database grows. Memory-mapped reads only on a
	 * writer's connection: a WAL reader drops its cache and unmaps the whole
	 * file at the start of every read after another connection committed,
	 * which the writer does hundreds of times a second. With a 1 GB database
	 * that was 67 munmap() calls a second on the loop thread at 236 us each
	 * (strace -c, bench_pop at 500 calls/s over 1,000,000 customers).
	 */
	if (sqlite3_extended_result_codes(q->db, 1) != SQLITE_OK ||
	    sqlite3_busy_handler(q->db, busy_wait, NULL) != SQLITE_OK) {
		sq_fail(q, "set-up", why);
		goto named;
	}
	if (sq_exec(q, "PRAGMA journal_mode=WAL", why) < 0 || sq_exec(q, "PRAGMA synchronous=FULL", why) < 0 ||
	    sq_exec(q, "PRAGMA foreign_keys=OFF", why) < 0 || sq_exec(q, "PRAGMA cache_size=-65536", why) < 0 ||
	    sq_exec(q, q->readonly ? "PRAGMA mmap_size=0" : "PRAGMA mmap_size=1073741824", why) < 0)
		goto named;
	if (q->readonly) {
		if (user_version(q, &v, why) < 0)
			goto named;
		if (v != cl_schema_latest(cl_sqlite_schema)) {
			snprintf(err, CL_ERR_LEN, "database %s has schema version %d, expected %d", path, v,
			         cl_schema_latest(cl_sqlite_schema));
			goto fail;
		}
		if (sq_exec(q, "PRAGMA query_only=1", why) < 0)
			goto named;
	} else if (migrate(q, why) < 0) {
		goto named;
	}
	return &q->base;
named:
	snprintf(err, CL_ERR_LEN, "database %.100s: %.140s", path, why);
fail:
	sq_close(&q->base);
	return NULL;
}

static void
sq_close(struct cl_store *st)
{
	struct sq *q = (struct sq *)st;

	for (int i = 0; i < SQ__SLOTS; i++)
		(void)sqlite3_finalize(q->stmt[i]);
	/* Every statement is finalized: close cannot be refused as busy. */
	(void)sqlite3_close(q->db);
	free(q);
}

const struct cl_store_backend cl_store_sqlite = {claims, sq_open};

/* ---- transactions ---- */

static int
sq_begin(struct cl_store *st, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_BEGIN, "BEGIN IMMEDIATE", err);

	q->txn_seq = 0;
	return s ? sq_run(q, s, "begin", err) : -1;
}

/* The highest seq written in this transaction goes to meta with it. */
static int
sq_commit(struct cl_store *st, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	if (q->txn_seq > 0) {
		if ((s = sq_stmt(q, SQ_PUT_SEQ,
		                 "INSERT INTO meta(key, value) VALUES('last_seq', ?1) ON CONFLICT(key) DO UPDATE"
		                 " SET value = ?1 WHERE value < ?1",
		                 err)) == NULL)
			return -1;
		sq_int(s, 1, q->txn_seq, &rc);
		if (rc != SQLITE_OK) {
			sq_done(s);
			return sq_fail(q, "last seq", err);
		}
		if (sq_run(q, s, "last seq", err) < 0)
			return -1;
	}
	if ((s = sq_stmt(q, SQ_COMMIT, "COMMIT", err)) == NULL || sq_run(q, s, "commit", err) < 0)
		return -1;
	q->txn_seq = 0;
	return 0;
}

static void
sq_rollback(struct cl_store *st)
{
	struct sq *q = (struct sq *)st;
	char err[CL_ERR_LEN];
	sqlite3_stmt *s;

	q->txn_seq = 0;
	if (!sqlite3_get_autocommit(q->db) && (s = sq_stmt(q, SQ_ROLLBACK, "ROLLBACK", err)) != NULL)
		(void)sq_run(q, s, "rollback", err); /* SQLite rolls back on its own when this fails */
}

static int
sq_begin_read(struct cl_store *st, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s;

	/* Inside a transaction already: its snapshot serves. */
	if (!sqlite3_get_autocommit(q->db)) {
		q->nested_reads++;
		return 0;
	}
	if ((s = sq_stmt(q, SQ_BEGIN_READ, "BEGIN", err)) == NULL)
		return -1;
	return sq_run(q, s, "begin", err);
}

static void
sq_end_read(struct cl_store *st)
{
	struct sq *q = (struct sq *)st;
	char err[CL_ERR_LEN];
	sqlite3_stmt *s;

	if (q->nested_reads > 0) {
		q->nested_reads--;
		return;
	}
	/* A read transaction has nothing to lose: if COMMIT fails, ROLLBACK ends it. */
	if (!sqlite3_get_autocommit(q->db) &&
	    ((s = sq_stmt(q, SQ_COMMIT, "COMMIT", err)) == NULL || sq_run(q, s, "commit", err) < 0))
		sq_rollback(st);
}

static int
sq_changed(struct cl_store *st, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_DATA_VERSION, "PRAGMA data_version", err);
	int64_t v;
	int rc, changed;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sq_fail(q, "data version", err);
		sq_done(s);
		return -1;
	}
	v = sqlite3_column_int64(s, 0);
	sq_done(s);
	changed = q->data_version != 0 && v != q->data_version;
	q->data_version = v;
	return changed;
}

static void
sq_interrupt(struct cl_store *st)
{
	sqlite3_interrupt(((struct sq *)st)->db);
}

static int
sq_check(struct cl_store *st, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_CHECK, "SELECT count(*) FROM sqlite_schema", err);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		sq_fail(q, "database unreadable", err);
	sq_done(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* ---- the event log ---- */

/* One integer from a query without parameters. */
static int
query_int(struct sq *q, const char *sql, int64_t *v, char *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(q->db, sql, -1, &s, NULL) != SQLITE_OK)
		return sq_fail(q, "query", err);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(s, 0);
	else
		sq_fail(q, "query", err);
	(void)sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* The larger of meta's last_seq (kept by every commit) and the log's own maximum. */
static int
sq_last_seq(struct cl_store *st, int64_t *seq, char *err)
{
	struct sq *q = (struct sq *)st;
	int64_t logged = 0, kept = 0;

	if (query_int(q, "SELECT coalesce(max(seq), 0) FROM events", &logged, err) < 0 ||
	    query_int(q, "SELECT coalesce(max(value), 0) FROM meta WHERE key = 'last_seq'", &kept, err) < 0)
		return -1;
	*seq = logged > kept ? logged : kept;
	return 0;
}

static int
sq_event_seq(struct cl_store *st, const char *event_id, int64_t *seq, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_FIND_EID, "SELECT seq FROM events WHERE eid = ?", err);
	int rc = SQLITE_OK;

	if (s == NULL)
		return -1;
	sq_text(s, 1, event_id, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*seq = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		sq_fail(q, "find event", err);
	sq_done(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int
sq_put_event(struct cl_store *st, struct cl_event *ev, int64_t *dup_seq, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s =
	    sq_stmt(q, SQ_INS_EVENT,
	            "INSERT INTO events(seq, eid, call_id, type, ts, received_at, body) VALUES(?,?,?,?,?,?,?)", err);
	int rc = SQLITE_OK;

	if (s == NULL)
		return -1;
	sq_int(s, 1, ev->seq, &rc);
	sq_text(s, 2, ev->id, &rc);
	sq_text(s, 3, ev->call_id, &rc);
	sq_text(s, 4, cl_event_type_name(ev->type), &rc);
	sq_int(s, 5, ev->ts, &rc);
	sq_int(s, 6, ev->received_at, &rc);
	sq_text(s, 7, ev->body, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	else
		sq_fail(q, "insert event", err);
	if (rc != SQLITE_DONE && rc != SQLITE_CONSTRAINT_UNIQUE)
		sq_fail(q, "insert event", err);
	sq_done(s);
	if (rc == SQLITE_DONE) {
		if (ev->seq > q->txn_seq)
			q->txn_seq = ev->seq;
		return 0;
	}
	if (rc == SQLITE_CONSTRAINT_UNIQUE && ev->id != NULL) {
		int found = sq_event_seq(st, ev->id, dup_seq, err);
		if (found != 0)
			return found;
	}
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		snprintf(err, CL_ERR_LEN, "insert event: seq %lld is taken", (long long)ev->seq);
	return -1;
}

static int
sq_call_events(struct cl_store *st, const char *call_id, int (*fn)(void *, const struct cl_stored_event *), void *arg,
               char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s =
	    sq_stmt(q, SQ_CALL_EVENTS,
	            "SELECT seq, ts, received_at, call_id, body FROM events WHERE call_id = ? ORDER BY seq", err);
	int rc = SQLITE_OK, stop = 0;

	if (s == NULL)
		return -1;
	sq_text(s, 1, call_id, &rc);
	while (rc == SQLITE_OK && stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cl_stored_event e = {
		    .seq = sqlite3_column_int64(s, 0),
		    .ts = sqlite3_column_int64(s, 1),
		    .received_at = sqlite3_column_int64(s, 2),
		    .call_id = sq_col(s, 3),
		    .body = sq_col(s, 4),
		};
		e.len = (size_t)sqlite3_column_bytes(s, 4);
		stop = fn(arg, &e);
		rc = SQLITE_OK;
	}
	if (stop == 0 && rc != SQLITE_DONE && rc != SQLITE_OK)
		sq_fail(q, "call events", err);
	sq_done(s);
	return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}

static int
sq_live_events(struct cl_store *st, int64_t since_ms, int (*fn)(void *, const char *, size_t, int64_t), void *arg,
               char *err)
{
	struct sq *q = (struct sq *)st;
	/* offered_at is the earliest event's time, also for a call never offered. */
	sqlite3_stmt *s =
	    sq_stmt(q, SQ_LIVE_EVENTS,
	            "SELECT e.body, e.received_at FROM calls AS c JOIN events AS e ON e.call_id = c.call_id"
	            " WHERE c.ended_at = 0 AND c.offered_at >= ?1 ORDER BY e.seq",
	            err);
	int rc = SQLITE_OK, stop = 0;

	if (s == NULL)
		return -1;
	sq_int(s, 1, since_ms, &rc);
	while (rc == SQLITE_OK && stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		stop = fn(arg, sq_col(s, 0), (size_t)sqlite3_column_bytes(s, 0), sqlite3_column_int64(s, 1));
		rc = SQLITE_OK;
	}
	if (stop == 0 && rc != SQLITE_DONE && rc != SQLITE_OK)
		sq_fail(q, "live events", err);
	sq_done(s);
	return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}

/* ---- secrets and revoked sessions (in meta) ---- */

static int
sq_secret(struct cl_store *st, const char *name, unsigned char *out, size_t len, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_META_GET, "SELECT value FROM meta WHERE key = ?", err);
	int rc = SQLITE_OK, ret = -1;

	if (s == NULL)
		return -1;
	sq_text(s, 1, name, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && (size_t)sqlite3_column_bytes(s, 0) == len) {
		memcpy(out, sqlite3_column_blob(s, 0), len);
		ret = 0;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		snprintf(err, CL_ERR_LEN, "secret \"%s\" is missing", name);
	} else {
		sq_fail(q, "secret", err);
	}
	sq_done(s);
	return ret;
}

/* Revoked sessions live in meta as "revoked:MAC" -> expiry (ms): no table of their own. */
#define REVOKED_FROM "'revoked:'"
#define REVOKED_TO "'revoked;'" /* ':' + 1: the end of the prefix range */

static int
sq_revoke_session(struct cl_store *st, const char *mac, int64_t until_ms, int64_t now_ms, char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *put, *expire;
	char key[96];
	int rc = SQLITE_OK;

	snprintf(key, sizeof(key), "revoked:%s", mac);
	if ((put = sq_stmt(q, SQ_REVOKE_PUT, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", err)) == NULL ||
	    (expire = sq_stmt(q, SQ_REVOKE_EXPIRE,
	                      "DELETE FROM meta WHERE key >= " REVOKED_FROM " AND key < " REVOKED_TO " AND value < ?",
	                      err)) == NULL ||
	    sq_begin(st, err) < 0)
		return -1;
	sq_text(put, 1, key, &rc);
	sq_int(put, 2, until_ms, &rc);
	sq_int(expire, 1, now_ms, &rc);
	if (rc != SQLITE_OK) {
		sq_done(put);
		sq_done(expire);
		sq_fail(q, "revoke", err);
		goto fail;
	}
	if (sq_run(q, put, "revoke", err) < 0 || sq_run(q, expire, "revoke", err) < 0 || sq_commit(st, err) < 0)
		goto fail;
	return 0;
fail:
	sq_done(put);
	sq_done(expire);
	sq_rollback(st);
	return -1;
}

static int
sq_revoked_sessions(struct cl_store *st, int64_t now_ms, void (*fn)(void *, const char *, int64_t), void *arg,
                    char *err)
{
	struct sq *q = (struct sq *)st;
	sqlite3_stmt *s = sq_stmt(q, SQ_REVOKED,
	                          "SELECT substr(key, 9), value FROM meta WHERE key >= " REVOKED_FROM
	                          " AND key < " REVOKED_TO " AND value >= ?",
	                          err);
	int rc = SQLITE_OK;

	if (s == NULL)
		return -1;
	sq_int(s, 1, now_ms, &rc);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		fn(arg, sq_col(s, 0), sqlite3_column_int64(s, 1));
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		sq_fail(q, "revoked sessions", err);
	sq_done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static const struct cl_store_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .begin_read = sq_begin_read,
    .end_read = sq_end_read,
    .changed = sq_changed,
    .check = sq_check,
    .interrupt = sq_interrupt,
    .last_seq = sq_last_seq,
    .put_event = sq_put_event,
    .event_seq = sq_event_seq,
    .event_ids = sq_event_ids,
    .call_events = sq_call_events,
    .live_events = sq_live_events,
    .get_call = sq_get_call,
    .put_call = sq_put_call,
    .list_calls = sq_list_calls,
    .history = sq_history,
    .queue_stats = sq_queue_stats,
    .purge = sq_purge,
    .put_mark = sq_put_mark,
    .call_marks = sq_call_marks,
    .put_legs = sq_put_legs,
    .report_calls = sq_report_calls,
    .report_legs = sq_report_legs,
    .agent_states = sq_agent_states,
    .put_slot = sq_put_slot,
    .clear_slots = sq_clear_slots,
    .slot_conf = sq_slot_conf,
    .report_slots = sq_report_slots,
    .connected = sq_connected,
    .customer_get = sq_customer_get,
    .customer_match = sq_customer_match,
    .customer_put = sq_customer_put,
    .phones = sq_phones,
    .put_agent_state = sq_put_agent_state,
    .agents = sq_agents,
    .token_add = sq_token_add,
    .token_find = sq_token_find,
    .agent_add = sq_agent_add,
    .agent_remove = sq_agent_remove,
    .agent_token = sq_agent_token,
    .revoke_session = sq_revoke_session,
    .revoked_sessions = sq_revoked_sessions,
    .secret = sq_secret,
    .outbox_put = sq_outbox_put,
    .outbox_due = sq_outbox_due,
    .outbox_result = sq_outbox_result,
    .outbox_list = sq_outbox_list,
    .outbox_retry = sq_outbox_retry,
};
