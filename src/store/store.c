/* store.c : owns the storage interface: chooses a backend for a store name and
 * dispatches every call through its operations table. Tokens are made and
 * hashed here, so no backend ever sees one in clear. */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "callogd/sha256.h"
#include "callogd/util.h"

/* Tried in order; the last one (SQLite: any path) claims every name. */
static const struct cl_store_backend *const backends[] = {&cl_store_pg, &cl_store_sqlite};

struct cl_store_feed *
cl_store_feed_open(const char *where, char *err)
{
	err[0] = '\0';
	if (where == NULL || !cl_store_pg.claims(where))
		return NULL; /* SQLite: one daemon per database, nothing to follow */
	return pg_feed_open(where, err);
}

void
cl_store_feed_close(struct cl_store_feed *f)
{
	pg_feed_close(f);
}

int
cl_store_feed_last(struct cl_store_feed *f, int64_t *seq, char *err)
{
	return pg_feed_last(f, seq, err);
}

int
cl_store_feed_wait(struct cl_store_feed *f, int timeout_ms, char *err)
{
	return pg_feed_wait(f, timeout_ms, err);
}

int
cl_store_feed_fetch(struct cl_store_feed *f, int64_t after_seq, int max,
                    int (*fn)(void *, int64_t, int, const char *, size_t, int64_t), void *arg, char *err)
{
	return pg_feed_fetch(f, after_seq, max, fn, arg, err);
}

int
cl_store_feed_lead(struct cl_store_feed *f, char *err)
{
	return pg_feed_lead(f, err);
}

static char node_name[256];

void
cl_store_set_node(const char *name)
{
	snprintf(node_name, sizeof(node_name), "%s", name);
}

const char *
cl_store_node(void)
{
	return node_name;
}

const char *
cl_schema_section(const char *schema, int v, size_t *len)
{
	char mark[32];
	const char *p, *end;
	size_t n = (size_t)snprintf(mark, sizeof(mark), "\n-- version %d", v);

	for (p = strstr(schema, mark); p != NULL; p = strstr(p + 1, mark))
		if (p[n] == '\n' || p[n] == ':')
			break;
	if (p == NULL || (p = strchr(p + n, '\n')) == NULL)
		return NULL;
	end = strstr(p, "\n-- version ");
	*len = end ? (size_t)(end - p) : strlen(p);
	return p;
}

int
cl_schema_latest(const char *schema)
{
	size_t len;
	int v = 0;

	while (cl_schema_section(schema, v + 1, &len) != NULL)
		v++;
	return v;
}

struct cl_store *
cl_store_open(const char *where, int flags, char *err)
{
	if (where == NULL || where[0] == '\0') {
		snprintf(err, CL_ERR_LEN, "no database named");
		return NULL;
	}
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (backends[i]->claims(where))
			return backends[i]->open(where, flags, err);
	snprintf(err, CL_ERR_LEN, "no storage backend for %s", where);
	return NULL;
}

void
cl_store_close(struct cl_store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

int
cl_store_begin(struct cl_store *st, char *err)
{
	return st->ops->begin(st, err);
}

int
cl_store_commit(struct cl_store *st, char *err)
{
	return st->ops->commit(st, err);
}

void
cl_store_rollback(struct cl_store *st)
{
	st->ops->rollback(st);
}

int
cl_store_begin_read(struct cl_store *st, char *err)
{
	return st->ops->begin_read(st, err);
}

void
cl_store_end_read(struct cl_store *st)
{
	st->ops->end_read(st);
}

int
cl_store_changed(struct cl_store *st, char *err)
{
	return st->ops->changed(st, err);
}

int
cl_store_check(struct cl_store *st, char *err)
{
	return st->ops->check(st, err);
}

void
cl_store_interrupt(struct cl_store *st)
{
	st->ops->interrupt(st);
}

int
cl_store_last_seq(struct cl_store *st, int64_t *seq, char *err)
{
	return st->ops->last_seq(st, seq, err);
}

int
cl_store_put_event(struct cl_store *st, struct cl_event *ev, int64_t *dup_seq, char *err)
{
	return st->ops->put_event(st, ev, dup_seq, err);
}

int
cl_store_lists_event_ids(const struct cl_store *st)
{
	return st->ops->event_ids != NULL;
}

int
cl_store_event_ids(struct cl_store *st, int (*fn)(void *, const char *, size_t), void *arg, char *err)
{
	if (st->ops->event_ids == NULL) {
		snprintf(err, CL_ERR_LEN, "the %s backend keeps no list of ids", st->ops->name);
		return -1;
	}
	return st->ops->event_ids(st, fn, arg, err);
}

int
cl_store_event_seq(struct cl_store *st, const char *event_id, int64_t *seq, char *err)
{
	if (event_id == NULL)
		return 0;
	return st->ops->event_seq(st, event_id, seq, err);
}

int
cl_store_call_events(struct cl_store *st, const char *call_id, int (*fn)(void *, const struct cl_stored_event *),
                     void *arg, char *err)
{
	return st->ops->call_events(st, call_id, fn, arg, err);
}

int
cl_store_live_events(struct cl_store *st, int64_t since_ms, int (*fn)(void *, const char *, size_t, int64_t), void *arg,
                     char *err)
{
	return st->ops->live_events(st, since_ms, fn, arg, err);
}

int
cl_store_get_call(struct cl_store *st, const char *call_id, struct cl_call *c, char *err)
{
	return st->ops->get_call(st, call_id, c, err);
}

int
cl_store_put_call(struct cl_store *st, const struct cl_call *c, char *err)
{
	return st->ops->put_call(st, c, err);
}

int
cl_store_list_calls(struct cl_store *st, const struct cl_call_filter *f, int (*fn)(void *, const struct cl_call *),
                    void *arg, char *err)
{
	return st->ops->list_calls(st, f, fn, arg, err);
}

int
cl_store_history(struct cl_store *st, const char *customer_id, const char *number, const char *exclude_call_id, int max,
                 int (*fn)(void *, const struct cl_history_row *), void *arg, char *err)
{
	return st->ops->history(st, customer_id, number, exclude_call_id, max, fn, arg, err);
}

int
cl_store_queue_stats(struct cl_store *st, const char *queue, int64_t from_ms, int64_t now_ms, int64_t sla_ms,
                     int (*fn)(void *, const struct cl_queue_stats *), void *arg, char *err)
{
	return st->ops->queue_stats(st, queue, from_ms, now_ms, sla_ms, fn, arg, err);
}

int
cl_store_purge(struct cl_store *st, int64_t before_ms, int64_t *ncalls, char *err)
{
	*ncalls = 0;
	if (st->ops->purge(st, before_ms, ncalls, err) < 0)
		return -1;
	return cl_store_recount_slots_before(st, before_ms, err) < 0 ? -1 : 0;
}

int
cl_store_put_mark(struct cl_store *st, const struct cl_event *ev, char *err)
{
	return st->ops->put_mark(st, ev, err);
}

int
cl_store_call_marks(struct cl_store *st, const char *call_id, int (*fn)(void *, const struct cl_event *), void *arg,
                    char *err)
{
	return st->ops->call_marks(st, call_id, fn, arg, err);
}

int
cl_store_put_legs(struct cl_store *st, const char *call_id, const struct cl_call_facts *f, char *err)
{
	return st->ops->put_legs(st, call_id, f, err);
}

int
cl_store_report_calls(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *queue, int64_t now_ms,
                      int (*fn)(void *, const struct cl_report_call *), void *arg, char *err)
{
	return st->ops->report_calls(st, from_ms, until_ms, queue, now_ms, fn, arg, err);
}

int
cl_store_report_legs(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *agent,
                     int (*fn)(void *, const struct cl_report_leg *), void *arg, char *err)
{
	return st->ops->report_legs(st, from_ms, until_ms, agent, fn, arg, err);
}

int
cl_store_agent_states(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *agent,
                      int (*fn)(void *, const struct cl_state_row *), void *arg, char *err)
{
	return st->ops->agent_states(st, from_ms, until_ms, agent, fn, arg, err);
}

int
cl_store_customer_get(struct cl_store *st, const char *id, struct cl_customer *c, char *err)
{
	return st->ops->customer_get(st, id, c, err);
}

int
cl_store_customer_match(struct cl_store *st, const char *number, int max, char (*ids)[CL_ID_MAX + 1], int *matches,
                        char *err)
{
	return st->ops->customer_match(st, number, max, ids, matches, err);
}

int
cl_store_customer_put(struct cl_store *st, const struct cl_customer_update *u, int *existed, char *err)
{
	return st->ops->customer_put(st, u, existed, err);
}

int
cl_store_phones(struct cl_store *st, const char *from, int limit, int (*fn)(void *, const char *), void *arg, char *err)
{
	return st->ops->phones(st, from, limit, fn, arg, err);
}

int
cl_store_put_agent_state(struct cl_store *st, const char *agent, const char *state, const char *reason, int64_t ts,
                         char *err)
{
	return st->ops->put_agent_state(st, agent, state, reason ? reason : "", ts, err);
}

int
cl_store_agents(struct cl_store *st, int (*fn)(void *, const struct cl_agent_row *), void *arg, char *err)
{
	return st->ops->agents(st, fn, arg, err);
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
cl_store_token_add(struct cl_store *st, const char *name, int role, char *token_out, char *err)
{
	char hash[CL_SHA256_HEX];

	if (cl_role_name(role) == NULL) {
		snprintf(err, CL_ERR_LEN, "unknown role");
		return -1;
	}
	if (new_token(token_out, hash, err) < 0)
		return -1;
	return st->ops->token_add(st, name, cl_role_name(role), hash, cl_now_ms(), err);
}

static const struct {
	int role;
	const char *name;
} roles[] = {{CL_ROLE_ADMIN, "admin"}, {CL_ROLE_SUPERVISOR, "supervisor"}, {CL_ROLE_PRODUCER, "producer"}};

int
cl_role_parse(const char *s)
{
	for (size_t i = 0; s != NULL && i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(s, roles[i].name) == 0)
			return roles[i].role;
	return 0;
}

const char *
cl_role_name(int role)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (roles[i].role == role)
			return roles[i].name;
	return NULL;
}

int
cl_store_token_check(struct cl_store *st, const char *token)
{
	char hash[CL_SHA256_HEX], err[CL_ERR_LEN];

	if (token == NULL || strlen(token) > 256)
		return 0;
	cl_sha256_hex(token, strlen(token), hash);
	return st->ops->token_find(st, hash, err);
}

int
cl_store_agent_add(struct cl_store *st, const char *id, const char *name, char *token_out, char *err)
{
	char hash[CL_SHA256_HEX];

	if (new_token(token_out, hash, err) < 0)
		return -1;
	return st->ops->agent_add(st, id, name ? name : id, hash, cl_now_ms(), err);
}

int
cl_store_agent_remove(struct cl_store *st, const char *id, char *err)
{
	return st->ops->agent_remove(st, id, err);
}

int
cl_store_agent_check(struct cl_store *st, const char *id, const char *token)
{
	char hash[CL_SHA256_HEX], stored[CL_SHA256_HEX], err[CL_ERR_LEN];
	int rc;

	if (id == NULL || token == NULL || strlen(token) > 256)
		return 0;
	cl_sha256_hex(token, strlen(token), hash);
	rc = st->ops->agent_token(st, id, stored, err);
	if (rc <= 0)
		return rc;
	return strlen(stored) == CL_SHA256_HEX - 1 && cl_ct_equal(stored, hash, CL_SHA256_HEX - 1);
}

int
cl_store_agent_active(struct cl_store *st, const char *id)
{
	char stored[CL_SHA256_HEX], err[CL_ERR_LEN];

	return id != NULL && st->ops->agent_token(st, id, stored, err) == 1 && stored[0] != '\0';
}

/* The generation of a token hash (hex). */
static void
agent_gen(const char *hash, char *gen)
{
	char msg[16 + CL_SHA256_HEX], out[CL_SHA256_HEX];
	int n = snprintf(msg, sizeof(msg), "callogd-gen|%s", hash);

	cl_sha256_hex(msg, (size_t)n, out);
	memcpy(gen, out, CL_AGENT_GEN_LEN - 1);
	gen[CL_AGENT_GEN_LEN - 1] = '\0';
}

void
cl_agent_gen_of_token(const char *token, char *gen)
{
	char hash[CL_SHA256_HEX];

	cl_sha256_hex(token, strlen(token), hash);
	agent_gen(hash, gen);
}

int
cl_store_agent_gen(struct cl_store *st, const char *id, char *gen)
{
	char stored[CL_SHA256_HEX], err[CL_ERR_LEN];
	int rc = st->ops->agent_token(st, id, stored, err);

	gen[0] = '\0';
	if (rc == 1 && stored[0] == '\0')
		rc = 0;
	if (rc == 1)
		agent_gen(stored, gen);
	return rc;
}

int
cl_store_revoke_session(struct cl_store *st, const char *mac, int64_t until_ms, int64_t now_ms, char *err)
{
	return st->ops->revoke_session(st, mac, until_ms, now_ms, err);
}

int
cl_store_revoked_sessions(struct cl_store *st, int64_t now_ms, void (*fn)(void *, const char *, int64_t), void *arg,
                          char *err)
{
	return st->ops->revoked_sessions(st, now_ms, fn, arg, err);
}

int
cl_store_secret(struct cl_store *st, const char *name, unsigned char *out, size_t len, char *err)
{
	return st->ops->secret(st, name, out, len, err);
}

int
cl_store_connected(struct cl_store *st, int64_t since_ms, int (*fn)(void *, const struct cl_connected_row *), void *arg,
                   char *err)
{
	return st->ops->connected(st, since_ms, fn, arg, err);
}

int
cl_store_outbox_put(struct cl_store *st, const struct cl_outbox_put *p, char *err)
{
	return st->ops->outbox_put(st, p, err);
}

int
cl_store_outbox_due(struct cl_store *st, const char *hook, int64_t now_ms, int max,
                    int (*fn)(void *, const struct cl_outbox_row *), void *arg, int64_t *open, char *err)
{
	return st->ops->outbox_due(st, hook, now_ms, max, fn, arg, open, err);
}

int
cl_store_outbox_result(struct cl_store *st, int64_t id, int state, int64_t due_ms, int status, const char *error,
                       int64_t now_ms, char *err)
{
	return st->ops->outbox_result(st, id, state, due_ms, status, error, now_ms, err);
}

int
cl_store_outbox_list(struct cl_store *st, int max, int (*fn)(void *, const struct cl_outbox_row *), void *arg,
                     char *err)
{
	return st->ops->outbox_list(st, max, fn, arg, err);
}

int
cl_store_outbox_retry(struct cl_store *st, const char *delivery_id, int64_t now_ms, char *err)
{
	return st->ops->outbox_retry(st, delivery_id, now_ms, err);
}
