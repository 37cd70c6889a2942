/* http_gate.c : owns the gate every HTTP connection passes before evhttp: the
 * connection cap, each request's head read and judged before its body, the
 * budget of body bytes in flight, and the bounds on what one connection may
 * queue (see http_gate.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <event2/http.h>

#include "callogd/daemon.h"
#include "callogd/hmap.h"
#include "callogd/http_gate.h"
#include "callogd/log.h"
#include "callogd/tls.h"

#define HEAD_MAX (16384 + 4096) /* evhttp's own header bound, and a request line */
#define READ_AHEAD 65536        /* bytes read from a socket before the gate passes them on */
#define WRITE_AHEAD 262144      /* reply bytes queued below the gate before evhttp waits */
#define INFLIGHT_MAX 8          /* requests passed to evhttp and not yet answered, per connection */
#define REFUSED_PREFIX "/-/refused/"
#define COOKIE_NAME "callogd_session"

enum phase { P_HEAD, P_BODY_LEN, P_BODY_CHUNKED, P_DEAD };

struct gate {
	struct cl_http_gates *g;
	struct bufferevent *bev; /* the filter evhttp reads and writes */
	struct event *kick;      /* runs the filter again from the loop */
	int kick_pending;        /* holds a reference on bev */
	int owe_written;         /* evhttp waits to hear its reply left: when the bytes below are written */
	enum phase phase;
	size_t scanned; /* of the head so far */
	int scan_state;
	uint64_t body_left; /* P_BODY_LEN */
	int64_t bound;      /* of the body being read */
	uint64_t body_seen;
	struct cl_chunks chunks;
	/* Budget held by each request passed and not yet answered, oldest first (a body is held until its answer). */
	uint64_t held[INFLIGHT_MAX];
	int first, n;
	int refuse;                       /* a refusal to hand evhttp when the filter next runs */
	int paused;                       /* waiting for budget, on g->paused */
	struct gate *next, *prev;         /* g->paused */
	struct gate *all_next, *all_prev; /* g->all */
};

struct cl_http_gates {
	struct cl_server *srv;
	cl_gate_decide_fn decide;
	void *arg;
	uint64_t open;
	uint64_t used; /* body bytes held over all connections */
	struct gate *paused;
	struct gate *all;      /* every connection's gate */
	struct cl_hmap *bybev; /* "%p" of a connection's bufferevent -> its gate */
	int freed;             /* cl_http_gates_free() came: the last gate frees g */
};

static void gates_free(struct cl_http_gates *g);

static const struct refusal {
	int status;
	const char *error, *message;
} refusals[] = {
    {400, "bad_request", "a malformed or ambiguous request"},
    {401, "unauthorized", "credentials are required (Authorization: Bearer, or the session cookie)"},
    {413, "too_large", "the request body is over this request's bound"},
    {431, "too_large", "the request head is over 16 KiB"},
    {501, "not_implemented", "this method or transfer coding is not accepted"},
    {503, "busy", "too many connections or request bodies in flight; try again"},
};

int
cl_http_gate_refusal(const char *path, const char **error, const char **message)
{
	int status;

	if (strncmp(path, REFUSED_PREFIX, strlen(REFUSED_PREFIX)) != 0)
		return 0;
	status = atoi(path + strlen(REFUSED_PREFIX));
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (refusals[i].status == status) {
			*error = refusals[i].error;
			*message = refusals[i].message;
			return status;
		}
	*error = refusals[0].error;
	*message = refusals[0].message;
	return 400;
}

uint64_t
cl_http_gates_body_bytes(void *arg)
{
	return ((struct cl_http_gates *)arg)->used;
}

static uint64_t
budget(const struct cl_http_gates *g)
{
	return (uint64_t)g->srv->cfg.http_body_memory << 20;
}

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct gate *gt = arg;
	struct bufferevent *bev = gt->bev;

	(void)fd;
	(void)what;
	gt->kick_pending = 0;
	/*
	 * libevent 2.1's filter passes a reply evhttp queued before enabling
	 * writes only when told to; and input the gate held back only when run.
	 */
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		bufferevent_flush(bev, EV_WRITE, BEV_NORMAL);
	if (gt->owe_written && evbuffer_get_length(bufferevent_get_output(bufferevent_get_underlying(bev))) == 0) {
		gt->owe_written = 0;
		bufferevent_trigger(bev, EV_WRITE, 0);
	}
	bufferevent_flush(bev, EV_READ, BEV_NORMAL);
	/* Only while evhttp reads: it stops between a request read and its answer, and must not be called then. */
	if ((bufferevent_get_enabled(bev) & EV_READ) && evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		bufferevent_trigger(bev, EV_READ, 0);
	bufferevent_decref(bev); /* may free gt */
}

/* Runs the filter again from the loop (never from inside another filter). */
static void
kick(struct gate *gt)
{
	if (gt->kick_pending)
		return;
	gt->kick_pending = 1;
	bufferevent_incref(gt->bev);
	event_active(gt->kick, EV_TIMEOUT, 0);
}

static void
unpause(struct gate *gt)
{
	if (!gt->paused)
		return;
	if (gt->prev)
		gt->prev->next = gt->next;
	else
		gt->g->paused = gt->next;
	if (gt->next)
		gt->next->prev = gt->prev;
	gt->next = gt->prev = NULL;
	gt->paused = 0;
}

static void
wake_paused(struct cl_http_gates *g)
{
	while (g->paused) {
		struct gate *p = g->paused;
		unpause(p);
		if (!g->freed)
			kick(p);
	}
}

/* A request is passed to evhttp: it holds bytes of the budget until it is answered. */
static void
hold_push(struct gate *gt, uint64_t bytes)
{
	gt->held[(gt->first + gt->n++) % INFLIGHT_MAX] = bytes;
	gt->g->used += bytes;
}

/* The oldest request passed was answered (or its connection is gone): its bytes are free. */
static void
hold_pop(struct gate *gt)
{
	if (gt->n == 0)
		return;
	gt->g->used -= gt->held[gt->first];
	gt->first = (gt->first + 1) % INFLIGHT_MAX;
	gt->n--;
	wake_paused(gt->g);
}

/* The refused request's stand-in, for evhttp to answer in turn; everything after it is dropped. */
static void
hand_refusal(struct gate *gt, struct evbuffer *src, struct evbuffer *dst, int status)
{
	evbuffer_add_printf(dst, "GET " REFUSED_PREFIX "%d HTTP/1.1\r\nHost: -\r\nConnection: close\r\n\r\n", status);
	evbuffer_drain(src, evbuffer_get_length(src));
	unpause(gt);
	hold_push(gt, 0);
	gt->phase = P_DEAD;
}

/* A body's framing broke after evhttp saw its head: no answer can be in order, close. */
static void
cut(struct gate *gt, struct evbuffer *src)
{
	evutil_socket_t fd = bufferevent_getfd(gt->bev);

	evbuffer_drain(src, evbuffer_get_length(src));
	gt->phase = P_DEAD;
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR); /* evhttp sees the end and frees the connection */
}

/* A whole head is in src[0..n): judge it, and pass it on or refuse it. */
static void
judge(struct gate *gt, struct evbuffer *src, struct evbuffer *dst, size_t n)
{
	struct cl_http_gates *g = gt->g;
	struct cl_httphead h;
	char err[CL_ERR_LEN] = "no credentials, or a body over its bound";
	const char *head = (const char *)evbuffer_pullup(src, (ev_ssize_t)n);
	int status;

	gt->scanned = 0;
	gt->scan_state = 0;
	if (head == NULL) {
		hand_refusal(gt, src, dst, 503);
		return;
	}
	if ((status = cl_httphead_parse(head, n, COOKIE_NAME, &h, err)) == 0)
		status = g->decide(g->arg, &h, &gt->bound);
	if (status == 0 && h.method != CL_HTTP_POST)
		h.content_length = -1, h.chunked = 0; /* evhttp reads no body for these */
	if (status == 0 && h.content_length > gt->bound)
		status = 413;
	if (status == 0 && h.content_length > 0 && g->used + (uint64_t)h.content_length > budget(g))
		status = 503;
	if (status != 0) {
		log_debug("msg=\"http request refused before its body\" status=%d path=\"%s\" reason=\"%s\"", status,
		          h.path, status == 503 ? "busy" : err);
		hand_refusal(gt, src, dst, status);
		return;
	}
	evbuffer_remove_buffer(src, dst, n);
	gt->body_seen = 0;
	/* The declared length is held at once (a body sent halfway holds it all), until the answer. */
	hold_push(gt, h.content_length > 0 ? (uint64_t)h.content_length : 0);
	if (h.chunked) {
		memset(&gt->chunks, 0, sizeof(gt->chunks));
		gt->phase = P_BODY_CHUNKED;
	} else if (h.content_length > 0) {
		gt->body_left = (uint64_t)h.content_length;
		gt->phase = P_BODY_LEN;
	}
}

/* The bytes of a chunked body in src that may pass now (the budget allows), passed. */
static void
pass_chunked(struct gate *gt, struct evbuffer *src, struct evbuffer *dst, size_t room)
{
	struct cl_http_gates *g = gt->g;
	size_t avail = evbuffer_get_length(src), n = avail < room ? avail : room;
	uint64_t left = budget(g) > g->used ? budget(g) - g->used : 0;
	const char *p;
	long took;

	if (n > left)
		n = (size_t)left;
	if (n == 0) {
		if (!gt->paused) { /* waits for another body to end */
			gt->paused = 1;
			gt->next = g->paused;
			if (gt->next)
				gt->next->prev = gt;
			g->paused = gt;
		}
		return;
	}
	if ((p = (const char *)evbuffer_pullup(src, (ev_ssize_t)n)) == NULL ||
	    (took = cl_chunks_feed(&gt->chunks, p, n)) < 0 || gt->body_seen + (uint64_t)took > (uint64_t)gt->bound) {
		cut(gt, src);
		return;
	}
	evbuffer_remove_buffer(src, dst, (size_t)took);
	gt->body_seen += (uint64_t)took;
	gt->held[(gt->first + gt->n - 1) % INFLIGHT_MAX] += (uint64_t)took;
	g->used += (uint64_t)took;
	if (gt->chunks.done)
		gt->phase = P_HEAD;
}

static enum bufferevent_filter_result
gate_in(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit, enum bufferevent_flush_mode mode, void *ctx)
{
	struct gate *gt = ctx;
	size_t before = evbuffer_get_length(dst);
	/*
	 * Not the filter's own watermark (evhttp then never hears of the input):
	 * the gate's bound, on what waits ahead of evhttp between requests. A body
	 * passes whole (its bytes are held against the budget): evhttp takes a body,
	 * or a chunk, only once all of it is there.
	 */
	size_t room = before < READ_AHEAD ? READ_AHEAD - before : 0;

	(void)mode;
	(void)limit;
	if (gt->phase == P_DEAD) {
		evbuffer_drain(src, evbuffer_get_length(src));
		return BEV_NEED_MORE;
	}
	if (gt->refuse) {
		hand_refusal(gt, src, dst, gt->refuse);
		return BEV_OK;
	}
	while (gt->phase != P_DEAD && evbuffer_get_length(src) > 0) {
		size_t len = evbuffer_get_length(src);
		if (gt->phase == P_HEAD) {
			if (evbuffer_get_length(dst) >= before + room || gt->n == INFLIGHT_MAX)
				break; /* more waits for answers (cl_http_gate_begin()'s callback runs the gate again)
				        */
			struct evbuffer_iovec v[8];
			size_t at = 0, end = 0;
			int nv;
			/* Blank lines between requests are dropped (evhttp would refuse them). */
			if (gt->scanned == 0) {
				unsigned char c;
				while (evbuffer_copyout(src, &c, 1) == 1 && (c == '\r' || c == '\n'))
					evbuffer_drain(src, 1);
				if ((len = evbuffer_get_length(src)) == 0)
					break;
			}
			nv = evbuffer_peek(src, (ev_ssize_t)(len < HEAD_MAX ? len : HEAD_MAX), NULL, v, 8);
			if (nv > 8) { /* many small reads: make them one piece */
				evbuffer_pullup(src, (ev_ssize_t)(len < HEAD_MAX ? len : HEAD_MAX));
				nv = evbuffer_peek(src, (ev_ssize_t)(len < HEAD_MAX ? len : HEAD_MAX), NULL, v, 8);
			}
			for (int i = 0; i < nv && i < 8 && end == 0; i++) {
				size_t vlen = v[i].iov_len;
				if (at + vlen > gt->scanned) {
					size_t from = gt->scanned > at ? gt->scanned - at : 0;
					size_t e = cl_httphead_end(v[i].iov_base, vlen, from, &gt->scan_state);
					if (e > 0)
						end = at + e;
					else
						gt->scanned = at + vlen;
				}
				at += vlen;
			}
			if (end > 0 && end <= HEAD_MAX) {
				judge(gt, src, dst, end);
				continue;
			}
			if (end > HEAD_MAX || gt->scanned >= HEAD_MAX)
				hand_refusal(gt, src, dst, 431);
			break; /* the rest of the head has not come yet */
		}
		if (gt->phase == P_BODY_LEN) {
			size_t n = len;
			if (n > gt->body_left)
				n = (size_t)gt->body_left;
			evbuffer_remove_buffer(src, dst, n);
			if ((gt->body_left -= n) == 0)
				gt->phase = P_HEAD;
			continue;
		}
		pass_chunked(gt, src, dst, len);
		if (gt->paused)
			break;
	}
	return evbuffer_get_length(dst) > before ? BEV_OK : BEV_NEED_MORE;
}

/* evhttp drained what the gate passed: pass more of what waits below it. */
static void
on_passed(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct gate *gt = arg;

	(void)buf;
	if (info->n_deleted > 0 && gt->phase != P_DEAD &&
	    evbuffer_get_length(bufferevent_get_input(bufferevent_get_underlying(gt->bev))) > 0)
		kick(gt);
}

/*
 * evhttp's bytes on their way out. evhttp frees a connection (and with it the
 * bufferevent below, and anything still queued there) as soon as it hears that
 * its reply left; the filter would say so once the bytes are merely moved
 * down. So the bytes are written at once when the socket takes them, and
 * evhttp hears of it only when nothing is left below (owe_written).
 */
static enum bufferevent_filter_result
gate_out(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit, enum bufferevent_flush_mode mode, void *ctx)
{
	struct gate *gt = ctx;
	struct bufferevent *under = bufferevent_get_underlying(gt->bev);
	size_t n = evbuffer_get_length(src);

	(void)mode;
	if (limit >= 0 && n > (size_t)limit)
		n = (size_t)limit;
	evbuffer_remove_buffer(src, dst, n);
	/* A TLS bufferevent writes what it is given itself; a plain socket is written here. */
	if (bufferevent_openssl_get_ssl(under) == NULL && bufferevent_getfd(under) >= 0)
		evbuffer_write(dst, bufferevent_getfd(under));
	if (evbuffer_get_length(dst) == 0)
		return BEV_OK;
	gt->owe_written = 1;
	return BEV_NEED_MORE;
}

/* The bytes below were all written: tell evhttp its reply left, from the loop. */
static void
on_written(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct gate *gt = arg;

	if (info->n_deleted > 0 && gt->owe_written && evbuffer_get_length(buf) == 0)
		kick(gt);
}

/* evhttp queued a reply: pass it down from the loop. */
static void
on_queued(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	(void)buf;
	if (info->n_added > 0)
		kick(arg);
}

static void
gate_free(void *ctx)
{
	struct gate *gt = ctx;
	char key[32];

	unpause(gt);
	while (gt->n > 0)
		hold_pop(gt);
	snprintf(key, sizeof(key), "%p", (void *)gt->bev);
	cl_hmap_del(gt->g->bybev, key);
	if (gt->all_prev)
		gt->all_prev->all_next = gt->all_next;
	else
		gt->g->all = gt->all_next;
	if (gt->all_next)
		gt->all_next->all_prev = gt->all_prev;
	event_free(gt->kick);
	/* libevent may finalize a connection's bufferevent after evhttp_free() returned. */
	if (--gt->g->open == 0 && gt->g->freed)
		gates_free(gt->g);
	else if (!gt->g->freed)
		gt->g->srv->m.connections[CL_CONN_HTTP]--;
	free(gt);
}

struct bufferevent *
cl_http_gate_bev(struct event_base *base, void *arg)
{
	struct cl_http_gates *g = arg;
	struct cl_server *srv = g->srv;
	struct gate *gt = calloc(1, sizeof(*gt));
	struct bufferevent *under = NULL, *bev;
	char key[32];

	if (gt == NULL || (gt->kick = event_new(base, -1, 0, on_kick, gt)) == NULL)
		goto fail;
	under = srv->cfg.http_tls ? cl_tls_accept_bev(srv->tls, base, -1)
	                          : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (under == NULL)
		goto fail;
	/* Below the gate: a bounded read-ahead, and replies queued up to a bound before evhttp waits. */
	bufferevent_setwatermark(under, EV_READ, 0, READ_AHEAD);
	bufferevent_setwatermark(under, EV_WRITE, 0, WRITE_AHEAD);
	if ((bev = bufferevent_filter_new(under, gate_in, gate_out, BEV_OPT_CLOSE_ON_FREE, gate_free, gt)) == NULL)
		goto fail;
	gt->g = g;
	gt->bev = bev;
	gt->all_next = g->all;
	if (g->all)
		g->all->all_prev = gt;
	g->all = gt;
	snprintf(key, sizeof(key), "%p", (void *)bev);
	if (cl_hmap_put(g->bybev, key, gt) < 0) {
		g->open++; /* gate_free() counts it out */
		srv->m.connections[CL_CONN_HTTP]++;
		bufferevent_free(bev); /* frees under, and gt through gate_free() */
		return NULL;
	}
	evbuffer_add_cb(bufferevent_get_input(bev), on_passed, gt);
	evbuffer_add_cb(bufferevent_get_output(bev), on_queued, gt);
	evbuffer_add_cb(bufferevent_get_output(under), on_written, gt);
	g->open++;
	srv->m.connections[CL_CONN_HTTP]++;
	srv->m.accepted[CL_CONN_HTTP]++;
	if (g->open > (uint64_t)srv->cfg.http_max_clients) {
		/* Over the cap: answered 503 and closed at once, whatever it sends. */
		srv->m.refused[CL_CONN_HTTP]++;
		gt->refuse = 503;
		kick(gt);
	}
	return bev;
fail:
	if (under)
		bufferevent_free(under);
	if (gt && gt->kick)
		event_free(gt->kick);
	free(gt);
	return NULL;
}

static void
gates_free(struct cl_http_gates *g)
{
	cl_hmap_free(g->bybev);
	free(g);
}

struct cl_http_gates *
cl_http_gates_new(struct cl_server *srv, cl_gate_decide_fn decide, void *arg)
{
	struct cl_http_gates *g = calloc(1, sizeof(*g));

	if (g == NULL || (g->bybev = cl_hmap_new()) == NULL) {
		free(g);
		return NULL;
	}
	g->srv = srv;
	g->decide = decide;
	g->arg = arg;
	return g;
}

void
cl_http_gates_free(struct cl_http_gates *g)
{
	if (g == NULL)
		return;
	g->freed = 1;
	g->open++; /* g outlives the loop below */
	/* A kick still pending holds its connection's bufferevent: let it go. */
	for (struct gate *gt = g->all, *next; gt; gt = next) {
		next = gt->all_next;
		if (gt->kick_pending) {
			gt->kick_pending = 0;
			event_del(gt->kick);
			bufferevent_decref(gt->bev); /* may free gt */
		}
	}
	if (--g->open == 0)
		gates_free(g);
}

/* A request's answer is complete: what its body held is free, and more requests may pass. */
static void
on_answered(struct evhttp_request *req, void *arg)
{
	struct gate *gt = arg;

	(void)req;
	hold_pop(gt);
	if (!gt->g->freed)
		kick(gt);
}

void
cl_http_gate_begin(struct cl_http_gates *g, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char key[32];
	struct gate *gt;

	if (evcon == NULL)
		return;
	snprintf(key, sizeof(key), "%p", (void *)evhttp_connection_get_bufferevent(evcon));
	if ((gt = cl_hmap_get(g->bybev, key)) != NULL)
		evhttp_request_set_on_complete_cb(req, on_answered, gt);
}
