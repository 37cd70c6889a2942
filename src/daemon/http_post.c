/* http_post.c : HTTP requests whose answers wait for commits: POST /api/events
 * (one object or NDJSON, fed as the backpressure bounds allow) and the console
 * page's wrap-up and state events (cl_http_feed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "callogd/daemon.h"
#include "callogd/hjob.h"
#include "callogd/http.h"
#include "callogd/ingest.h"
#include "callogd/lines.h"
#include "callogd/store.h"
#include "callogd/util.h"

#define POST_EVENTS_MAX_LINES 100000
#define API_UNAUTHORIZED "an API token is required (Authorization: Bearer)"

/* A request waiting for its events' commits (POST /api/events and the console's wrap-up). */
struct hreq {
	struct cl_http *h;
	struct evhttp_request *req;
	struct cl_producer *p;
	struct evbuffer *out;
	int fed;    /* every line has been handed to the producer */
	int single; /* a console-style endpoint: one answer, status from it */
	/* POST /api/events as NDJSON: the body's lines, fed as the backpressure bounds allow. */
	struct cl_lines lines;
	struct event *feed_ev;
	int feeding;
	int ok_code;      /* single: the status without errors (0: 200 with the answer) */
	json_t *ok_reply; /* single: the body then, or NULL for the answer */
};

static struct evbuffer *
hreq_out(void *owner)
{
	return ((struct hreq *)owner)->out;
}

static void hreq_maybe_finish(struct hreq *r);

static void
hreq_flushed(void *owner)
{
	struct hreq *r = owner;

	if (!r->fed) {
		/* Answers went out: feed more lines, from the loop rather than inside this flush. */
		if (!r->feeding && r->feed_ev)
			event_active(r->feed_ev, EV_TIMEOUT, 0);
		return;
	}
	hreq_maybe_finish(r);
}

static const struct cl_producer_ops hreq_ops = {hreq_out, hreq_flushed};

static void
hreq_maybe_finish(struct hreq *r)
{
	struct evkeyvalq *hdr;
	int code = 200;

	if (!r->fed || cl_producer_pending(r->p) > 0)
		return;
	hdr = evhttp_request_get_output_headers(r->req);
	if (r->single && cl_producer_errors(r->p) == 0 && r->ok_code > 0) {
		cl_http_reply_json(r->req, r->ok_code, r->ok_reply);
		r->ok_reply = NULL;
	} else if (r->single) {
		evhttp_add_header(hdr, "Content-Type", "application/json");
		if (cl_producer_errors(r->p) > 0)
			code = 400;
		evhttp_send_reply(r->req, code, NULL, r->out);
	} else {
		evhttp_add_header(hdr, "Content-Type", "application/x-ndjson");
		evhttp_send_reply(r->req, code, NULL, r->out);
	}
	json_decref(r->ok_reply);
	evbuffer_free(r->out);
	cl_producer_release(r->p);
	if (r->feed_ev)
		event_free(r->feed_ev);
	free(r);
}

static struct hreq *
hreq_new(struct cl_http *h, struct evhttp_request *req, int kind)
{
	struct hreq *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->h = h;
	r->req = req;
	if ((r->out = evbuffer_new()) == NULL ||
	    (r->p = cl_producer_new(cl_http_server(h), kind, &hreq_ops, r)) == NULL) {
		if (r->out)
			evbuffer_free(r->out);
		free(r);
		return NULL;
	}
	return r;
}

/* Feeds the body's lines while the backpressure bounds allow; the rest when answers have gone out. */
static void
hreq_feed(struct hreq *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);

	r->feeding = 1;
	r->lines.max = (size_t)cl_http_server(r->h)->cfg.events_max_line;
	while (!r->fed && cl_producer_may_read(r->p)) {
		char *line;
		size_t n;
		int st = cl_lines_next(&r->lines, in, 1, &line, &n);
		if (st == CL_LINE_MORE) {
			r->fed = 1;
		} else if (st == CL_LINE_TOO_LONG) {
			cl_ingest_reject(r->p, CL_EVERR_TOO_LONG, NULL, "line longer than events.max_line");
		} else if (st == CL_LINE_NOMEM) {
			cl_ingest_reject(r->p, CL_EVERR_STORAGE, NULL, "out of memory");
		} else {
			cl_ingest_line(r->p, line, n);
			cl_lines_done(&r->lines, in);
		}
	}
	r->feeding = 0;
	hreq_maybe_finish(r);
}

static void
on_feed(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hreq_feed(arg);
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* On the loop, once the API token is checked: the body's events go in. */
static void
post_events_feed(struct cl_hjob *j)
{
	struct cl_http *h = j->srv->http;
	struct evhttp_request *req = j->req;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char *data = (char *)evbuffer_pullup(in, -1);
	struct hreq *r;
	json_t *whole;

	cl_hjob_free(j);
	if (data == NULL && len > 0) {
		cl_http_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	/* Every line gets an answer: bound the lines, or a small body could ask for a huge reply. */
	size_t lines = 1;
	for (const char *nl = data, *end = data + len; (nl = memchr(nl, '\n', (size_t)(end - nl))) != NULL; nl++)
		lines++;
	if (lines > POST_EVENTS_MAX_LINES + 1) {
		char msg[64];
		snprintf(msg, sizeof(msg), "at most %d lines per request", POST_EVENTS_MAX_LINES);
		cl_http_reply_error(req, 413, "too_large", msg);
		return;
	}
	if ((r = hreq_new(h, req, CL_PRODUCER_EVENTS)) == NULL ||
	    (r->feed_ev = event_new(cl_http_server(h)->base, -1, 0, on_feed, r)) == NULL) {
		if (r) {
			cl_producer_release(r->p);
			evbuffer_free(r->out);
			free(r);
		}
		cl_http_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	cl_lines_init(&r->lines, (size_t)cl_http_server(h)->cfg.events_max_line);
	/*
	 * One object, possibly pretty-printed over several lines, or NDJSON. The
	 * object goes in as received, byte for byte (less the whitespace around
	 * it), under the same max_line as any line.
	 */
	whole = len > 0 && cl_utf8_valid(data, len) ? json_loadb(data, len, 0, NULL) : NULL;
	if (whole != NULL && json_is_object(whole)) {
		size_t a = 0, b = len;
		while (a < b && is_space(data[a]))
			a++;
		while (b > a && is_space(data[b - 1]))
			b--;
		if (b - a > r->lines.max)
			cl_ingest_reject(r->p, CL_EVERR_TOO_LONG, NULL, "line longer than events.max_line");
		else
			cl_ingest_line(r->p, data + a, b - a);
		json_decref(whole);
		r->fed = 1;
		hreq_maybe_finish(r);
		return;
	}
	json_decref(whole);
	hreq_feed(r);
}

void
cl_http_post_events(struct cl_http *h, struct evhttp_request *req)
{
	struct cl_hjob *j = cl_hjob_new(cl_http_server(h), req, CL_HJOB_API_TOKEN, API_UNAUTHORIZED);

	if (j == NULL) {
		cl_http_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	j->api_roles = CL_ROLE_ADMIN | CL_ROLE_PRODUCER;
	j->finish = post_events_feed;
	cl_hjob_submit(j, CL_JOB_HIGH);
}

void
cl_http_feed(struct cl_http *h, struct evhttp_request *req, const char *line, int ok_code, json_t *ok_reply)
{
	struct hreq *r = hreq_new(h, req, CL_PRODUCER_CONSOLE);

	if (r == NULL) {
		json_decref(ok_reply);
		cl_http_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	r->single = 1;
	r->ok_code = ok_code;
	r->ok_reply = ok_reply;
	cl_ingest_line(r->p, line, strlen(line));
	r->fed = 1;
	hreq_maybe_finish(r);
}
