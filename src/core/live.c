/* live.c : owns the live-call model: calls not ended, the agents each rings
 * or reached, who was popped, and the messages each new event causes (pure). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/config.h"
#include "callogd/hmap.h"
#include "callogd/live.h"

struct cl_live {
	struct cl_hmap *calls; /* call_id -> struct cl_live_call */
	void (*ctx_free)(void *ctx);
	size_t data_bytes, data_max; /* attached data held over all calls, and its bound (0: none) */
};

struct cl_live *
cl_live_new(void (*ctx_free)(void *ctx))
{
	struct cl_live *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->ctx_free = ctx_free;
	if ((l->calls = cl_hmap_new()) == NULL) {
		free(l);
		return NULL;
	}
	return l;
}

void
cl_live_call_free(struct cl_live *l, struct cl_live_call *c)
{
	if (c == NULL)
		return;
	if (c->ctx && l->ctx_free)
		l->ctx_free(c->ctx);
	if (c->data)
		l->data_bytes -= strlen(c->data);
	free(c->data);
	free(c);
}

void
cl_live_free(struct cl_live *l)
{
	struct cl_hmap_entry *e;

	if (l == NULL)
		return;
	for (e = cl_hmap_next(l->calls, NULL); e; e = cl_hmap_next(l->calls, e))
		cl_live_call_free(l, e->val);
	cl_hmap_free(l->calls);
	free(l);
}

struct cl_live_call *
cl_live_get(const struct cl_live *l, const char *call_id)
{
	return cl_hmap_get(l->calls, call_id);
}

void
cl_live_set_data_max(struct cl_live *l, size_t bytes)
{
	l->data_max = bytes;
}

size_t
cl_live_data_bytes(const struct cl_live *l)
{
	return l->data_bytes;
}

size_t
cl_live_count(const struct cl_live *l)
{
	return cl_hmap_count(l->calls);
}

int
cl_live_each(const struct cl_live *l, int (*fn)(void *arg, struct cl_live_call *c), void *arg)
{
	int rc = 0;

	for (struct cl_hmap_entry *e = cl_hmap_next(l->calls, NULL); e && rc == 0; e = cl_hmap_next(l->calls, e))
		rc = fn(arg, e->val);
	return rc;
}

size_t
cl_live_expire(struct cl_live *l, int64_t now_ms)
{
	struct cl_hmap_entry *e, *next;
	size_t n = 0;

	for (e = cl_hmap_next(l->calls, NULL); e; e = next) {
		struct cl_live_call *c = e->val;
		next = cl_hmap_next(l->calls, e);
		if (now_ms - c->updated_ms > CL_LIVE_STALE_MS) {
			cl_hmap_del(l->calls, c->call_id); /* e is freed: next was taken before */
			cl_live_call_free(l, c);
			n++;
		}
	}
	return n;
}

/* The call for call_id, made when create; NULL when absent, on out of memory (*oom) or when full (*full). */
static struct cl_live_call *
call_get(struct cl_live *l, const char *call_id, int create, int *oom, int *full)
{
	struct cl_live_call *c = cl_hmap_get(l->calls, call_id);

	if (c || !create)
		return c;
	if (cl_hmap_count(l->calls) >= CL_LIVE_CALLS_MAX) {
		*full = 1;
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		*oom = 1;
		return NULL;
	}
	snprintf(c->call_id, sizeof(c->call_id), "%s", call_id);
	if (cl_hmap_put(l->calls, call_id, c) < 0) {
		free(c);
		*oom = 1;
		return NULL;
	}
	return c;
}

const struct cl_live_agent *
cl_live_agent(const struct cl_live_call *c, const char *agent)
{
	for (int i = 0; i < c->nagents; i++)
		if (strcmp(c->agents[i].id, agent) == 0)
			return &c->agents[i];
	return NULL;
}

/* agent's place on c, added (ringing, not popped) when create and there is room. */
static struct cl_live_agent *
agent_get(struct cl_live_call *c, const char *agent, int create)
{
	struct cl_live_agent *a = (struct cl_live_agent *)cl_live_agent(c, agent);

	if (a || !create || c->nagents == CL_LIVE_MAX_AGENTS)
		return a;
	a = &c->agents[c->nagents++];
	memset(a, 0, sizeof(*a));
	snprintf(a->id, sizeof(a->id), "%s", agent);
	return a;
}

static void
agent_remove(struct cl_live_call *c, struct cl_live_agent *a)
{
	int i = (int)(a - c->agents);

	memmove(&c->agents[i], &c->agents[i + 1], (size_t)(c->nagents - i - 1) * sizeof(*a));
	c->nagents--;
}

static struct cl_live_act *
act(struct cl_live_result *r, enum cl_live_act_kind kind, const char *to, const char *state, const char *agent)
{
	struct cl_live_act *a = &r->acts[r->n++];

	memset(a, 0, sizeof(*a));
	a->kind = kind;
	snprintf(a->to, sizeof(a->to), "%s", to);
	a->state = state;
	a->agent = agent;
	return a;
}

/* The pop for a (marked popped: a console that connects later gets it too). */
static void
pop(struct cl_live_result *r, struct cl_live_agent *a)
{
	a->popped = 1;
	act(r, CL_LIVE_POP, a->id, NULL, NULL);
}

/* Tells every popped agent of c that the call changed state. */
static void
notify_popped(struct cl_live_call *c, struct cl_live_result *r, const char *state, const char *agent)
{
	for (int i = 0; i < c->nagents; i++)
		if (c->agents[i].popped)
			act(r, CL_LIVE_CALL, c->agents[i].id, state, agent);
}

/* The call's attached data becomes ev's, unless that would pass the bound on all calls' data. */
static int
offer(struct cl_live *l, struct cl_live_call *c, const struct cl_event *ev, struct cl_live_result *r)
{
	size_t old = c->data ? strlen(c->data) : 0, n = ev->data ? strlen(ev->data) : 0;
	char *data = NULL;

	if (ev->data && l->data_max > 0 && l->data_bytes - old + n > l->data_max)
		r->data_dropped = 1; /* the pop goes without it (or with what the call had) */
	else if (ev->data && (data = strdup(ev->data)) == NULL)
		return -1;
	c->offered = 1;
	c->direction = ev->direction;
	snprintf(c->from, sizeof(c->from), "%s", ev->from ? ev->from : "");
	snprintf(c->to, sizeof(c->to), "%s", ev->to ? ev->to : "");
	if (ev->queue)
		snprintf(c->queue, sizeof(c->queue), "%s", ev->queue);
	if (data) {
		free(c->data);
		c->data = data;
		l->data_bytes = l->data_bytes - old + n;
	}
	return 0;
}

/* The call is taken by a: a is connected; every other agent it rings loses it. */
static void
answer(struct cl_live_call *c, struct cl_live_result *r, struct cl_live_agent *a, const char *by, int trigger)
{
	a->state = CL_LA_CONNECTED;
	if (!a->popped && trigger == CL_TRIGGER_ANSWERED)
		pop(r, a);
	else if (a->popped)
		act(r, CL_LIVE_CALL, a->id, "answered", by);
	for (int i = c->nagents - 1; i >= 0; i--) {
		struct cl_live_agent *o = &c->agents[i];
		if (o->state != CL_LA_RINGING)
			continue;
		if (o->popped)
			act(r, CL_LIVE_CALL, o->id, "retracted", by);
		agent_remove(c, o);
	}
}

static void
transfer(struct cl_live_call *c, struct cl_live_result *r, const struct cl_event *ev, int trigger)
{
	struct cl_live_agent *a;
	int first = r->n;

	notify_popped(c, r, "transferred", ev->agent);
	for (int i = first; i < r->n; i++) {
		r->acts[i].to_agent = ev->to_agent;
		r->acts[i].to_num = ev->to_agent ? NULL : ev->to;
	}
	/* The transferring agent is done with the call; the target gets the pop. */
	if (ev->agent && (a = agent_get(c, ev->agent, 0)) != NULL && (!ev->to_agent || strcmp(ev->agent, ev->to_agent)))
		agent_remove(c, a);
	if (ev->to_agent && (a = agent_get(c, ev->to_agent, 1)) != NULL) {
		a->state = CL_LA_RINGING;
		if (trigger == CL_TRIGGER_RINGING && !a->popped)
			pop(r, a);
	}
}

int
cl_live_apply(struct cl_live *l, const struct cl_event *ev, int trigger, int64_t now_ms, struct cl_live_result *r)
{
	struct cl_live_call *c;
	struct cl_live_agent *a;
	int oom = 0;

	memset(r, 0, offsetof(struct cl_live_result, acts));
	if (ev->call_id == NULL)
		return 0; /* agent.state */
	c = call_get(l, ev->call_id,
	             ev->type != CL_EV_ENDED && ev->type != CL_EV_DISPOSITION && ev->type != CL_EV_RING_ENDED &&
	                 ev->type != CL_EV_CUSTOMER,
	             &oom, &r->full);
	if (c == NULL)
		return oom ? -1 : 0;
	r->call = c;
	c->updated_ms = now_ms;
	switch (ev->type) {
	case CL_EV_OFFERED:
		if (offer(l, c, ev, r) < 0)
			return -1;
		r->context = 1;
		break;
	case CL_EV_QUEUED:
		snprintf(c->queue, sizeof(c->queue), "%s", ev->queue ? ev->queue : "");
		r->context = 1;
		break;
	case CL_EV_RINGING:
		if ((a = agent_get(c, ev->agent, 1)) != NULL && trigger == CL_TRIGGER_RINGING && !a->popped)
			pop(r, a);
		break;
	case CL_EV_ANSWERED:
		if ((a = agent_get(c, ev->agent, 1)) != NULL)
			answer(c, r, a, ev->agent, trigger);
		break;
	case CL_EV_RING_ENDED:
		/* That agent's ringing stopped unanswered: its pop is taken back. */
		if ((a = agent_get(c, ev->agent, 0)) != NULL && a->state == CL_LA_RINGING) {
			if (a->popped)
				act(r, CL_LIVE_CALL, a->id, "retracted", NULL);
			agent_remove(c, a);
		}
		break;
	case CL_EV_HELD:
	case CL_EV_RESUMED:
		notify_popped(c, r, ev->type == CL_EV_HELD ? "held" : "resumed", ev->agent);
		break;
	case CL_EV_TRANSFERRED:
		transfer(c, r, ev, trigger);
		break;
	case CL_EV_ENDED:
		notify_popped(c, r, "ended", NULL);
		for (int i = 0; i < r->n; i++)
			r->acts[i].reason = ev->reason;
		cl_hmap_del(l->calls, c->call_id);
		r->ended = 1;
		break;
	default:
		break;
	}
	return 0;
}
