/* pg.h : the PostgreSQL backend's state and helpers, shared by its files
 * (pg.c: connection, schema, transactions, the event log, secrets; pg_calls.c:
 * call records; pg_people.c: customers, agents, tokens; pg_reports.c: what
 * reports read). Private to src/store. */
#ifndef CALLOGD_STORE_PG_H
#define CALLOGD_STORE_PG_H

#include <libpq-fe.h>
#include <pthread.h>

#include "backend.h"

#define PG_PIPE_MAX 256 /* statements sent before their results are read */

/* Statements prepared on first use on each connection; one slot each. */
enum pg_slot {
	PG_PUT_EVENT,
	PG_FIND_EID,
	PG_CALL_EVENTS,
	PG_LIVE_EVENTS,
	PG_LOCK,
	PG_PUT_SEQ,
	PG_NOTIFY,
	PG_GET_CALL,
	PG_PUT_CALL,
	PG_HISTORY,
	PG_HISTORY_NUMBER,
	PG_STATS,
	PG_CUST_COUNT,
	PG_CUST_RANK,
	PG_CUST_GET,
	PG_CUST_EXISTS,
	PG_CUST_UPSERT,
	PG_CUST_DEL_PHONES,
	PG_CUST_INS_PHONE,
	PG_PHONES,
	PG_AGENT_STATE,
	PG_STATE_ROW,
	PG_AGENTS,
	PG_AGENT_TOKEN,
	PG_TOKEN_FIND,
	PG_PUT_MARK,
	PG_CALL_MARKS,
	PG_DEL_LEGS,
	PG_PUT_LEG,
	PG_REPORT_CALLS,
	PG_REPORT_LEGS,
	PG_STATES,
	PG_STATE_AGENTS,
	PG_CONNECTED,
	PG_SLOT_PUT,
	PG_SLOT_CLEAR,
	PG_REPORT_SLOTS,
	PG_OB_INSERT,
	PG_OB_LATEST,
	PG_OB_UPDATE,
	PG_OB_PROMOTE,
	PG_OB_DUE,
	PG_OB_COUNT,
	PG_OB_RESULT,
	PG__SLOTS
};

struct pg {
	struct cl_store base; /* first: its ops table */
	PGconn *conn;
	PGcancel *cancel;
	pthread_mutex_t cancel_mtx; /* cl_store_interrupt() comes from another thread */
	char *where;                /* the connection string, for reconnecting */
	int readonly;
	int prepared[PG__SLOTS];
	int nested_reads; /* begin_read calls inside a transaction already open */
	int locked;       /* the open transaction holds the cluster row: it writes events */
	int64_t cur_seq;  /* while locked: the highest seq in the log, ours included */
	int64_t txn_gen;  /* while locked: the cluster's generation when locked */
	int64_t seen_gen; /* the generation after this connection's last look or commit; 0 = none yet */
	int64_t retry_at; /* a lost connection is tried again after this (monotonic us) */
	int64_t backoff_us;
	int txn;   /* a transaction is open: a lost connection is not reopened under it */
	int piped; /* in pipeline mode (a write transaction): npend results not read yet */
	int npend;
	int pend[PG_PIPE_MAX];
};

/* Parameters of one statement, as text. */
#define PG_MAX_PARAMS 32
struct pg_params {
	int n;
	const char *v[PG_MAX_PARAMS];
	int len[PG_MAX_PARAMS];
	char num[PG_MAX_PARAMS][24];
};

void pgp_text(struct pg_params *p, const char *v);            /* NULL binds NULL */
void pgp_textn(struct pg_params *p, const char *v, size_t n); /* n bytes; NULL binds NULL */
void pgp_int(struct pg_params *p, int64_t v);

/*
 * pg_run() : runs the statement in slot (prepared from sql on first use) with
 * p. Returns its result (the caller PQclear()s it) when it succeeded, else
 * NULL with err filled ("what: PostgreSQL's message"). A lost connection is
 * noticed here and reopened on a later call.
 */
PGresult *pg_run(struct pg *g, int slot, const char *sql, const struct pg_params *p, const char *what, char *err);
/*
 * The pipeline of a write transaction: after pg_pipe_start(), pg_do() and
 * pg_do_slot() only send their statement, and the next statement whose
 * result is needed (pg_run, pg_exec) reads all results in one round trip,
 * failing with the first error among them. pg_pipe_end() reads what is left;
 * pg_pipe_abort() drops it (a rollback).
 */
int pg_pipe_start(struct pg *g, char *err);
int pg_pipe_end(struct pg *g, char *err);
void pg_pipe_abort(struct pg *g);
/* pg_queue_event() : an INSERT ... RETURNING of one event: a result without its row fails the pipeline. */
int pg_queue_event(struct pg *g, int slot, const char *sql, const struct pg_params *p, char *err);
/* pg_connect() : (re)opens the connection; -1 with err. */
int pg_connect(struct pg *g, char *err);

/* pg_exec() : the same for a statement run once (not prepared); p may be NULL. */
PGresult *pg_exec(struct pg *g, const char *sql, const struct pg_params *p, const char *what, char *err);
/* pg_do() : pg_exec for a statement whose result does not matter: 0 or -1. */
int pg_do(struct pg *g, const char *sql, const struct pg_params *p, const char *what, char *err);
int pg_do_slot(struct pg *g, int slot, const char *sql, const struct pg_params *p, const char *what, char *err);

/* Column readers: "" for NULL text, 0 for a NULL number. */
const char *pg_col(const PGresult *r, int row, int col);
int64_t pg_int(const PGresult *r, int row, int col);
int pg_null(const PGresult *r, int row, int col);
void pg_copy(char *dst, size_t len, const PGresult *r, int row, int col);

/* Transactions, used inside the backend too (purge, revokes). */
int pg_begin(struct cl_store *st, char *err);
int pg_commit(struct cl_store *st, char *err);
void pg_rollback(struct cl_store *st);
/* pg_bump() : other nodes drop what they cached of call records (a purge); in the open transaction. */
int pg_bump(struct pg *g, char *err);

/* The operations, by file. */
int pg_get_call(struct cl_store *st, const char *call_id, struct cl_call *c, char *err);
int pg_put_call(struct cl_store *st, const struct cl_call *c, char *err);
int pg_list_calls(struct cl_store *st, const struct cl_call_filter *f, int (*fn)(void *, const struct cl_call *),
                  void *arg, char *err);
int pg_history(struct cl_store *st, const char *customer_id, const char *number, const char *exclude, int max,
               int (*fn)(void *, const struct cl_history_row *), void *arg, char *err);
int pg_queue_stats(struct cl_store *st, const char *queue, int64_t from_ms, int64_t now_ms, int64_t sla_ms,
                   int (*fn)(void *, const struct cl_queue_stats *), void *arg, char *err);
int pg_purge(struct cl_store *st, int64_t before_ms, int64_t *ncalls, char *err);

int pg_put_mark(struct cl_store *st, const struct cl_event *ev, char *err);
int pg_call_marks(struct cl_store *st, const char *call_id, int (*fn)(void *, const struct cl_event *), void *arg,
                  char *err);
int pg_put_legs(struct cl_store *st, const char *call_id, const struct cl_call_facts *f, char *err);
int pg_report_calls(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *queue, int64_t now_ms,
                    int (*fn)(void *, const struct cl_report_call *), void *arg, char *err);
int pg_report_legs(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *agent,
                   int (*fn)(void *, const struct cl_report_leg *), void *arg, char *err);
int pg_agent_states(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *agent,
                    int (*fn)(void *, const struct cl_state_row *), void *arg, char *err);
int pg_put_slot(struct cl_store *st, const struct cl_slot_row *row, char *err);
int pg_clear_slots(struct cl_store *st, int64_t from_ms, int64_t until_ms, char *err);
int pg_slot_conf(struct cl_store *st, int set, int64_t *sla_ms, int64_t *short_ms, char *err);
int pg_report_slots(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *queue, int codes,
                    int (*fn)(void *, const struct cl_slot_row *), void *arg, char *err);
int pg_outbox_put(struct cl_store *st, const struct cl_outbox_put *p, char *err);
int pg_outbox_due(struct cl_store *st, const char *hook, int64_t now_ms, int max,
                  int (*fn)(void *, const struct cl_outbox_row *), void *arg, int64_t *open, char *err);
int pg_outbox_result(struct cl_store *st, int64_t id, int state, int64_t due_ms, int status, const char *error,
                     int64_t now_ms, char *err);
int pg_outbox_list(struct cl_store *st, int max, int (*fn)(void *, const struct cl_outbox_row *), void *arg, char *err);
int pg_outbox_retry(struct cl_store *st, const char *delivery_id, int64_t now_ms, char *err);
int pg_connected(struct cl_store *st, int64_t since_ms, int (*fn)(void *, const struct cl_connected_row *), void *arg,
                 char *err);

int pg_customer_get(struct cl_store *st, const char *id, struct cl_customer *c, char *err);
int pg_customer_match(struct cl_store *st, const char *number, int max, char (*ids)[CL_ID_MAX + 1], int *matches,
                      char *err);
int pg_customer_put(struct cl_store *st, const struct cl_customer_update *u, int *existed, char *err);
int pg_phones(struct cl_store *st, const char *from, int limit, int (*fn)(void *, const char *), void *arg, char *err);
int pg_put_agent_state(struct cl_store *st, const char *agent, const char *state, const char *reason, int64_t ts,
                       char *err);
int pg_agents(struct cl_store *st, int (*fn)(void *, const struct cl_agent_row *), void *arg, char *err);
int pg_token_add(struct cl_store *st, const char *name, const char *role, const char *hash, int64_t now, char *err);
int pg_token_find(struct cl_store *st, const char *hash, char *err);
int pg_agent_add(struct cl_store *st, const char *id, const char *name, const char *hash, int64_t now, char *err);
int pg_agent_remove(struct cl_store *st, const char *id, char *err);
int pg_agent_token(struct cl_store *st, const char *id, char *hash, char *err);

#endif
