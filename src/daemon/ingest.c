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

#include "callogd/answers.h"
#include "callogd/customers.h"
#include "callogd/daemon.h"
#include "callogd/dedup.h"
#include "callogd/econn.h"
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

struct cl_producer {
	struct cl_server *srv;
	int kind;
	const struct cl_producer_ops *ops;
	void *owner;               /* NULL once released */
	struct cl_answers answers; /* one slot per line read, written in order */
	size_t errors;             /* error answers given */
	int busy;                  /* inside producer_flush(): the owner may release it meanwhile */
	int listed;                /* in cl_ingest_done()'s list of producers to flush */
	struct cl_producer *next_listed;
	struct pend *qhead, *qtail; /* events read, waiting (in order) for a duplicate verdict */
};

static struct cl_producer *
producer_of(struct cl_answer *s)
{
	return (struct cl_producer *)((char *)s->q - offsetof(struct cl_producer, answers));
}

/* An event read and not yet fanned out: it, or one before it, waits for its duplicate verdict. */
struct pend {
	struct pend *next;
	struct cl_event ev;
	struct cl_answer *slot;
	int64_t t0;  /* when it was read (cl_mono_us) */
	int verdict; /* enum cl_verdict */
};

struct cl_producer *
cl_producer_new(struct cl_server *srv, int kind, const struct cl_producer_ops *ops, void *owner)
{
	struct cl_producer *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (cl_answers_init(&p->answers, &srv->ingest.pending_total) < 0) {
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
	if (p->owner == NULL && p->answers.slots == 0 && !p->busy && !p->listed) {
		cl_answers_clear(&p->answers);
		free(p);
	}
}

void
cl_producer_release(struct cl_producer *p)
{
	if (p == NULL)
		return;
	p->owner = NULL;
	/* Answered slots can go now; the others are freed as their commits finish. */
	cl_answers_write(&p->answers, NULL, NULL);
	producer_maybe_free(p);
}

size_t
cl_producer_pending(const struct cl_producer *p)
{
	return p->answers.pending;
}

int
cl_producer_may_read(const struct cl_producer *p)
{
	/* With nothing of its own pending it may always go on: its flushed() would never come. */
	return cl_answers_ready(&p->answers) && p->answers.pending < PENDING_HIGH &&
	       (p->srv->ingest.pending_total < GLOBAL_HIGH || p->answers.pending == 0);
}

int
cl_producer_answer_sure(const struct cl_producer *p)
{
	return cl_answers_ready(&p->answers);
}

int
cl_producer_may_resume(const struct cl_producer *p)
{
	return cl_answers_ready(&p->answers) && p->answers.pending < PENDING_LOW &&
	       p->srv->ingest.pending_total < GLOBAL_LOW;
}

int
cl_producer_must_pause(const struct cl_producer *p)
{
	return p->answers.pending >= PENDING_HIGH || p->srv->ingest.pending_total >= GLOBAL_HIGH;
}

int
cl_ingest_over_global(const struct cl_server *srv)
{
	return srv->ingest.pending_total >= GLOBAL_HIGH;
}

static struct cl_answer *
slot_new(struct cl_producer *p)
{
	return cl_answers_add(&p->answers);
}

static void
write_out(void *arg, const char *line, size_t len)
{
	evbuffer_add(arg, line, len);
}

/* Writes the answered prefix of p's slots. */
static void
producer_flush(struct cl_producer *p)
{
	struct evbuffer *out = p->owner ? p->ops->out(p->owner) : NULL;
	size_t wrote = cl_answers_write(&p->answers, out ? write_out : NULL, out);

	p->busy = 1;
	if (wrote && out && p->ops->flushed)
		p->ops->flushed(p->owner);
	p->busy = 0;
	producer_maybe_free(p);
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
slot_error(struct cl_answer *s, enum cl_event_error code, const char *id, const char *msg)
{
	struct cl_producer *p = producer_of(s);

	p->errors++;
	p->srv->m.errors[code]++;
	cl_answer_take(s, error_line(p->kind, code, id, msg));
}

size_t
cl_producer_errors(const struct cl_producer *p)
{
	return p->errors;
}

void
cl_ingest_reject(struct cl_producer *p, enum cl_event_error code, const char *id, const char *msg)
{
	struct cl_answer *s = slot_new(p);

	if (s == NULL) {
		p->srv->m.errors[code]++;
		return;
	}
	slot_error(s, code, id, msg);
	producer_flush(p);
}

void
cl_ingest_answer(struct cl_producer *p, const char *text)
{
	struct cl_answer *s = slot_new(p);

	if (s == NULL)
		return;
	cl_answer_text(s, text, strlen(text));
	producer_flush(p);
}

/* slot_release() : the pops s's event caused went out: its answer may be written. */
static void
slot_release(void *arg)
{
	struct cl_answer *s = arg;

	s->held = 0;
	producer_flush(producer_of(s));
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
dispatch(struct cl_producer *p, struct cl_event *ev, struct cl_answer *s, int64_t t0, int verdict)
{
	struct cl_server *srv = p->srv;

	/* Only a probe's "not stored" lets a store skip waiting for the insert (store.h, cl_event.fresh). */
	ev->fresh = ev->id == NULL || verdict == CL_VERDICT_FRESH;
	if (verdict == CL_VERDICT_NEW || verdict == CL_VERDICT_FRESH) {
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
	producer_run(producer_of(d->slot));
}

void
cl_ingest_event(struct cl_producer *p, struct cl_event *ev)
{
	struct cl_server *srv = p->srv;
	int64_t t0 = cl_mono_us();
	struct cl_answer *s;
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
answer_item(struct cl_answer *s, const struct cl_witem *it, const char *why)
{
	char idj[CL_ID_MAX * 6 + 3], line[sizeof(idj) + 64];
	int n;

	if (it->result == CL_WRITE_FAILED) {
		char msg[CL_ERR_LEN + 64];
		snprintf(msg, sizeof(msg), "not committed (%s): send again", why);
		slot_error(s, CL_EVERR_STORAGE, it->ev.id, msg);
		return;
	}
	if (producer_of(s)->kind == CL_PRODUCER_CONSOLE) {
		cl_answer_text(s, "{\"type\":\"ok\"}\n", 14);
		return;
	}
	if (it->ev.id == NULL)
		strcpy(idj, "null");
	else if (cl_json_quote(it->ev.id, idj, sizeof(idj)) < 0)
		strcpy(idj, "null"); /* cannot happen: ids are at most CL_ID_MAX bytes */
	n = snprintf(line, sizeof(line), "{\"ack\":%s,\"seq\":%lld%s}\n", idj, (long long)it->seq,
	             it->result == CL_WRITE_DUPLICATE ? ",\"duplicate\":true" : "");
	cl_answer_text(s, line, (size_t)n);
}

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
		struct cl_answer *s = it->slot;
		int r = it->result == CL_WRITE_OK ? 0 : it->result == CL_WRITE_DUPLICATE ? 1 : 2;
		srv->m.events[it->ev.type][r]++;
		if (s->checked)
			cl_dedup_done(srv->ingest.dedup, it->ev.id, r != 2);
		if (r != 2) /* a failure is counted with the error answer */
			srv->m.committed_events++;
		answer_item(s, it, b->err);
		if (!(p = producer_of(s))->listed) {
			p->listed = 1;
			p->next_listed = list;
			list = p;
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
		cl_econns_resume(srv);
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

int
cl_ingest_start(struct cl_server *srv, char *err)
{
	if ((srv->ingest.dedup = cl_dedup_new(srv->workers, on_verdict, srv)) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	return 0;
}

void
cl_ingest_close(struct cl_server *srv)
{
	cl_dedup_free(srv->ingest.dedup); /* after the workers stopped: no verdict is on its way */
	srv->ingest.dedup = NULL;
}
