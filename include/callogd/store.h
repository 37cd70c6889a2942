/* store.h : owns the SQLite database: schema, the event log, call records,
 * agents and API tokens. One struct cl_store per connection and thread. */
#ifndef CALLOGD_STORE_H
#define CALLOGD_STORE_H

#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "callogd/calls.h"
#include "callogd/event.h"

#define CL_SCHEMA_VERSION 3

struct cl_store;

enum cl_store_flags {
	CL_STORE_READONLY = 1, /* a reader: no schema creation, query_only */
};

/*
 * cl_store_open() : opens (creating, unless read-only) the database at path in
 * WAL mode with synchronous=FULL and brings its schema to CL_SCHEMA_VERSION.
 * NULL with err filled on failure.
 */
struct cl_store *cl_store_open(const char *path, int flags, char *err);
void cl_store_close(struct cl_store *st);
/* The raw handle, for modules that keep their own statements (customers.c). */
sqlite3 *cl_store_db(struct cl_store *st);

int cl_store_begin(struct cl_store *st, char *err);
int cl_store_commit(struct cl_store *st, char *err);
void cl_store_rollback(struct cl_store *st);

/* The highest seq ever committed (0 for a new database). */
int64_t cl_store_last_seq(struct cl_store *st);

/*
 * cl_store_put_event() : appends ev to the event log with seq ev->seq. Returns
 * 0 when stored, 1 when ev->id was already stored (*dup_seq is then its seq),
 * -1 on error.
 */
int cl_store_put_event(struct cl_store *st, const struct cl_event *ev, int64_t *dup_seq, char *err);

/* cl_store_get_call() : 1 and c filled when found (caller clears c), 0 when not, -1 on error. */
int cl_store_get_call(struct cl_store *st, const char *call_id, struct cl_call *c, char *err);
/* cl_store_put_call() : inserts or replaces the record. */
int cl_store_put_call(struct cl_store *st, const struct cl_call *c, char *err);

/* cl_store_put_agent_state() : records an agent's presence (creates the agent if unknown). */
int cl_store_put_agent_state(struct cl_store *st, const char *agent, const char *state, const char *reason, int64_t ts,
                             char *err);

struct cl_call_filter {
	int64_t since, until;               /* offered_at range in ms, 0 = open */
	const char *agent, *queue, *number; /* NULL = any; number is normalised */
	int limit;                          /* 1..1000 */
};

/* cl_store_list_calls() : {"calls":[...]} newest first; a new reference or NULL. */
json_t *cl_store_list_calls(struct cl_store *st, const struct cl_call_filter *f, int64_t now_ms, char *err);
/*
 * cl_store_call_json() : the call with "events":[...]. NULL with err "" when
 * there is no such call, NULL with err set on error.
 */
json_t *cl_store_call_json(struct cl_store *st, const char *call_id, int64_t now_ms, char *err);

/* Tokens: 32 random bytes, shown once as 64 hex digits, stored as SHA-256. */
#define CL_TOKEN_LEN 65
int cl_store_token_add(struct cl_store *st, const char *name, char *token_out, char *err);
/* 1 when token is a valid API token, 0 when not, -1 on error. */
int cl_store_token_check(struct cl_store *st, const char *token);

int cl_store_agent_add(struct cl_store *st, const char *id, const char *name, char *token_out, char *err);
/* 1 removed, 0 no such agent, -1 error. */
int cl_store_agent_remove(struct cl_store *st, const char *id, char *err);
/* 1 when token is agent id's token (compared in constant time), 0 when not, -1 on error. */
int cl_store_agent_check(struct cl_store *st, const char *id, const char *token);
/* 1 when agent id exists and has a token (may log in), else 0. */
int cl_store_agent_active(struct cl_store *st, const char *id);
/* cl_store_revoke_session() : keeps a logged-out session (its MAC) revoked until until_ms, and
 * forgets revocations that expired before now_ms; one transaction. */
int cl_store_revoke_session(struct cl_store *st, const char *mac, int64_t until_ms, int64_t now_ms, char *err);
/* cl_store_revoked_sessions() : calls fn(arg, mac, until_ms) for each revocation still running at now_ms. */
int cl_store_revoked_sessions(struct cl_store *st, int64_t now_ms, void (*fn)(void *, const char *, int64_t), void *arg,
                              char *err);

/* cl_store_secret() : the daemon secret name (len bytes), made at schema set-up. */
int cl_store_secret(struct cl_store *st, const char *name, unsigned char *out, size_t len, char *err);
/* {"agents":[{"id","name","state","reason","since"}]} */
json_t *cl_store_agents(struct cl_store *st, char *err);

/* cl_store_purge() : deletes calls ended before before_ms, and their events. */
int cl_store_purge(struct cl_store *st, int64_t before_ms, int64_t *ncalls, char *err);

/* ---- TEMPORARY (live branch): the storage engineer ports these to the ops table ---- */

/* cl_store_event_seq() : the dedup probe: 1 with *seq when an event with id is stored, 0 when not, -1 on error. */
int cl_store_event_seq(struct cl_store *st, const char *id, int64_t *seq, char *err);
/*
 * cl_store_live_events() : calls fn(arg, body, len, received_at) for each stored
 * event line of the calls not ended that were offered at or after since_ms, in
 * seq order; fn returning -1 stops it. 0, or -1 with err filled.
 */
int cl_store_live_events(struct cl_store *st, int64_t since_ms,
                         int (*fn)(void *arg, const char *body, size_t len, int64_t received_at), void *arg, char *err);

#endif
