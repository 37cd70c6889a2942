/* econn.c : owns the events.unix / events.tcp connections: the optional
 * hello, reading lines into ingest, and pausing while their answers wait. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "callogd/daemon.h"
#include "callogd/econn.h"
#include "callogd/ingest.h"
#include "callogd/lines.h"
#include "callogd/log.h"
#include "callogd/net.h"
#include "callogd/util.h"

/* A connection stops being read while this many answer bytes wait for it to read them. */
#define OUT_HIGH (4 * 1024 * 1024)
#define HELLO_TIMEOUT_S 10

struct econn {
	struct econn *next, *prev; /* srv->ingest.econns */
	struct cl_server *srv;
	struct bufferevent *bev;
	struct cl_producer *p;
	int authed;             /* the hello was accepted, or no token is required */
	struct event *deadline; /* the hello must come by then, however slowly its bytes trickle in */
	struct cl_lines lines;
	int throttled; /* reading is off until answers drain */
	int closing;   /* close once the answers are written */
};

static void econn_read(struct bufferevent *bev, void *arg);

static void
econn_free(struct econn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->srv->ingest.econns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->srv->m.connections[CL_CONN_EVENTS]--;
	if (c->deadline)
		event_free(c->deadline);
	cl_producer_release(c->p);
	bufferevent_free(c->bev);
	free(c);
}

static struct evbuffer *
econn_out(void *owner)
{
	return bufferevent_get_output(((struct econn *)owner)->bev);
}

/* Resumes reading once the answers have drained. */
static void
econn_check_throttle(struct econn *c)
{
	size_t out = evbuffer_get_length(bufferevent_get_output(c->bev));

	if (c->srv->stopping)
		return; /* draining: write the answers, read nothing more */
	if (c->throttled && out < OUT_HIGH / 2 && cl_producer_may_resume(c->p)) {
		c->throttled = 0;
		bufferevent_enable(c->bev, EV_READ);
		/* Lines may already be buffered; read them from the loop, not from inside a flush. */
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	}
}

static void
econn_flushed(void *owner)
{
	struct econn *c = owner;

	cl_bev_write_now(c->bev, NULL, 0);
	if (!c->closing)
		econn_check_throttle(c);
}

static const struct cl_producer_ops econn_ops = {econn_out, econn_flushed};

static int
econn_hello(struct econn *c, const char *line, size_t len)
{
	json_t *j = json_loadb(line, len, 0, NULL);
	const char *type = NULL, *token = NULL;
	const char *want = c->srv->cfg.events_token;
	int ok = 0;

	if (j && json_is_object(j)) {
		type = json_string_value(json_object_get(j, "type"));
		token = json_string_value(json_object_get(j, "token"));
	}
	if (type && token && strcmp(type, "hello") == 0 && strlen(token) == strlen(want))
		ok = cl_ct_equal(token, want, strlen(want));
	json_decref(j);
	return ok;
}

static void
econn_read(struct bufferevent *bev, void *arg)
{
	struct econn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	c->lines.max = (size_t)c->srv->cfg.events_max_line; /* a reload may change it */
	while (!c->throttled && !c->closing) {
		char *line;
		size_t n;
		int st;
		if (!cl_producer_answer_sure(c->p)) { /* out of memory: no line is read until an answer is sure */
			c->throttled = 1;
			bufferevent_disable(bev, EV_READ);
			break;
		}
		st = cl_lines_next(&c->lines, in, 0, &line, &n);
		if (st == CL_LINE_MORE)
			break;
		if (st == CL_LINE_TOO_LONG) {
			cl_ingest_reject(c->p, CL_EVERR_TOO_LONG, NULL, "line longer than events.max_line");
			continue;
		}
		if (st == CL_LINE_NOMEM) {
			cl_ingest_reject(c->p, CL_EVERR_STORAGE, NULL, "out of memory");
			continue;
		}
		if (!c->authed) {
			if (econn_hello(c, line, n)) {
				c->authed = 1;
				cl_lines_done(&c->lines, in);
				event_free(c->deadline);
				c->deadline = NULL;
				bufferevent_set_timeouts(bev, NULL, NULL);
				if (c->srv->cfg.events_idle_timeout > 0) {
					struct timeval tv = {c->srv->cfg.events_idle_timeout, 0};
					bufferevent_set_timeouts(bev, &tv, NULL);
				}
				cl_ingest_answer(c->p, "{\"ok\":true}\n");
				continue;
			}
			c->srv->m.errors[CL_EVERR_AUTH]++;
			cl_bev_write_now(bev, "{\"error\":\"auth\"}\n", 17);
			c->closing = 1;
			bufferevent_disable(bev, EV_READ);
			break;
		}
		cl_ingest_line(c->p, line, n);
		cl_lines_done(&c->lines, in);
		if (cl_producer_must_pause(c->p) || evbuffer_get_length(bufferevent_get_output(bev)) >= OUT_HIGH) {
			if (cl_ingest_over_global(c->srv))
				c->srv->ingest.globally_throttled = 1;
			c->throttled = 1;
			bufferevent_disable(bev, EV_READ);
		}
	}
	if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		econn_free(c);
}

static void
econn_write(struct bufferevent *bev, void *arg)
{
	struct econn *c = arg;

	(void)bev;
	if (c->closing) {
		econn_free(c);
		return;
	}
	econn_check_throttle(c);
}

static void
econn_event(struct bufferevent *bev, short what, void *arg)
{
	struct econn *c = arg;

	(void)bev;
	if (what == BEV_EVENT_CONNECTED) /* a TLS handshake finished */
		return;
	if (what & BEV_EVENT_TIMEOUT)
		log_info("msg=\"producer timed out\" authed=%d", c->authed);
	econn_free(c);
}

static void
econn_hello_expired(evutil_socket_t fd, short what, void *arg)
{
	struct econn *c = arg;

	(void)fd;
	(void)what;
	log_info("msg=\"producer sent no hello in time, closed\" seconds=%d", HELLO_TIMEOUT_S);
	econn_free(c);
}

void
cl_econn_accept(evutil_socket_t fd, struct cl_tls_server *tls, void *arg)
{
	struct cl_server *srv = arg;
	struct econn *c = calloc(1, sizeof(*c));

	if (c == NULL ||
	    cl_producer_accept(srv, fd, tls, CL_CONN_EVENTS, CL_PRODUCER_EVENTS, &econn_ops, c, &c->bev, &c->p) < 0) {
		if (c == NULL)
			evutil_closesocket(fd);
		free(c);
		return;
	}
	c->srv = srv;
	c->authed = srv->cfg.events_token[0] == '\0';
	c->next = srv->ingest.econns;
	if (c->next)
		c->next->prev = c;
	srv->ingest.econns = c;
	/* Read at most a line's worth ahead: the bound on what one client can make us hold. */
	cl_lines_init(&c->lines, (size_t)srv->cfg.events_max_line);
	bufferevent_setwatermark(c->bev, EV_READ, 0, cl_lines_watermark(&c->lines));
	bufferevent_setcb(c->bev, econn_read, econn_write, econn_event, c);
	if (!c->authed) {
		/* Absolute, not a read timeout: one byte every few seconds must not keep a slot. */
		struct timeval tv = {HELLO_TIMEOUT_S, 0};
		if ((c->deadline = evtimer_new(srv->base, econn_hello_expired, c)) == NULL ||
		    evtimer_add(c->deadline, &tv) < 0) {
			econn_free(c);
			return;
		}
	} else if (srv->cfg.events_idle_timeout > 0) {
		struct timeval tv = {srv->cfg.events_idle_timeout, 0};
		bufferevent_set_timeouts(c->bev, &tv, NULL);
	}
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

void
cl_econns_resume(struct cl_server *srv)
{
	for (struct econn *c = srv->ingest.econns; c; c = c->next)
		econn_check_throttle(c);
}

void
cl_econns_quiesce(struct cl_server *srv)
{
	struct econn *c, *next;

	for (c = srv->ingest.econns; c; c = next) {
		next = c->next;
		bufferevent_disable(c->bev, EV_READ);
		/* Lines already read from the socket are still answered. */
		if (!c->closing && !c->throttled)
			econn_read(c->bev, c);
		c->throttled = 1; /* never re-enabled: the drain only writes */
	}
}

void
cl_econns_stop_reading(struct cl_server *srv)
{
	for (struct econn *c = srv->ingest.econns; c; c = c->next) {
		c->closing = 1;
		bufferevent_disable(c->bev, EV_READ);
	}
}

void
cl_econns_close_all(struct cl_server *srv)
{
	while (srv->ingest.econns)
		econn_free(srv->ingest.econns);
}
