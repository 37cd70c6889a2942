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
#include "callogd/util.h"
#include "callogd/views.h"

#define AGENTS_MAX 100000             /* agent entries (subscribers and replay) */
#define REPLAY_BYTES_MAX (256 * 1024) /* replay kept per agent */
#define HOLDS_MAX 64                  /* answers one call's waiting pops may hold back */

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

struct replay_msg {
	int64_t seq, at_ms;
	const char *type;
	char *json;
	size_t len;
};

struct agent_ent {
	char id[CL_ID_MAX + 1];
	struct cl_sub *subs;
	int nsubs;
	struct replay_msg *ring; /* capacity cfg.pops_replay_max */
	size_t cap, start, n, bytes;
	int64_t lost; /* the highest seq this agent may have been sent that the ring no longer holds */
};

struct cl_pops {
	struct cl_server *srv;
	struct cl_live *live;     /* the live-call model; each call's ctx is a struct popctx */
	struct cl_recent *recent; /* each agent's last calls: wrap-ups owed, who may select */
	struct cl_hmap *agents;   /* agent id -> struct agent_ent */
	int64_t seq;
	int warned_full;
	struct popctx *waiting, *waiting_tail; /* calls whose pops wait for a lookup, by deadline */
	struct event *deadline_ev;
	uint64_t lookups;    /* lookup ids given out */
	size_t replay_bytes; /* every agent's replay messages and rings: within pops.replay_memory */
	int warned_replay;   /* logged that the budget was reached, until usage falls to half */
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
	/* Message seqs grow across restarts, so an SSE Last-Event-ID never points ahead. */
	p->seq = cl_now_ms() * 1000;
	if ((p->live = cl_live_new(popctx_free)) == NULL || (p->agents = cl_hmap_new()) == NULL ||
	    (p->recent = cl_recent_new()) == NULL ||
	    (p->deadline_ev = evtimer_new(srv->base, on_deadline, p)) == NULL) {
		cl_live_free(p->live);
		cl_hmap_free(p->agents);
		cl_recent_free(p->recent);
		free(p);
		return NULL;
	}
	return p;
}

static void
ring_pop_front(struct cl_pops *p, struct agent_ent *a)
{
	struct replay_msg *m = &a->ring[a->start];

	if (m->seq > a->lost)
		a->lost = m->seq;
	a->bytes -= m->len;
	p->replay_bytes -= m->len;
	free(m->json);
	a->start = (a->start + 1) % a->cap;
	a->n--;
}

static void
ring_free(struct cl_pops *p, struct agent_ent *a)
{
	while (a->n > 0)
		ring_pop_front(p, a);
	free(a->ring);
	p->replay_bytes -= a->cap * sizeof(*a->ring);
	a->ring = NULL;
	a->cap = a->start = 0;
}

static void
agent_free(struct cl_pops *p, struct agent_ent *a)
{
	ring_free(p, a);
	free(a);
}

static void
unlink_sub(struct agent_ent *a, struct cl_sub *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		a->subs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	a->nsubs--;
}

void
cl_pops_free(struct cl_pops *p)
{
	struct cl_hmap_entry *e;

	if (p == NULL)
		return;
	cl_live_free(p->live); /* releases the answers still held */
	for (e = cl_hmap_next(p->agents, NULL); e; e = cl_hmap_next(p->agents, e)) {
		struct agent_ent *a = e->val;
		while (a->subs) {
			struct cl_sub *s = a->subs;
			unlink_sub(a, s);
			s->drop(s);
		}
		agent_free(p, a);
	}
	cl_hmap_free(p->agents);
	cl_recent_free(p->recent);
	event_free(p->deadline_ev);
	free(p);
}

static struct agent_ent *
agent_get(struct cl_pops *p, const char *id, int create)
{
	struct agent_ent *a = cl_hmap_get(p->agents, id);

	if (a || !create || cl_hmap_count(p->agents) >= AGENTS_MAX)
		return a;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	snprintf(a->id, sizeof(a->id), "%s", id);
	a->lost = p->seq; /* what came before this entry is not kept */
	if (cl_hmap_put(p->agents, id, a) < 0) {
		free(a);
		return NULL;
	}
	return a;
}

/* Room for need more bytes of replay across all agents? Logs when the budget is first reached. */
static int
replay_room(struct cl_pops *p, const struct agent_ent *a, size_t need)
{
	size_t budget = (size_t)p->srv->cfg.pops_replay_memory * 1024 * 1024;

	if (p->replay_bytes + need <= budget) {
		if (p->replay_bytes < budget / 2)
			p->warned_replay = 0;
		return 1;
	}
	p->srv->m.replay_skipped++;
	if (!p->warned_replay)
		log_warnx("msg=\"replay memory full: new messages are not kept for replay until old ones expire\" "
		          "pops.replay_memory=%d agent=\"%s\"",
		          p->srv->cfg.pops_replay_memory, a->id);
	p->warned_replay = 1;
	return 0;
}

/*
 * Keeps a message for Last-Event-ID replay, within the agent's count and byte
 * bounds and the budget over all agents. A message not kept counts as lost:
 * a reconnect from before it gets fresh pops instead of an incomplete replay.
 */
static void
ring_push(struct cl_pops *p, struct agent_ent *a, int64_t seq, const char *type, char *json, size_t len)
{
	size_t cap = (size_t)p->srv->cfg.pops_replay_max;
	struct replay_msg *m;

	if (cap == 0 || p->srv->cfg.pops_replay_seconds == 0) {
		free(json);
		return;
	}
	if (a->cap != cap) { /* first use, or replay_max changed on reload: start over */
		ring_free(p, a);
		if (!replay_room(p, a, cap * sizeof(*a->ring)) || (a->ring = calloc(cap, sizeof(*a->ring))) == NULL)
			goto lost;
		a->cap = cap;
		p->replay_bytes += cap * sizeof(*a->ring);
	}
	while (a->n > 0 && (a->n == a->cap || a->bytes + len > REPLAY_BYTES_MAX))
		ring_pop_front(p, a);
	if (!replay_room(p, a, len))
		goto lost;
	m = &a->ring[(a->start + a->n) % a->cap];
	m->json = json;
	m->seq = seq;
	m->at_ms = cl_now_ms();
	m->type = type;
	m->len = len;
	a->bytes += len;
	p->replay_bytes += len;
	a->n++;
	return;
lost:
	free(json);
	if (seq > a->lost)
		a->lost = seq;
}

static void
send_to_sub(struct cl_pops *p, struct agent_ent *a, struct cl_sub *s, int64_t seq, const char *type, const char *json,
            size_t len)
{
	if (s->send(s, seq, type, json, len) < 0) {
		p->srv->m.slow_consoles_dropped++;
		log_warnx("msg=\"console dropped: output over agents.max_output\" agent=\"%s\"", a->id);
		unlink_sub(a, s);
		s->drop(s);
	}
}

/*
 * deliver() : sends {"type":TYPE,"seq":N,BODY} with a new seq to every
 * subscriber of a, and keeps it for replay. body is the object's members
 * without braces (type is "pop", "call" or "state": static strings, the
 * replay ring keeps the pointer).
 */
static void
deliver(struct cl_pops *p, struct agent_ent *a, const char *type, const char *body)
{
	int64_t seq = ++p->seq;
	size_t len;
	char *text = cl_popmsg_frame(type, seq, body, &len);

	if (text == NULL)
		return;
	for (struct cl_sub *s = a->subs, *next; s; s = next) {
		next = s->next;
		/* State messages are for the page's streams; socket consoles set the state themselves. */
		if (type[0] != 's' || s->kind == CL_CONN_SSE)
			send_to_sub(p, a, s, seq, type, text, len);
	}
	ring_push(p, a, seq, type, text, len); /* the ring keeps text */
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

static void
send_pop(struct cl_pops *p, struct popctx *x, const char *agent, int64_t t0)
{
	/*
	 * An agent that never had a console has nothing to replay and nobody to
	 * tell: it gets its pops when one connects (cl_pops_subscribe).
	 */
	struct agent_ent *a = agent_get(p, agent, 0);
	char *body;

	if (a == NULL || (body = pop_body(x, agent)) == NULL)
		return;
	deliver(p, a, "pop", body);
	free(body);
	p->srv->m.pops++;
	cl_hist_observe(&p->srv->m.pop_latency, (double)(cl_mono_us() - t0) / 1e6);
}

static void
send_call(struct cl_pops *p, struct popctx *x, const struct cl_live_act *act)
{
	struct agent_ent *a = agent_get(p, act->to, 0);
	char *body;

	if (a == NULL || (body = cl_popmsg_call(x->call->call_id, act)) == NULL)
		return;
	deliver(p, a, "call", body);
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
	if (result == NULL)
		return;
	json_decref(x->lookup);
	x->lookup = result;
	pop_invalidate(x);
	if (x->ndeferred > 0) {
		flush_deferred(p, x);
		return;
	}
	for (int i = 0; i < x->call->nagents; i++)
		if (x->call->agents[i].popped) {
			send_pop(p, x, x->call->agents[i].id, cl_mono_us());
			p->srv->m.pop_updates++;
		}
}

/* lookup_start() : looks the call's caller up (the customer side: from, or to when outbound). */
static void
lookup_start(struct cl_pops *p, struct popctx *x)
{
	const char *number = x->call->direction == CL_DIR_OUTBOUND ? x->call->to : x->call->from;
	char err[CL_ERR_LEN];
	json_t *j;

	x->lookup_id = ++p->lookups;
	j = cl_view_lookup_raw(p->srv->reader, &p->srv->numbers, number, p->srv->cfg.pops_history, x->call->call_id,
	                       err);
	if (j == NULL)
		log_warnx("msg=\"customer lookup failed\" call_id=\"%s\" error=\"%s\"", x->call->call_id, err);
	lookup_done(p, x, x->lookup_id, j);
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
	struct agent_ent *a = agent_get(p, ev->agent, 0);
	json_t *j;
	char *text, *body;
	size_t n;

	if (a == NULL || (j = json_pack("{s:s, s:s, s:s*}", "agent", ev->agent, "state", ev->state, "reason",
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
	deliver(p, a, "state", body);
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

static int
restore_lookup(void *arg, struct cl_live_call *c)
{
	struct cl_pops *p = arg;
	struct popctx *x;

	if (c->offered && (x = ctx_of(p, c)) != NULL)
		lookup_start(p, x);
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

/*
 * replay() : sends s what its agent was sent after after_seq. Returns 1 when
 * that is everything (the ring still holds it all), 0 when something is lost
 * (nothing is sent then), -1 when s was dropped.
 */
static int
replay(struct cl_pops *p, struct agent_ent *a, struct cl_sub *s, int64_t after_seq)
{
	int64_t oldest = cl_now_ms() - (int64_t)p->srv->cfg.pops_replay_seconds * 1000;

	if (after_seq < a->lost)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		struct replay_msg *m = &a->ring[(a->start + i) % a->cap];
		if (m->seq > after_seq && m->at_ms < oldest)
			return 0; /* outside the window: as good as lost */
	}
	for (size_t i = 0; i < a->n; i++) {
		struct replay_msg *m = &a->ring[(a->start + i) % a->cap];
		if (m->seq > after_seq && s->send(s, m->seq, m->type, m->json, m->len) < 0)
			return -1;
	}
	return 1;
}

struct welcome {
	struct cl_pops *p;
	struct cl_sub *s;
};

/* Sends c's pop to a new subscriber of one of its popped agents; -1 when the subscriber must go. */
static int
welcome_pop(void *arg, struct cl_live_call *c)
{
	struct welcome *w = arg;
	const struct cl_live_agent *la = cl_live_agent(c, w->s->agent);
	struct popctx *x;
	char *body, *text;
	size_t len;
	int rc;

	if (la == NULL || !la->popped || (x = ctx_of(w->p, c)) == NULL || (body = pop_body(x, la->id)) == NULL)
		return 0;
	text = cl_popmsg_frame("pop", ++w->p->seq, body, &len);
	free(body);
	if (text == NULL)
		return 0;
	rc = w->s->send(w->s, w->p->seq, "pop", text, len);
	free(text);
	return rc < 0 ? -1 : 0;
}

void
cl_pops_subscribe(struct cl_pops *p, struct cl_sub *s, int64_t last_seq)
{
	struct agent_ent *a = agent_get(p, s->agent, 1);

	if (a == NULL) {
		/* Out of memory or AGENTS_MAX: a console that would never get a pop is closed. */
		log_warnx("msg=\"console refused: no room for its agent\" agent=\"%s\"", s->agent);
		s->drop(s);
		return;
	}
	s->prev = NULL;
	s->next = a->subs;
	if (a->subs)
		a->subs->prev = s;
	a->subs = s;
	a->nsubs++;
	if (last_seq >= 0) {
		int rc = replay(p, a, s, last_seq);
		if (rc == 1)
			return;
		if (rc < 0)
			goto drop;
	}
	/* A fresh start (or a gap too old to replay): the calls ringing or connected to this agent now. */
	struct welcome w = {p, s};
	if (cl_live_each(p->live, welcome_pop, &w) == 0)
		return;
drop:
	unlink_sub(a, s);
	s->drop(s);
}

void
cl_pops_unsubscribe(struct cl_pops *p, struct cl_sub *s)
{
	struct agent_ent *a = agent_get(p, s->agent, 0);

	if (a != NULL && (s->prev != NULL || a->subs == s))
		unlink_sub(a, s);
}

int
cl_pops_consoles(struct cl_pops *p, const char *agent)
{
	struct agent_ent *a = agent_get(p, agent, 0);

	return a ? a->nsubs : 0;
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
	return p->replay_bytes;
}

void
cl_pops_expire(struct cl_pops *p, int64_t now_ms)
{
	int64_t oldest = now_ms - (int64_t)p->srv->cfg.pops_replay_seconds * 1000;
	struct cl_hmap_entry *e, *next;

	for (e = cl_hmap_next(p->agents, NULL); e; e = next) {
		struct agent_ent *a = e->val;
		next = cl_hmap_next(p->agents, e);
		while (a->n > 0 && a->ring[a->start].at_ms < oldest)
			ring_pop_front(p, a);
		if (a->n == 0 && a->subs == NULL) {
			cl_hmap_del(p->agents, a->id); /* e is freed: next was taken before */
			agent_free(p, a);
		}
	}
	cl_live_expire(p->live, now_ms);
}
