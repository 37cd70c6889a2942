/* writer.h : the writer thread: group commit of events, completions handed
 * back to the event loop. Reading sockets and sending pops never wait for it. */
#ifndef CALLOGD_WRITER_H
#define CALLOGD_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "callogd/event.h"
#include "callogd/util.h"

struct cl_answer; /* the answer waiting for this event (answers.h) */

enum cl_write_result { CL_WRITE_PENDING = 0, CL_WRITE_OK, CL_WRITE_DUPLICATE, CL_WRITE_FAILED };

struct cl_witem {
	struct cl_event ev; /* owned by the item */
	struct cl_answer *slot;
	int result;  /* enum cl_write_result, set by the writer */
	int64_t seq; /* the event's seq, or the original's for a duplicate */
};

/* What one loop turn gathered; the writer commits whole batches. */
struct cl_batch {
	struct cl_batch *next;
	size_t n, cap;
	struct cl_witem *items;
	int64_t commit_us;    /* how long the transaction took, for metrics */
	size_t group;         /* events in the transaction this batch was part of */
	int first;            /* the first batch of its transaction */
	char err[CL_ERR_LEN]; /* why it failed, when it did */
};

struct cl_writer;

/* Called on the event loop's thread for each finished batch, in order; the callee frees it. */
typedef void (*cl_writer_done_fn)(struct cl_batch *b, void *arg);

/*
 * cl_writer_start() : opens its own connection to path and starts the thread.
 * Completions are delivered through base (which must have threads enabled).
 */
struct cl_writer *cl_writer_start(const char *path, struct event_base *base, cl_writer_done_fn done, void *arg,
                                  char *err);
/* cl_writer_submit() : queues b (taking ownership); never blocks on I/O. */
void cl_writer_submit(struct cl_writer *w, struct cl_batch *b);
/*
 * cl_writer_slots() : asks the thread to keep the report slots (slots.h)
 * counted with these thresholds (stats.sla_seconds and short_abandon_seconds,
 * in ms): slots counted with others are counted again from every call, once,
 * in one transaction (commits wait meanwhile). With wait, returns once that
 * is done (start-up: before the daemon is ready); else at once (a reload).
 */
void cl_writer_slots(struct cl_writer *w, int64_t sla_ms, int64_t short_ms, int wait);
/* cl_writer_purge() : asks the thread to delete calls ended before before_ms (retention). */
void cl_writer_purge(struct cl_writer *w, int64_t before_ms);
/* cl_writer_revoke() : asks the thread to store a logged-out session's MAC, or an agent-wide end
 * (sessions.c), in force until until_ms, so the logout outlasts a restart. 0, or -1 when 100,000
 * wait already (or out of memory). */
int cl_writer_revoke(struct cl_writer *w, const char *mac, int64_t until_ms);
struct cl_journal;
/*
 * cl_writer_set_journal() : before events are submitted: each transaction
 * journals the webhook deliveries its calls cause (journal.h), and calls
 * kick(arg) from the writer thread after a commit that added or changed some.
 */
void cl_writer_set_journal(struct cl_writer *w, struct cl_journal *j, void (*kick)(void *arg), void *arg);
/* Events queued or being committed. */
size_t cl_writer_backlog(struct cl_writer *w);
/* cl_writer_stop() : commits what is queued, stops the thread, runs the last completions, frees w. */
void cl_writer_stop(struct cl_writer *w);

/* cl_batch_new()/cl_batch_add()/cl_batch_free() : a batch owns its events. */
struct cl_batch *cl_batch_new(void);
/* cl_batch_add() : moves *ev into the batch (ev is zeroed); -1 on out of memory. */
int cl_batch_add(struct cl_batch *b, struct cl_event *ev, struct cl_answer *slot);
void cl_batch_free(struct cl_batch *b);

#endif
