/* pops.c : owns the screen-pop fan-out: the live calls' pop context, each
 * agent's subscribers (socket consoles, SSE streams) and their replay buffers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "callogd/calls.h"
#include "callogd/customers.h"
#include "callogd/daemon.h"
#include "callogd/hmap.h"
#include "callogd/live.h"
#include "callogd/log.h"
#include "callogd/popmsg.h"
#include "callogd/pops.h"
#include "callogd/recent.h"
#include "callogd/store.h"
#include "callogd/subs.h"
#include "callogd/util.h"
#include "callogd/views.h"
#include "callogd/workers.h"

#include "pops_int.h"

static void popctx_free(void *ctx);
static void on_deadline(evutil_socket_t fd, short what, void *arg);

struct cl_pops *
cl_pops_new(struct cl_server *srv)
{
	struct cl_pops *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->srv = srv;
	if ((p->live = cl_live_new(popctx_free)) == NULL || (p->subs = cl_subs_new(srv)) == NULL ||
	    (p->inflight = cl_hmap_new()) == NULL || (p->recent = cl_recent_new()) == NULL ||
	    (p->deadline_ev = evtimer_new(srv->base, on_deadline, p)) == NULL) {
		cl_live_free(p->live);
		cl_subs_free(p->subs);
		cl_hmap_free(p->inflight);
		cl_recent_free(p->recent);
		free(p);
		return NULL;
	}
	return p;
}

void
cl_pops_free(struct cl_pops *p)
{
	if (p == NULL)
		return;
	pops_lookups_free(p);
	cl_hmap_free(p->inflight); /* the workers stopped first: every other job is done */
	cl_live_free(p->live);     /* releases the answers still held */
	cl_subs_free(p->subs);     /* drops every subscriber */
	cl_recent_free(p->recent);
	event_free(p->deadline_ev);
	free(p);
}

/* ---- each live call's pop context ---- */

void
pops_invalidate(struct popctx *x)
{
	free(x->head);
	free(x->tail);
	x->head = x->tail = NULL;
}

static void
holds_release(struct popctx *x)
{
	int n = x->nholds;

	x->nholds = 0;
	for (int i = 0; i < n; i++)
		x->holds[i].release(x->holds[i].arg);
}

static void waiting_unlink(struct cl_pops *p, struct popctx *x);

static void
popctx_free(void *ctx)
{
	struct popctx *x = ctx;

	waiting_unlink(x->p, x);
	holds_release(x);
	pops_invalidate(x);
	json_decref(x->lookup);
	json_decref(x->local);
	json_decref(x->crm);
	free(x->deferred);
	free(x);
}

static struct popctx *
ctx_of(struct cl_pops *p, struct cl_live_call *c)
{
	struct popctx *x = c->ctx;

	if (x == NULL && (x = calloc(1, sizeof(*x))) != NULL) {
		x->p = p;
		x->call = c;
		c->ctx = x;
	}
	return x;
}

/*
 * pop_body() : the pop for agent (docs/consoles.md) as members text; malloc'd. Built
 * from text cached per call, so a pop costs one copy: the lookup and its
 * serialisation are done once per call.
 */
static char *
pop_body(struct popctx *x, const char *agent)
{
	if (x->head == NULL || x->tail == NULL) {
		pops_invalidate(x);
		x->head = cl_popmsg_head(x->call);
		x->tail = cl_popmsg_tail(x->call, x->lookup);
		if (x->head == NULL || x->tail == NULL) {
			pops_invalidate(x);
			return NULL;
		}
	}
	return cl_popmsg_pop(x->head, agent, x->tail);
}

/* pops_send_pop() : the call's pop to agent; t0 when its trigger was read, or -1 for an updated pop. */
void
pops_send_pop(struct cl_pops *p, struct popctx *x, const char *agent, int64_t t0)
{
	/*
	 * An agent that never had a console has nothing to replay and nobody to
	 * tell: it gets its pops when one connects (cl_pops_subscribe).
	 */
	char *body;

	if (!cl_subs_known(p->subs, agent) || (body = pop_body(x, agent)) == NULL)
		return;
	cl_subs_send(p->subs, agent, "pop", body);
	free(body);
	if (t0 < 0) {
		p->srv->m.pop_updates++;
		return;
	}
	p->srv->m.pops++;
	cl_hist_observe(&p->srv->m.pop_latency, (double)(cl_mono_us() - t0) / 1e6);
}

static void
send_call(struct cl_pops *p, struct popctx *x, const struct cl_live_act *act)
{
	char *body;

	if (!cl_subs_known(p->subs, act->to) || (body = cl_popmsg_call(x->call->call_id, act)) == NULL)
		return;
	cl_subs_send(p->subs, act->to, "call", body);
	free(body);
	if (strcmp(act->state, "retracted") == 0)
		p->srv->m.retracts++;
	else
		p->srv->m.call_msgs++;
}

/* ---- pops that wait for their call's lookup, until a deadline ---- */

static void
waiting_rearm(struct cl_pops *p)
{
	int64_t us;
	struct timeval tv;

	if (p->waiting == NULL) {
		event_del(p->deadline_ev);
		return;
	}
	us = p->waiting->deadline_us - cl_mono_us();
	if (us < 0)
		us = 0;
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	event_add(p->deadline_ev, &tv);
}

static void
waiting_unlink(struct cl_pops *p, struct popctx *x)
{
	int was_head = p->waiting == x;

	if (x->deadline_us == 0)
		return;
	if (x->wprev)
		x->wprev->wnext = x->wnext;
	else
		p->waiting = x->wnext;
	if (x->wnext)
		x->wnext->wprev = x->wprev;
	else
		p->waiting_tail = x->wprev;
	x->wnext = x->wprev = NULL;
	x->deadline_us = 0;
	if (was_head)
		waiting_rearm(p);
}

/* Sends x's waiting pops with what is known now, then lets their events' answers go. */
void
pops_flush_deferred(struct cl_pops *p, struct popctx *x)
{
	waiting_unlink(p, x);
	for (int i = 0; i < x->ndeferred; i++) {
		const struct cl_live_agent *la = cl_live_agent(x->call, x->deferred[i].agent);
		if (la != NULL && la->popped)
			pops_send_pop(p, x, la->id, x->deferred[i].t0);
	}
	x->ndeferred = 0;
	holds_release(x);
}

/* Keeps agent's pop until x's lookup ends or the deadline; -1 when it cannot wait. */
static int
defer_pop(struct cl_pops *p, struct popctx *x, const char *agent, int64_t t0)
{
	if (x->deferred == NULL && (x->deferred = calloc(CL_LIVE_MAX_AGENTS, sizeof(*x->deferred))) == NULL)
		return -1;
	if (x->ndeferred == CL_LIVE_MAX_AGENTS)
		return -1;
	snprintf(x->deferred[x->ndeferred].agent, sizeof(x->deferred[0].agent), "%s", agent);
	x->deferred[x->ndeferred++].t0 = t0;
	if (x->deadline_us == 0) {
		/* The deadline is the same length for every call: appending keeps the list sorted. */
		x->deadline_us = t0 + (int64_t)p->srv->cfg.pops_lookup_ms * 1000;
		x->wprev = p->waiting_tail;
		if (p->waiting_tail)
			p->waiting_tail->wnext = x;
		else
			p->waiting = x;
		p->waiting_tail = x;
		if (p->waiting == x)
			waiting_rearm(p);
	}
	return 0;
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct cl_pops *p = arg;
	int64_t now = cl_mono_us();

	(void)fd;
	(void)what;
	while (p->waiting && p->waiting->deadline_us <= now) {
		p->srv->m.lookup_late++;
		pops_flush_deferred(p, p->waiting);
	}
	waiting_rearm(p);
}

/* ---- the agent's part in its calls, its state, its choice of customer ---- */

/* Remembers what ev means for the agents of c (may be NULL) and x (may be NULL): cl_recent. */
static void
track(struct cl_pops *p, const struct cl_event *ev, const struct cl_live_call *c, const struct popctx *x)
{
	const char *name =
	    x ? json_string_value(json_object_get(json_object_get(x->lookup, "customer"), "name")) : NULL;
	const char *number = c ? (c->direction == CL_DIR_OUTBOUND ? c->to : c->from) : NULL;
	int dir = c ? c->direction : CL_DIR_INBOUND;

#define MARK(agent, flags) cl_recent_mark(p->recent, (agent), ev->call_id, (flags), dir, number, name, ev->received_at)
	switch (ev->type) {
	case CL_EV_RINGING:
		MARK(ev->agent, CL_AC_RANG);
		break;
	case CL_EV_ANSWERED:
		MARK(ev->agent, CL_AC_RANG | CL_AC_ANSWERED);
		break;
	case CL_EV_TRANSFERRED:
		if (!ev->to_agent || strcmp(ev->agent, ev->to_agent) != 0)
			MARK(ev->agent, CL_AC_ENDED);
		if (ev->to_agent)
			MARK(ev->to_agent, CL_AC_RANG);
		break;
	case CL_EV_ENDED:
		for (int i = 0; c && i < c->nagents; i++)
			if (c->agents[i].state == CL_LA_CONNECTED)
				MARK(c->agents[i].id, CL_AC_ENDED);
		break;
	case CL_EV_DISPOSITION:
		MARK(ev->agent, CL_AC_WRAPPED);
		break;
	default:
		break;
	}
#undef MARK
}

unsigned
cl_pops_agent_call(struct cl_pops *p, const char *agent, const char *call_id)
{
	return cl_recent_flags(p->recent, agent, call_id);
}

json_t *
cl_pops_pending(struct cl_pops *p, const char *agent)
{
	return cl_recent_pending(p->recent, agent);
}

/* {"type":"state",..} to the agent's streams: the state the server holds, whoever set it. */
static void
send_state(struct cl_pops *p, const struct cl_event *ev)
{
	json_t *j;
	char *text, *body;
	size_t n;

	if (!cl_subs_known(p->subs, ev->agent) ||
	    (j = json_pack("{s:s, s:s, s:s*}", "agent", ev->agent, "state", ev->state, "reason",
	                   ev->reason && ev->reason[0] ? ev->reason : NULL)) == NULL)
		return;
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL || (n = strlen(text)) < 2) {
		free(text);
		return;
	}
	text[n - 1] = '\0'; /* the members, without the braces */
	body = text + 1;
	cl_subs_send(p->subs, ev->agent, "state", body);
	free(text);
}

/*
 * pops_customer_apply() : the call's customer was chosen (customer.set): got
 * ({customer, history}, taken) becomes x's pop customer and history, and every
 * agent shown the call gets the new pop, then those waiting for it.
 */
void
pops_customer_apply(struct cl_pops *p, struct popctx *x, json_t *got, int64_t t0)
{
	if (x->lookup == NULL)
		x->lookup = json_pack("{s:i, s:n, s:s}", "matches", 1, "number", "number_status", "ok");
	if (x->lookup != NULL) {
		json_int_t m = json_integer_value(json_object_get(x->lookup, "matches"));
		json_object_set(x->lookup, "customer", json_object_get(got, "customer"));
		json_object_set(x->lookup, "history", json_object_get(got, "history"));
		json_object_set_new(x->lookup, "matches", json_integer(m > 0 ? m : 1));
	}
	json_decref(got);
	pops_invalidate(x);
	for (int i = 0; i < x->call->nagents; i++)
		if (x->call->agents[i].popped)
			pops_send_pop(p, x, x->call->agents[i].id, t0);
	if (x->ndeferred > 0)
		pops_flush_deferred(p, x);
}

/*
 * pops_record_pop() : the pop of a call no longer live, rebuilt from its record
 * c with its caller's lookup (taken, may be NULL) and the chosen customer (got,
 * taken), for the agent who chose.
 */
void
pops_record_pop(struct cl_pops *p, const struct cl_call *c, json_t *lookup, json_t *got, const char *agent)
{
	struct cl_live_call tc;
	struct popctx tx;

	memset(&tc, 0, sizeof(tc));
	memset(&tx, 0, sizeof(tx));
	snprintf(tc.call_id, sizeof(tc.call_id), "%s", c->call_id);
	tc.direction = c->direction;
	memcpy(tc.from, c->from, sizeof(tc.from));
	memcpy(tc.to, c->to, sizeof(tc.to));
	snprintf(tc.queue, sizeof(tc.queue), "%s", c->queue);
	tc.data = c->data ? strdup(c->data) : NULL;
	tx.p = p;
	tx.call = &tc;
	tx.lookup = lookup;
	pops_customer_apply(p, &tx, got, -1); /* no agent popped, none deferred: only builds */
	pops_send_pop(p, &tx, agent, -1);
	pops_invalidate(&tx);
	json_decref(tx.lookup);
	free(tc.data);
}

/*
 * The call's customer was chosen (customer.set). A new customer's record is in
 * the event (not committed yet, and it has no calls); an existing one's, and a
 * call no longer live, are read on a worker.
 */
static void
customer_changed(struct cl_pops *p, struct popctx *x, const struct cl_event *ev, int64_t t0)
{
	json_t *got = ev->data ? json_pack("{s:o, s:[]}", "customer", json_loads(ev->data, 0, NULL), "history") : NULL;
	json_t *crm;

	/* One of the CRM's candidates: its record is the CRM's, and it has no calls here. */
	if (got == NULL && x != NULL && (crm = cl_pops_crm_contact(p, ev->call_id, ev->customer_id)) != NULL)
		got = json_pack("{s:o, s:[]}", "customer", crm, "history");
	if (x != NULL && got != NULL) {
		pops_customer_apply(p, x, got, t0);
		return;
	}
	if (x == NULL && ev->agent == NULL) {
		json_decref(got);
		return; /* nobody to show a call no longer live */
	}
	pops_select_submit(p, x, ev, got);
}

/* ---- events ---- */

int
cl_pops_on_event(struct cl_pops *p, const struct cl_event *ev, int64_t t0, void (*release)(void *arg), void *arg)
{
	struct cl_live_result r;
	struct cl_live_call *c;
	struct popctx *x;
	int held = 0, deferred = 0;

	if (ev->call_id == NULL) {
		if (ev->type == CL_EV_AGENT_STATE)
			send_state(p, ev);
		return 0;
	}
	/* One call's messages keep their order: its pops still waiting for the lookup go out first. */
	if ((c = cl_live_get(p->live, ev->call_id)) != NULL && (x = c->ctx) != NULL && x->ndeferred > 0)
		pops_flush_deferred(p, x);
	if (ev->type == CL_EV_CUSTOMER) {
		customer_changed(p, c ? ctx_of(p, c) : NULL, ev, t0);
		return 0;
	}
	cl_live_set_data_max(p->live, (size_t)p->srv->cfg.pops_data_memory << 20);
	if (cl_live_apply(p->live, ev, p->srv->cfg.pop_trigger, ev->received_at, &r) < 0) {
		log_warnx("msg=\"live call not updated: out of memory\" call_id=\"%s\"", ev->call_id);
		return 0;
	}
	if (r.full && !p->warned_full)
		log_warnx("msg=\"too many live calls tracked for pops\" max=%d", CL_LIVE_CALLS_MAX);
	p->warned_full |= r.full;
	if (r.data_dropped) {
		if (p->srv->m.live_data_dropped++ % 1024 == 0)
			log_warnx("msg=\"live calls' data past pops.data_memory: a pop goes without its data\" "
			          "call_id=\"%s\" "
			          "dropped=%llu",
			          ev->call_id, (unsigned long long)p->srv->m.live_data_dropped);
	}
	if (r.call == NULL || (x = ctx_of(p, r.call)) == NULL)
		goto out;
	if (r.context) {
		pops_invalidate(x);
		if (ev->type == CL_EV_OFFERED)
			pops_lookup_start(p, x);
	}
	for (int i = 0; i < r.n; i++) {
		const struct cl_live_act *a = &r.acts[i];
		if (a->kind == CL_LIVE_CALL)
			send_call(p, x, a);
		else if (POPS_LOOKUP_PENDING(x) && p->srv->cfg.pops_lookup_ms > 0 && defer_pop(p, x, a->to, t0) == 0)
			deferred = 1;
		else
			pops_send_pop(p, x, a->to, t0);
	}
	if (deferred && release != NULL) {
		if (x->nholds < HOLDS_MAX) {
			x->holds[x->nholds].release = release;
			x->holds[x->nholds++].arg = arg;
			held = 1;
		} else {
			pops_flush_deferred(p, x); /* cannot hold the answer: the pop goes first */
		}
	}
out:
	track(p, ev, r.call, r.call ? r.call->ctx : NULL);
	if (r.ended)
		cl_live_call_free(p->live, r.call);
	return held;
}

/* ---- start-up: the live calls from the database ---- */

struct restore {
	struct cl_pops *p;
	size_t events, bad;
};

static int
restore_line(void *arg, const char *body, size_t len, int64_t received_at)
{
	struct restore *rs = arg;
	struct cl_pops *p = rs->p;
	struct cl_live_result r;
	struct cl_event ev;
	char msg[CL_ERR_LEN], *id = NULL;

	if (cl_event_parse(body, len, received_at, &p->srv->numbers, &ev, &id, msg) != CL_EVERR_NONE) {
		free(id);
		rs->bad++;
		return 0;
	}
	ev.received_at = received_at;
	rs->events++;
	/* Nothing is sent: nobody is subscribed yet, and these messages went out before. */
	if (cl_live_apply(p->live, &ev, p->srv->cfg.pop_trigger, received_at, &r) == 0 && r.ended)
		cl_live_call_free(p->live, r.call);
	cl_event_clear(&ev);
	return 0;
}

/* Restored calls are looked up in the background while the pool has room; the rest when a console needs them. */
static int
restore_lookup(void *arg, struct cl_live_call *c)
{
	struct cl_pops *p = arg;
	struct popctx *x;

	if (c->offered && (x = ctx_of(p, c)) != NULL && pops_lookup_submit(p, x, CL_JOB_LOW, 0) < 0)
		return 1;
	return 0;
}

int
cl_pops_restore(struct cl_pops *p, struct cl_store *st, char *err)
{
	struct restore rs = {.p = p};
	int64_t now = cl_now_ms();

	if (cl_store_live_events(st, now - CL_LIVE_STALE_MS, restore_line, &rs, err) < 0)
		return -1;
	cl_live_expire(p->live, now);
	cl_live_each(p->live, restore_lookup, p);
	log_info("msg=\"live calls restored\" calls=%zu events=%zu unreadable=%zu", cl_live_count(p->live), rs.events,
	         rs.bad);
	return 0;
}

struct welcome {
	struct cl_pops *p;
	struct cl_sub *s;
};

/* Sends c's pop to a new subscriber of one of its popped agents; -1 when the subscriber was dropped. */
static int
welcome_pop(void *arg, struct cl_live_call *c)
{
	struct welcome *w = arg;
	const struct cl_live_agent *la = cl_live_agent(c, w->s->agent);
	struct popctx *x;
	char *body;
	int rc;

	if (la == NULL || !la->popped || (x = ctx_of(w->p, c)) == NULL)
		return 0;
	if (c->offered && x->lookup == NULL && !POPS_LOOKUP_PENDING(x))
		pops_lookup_start(w->p, x); /* none yet (a restart): an updated pop follows */
	if ((body = pop_body(x, la->id)) == NULL)
		return 0;
	rc = cl_subs_send_one(w->p->subs, w->s, "pop", body);
	free(body);
	return rc;
}

void
cl_pops_subscribe(struct cl_pops *p, struct cl_sub *s, int64_t last_seq)
{
	struct welcome w = {p, s};

	/* Unless a replay covered everything: the calls ringing or connected to this agent now. */
	if (cl_subs_add(p->subs, s, last_seq) == 0)
		cl_live_each(p->live, welcome_pop, &w);
}

void
cl_pops_unsubscribe(struct cl_pops *p, struct cl_sub *s)
{
	cl_subs_remove(p->subs, s);
}

struct cl_subs *
cl_pops_subs(struct cl_pops *p)
{
	return p->subs;
}

int
cl_pops_consoles(struct cl_pops *p, const char *agent)
{
	return cl_subs_count(p->subs, agent);
}

size_t
cl_pops_live_data(struct cl_pops *p)
{
	return cl_live_data_bytes(p->live);
}

size_t
cl_pops_live_calls(struct cl_pops *p)
{
	return cl_live_count(p->live);
}

int
cl_pops_each_call(struct cl_pops *p, int (*fn)(void *arg, struct cl_live_call *c), void *arg)
{
	return cl_live_each(p->live, fn, arg);
}

size_t
cl_pops_replay_bytes(struct cl_pops *p)
{
	return cl_subs_replay_bytes(p->subs);
}

void
cl_pops_expire(struct cl_pops *p, int64_t now_ms)
{
	cl_subs_expire(p->subs, now_ms);
	cl_live_expire(p->live, now_ms);
	pops_lookup_drain(p);
}
