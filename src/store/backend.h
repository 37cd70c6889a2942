/* backend.h : what a storage backend implements (private to src/store). A
 * backend's state struct starts with struct cl_store, whose first member is
 * its operations table (SQLite's sqlite3_vfs, nginx's modules); store.c
 * dispatches every public function through it. A new backend is one more
 * file and one more row in store.c's table. */
#ifndef CALLOGD_STORE_BACKEND_H
#define CALLOGD_STORE_BACKEND_H

#include "callogd/sha256.h"
#include "callogd/store.h"

struct cl_store {
	const struct cl_store_ops *ops;
};

/*
 * Each operation has the public function's contract (store.h), except where
 * noted: tokens arrive already hashed (store.c makes and hashes them).
 */
struct cl_store_ops {
	const char *name;
	void (*close)(struct cl_store *st);

	int (*begin)(struct cl_store *st, char *err);
	int (*commit)(struct cl_store *st, char *err);
	void (*rollback)(struct cl_store *st);
	int (*begin_read)(struct cl_store *st, char *err);
	void (*end_read)(struct cl_store *st);
	int (*changed)(struct cl_store *st, char *err);
	int (*check)(struct cl_store *st, char *err);
	void (*interrupt)(struct cl_store *st); /* from any thread */

	int (*last_seq)(struct cl_store *st, int64_t *seq, char *err);
	int (*put_event)(struct cl_store *st, struct cl_event *ev, int64_t *dup_seq, char *err);
	int (*event_seq)(struct cl_store *st, const char *event_id, int64_t *seq, char *err);
	/* optional (NULL: not supported; the daemon then probes each new id instead) */
	int (*event_ids)(struct cl_store *st, int (*fn)(void *, const char *, size_t), void *arg, char *err);
	int (*call_events)(struct cl_store *st, const char *call_id, int (*fn)(void *, const struct cl_stored_event *),
	                   void *arg, char *err);
	int (*live_events)(struct cl_store *st, int64_t since_ms, int (*fn)(void *, const char *, size_t, int64_t),
	                   void *arg, char *err);

	int (*get_call)(struct cl_store *st, const char *call_id, struct cl_call *c, char *err);
	int (*put_call)(struct cl_store *st, const struct cl_call *c, char *err);
	int (*list_calls)(struct cl_store *st, const struct cl_call_filter *f,
	                  int (*fn)(void *, const struct cl_call *), void *arg, char *err);
	int (*history)(struct cl_store *st, const char *customer_id, const char *number, const char *exclude, int max,
	               int (*fn)(void *, const struct cl_history_row *), void *arg, char *err);
	int (*queue_stats)(struct cl_store *st, const char *queue, int64_t from_ms, int64_t now_ms, int64_t sla_ms,
	                   int (*fn)(void *, const struct cl_queue_stats *), void *arg, char *err);
	int (*purge)(struct cl_store *st, int64_t before_ms, int64_t *ncalls, char *err);

	int (*put_mark)(struct cl_store *st, const struct cl_event *ev, char *err);
	int (*call_marks)(struct cl_store *st, const char *call_id, int (*fn)(void *, const struct cl_event *),
	                  void *arg, char *err);
	int (*put_legs)(struct cl_store *st, const char *call_id, const struct cl_call_facts *f, char *err);
	int (*report_calls)(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *queue, int64_t now_ms,
	                    int (*fn)(void *, const struct cl_report_call *), void *arg, char *err);
	int (*report_legs)(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *agent,
	                   int (*fn)(void *, const struct cl_report_leg *), void *arg, char *err);
	int (*agent_states)(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *agent,
	                    int (*fn)(void *, const struct cl_state_row *), void *arg, char *err);
	/* The queue report's roll-up (slots.h); store_slots.c keeps it in step over these. */
	int (*put_slot)(struct cl_store *st, const struct cl_slot_row *row, char *err); /* add to the stored row */
	int (*clear_slots)(struct cl_store *st, int64_t from_ms, int64_t until_ms, char *err);
	/* set: store *sla_ms and *short_ms (*sla_ms < 0: not built); else read them: 1, or 0 when not built. */
	int (*slot_conf)(struct cl_store *st, int set, int64_t *sla_ms, int64_t *short_ms, char *err);
	int (*report_slots)(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *queue, int codes,
	                    int (*fn)(void *, const struct cl_slot_row *), void *arg, char *err);
	int (*connected)(struct cl_store *st, int64_t since_ms, int (*fn)(void *, const struct cl_connected_row *),
	                 void *arg, char *err);

	int (*customer_get)(struct cl_store *st, const char *id, struct cl_customer *c, char *err);
	int (*customer_match)(struct cl_store *st, const char *number, int max, char (*ids)[CL_ID_MAX + 1],
	                      int *matches, char *err);
	int (*customer_put)(struct cl_store *st, const struct cl_customer_update *u, int *existed, char *err);
	int (*phones)(struct cl_store *st, const char *from, int limit, int (*fn)(void *, const char *), void *arg,
	              char *err);

	int (*put_agent_state)(struct cl_store *st, const char *agent, const char *state, const char *reason,
	                       int64_t ts, char *err);
	int (*agents)(struct cl_store *st, int (*fn)(void *, const struct cl_agent_row *), void *arg, char *err);
	/* hash: the token's SHA-256 in hex. */
	int (*token_add)(struct cl_store *st, const char *name, const char *role, const char *hash, int64_t now,
	                 char *err);
	int (*token_find)(struct cl_store *st, const char *hash, char *err);
	int (*agent_add)(struct cl_store *st, const char *id, const char *name, const char *hash, int64_t now,
	                 char *err);
	int (*agent_remove)(struct cl_store *st, const char *id, char *err);
	/* 1 with hash (CL_SHA256_HEX bytes, "" when the agent has no token) when agent id exists, 0 when not. */
	int (*agent_token)(struct cl_store *st, const char *id, char *hash, char *err);
	int (*revoke_session)(struct cl_store *st, const char *mac, int64_t until_ms, int64_t now_ms, char *err);
	int (*revoked_sessions)(struct cl_store *st, int64_t now_ms, void (*fn)(void *, const char *, int64_t),
	                        void *arg, char *err);
	int (*secret)(struct cl_store *st, const char *name, unsigned char *out, size_t len, char *err);

	int (*outbox_put)(struct cl_store *st, const struct cl_outbox_put *p, char *err);
	int (*outbox_due)(struct cl_store *st, const char *hook, int64_t now_ms, int max,
	                  int (*fn)(void *, const struct cl_outbox_row *), void *arg, int64_t *open, char *err);
	int (*outbox_result)(struct cl_store *st, int64_t id, int state, int64_t due_ms, int status, const char *error,
	                     int64_t now_ms, char *err);
	int (*outbox_list)(struct cl_store *st, int max, int (*fn)(void *, const struct cl_outbox_row *), void *arg,
	                   char *err);
	int (*outbox_retry)(struct cl_store *st, const char *delivery_id, int64_t now_ms, char *err);
};

/* A backend: claims(where) says whether it serves that store name; open() as cl_store_open(). */
struct cl_store_backend {
	int (*claims)(const char *where);
	struct cl_store *(*open)(const char *where, int flags, char *err);
};

extern const struct cl_store_backend cl_store_sqlite;
extern const struct cl_store_backend cl_store_pg;

/* pg_feed.c: the sessions of store.h's cl_store_feed_*, PostgreSQL only. */
struct cl_store_feed *pg_feed_open(const char *where, char *err);
void pg_feed_close(struct cl_store_feed *f);
int pg_feed_last(struct cl_store_feed *f, int64_t *seq, char *err);
int pg_feed_wait(struct cl_store_feed *f, int timeout_ms, char *err);
int pg_feed_fetch(struct cl_store_feed *f, int64_t after_seq, int max,
                  int (*fn)(void *, int64_t, int, const char *, size_t, int64_t), void *arg, char *err);
int pg_feed_lead(struct cl_store_feed *f, char *err);

/* rows.c: what every backend stores the same way. */
/* cl_rows_phones() : c's phones from a phones column (a JSON array of E.164 numbers). */
void cl_rows_phones(const char *text, struct cl_customer *c);
/* cl_rows_agents() : c's agents from an agents column (a JSON array); c->n_agents starts at 0. */
void cl_rows_agents(const char *text, struct cl_call *c);
/* The figures of a report slot row (slots.h) as columns, and the figure of each column. */
#define CL_SLOT_COLS                                                                                                   \
	"answered, abandoned, short_abandoned, unanswered, active, within_sla, transferred, sum_wait_answered,"        \
	" sum_wait_abandoned, sum_talk, sum_hold, sum_wrap, max_wait, count"
#define CL_SLOT_NFIGS 14
struct cl_slot_figs;
int64_t *cl_rows_slot_fig(struct cl_slot_figs *f, int i);
/* cl_rows_agents_json() : c's agents as an agents column; malloc'd, NULL on out of memory. */
char *cl_rows_agents_json(const struct cl_call *c);

/*
 * cl_schema_section() : in a schema text made of "-- version N" sections (each
 * taking a database from version N-1 to N), the text of section v, or NULL
 * when there is none; *len its length.
 */
const char *cl_schema_section(const char *schema, int v, size_t *len);
/* cl_schema_latest() : the highest version the schema text has sections up to. */
int cl_schema_latest(const char *schema);

#endif
