/* ingest.h : producers (events.unix / events.tcp connections, and consoles and
 * HTTP posting events) and their ordered answers, which wait for each commit. */
#ifndef CALLOGD_INGEST_H
#define CALLOGD_INGEST_H

#include <stddef.h>

#include <event2/util.h>

#include "callogd/event.h"

struct bufferevent;
struct cl_batch;
struct cl_dedup;
struct cl_server;
struct cl_tls_server;
struct econn;
struct event;
struct evbuffer;

/* ingest.c's part of the root (srv->ingest). */
struct cl_ingest {
	struct cl_batch *open_batch; /* events read this loop turn, not yet submitted */
	struct econn *econns;        /* producer connections */
	size_t pending_total;        /* answers waiting for commits, all producers */
	int globally_throttled;      /* some producer is held back by that total */
	struct event *flush_ev;      /* submits open_batch at the end of the loop turn */
	struct cl_dedup *dedup;      /* ids in flight and duplicate probes (dedup.h) */
	size_t queued;               /* events read, waiting for a duplicate verdict before fan-out */
};

enum cl_producer_kind {
	CL_PRODUCER_EVENTS,  /* answers {"ack":..} / {"error":..} */
	CL_PRODUCER_CONSOLE, /* answers {"type":"ok"} / {"type":"error",..} */
};

struct cl_producer;

/* Where a producer's answers go and what to do once some were written. */
struct cl_producer_ops {
	struct evbuffer *(*out)(void *owner);
	void (*flushed)(void *owner); /* after answers were appended to out(); may be NULL */
};

/*
 * cl_producer_accept() : makes the bufferevent and producer of a connection
 * of conn_kind that its listener admitted (under its cap), for owner, and
 * counts it open; TLS when tls is set. 0, or -1 with fd closed.
 */
int cl_producer_accept(struct cl_server *srv, evutil_socket_t fd, struct cl_tls_server *tls, int conn_kind,
                       int producer_kind, const struct cl_producer_ops *ops, void *owner, struct bufferevent **bev,
                       struct cl_producer **p);
struct cl_producer *cl_producer_new(struct cl_server *srv, int kind, const struct cl_producer_ops *ops, void *owner);
/* cl_producer_release() : the owner is gone; answers still in flight are dropped. */
void cl_producer_release(struct cl_producer *p);
/* Error answers given so far. */
size_t cl_producer_errors(const struct cl_producer *p);
/* Answers not yet written (waiting for their commit). */
size_t cl_producer_pending(const struct cl_producer *p);
/*
 * cl_producer_may_read() : 0 while p should take no more lines: its answers
 * waiting, or all producers', pass the backpressure bounds. Its owner hears of
 * written answers through ops->flushed, and may go on then.
 */
int cl_producer_may_read(const struct cl_producer *p);
/* cl_producer_answer_sure() : is an answer sure for one more line, even if memory runs out? */
int cl_producer_answer_sure(const struct cl_producer *p);
/* cl_producer_may_resume() : has p (paused) come back under the low marks? */
int cl_producer_may_resume(const struct cl_producer *p);
/* cl_producer_must_pause() : has p (reading) reached a high mark, its own or the global one? */
int cl_producer_must_pause(const struct cl_producer *p);
/* cl_ingest_over_global() : do all producers' waiting answers pass the global bound? */
int cl_ingest_over_global(const struct cl_server *srv);

/* cl_ingest_line() : one line from p: parse, validate, pop, queue for commit. */
void cl_ingest_line(struct cl_producer *p, const char *line, size_t len);
/* cl_ingest_event() : an event built by the daemon (console wrap-up, state); takes *ev. */
void cl_ingest_event(struct cl_producer *p, struct cl_event *ev);
/* cl_ingest_answer() : answers text (a whole line with its newline) in order, after the answers before it. */
void cl_ingest_answer(struct cl_producer *p, const char *text);
/* cl_ingest_reject() : answers an error in order (id may be NULL). */
void cl_ingest_reject(struct cl_producer *p, enum cl_event_error code, const char *id, const char *msg);
/* cl_ingest_waiting() : events read and not yet queued for the writer (waiting for a duplicate verdict). */
size_t cl_ingest_waiting(struct cl_server *srv);
/* cl_ingest_flush() : submits this turn's events to the writer now. */
void cl_ingest_flush(struct cl_server *srv);
/* The writer's completion callback. */
void cl_ingest_done(struct cl_batch *b, void *srv);

/* cl_ingest_start() : after the workers started: the duplicate check (its filter loads on a worker). */
int cl_ingest_start(struct cl_server *srv, char *err);
/* cl_ingest_close() : frees what ingest holds besides connections (shutdown, after the workers stopped). */
void cl_ingest_close(struct cl_server *srv);

#endif
