/* store.h : the storage interface: the event log, call records, customers,
 * agents, API tokens and daemon secrets. Backends live in src/store/ behind an
 * operations table (SQLite today); callers see only this header, and results
 * are plain C structs or callbacks, never JSON. One struct cl_store per
 * connection, used by one thread at a time. */
#ifndef CALLOGD_STORE_H
#define CALLOGD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "callogd/calls.h"
#include "callogd/event.h"
#include "callogd/numbers.h"
#include "callogd/report.h"

struct cl_store;

enum cl_store_flags {
	CL_STORE_READONLY = 1, /* a reader: no schema creation, no writes */
};

/*
 * cl_store_open() : opens the store named by where and brings its schema up to
 * date (a reader only checks it). A postgresql:// or postgres:// URL is a
 * PostgreSQL database; anything else is a SQLite database file (created
 * unless read-only). NULL with err filled on failure.
 */
struct cl_store *cl_store_open(const char *where, int flags, char *err);
/*
 * cl_store_set_node() : this daemon's name in a cluster (node.name), kept with
 * each event it stores in a shared store; before any store is opened.
 * cl_store_node() : that name ("" until set).
 */
void cl_store_set_node(const char *name);
const char *cl_store_node(void);
/* cl_store_close() : accepts NULL. */
void cl_store_close(struct cl_store *st);

/*
 * Write transactions. cl_store_begin() fails inside a transaction already open
 * on this connection. Each commit also stores the highest seq written in it, so
 * seq never goes back (cl_store_last_seq). Read snapshots: cl_store_begin_read()
 * makes the following reads see one state, until cl_store_end_read().
 */
int cl_store_begin(struct cl_store *st, char *err);
int cl_store_commit(struct cl_store *st, char *err);
/* cl_store_rollback() : a no-op outside a transaction. */
void cl_store_rollback(struct cl_store *st);
int cl_store_begin_read(struct cl_store *st, char *err);
void cl_store_end_read(struct cl_store *st);
/*
 * cl_store_changed() : inside a transaction: 1 when another connection has
 * committed since the previous call on this connection (caches built from
 * earlier reads are then stale), 0 when not, -1 on error.
 */
int cl_store_changed(struct cl_store *st, char *err);
/* cl_store_check() : 0 when the store answers a trivial query, else -1 with err. */
int cl_store_check(struct cl_store *st, char *err);
/* cl_store_interrupt() : from any thread: the statement running on st, if any, fails soon (a shutdown). */
void cl_store_interrupt(struct cl_store *st);

/*
 * ---- a store shared by several daemons (PostgreSQL): a daemon's own session
 * that follows what the other nodes commit and holds the cluster's leader lock.
 * Blocking calls, for one thread. ----
 */
struct cl_store_feed;
/* cl_store_feed_open() : NULL with err "" when where is not a shared store (SQLite), NULL with err on failure. */
struct cl_store_feed *cl_store_feed_open(const char *where, char *err);
void cl_store_feed_close(struct cl_store_feed *f); /* accepts NULL */
/* cl_store_feed_last() : the highest seq committed in the cluster. */
int cl_store_feed_last(struct cl_store_feed *f, int64_t *seq, char *err);
/*
 * cl_store_feed_wait() : waits up to timeout_ms for a commit anywhere: 1 when
 * one came (or some may have been missed: read now), 0 when none, -1 when the
 * session is lost (it is reopened by a later call, with backoff).
 */
int cl_store_feed_wait(struct cl_store_feed *f, int timeout_ms, char *err);
/*
 * cl_store_feed_fetch() : fn(arg, seq, own, body, len, received_at) for the
 * events after after_seq in seq order, at most max (own: stored by this node,
 * cl_store_node()); the count of rows read, or -1. fn returning non-zero stops.
 */
int cl_store_feed_fetch(struct cl_store_feed *f, int64_t after_seq, int max,
                        int (*fn)(void *arg, int64_t seq, int own, const char *body, size_t len, int64_t received_at),
                        void *arg, char *err);
/*
 * cl_store_feed_lead() : takes the cluster's leader lock if it is free, or
 * checks that this session still holds it: 1 leader, 0 another node is, -1
 * the session is lost (and the lock with it: no longer leader).
 */
int cl_store_feed_lead(struct cl_store_feed *f, char *err);

/* ---- the event log ---- */

/* cl_store_last_seq() : the highest seq ever committed (0 for a new store), even after purges. */
int cl_store_last_seq(struct cl_store *st, int64_t *seq, char *err);
/*
 * cl_store_put_event() : appends ev to the event log with seq ev->seq. A store
 * shared by several daemons (PostgreSQL) gives it the cluster's next seq
 * instead and writes that into ev->seq. Returns 0 when stored, 1 when ev->id
 * was already stored (*dup_seq is then its seq), -1 on error.
 */
int cl_store_put_event(struct cl_store *st, struct cl_event *ev, int64_t *dup_seq, char *err);
/* cl_store_event_seq() : 1 with *seq when an event with producer id event_id is stored, 0 when not, -1 on error. */
int cl_store_event_seq(struct cl_store *st, const char *event_id, int64_t *seq, char *err);
/*
 * cl_store_event_ids() : calls fn(arg, id, len) for every stored producer id
 * (any order) until fn returns non-zero, which it returns. -1 with err when
 * the backend cannot list them (another node may store ids meanwhile: a list
 * would not stay true) or on error.
 */
int cl_store_event_ids(struct cl_store *st, int (*fn)(void *arg, const char *id, size_t len), void *arg, char *err);
/* cl_store_lists_event_ids() : can this backend list its ids at all (else every new id must be probed)? */
int cl_store_lists_event_ids(const struct cl_store *st);

/* One stored event; the pointers are valid during the callback only. */
struct cl_stored_event {
	int64_t seq, ts, received_at;
	const char *call_id; /* NULL for agent.state */
	const char *body;    /* the line as received, len bytes */
	size_t len;
};

/*
 * The iterations below call fn for each row; fn returns 0 to go on, anything
 * else stops the iteration and is returned as is (err untouched). They return
 * 0 when done, -1 with err on a storage error.
 */

/* cl_store_call_events() : call_id's events in seq order. */
int cl_store_call_events(struct cl_store *st, const char *call_id,
                         int (*fn)(void *arg, const struct cl_stored_event *ev), void *arg, char *err);
/*
 * cl_store_live_events() : fn(arg, body, len, received_at) for each stored
 * event line of the calls not ended whose first event (the offer, or what
 * stood in for it) is at or after since_ms, all calls' events merged in seq
 * order: what rebuilds live calls at start-up.
 */
int cl_store_live_events(struct cl_store *st, int64_t since_ms,
                         int (*fn)(void *arg, const char *body, size_t len, int64_t received_at), void *arg, char *err);

/* ---- call records ---- */

/* cl_store_get_call() : 1 and c filled when found (caller clears c), 0 when not, -1 on error. */
int cl_store_get_call(struct cl_store *st, const char *call_id, struct cl_call *c, char *err);
/* cl_store_put_call() : inserts or replaces the record, with its outcome (cl_call_outcome). */
int cl_store_put_call(struct cl_store *st, const struct cl_call *c, char *err);

struct cl_call_filter {
	int64_t since, until;               /* offered_at range in ms, 0 = open */
	const char *agent, *queue, *number; /* NULL = any; number is normalised */
	int limit;                          /* 1..1000 */
	const char *before;                 /* a cursor: only calls listed after this call_id, NULL = from the newest */
};

/* cl_store_list_calls() : the calls matching f, newest offered first. */
int cl_store_list_calls(struct cl_store *st, const struct cl_call_filter *f,
                        int (*fn)(void *arg, const struct cl_call *c), void *arg, char *err);

/* One call of a caller's history; the pointers are valid during the callback only. */
struct cl_history_row {
	const char *call_id;
	int64_t offered_at;
	const char *agent; /* "" when none */
	enum cl_outcome outcome;
	const char *disp_code;  /* "" when none */
	const char *disp_notes; /* NULL when none */
	const char *queue;      /* "" when none */
	int64_t duration_ms;    /* answer to end; -1 when not answered or not ended */
	const char *agent_name; /* the agent's name; "" when none */
};

/*
 * cl_store_history() : the calls of customer_id (by calls.customer_id) or,
 * when customer_id is NULL, of number (by calls.number), newest offered first,
 * at most max, leaving out exclude_call_id (may be NULL).
 */
int cl_store_history(struct cl_store *st, const char *customer_id, const char *number, const char *exclude_call_id,
                     int max, int (*fn)(void *arg, const struct cl_history_row *h), void *arg, char *err);

/* Today's figures of one queue ("" = calls without a queue). */
struct cl_queue_stats {
	const char *queue;
	int64_t offered, waiting, longest_wait_ms, answered, abandoned, answered_within_sla;
	int has_average;         /* some call was answered: average_wait_ms is set */
	int64_t average_wait_ms; /* offered to answer, over the answered calls */
};

/*
 * cl_store_queue_stats() : per queue (only queue when not NULL), in queue
 * order, the calls offered at or after from_ms; waits are measured to now_ms,
 * and "within SLA" is answered within sla_ms of the offer.
 */
int cl_store_queue_stats(struct cl_store *st, const char *queue, int64_t from_ms, int64_t now_ms, int64_t sla_ms,
                         int (*fn)(void *arg, const struct cl_queue_stats *q), void *arg, char *err);

/*
 * cl_store_purge() : deletes calls offered and ended before before_ms, their
 * events, marks, legs and finished (delivered or failed) webhook deliveries,
 * and the agents' states before it (each agent's
 * last one before it is kept: it still holds at before_ms), in transactions
 * of about a thousand rows each (other writers get their turn in between);
 * then the report slots before it are counted again. *ncalls counts the
 * calls deleted, also on error.
 */
int cl_store_purge(struct cl_store *st, int64_t before_ms, int64_t *ncalls, char *err);

/* ---- what reports need (docs/http-api.md), written as events are applied ---- */

/*
 * cl_store_put_mark() : keeps what of call event ev shapes its agents' legs
 * (ringing, answered, held, resumed, transferred, ended, disposition: type,
 * ts, seq, agent, to_agent); other events are ignored. In the writer's transaction.
 */
int cl_store_put_mark(struct cl_store *st, const struct cl_event *ev, char *err);
/* cl_store_call_marks() : call_id's marks in seq order, as events with only those fields set. */
int cl_store_call_marks(struct cl_store *st, const char *call_id, int (*fn)(void *arg, const struct cl_event *ev),
                        void *arg, char *err);
/* cl_store_put_legs() : replaces call_id's legs (each agent's part) with f's. */
int cl_store_put_legs(struct cl_store *st, const char *call_id, const struct cl_call_facts *f, char *err);

/*
 * cl_store_report_calls() : each call offered in [from_ms, until_ms) (of queue
 * only, when not NULL), durations as of now_ms, in no particular order.
 */
int cl_store_report_calls(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *queue, int64_t now_ms,
                          int (*fn)(void *arg, const struct cl_report_call *c), void *arg, char *err);
/* cl_store_report_legs() : the legs of the calls offered in [from_ms, until_ms) (of agent only, when not NULL). */
int cl_store_report_legs(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *agent,
                         int (*fn)(void *arg, const struct cl_report_leg *l), void *arg, char *err);

/*
 * ---- the queue report's roll-up (slots.h): per 15-minute slot, queue and
 * disposition code, kept by the writer in the transaction that changes the calls ----
 */
struct cl_slots;
struct cl_slot_row;
/* cl_store_slot_conf() : 1 with the thresholds the stored slots were counted with, 0 when not built, -1. */
int cl_store_slot_conf(struct cl_store *st, int64_t *sla_ms, int64_t *short_ms, char *err);
/* cl_store_build_slots() : counts every slot again from the calls, with these thresholds (in the caller's transaction).
 */
int cl_store_build_slots(struct cl_store *st, int64_t sla_ms, int64_t short_ms, char *err);
/* cl_store_unbuild_slots() : marks the slots not built: reports count every call until they are counted again. */
int cl_store_unbuild_slots(struct cl_store *st, char *err);
/*
 * cl_store_put_slots() : adds the deltas of s to the stored slots, counted with
 * these thresholds (in the caller's transaction); a slot whose largest wait
 * may have gone is counted again from its calls.
 */
int cl_store_put_slots(struct cl_store *st, const struct cl_slots *s, int64_t sla_ms, int64_t short_ms, char *err);
/* cl_store_recount_slots_before() : after a purge, the slots before before_ms counted again (own transaction). */
int cl_store_recount_slots_before(struct cl_store *st, int64_t before_ms, char *err);
/*
 * cl_store_report_slots() : the stored slot rows in [from_ms, until_ms) (of
 * queue only, when not NULL): the queues' rows, and with codes the
 * disposition codes' rows too.
 */
int cl_store_report_slots(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *queue, int codes,
                          int (*fn)(void *arg, const struct cl_slot_row *s), void *arg, char *err);

/* One agent.state as recorded; the pointers are valid during the callback only. */
struct cl_state_row {
	const char *agent, *state, *reason; /* reason "" when none */
	int64_t ts;
};

/*
 * cl_store_agent_states() : per agent (agent only, when not NULL), by agent,
 * then time: the last state recorded before from_ms, then every state
 * recorded in [from_ms, until_ms).
 */
int cl_store_agent_states(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *agent,
                          int (*fn)(void *arg, const struct cl_state_row *s), void *arg, char *err);

/* A call connected to an agent now; the pointers are valid during the callback only. */
struct cl_connected_row {
	const char *call_id, *agent, *queue;
	int64_t since; /* that agent's answer */
};

/* cl_store_connected() : the calls offered at or after since_ms, answered and not ended, by offer time. */
int cl_store_connected(struct cl_store *st, int64_t since_ms, int (*fn)(void *arg, const struct cl_connected_row *c),
                       void *arg, char *err);

/* ---- customers ---- */

#define CL_CUSTOMER_TEXT_MAX 256  /* name, email: bytes of UTF-8 */
#define CL_CUSTOMER_MAX_PHONES 16 /* phones per customer */
#define CL_CUSTOMERS_RANKED 100   /* matches of one number ranked by their calls (see below) */

struct cl_customer {
	char id[CL_ID_MAX + 1];
	char name[CL_CUSTOMER_TEXT_MAX + 1];
	char email[CL_CUSTOMER_TEXT_MAX + 1];
	char account[CL_ID_MAX + 1];
	char tier[CL_ID_MAX + 1];
	char notes[CL_NOTES_MAX + 1];
	char phones[CL_CUSTOMER_MAX_PHONES][CL_NUMBER_LEN]; /* normalised E.164 */
	int nphones;
};

/* cl_store_customer_get() : 1 with c filled, 0 when there is no such id, -1 on error. */
int cl_store_customer_get(struct cl_store *st, const char *id, struct cl_customer *c, char *err);

/*
 * cl_store_customer_match() : the customers with a normalised number, best
 * first: the customer with the most recent call (calls.customer_id, latest
 * offered_at) first, customers without calls after those with, ties by id
 * (byte order). Only the first CL_CUSTOMERS_RANKED of a number by id are
 * ranked, so the cost stays bounded for a number shared by thousands. Copies
 * at most max ids into ids and returns how many, with *matches (may be NULL)
 * the count of all customers with the number; -1 on error.
 */
int cl_store_customer_match(struct cl_store *st, const char *number, int max, char (*ids)[CL_ID_MAX + 1], int *matches,
                            char *err);

/* The columns of a customer an import writes; a NULL text keeps the stored value ("" for a new customer). */
enum cl_customer_field { CL_CUST_NAME, CL_CUST_EMAIL, CL_CUST_ACCOUNT, CL_CUST_TIER, CL_CUST_NOTES, CL_CUST__FIELDS };

struct cl_customer_update {
	const char *id; /* id_len bytes */
	size_t id_len;
	const char *text[CL_CUST__FIELDS]; /* len[] bytes each, or NULL */
	size_t len[CL_CUST__FIELDS];
	int set_phones; /* replace all of the customer's phones with phones[0..nphones) */
	const char (*phones)[CL_NUMBER_LEN];
	int nphones;
	int64_t now; /* updated_at */
};

/* cl_store_customer_put() : upserts one customer (in the caller's transaction); *existed says which. */
int cl_store_customer_put(struct cl_store *st, const struct cl_customer_update *u, int *existed, char *err);

/* cl_store_phones() : the E.164 customer phones >= from in byte order, at most limit (a shared number once per
 * customer). */
int cl_store_phones(struct cl_store *st, const char *from, int limit, int (*fn)(void *arg, const char *number),
                    void *arg, char *err);

/* ---- agents, tokens, sessions ---- */

/* cl_store_put_agent_state() : records an agent's presence (creates the agent if unknown). */
int cl_store_put_agent_state(struct cl_store *st, const char *agent, const char *state, const char *reason, int64_t ts,
                             char *err);

/* One agent; the pointers are valid during the callback only. */
struct cl_agent_row {
	const char *id, *name, *state, *reason; /* reason "" when none */
	int64_t since;                          /* 0 when never seen */
};

/* cl_store_agents() : every agent, by id. */
int cl_store_agents(struct cl_store *st, int (*fn)(void *arg, const struct cl_agent_row *a), void *arg, char *err);

/* Tokens: 32 random bytes, shown once as 64 hex digits, stored as SHA-256. */
#define CL_TOKEN_LEN 65

/* An API token's role (bits, so that a request can name the roles it admits). */
enum cl_role {
	CL_ROLE_ADMIN = 1,      /* everything under /api/ */
	CL_ROLE_SUPERVISOR = 2, /* reads, reports, the wallboard, any agent's state; no events */
	CL_ROLE_PRODUCER = 4,   /* POST /api/events only */
};
/* cl_role_parse() : "admin", "supervisor", "producer"; 0 for anything else. */
int cl_role_parse(const char *s);
const char *cl_role_name(int role);

int cl_store_token_add(struct cl_store *st, const char *name, int role, char *token_out, char *err);
/* The token's role (an enum cl_role) when token is a valid API token, 0 when not, -1 on error. */
int cl_store_token_check(struct cl_store *st, const char *token);

int cl_store_agent_add(struct cl_store *st, const char *id, const char *name, char *token_out, char *err);
/* 1 removed, 0 no such agent, -1 error. */
int cl_store_agent_remove(struct cl_store *st, const char *id, char *err);
/* 1 when token is agent id's token (compared in constant time), 0 when not, -1 on error. */
int cl_store_agent_check(struct cl_store *st, const char *id, const char *token);
/* 1 when agent id exists and has a token (may log in), else 0. */
int cl_store_agent_active(struct cl_store *st, const char *id);

/*
 * An agent's token generation: 16 hex digits derived from its token's hash,
 * new whenever the agent gets a new token (agent remove and add again). Bound
 * into session cookies and kept by consoles and streams, so that what an old
 * token opened ends with it. It reveals nothing of the token or its hash.
 */
#define CL_AGENT_GEN_LEN 17
/* cl_agent_gen_of_token() : the generation of token (as the agent presents it) into gen. */
void cl_agent_gen_of_token(const char *token, char *gen);
/* cl_store_agent_gen() : 1 with agent id's current generation in gen, 0 when it has none (removed), -1 on error. */
int cl_store_agent_gen(struct cl_store *st, const char *id, char *gen);
/* cl_store_revoke_session() : keeps a logged-out session (its MAC) revoked until until_ms, and
 * forgets revocations that expired before now_ms; one transaction. */
int cl_store_revoke_session(struct cl_store *st, const char *mac, int64_t until_ms, int64_t now_ms, char *err);
/* cl_store_revoked_sessions() : calls fn(arg, mac, until_ms) for each revocation still running at now_ms. */
int cl_store_revoked_sessions(struct cl_store *st, int64_t now_ms, void (*fn)(void *, const char *, int64_t), void *arg,
                              char *err);
/* cl_store_secret() : the daemon secret name (len bytes), made when the store was created. */
int cl_store_secret(struct cl_store *st, const char *name, unsigned char *out, size_t len, char *err);

/* ---- the webhook outbox (docs/crm.md): deliveries kept before their first try ---- */

/*
 * A delivery's life: HELD (waiting for its due time: the settle time, or a
 * coalescing moment) -> PENDING (to be tried; tried again after a retryable
 * failure) -> DELIVERED or FAILED (given up). Deliveries of one webhook and
 * one call are tried in the order they were made (by id).
 */
enum cl_outbox_state { CL_OUTBOX_HELD = 0, CL_OUTBOX_PENDING = 1, CL_OUTBOX_DELIVERED = 2, CL_OUTBOX_FAILED = 3 };
#define CL_OUTBOX_TTL_MS (24LL * 3600 * 1000) /* tries stop this long after a delivery is due */

/* What the writer journals for one webhook, type and call, in its transaction. */
struct cl_outbox_put {
	const char *hook;    /* the webhook's name */
	const char *body_id; /* the body's "id": the same for every revision */
	const char *call_id;
	const char *type; /* "call.completed" or "call.missed" */
	const char *call; /* the call record, JSON text (the body's "call") */
	int64_t now_ms;
	int64_t due_ms; /* held until then */
	int once;       /* 1: never a second revision (call.missed) */
};

/*
 * cl_store_outbox_put() : inside the caller's transaction. A delivery it adds
 * is PENDING when due_ms <= now_ms, else HELD until due_ms. With no delivery
 * yet for (hook, call_id, type): adds revision 1. Else,
 * with once set, or the latest revision's call text equal to p->call and
 * its due time unchanged: nothing. Else when the latest is still HELD: its
 * call text and due time become p's (the same revision). Else: adds the next
 * revision. A new revision's delivery_id (Callogd-Id) is
 * body_id "-" revision; created_at is now_ms; expires_at is due_ms +
 * CL_OUTBOX_TTL_MS. Returns 1 when something was added or changed, 0 when
 * not, -1 on error.
 */
int cl_store_outbox_put(struct cl_store *st, const struct cl_outbox_put *p, char *err);

/* One delivery; the pointers are valid during the callback only. */
struct cl_outbox_row {
	int64_t id; /* the order deliveries were made in */
	const char *delivery_id, *body_id, *hook, *call_id, *type, *call;
	int revision, state, attempts, last_status; /* last_status: the HTTP status, 0 when none */
	int64_t created_ms, due_ms, expires_ms, last_ms;
	const char *last_error; /* "" when none */
};

/*
 * cl_store_outbox_due() : in the caller's transaction, else in one write
 * transaction of its own: hook's HELD deliveries due
 * at now_ms become PENDING; then fn for each PENDING delivery of hook due at
 * now_ms that is the oldest unfinished (HELD or PENDING) one of its call for
 * that hook, by due time then id, at most max; *open (may be NULL) is then the
 * count of unfinished deliveries of every hook.
 */
int cl_store_outbox_due(struct cl_store *st, const char *hook, int64_t now_ms, int max,
                        int (*fn)(void *arg, const struct cl_outbox_row *r), void *arg, int64_t *open, char *err);

/*
 * cl_store_outbox_result() : records a try of delivery id (in the caller's
 * transaction, or on its own): its new state (PENDING to try again at
 * due_ms, DELIVERED or FAILED), attempts + 1, the answer's status (0 for
 * none), error text ("" for none) and now_ms.
 */
int cl_store_outbox_result(struct cl_store *st, int64_t id, int state, int64_t due_ms, int status, const char *error,
                           int64_t now_ms, char *err);

/* cl_store_outbox_list() : the HELD, PENDING and FAILED deliveries, oldest first, at most max. */
int cl_store_outbox_list(struct cl_store *st, int max, int (*fn)(void *arg, const struct cl_outbox_row *r), void *arg,
                         char *err);

/*
 * cl_store_outbox_retry() : delivery_id becomes PENDING, due at now_ms,
 * expiring CL_OUTBOX_TTL_MS later (whatever its state). 1 done, 0 no such
 * delivery, -1 on error.
 */
int cl_store_outbox_retry(struct cl_store *st, const char *delivery_id, int64_t now_ms, char *err);

#endif
