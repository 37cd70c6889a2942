/* pops.c : owns the screen-pop fan-out: the live calls' pop context, each
 * agent's subscribers (socket consoles, SSE streams) and their replay buffers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "callogd/customers.h"
#include "callogd/daemon.h"
#include "callogd/hmap.h"
#include "callogd/log.h"
#include "callogd/pops.h"
#include "callogd/util.h"

#define LIVE_MAX_AGENTS 16                 /* agents a call rang or reached, tracked for pops */
#define LIVE_CALLS_MAX 200000              /* calls tracked at once */
#define LIVE_STALE_MS (12 * 3600 * 1000LL) /* a call never ended is forgotten after this */
#define AGENTS_MAX 100000                  /* agent entries (subscribers and replay) */
#define REPLAY_BYTES_MAX (256 * 1024)      /* replay kept per agent */

enum { LA_RINGING, LA_CONNECTED };

struct live_agent {
	char id[CL_ID_MAX + 1];
	int state;
	int popped; /* this agent was sent the pop */
};

struct live_call {
	char call_id[CL_ID_MAX + 1];
	int direction;
	char from[CL_PARTY_MAX + 1], to[CL_PARTY_MAX + 1];
	char queue[CL_ID_MAX + 1];
	json_t *data;              /* attached data, or NULL */
	json_t *lookup;            /* {"customer","matches","candidates"?,"history"}, or NULL until offered */
	char *pop_head, *pop_tail; /* the pop's text before and after "agent", cached */
	struct live_agent agents[LIVE_MAX_AGENTS];
	int nagents;
	int64_t updated_ms;
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
	struct cl_hmap *calls;  /* call_id -> struct live_call */
	struct cl_hmap *agents; /* agent id -> struct agent_ent */
	int64_t seq;
	int warned_full;
	size_t replay_bytes; /* every agent's replay messages and rings: within pops.replay_memory */
	int warned_replay;   /* logged that the budget was reached, until usage falls to half */
};

struct cl_pops *
cl_pops_new(struct cl_server *srv)
{
	struct cl_pops *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->srv = srv;
	/* Message seqs grow across restarts, so an SSE Last-Event-ID never points ahead. */
	p->seq = cl_now_ms() * 1000;
	if ((p->calls = cl_hmap_new()) == NULL || (p->agents = cl_hmap_new()) == NULL) {
		cl_hmap_free(p->calls);
		free(p);
		return NULL;
	}
	return p;
}

static void
live_free(struct live_call *lc)
{
	free(lc->pop_head);
	free(lc->pop_tail);
	json_decref(lc->data);
	json_decref(lc->lookup);
	free(lc);
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
	for (e = cl_hmap_next(p->calls, NULL); e; e = cl_hmap_next(p->calls, e))
		live_free(e->val);
	for (e = cl_hmap_next(p->agents, NULL); e; e = cl_hmap_next(p->agents, e)) {
		struct agent_ent *a = e->val;
		while (a->subs) {
			struct cl_sub *s = a->subs;
			unlink_sub(a, s);
			s->drop(s);
		}
		agent_free(p, a);
	}
	cl_hmap_free(p->calls);
	cl_hmap_free(p->agents);
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
 * without braces (type is "pop" or "call": static strings, the replay ring
 * keeps the pointer).
 */
static void
deliver(struct cl_pops *p, struct agent_ent *a, const char *type, const char *body)
{
	int64_t seq = ++p->seq;
	char *text;
	int len;

	if ((len = asprintf(&text, "{\"type\":\"%s\",\"seq\":%lld,%s}", type, (long long)seq, body)) < 0)
		return;
	for (struct cl_sub *s = a->subs, *next; s; s = next) {
		next = s->next;
		send_to_sub(p, a, s, seq, type, text, (size_t)len);
	}
	ring_push(p, a, seq, type, text, (size_t)len); /* the ring keeps text */
}

static json_t *
str_or_null(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

/* An object's members as text, without the braces; malloc'd. Takes the reference. */
static char *
members(json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	size_t n;

	json_decref(obj);
	if (text == NULL)
		return NULL;
	n = strlen(text);
	if (n < 2)
		return text;
	memmove(text, text + 1, n - 2);
	text[n - 2] = '\0';
	return text;
}

/* Drops the cached pop text: the call's context changed. */
static void
pop_invalidate(struct live_call *lc)
{
	free(lc->pop_head);
	free(lc->pop_tail);
	lc->pop_head = lc->pop_tail = NULL;
}

/*
 * pop_body() : the pop for agent (SPEC §5) as members text; malloc'd. Built
 * from text cached per call, so the pop on call.ringing costs one copy: the
 * lookup and its serialisation were done when the call was offered.
 */
static char *
pop_body(struct live_call *lc, const char *agent)
{
	char *body = NULL, aj[CL_ID_MAX * 6 + 3];

	if (lc->pop_head == NULL) {
		json_t *tail = json_pack("{s:O}", "data", lc->data ? lc->data : json_null());
		if (tail && lc->lookup)
			json_object_update(tail, lc->lookup);
		else if (tail)
			json_object_update_new(tail,
			                       json_pack("{s:n, s:i, s:[]}", "customer", "matches", 0, "history"));
		lc->pop_head = members(json_pack("{s:s, s:s, s:o, s:o, s:o}", "call_id", lc->call_id, "direction",
		                                 lc->direction == CL_DIR_OUTBOUND ? "outbound" : "inbound", "from",
		                                 str_or_null(lc->from), "to", str_or_null(lc->to), "queue",
		                                 str_or_null(lc->queue)));
		lc->pop_tail = members(tail);
		if (lc->pop_head == NULL || lc->pop_tail == NULL) {
			pop_invalidate(lc);
			return NULL;
		}
	}
	if (cl_json_quote(agent, aj, sizeof(aj)) < 0 ||
	    asprintf(&body, "%s,\"agent\":%s,%s", lc->pop_head, aj, lc->pop_tail) < 0)
		body = NULL;
	return body;
}

/* A call state message's members (SPEC §5); malloc'd. extra may add members. */
static char *
call_body(const struct live_call *lc, const char *state, const char *agent, json_t *extra)
{
	json_t *m = json_pack("{s:s, s:s, s:o}", "call_id", lc->call_id, "state", state, "agent", str_or_null(agent));

	if (m && extra)
		json_object_update(m, extra);
	return members(m);
}

static void
send_call(struct cl_pops *p, struct live_call *lc, const char *to, const char *state, const char *agent, json_t *extra)
{
	struct agent_ent *a = agent_get(p, to, 0);
	char *body;

	if (a == NULL || (body = call_body(lc, state, agent, extra)) == NULL)
		return;
	deliver(p, a, "call", body);
	free(body);
	if (strcmp(state, "retracted") == 0)
		p->srv->m.retracts++;
	else
		p->srv->m.call_msgs++;
}

static struct live_call *
live_get(struct cl_pops *p, const char *call_id, int create)
{
	struct live_call *lc = cl_hmap_get(p->calls, call_id);

	if (lc || !create)
		return lc;
	if (cl_hmap_count(p->calls) >= LIVE_CALLS_MAX) {
		if (!p->warned_full)
			log_warnx("msg=\"too many live calls tracked for pops\" max=%d", LIVE_CALLS_MAX);
		p->warned_full = 1;
		return NULL;
	}
	if ((lc = calloc(1, sizeof(*lc))) == NULL)
		return NULL;
	snprintf(lc->call_id, sizeof(lc->call_id), "%s", call_id);
	if (cl_hmap_put(p->calls, call_id, lc) < 0) {
		free(lc);
		return NULL;
	}
	return lc;
}

static void
live_end(struct cl_pops *p, struct live_call *lc)
{
	cl_hmap_del(p->calls, lc->call_id);
	live_free(lc);
}

static struct live_agent *
live_agent(struct live_call *lc, const char *agent, int create)
{
	for (int i = 0; i < lc->nagents; i++)
		if (strcmp(lc->agents[i].id, agent) == 0)
			return &lc->agents[i];
	if (!create || lc->nagents == LIVE_MAX_AGENTS)
		return NULL;
	struct live_agent *la = &lc->agents[lc->nagents++];
	memset(la, 0, sizeof(*la));
	snprintf(la->id, sizeof(la->id), "%s", agent);
	return la;
}

static void
live_agent_remove(struct live_call *lc, struct live_agent *la)
{
	int i = (int)(la - lc->agents);

	memmove(&lc->agents[i], &lc->agents[i + 1], (size_t)(lc->nagents - i - 1) * sizeof(*la));
	lc->nagents--;
}

/* Looks the caller up once per call; fills ev->customer_id for the call record. */
static void
lookup(struct cl_pops *p, struct live_call *lc, struct cl_event *ev)
{
	const char *number = lc->direction == CL_DIR_OUTBOUND ? ev->to : ev->from;
	char err[CL_ERR_LEN];
	json_t *cust;
	const char *id;

	json_decref(lc->lookup);
	lc->lookup = cl_customers_lookup_raw(p->srv->customers, &p->srv->numbers, number ? number : "",
	                                     p->srv->cfg.pops_history, lc->call_id, err);
	if (lc->lookup == NULL) {
		log_warnx("msg=\"customer lookup failed\" call_id=\"%s\" error=\"%s\"", lc->call_id, err);
		return;
	}
	cust = json_object_get(lc->lookup, "customer");
	id = json_string_value(json_object_get(cust, "id"));
	if (id != NULL && (ev->ext = strdup(id)) != NULL)
		ev->customer_id = ev->ext;
}

static void
send_pop(struct cl_pops *p, struct live_call *lc, struct live_agent *la, int64_t t0)
{
	/*
	 * An agent that never had a console has nothing to replay and nobody to
	 * tell: it gets its pops when one connects (cl_pops_subscribe).
	 */
	struct agent_ent *a = agent_get(p, la->id, 0);
	char *body;

	la->popped = 1;
	if (a == NULL || (body = pop_body(lc, la->id)) == NULL)
		return;
	deliver(p, a, "pop", body);
	free(body);
	p->srv->m.pops++;
	cl_hist_observe(&p->srv->m.pop_latency, (double)(cl_mono_us() - t0) / 1e6);
}

/* Tells every popped agent of lc (but skip) that the call changed state. */
static void
notify_popped(struct cl_pops *p, struct live_call *lc, const char *state, const char *agent, json_t *extra)
{
	for (int i = 0; i < lc->nagents; i++)
		if (lc->agents[i].popped)
			send_call(p, lc, lc->agents[i].id, state, agent, extra);
}

void
cl_pops_on_event(struct cl_pops *p, struct cl_event *ev)
{
	int trigger = p->srv->cfg.pop_trigger;
	int64_t t0 = cl_mono_us();
	struct live_call *lc;
	struct live_agent *la;

	if (ev->call_id == NULL)
		return; /* agent.state */
	lc = live_get(p, ev->call_id, ev->type != CL_EV_ENDED && ev->type != CL_EV_DISPOSITION);
	if (lc == NULL)
		return;
	lc->updated_ms = ev->received_at;
	switch (ev->type) {
	case CL_EV_OFFERED:
		lc->direction = ev->direction;
		snprintf(lc->from, sizeof(lc->from), "%s", ev->from ? ev->from : "");
		snprintf(lc->to, sizeof(lc->to), "%s", ev->to ? ev->to : "");
		if (ev->queue)
			snprintf(lc->queue, sizeof(lc->queue), "%s", ev->queue);
		if (ev->data) {
			json_decref(lc->data);
			lc->data = json_loads(ev->data, 0, NULL);
		}
		lookup(p, lc, ev);
		pop_invalidate(lc);
		break;
	case CL_EV_QUEUED:
		snprintf(lc->queue, sizeof(lc->queue), "%s", ev->queue);
		pop_invalidate(lc);
		break;
	case CL_EV_RINGING:
		if ((la = live_agent(lc, ev->agent, 1)) != NULL && trigger == CL_TRIGGER_RINGING && !la->popped)
			send_pop(p, lc, la, t0);
		break;
	case CL_EV_ANSWERED:
		if ((la = live_agent(lc, ev->agent, 1)) == NULL)
			break;
		la->state = LA_CONNECTED;
		if (!la->popped && trigger == CL_TRIGGER_ANSWERED)
			send_pop(p, lc, la, t0);
		else if (la->popped)
			send_call(p, lc, la->id, "answered", ev->agent, NULL);
		/* The call is taken: the other agents it rang lose it. */
		for (int i = lc->nagents - 1; i >= 0; i--) {
			struct live_agent *o = &lc->agents[i];
			if (o->state != LA_RINGING)
				continue;
			if (o->popped)
				send_call(p, lc, o->id, "retracted", ev->agent, NULL);
			live_agent_remove(lc, o);
		}
		break;
	case CL_EV_HELD:
	case CL_EV_RESUMED:
		notify_popped(p, lc, ev->type == CL_EV_HELD ? "held" : "resumed", ev->agent, NULL);
		break;
	case CL_EV_TRANSFERRED: {
		json_t *extra = json_pack("{s:o, s:o}", "to_agent", str_or_null(ev->to_agent), "to",
		                          str_or_null(ev->to_agent ? NULL : ev->to));
		notify_popped(p, lc, "transferred", ev->agent, extra);
		json_decref(extra);
		/* The transferring agent is done with the call; the target gets the pop. */
		if ((la = live_agent(lc, ev->agent, 0)) != NULL && (!ev->to_agent || strcmp(ev->agent, ev->to_agent)))
			live_agent_remove(lc, la);
		if (ev->to_agent && (la = live_agent(lc, ev->to_agent, 1)) != NULL) {
			la->state = LA_RINGING;
			if (trigger == CL_TRIGGER_RINGING && !la->popped)
				send_pop(p, lc, la, t0);
		}
		break;
	}
	case CL_EV_ENDED: {
		json_t *extra = json_pack("{s:o}", "reason", str_or_null(ev->reason));
		notify_popped(p, lc, "ended", NULL, extra);
		json_decref(extra);
		live_end(p, lc);
		break;
	}
	default:
		break;
	}
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

void
cl_pops_subscribe(struct cl_pops *p, struct cl_sub *s, int64_t last_seq)
{
	struct agent_ent *a = agent_get(p, s->agent, 1);
	struct cl_hmap_entry *e;

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
	for (e = cl_hmap_next(p->calls, NULL); e; e = cl_hmap_next(p->calls, e)) {
		struct live_call *lc = e->val;
		struct live_agent *la = live_agent(lc, s->agent, 0);
		char *body, *text;
		int len;
		if (la == NULL || !la->popped || (body = pop_body(lc, la->id)) == NULL)
			continue;
		len = asprintf(&text, "{\"type\":\"pop\",\"seq\":%lld,%s}", (long long)++p->seq, body);
		free(body);
		if (len < 0)
			continue;
		int rc = s->send(s, p->seq, "pop", text, (size_t)len);
		free(text);
		if (rc < 0)
			goto drop;
	}
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
	return cl_hmap_count(p->calls);
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
	for (e = cl_hmap_next(p->calls, NULL); e; e = next) {
		struct live_call *lc = e->val;
		next = cl_hmap_next(p->calls, e);
		if (now_ms - lc->updated_ms > LIVE_STALE_MS)
			live_end(p, lc);
	}
}
