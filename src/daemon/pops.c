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

#define LOOKUP_BACKLOG_MAX CL_LIVE_CALLS_MAX /* lookups waiting for room in the workers' queue */
#define HOLDS_MAX 64                         /* answers one call's waiting pops may hold back */

/* A pop that waits for its call's lookup (until the deadline). */
struct deferred {
	char agent[CL_ID_MAX + 1];
	int64_t t0; /* when its trigger was read, for the latency histogram */
};

/* An answer held back until the pops its event caused have gone out. */
struct hold {
	void (*release)(void *arg);
	void *arg;
};

/* A live call's pop context: the cl_live_call's ctx. */
struct popctx {
	struct cl_pops *p;
	struct cl_live_call *call;
	json_t *lookup;     /* the finished lookup, or NULL */
	char *head, *tail;  /* the pop's text before and after "agent", cached; NULL when stale */
	uint64_t lookup_id; /* the running lookup, 0 when none: pops wait for it */
	struct deferred *deferred;
	int ndeferred;
	struct hold holds[HOLDS_MAX];
	int nholds;
	int64_t deadline_us;          /* when the deferred pops go out anyway */
	struct popctx *wnext, *wprev; /* p->waiting, by deadline */
};

/* A caller lookup, run on a worker with its own read connection. */
struct lookup_job {
	struct cl_job job;
	struct cl_pops *p;
	uint64_t id;
	char call_id[CL_ID_MAX + 1];
	char number[CL_PARTY_MAX + 1];
	struct cl_numbers rules; /* a copy: a reload may change the loop's meanwhile */
	int history;
	json_t *result; /* the lookup, or NULL with err */
	char err[CL_ERR_LEN];
	struct lookup_job *next_wait; /* p->backlog */
	/* Calls offered meanwhile from the same number share this lookup (a redial, a switchboard). */
	struct sharer {
		uint64_t id;
		char call_id[CL_ID_MAX + 1];
	} * sharers;
	size_t nsharers, capsharers;
	int listed; /* in p->inflight under its number */
};

struct cl_pops {
	struct cl_server *srv;
	struct cl_live *live;     /* the live-call model; each call's ctx is a struct popctx */
	struct cl_recent *recent; /* each agent's last calls: wrap-ups owed, who may select */
	struct cl_subs *subs;     /* who gets the messages, and their replay */
	int warned_full;
	struct popctx *waiting, *waiting_tail; /* calls whose pops wait for a lookup, by deadline */
	struct event *deadline_ev;
	uint64_t lookups;                          /* lookup ids given out */
	struct lookup_job *backlog, *backlog_tail; /* lookups that found the workers' queue full */
	struct cl_hmap *inflight;                  /* number -> its lookup not yet done (queued or running) */
	size_t nbacklog;
};

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
	while (p->backlog) {
		struct lookup_job *lj = p->backlog;
		p->backlog = lj->next_wait;
		free(lj->sharers);
		free(lj);
	}
	cl_hmap_free(p->inflight); /* the workers stopped first: every other job is done */
	cl_live_free(p->live);     /* releases the answers still held */
	cl_subs_free(p->subs);     /* drops every subscriber */
	cl_recent_free(p->recent);
	event_free(p->deadline_ev);
	free(p);
}

/* ---- each live call's pop context ---- */

static void
pop_invalidate(struct popctx *x)
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
	pop_invalidate(x);
	json_decref(x->lookup);
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
		pop_invalidate(x);
		x->head = cl_popmsg_head(x->call);
		x->tail = cl_popmsg_tail(x->call, x->lookup);
		if (x->head == NULL || x->tail == NULL) {
			pop_invalidate(x);
			return NULL;
		}
	}
	return cl_popmsg_pop(x->head, agent, x->tail);
}

/* send_pop() : the call's pop to agent; t0 when its trigger was read, or -1 for an updated pop. */
static void
send_pop(struct cl_pops *p, struct popctx *x, const char *agent, int64_t t0)
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
static void
flush_deferred(struct cl_pops *p, struct popctx *x)
{
	waiting_unlink(p, x);
	for (int i = 0; i < x->ndeferred; i++) {
		const struct cl_live_agent *la = cl_live_agent(x->call, x->deferred[i].agent);
		if (la != NULL && la->popped)
			send_pop(p, x, la->id, x->deferred[i].t0);
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
		flush_deferred(p, p->waiting);
	}
	waiting_rearm(p);
}

/* ---- caller lookups ---- */

/*
 * lookup_done() : x's lookup (id) ended with result (taken; NULL when it
 * failed). The waiting pops go out now; agents already popped without it get
 * an updated pop.
 */
static void
lookup_done(struct cl_pops *p, struct popctx *x, uint64_t id, json_t *result)
{
	if (id != x->lookup_id) {
		json_decref(result); /* an older offer's */
		return;
	}
	x->lookup_id = 0;
	if (result != NULL) {
		json_decref(x->lookup);
		x->lookup = result;
		pop_invalidate(x);
	}
	if (x->ndeferred > 0) {
		flush_deferred(p, x);
		return;
	}
	for (int i = 0; result != NULL && i < x->call->nagents; i++)
		if (x->call->agents[i].popped)
			send_pop(p, x, x->call->agents[i].id, -1);
}

static void
lookup_run(struct cl_job *job, struct cl_worker_ctx *ctx)
{
	struct lookup_job *lj = (struct lookup_job *)job;

	lj->result = cl_view_lookup_raw(ctx->st, &lj->rules, lj->number, lj->history, lj->call_id, lj->err);
}

static void lookup_drain(struct cl_pops *p);

/* result for a call that shares it: without that call itself in the history; a new reference. */
static json_t *
shared_result(json_t *result, const char *call_id)
{
	json_t *hist = json_object_get(result, "history"), *copy, *kept;
	size_t i;
	json_t *h;

	json_array_foreach (hist, i, h) {
		const char *id = json_string_value(json_object_get(h, "call_id"));
		if (id == NULL || strcmp(id, call_id) != 0)
			continue;
		if ((copy = json_copy(result)) == NULL || (kept = json_copy(hist)) == NULL ||
		    json_array_remove(kept, i) < 0 || json_object_set_new(copy, "history", kept) < 0) {
			json_decref(copy);
			return NULL;
		}
		return copy;
	}
	return json_incref(result);
}

/* Gives result to call_id's pop context when it still waits for lookup id. Takes result. */
static void
lookup_deliver(struct cl_pops *p, const char *call_id, uint64_t id, json_t *result)
{
	struct cl_live_call *c = cl_live_get(p->live, call_id);

	if (c != NULL && c->ctx != NULL)
		lookup_done(p, c->ctx, id, result);
	else
		json_decref(result); /* the call ended meanwhile */
}

static void
lookup_job_done(struct cl_job *job, int status)
{
	struct lookup_job *lj = (struct lookup_job *)job;
	struct cl_pops *p = lj->p;

	if (status == CL_JOB_RAN && lj->result == NULL)
		log_warnx("msg=\"customer lookup failed\" call_id=\"%s\" error=\"%s\"", lj->call_id, lj->err);
	if (lj->listed)
		cl_hmap_del(p->inflight, lj->number);
	for (size_t i = 0; i < lj->nsharers; i++)
		lookup_deliver(p, lj->sharers[i].call_id, lj->sharers[i].id,
		               lj->result ? shared_result(lj->result, lj->sharers[i].call_id) : NULL);
	lookup_deliver(p, lj->call_id, lj->id, lj->result);
	free(lj->sharers);
	free(lj);
	if (status == CL_JOB_RAN)
		lookup_drain(p); /* a place in the queue is free */
}

/* Adds call_id to lj's sharers under a new lookup id; 0, or -1 on out of memory. */
static int
lookup_share(struct cl_pops *p, struct lookup_job *lj, struct popctx *x)
{
	struct sharer *sh;

	if (lj->nsharers == lj->capsharers) {
		size_t cap = lj->capsharers ? lj->capsharers * 2 : 4;
		if (cap > CL_LIVE_CALLS_MAX || (sh = realloc(lj->sharers, cap * sizeof(*sh))) == NULL)
			return -1;
		lj->sharers = sh;
		lj->capsharers = cap;
	}
	sh = &lj->sharers[lj->nsharers++];
	sh->id = ++p->lookups;
	snprintf(sh->call_id, sizeof(sh->call_id), "%s", x->call->call_id);
	x->lookup_id = sh->id;
	return 0;
}

/* lookup_still_wanted() : lj's call is live and still waits for this lookup (not ended, not offered again). */
static int
lookup_still_wanted(struct cl_pops *p, const struct lookup_job *lj)
{
	struct cl_live_call *c = cl_live_get(p->live, lj->call_id);

	return c != NULL && c->ctx != NULL && ((struct popctx *)c->ctx)->lookup_id == lj->id;
}

/* Submits the lookups that found the workers' queue full, oldest first, while it takes them. */
static void
lookup_drain(struct cl_pops *p)
{
	struct lookup_job *lj;
	char err[CL_ERR_LEN];

	while ((lj = p->backlog) != NULL) {
		if (lj->nsharers == 0 && !lookup_still_wanted(p, lj)) {
			p->backlog = lj->next_wait;
			p->nbacklog--;
			if (lj->listed)
				cl_hmap_del(p->inflight, lj->number);
			free(lj);
			continue;
		}
		if (cl_workers_submit(p->srv->workers, &lj->job, CL_JOB_HIGH, err) < 0)
			return;
		p->backlog = lj->next_wait;
		p->nbacklog--;
	}
	p->backlog_tail = NULL;
}

/*
 * lookup_submit() : looks the call's caller up (the customer side: from, or to
 * when outbound) on a worker, at prio; its pops wait for it (up to
 * pops.lookup_ms). With the workers' queue full it waits its turn in the
 * backlog when may_wait, else it is not made. 0, or -1 when it was not made
 * (the pops go without).
 */
static int
lookup_submit(struct cl_pops *p, struct popctx *x, enum cl_job_prio prio, int may_wait)
{
	const char *number = x->call->direction == CL_DIR_OUTBOUND ? x->call->to : x->call->from;
	struct lookup_job *lj = number[0] ? cl_hmap_get(p->inflight, number) : NULL;
	char err[CL_ERR_LEN] = "out of memory";

	x->lookup_id = 0;
	if (lj != NULL && lj->history == p->srv->cfg.pops_history && lookup_share(p, lj, x) == 0)
		return 0;
	if ((lj = calloc(1, sizeof(*lj))) == NULL)
		goto fail;
	lj->job.run = lookup_run;
	lj->job.done = lookup_job_done;
	lj->p = p;
	lj->id = ++p->lookups;
	lj->rules = p->srv->numbers;
	lj->history = p->srv->cfg.pops_history;
	snprintf(lj->call_id, sizeof(lj->call_id), "%s", x->call->call_id);
	snprintf(lj->number, sizeof(lj->number), "%s", number);
	if (p->backlog != NULL) /* keep the order: older lookups first */
		lookup_drain(p);
	if (p->backlog == NULL && cl_workers_submit(p->srv->workers, &lj->job, prio, err) == 0)
		goto made;
	if (may_wait && p->nbacklog < LOOKUP_BACKLOG_MAX) {
		if (p->backlog_tail)
			p->backlog_tail->next_wait = lj;
		else
			p->backlog = lj;
		p->backlog_tail = lj;
		p->nbacklog++;
		goto made;
	}
	goto fail; /* neither queued nor waiting: no lookup will come, the pops must not wait for one */
made:
	x->lookup_id = lj->id;
	lj->listed = number[0] && cl_hmap_put(p->inflight, number, lj) == 0; /* else just not shared */
	return 0;
fail:
	free(lj);
	p->srv->m.lookups_refused++;
	log_debug("msg=\"customer lookup not made: the pop goes without\" call_id=\"%s\" error=\"%s\"",
	          x->call->call_id, err);
	return -1;
}

static void
lookup_start(struct cl_pops *p, struct popctx *x)
{
	lookup_submit(p, x, CL_JOB_HIGH, 1);
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
 * The call's customer was chosen (customer.set): the pop's customer and
 * history become that customer's, and every agent shown the call gets the new
 * pop. A call no longer live is rebuilt from its record for the agent who chose.
 */
static void
customer_changed(struct cl_pops *p, struct popctx *x, const struct cl_event *ev, int64_t t0)
{
	char err[CL_ERR_LEN] = "";
	struct cl_live_call tc;
	struct popctx tx;
	/* A new customer is not committed yet: its record is in the event, and it has no calls. */
	json_t *got =
	    ev->data ? json_pack("{s:o, s:[]}", "customer", json_loads(ev->data, 0, NULL), "history")
	             : cl_view_lookup_id(p->srv->reader, ev->customer_id, p->srv->cfg.pops_history, ev->call_id, err);

	if (got == NULL) {
		if (err[0])
			log_warnx("msg=\"customer lookup failed\" call_id=\"%s\" error=\"%s\"", ev->call_id, err);
		return;
	}
	if (x == NULL) {
		struct cl_call c;
		memset(&c, 0, sizeof(c));
		if (ev->agent == NULL || cl_store_get_call(p->srv->reader, ev->call_id, &c, err) != 1) {
			json_decref(got);
			return;
		}
		memset(&tc, 0, sizeof(tc));
		memset(&tx, 0, sizeof(tx));
		snprintf(tc.call_id, sizeof(tc.call_id), "%s", c.call_id);
		tc.direction = c.direction;
		memcpy(tc.from, c.from, sizeof(tc.from));
		memcpy(tc.to, c.to, sizeof(tc.to));
		snprintf(tc.queue, sizeof(tc.queue), "%s", c.queue);
		tc.data = c.data ? strdup(c.data) : NULL;
		tx.p = p;
		tx.call = &tc;
		tx.lookup = cl_view_lookup_raw(p->srv->reader, &p->srv->numbers,
		                               c.direction == CL_DIR_OUTBOUND ? c.to : c.from, 0, NULL, err);
		cl_call_clear(&c);
		x = &tx;
	}
	if (x->lookup == NULL)
		x->lookup = json_pack("{s:i, s:n, s:s}", "matches", 1, "number", "number_status", "ok");
	if (x->lookup != NULL) {
		json_int_t m = json_integer_value(json_object_get(x->lookup, "matches"));
		json_object_set(x->lookup, "customer", json_object_get(got, "customer"));
		json_object_set(x->lookup, "history", json_object_get(got, "history"));
		json_object_set_new(x->lookup, "matches", json_integer(m > 0 ? m : 1));
	}
	json_decref(got);
	pop_invalidate(x);
	if (x == &tx) {
		send_pop(p, x, ev->agent, t0);
		pop_invalidate(x);
		json_decref(tx.lookup);
		free(tc.data);
		return;
	}
	for (int i = 0; i < x->call->nagents; i++)
		if (x->call->agents[i].popped)
			send_pop(p, x, x->call->agents[i].id, t0);
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
		flush_deferred(p, x);
	if (ev->type == CL_EV_CUSTOMER) {
		customer_changed(p, c ? ctx_of(p, c) : NULL, ev, t0);
		return 0;
	}
	if (cl_live_apply(p->live, ev, p->srv->cfg.pop_trigger, ev->received_at, &r) < 0) {
		log_warnx("msg=\"live call not updated: out of memory\" call_id=\"%s\"", ev->call_id);
		return 0;
	}
	if (r.full && !p->warned_full)
		log_warnx("msg=\"too many live calls tracked for pops\" max=%d", CL_LIVE_CALLS_MAX);
	p->warned_full |= r.full;
	if (r.call == NULL || (x = ctx_of(p, r.call)) == NULL)
		goto out;
	if (r.context) {
		pop_invalidate(x);
		if (ev->type == CL_EV_OFFERED)
			lookup_start(p, x);
	}
	for (int i = 0; i < r.n; i++) {
		const struct cl_live_act *a = &r.acts[i];
		if (a->kind == CL_LIVE_CALL)
			send_call(p, x, a);
		else if (x->lookup_id != 0 && p->srv->cfg.pops_lookup_ms > 0 && defer_pop(p, x, a->to, t0) == 0)
			deferred = 1;
		else
			send_pop(p, x, a->to, t0);
	}
	if (deferred && release != NULL) {
		if (x->nholds < HOLDS_MAX) {
			x->holds[x->nholds].release = release;
			x->holds[x->nholds++].arg = arg;
			held = 1;
		} else {
			flush_deferred(p, x); /* cannot hold the answer: the pop goes first */
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

	if (c->offered && (x = ctx_of(p, c)) != NULL && lookup_submit(p, x, CL_JOB_LOW, 0) < 0)
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
	if (c->offered && x->lookup == NULL && x->lookup_id == 0)
		lookup_start(w->p, x); /* none yet (a restart): an updated pop follows */
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

int
cl_pops_consoles(struct cl_pops *p, const char *agent)
{
	return cl_subs_count(p->subs, agent);
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
	lookup_drain(p);
}
