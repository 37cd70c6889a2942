/* daemon.h : the daemon's mutable root (struct cl_server) and the interfaces
 * its event-loop modules (ingest, pops, consoles, http, metrics) share. */
#ifndef CALLOGD_DAEMON_H
#define CALLOGD_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <jansson.h>

#include "callogd/config.h"
struct cl_customers;
#include "callogd/event.h"
#include "callogd/numbers.h"
#include "callogd/sdnotify.h"
#include "callogd/store.h"
#include "callogd/writer.h"

/* ---- metrics ---- */

#define CL_HIST_BUCKETS 12
extern const double cl_hist_bounds[CL_HIST_BUCKETS]; /* seconds */

struct cl_hist {
	uint64_t counts[CL_HIST_BUCKETS + 1]; /* the last is +Inf */
	uint64_t n;
	double sum; /* seconds */
};
void cl_hist_observe(struct cl_hist *h, double seconds);

enum cl_conn_kind { CL_CONN_EVENTS, CL_CONN_CONSOLE, CL_CONN_SSE, CL_CONN_HTTP, CL_CONN__COUNT };

struct cl_metrics {
	uint64_t events[CL_EV__COUNT][3];   /* by type: accepted, duplicate, failed */
	uint64_t errors[CL_EVERR_AUTH + 1]; /* answers by error code */
	uint64_t pops, call_msgs, retracts;
	struct cl_hist pop_latency; /* event read -> pop written */
	struct cl_hist commit_time;
	uint64_t commits, committed_events;
	uint64_t connections[CL_CONN__COUNT]; /* open now */
	uint64_t accepted[CL_CONN__COUNT];
	uint64_t refused[CL_CONN__COUNT];
	uint64_t slow_consoles_dropped;
	uint64_t replay_skipped; /* messages not kept for replay: pops.replay_memory was full */
	uint64_t reloads, reload_failures;
};

/* ---- the root ---- */

struct cl_server {
	struct cl_config cfg;
	struct cl_numbers numbers;
	struct event_base *base;
	struct cl_store *reader; /* the loop thread's own read connection */
	struct cl_customers *customers;
	struct cl_writer *writer;
	struct cl_pops *pops;
	struct cl_http *http;

	struct evconnlistener *events_unix, *events_tcp, *agents_unix, *agents_tcp;
	struct event *sig_term, *sig_int, *sig_hup, *watchdog, *housekeeping, *flush_ev, *drain;

	struct cl_batch *open_batch; /* events read this loop turn, not yet submitted */
	struct econn *econns;        /* producer connections (ingest.c) */
	struct cl_console *consoles; /* console connections (consoles.c) */
	struct cl_metrics m;
	struct cl_sd_fds sd; /* sockets systemd passed, until the listeners take them */
	int events_unix_passed, agents_unix_passed;
	int stopping;
	int storage_failing;    /* the last commit failed */
	size_t pending_total;   /* answers waiting for commits, all producers */
	int globally_throttled; /* some producer is held back by that total */
	char storage_error[CL_ERR_LEN];
	int64_t stopping_since, started_ms, last_purge_ms;
};

/* ---- ingest.c: producers and their ordered answers ---- */

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
 * cl_producer_accept() : admits a new connection of conn_kind (refused and
 * counted at limit, or while stopping) and makes its bufferevent and producer
 * for owner. 0, or -1 with fd closed.
 */
int cl_producer_accept(struct cl_server *srv, evutil_socket_t fd, int conn_kind, int limit, int producer_kind,
                       const struct cl_producer_ops *ops, void *owner, struct bufferevent **bev,
                       struct cl_producer **p);
struct cl_producer *cl_producer_new(struct cl_server *srv, int kind, const struct cl_producer_ops *ops, void *owner);
/* cl_producer_release() : the owner is gone; answers still in flight are dropped. */
void cl_producer_release(struct cl_producer *p);
/* Error answers given so far. */
size_t cl_producer_errors(const struct cl_producer *p);
/* Answers not yet written (waiting for their commit). */
size_t cl_producer_pending(const struct cl_producer *p);

/* cl_ingest_line() : one line from p: parse, validate, pop, queue for commit. */
void cl_ingest_line(struct cl_producer *p, const char *line, size_t len);
/* cl_ingest_event() : an event built by the daemon (console wrap-up, state); takes *ev. */
void cl_ingest_event(struct cl_producer *p, struct cl_event *ev);
/* cl_ingest_reject() : answers an error in order (id may be NULL). */
void cl_ingest_reject(struct cl_producer *p, enum cl_event_error code, const char *id, const char *msg);
/* cl_ingest_flush() : submits this turn's events to the writer now. */
void cl_ingest_flush(struct cl_server *srv);
/* The writer's completion callback. */
void cl_ingest_done(struct cl_batch *b, void *srv);

/*
 * cl_ingest_quiesce() : the start of a shutdown: answers the lines already
 * read into buffers, then reads no more (the sockets stay open for the acks).
 */
void cl_ingest_quiesce(struct cl_server *srv);
/*
 * cl_ingest_stop_reading() : reads no more lines from producers; each connection
 * closes once its answers are written (the last loop pass of a shutdown).
 */
void cl_ingest_stop_reading(struct cl_server *srv);
/* cl_ingest_close_all() : closes every producer connection (shutdown). */
void cl_ingest_close_all(struct cl_server *srv);
/* Listeners for events.unix / events.tcp. */
void cl_ingest_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *srv);

/* ---- pops.c: live calls, subscribers (consoles, SSE), fan-out, replay ---- */

struct cl_pops;

/* A subscriber: a socket console or an SSE stream. */
struct cl_sub {
	struct cl_sub *next, *prev;
	char agent[CL_ID_MAX + 1];
	/* Delivers one message; returns -1 if the subscriber must be dropped (the
	 * callee then must not free itself: the caller calls drop() after unlinking). */
	int (*send)(struct cl_sub *s, int64_t seq, const char *type, const char *json, size_t len);
	void (*drop)(struct cl_sub *s);
	int kind; /* enum cl_conn_kind */
};

struct cl_pops *cl_pops_new(struct cl_server *srv);
void cl_pops_free(struct cl_pops *p);
/* cl_pops_on_event() : the pop side of a validated event, before it is queued. */
void cl_pops_on_event(struct cl_pops *p, struct cl_event *ev);
/*
 * cl_pops_subscribe() : adds s for its agent. With last_seq >= 0 (an SSE
 * Last-Event-ID) it replays what the agent was sent since, when the replay
 * buffer still holds all of it; otherwise it sends the pops of the agent's
 * live calls. s may be dropped (its drop() called) if it cannot take them.
 */
void cl_pops_subscribe(struct cl_pops *p, struct cl_sub *s, int64_t last_seq);
void cl_pops_unsubscribe(struct cl_pops *p, struct cl_sub *s);
/* Consoles connected for agent (socket and SSE). */
int cl_pops_consoles(struct cl_pops *p, const char *agent);
size_t cl_pops_live_calls(struct cl_pops *p);
/* Bytes held for replay over all agents (messages and rings). */
size_t cl_pops_replay_bytes(struct cl_pops *p);
/* Drops idle per-agent replay buffers; called periodically. */
void cl_pops_expire(struct cl_pops *p, int64_t now_ms);

/* ---- consoles.c: agents.unix / agents.tcp sessions ---- */

void cl_consoles_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *srv);
/* cl_consoles_close_all() : closes every console connection (shutdown). */
void cl_consoles_close_all(struct cl_server *srv);

/* ---- http.c ---- */

struct cl_http;
struct cl_http *cl_http_start(struct cl_server *srv, evutil_socket_t fd, char *err);
void cl_http_free(struct cl_http *h);

/* ---- metrics.c ---- */

/* cl_metrics_render() : the Prometheus text exposition into out. */
void cl_metrics_render(struct cl_server *srv, struct evbuffer *out);

/* ---- shared helpers ---- */

/* cl_bev_write_now() : appends data to bev's output and tries to write it at
 * once, so a pop or an ack does not wait for the next loop turn. */
void cl_bev_write_now(struct bufferevent *bev, const void *data, size_t len);
/* cl_bev_writev_now() : the same for n pieces, written with one writev() when nothing is queued. */
struct iovec;
void cl_bev_writev_now(struct bufferevent *bev, const struct iovec *iov, int n);

#endif
