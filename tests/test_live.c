/* test_live.c : unit tests of the live-call model (src/core/live.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/config.h"
#include "callogd/live.h"
#include "testutil.h"

#define T0 1795341600000LL

static struct cl_event
mk(enum cl_event_type type, const char *call_id, const char *agent)
{
	struct cl_event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.call_id = call_id;
	e.agent = agent;
	e.from_kind = e.to_kind = -1;
	return e;
}

/* Applies e and renders its messages as "pop a1;call a2 retracted a1;..." into out. */
static const char *
apply(struct cl_live *l, struct cl_event e, int trigger, struct cl_live_result *r, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	CHECK_INT(cl_live_apply(l, &e, trigger, T0, r), 0);
	for (int i = 0; i < r->n; i++) {
		const struct cl_live_act *a = &r->acts[i];
		if (a->kind == CL_LIVE_POP)
			n += (size_t)snprintf(out + n, len - n, "%spop %s", n ? ";" : "", a->to);
		else
			n += (size_t)snprintf(out + n, len - n, "%scall %s %s %s", n ? ";" : "", a->to, a->state,
			                      a->agent ? a->agent : "-");
	}
	return out;
}

/* The same, freeing a call the event ended. */
static const char *
step(struct cl_live *l, struct cl_event e, int trigger, char *out)
{
	struct cl_live_result r;

	apply(l, e, trigger, &r, out, 512);
	if (r.ended)
		cl_live_call_free(l, r.call);
	return out;
}

static void
test_ringing_trigger(void)
{
	struct cl_live *l = cl_live_new(NULL);
	struct cl_live_result r;
	struct cl_event e = mk(CL_EV_OFFERED, "c-1", NULL);
	char out[512];

	e.from = "+15551234567";
	e.to = "+18005550100";
	e.queue = "support";
	e.data = "{\"ivr\":\"1\"}";
	CHECK_STR(apply(l, e, CL_TRIGGER_RINGING, &r, out, sizeof(out)), "");
	CHECK(r.call != NULL && r.context && r.call->offered);
	CHECK_STR(r.call->from, "+15551234567");
	CHECK_STR(r.call->queue, "support");
	CHECK_STR(r.call->data, "{\"ivr\":\"1\"}");
	CHECK_STR(step(l, mk(CL_EV_RINGING, "c-1", "a1"), CL_TRIGGER_RINGING, out), "pop a1");
	/* Ringing the same agent again pops nobody. */
	CHECK_STR(step(l, mk(CL_EV_RINGING, "c-1", "a1"), CL_TRIGGER_RINGING, out), "");
	CHECK_STR(step(l, mk(CL_EV_RINGING, "c-1", "a2"), CL_TRIGGER_RINGING, out), "pop a2");
	/* a1 answers: a2 is told the call is gone and no longer tracked. */
	CHECK_STR(step(l, mk(CL_EV_ANSWERED, "c-1", "a1"), CL_TRIGGER_RINGING, out),
	          "call a1 answered a1;call a2 retracted a1");
	CHECK(cl_live_agent(cl_live_get(l, "c-1"), "a2") == NULL);
	CHECK_INT(cl_live_agent(cl_live_get(l, "c-1"), "a1")->state, CL_LA_CONNECTED);
	CHECK_STR(step(l, mk(CL_EV_HELD, "c-1", "a1"), CL_TRIGGER_RINGING, out), "call a1 held a1");
	CHECK_STR(step(l, mk(CL_EV_RESUMED, "c-1", NULL), CL_TRIGGER_RINGING, out), "call a1 resumed -");
	e = mk(CL_EV_ENDED, "c-1", NULL);
	e.reason = "completed";
	CHECK_STR(apply(l, e, CL_TRIGGER_RINGING, &r, out, sizeof(out)), "call a1 ended -");
	CHECK(r.ended && r.acts[0].reason != NULL && strcmp(r.acts[0].reason, "completed") == 0);
	CHECK(cl_live_get(l, "c-1") == NULL);
	CHECK_INT(cl_live_count(l), 0);
	cl_live_call_free(l, r.call);
	/* A late event of an ended call brings nothing back. */
	CHECK_STR(step(l, mk(CL_EV_DISPOSITION, "c-1", "a1"), CL_TRIGGER_RINGING, out), "");
	CHECK_STR(step(l, mk(CL_EV_ENDED, "c-1", NULL), CL_TRIGGER_RINGING, out), "");
	CHECK_INT(cl_live_count(l), 0);
	cl_live_free(l);
}

static void
test_answered_trigger(void)
{
	struct cl_live *l = cl_live_new(NULL);
	char out[512];

	CHECK_STR(step(l, mk(CL_EV_RINGING, "c-2", "a1"), CL_TRIGGER_ANSWERED, out), "");
	CHECK_STR(step(l, mk(CL_EV_RINGING, "c-2", "a2"), CL_TRIGGER_ANSWERED, out), "");
	CHECK(cl_live_get(l, "c-2") != NULL && !cl_live_get(l, "c-2")->offered);
	/* a1 never got a pop: nothing to retract, but it no longer rings. */
	CHECK_STR(step(l, mk(CL_EV_ANSWERED, "c-2", "a2"), CL_TRIGGER_ANSWERED, out), "pop a2");
	CHECK(cl_live_agent(cl_live_get(l, "c-2"), "a1") == NULL);
	CHECK(cl_live_agent(cl_live_get(l, "c-2"), "a2")->popped);
	/* Answered again (a duplicate is never fed, but a PBX may repeat itself): no second pop. */
	CHECK_STR(step(l, mk(CL_EV_ANSWERED, "c-2", "a2"), CL_TRIGGER_ANSWERED, out), "call a2 answered a2");
	cl_live_free(l);
}

static void
test_transfer(void)
{
	struct cl_live *l = cl_live_new(NULL);
	struct cl_live_result r;
	struct cl_event e;
	char out[512];

	step(l, mk(CL_EV_RINGING, "c-3", "a1"), CL_TRIGGER_RINGING, out);
	step(l, mk(CL_EV_ANSWERED, "c-3", "a1"), CL_TRIGGER_RINGING, out);
	e = mk(CL_EV_TRANSFERRED, "c-3", "a1");
	e.to_agent = "a3";
	CHECK_STR(apply(l, e, CL_TRIGGER_RINGING, &r, out, sizeof(out)), "call a1 transferred a1;pop a3");
	CHECK_STR(r.acts[0].to_agent, "a3");
	CHECK(r.acts[0].to_num == NULL);
	CHECK(cl_live_agent(r.call, "a1") == NULL);
	CHECK_INT(cl_live_agent(r.call, "a3")->state, CL_LA_RINGING);
	/* Onwards to a number: the popped agent is told where it went. */
	e = mk(CL_EV_TRANSFERRED, "c-3", "a3");
	e.to = "+15550001111";
	CHECK_STR(apply(l, e, CL_TRIGGER_RINGING, &r, out, sizeof(out)), "call a3 transferred a3");
	CHECK(r.acts[0].to_agent == NULL);
	CHECK_STR(r.acts[0].to_num, "+15550001111");
	CHECK_INT(r.call->nagents, 0);
	cl_live_free(l);
}

static void
test_bounds(void)
{
	struct cl_live *l = cl_live_new(NULL);
	struct cl_live_result r;
	char out[512], agent[32];

	for (int i = 0; i < CL_LIVE_MAX_AGENTS + 4; i++) {
		snprintf(agent, sizeof(agent), "a%d", i);
		apply(l, mk(CL_EV_RINGING, "c-4", agent), CL_TRIGGER_RINGING, &r, out, sizeof(out));
		CHECK_INT(r.n, i < CL_LIVE_MAX_AGENTS ? 1 : 0);
	}
	CHECK_INT(cl_live_get(l, "c-4")->nagents, CL_LIVE_MAX_AGENTS);
	/* Answering retracts every other popped agent: the most messages one event causes. */
	apply(l, mk(CL_EV_ANSWERED, "c-4", "a0"), CL_TRIGGER_RINGING, &r, out, sizeof(out));
	CHECK_INT(r.n, CL_LIVE_MAX_AGENTS);
	CHECK(r.n <= CL_LIVE_ACTS_MAX);
	/* agent.state has no call. */
	struct cl_event st = mk(CL_EV_AGENT_STATE, NULL, "a1");
	CHECK_STR(apply(l, st, CL_TRIGGER_RINGING, &r, out, sizeof(out)), "");
	CHECK(r.call == NULL);
	cl_live_free(l);
}

static int freed;

static void
ctx_free(void *ctx)
{
	freed++;
	free(ctx);
}

static void
test_expire_and_ctx(void)
{
	struct cl_live *l = cl_live_new(ctx_free);
	struct cl_live_result r;
	struct cl_event e = mk(CL_EV_RINGING, "c-5", "a1");
	char out[512];

	apply(l, e, CL_TRIGGER_RINGING, &r, out, sizeof(out));
	r.call->ctx = malloc(8);
	e.call_id = "c-6";
	apply(l, e, CL_TRIGGER_RINGING, &r, out, sizeof(out));
	r.call->ctx = malloc(8);
	CHECK_INT(cl_live_expire(l, T0 + CL_LIVE_STALE_MS), 0);
	CHECK_INT(cl_live_expire(l, T0 + CL_LIVE_STALE_MS + 1), 2);
	CHECK_INT(freed, 2);
	CHECK_INT(cl_live_count(l), 0);
	apply(l, e, CL_TRIGGER_RINGING, &r, out, sizeof(out));
	r.call->ctx = malloc(8);
	cl_live_free(l);
	CHECK_INT(freed, 3);
}

/* A model rebuilt from the same events (a restart) pops the same agents again on welcome. */
static int
count_popped(void *arg, struct cl_live_call *c)
{
	for (int i = 0; i < c->nagents; i++)
		*(int *)arg += c->agents[i].popped;
	return 0;
}

static void
test_rebuild(void)
{
	struct cl_event evs[] = {mk(CL_EV_RINGING, "r-1", "a1"), mk(CL_EV_RINGING, "r-1", "a2"),
	                         mk(CL_EV_RINGING, "r-2", "a1"), mk(CL_EV_ANSWERED, "r-2", "a1"),
	                         mk(CL_EV_RINGING, "r-3", "a2"), mk(CL_EV_ENDED, "r-3", NULL)};
	struct cl_live *l = cl_live_new(NULL);
	char out[512];
	int popped = 0;

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		step(l, evs[i], CL_TRIGGER_RINGING, out);
	CHECK_INT(cl_live_count(l), 2);
	cl_live_each(l, count_popped, &popped);
	CHECK_INT(popped, 3); /* r-1: a1 and a2; r-2: a1 */
	CHECK(cl_live_agent(cl_live_get(l, "r-1"), "a2")->popped);
	CHECK_INT(cl_live_agent(cl_live_get(l, "r-2"), "a1")->state, CL_LA_CONNECTED);
	cl_live_free(l);
}

int
main(void)
{
	test_ringing_trigger();
	test_answered_trigger();
	test_transfer();
	test_bounds();
	test_expire_and_ctx();
	test_rebuild();
	TEST_DONE();
}
