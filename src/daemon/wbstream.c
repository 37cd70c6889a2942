/* wbstream.c : owns GET /api/wallboard/stream (docs/reports.md): supervisors'
 * wallboards as Server-Sent Events. One snapshot, read on a worker for every
 * stream at once, and only after events were committed (at most one per
 * tick), becomes `queue`, `agent` and `hours` updates of what changed; a new
 * stream gets a `snapshot` first, and every stream a fresh one at least every
 * 25 s, at a new day, or when a queue or agent left. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "callogd/daemon.h"
#include "callogd/hjob.h"
#include "callogd/log.h"
#include "callogd/net.h"
#include "callogd/tz.h"
#include "callogd/util.h"
#include "callogd/wallboard.h"
#include "callogd/wbstream.h"
#include "callogd/workers.h"

#define TICK_MS 500             /* changes reach the streams within about this (plus the read) */
#define SNAPSHOT_EVERY_MS 25000 /* a fresh snapshot at least this often (§10: 30 s) */
#define HEARTBEAT_MS 15000

struct wbs {
	struct wbs *next, *prev;
	struct cl_wb *wb;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	int dropped; /* being shut for not reading */
	int fresh;   /* has had no snapshot yet */
};

struct snapjob {
	struct cl_job job; /* first: the pool's part */
	struct cl_wb *wb;
	char tz[CL_TZ_NAME_MAX + 1];
	struct cl_wallboard_params p;
	json_t *out;
	char err[CL_ERR_LEN];
};

struct cl_wb {
	struct cl_server *srv;
	struct wbs *streams;
	int n;
	struct event *tick;
	int busy;             /* a snapshot is being read */
	uint64_t events_seen; /* committed events when the last read started */
	int64_t snapshot_ms;  /* when the last full snapshot went out */
	int64_t beat_ms, seq; /* the last heartbeat; the last message id */
	json_t *last;         /* the last snapshot read, NULL when none */
};

/* Queues stream: shut a stream that does not read; evhttp then closes it and wbs_closed frees it. */
static void
wbs_drop(struct wbs *s)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);

	if (s->dropped)
		return;
	s->dropped = 1;
	s->wb->srv->m.slow_consoles_dropped++;
	log_info("msg=\"wallboard stream dropped: not reading\" streams=%d", s->wb->n);
	shutdown(bufferevent_getfd(bev), SHUT_RDWR);
}

/*
 * Writes data to s, or drops s when output it has not read yet would grow past
 * agents.max_output (a snapshot bigger than that still goes to a stream that reads).
 */
static void
wbs_write(struct wbs *s, const char *data, size_t len)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);
	size_t queued = cl_bev_queued(bev);
	struct evbuffer *b;

	if (s->dropped || len == 0)
		return;
	if (queued > 0 && queued + len > (size_t)s->wb->srv->cfg.agents_max_output) {
		wbs_drop(s);
		return;
	}
	if ((b = evbuffer_new()) == NULL)
		return;
	evbuffer_add(b, data, len);
	evhttp_send_reply_chunk(s->req, b);
	evbuffer_free(b);
	cl_bev_write_now(bev, NULL, 0);
}

/* Appends one SSE message (id, event, data) to out; -1 on out of memory. */
static int
message(struct cl_wb *wb, struct evbuffer *out, const char *type, json_t *data)
{
	char *text = json_dumps(data, JSON_COMPACT);
	int rc;

	if (text == NULL)
		return -1;
	rc = evbuffer_add_printf(out, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)++wb->seq, type, text);
	free(text);
	return rc < 0 ? -1 : 0;
}

/* The element of array arr whose key equals that of item (null included), or NULL. */
static json_t *
find(json_t *arr, const char *key, json_t *item)
{
	size_t i;
	json_t *v;

	json_array_foreach (arr, i, v)
		if (json_equal(json_object_get(v, key), json_object_get(item, key)))
			return v;
	return NULL;
}

/* 1 when some element of old[name] is gone from new[name]. */
static int
left(json_t *old, json_t *snap, const char *name, const char *key)
{
	size_t i;
	json_t *v;

	json_array_foreach (json_object_get(old, name), i, v)
		if (find(json_object_get(snap, name), key, v) == NULL)
			return 1;
	return 0;
}

/* Equal but for what only the clock changes (the page counts those on by itself). */
static int
same(json_t *a, json_t *b)
{
	json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
	static const char *const clocked[] = {"longest_wait_ms", "in_state_ms"};
	int eq;

	for (size_t i = 0; x != NULL && y != NULL && i < sizeof(clocked) / sizeof(clocked[0]); i++) {
		json_object_del(x, clocked[i]);
		json_object_del(y, clocked[i]);
	}
	if (json_is_object(json_object_get(x, "call")))
		json_object_del(json_object_get(x, "call"), "duration_ms");
	if (json_is_object(json_object_get(y, "call")))
		json_object_del(json_object_get(y, "call"), "duration_ms");
	eq = x != NULL && y != NULL && json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return eq;
}

/* The updates from old to snap: a queue or agent that is new or changed, the hours when they changed. */
static int
updates(struct cl_wb *wb, json_t *old, json_t *snap, struct evbuffer *out)
{
	static const struct {
		const char *name, *key, *type;
	} lists[] = {{"queues", "queue", "queue"}, {"agents", "id", "agent"}};
	size_t i;
	json_t *v, *o;

	for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++)
		json_array_foreach (json_object_get(snap, lists[k].name), i, v)
			if (((o = find(json_object_get(old, lists[k].name), lists[k].key, v)) == NULL || !same(o, v)) &&
			    message(wb, out, lists[k].type, v) < 0)
				return -1;
	if (!json_equal(json_object_get(old, "hours"), json_object_get(snap, "hours"))) {
		json_t *h = json_pack("{s:O}", "hours", json_object_get(snap, "hours"));
		int rc = h != NULL ? message(wb, out, "hours", h) : -1;
		json_decref(h);
		return rc;
	}
	return 0;
}

/* On the loop: a new snapshot for every stream, whole or as what changed. */
static void
broadcast(struct cl_wb *wb, json_t *snap)
{
	int64_t now = cl_now_ms();
	json_t *old = wb->last;
	int full = old == NULL || now - wb->snapshot_ms >= SNAPSHOT_EVERY_MS ||
	           !json_equal(json_object_get(old, "date"), json_object_get(snap, "date")) ||
	           left(old, snap, "queues", "queue") || left(old, snap, "agents", "id");
	struct evbuffer *whole = evbuffer_new(), *diff = evbuffer_new();
	int need_whole = full;

	for (struct wbs *s = wb->streams; s; s = s->next)
		need_whole |= s->fresh;
	if (whole == NULL || diff == NULL || (need_whole && message(wb, whole, "snapshot", snap) < 0) ||
	    (!full && updates(wb, old, snap, diff) < 0)) {
		log_warnx("msg=\"wallboard update not sent\" error=\"out of memory\"");
		goto out;
	}
	for (struct wbs *s = wb->streams; s; s = s->next) {
		struct evbuffer *b = full || s->fresh ? whole : diff;
		wbs_write(s, (const char *)evbuffer_pullup(b, -1), evbuffer_get_length(b));
		s->fresh = 0;
	}
	if (full)
		wb->snapshot_ms = now;
	json_decref(wb->last);
	wb->last = json_incref(snap);
out:
	if (whole)
		evbuffer_free(whole);
	if (diff)
		evbuffer_free(diff);
}

/* On a worker: the snapshot GET /api/wallboard answers. */
static void
snap_run(struct cl_job *job, struct cl_worker_ctx *ctx)
{
	struct snapjob *j = (struct snapjob *)job;
	struct cl_tz *tz = cl_tz_load(j->tz, j->err);

	if (tz == NULL)
		return;
	j->p.tz = tz;
	j->out = cl_view_wallboard(ctx->st, &j->p, j->err);
	cl_tz_free(tz);
}

static void
snap_done(struct cl_job *job, int status)
{
	struct snapjob *j = (struct snapjob *)job;
	struct cl_wb *wb = j->wb;

	wb->busy = 0;
	if (status == CL_JOB_RAN && j->out != NULL)
		broadcast(wb, j->out);
	else if (status == CL_JOB_RAN)
		log_warnx("msg=\"wallboard snapshot not read\" error=\"%s\"", j->err);
	json_decref(j->out);
	free(j);
}

/* Starts reading a snapshot unless one is being read. */
static void
read_snapshot(struct cl_wb *wb)
{
	struct cl_server *srv = wb->srv;
	struct snapjob *j;
	char err[CL_ERR_LEN];

	if (wb->busy || (j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->job.run = snap_run;
	j->job.done = snap_done;
	j->wb = wb;
	snprintf(j->tz, sizeof(j->tz), "%s", srv->cfg.stats_timezone ? srv->cfg.stats_timezone : "");
	j->p.now_ms = cl_now_ms();
	j->p.sla_ms = (int64_t)srv->cfg.sla_seconds * 1000;
	j->p.short_ms = (int64_t)srv->cfg.short_abandon_seconds * 1000;
	if (cl_workers_submit(srv->workers, &j->job, CL_JOB_LOW, err) < 0) {
		free(j); /* busy: the next tick tries again */
		return;
	}
	wb->busy = 1;
	wb->events_seen = srv->m.committed_events;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct cl_wb *wb = arg;
	int64_t now = cl_now_ms();
	int fresh = 0;

	(void)fd;
	(void)what;
	if (wb->n == 0) {
		json_decref(wb->last); /* the next stream starts from a snapshot anyway */
		wb->last = NULL;
		return;
	}
	if (now - wb->beat_ms >= HEARTBEAT_MS) {
		wb->beat_ms = now;
		for (struct wbs *s = wb->streams; s; s = s->next)
			wbs_write(s, ": heartbeat\n\n", 13);
	}
	for (struct wbs *s = wb->streams; s; s = s->next)
		fresh |= s->fresh;
	if (fresh || wb->srv->m.committed_events != wb->events_seen || now - wb->snapshot_ms >= SNAPSHOT_EVERY_MS)
		read_snapshot(wb);
}

struct cl_wb *
cl_wb_new(struct cl_server *srv)
{
	struct cl_wb *wb = calloc(1, sizeof(*wb));
	struct timeval tv = {0, TICK_MS * 1000};

	if (wb == NULL)
		return NULL;
	wb->srv = srv;
	if ((wb->tick = event_new(srv->base, -1, EV_PERSIST, on_tick, wb)) == NULL ||
	    event_priority_set(wb->tick, 1) < 0 || event_add(wb->tick, &tv) < 0) {
		cl_wb_free(wb);
		return NULL;
	}
	return wb;
}

void
cl_wb_free(struct cl_wb *wb)
{
	if (wb == NULL)
		return;
	/* The streams are gone with the HTTP server (cl_http_free) and the reads with the workers. */
	if (wb->tick)
		event_free(wb->tick);
	json_decref(wb->last);
	free(wb);
}

static void
wbs_closed(struct evhttp_connection *evcon, void *arg)
{
	struct wbs *s = arg;
	struct cl_wb *wb = s->wb;

	(void)evcon;
	if (s->prev)
		s->prev->next = s->next;
	else
		wb->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	wb->n--;
	wb->srv->m.connections[CL_CONN_SSE]--;
	/* After a failure evhttp detached the request and leaves it to us. */
	if (evhttp_request_get_connection(s->req) == NULL)
		evhttp_send_reply_end(s->req);
	free(s);
}

void
cl_wb_open(struct cl_wb *wb, struct evhttp_request *req)
{
	struct wbs *s;

	if (wb == NULL) {
		cl_http_reply_error(req, 503, "busy", "the wallboard stream is not running: poll /api/wallboard");
		return;
	}
	if (wb->srv->stopping || wb->n >= wb->srv->cfg.wallboard_streams) {
		wb->srv->m.refused[CL_CONN_SSE]++;
		cl_http_reply_error(req, 503, "busy",
		                    "too many wallboard streams (stats.wallboard_streams): poll /api/wallboard");
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		cl_http_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	s->wb = wb;
	s->req = req;
	s->evcon = evhttp_request_get_connection(req);
	s->fresh = 1;
	s->next = wb->streams;
	if (s->next)
		s->next->prev = s;
	wb->streams = s;
	wb->n++;
	wb->srv->m.connections[CL_CONN_SSE]++;
	wb->srv->m.accepted[CL_CONN_SSE]++;
	cl_http_sse_begin(req, wbs_closed, s);
	wbs_write(s, "retry: 2000\n\n", 13);
	read_snapshot(wb); /* the snapshot now, not at the next tick */
}
