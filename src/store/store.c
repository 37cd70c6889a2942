/* store.c : owns SQLite: the schema and its migrations, the event log, call
 * records, agents and API tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/calls.h"
#include "callogd/sha256.h"
#include "callogd/store.h"
#include "callogd/util.h"

/* Each entry takes the schema from version i to i + 1. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE events("
    "  seq INTEGER PRIMARY KEY,"
    "  eid TEXT,"
    "  call_id TEXT,"
    "  type TEXT NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  body TEXT NOT NULL);"
    "CREATE UNIQUE INDEX events_eid ON events(eid) WHERE eid IS NOT NULL;"
    "CREATE INDEX events_call ON events(call_id, seq);"
    "CREATE TABLE calls("
    "  call_id TEXT PRIMARY KEY,"
    "  direction INTEGER NOT NULL DEFAULT 0,"
    "  from_num TEXT NOT NULL DEFAULT '',"
    "  to_num TEXT NOT NULL DEFAULT '',"
    "  number TEXT NOT NULL DEFAULT '',"
    "  queue TEXT NOT NULL DEFAULT '',"
    "  agent TEXT NOT NULL DEFAULT '',"
    "  agents TEXT NOT NULL DEFAULT '[]',"
    "  customer_id TEXT,"
    "  has_offer INTEGER NOT NULL DEFAULT 0,"
    "  offered_at INTEGER NOT NULL DEFAULT 0,"
    "  answered_at INTEGER NOT NULL DEFAULT 0,"
    "  ended_at INTEGER NOT NULL DEFAULT 0,"
    "  hold_ms INTEGER NOT NULL DEFAULT 0,"
    "  hold_since INTEGER NOT NULL DEFAULT 0,"
    "  end_reason TEXT NOT NULL DEFAULT '',"
    "  end_by TEXT NOT NULL DEFAULT '',"
    "  disp_code TEXT NOT NULL DEFAULT '',"
    "  disp_agent TEXT NOT NULL DEFAULT '',"
    "  disp_at INTEGER NOT NULL DEFAULT 0,"
    "  disp_notes TEXT,"
    "  data TEXT,"
    "  last_seq INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX calls_offered ON calls(offered_at);"
    "CREATE INDEX calls_customer ON calls(customer_id, offered_at) WHERE customer_id IS NOT NULL;"
    "CREATE INDEX calls_number ON calls(number, offered_at);"
    "CREATE INDEX calls_ended ON calls(ended_at) WHERE ended_at > 0;"
    "CREATE TABLE customers("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  phones TEXT NOT NULL DEFAULT '[]',"
    "  email TEXT NOT NULL DEFAULT '',"
    "  account TEXT NOT NULL DEFAULT '',"
    "  tier TEXT NOT NULL DEFAULT '',"
    "  notes TEXT NOT NULL DEFAULT '',"
    "  updated_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE customer_phones("
    "  number TEXT NOT NULL,"
    "  customer_id TEXT NOT NULL,"
    "  PRIMARY KEY(number, customer_id)) WITHOUT ROWID;"
    "CREATE INDEX customer_phones_customer ON customer_phones(customer_id);"
    "CREATE TABLE agents("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  token_hash TEXT,"
    "  state TEXT NOT NULL DEFAULT 'logged_out',"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  since INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE api_tokens("
    "  name TEXT PRIMARY KEY,"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL);",
    /* 1 -> 2: daemon secrets (the session cookie signing key) */
    "CREATE TABLE meta("
    "  key TEXT PRIMARY KEY,"
    "  value BLOB NOT NULL) WITHOUT ROWID;",
    /* 2 -> 3: the latest answer's time, so the last agent is right when answers arrive out of order */
    "ALTER TABLE calls ADD COLUMN last_answered_at INTEGER NOT NULL DEFAULT 0;"
    "UPDATE calls SET last_answered_at = answered_at;",
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

#define CALL_COLS                                                                                                      \
	"call_id, direction, from_num, to_num, number, queue, agent, agents, customer_id, has_offer, offered_at, "     \
	"answered_at, ended_at, hold_ms, hold_since, end_reason, end_by, disp_code, disp_agent, disp_at, "             \
	"disp_notes, data, last_seq, last_answered_at"

struct cl_store {
	sqlite3 *db;
	int readonly;
	sqlite3_stmt *ins_event, *find_eid, *get_call, *put_call, *agent_state, *token_check, *agent_token;
	sqlite3_stmt *begin, *commit, *rollback;
};

static void bind_text(sqlite3_stmt *s, int i, const char *v);

static int
prep(struct cl_store *st, sqlite3_stmt **stmt, const char *sql, char *err)
{
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) != SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "prepare: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

static int
exec(struct cl_store *st, const char *sql, char *err)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "%s", msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
user_version(struct cl_store *st, int *v, char *err)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		snprintf(err, CL_ERR_LEN, "cannot read schema version: %s", sqlite3_errmsg(st->db));
		sqlite3_finalize(s);
		return -1;
	}
	*v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return 0;
}

/* Creates the named 32-byte random secret unless it exists (inside migrate's transaction). */
static int
ensure_secret(struct cl_store *st, const char *name, char *err)
{
	unsigned char key[32];
	sqlite3_stmt *s = NULL;
	int rc;

	if (cl_random_bytes(key, sizeof(key)) < 0) {
		snprintf(err, CL_ERR_LEN, "no randomness available");
		return -1;
	}
	if (sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO meta(key, value) VALUES(?, ?)", -1, &s, NULL) !=
	    SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, key, sizeof(key), SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		snprintf(err, CL_ERR_LEN, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/* Revoked sessions live in meta as "revoked:MAC" -> expiry (ms): no table of their own. */
#define REVOKED_FROM "'revoked:'"
#define REVOKED_TO "'revoked;'" /* ':' + 1: the end of the prefix range */

int
cl_store_revoke_session(struct cl_store *st, const char *mac, int64_t until_ms, int64_t now_ms, char *err)
{
	char key[96];
	sqlite3_stmt *s = NULL;
	int rc;

	snprintf(key, sizeof(key), "revoked:%s", mac);
	if (exec(st, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", -1, &s, NULL) !=
	    SQLITE_OK)
		goto fail;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, until_ms);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	s = NULL;
	if (rc != SQLITE_DONE ||
	    sqlite3_prepare_v2(st->db,
	                       "DELETE FROM meta WHERE key >= " REVOKED_FROM " AND key < " REVOKED_TO " AND value < ?",
	                       -1, &s, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(s, 1, now_ms);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		goto fail;
	return exec(st, "COMMIT", err);
fail:
	snprintf(err, CL_ERR_LEN, "%s", sqlite3_errmsg(st->db));
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
cl_store_revoked_sessions(struct cl_store *st, int64_t now_ms, void (*fn)(void *, const char *, int64_t), void *arg,
                          char *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db,
	                       "SELECT substr(key, 9), value FROM meta WHERE key >= " REVOKED_FROM
	                       " AND key < " REVOKED_TO " AND value >= ?",
	                       -1, &s, NULL) != SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	sqlite3_bind_int64(s, 1, now_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1));
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		snprintf(err, CL_ERR_LEN, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/* SQL cl_outcome(answered_at, ended_at, end_reason, end_by): SPEC 6's rule, the one in calls.c. */
static void
sql_outcome(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	sqlite3_result_text(ctx,
	                    cl_outcome_name(cl_outcome_of(sqlite3_value_int64(argv[0]), sqlite3_value_int64(argv[1]),
	                                                  (const char *)sqlite3_value_text(argv[2]),
	                                                  (const char *)sqlite3_value_text(argv[3]))),
	                    -1, SQLITE_STATIC);
}

int
cl_store_secret(struct cl_store *st, const char *name, unsigned char *out, size_t len, char *err)
{
	sqlite3_stmt *s = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?", -1, &s, NULL) != SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && (size_t)sqlite3_column_bytes(s, 0) == len) {
		memcpy(out, sqlite3_column_blob(s, 0), len);
		rc = 0;
	} else {
		snprintf(err, CL_ERR_LEN, "secret \"%s\" is missing", name);
	}
	sqlite3_finalize(s);
	return rc;
}

int
cl_store_agent_active(struct cl_store *st, const char *id)
{
	sqlite3_stmt *s = st->agent_token;
	int rc, ok;

	bind_text(s, 1, id);
	rc = sqlite3_step(s);
	ok = rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ok;
}

static int
migrate(struct cl_store *st, char *err)
{
	char sql[64];
	int v;

	if (exec(st, "BEGIN IMMEDIATE", err) < 0 || user_version(st, &v, err) < 0)
		goto fail;
	if (v > NMIGRATIONS) {
		snprintf(err, CL_ERR_LEN, "database schema version %d is newer than this callogd knows (%d)", v,
		         NMIGRATIONS);
		goto fail;
	}
	for (; v < NMIGRATIONS; v++) {
		if (exec(st, migrations[v], err) < 0)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", v + 1);
		if (exec(st, sql, err) < 0)
			goto fail;
	}
	if (ensure_secret(st, "session_key", err) < 0)
		goto fail;
	return exec(st, "COMMIT", err);
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

struct cl_store *
cl_store_open(const char *path, int flags, char *err)
{
	struct cl_store *st = calloc(1, sizeof(*st));
	int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int v;

	if (st == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	st->readonly = (flags & CL_STORE_READONLY) != 0;
	if (!st->readonly)
		oflags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "cannot open database %s: %s", path,
		         st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 5000);
	if (sqlite3_create_function(st->db, "cl_outcome", 4, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_outcome,
	                            NULL, NULL) != SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "cannot open database %s: %s", path, sqlite3_errmsg(st->db));
		goto fail;
	}
	/*
	 * A larger page cache keeps index seeks (duplicate ids, caller lookups)
	 * off pread() as the database grows. Memory-mapped reads only on the
	 * writer's connection: a WAL reader drops its cache and unmaps the whole
	 * file at the start of every read after another connection committed,
	 * which the writer does hundreds of times a second. With a 1 GB database
	 * that was 67 munmap() calls a second on the loop thread at 236 us each
	 * (strace -c, bench_pop at 500 calls/s over 1,000,000 customers).
	 */
	if (exec(st, "PRAGMA journal_mode=WAL", err) < 0 || exec(st, "PRAGMA synchronous=FULL", err) < 0 ||
	    exec(st, "PRAGMA foreign_keys=OFF", err) < 0 || exec(st, "PRAGMA cache_size=-65536", err) < 0 ||
	    exec(st, st->readonly ? "PRAGMA mmap_size=0" : "PRAGMA mmap_size=1073741824", err) < 0) {
		char tmp[CL_ERR_LEN];
		snprintf(tmp, sizeof(tmp), "database %s: %s", path, err);
		memcpy(err, tmp, CL_ERR_LEN);
		goto fail;
	}
	if (st->readonly) {
		if (user_version(st, &v, err) < 0)
			goto fail;
		if (v != NMIGRATIONS) {
			snprintf(err, CL_ERR_LEN, "database %s has schema version %d, expected %d", path, v,
			         NMIGRATIONS);
			goto fail;
		}
		if (exec(st, "PRAGMA query_only=1", err) < 0)
			goto fail;
	} else if (migrate(st, err) < 0) {
		char tmp[CL_ERR_LEN];
		snprintf(tmp, sizeof(tmp), "database %s: %s", path, err);
		memcpy(err, tmp, CL_ERR_LEN);
		goto fail;
	}
	if (prep(st, &st->find_eid, "SELECT seq FROM events WHERE eid = ?", err) < 0 ||
	    prep(st, &st->get_call, "SELECT " CALL_COLS " FROM calls WHERE call_id = ?", err) < 0 ||
	    prep(st, &st->token_check, "SELECT 1 FROM api_tokens WHERE token_hash = ?", err) < 0 ||
	    prep(st, &st->agent_token, "SELECT token_hash FROM agents WHERE id = ?", err) < 0)
		goto fail;
	if (!st->readonly &&
	    (prep(st, &st->ins_event,
	          "INSERT INTO events(seq, eid, call_id, type, ts, received_at, body) VALUES(?,?,?,?,?,?,?)",
	          err) < 0 ||
	     prep(st, &st->put_call,
	          "INSERT OR REPLACE INTO calls(" CALL_COLS ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	          err) < 0 ||
	     prep(st, &st->agent_state,
	          "INSERT INTO agents(id, state, reason, since, created_at) VALUES(?1,?2,?3,?4,?4) "
	          "ON CONFLICT(id) DO UPDATE SET state = ?2, reason = ?3, since = ?4 WHERE since <= ?4",
	          err) < 0 ||
	     prep(st, &st->begin, "BEGIN IMMEDIATE", err) < 0 || prep(st, &st->commit, "COMMIT", err) < 0 ||
	     prep(st, &st->rollback, "ROLLBACK", err) < 0))
		goto fail;
	return st;
fail:
	cl_store_close(st);
	return NULL;
}

void
cl_store_close(struct cl_store *st)
{
	if (st == NULL)
		return;
	sqlite3_finalize(st->ins_event);
	sqlite3_finalize(st->find_eid);
	sqlite3_finalize(st->get_call);
	sqlite3_finalize(st->put_call);
	sqlite3_finalize(st->agent_state);
	sqlite3_finalize(st->token_check);
	sqlite3_finalize(st->agent_token);
	sqlite3_finalize(st->begin);
	sqlite3_finalize(st->commit);
	sqlite3_finalize(st->rollback);
	sqlite3_close(st->db);
	free(st);
}

sqlite3 *
cl_store_db(struct cl_store *st)
{
	return st->db;
}

/* Runs a statement that returns no rows; resets it either way. */
static int
step_done(struct cl_store *st, sqlite3_stmt *s, char *err)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE) {
		snprintf(err, CL_ERR_LEN, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

int
cl_store_begin(struct cl_store *st, char *err)
{
	return step_done(st, st->begin, err);
}

int
cl_store_commit(struct cl_store *st, char *err)
{
	return step_done(st, st->commit, err);
}

void
cl_store_rollback(struct cl_store *st)
{
	if (!sqlite3_get_autocommit(st->db)) {
		sqlite3_step(st->rollback);
		sqlite3_reset(st->rollback);
	}
}

int64_t
cl_store_last_seq(struct cl_store *st)
{
	sqlite3_stmt *s;
	int64_t seq = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT max(seq) FROM events", -1, &s, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(s) == SQLITE_ROW)
		seq = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return seq;
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

int
cl_store_put_event(struct cl_store *st, const struct cl_event *ev, int64_t *dup_seq, char *err)
{
	sqlite3_stmt *s = st->ins_event;
	int rc;

	sqlite3_bind_int64(s, 1, ev->seq);
	bind_text(s, 2, ev->id);
	bind_text(s, 3, ev->call_id);
	bind_text(s, 4, cl_event_type_name(ev->type));
	sqlite3_bind_int64(s, 5, ev->ts);
	sqlite3_bind_int64(s, 6, ev->received_at);
	bind_text(s, 7, ev->body);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT_UNIQUE && ev->id != NULL) {
		s = st->find_eid;
		bind_text(s, 1, ev->id);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			*dup_seq = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		if (rc == SQLITE_ROW)
			return 1;
	}
	snprintf(err, CL_ERR_LEN, "insert event: %s", sqlite3_errmsg(st->db));
	return -1;
}

static void
copy_col(char *dst, size_t len, sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	snprintf(dst, len, "%s", v ? (const char *)v : "");
}

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
	json_t *agents;
	const char *aj;

	memset(c, 0, sizeof(*c));
	copy_col(c->call_id, sizeof(c->call_id), s, 0);
	c->direction = sqlite3_column_int(s, 1);
	copy_col(c->from, sizeof(c->from), s, 2);
	copy_col(c->to, sizeof(c->to), s, 3);
	copy_col(c->number, sizeof(c->number), s, 4);
	copy_col(c->queue, sizeof(c->queue), s, 5);
	copy_col(c->agent, sizeof(c->agent), s, 6);
	aj = (const char *)sqlite3_column_text(s, 7);
	if (aj != NULL && (agents = json_loads(aj, 0, NULL)) != NULL) {
		size_t i;
		json_t *a;
		json_array_foreach (agents, i, a) {
			if (c->n_agents < CL_CALL_MAX_AGENTS && json_is_string(a))
				snprintf(c->agents[c->n_agents++], sizeof(c->agents[0]), "%s", json_string_value(a));
		}
		json_decref(agents);
	}
	copy_col(c->customer_id, sizeof(c->customer_id), s, 8);
	c->has_offer = sqlite3_column_int(s, 9);
	c->offered_at = sqlite3_column_int64(s, 10);
	c->answered_at = sqlite3_column_int64(s, 11);
	c->ended_at = sqlite3_column_int64(s, 12);
	c->hold_ms = sqlite3_column_int64(s, 13);
	c->hold_since = sqlite3_column_int64(s, 14);
	copy_col(c->end_reason, sizeof(c->end_reason), s, 15);
	copy_col(c->end_by, sizeof(c->end_by), s, 16);
	copy_col(c->disp_code, sizeof(c->disp_code), s, 17);
	copy_col(c->disp_agent, sizeof(c->disp_agent), s, 18);
	c->disp_at = sqlite3_column_int64(s, 19);
	if (sqlite3_column_type(s, 20) != SQLITE_NULL && (c->disp_notes = dup_col(s, 20)) == NULL)
		return -1;
	if (sqlite3_column_type(s, 21) != SQLITE_NULL && (c->data = dup_col(s, 21)) == NULL)
		return -1;
	c->last_seq = sqlite3_column_int64(s, 22);
	c->last_answered_at = sqlite3_column_int64(s, 23);
	return 0;
}

int
cl_store_get_call(struct cl_store *st, const char *call_id, struct cl_call *c, char *err)
{
	sqlite3_stmt *s = st->get_call;
	int rc, ret = 0;

	bind_text(s, 1, call_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		ret = 1;
		if (row_to_call(s, c) < 0) {
			cl_call_clear(c);
			snprintf(err, CL_ERR_LEN, "out of memory");
			ret = -1;
		}
	} else if (rc != SQLITE_DONE) {
		snprintf(err, CL_ERR_LEN, "get call: %s", sqlite3_errmsg(st->db));
		ret = -1;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int
cl_store_put_call(struct cl_store *st, const struct cl_call *c, char *err)
{
	sqlite3_stmt *s = st->put_call;
	json_t *arr = json_array();
	char *aj;
	int rc;

	if (arr == NULL)
		goto oom;
	for (int i = 0; i < c->n_agents; i++)
		json_array_append_new(arr, json_string(c->agents[i]));
	aj = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (aj == NULL)
		goto oom;
	bind_text(s, 1, c->call_id);
	sqlite3_bind_int(s, 2, c->direction);
	bind_text(s, 3, c->from);
	bind_text(s, 4, c->to);
	bind_text(s, 5, c->number);
	bind_text(s, 6, c->queue);
	bind_text(s, 7, c->agent);
	bind_text(s, 8, aj);
	bind_text(s, 9, c->customer_id[0] ? c->customer_id : NULL);
	sqlite3_bind_int(s, 10, c->has_offer);
	sqlite3_bind_int64(s, 11, c->offered_at);
	sqlite3_bind_int64(s, 12, c->answered_at);
	sqlite3_bind_int64(s, 13, c->ended_at);
	sqlite3_bind_int64(s, 14, c->hold_ms);
	sqlite3_bind_int64(s, 15, c->hold_since);
	bind_text(s, 16, c->end_reason);
	bind_text(s, 17, c->end_by);
	bind_text(s, 18, c->disp_code);
	bind_text(s, 19, c->disp_agent);
	sqlite3_bind_int64(s, 20, c->disp_at);
	bind_text(s, 21, c->disp_notes);
	bind_text(s, 22, c->data);
	sqlite3_bind_int64(s, 23, c->last_seq);
	sqlite3_bind_int64(s, 24, c->last_answered_at);
	rc = step_done(st, s, err); /* bindings cleared: aj may go */
	free(aj);
	return rc;
oom:
	snprintf(err, CL_ERR_LEN, "out of memory");
	return -1;
}

int
cl_store_put_agent_state(struct cl_store *st, const char *agent, const char *state, const char *reason, int64_t ts,
                         char *err)
{
	sqlite3_stmt *s = st->agent_state;

	bind_text(s, 1, agent);
	bind_text(s, 2, state);
	bind_text(s, 3, reason ? reason : "");
	sqlite3_bind_int64(s, 4, ts);
	return step_done(st, s, err);
}

json_t *
cl_store_list_calls(struct cl_store *st, const struct cl_call_filter *f, int64_t now_ms, char *err)
{
	char sql[1024];
	sqlite3_stmt *s = NULL;
	json_t *calls = json_array(), *out = NULL;
	int i = 1, rc;

	snprintf(sql, sizeof(sql),
	         "SELECT " CALL_COLS " FROM calls WHERE 1%s%s%s%s%s ORDER BY offered_at DESC, rowid DESC LIMIT ?",
	         f->since ? " AND offered_at >= ?" : "", f->until ? " AND offered_at < ?" : "",
	         f->agent ? " AND (agent = ? OR EXISTS (SELECT 1 FROM json_each(calls.agents) WHERE value = ?))" : "",
	         f->queue ? " AND queue = ?" : "", f->number ? " AND (number = ? OR from_num = ? OR to_num = ?)" : "");
	if (calls == NULL)
		goto oom;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		goto dberr;
	if (f->since)
		sqlite3_bind_int64(s, i++, f->since);
	if (f->until)
		sqlite3_bind_int64(s, i++, f->until);
	if (f->agent) {
		bind_text(s, i++, f->agent);
		bind_text(s, i++, f->agent);
	}
	if (f->queue)
		bind_text(s, i++, f->queue);
	if (f->number) {
		bind_text(s, i++, f->number);
		bind_text(s, i++, f->number);
		bind_text(s, i++, f->number);
	}
	sqlite3_bind_int(s, i, f->limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cl_call c;
		json_t *j;
		if (row_to_call(s, &c) < 0 || (j = cl_call_to_json(&c, now_ms)) == NULL) {
			cl_call_clear(&c);
			goto oom;
		}
		cl_call_clear(&c);
		json_array_append_new(calls, j);
	}
	if (rc != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(s);
	if ((out = json_pack("{s:o}", "calls", calls)) == NULL)
		snprintf(err, CL_ERR_LEN, "out of memory");
	return out;
dberr:
	snprintf(err, CL_ERR_LEN, "list calls: %s", sqlite3_errmsg(st->db));
	goto fail;
oom:
	snprintf(err, CL_ERR_LEN, "out of memory");
fail:
	sqlite3_finalize(s);
	json_decref(calls);
	return NULL;
}

json_t *
cl_store_call_json(struct cl_store *st, const char *call_id, int64_t now_ms, char *err)
{
	struct cl_call c;
	sqlite3_stmt *s = NULL;
	json_t *call = NULL, *events = NULL;
	int rc;

	err[0] = '\0';
	rc = cl_store_get_call(st, call_id, &c, err);
	if (rc <= 0)
		return NULL;
	call = cl_call_to_json(&c, now_ms);
	cl_call_clear(&c);
	if (call == NULL || (events = json_array()) == NULL)
		goto oom;
	if (sqlite3_prepare_v2(st->db, "SELECT seq, ts, received_at, body FROM events WHERE call_id = ? ORDER BY seq",
	                       -1, &s, NULL) != SQLITE_OK)
		goto dberr;
	bind_text(s, 1, call_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char t1[CL_TIME_LEN], t2[CL_TIME_LEN];
		json_t *ev = json_loads((const char *)sqlite3_column_text(s, 3), 0, NULL);
		if (ev == NULL || !json_is_object(ev)) {
			json_decref(ev);
			ev = json_object();
			if (ev == NULL)
				goto oom;
		}
		cl_time_format(sqlite3_column_int64(s, 1), t1);
		cl_time_format(sqlite3_column_int64(s, 2), t2);
		json_object_set_new(ev, "seq", json_integer(sqlite3_column_int64(s, 0)));
		json_object_set_new(ev, "ts", json_string(t1));
		json_object_set_new(ev, "received_at", json_string(t2));
		json_array_append_new(events, ev);
	}
	if (rc != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(s);
	json_object_set_new(call, "events", events);
	return call;
dberr:
	snprintf(err, CL_ERR_LEN, "call events: %s", sqlite3_errmsg(st->db));
	goto fail;
oom:
	snprintf(err, CL_ERR_LEN, "out of memory");
fail:
	sqlite3_finalize(s);
	json_decref(events);
	json_decref(call);
	return NULL;
}

/* A new token in out (CL_TOKEN_LEN) and its stored hash in hash (CL_SHA256_HEX). */
static int
new_token(char *out, char *hash, char *err)
{
	unsigned char raw[32];

	if (cl_random_bytes(raw, sizeof(raw)) < 0) {
		snprintf(err, CL_ERR_LEN, "no randomness available");
		return -1;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	cl_sha256_hex(out, strlen(out), hash);
	return 0;
}

int
cl_store_token_add(struct cl_store *st, const char *name, char *token_out, char *err)
{
	char hash[CL_SHA256_HEX];
	sqlite3_stmt *s = NULL;
	int rc;

	if (new_token(token_out, hash, err) < 0)
		return -1;
	if (sqlite3_prepare_v2(st->db, "INSERT INTO api_tokens(name, token_hash, created_at) VALUES(?,?,?)", -1, &s,
	                       NULL) != SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	bind_text(s, 1, name);
	bind_text(s, 2, hash);
	sqlite3_bind_int64(s, 3, cl_now_ms());
	rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		snprintf(err, CL_ERR_LEN, "a token named \"%s\" already exists", name);
	else if (rc != SQLITE_DONE)
		snprintf(err, CL_ERR_LEN, "%s", sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
cl_store_token_check(struct cl_store *st, const char *token)
{
	char hash[CL_SHA256_HEX];
	sqlite3_stmt *s = st->token_check;
	int rc;

	if (token == NULL || strlen(token) > 256)
		return 0;
	cl_sha256_hex(token, strlen(token), hash);
	bind_text(s, 1, hash);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int
cl_store_agent_add(struct cl_store *st, const char *id, const char *name, char *token_out, char *err)
{
	char hash[CL_SHA256_HEX];
	sqlite3_stmt *s = NULL;
	int rc;

	if (new_token(token_out, hash, err) < 0)
		return -1;
	/* An agent first seen through agent.state events has no token yet: give it one. */
	if (sqlite3_prepare_v2(st->db,
	                       "INSERT INTO agents(id, name, token_hash, created_at) VALUES(?1,?2,?3,?4) "
	                       "ON CONFLICT(id) DO UPDATE SET name = ?2, token_hash = ?3 WHERE token_hash IS NULL",
	                       -1, &s, NULL) != SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	bind_text(s, 1, id);
	bind_text(s, 2, name ? name : id);
	bind_text(s, 3, hash);
	sqlite3_bind_int64(s, 4, cl_now_ms());
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && sqlite3_changes(st->db) == 0) {
		snprintf(err, CL_ERR_LEN, "agent \"%s\" already exists", id);
		rc = SQLITE_CONSTRAINT;
	} else if (rc != SQLITE_DONE) {
		snprintf(err, CL_ERR_LEN, "%s", sqlite3_errmsg(st->db));
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
cl_store_agent_remove(struct cl_store *st, const char *id, char *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "DELETE FROM agents WHERE id = ?", -1, &s, NULL) != SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	bind_text(s, 1, id);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		snprintf(err, CL_ERR_LEN, "%s", sqlite3_errmsg(st->db));
		return -1;
	}
	return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

int
cl_store_agent_check(struct cl_store *st, const char *id, const char *token)
{
	char hash[CL_SHA256_HEX];
	sqlite3_stmt *s = st->agent_token;
	int rc, ok = 0;

	if (id == NULL || token == NULL || strlen(token) > 256)
		return 0;
	cl_sha256_hex(token, strlen(token), hash);
	bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *stored = (const char *)sqlite3_column_text(s, 0);
		ok = stored != NULL && strlen(stored) == CL_SHA256_HEX - 1 &&
		     cl_ct_equal(stored, hash, CL_SHA256_HEX - 1);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ok : -1;
}

json_t *
cl_store_agents(struct cl_store *st, char *err)
{
	sqlite3_stmt *s = NULL;
	json_t *arr = json_array();
	int rc;

	if (arr == NULL)
		goto oom;
	if (sqlite3_prepare_v2(st->db, "SELECT id, name, state, reason, since FROM agents ORDER BY id", -1, &s, NULL) !=
	    SQLITE_OK)
		goto dberr;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char since[CL_TIME_LEN];
		int64_t t = sqlite3_column_int64(s, 4);
		const char *reason = (const char *)sqlite3_column_text(s, 3);
		cl_time_format(t, since);
		json_array_append_new(arr,
		                      json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", sqlite3_column_text(s, 0), "name",
		                                sqlite3_column_text(s, 1), "state", sqlite3_column_text(s, 2), "reason",
		                                reason && reason[0] ? json_string(reason) : json_null(), "since",
		                                t ? json_string(since) : json_null()));
	}
	if (rc != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(s);
	return json_pack("{s:o}", "agents", arr);
dberr:
	snprintf(err, CL_ERR_LEN, "agents: %s", sqlite3_errmsg(st->db));
	goto fail;
oom:
	snprintf(err, CL_ERR_LEN, "out of memory");
fail:
	sqlite3_finalize(s);
	json_decref(arr);
	return NULL;
}

int
cl_store_purge(struct cl_store *st, int64_t before_ms, int64_t *ncalls, char *err)
{
	char sql[256];

	*ncalls = 0;
	if (exec(st, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	snprintf(
	    sql, sizeof(sql),
	    "DELETE FROM events WHERE call_id IN (SELECT call_id FROM calls WHERE ended_at > 0 AND ended_at < %lld)",
	    (long long)before_ms);
	if (exec(st, sql, err) < 0)
		goto fail;
	snprintf(sql, sizeof(sql), "DELETE FROM calls WHERE ended_at > 0 AND ended_at < %lld", (long long)before_ms);
	if (exec(st, sql, err) < 0)
		goto fail;
	*ncalls = sqlite3_changes(st->db);
	return exec(st, "COMMIT", err);
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* ---- TEMPORARY (live branch): the storage engineer ports these to the ops table ---- */

int
cl_store_event_seq(struct cl_store *st, const char *id, int64_t *seq, char *err)
{
	sqlite3_stmt *s = st->find_eid;
	int rc;

	bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*seq = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	snprintf(err, CL_ERR_LEN, "find event: %s", sqlite3_errmsg(st->db));
	return -1;
}

int
cl_store_live_events(struct cl_store *st, int64_t since_ms,
                     int (*fn)(void *arg, const char *body, size_t len, int64_t received_at), void *arg, char *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db,
	                       "SELECT e.body, e.received_at FROM calls c JOIN events e ON e.call_id = c.call_id"
	                       " WHERE c.offered_at >= ?1 AND c.ended_at = 0 ORDER BY e.seq",
	                       -1, &s, NULL) != SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "live events: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	sqlite3_bind_int64(s, 1, since_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *body = (const char *)sqlite3_column_text(s, 0);
		if (body != NULL && fn(arg, body, (size_t)sqlite3_column_bytes(s, 0), sqlite3_column_int64(s, 1)) < 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		snprintf(err, CL_ERR_LEN, "live events: %s", sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}
