/* subs.c : owns each agent's subscribers (socket consoles, SSE streams), the
 * delivery of messages to them and their replay buffers (SSE Last-Event-ID). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/daemon.h"
#include "callogd/hmap.h"
#include "callogd/log.h"
#include "callogd/popmsg.h"
#include "callogd/subs.h"
#include "callogd/util.h"

#define AGENTS_MAX 100000             /* agent entries (subscribers and replay) */
#define REPLAY_BYTES_MAX (256 * 1024) /* replay kept per agent */

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

struct cl_subs {
	struct cl_server *srv;
	struct cl_hmap *agents; /* agent id -> struct agent_ent */
	int64_t seq;
	size_t replay_bytes; /* every agent's replay messages and rings: within pops.replay_memory */
	int warned_replay;   /* logged that the budget was reached, until usage falls to half */
};

struct cl_subs *
cl_subs_new(struct cl_server *srv)
{
	struct cl_subs *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->agents = cl_hmap_new()) == NULL) {
		free(p);
		return NULL;
	}
	p->srv = srv;
	/* Message seqs grow across restarts, so an SSE Last-Event-ID never points ahead. */
	p->seq = cl_now_ms() * 1000;
	return p;
}

/*
 * The next message seq: the wall clock in ms times 1000, or one more than the
 * last when that is higher. In a cluster every node numbers its messages on
 * the same scale, so a Last-Event-ID from another node points at the same
 * moment here (docs/cluster.md).
 */
static int64_t
next_seq(struct cl_subs *p)
{
	int64_t now = cl_now_ms() * 1000;

	p->seq = p->seq + 1 > now ? p->seq + 1 : now;
	return p->seq;
}

static void
ring_pop_front(struct cl_subs *p, struct agent_ent *a)
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
ring_free(struct cl_subs *p, struct agent_ent *a)
{
	while (a->n > 0)
		ring_pop_front(p, a);
	free(a->ring);
	p->replay_bytes -= a->cap * sizeof(*a->ring);
	a->ring = NULL;
	a->cap = a->start = 0;
}

static void
agent_free(struct cl_subs *p, struct agent_ent *a)
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
cl_subs_free(struct cl_subs *p)
{
	struct cl_hmap_entry *e;

	if (p == NULL)
		return;
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
	free(p);
}

static struct agent_ent *
agent_get(struct cl_subs *p, const char *id, int create)
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
replay_room(struct cl_subs *p, const struct agent_ent *a, size_t need)
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
ring_push(struct cl_subs *p, struct agent_ent *a, int64_t seq, const char *type, char *json, size_t len)
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
send_to_sub(struct cl_subs *p, struct agent_ent *a, struct cl_sub *s, int64_t seq, const char *type, const char *json,
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
deliver(struct cl_subs *p, struct agent_ent *a, const char *type, const char *body)
{
	int64_t seq = next_seq(p);
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

/*
 * replay() : sends s what its agent was sent after after_seq. Returns 1 when
 * that is everything (the ring still holds it all), 0 when something is lost
 * (nothing is sent then), -1 when s was dropped.
 */
static int
replay(struct cl_subs *p, struct agent_ent *a, struct cl_sub *s, int64_t after_seq)
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

int
cl_subs_send(struct cl_subs *p, const char *agent, const char *type, const char *body)
{
	struct agent_ent *a = agent_get(p, agent, 0);

	if (a == NULL)
		return -1;
	deliver(p, a, type, body);
	return 0;
}

int
cl_subs_known(struct cl_subs *p, const char *agent)
{
	return agent_get(p, agent, 0) != NULL;
}

int
cl_subs_add(struct cl_subs *p, struct cl_sub *s, int64_t last_seq)
{
	struct agent_ent *a = agent_get(p, s->agent, 1);
	int rc = 0;

	if (a == NULL) {
		/* Out of memory or AGENTS_MAX: a console that would never get a pop is closed. */
		log_warnx("msg=\"console refused: no room for its agent\" agent=\"%s\"", s->agent);
		s->drop(s);
		return -1;
	}
	s->prev = NULL;
	s->next = a->subs;
	if (a->subs)
		a->subs->prev = s;
	a->subs = s;
	a->nsubs++;
	if (last_seq >= 0 && (rc = replay(p, a, s, last_seq)) < 0) {
		unlink_sub(a, s);
		s->drop(s);
	}
	return rc;
}

int
cl_subs_send_one(struct cl_subs *p, struct cl_sub *s, const char *type, const char *body)
{
	struct agent_ent *a = agent_get(p, s->agent, 0);
	size_t len;
	char *text = cl_popmsg_frame(type, next_seq(p), body, &len);
	int rc = 0;

	if (text != NULL && a != NULL && s->send(s, p->seq, type, text, len) < 0) {
		unlink_sub(a, s);
		s->drop(s);
		rc = -1;
	}
	free(text);
	return rc;
}

void
cl_subs_remove(struct cl_subs *p, struct cl_sub *s)
{
	struct agent_ent *a = agent_get(p, s->agent, 0);

	if (a != NULL && (s->prev != NULL || a->subs == s))
		unlink_sub(a, s);
}

void
cl_subs_gens(struct cl_subs *p, void (*fn)(void *arg, const char *agent, const char *gen), void *arg)
{
	for (struct cl_hmap_entry *e = cl_hmap_next(p->agents, NULL); e; e = cl_hmap_next(p->agents, e)) {
		struct agent_ent *a = e->val;
		for (struct cl_sub *s = a->subs; s; s = s->next) {
			struct cl_sub *t = a->subs;
			while (t != s && strcmp(t->gen, s->gen) != 0) /* each generation once */
				t = t->next;
			if (s->gen[0] && t == s)
				fn(arg, a->id, s->gen);
		}
	}
}

int
cl_subs_end(struct cl_subs *p, const char *agent, const char *gen)
{
	struct agent_ent *a = agent_get(p, agent, 0);
	struct cl_sub *s, *next;
	int n = 0;

	for (s = a ? a->subs : NULL; s; s = next) {
		next = s->next;
		if (strcmp(s->gen, gen) != 0)
			continue;
		unlink_sub(a, s);
		s->drop(s);
		n++;
	}
	return n;
}

int
cl_subs_count(struct cl_subs *p, const char *agent)
{
	struct agent_ent *a = agent_get(p, agent, 0);

	return a ? a->nsubs : 0;
}

size_t
cl_subs_replay_bytes(const struct cl_subs *p)
{
	return p->replay_bytes;
}

void
cl_subs_expire(struct cl_subs *p, int64_t now_ms)
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
}
