/* sqlite.h : the SQLite backend's state and helpers, shared by its files
 * (sqlite.c: connection, schema, transactions, event log, secrets;
 * sqlite_calls.c: call records; sqlite_people.c: customers, agents, tokens).
 * Private to src/store. */
#ifndef CALLOGD_STORE_SQLITE_H
#define CALLOGD_STORE_SQLITE_H

#include <sqlite3.h>

#include "backend.h"

/* Statements prepared on first use and kept until close; one slot each. */
enum sq_slot {
	SQ_BEGIN,
	SQ_BEGIN_READ,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_PUT_SEQ,
	SQ_DATA_VERSION,
	SQ_CHECK,
	SQ_INS_EVENT,
	SQ_FIND_EID,
	SQ_EVENT_IDS,
	SQ_CALL_EVENTS,
	SQ_LIVE_EVENTS,
	SQ_GET_CALL,
	SQ_PUT_CALL,
	SQ_HIST_CUSTOMER,
	SQ_HIST_NUMBER,
	SQ_STATS,
	SQ_PURGE_PICK,
	SQ_PURGE_EVENTS,
	SQ_PURGE_CALL,
	SQ_CUST_COUNT,
	SQ_CUST_RANK,
	SQ_CUST_GET,
	SQ_CUST_EXISTS,
	SQ_CUST_DEL_PHONES,
	SQ_CUST_INS_PHONE,
	SQ_PHONES,
	SQ_AGENT_STATE,
	SQ_AGENTS,
	SQ_AGENT_ADD,
	SQ_AGENT_REMOVE,
	SQ_AGENT_TOKEN,
	SQ_TOKEN_ADD,
	SQ_TOKEN_FIND,
	SQ_META_GET,
	SQ_META_PUT,
	SQ_REVOKE_PUT,
	SQ_REVOKE_EXPIRE,
	SQ_REVOKED,
	SQ_PUT_MARK,
	SQ_CALL_MARKS,
	SQ_DEL_LEGS,
	SQ_PUT_LEG,
	SQ_PUT_STATE_ROW,
	SQ_PURGE_MARKS,
	SQ_PURGE_LEGS,
	SQ_REPORT_CALLS,                      /* 2 slots: all queues, one queue */
	SQ_REPORT_LEGS = SQ_REPORT_CALLS + 2, /* 2 slots: all agents, one agent */
	SQ_STATE_AGENTS = SQ_REPORT_LEGS + 2, /* 2 slots */
	SQ_STATES = SQ_STATE_AGENTS + 2,
	SQ_CONNECTED,
	SQ_SLOT_PUT,
	SQ_SLOT_CLEAR,
	SQ_SLOT_CONF_GET,
	SQ_SLOT_CONF_PUT,
	SQ_SLOT_CONF_DEL,
	SQ_PURGE_STATES,
	SQ_OB_LATEST,
	SQ_OB_INSERT,
	SQ_OB_UPDATE,
	SQ_OB_PROMOTE,
	SQ_OB_DUE,
	SQ_OB_COUNT,
	SQ_OB_RESULT,
	SQ_OB_LIST,
	SQ_OB_RETRY,
	SQ_OB_PURGE,
	SQ_REPORT_SLOTS,                     /* 4 slots: all queues or one, with the codes' rows or not */
	SQ_LIST_CALLS = SQ_REPORT_SLOTS + 4, /* 64 slots: one per combination of filters */
	SQ_CUST_UPSERT = SQ_LIST_CALLS + 64, /* 64 slots: one per set of columns an import writes */
	SQ__SLOTS = SQ_CUST_UPSERT + 64
};

struct sq {
	struct cl_store base; /* first: its ops table */
	sqlite3 *db;
	int readonly;
	int64_t txn_seq;      /* the highest seq written in the open transaction, 0 if none */
	int64_t data_version; /* as last seen by sq_changed */
	int nested_reads;     /* begin_read calls inside a transaction already open */
	sqlite3_stmt *stmt[SQ__SLOTS];
};

/* sq_stmt() : the statement in slot, prepared from sql on first use; NULL with err filled. */
sqlite3_stmt *sq_stmt(struct sq *q, int slot, const char *sql, char *err);
/* sq_done() : resets s and clears its bindings after use. */
void sq_done(sqlite3_stmt *s);
/* sq_fail() : fills err with what, then SQLite's message; returns -1. */
int sq_fail(struct sq *q, const char *what, char *err);
/* sq_exec() : runs SQL text that returns no rows (set-up, migrations). */
int sq_exec(struct sq *q, const char *sql, char *err);
/* sq_run() : steps s to its end; resets it either way; -1 with err. */
int sq_run(struct sq *q, sqlite3_stmt *s, const char *what, char *err);

/*
 * Binding: each helper does nothing once *rc is no longer SQLITE_OK, so a
 * row of binds is checked once. Texts are bound SQLITE_STATIC: they must
 * outlive the step. A NULL text binds NULL.
 */
void sq_text(sqlite3_stmt *s, int i, const char *v, int *rc);
void sq_textn(sqlite3_stmt *s, int i, const char *v, size_t len, int *rc);
void sq_int(sqlite3_stmt *s, int i, int64_t v, int *rc);

/* Column readers: "" for NULL text; sq_copy truncates into dst (len bytes). */
const char *sq_col(sqlite3_stmt *s, int i);
void sq_copy(char *dst, size_t len, sqlite3_stmt *s, int i);

/* The operations, by file. */
int sq_get_call(struct cl_store *st, const char *call_id, struct cl_call *c, char *err);
int sq_put_call(struct cl_store *st, const struct cl_call *c, char *err);
int sq_event_ids(struct cl_store *st, int (*fn)(void *, const char *, size_t), void *arg, char *err);
int sq_list_calls(struct cl_store *st, const struct cl_call_filter *f, int (*fn)(void *, const struct cl_call *),
                  void *arg, char *err);
int sq_history(struct cl_store *st, const char *customer_id, const char *number, const char *exclude, int max,
               int (*fn)(void *, const struct cl_history_row *), void *arg, char *err);
int sq_queue_stats(struct cl_store *st, const char *queue, int64_t from_ms, int64_t now_ms, int64_t sla_ms,
                   int (*fn)(void *, const struct cl_queue_stats *), void *arg, char *err);
int sq_purge(struct cl_store *st, int64_t before_ms, int64_t *ncalls, char *err);
int sq_backfill_outcomes(struct sq *q, char *err);

/* sqlite_reports.c: what reports need (docs/http-api.md). */
int sq_put_mark(struct cl_store *st, const struct cl_event *ev, char *err);
int sq_call_marks(struct cl_store *st, const char *call_id, int (*fn)(void *, const struct cl_event *), void *arg,
                  char *err);
int sq_put_legs(struct cl_store *st, const char *call_id, const struct cl_call_facts *f, char *err);
int sq_report_calls(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *queue, int64_t now_ms,
                    int (*fn)(void *, const struct cl_report_call *), void *arg, char *err);
int sq_report_legs(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *agent,
                   int (*fn)(void *, const struct cl_report_leg *), void *arg, char *err);
int sq_agent_states(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *agent,
                    int (*fn)(void *, const struct cl_state_row *), void *arg, char *err);
int sq_connected(struct cl_store *st, int64_t since_ms, int (*fn)(void *, const struct cl_connected_row *), void *arg,
                 char *err);
/* sqlite_outbox.c: the webhook outbox (store.h). */
int sq_outbox_put(struct cl_store *st, const struct cl_outbox_put *p, char *err);
int sq_outbox_due(struct cl_store *st, const char *hook, int64_t now_ms, int max,
                  int (*fn)(void *, const struct cl_outbox_row *), void *arg, int64_t *open, char *err);
int sq_outbox_result(struct cl_store *st, int64_t id, int state, int64_t due_ms, int status, const char *error,
                     int64_t now_ms, char *err);
int sq_outbox_list(struct cl_store *st, int max, int (*fn)(void *, const struct cl_outbox_row *), void *arg, char *err);
int sq_outbox_retry(struct cl_store *st, const char *delivery_id, int64_t now_ms, char *err);
/* sq_outbox_purge_call() : a purged call's finished deliveries (its unfinished ones are still sent). */
int sq_outbox_purge_call(struct sq *q, const char *call_id, char *err);
/* sq_state_history() : appends one agent.state to the history (with sq_put_agent_state). */
int sq_state_history(struct sq *q, const char *agent, const char *state, const char *reason, int64_t ts, char *err);
/* sq_purge_report_rows() : deletes call_id's marks and legs (with its purge). */
int sq_purge_report_rows(struct sq *q, const char *call_id, char *err);
/* sq_purge_states() : one transaction: up to max agent states before before_ms, but each agent's
 * last one before it; how many, or -1. */
int sq_purge_states(struct sq *q, int64_t before_ms, int max, char *err);
/* sq_backfill_reports() : legs, wraps and transfers of every call from its marks (schema version 5). */
int sq_backfill_reports(struct sq *q, char *err);

/* sqlite_slots.c: the queue report's roll-up (slots.h). */
int sq_put_slot(struct cl_store *st, const struct cl_slot_row *row, char *err);
int sq_clear_slots(struct cl_store *st, int64_t from_ms, int64_t until_ms, char *err);
int sq_slot_conf(struct cl_store *st, int set, int64_t *sla_ms, int64_t *short_ms, char *err);
int sq_report_slots(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *queue, int codes,
                    int (*fn)(void *, const struct cl_slot_row *), void *arg, char *err);

int sq_customer_get(struct cl_store *st, const char *id, struct cl_customer *c, char *err);
int sq_customer_match(struct cl_store *st, const char *number, int max, char (*ids)[CL_ID_MAX + 1], int *matches,
                      char *err);
int sq_customer_put(struct cl_store *st, const struct cl_customer_update *u, int *existed, char *err);
int sq_phones(struct cl_store *st, const char *from, int limit, int (*fn)(void *, const char *), void *arg, char *err);
int sq_put_agent_state(struct cl_store *st, const char *agent, const char *state, const char *reason, int64_t ts,
                       char *err);
int sq_agents(struct cl_store *st, int (*fn)(void *, const struct cl_agent_row *), void *arg, char *err);
int sq_token_add(struct cl_store *st, const char *name, const char *role, const char *hash, int64_t now, char *err);
int sq_token_find(struct cl_store *st, const char *hash, char *err);
int sq_agent_add(struct cl_store *st, const char *id, const char *name, const char *hash, int64_t now, char *err);
int sq_agent_remove(struct cl_store *st, const char *id, char *err);
int sq_agent_token(struct cl_store *st, const char *id, char *hash, char *err);

#endif
