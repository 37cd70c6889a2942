/* ingest.c : owns producers: the events listeners' connections, their line
 * framing and auth, and the ordered answers that wait for each commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "callogd/customers.h"
#include "callogd/daemon.h"
#include "callogd/dedup.h"
#include "callogd/ingest.h"
#include "callogd/lines.h"
#include "callogd/log.h"
#include "callogd/net.h"
#include "callogd/pops.h"
#include "callogd/util.h"
#include "callogd/writer.h"

/* A producer stops being read while this many answers wait for commits. */
#define PENDING_HIGH 8192
#define PENDING_LOW 2048
/* ... or while this many answers wait across all producers: the bound on queued events. */
#define GLOBAL_HIGH (256 * 1024)
#define GLOBAL_LOW (64 * 1024)
/* ... or while this many answer bytes wait for it to read them. */
#define OUT_HIGH (4 * 1024 * 1024)
#define HELLO_TIMEOUT_S 10

struct cl_slot {
	struct cl_slot *next;
	struct cl_producer *p;
	char *line; /* the answer with its newline, once known: short or malloc'd */
	size_t len;
	int held;            /* the pops its event caused have not all gone out: the answer waits (docs/consoles.md) */
	int checked;         /* its event's id went through cl_dedup_check(): cl_dedup_done() once answered */
	char short_line[64]; /* most acks fit: no allocation for them */
};

struct cl_producer {
	struct cl_server *srv;
	int kind;
	const struct cl_producer_ops *ops;
	void *owner; /* NULL once released */
	struct cl_slot *head, *tail;
	size_t pending; /* slots without an answer yet */
	size_t slots;   /* slots not yet written */
	size_t errors;  /* error answers given */
	int busy;       /* inside producer_flush(): the owner may release it meanwhile */
	int listed;     /* in cl_ingest_done()'s list of producers to flush */
	struct cl_producer *next_listed;
	struct pend *qhead, *qtail; /* events read, waiting (in order) for a duplicate verdict */
	/*
	 * One slot made in advance: when memory runs out, the line being read still
	 * gets its answer (an error that fits the slot). Until a written slot
	 * replaces it, cl_producer_may_read() says to read no more lines.
	 */
	struct cl_slot *spare;
};

/* slot_free() : a written slot becomes its producer's spare when that was used up (see slot_new). */
static void
slot_free(struct cl_slot *s)
{
	struct cl_producer *p = s->p;

	if (s->line != s->short_line)
		free(s->line);
	if (p->spare == NULL) {
		memset(s, 0, sizeof(*s));
		p->spare = s;
		return;
	}
	free(s);
}

/* An event read and not yet fanned out: it, or one before it, waits for its duplicate verdict. */
struct pend {
	struct pend *next;
	struct cl_event ev;
	struct cl_slot *slot;
	int64_t t0;  /* when it was read (cl_mono_us) */
	int verdict; /* enum cl_verdict */
};

struct cl_producer *
cl_producer_new(struct cl_server *srv, int kind, const struct cl_producer_ops *ops, void *owner)
{
	struct cl_producer *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if ((p->spare = calloc(1, sizeof(*p->spare))) == NULL) {
		free(p);
		return NULL;
	}
	p->srv = srv;
	p->kind = kind;
	p->ops = ops;
	p->owner = owner;
	return p;
}

static void
producer_maybe_free(struct cl_producer *p)
{
	if (p->owner == NULL && p->slots == 0 && !p->busy && !p->listed) {
		free(p->spare);
		free(p);
	}
}

void
cl_producer_release(struct cl_producer *p)
{
	struct cl_slot *s, *next;

	if (p == NULL)
		return;
	p->owner = NULL;
	/* Answered slots can go now; the others are freed as their commits finish. */
	while ((s = p->head) != NULL && s->line != NULL && !s->held) {
		next = s->next;
		p->head = next;
		slot_free(s);
		p->slots--;
	}
	if (p->head == NULL)
		p->tail = NULL;
	producer_maybe_free(p);
}

size_t
cl_producer_pending(const struct cl_producer *p)
{
	return p->pending;
}

int
cl_producer_may_read(const struct cl_producer *p)
{
	/* With nothing of its own pending it may always go on: its flushed() would never come. */
	return p->spare != NULL && p->pending < PENDING_HIGH &&
	       (p->srv->ingest.pending_total < GLOBAL_HIGH || p->pending == 0);
}

static struct cl_slot *
slot_new(struct cl_producer *p)
{
	struct cl_slot *s = calloc(1, sizeof(*s));

	if (s == NULL && (s = p->spare) != NULL)
		p->spare = NULL; /* out of memory: this line's answer uses the spare */
	if (s == NULL)
		return NULL;
	s->p = p;
	if (p->tail)
		p->tail->next = s;
	else
		p->head = s;
	p->tail = s;
	p->slots++;
	p->pending++;
	p->srv->ingest.pending_total++;
	return s;
}

/* Writes the answered prefix of p's slots. */
static void
producer_flush(struct cl_producer *p)
{
	struct evbuffer *out = p->owner ? p->ops->out(p->owner) : NULL;
	struct cl_slot *s;
	int wrote = 0;

	while ((s = p->head) != NULL && s->line != NULL && !s->held) {
		p->head = s->next;
		if (out) {
			evbuffer_add(out, s->line, s->len);
			wrote = 1;
		}
		slot_free(s);
		p->slots--;
	}
	if (p->head == NULL)
		p->tail = NULL;
	p->busy = 1;
	if (wrote && p->ops->flushed)
		p->ops->flushed(p->owner);
	p->busy = 0;
	producer_maybe_free(p);
}

/* Records s's answer (line, len bytes; s->short_line or malloc'd): it may now be written. */
static void
slot_settle(struct cl_slot *s, char *line, size_t len)
{
	s->line = line;
	s->len = len;
	s->p->pending--;
	s->p->srv->ingest.pending_total--;
}

/* slot_answer_text() : the answer is text (len bytes), copied; out of memory answers so, without allocating. */
static void
slot_answer_text(struct cl_slot *s, const char *text, size_t len)
{
	static const char oom[] = "{\"error\":\"storage\",\"id\":null,\"message\":\"out of memory\"}\n";
	char *line = NULL;

	_Static_assert(sizeof(oom) <= sizeof(s->short_line), "the out-of-memory answer fits a slot");
	if (text != NULL && len >= sizeof(s->short_line) && (line = cl_strndup(text, len)) != NULL) {
		slot_settle(s, line, len);
		return;
	}
	if (text == NULL || len >= sizeof(s->short_line)) {
		text = oom;
		len = sizeof(oom) - 1;
	}
	memcpy(s->short_line, text, len);
	s->short_line[len] = '\0';
	slot_settle(s, s->short_line, len);
}

/* slot_answer() : takes line (NULL when it could not be made: out of memory). */
static void
slot_answer(struct cl_slot *s, char *line)
{
	if (line == NULL)
		slot_answer_text(s, NULL, 0);
	else
		slot_settle(s, line, strlen(line));
}

static char *
error_line(int kind, enum cl_event_error code, const char *id, const char *msg)
{
	json_t *j;
	char *s, *line = NULL;

	if (kind == CL_PRODUCER_CONSOLE)
		j = json_pack("{s:s, s:s, s:s}", "type", "error", "code", cl_event_error_name(code), "message", msg);
	else
		j = json_pack("{s:s, s:o, s:s}", "error", cl_event_error_name(code), "id",
		              id ? json_string(id) : json_null(), "message", msg);
	if (j == NULL)
		return NULL;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s && asprintf(&line, "%s\n", s) < 0)
		line = NULL;
	free(s);
	return line;
}

/* slot_error() : answers s with an error (counted per producer and in the metrics). */
static void
slot_error(struct cl_slot *s, enum cl_event_error code, const char *id, const char *msg)
{
	s->p->errors++;
	s->p->srv->m.errors[code]++;
	slot_answer(s, error_line(s->p->kind, code, id, msg));
}

size_t
cl_producer_errors(const struct cl_producer *p)
{
	return p->errors;
}

void
cl_ingest_reject(struct cl_producer *p, enum cl_event_error code, const char *id, const char *msg)
{
	struct cl_slot *s = slot_new(p);

	if (s == NULL) {
		p->srv->m.errors[code]++;
		return;
	}
	slot_error(s, code, id, msg);
	producer_flush(p);
}

/* slot_release() : the pops s's event caused went out: its answer may be written. */
static void
slot_release(void *arg)
{
	struct cl_slot *s = arg;

	s->held = 0;
	producer_flush(s->p);
}

static void
schedule_flush(struct cl_server *srv)
{
	/* The flush event has the lowest priority: it runs after this turn's reads. */
	if (!event_pending(srv->ingest.flush_ev, EV_TIMEOUT, NULL))
		event_active(srv->ingest.flush_ev, EV_TIMEOUT, 0);
}

/*
 * dispatch() : fans ev out unless it is a duplicate (its pops before its ack,
 * docs/consoles.md), then queues it for the writer in s. Takes *ev.
 */
static void
dispatch(struct cl_producer *p, struct cl_event *ev, struct cl_slot *s, int64_t t0, int verdict)
{
	struct cl_server *srv = p->srv;

	if (verdict == CL_VERDICT_NEW) {
		s->held = cl_pops_on_event(srv->pops, ev, t0, slot_release, s);
		if (s->checked)
			cl_dedup_fanned(srv->ingest.dedup, ev->id);
	}
	if ((srv->ingest.open_batch == NULL && (srv->ingest.open_batch = cl_batch_new()) == NULL) ||
	    cl_batch_add(srv->ingest.open_batch, ev, s) < 0) {
		if (s->checked)
			cl_dedup_done(srv->ingest.dedup, ev->id, 0);
		slot_error(s, CL_EVERR_STORAGE, ev->id, "out of memory");
		producer_flush(p);
		cl_event_clear(ev);
		return;
	}
	schedule_flush(srv);
}

/* Dispatches p's waiting events up to the first whose verdict is not known yet. */
static void
producer_run(struct cl_producer *p)
{
	struct pend *d;

	while ((d = p->qhead) != NULL && d->verdict != CL_VERDICT_WAIT) {
		if ((p->qhead = d->next) == NULL)
			p->qtail = NULL;
		p->srv->ingest.queued--;
		dispatch(p, &d->ev, d->slot, d->t0, d->verdict);
		free(d);
	}
}

/* The dedup module's verdict for a waiting event. */
static void
on_verdict(void *arg, void *waiter, int verdict)
{
	struct pend *d = waiter;

	(void)arg;
	d->verdict = verdict;
	producer_run(d->slot->p);
}

void
cl_ingest_event(struct cl_producer *p, struct cl_event *ev)
{
	struct cl_server *srv = p->srv;
	int64_t t0 = cl_mono_us();
	struct cl_slot *s;
	struct pend *d;

	if (ev->received_at == 0)
		ev->received_at = cl_now_ms();
	if ((s = slot_new(p)) == NULL) {
		cl_event_clear(ev);
		return;
	}
	/* The common case: no id to check and nothing waiting before it. */
	if (ev->id == NULL && p->qhead == NULL) {
		dispatch(p, ev, s, t0, CL_VERDICT_NEW);
		return;
	}
	if (srv->ingest.dedup == NULL && (srv->ingest.dedup = cl_dedup_new(srv->workers, on_verdict, srv)) == NULL)
		goto oom;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto oom;
	d->ev = *ev;
	memset(ev, 0, sizeof(*ev));
	d->slot = s;
	d->t0 = t0;
	d->verdict = CL_VERDICT_NEW;
	if (d->ev.id != NULL) {
		s->checked = 1;
		d->verdict = cl_dedup_check(srv->ingest.dedup, d->ev.id, d);
	}
	if (p->qtail)
		p->qtail->next = d;
	else
		p->qhead = d;
	p->qtail = d;
	srv->ingest.queued++;
	producer_run(p);
	return;
oom:
	slot_error(s, CL_EVERR_STORAGE, ev->id, "out of memory");
	producer_flush(p);
	cl_event_clear(ev);
}

size_t
cl_ingest_waiting(struct cl_server *srv)
{
	return srv->ingest.queued;
}

/*
 * A customer.set with a customer: checked as callogctl import checks a row
 * (SPEC §6), its id the event's customer_id; ev->data then points to the
 * normalised record (in ev->ext) the writer stores. -1 when rejected (ev cleared).
 */
static int
customer_record(struct cl_producer *p, struct cl_event *ev)
{
	char why[CL_ERR_LEN];
	json_t *in = json_loads(ev->data, 0, NULL), *rec = NULL;
	const char *id = json_string_value(json_object_get(in, "id"));

	if (in != NULL && id != NULL && strcmp(id, ev->customer_id) != 0)
		snprintf(why, sizeof(why), "customer.id must be the customer_id");
	else if (in != NULL && json_object_set_new(in, "id", json_string(ev->customer_id)) == 0)
		rec = cl_customer_from_json(&p->srv->numbers, in, why);
	else
		snprintf(why, sizeof(why), "out of memory");
	json_decref(in);
	if (rec != NULL && (ev->ext = json_dumps(rec, JSON_COMPACT)) != NULL)
		ev->data = ev->ext;
	json_decref(rec);
	if (ev->data == ev->ext)
		return 0;
	char msg[CL_ERR_LEN + 16];
	snprintf(msg, sizeof(msg), "customer: %s", why);
	cl_ingest_reject(p, CL_EVERR_BAD_EVENT, ev->id, msg);
	cl_event_clear(ev);
	return -1;
}

void
cl_ingest_line(struct cl_producer *p, const char *line, size_t len)
{
	struct cl_event ev;
	char msg[CL_ERR_LEN], *id = NULL;
	enum cl_event_error e;
	int64_t now = cl_now_ms(); /* one clock read: the default ts and the receive time */

	e = cl_event_parse(line, len, now, &p->srv->numbers, &ev, &id, msg);
	if (e != CL_EVERR_NONE) {
		cl_ingest_reject(p, e, id, msg);
		free(id);
		return;
	}
	ev.received_at = now;
	if (ev.type == CL_EV_OFFERED && ev.data != NULL && strlen(ev.data) > (size_t)p->srv->cfg.events_max_data) {
		snprintf(msg, sizeof(msg), "data: longer than events.max_data (%d bytes)", p->srv->cfg.events_max_data);
		cl_ingest_reject(p, CL_EVERR_BAD_EVENT, ev.id, msg);
		cl_event_clear(&ev);
		return;
	}
	if (ev.type == CL_EV_CUSTOMER && ev.data != NULL && customer_record(p, &ev) < 0)
		return;
	cl_ingest_event(p, &ev);
}

void
cl_ingest_flush(struct cl_server *srv)
{
	struct cl_batch *b = srv->ingest.open_batch;

	if (b == NULL)
		return;
	srv->ingest.open_batch = NULL;
	if (srv->writer == NULL) {
		/* Read in the last loop pass of a shutdown, after the writer stopped: not committed. */
		for (size_t i = 0; i < b->n; i++)
			b->items[i].result = CL_WRITE_FAILED;
		snprintf(b->err, sizeof(b->err), "shutting down");
		b->first = 0;
		cl_ingest_done(b, srv);
		return;
	}
	cl_writer_submit(srv->writer, b);
}

/* Answers a committed (or failed) event in its slot. */
static void
answer_item(struct cl_slot *s, const struct cl_witem *it, const char *why)
{
	char idj[CL_ID_MAX * 6 + 3], line[sizeof(idj) + 64];
	int n;

	if (it->result == CL_WRITE_FAILED) {
		char msg[CL_ERR_LEN + 64];
		snprintf(msg, sizeof(msg), "not committed (%s): send again", why);
		slot_error(s, CL_EVERR_STORAGE, it->ev.id, msg);
		return;
	}
	if (s->p->kind == CL_PRODUCER_CONSOLE) {
		slot_answer_text(s, "{\"type\":\"ok\"}\n", 14);
		return;
	}
	if (it->ev.id == NULL)
		strcpy(idj, "null");
	else if (cl_json_quote(it->ev.id, idj, sizeof(idj)) < 0)
		strcpy(idj, "null"); /* cannot happen: ids are at most CL_ID_MAX bytes */
	n = snprintf(line, sizeof(line), "{\"ack\":%s,\"seq\":%lld%s}\n", idj, (long long)it->seq,
	             it->result == CL_WRITE_DUPLICATE ? ",\"duplicate\":true" : "");
	slot_answer_text(s, line, (size_t)n);
}

static void econns_resume(struct cl_server *srv);

void
cl_ingest_done(struct cl_batch *b, void *arg)
{
	struct cl_server *srv = arg;

	if (b->first) {
		/* /healthz reports the last transaction's fate. */
		srv->storage_failing = b->n > 0 && b->items[0].result == CL_WRITE_FAILED;
		if (srv->storage_failing)
			snprintf(srv->storage_error, sizeof(srv->storage_error), "%s", b->err);
		srv->m.commits++;
		cl_hist_observe(&srv->m.commit_time, (double)b->commit_us / 1e6);
	}
	/* Answer every slot, then flush each producer once: flushing frees slots. */
	struct cl_producer *list = NULL, *p;
	for (size_t i = 0; i < b->n; i++) {
		struct cl_witem *it = &b->items[i];
		struct cl_slot *s = it->slot;
		int r = it->result == CL_WRITE_OK ? 0 : it->result == CL_WRITE_DUPLICATE ? 1 : 2;
		srv->m.events[it->ev.type][r]++;
		if (s->checked)
			cl_dedup_done(srv->ingest.dedup, it->ev.id, r != 2);
		if (r != 2) /* a failure is counted with the error answer */
			srv->m.committed_events++;
		answer_item(s, it, b->err);
		if (!s->p->listed) {
			s->p->listed = 1;
			s->p->next_listed = list;
			list = s->p;
		}
	}
	while ((p = list) != NULL) {
		list = p->next_listed;
		p->listed = 0;
		producer_flush(p);
	}
	cl_batch_free(b);
	/* Connections held back by the global bound have no answers of their own to wake them. */
	if (srv->ingest.pending_total < GLOBAL_LOW && srv->ingest.globally_throttled) {
		srv->ingest.globally_throttled = 0;
		econns_resume(srv);
	}
}

int
cl_producer_accept(struct cl_server *srv, evutil_socket_t fd, struct cl_tls_server *tls, int conn_kind,
                   int producer_kind, const struct cl_producer_ops *ops, void *owner, struct bufferevent **bev,
                   struct cl_producer **p)
{
	if ((*bev = cl_conn_bev(srv->base, fd, tls)) == NULL)
		return -1;
	if ((*p = cl_producer_new(srv, producer_kind, ops, owner)) == NULL) {
		bufferevent_free(*bev); /* closes fd */
		*bev = NULL;
		return -1;
	}
	srv->m.connections[conn_kind]++;
	srv->m.accepted[conn_kind]++;
	return 0;
}

/* ---- events.unix / events.tcp connections ---- */

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
	if (c->throttled && c->p->pending < PENDING_LOW && out < OUT_HIGH / 2 &&
	    c->srv->ingest.pending_total < GLOBAL_LOW && c->p->spare != NULL) {
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
		if (c->p->spare == NULL) { /* out of memory: no line is read until an answer is sure */
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
				struct cl_slot *s = slot_new(c->p);
				if (s) {
					slot_answer_text(s, "{\"ok\":true}\n", 12);
					producer_flush(c->p);
				}
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
		if (c->p->pending >= PENDING_HIGH || evbuffer_get_length(bufferevent_get_output(bev)) >= OUT_HIGH ||
		    c->srv->ingest.pending_total >= GLOBAL_HIGH) {
			if (c->srv->ingest.pending_total >= GLOBAL_HIGH)
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
cl_ingest_accept(evutil_socket_t fd, struct cl_tls_server *tls, void *arg)
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

static void
econns_resume(struct cl_server *srv)
{
	for (struct econn *c = srv->ingest.econns; c; c = c->next)
		econn_check_throttle(c);
}

void
cl_ingest_quiesce(struct cl_server *srv)
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
cl_ingest_stop_reading(struct cl_server *srv)
{
	for (struct econn *c = srv->ingest.econns; c; c = c->next) {
		c->closing = 1;
		bufferevent_disable(c->bev, EV_READ);
	}
}

void
cl_ingest_close_all(struct cl_server *srv)
{
	while (srv->ingest.econns)
		econn_free(srv->ingest.econns);
	cl_dedup_free(srv->ingest.dedup); /* after the workers stopped: no verdict is on its way */
	srv->ingest.dedup = NULL;
}
