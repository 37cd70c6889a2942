/* sim.c : owns the traffic generator: a discrete-event model of a contact
 * center (arrivals, queue, agents, holds, transfers, abandons, wrap-up) played
 * in real time as NDJSON events through a struct cl_client. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/sim.h"
#include "callogd/util.h"

#define SIM_MAX_OUT (1024 * 1024) /* bytes queued for the socket before pausing */
#define SIM_STALL_US 30000000     /* no answer for 30 s: the daemon is stuck */
#define SIM_ERRORS_SHOWN 5
#define LINE_MAX_LEN 1024

enum { QUEUE_SUPPORT, QUEUE_SALES, QUEUE_BILLING, NQUEUES };
static const char *const queue_name[NQUEUES] = {"support", "sales", "billing"};
static const char *const queue_dnis[NQUEUES] = {"+18005550100", "+18005550101", "+18005550102"};
static const double queue_share[NQUEUES] = {0.5, 0.3, 0.2};
static const char *const queue_codes[NQUEUES][3] = {
    {"resolved", "escalated", "callback"},
    {"sale", "quote", "not_interested"},
    {"payment", "refund", "billing_question"},
};
static const char *const notes[] = {
    "customer satisfied",      "sent follow-up email",    "asked for a supervisor",
    "will call back tomorrow", "updated contact details",
};

enum call_state { C_FREE, C_QUEUED, C_RINGING, C_TALKING, C_OUTDIAL };
enum agent_state { A_IDLE, A_RINGING, A_TALKING, A_WRAPUP, A_NOT_READY, A_OUTDIAL };

enum timer_kind {
	T_PATIENCE, /* the caller gives up waiting */
	T_RING_END, /* the ring is answered, or times out (RONA) */
	T_HOLD,
	T_RESUME,
	T_TRANSFER,
	T_END,
	T_OUT_RESULT, /* an outbound call is picked up, or not */
	T_WRAP_END,   /* agent's wrap-up done: disposition */
	T_READY,      /* agent back from not_ready */
};

struct timer {
	int64_t due; /* us since the start */
	int kind;
	int idx;      /* call slot or agent */
	uint32_t gen; /* the slot's or agent's generation when set */
};

struct call {
	int state;
	uint32_t gen;
	long no; /* call number in this run */
	int queue;
	int agent; /* ringing or talking agent, -1 */
	int last_rona;
	int rings;
	int on_hold;
	int answered;
};

struct agent {
	int state;
	uint32_t gen;
	long wrap_call; /* call number to disposition after wrap-up, -1 none */
	int wrap_queue;
	const char *wrap_code; /* NULL: one of the queue's codes */
};

struct sim {
	const struct cl_sim_opts *o;
	struct cl_sim_report *r;
	struct cl_client *cl;
	FILE *errlog;
	uint64_t rng;
	char run[16];
	int64_t start_us, start_wall_ms, now; /* now: the model's clock, us since start */
	double handle_us;                     /* mean handle time */

	struct timer *heap;
	size_t nheap, capheap;
	struct call *calls;
	int ncalls, capcalls, *freecalls, nfree;
	int *queue; /* call slots waiting, FIFO ring */
	int qhead, qlen, qcap;
	struct agent *agents;
	int *idle; /* idle agents */
	int nidle;
	long placed, active;
	int64_t next_arrival;
	int64_t eid;
	int64_t last_answer_us;
	char line[LINE_MAX_LEN];
	char codes[64][CL_SIM_CODE_MAX + 1]; /* o->codes split; none: each queue's own codes */
	int ncodes;
};

/* --- random ----------------------------------------------------------- */

static uint64_t
rnd(struct sim *s)
{
	/* splitmix64: small, fast, and good enough for traffic shapes. */
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
unif(struct sim *s)
{
	return (double)(rnd(s) >> 11) * (1.0 / 9007199254740992.0);
}

static int
chance(struct sim *s, double p)
{
	return unif(s) < p;
}

/* An exponential delay with the given mean, in us, cut at 8 means. */
static int64_t
expo_raw(struct sim *s, double mean_us)
{
	double v = -log(1.0 - unif(s)) * mean_us;
	return (int64_t)(v > mean_us * 8 ? mean_us * 8 : v);
}

/* The same, at least 1 ms: model durations. */
static int64_t
expo(struct sim *s, double mean_us)
{
	int64_t v = expo_raw(s, mean_us);
	return v < 1000 ? 1000 : v;
}

/* --- timers (binary min-heap) ----------------------------------------- */

static int
timer_add(struct sim *s, int64_t due, int kind, int idx, uint32_t gen)
{
	size_t i;

	if (s->nheap == s->capheap) {
		size_t cap = s->capheap ? s->capheap * 2 : 256;
		struct timer *n = realloc(s->heap, cap * sizeof(*n));
		if (n == NULL)
			return -1;
		s->heap = n;
		s->capheap = cap;
	}
	i = s->nheap++;
	while (i > 0 && s->heap[(i - 1) / 2].due > due) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = (struct timer){due, kind, idx, gen};
	return 0;
}

static struct timer
timer_pop(struct sim *s)
{
	struct timer top = s->heap[0], last = s->heap[--s->nheap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && s->heap[c + 1].due < s->heap[c].due)
			c++;
		if (s->heap[c].due >= last.due)
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nheap > 0)
		s->heap[i] = last;
	return top;
}

/* --- emitting events -------------------------------------------------- */

/* Sends one event: type, ts and id are added here; body is the rest (",\"k\":v..."). */
static int
emit(struct sim *s, const char *type, const char *call_id, const char *body, char *err)
{
	char ts[CL_TIME_LEN];
	int n;

	cl_time_format(s->start_wall_ms + s->now / 1000, ts);
	n = snprintf(s->line, sizeof(s->line), "{\"type\":\"%s\",\"id\":\"sim-%s-%lld\",\"ts\":\"%s\"%s%s%s%s}", type,
	             s->run, (long long)++s->eid, ts, call_id ? ",\"call_id\":\"" : "", call_id ? call_id : "",
	             call_id ? "\"" : "", body);
	if (n < 0 || (size_t)n >= sizeof(s->line)) {
		snprintf(err, CL_ERR_LEN, "event too long for the simulator");
		return -1;
	}
	s->r->events++;
	return cl_client_send_line(s->cl, s->line, (size_t)n, err);
}

static int
emit_call(struct sim *s, const char *type, long no, const char *body, char *err)
{
	char id[48];

	snprintf(id, sizeof(id), "sim-%s-c%ld", s->run, no);
	return emit(s, type, id, body, err);
}

static int
emit_agent_state(struct sim *s, int a, const char *state, const char *reason, char *err)
{
	char body[160];

	snprintf(body, sizeof(body), ",\"agent\":\"a%d\",\"state\":\"%s\"%s%s%s", a + 1, state,
	         reason ? ",\"reason\":\"" : "", reason ? reason : "", reason ? "\"" : "");
	return emit(s, "agent.state", NULL, body, err);
}

/* --- model ------------------------------------------------------------ */

static void
idle_add(struct sim *s, int a)
{
	s->agents[a].state = A_IDLE;
	s->agents[a].gen++;
	s->idle[s->nidle++] = a;
}

/* Takes a random idle agent other than not (-1 for any); -1 when none. */
static int
idle_take(struct sim *s, int not )
{
	int k, a;

	if (s->nidle == 0 || (s->nidle == 1 && s->idle[0] == not ))
		return -1;
	do
		k = (int)(rnd(s) % (uint64_t)s->nidle);
	while (s->idle[k] == not );
	a = s->idle[k];
	s->idle[k] = s->idle[--s->nidle];
	s->agents[a].gen++;
	return a;
}

static int
call_new(struct sim *s)
{
	int i;

	if (s->nfree > 0) {
		i = s->freecalls[--s->nfree];
	} else {
		if (s->ncalls == s->capcalls) {
			int cap = s->capcalls ? s->capcalls * 2 : 64;
			struct call *n = realloc(s->calls, (size_t)cap * sizeof(*n));
			int *f;
			if (n == NULL)
				return -1;
			s->calls = n;
			if ((f = realloc(s->freecalls, (size_t)cap * sizeof(*f))) == NULL)
				return -1;
			s->freecalls = f;
			s->capcalls = cap;
		}
		i = s->ncalls++;
		s->calls[i].gen = 0;
	}
	s->calls[i].gen++;
	s->calls[i].agent = -1;
	s->calls[i].last_rona = -1;
	s->calls[i].rings = 0;
	s->calls[i].on_hold = 0;
	s->calls[i].answered = 0;
	s->active++;
	return i;
}

static void
call_free(struct sim *s, int i)
{
	s->calls[i].state = C_FREE;
	s->calls[i].gen++;
	s->freecalls[s->nfree++] = i;
	s->active--;
}

static int
queue_push(struct sim *s, int ci, int front)
{
	if (s->qlen == s->qcap) {
		int cap = s->qcap ? s->qcap * 2 : 64;
		int *n = malloc((size_t)cap * sizeof(*n));
		if (n == NULL)
			return -1;
		for (int k = 0; k < s->qlen; k++)
			n[k] = s->queue[(s->qhead + k) % s->qcap];
		free(s->queue);
		s->queue = n;
		s->qhead = 0;
		s->qcap = cap;
	}
	if (front) {
		s->qhead = (s->qhead + s->qcap - 1) % s->qcap;
		s->queue[s->qhead] = ci;
	} else {
		s->queue[(s->qhead + s->qlen) % s->qcap] = ci;
	}
	s->qlen++;
	s->calls[ci].state = C_QUEUED;
	return 0;
}

/* Rings idle agents for the calls waiting, oldest first. */
static int
dispatch(struct sim *s, char *err)
{
	char body[64];

	while (s->qlen > 0 && s->nidle > 0) {
		int ci = s->queue[s->qhead];
		struct call *c = &s->calls[ci];
		if (c->state != C_QUEUED) { /* abandoned while waiting */
			s->qhead = (s->qhead + 1) % s->qcap;
			s->qlen--;
			continue;
		}
		/* Another agent than the one who let it ring, unless only that one is free. */
		int a = idle_take(s, c->last_rona);
		if (a < 0 && (a = idle_take(s, -1)) < 0)
			return 0;
		s->qhead = (s->qhead + 1) % s->qcap;
		s->qlen--;
		c->state = C_RINGING;
		c->agent = a;
		c->rings++;
		s->agents[a].state = A_RINGING;
		snprintf(body, sizeof(body), ",\"agent\":\"a%d\"", a + 1);
		if (emit_call(s, "call.ringing", c->no, body, err) < 0 ||
		    timer_add(s, s->now + 300 + (int64_t)(s->handle_us * (0.04 + 0.08 * unif(s))), T_RING_END, ci,
		              c->gen) < 0)
			return -1;
	}
	return 0;
}

static const char *
caller_number(struct sim *s, char *buf, size_t len)
{
	double p = unif(s);

	if (s->o->nphones > 0 && p < 0.80)
		return s->o->phones[rnd(s) % (uint64_t)s->o->nphones];
	if (p < 0.94 || (s->o->nphones == 0 && p < 0.95)) {
		snprintf(buf, len, "+1555%07llu", (unsigned long long)(rnd(s) % 10000000));
		return buf;
	}
	return chance(s, 0.8) ? "anonymous" : "restricted";
}

static int
arrive(struct sim *s, char *err)
{
	char body[512], num[32];
	int ci = call_new(s), q = 0;
	double p = unif(s);
	struct call *c;

	if (ci < 0)
		goto oom;
	c = &s->calls[ci];
	c->no = ++s->placed;
	s->r->calls++;
	while (q < NQUEUES - 1 && p >= queue_share[q])
		p -= queue_share[q++];
	c->queue = q;

	/* A few calls are agents dialing out, when one is free. */
	if (s->o->nphones > 0 && chance(s, 0.08) && s->nidle > 0) {
		int a = idle_take(s, -1);
		s->agents[a].state = A_OUTDIAL;
		c->agent = a;
		c->state = C_OUTDIAL;
		s->r->outbound++;
		snprintf(body, sizeof(body),
		         ",\"direction\":\"outbound\",\"from\":\"%s\",\"to\":\"%s\",\"queue\":\"%s\",\"agent\":\"a%d\"",
		         queue_dnis[q], s->o->phones[rnd(s) % (uint64_t)s->o->nphones], queue_name[q], a + 1);
		if (emit_call(s, "call.offered", c->no, body, err) < 0 ||
		    timer_add(s, s->now + (int64_t)(s->handle_us * 0.15), T_OUT_RESULT, ci, c->gen) < 0)
			return -1;
		return 0;
	}
	const char *from = caller_number(s, num, sizeof(num));
	if (chance(s, 0.3))
		snprintf(body, sizeof(body),
		         ",\"from\":\"%s\",\"to\":\"%s\",\"queue\":\"%s\",\"data\":{\"ivr\":{\"menu\":\"%d\","
		         "\"language\":\"%s\",\"account_entered\":%s}}",
		         from, queue_dnis[q], queue_name[q], q + 1, chance(s, 0.8) ? "en" : "es",
		         chance(s, 0.5) ? "true" : "false");
	else
		snprintf(body, sizeof(body), ",\"from\":\"%s\",\"to\":\"%s\",\"queue\":\"%s\"", from, queue_dnis[q],
		         queue_name[q]);
	if (emit_call(s, "call.offered", c->no, body, err) < 0)
		return -1;
	snprintf(body, sizeof(body), ",\"queue\":\"%s\"", queue_name[q]);
	if (emit_call(s, "call.queued", c->no, body, err) < 0)
		return -1;
	if (queue_push(s, ci, 0) < 0 || timer_add(s, s->now + expo(s, s->handle_us * 3), T_PATIENCE, ci, c->gen) < 0)
		goto oom;
	return dispatch(s, err);
oom:
	snprintf(err, CL_ERR_LEN, "out of memory");
	return -1;
}

/* The call is answered by agent a: plan its talk, holds and a possible transfer. */
static int
talk(struct sim *s, int ci, int a, char *err)
{
	struct call *c = &s->calls[ci];
	char body[64];
	int64_t t = expo(s, s->handle_us * 0.65);

	c->state = C_TALKING;
	c->agent = a;
	c->answered = 1;
	s->agents[a].state = A_TALKING;
	snprintf(body, sizeof(body), ",\"agent\":\"a%d\"", a + 1);
	if (emit_call(s, "call.answered", c->no, body, err) < 0)
		return -1;
	if (chance(s, 0.2)) {
		int64_t h = s->now + t / 4;
		if (timer_add(s, h, T_HOLD, ci, c->gen) < 0 ||
		    timer_add(s, h + 1000 + (int64_t)(s->handle_us * 0.1 * unif(s)), T_RESUME, ci, c->gen) < 0)
			goto oom;
		t += (int64_t)(s->handle_us * 0.1) + 1000;
	}
	if (chance(s, 0.1) && timer_add(s, s->now + t * 3 / 5, T_TRANSFER, ci, c->gen) < 0)
		goto oom;
	if (timer_add(s, s->now + t, T_END, ci, c->gen) < 0)
		goto oom;
	return 0;
oom:
	snprintf(err, CL_ERR_LEN, "out of memory");
	return -1;
}

/* Agent a starts wrap-up of call no. */
static int
wrap(struct sim *s, int a, long no, int q, const char *code)
{
	struct agent *ag = &s->agents[a];

	ag->state = A_WRAPUP;
	ag->gen++;
	ag->wrap_call = no;
	ag->wrap_queue = q;
	ag->wrap_code = code;
	return timer_add(s, s->now + 500 + (int64_t)(s->handle_us * (0.05 + 0.15 * unif(s))), T_WRAP_END, a, ag->gen);
}

static int
end_call(struct sim *s, int ci, const char *reason, const char *by, char *err)
{
	struct call *c = &s->calls[ci];
	char body[96];

	snprintf(body, sizeof(body), ",\"reason\":\"%s\",\"by\":\"%s\"", reason, by);
	if (emit_call(s, "call.ended", c->no, body, err) < 0)
		return -1;
	if (c->agent >= 0 && (c->state == C_TALKING || c->state == C_OUTDIAL)) {
		if (wrap(s, c->agent, c->no, c->queue, c->answered ? NULL : "no_contact") < 0)
			goto oom;
	} else if (c->agent >= 0 && c->state == C_RINGING) {
		idle_add(s, c->agent);
	}
	call_free(s, ci);
	return dispatch(s, err);
oom:
	snprintf(err, CL_ERR_LEN, "out of memory");
	return -1;
}

static int
fire(struct sim *s, const struct timer *t, char *err)
{
	struct call *c = t->kind < T_WRAP_END ? &s->calls[t->idx] : NULL;
	struct agent *ag = t->kind >= T_WRAP_END ? &s->agents[t->idx] : NULL;
	char body[600];

	if (c != NULL && (c->gen != t->gen || c->state == C_FREE))
		return 0;
	if (ag != NULL && ag->gen != t->gen)
		return 0;
	switch (t->kind) {
	case T_PATIENCE:
		if (c->state != C_QUEUED && c->state != C_RINGING)
			return 0;
		s->r->abandoned++;
		return end_call(s, t->idx, "abandoned", "caller", err);
	case T_RING_END: {
		int a = c->agent;
		if (c->state != C_RINGING)
			return 0;
		if (c->rings < 3 && chance(s, 0.12)) {
			/* Ring-no-answer: the agent is made not ready, the call rings someone else. */
			s->r->rona++;
			c->last_rona = a;
			c->agent = -1;
			snprintf(body, sizeof(body), ",\"agent\":\"a%d\",\"reason\":\"no_answer\"", a + 1);
			if (emit_call(s, "call.ring_ended", c->no, body, err) < 0)
				return -1;
			s->agents[a].state = A_NOT_READY;
			s->agents[a].gen++;
			if (emit_agent_state(s, a, "not_ready", "ring_no_answer", err) < 0 ||
			    timer_add(s, s->now + (int64_t)(s->handle_us * 0.3), T_READY, a, s->agents[a].gen) < 0 ||
			    queue_push(s, t->idx, 1) < 0)
				goto oom_or_err;
			return dispatch(s, err);
		}
		s->r->answered++;
		return talk(s, t->idx, a, err);
	}
	case T_HOLD:
	case T_RESUME:
		if (c->state != C_TALKING || c->on_hold == (t->kind == T_HOLD))
			return 0;
		c->on_hold = t->kind == T_HOLD;
		s->r->holds += c->on_hold;
		snprintf(body, sizeof(body), ",\"agent\":\"a%d\"", c->agent + 1);
		return emit_call(s, c->on_hold ? "call.held" : "call.resumed", c->no, body, err);
	case T_TRANSFER: {
		int to;
		if (c->state != C_TALKING || c->on_hold || (to = idle_take(s, c->agent)) < 0)
			return 0;
		s->r->transfers++;
		snprintf(body, sizeof(body), ",\"agent\":\"a%d\",\"to_agent\":\"a%d\"", c->agent + 1, to + 1);
		if (emit_call(s, "call.transferred", c->no, body, err) < 0 ||
		    wrap(s, c->agent, c->no, c->queue, "transferred") < 0)
			goto oom_or_err;
		/* The target takes it: a new talk segment, ending the call later. */
		s->agents[to].state = A_TALKING;
		c->agent = to;
		snprintf(body, sizeof(body), ",\"agent\":\"a%d\"", to + 1);
		if (emit_call(s, "call.answered", c->no, body, err) < 0 ||
		    timer_add(s, s->now + expo(s, s->handle_us * 0.3), T_END, t->idx, ++c->gen) < 0)
			goto oom_or_err;
		return 0;
	}
	case T_END:
		if (c->state != C_TALKING)
			return 0;
		if (c->on_hold) {
			c->on_hold = 0;
			snprintf(body, sizeof(body), ",\"agent\":\"a%d\"", c->agent + 1);
			if (emit_call(s, "call.resumed", c->no, body, err) < 0)
				return -1;
		}
		return end_call(s, t->idx, "completed", chance(s, 0.6) ? "caller" : "agent", err);
	case T_OUT_RESULT: {
		double p = unif(s);
		if (c->state != C_OUTDIAL)
			return 0;
		if (p < 0.7) {
			s->r->answered++;
			return talk(s, t->idx, c->agent, err);
		}
		s->r->unanswered++;
		return end_call(s, t->idx, p < 0.9 ? "no_answer" : "busy", "system", err);
	}
	case T_WRAP_END:
		if (ag->state != A_WRAPUP)
			return 0;
		{
			int q = ag->wrap_queue;
			const char *code = s->ncodes > 0   ? s->codes[rnd(s) % (uint64_t)s->ncodes]
			                   : ag->wrap_code ? ag->wrap_code
			                                   : queue_codes[q][rnd(s) % 3];
			if (chance(s, 0.4))
				snprintf(body, sizeof(body), ",\"agent\":\"a%d\",\"code\":\"%s\",\"notes\":\"%s\"",
				         t->idx + 1, code, notes[rnd(s) % (sizeof(notes) / sizeof(notes[0]))]);
			else
				snprintf(body, sizeof(body), ",\"agent\":\"a%d\",\"code\":\"%s\"", t->idx + 1, code);
			if (emit_call(s, "call.disposition", ag->wrap_call, body, err) < 0)
				return -1;
		}
		if (chance(s, 0.03)) { /* a short break now and then */
			ag->state = A_NOT_READY;
			ag->gen++;
			if (emit_agent_state(s, t->idx, "not_ready", "break", err) < 0 ||
			    timer_add(s, s->now + (int64_t)(s->handle_us * 1.5), T_READY, t->idx, ag->gen) < 0)
				goto oom_or_err;
			return 0;
		}
		idle_add(s, t->idx);
		return dispatch(s, err);
	case T_READY:
		if (ag->state != A_NOT_READY)
			return 0;
		if (emit_agent_state(s, t->idx, "ready", NULL, err) < 0)
			return -1;
		idle_add(s, t->idx);
		return dispatch(s, err);
	}
	return 0;
oom_or_err:
	if (err[0] == '\0')
		snprintf(err, CL_ERR_LEN, "out of memory");
	return -1;
}

static int
on_answer(void *arg, const char *line, size_t len, char *err)
{
	struct sim *s = arg;

	(void)err;
	s->last_answer_us = cl_mono_us();
	if (cl_client_is_ack(line, len)) {
		s->r->acks++;
		if (memmem(line, len, "\"duplicate\":true", 16) != NULL)
			s->r->duplicates++;
		return 0;
	}
	if (s->r->errors++ < SIM_ERRORS_SHOWN && s->errlog != NULL)
		fprintf(s->errlog, "callogctl: simulate: rejected: %.*s\n", (int)(len > 300 ? 300 : len), line);
	return 0;
}

void
cl_sim_defaults(struct cl_sim_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->calls = 100;
	o->rate = 5;
	o->agents = 10;
	o->max_in_flight = 4096;
	if (cl_random_bytes(&o->seed, sizeof(o->seed)) < 0)
		o->seed = (uint64_t)cl_now_ms();
	o->seed %= 1000000000000ULL; /* short enough to type back */
}

/* Runs every model step due by now, while the pipe has room; 1 when all is done. */
static int
step(struct sim *s, int64_t now, char *err)
{
	while (cl_client_in_flight(s->cl) < s->o->max_in_flight && cl_client_out_pending(s->cl) < SIM_MAX_OUT) {
		int arrivals = s->placed < s->o->calls;
		int64_t due = arrivals ? s->next_arrival : INT64_MAX;
		if (s->nheap > 0 && s->heap[0].due < due)
			due = s->heap[0].due;
		if (due == INT64_MAX || due > now)
			break;
		s->now = due;
		if (arrivals && due == s->next_arrival && (s->nheap == 0 || s->heap[0].due >= due)) {
			s->next_arrival += expo_raw(s, 1e6 / s->o->rate);
			if (arrive(s, err) < 0)
				return -1;
		} else {
			struct timer t = timer_pop(s);
			if (fire(s, &t, err) < 0)
				return -1;
		}
		if (s->placed == s->o->calls && s->active == 0) {
			/* Every call is over: wrap-ups left are flushed, then everyone logs out. */
			while (s->nheap > 0) {
				struct timer t = timer_pop(s);
				s->now = t.due;
				if (t.kind == T_WRAP_END && fire(s, &t, err) < 0)
					return -1;
			}
			for (int a = 0; a < s->o->agents; a++)
				if (emit_agent_state(s, a, "logged_out", NULL, err) < 0)
					return -1;
			return 1;
		}
	}
	return 0;
}

int
cl_sim_run(struct cl_client *cl, const struct cl_sim_opts *o, struct cl_sim_report *r, FILE *errlog, char *err)
{
	struct sim s;
	unsigned char raw[4];
	int done = 0, rc = -1;

	memset(r, 0, sizeof(*r));
	memset(&s, 0, sizeof(s));
	r->seed = o->seed;
	s.o = o;
	s.r = r;
	s.cl = cl;
	s.errlog = errlog;
	s.rng = o->seed;
	err[0] = '\0';
	/* The configured codes, one per line; codes that do not fit a line of JSON as they are are skipped. */
	for (const char *p = o->codes; p && *p && s.ncodes < 64;) {
		size_t n = strcspn(p, "\n");
		if (n > 0 && n <= CL_SIM_CODE_MAX && strcspn(p, "\"\\") >= n) {
			memcpy(s.codes[s.ncodes], p, n);
			s.codes[s.ncodes++][n] = '\0';
		}
		p += n + (p[n] == '\n');
	}
	/* Ids are unique per run whatever the seed, so a replay is not taken for duplicates. */
	if (cl_random_bytes(raw, sizeof(raw)) < 0) {
		snprintf(err, CL_ERR_LEN, "no randomness available");
		return -1;
	}
	snprintf(s.run, sizeof(s.run), "%02x%02x%02x%02x", raw[0], raw[1], raw[2], raw[3]);
	s.handle_us = 0.85e6 * o->agents / o->rate;
	if (s.handle_us < 2000)
		s.handle_us = 2000;
	if (s.handle_us > 600e6)
		s.handle_us = 600e6;
	if ((s.agents = calloc((size_t)o->agents, sizeof(*s.agents))) == NULL ||
	    (s.idle = calloc((size_t)o->agents, sizeof(*s.idle))) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		goto out;
	}
	s.start_us = cl_mono_us();
	s.start_wall_ms = cl_now_ms();
	s.last_answer_us = s.start_us;
	for (int a = 0; a < o->agents; a++) {
		s.agents[a].wrap_call = -1;
		if (emit_agent_state(&s, a, "logged_in", NULL, err) < 0 ||
		    emit_agent_state(&s, a, "ready", NULL, err) < 0)
			goto out;
		idle_add(&s, a);
	}
	s.next_arrival = expo_raw(&s, 1e6 / o->rate);
	while (!done || cl_client_in_flight(cl) > 0 || cl_client_out_pending(cl) > 0) {
		int64_t now = cl_mono_us() - s.start_us, wait_ms = 1000;
		if (!done && (done = step(&s, now, err)) < 0)
			goto out;
		if (!done && cl_client_in_flight(cl) < o->max_in_flight && cl_client_out_pending(cl) < SIM_MAX_OUT) {
			int64_t due = s.placed < o->calls ? s.next_arrival : INT64_MAX;
			if (s.nheap > 0 && s.heap[0].due < due)
				due = s.heap[0].due;
			if (due != INT64_MAX)
				wait_ms = due <= now ? 0 : (due - now + 999) / 1000;
		}
		if (cl_client_in_flight(cl) > 0 && cl_mono_us() - s.last_answer_us > SIM_STALL_US) {
			snprintf(err, CL_ERR_LEN, "no answer from the daemon for 30 s with %lld due",
			         (long long)cl_client_in_flight(cl));
			goto out;
		}
		if (cl_client_in_flight(cl) == 0)
			s.last_answer_us = cl_mono_us();
		if (cl_client_pump(cl, (int)(wait_ms > 1000 ? 1000 : wait_ms), on_answer, &s, err) < 0)
			goto out;
	}
	rc = 0;
out:
	r->elapsed_s = (double)(cl_mono_us() - s.start_us) / 1e6;
	free(s.heap);
	free(s.calls);
	free(s.freecalls);
	free(s.queue);
	free(s.agents);
	free(s.idle);
	return rc;
}

void
cl_sim_print_report(const struct cl_sim_report *r, FILE *out)
{
	double el = r->elapsed_s > 0 ? r->elapsed_s : 1e-9;

	fprintf(out, "calls: %ld (answered %ld, abandoned %ld, unanswered %ld, outbound %ld)\n", r->calls, r->answered,
	        r->abandoned, r->unanswered, r->outbound);
	fprintf(out, "flow: %ld re-rings after no answer, %ld holds, %ld transfers\n", r->rona, r->holds, r->transfers);
	fprintf(out, "events: %lld sent, %lld acked (%lld duplicate), %lld errors\n", (long long)r->events,
	        (long long)r->acks, (long long)r->duplicates, (long long)r->errors);
	fprintf(out, "elapsed: %.3f s (%.0f events/s)\nseed: %llu\n", r->elapsed_s, (double)r->events / el,
	        (unsigned long long)r->seed);
}
