/* test_calls.c : unit tests of the call state machine (src/calls.c). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "callogd/calls.h"
#include "callogd/util.h"
#include "testutil.h"

#define T0 1795341600000LL /* 2026-11-22T10:00:00.000Z */
#define S(x) ((int64_t)(x)*1000)

static struct cl_event
mk(enum cl_event_type type, int64_t ts)
{
	struct cl_event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.call_id = "c-1";
	e.ts = ts;
	e.from_kind = e.to_kind = -1;
	return e;
}

static void
apply(struct cl_call *c, struct cl_event e)
{
	CHECK_INT(cl_call_apply(c, &e), 0);
}

static void
offered(struct cl_call *c, int64_t ts, const char *from, const char *to, int dir)
{
	struct cl_event e = mk(CL_EV_OFFERED, ts);

	e.from = from;
	e.to = to;
	e.from_kind = from[0] == '+' ? CL_NUMBER_OK : CL_NUMBER_NONE;
	e.to_kind = to[0] == '+' ? CL_NUMBER_OK : CL_NUMBER_NONE;
	e.direction = dir;
	e.queue = "support";
	apply(c, e);
}

static void
agent_ev(struct cl_call *c, enum cl_event_type t, int64_t ts, const char *agent)
{
	struct cl_event e = mk(t, ts);

	e.agent = agent;
	apply(c, e);
}

static void
ended(struct cl_call *c, int64_t ts, const char *reason, const char *by)
{
	struct cl_event e = mk(CL_EV_ENDED, ts);

	e.reason = reason;
	e.by = by;
	apply(c, e);
}

static void
disposition(struct cl_call *c, int64_t ts, const char *agent, const char *code, const char *notes)
{
	struct cl_event e = mk(CL_EV_DISPOSITION, ts);

	e.agent = agent;
	e.code = code;
	e.notes = notes;
	apply(c, e);
}

/* The record as compact JSON text; the caller frees it. */
static char *
record(const struct cl_call *c, int64_t now)
{
	json_t *j = cl_call_to_json(c, now);
	char *s;

	if (j == NULL)
		return strdup("(null)");
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

#define CHECK_RECORD(c, now, expected)                                                                                 \
	do {                                                                                                           \
		char *tr_s = record((c), (now));                                                                       \
		CHECK_STR(tr_s, (expected));                                                                           \
		free(tr_s);                                                                                            \
	} while (0)

static void
test_answered(void)
{
	struct cl_call c;
	struct cl_event e;

	cl_call_init(&c, "c-1");
	e = mk(CL_EV_OFFERED, T0);
	e.from = "+15551234567";
	e.from_kind = CL_NUMBER_OK;
	e.to = "+18005550100";
	e.to_kind = CL_NUMBER_OK;
	e.queue = "support";
	e.data = "{\"ivr\":\"2\"}";
	e.customer_id = "C-7";
	e.seq = 10;
	apply(&c, e);
	e = mk(CL_EV_QUEUED, T0 + 200);
	e.queue = "support";
	e.seq = 11;
	apply(&c, e);
	CHECK_INT(cl_call_outcome(&c), CL_OUTCOME_ACTIVE);
	/* Waiting: as of now. */
	CHECK_INT(cl_call_wait_ms(&c, T0 + 1234), 1234);
	CHECK_INT(cl_call_talk_ms(&c, T0 + 1234), 0);
	agent_ev(&c, CL_EV_RINGING, T0 + 1000, "a1");
	CHECK_STR(c.agent, "");
	agent_ev(&c, CL_EV_ANSWERED, T0 + 1500, "a1");
	/* Talking: wait is fixed, talk runs as of now. */
	CHECK_INT(cl_call_wait_ms(&c, T0 + 9999), 1500);
	CHECK_INT(cl_call_talk_ms(&c, T0 + 11500), 10000);
	CHECK_INT(cl_call_outcome(&c), CL_OUTCOME_ACTIVE);
	CHECK_RECORD(
	    &c, T0 + 11500,
	    "{\"call_id\":\"c-1\",\"direction\":\"inbound\",\"from\":\"+15551234567\",\"to\":\"+18005550100\","
	    "\"queue\":\"support\",\"agent\":\"a1\",\"agents\":[\"a1\"],\"customer_id\":\"C-7\","
	    "\"offered_at\":\"2026-11-22T10:00:00.000Z\",\"answered_at\":\"2026-11-22T10:00:01.500Z\","
	    "\"ended_at\":null,\"wait_ms\":1500,\"talk_ms\":10000,\"hold_ms\":0,\"wrap_ms\":0,\"outcome\":\"active\","
	    "\"end_reason\":null,\"disposition\":null,\"data\":{\"ivr\":\"2\"}}");
	ended(&c, T0 + 61500, "completed", "caller");
	disposition(&c, T0 + S(90), "a1", "billing", "refund");
	CHECK_INT(cl_call_outcome(&c), CL_OUTCOME_ANSWERED);
	CHECK_STR(c.number, "+15551234567");
	CHECK_INT(c.last_seq, 11);
	CHECK_INT(c.has_offer, 1);
	/* Ended: now no longer matters. */
	CHECK_RECORD(
	    &c, T0 + S(99999),
	    "{\"call_id\":\"c-1\",\"direction\":\"inbound\",\"from\":\"+15551234567\",\"to\":\"+18005550100\","
	    "\"queue\":\"support\",\"agent\":\"a1\",\"agents\":[\"a1\"],\"customer_id\":\"C-7\","
	    "\"offered_at\":\"2026-11-22T10:00:00.000Z\",\"answered_at\":\"2026-11-22T10:00:01.500Z\","
	    "\"ended_at\":\"2026-11-22T10:01:01.500Z\",\"wait_ms\":1500,\"talk_ms\":60000,\"hold_ms\":0,\"wrap_ms\":0,"
	    "\"outcome\":\"answered\",\"end_reason\":\"completed\",\"disposition\":{\"code\":\"billing\","
	    "\"notes\":\"refund\",\"agent\":\"a1\",\"at\":\"2026-11-22T10:01:30.000Z\"},\"data\":{\"ivr\":\"2\"}}");

	/* A copy is deep and survives the original. */
	struct cl_call d;
	CHECK_INT(cl_call_copy(&d, &c), 0);
	CHECK(d.data != c.data && d.disp_notes != c.disp_notes);
	cl_call_clear(&c);
	CHECK(c.data == NULL && c.call_id[0] == '\0');
	CHECK_STR(d.data, "{\"ivr\":\"2\"}");
	CHECK_STR(d.disp_notes, "refund");
	CHECK_INT(cl_call_talk_ms(&d, 0), 60000);
	cl_call_clear(&d);
	cl_call_clear(&d);
}

static void
test_unanswered(void)
{
	struct cl_call c;

	/* Abandoned by reason. */
	cl_call_init(&c, "c-1");
	offered(&c, T0, "+15551234567", "+18005550100", CL_DIR_INBOUND);
	agent_ev(&c, CL_EV_RINGING, T0 + 3000, "a1");
	ended(&c, T0 + 25000, "abandoned", NULL);
	CHECK_INT(cl_call_outcome(&c), CL_OUTCOME_ABANDONED);
	CHECK_INT(cl_call_wait_ms(&c, T0 + S(1000)), 25000);
	CHECK_INT(cl_call_talk_ms(&c, T0 + S(1000)), 0);
	CHECK_RECORD(
	    &c, 0,
	    "{\"call_id\":\"c-1\",\"direction\":\"inbound\",\"from\":\"+15551234567\",\"to\":\"+18005550100\","
	    "\"queue\":\"support\",\"agent\":null,\"agents\":[],\"customer_id\":null,"
	    "\"offered_at\":\"2026-11-22T10:00:00.000Z\",\"answered_at\":null,"
	    "\"ended_at\":\"2026-11-22T10:00:25.000Z\",\"wait_ms\":25000,\"talk_ms\":0,\"hold_ms\":0,\"wrap_ms\":0,"
	    "\"outcome\":\"abandoned\",\"end_reason\":\"abandoned\",\"disposition\":null}");
	cl_call_clear(&c);

	/* Abandoned: the caller hung up, no reason given. */
	cl_call_init(&c, "c-1");
	offered(&c, T0, "+15551234567", "+18005550100", CL_DIR_INBOUND);
	ended(&c, T0 + 7, NULL, "caller");
	CHECK_INT(cl_call_outcome(&c), CL_OUTCOME_ABANDONED);
	CHECK_INT(cl_call_wait_ms(&c, 0), 7);
	cl_call_clear(&c);

	/* Unanswered: no_answer, by the system. */
	cl_call_init(&c, "c-1");
	offered(&c, T0, "+15551234567", "+18005550100", CL_DIR_INBOUND);
	agent_ev(&c, CL_EV_RINGING, T0 + 1000, "a1");
	ended(&c, T0 + 30000, "no_answer", "system");
	CHECK_INT(cl_call_outcome(&c), CL_OUTCOME_UNANSWERED);
	CHECK_INT(cl_call_wait_ms(&c, 0), 30000);
	cl_call_clear(&c);

	/* Unanswered: nothing said at all; busy by the agent side. */
	cl_call_init(&c, "c-1");
	offered(&c, T0, "+15551234567", "+18005550100", CL_DIR_INBOUND);
	ended(&c, T0 + 1, NULL, NULL);
	CHECK_INT(cl_call_outcome(&c), CL_OUTCOME_UNANSWERED);
	cl_call_clear(&c);
	cl_call_init(&c, "c-1");
	offered(&c, T0, "+15551234567", "+18005550100", CL_DIR_INBOUND);
	ended(&c, T0 + 1, "busy", "agent");
	CHECK_INT(cl_call_outcome(&c), CL_OUTCOME_UNANSWERED);
	cl_call_clear(&c);

	/* Answered wins over a caller hang-up. */
	cl_call_init(&c, "c-1");
	offered(&c, T0, "+15551234567", "+18005550100", CL_DIR_INBOUND);
	agent_ev(&c, CL_EV_ANSWERED, T0 + 1, "a1");
	ended(&c, T0 + 2, "abandoned", "caller");
	CHECK_INT(cl_call_outcome(&c), CL_OUTCOME_ANSWERED);
	cl_call_clear(&c);

	CHECK_STR(cl_outcome_name(CL_OUTCOME_ACTIVE), "active");
	CHECK_STR(cl_outcome_name(CL_OUTCOME_ANSWERED), "answered");
	CHECK_STR(cl_outcome_name(CL_OUTCOME_ABANDONED), "abandoned");
	CHECK_STR(cl_outcome_name(CL_OUTCOME_UNANSWERED), "unanswered");
}

static void
test_holds(void)
{
	struct cl_call c;

	cl_call_init(&c, "c-1");
	offered(&c, T0, "+15551234567", "+18005550100", CL_DIR_INBOUND);
	agent_ev(&c, CL_EV_ANSWERED, T0 + S(2), "a1");
	agent_ev(&c, CL_EV_HELD, T0 + S(10), "a1");
	/* Open hold while active: as of now. */
	CHECK_INT(cl_call_hold_total_ms(&c, T0 + S(13)), 3000);
	CHECK_INT(cl_call_talk_ms(&c, T0 + S(13)), 8000);
	agent_ev(&c, CL_EV_HELD, T0 + S(11), NULL); /* repeat: the first start stands */
	agent_ev(&c, CL_EV_RESUMED, T0 + S(20) + 250, NULL);
	agent_ev(&c, CL_EV_RESUMED, T0 + S(21), NULL); /* no hold open: ignored */
	CHECK_INT(cl_call_hold_total_ms(&c, T0 + S(30)), 10250);
	agent_ev(&c, CL_EV_HELD, T0 + S(40), "a1");
	agent_ev(&c, CL_EV_RESUMED, T0 + S(45) + 1, "a1");
	CHECK_INT(cl_call_hold_total_ms(&c, T0 + S(50)), 15251);
	CHECK_INT(cl_call_talk_ms(&c, T0 + S(50)), 48000 - 15251);
	/* A third hold still open at the end runs to the end. */
	agent_ev(&c, CL_EV_HELD, T0 + S(60), "a1");
	ended(&c, T0 + S(62), "completed", "caller");
	CHECK_INT(cl_call_hold_total_ms(&c, T0 + S(999)), 17251);
	CHECK_INT(cl_call_talk_ms(&c, T0 + S(999)), 60000 - 17251);
	CHECK_INT(cl_call_wait_ms(&c, T0 + S(999)), 2000);
	/* A resume reported after the end is cut at the end. */
	agent_ev(&c, CL_EV_RESUMED, T0 + S(70), "a1");
	CHECK_INT(c.hold_since, 0);
	CHECK_INT(cl_call_hold_total_ms(&c, T0 + S(999)), 17251);
	/* A hold after the end is ignored. */
	agent_ev(&c, CL_EV_HELD, T0 + S(63), "a1");
	CHECK_INT(cl_call_hold_total_ms(&c, T0 + S(999)), 17251);
	{
		char *s = record(&c, 0);
		CHECK(strstr(s, "\"wait_ms\":2000,\"talk_ms\":42749,\"hold_ms\":17251,") != NULL);
		free(s);
	}
	cl_call_clear(&c);

	/* The end arrives before the resume that preceded it. */
	cl_call_init(&c, "c-1");
	agent_ev(&c, CL_EV_ANSWERED, T0, "a1");
	agent_ev(&c, CL_EV_HELD, T0 + 100, "a1");
	ended(&c, T0 + 1000, NULL, NULL);
	CHECK_INT(cl_call_hold_total_ms(&c, 0), 900);
	agent_ev(&c, CL_EV_RESUMED, T0 + 400, "a1");
	CHECK_INT(cl_call_hold_total_ms(&c, 0), 300);
	CHECK_INT(cl_call_talk_ms(&c, 0), 700);
	cl_call_clear(&c);

	/* Holds never make talk negative. */
	cl_call_init(&c, "c-1");
	agent_ev(&c, CL_EV_HELD, T0, NULL);
	agent_ev(&c, CL_EV_ANSWERED, T0 + 500, "a1");
	ended(&c, T0 + 600, NULL, NULL);
	CHECK_INT(cl_call_hold_total_ms(&c, 0), 600);
	CHECK_INT(cl_call_talk_ms(&c, 0), 0);
	cl_call_clear(&c);
}

static void
test_transfers(void)
{
	struct cl_call c;
	struct cl_event e;

	cl_call_init(&c, "c-1");
	offered(&c, T0, "+15551234567", "+18005550100", CL_DIR_INBOUND);
	agent_ev(&c, CL_EV_RINGING, T0 + S(1), "a1");
	agent_ev(&c, CL_EV_ANSWERED, T0 + S(2), "a1");
	e = mk(CL_EV_TRANSFERRED, T0 + S(30));
	e.agent = "a1";
	e.to_agent = "a2";
	apply(&c, e);
	/* Not the agent until it answers. */
	CHECK_STR(c.agent, "a1");
	CHECK_INT(c.n_agents, 1);
	agent_ev(&c, CL_EV_RINGING, T0 + S(31), "a2");
	agent_ev(&c, CL_EV_ANSWERED, T0 + S(35), "a2");
	CHECK_STR(c.agent, "a2");
	e = mk(CL_EV_TRANSFERRED, T0 + S(50));
	e.agent = "a2";
	e.to_agent = "a3";
	apply(&c, e);
	agent_ev(&c, CL_EV_ANSWERED, T0 + S(52), "a3");
	/* Back to the first: no duplicate in agents, but the agent now. */
	e = mk(CL_EV_TRANSFERRED, T0 + S(60));
	e.agent = "a3";
	e.to_agent = "a1";
	apply(&c, e);
	agent_ev(&c, CL_EV_ANSWERED, T0 + S(61), "a1");
	/* Then out to a number: the agent stays who had it. */
	e = mk(CL_EV_TRANSFERRED, T0 + S(70));
	e.agent = "a1";
	e.to = "+442079460958";
	e.to_kind = CL_NUMBER_OK;
	apply(&c, e);
	ended(&c, T0 + S(80), "completed", "agent");
	CHECK_STR(c.agent, "a1");
	CHECK_INT(c.n_agents, 3);
	CHECK_STR(c.agents[0], "a1");
	CHECK_STR(c.agents[1], "a2");
	CHECK_STR(c.agents[2], "a3");
	CHECK_STR(c.to, "+18005550100");
	CHECK_INT(cl_call_wait_ms(&c, 0), 2000);
	CHECK_INT(cl_call_talk_ms(&c, 0), 78000);
	{
		char *s = record(&c, 0);
		CHECK(strstr(s, "\"agent\":\"a1\",\"agents\":[\"a1\",\"a2\",\"a3\"],") != NULL);
		free(s);
	}
	cl_call_clear(&c);

	/* More agents than kept: the first 16, and the agent is still the last. */
	cl_call_init(&c, "c-1");
	for (int i = 0; i < CL_CALL_MAX_AGENTS + 4; i++) {
		char a[16];
		snprintf(a, sizeof(a), "a%d", i);
		agent_ev(&c, CL_EV_ANSWERED, T0 + i, a);
	}
	CHECK_INT(c.n_agents, CL_CALL_MAX_AGENTS);
	CHECK_STR(c.agents[0], "a0");
	CHECK_STR(c.agents[CL_CALL_MAX_AGENTS - 1], "a15");
	CHECK_STR(c.agent, "a19");
	cl_call_clear(&c);
}

static void
test_out_of_order(void)
{
	struct cl_call c;
	struct cl_event e;

	/* Ringing before offered: the ringing stands in, then the offer fills in. */
	cl_call_init(&c, "c-1");
	agent_ev(&c, CL_EV_RINGING, T0 + S(5), "a1");
	CHECK_INT(c.offered_at, T0 + S(5));
	CHECK_INT(c.has_offer, 0);
	CHECK_INT(cl_call_wait_ms(&c, T0 + S(6)), 1000);
	CHECK_RECORD(
	    &c, T0 + S(6),
	    "{\"call_id\":\"c-1\",\"direction\":\"inbound\",\"from\":null,\"to\":null,\"queue\":null,"
	    "\"agent\":null,\"agents\":[],\"customer_id\":null,\"offered_at\":\"2026-11-22T10:00:05.000Z\","
	    "\"answered_at\":null,\"ended_at\":null,\"wait_ms\":1000,\"talk_ms\":0,\"hold_ms\":0,\"wrap_ms\":0,"
	    "\"outcome\":\"active\",\"end_reason\":null,\"disposition\":null}");
	e = mk(CL_EV_QUEUED, T0 + S(3));
	e.queue = "overflow";
	apply(&c, e);
	offered(&c, T0, "+15551234567", "+18005550100", CL_DIR_INBOUND);
	CHECK_INT(c.offered_at, T0);
	CHECK_INT(c.has_offer, 1);
	CHECK_STR(c.from, "+15551234567");
	CHECK_STR(c.number, "+15551234567");
	CHECK_STR(c.queue, "overflow");
	cl_call_clear(&c);

	/* Ended before answered; disposition before both. */
	cl_call_init(&c, "c-1");
	disposition(&c, T0 + S(100), "a1", "sale", NULL);
	ended(&c, T0 + S(90), "completed", "agent");
	CHECK_INT(cl_call_outcome(&c), CL_OUTCOME_UNANSWERED);
	agent_ev(&c, CL_EV_ANSWERED, T0 + S(20), "a1");
	offered(&c, T0 + S(10), "+15551234567", "+18005550100", CL_DIR_INBOUND);
	CHECK_INT(cl_call_outcome(&c), CL_OUTCOME_ANSWERED);
	CHECK_INT(cl_call_wait_ms(&c, 0), 10000);
	CHECK_INT(cl_call_talk_ms(&c, 0), 70000);
	CHECK_STR(c.agent, "a1");
	CHECK_STR(c.disp_code, "sale");
	CHECK(c.disp_notes == NULL);
	cl_call_clear(&c);

	/* Disposition after end; the latest by ts wins, whatever the arrival order. */
	cl_call_init(&c, "c-1");
	offered(&c, T0, "+15551234567", "+18005550100", CL_DIR_INBOUND);
	agent_ev(&c, CL_EV_ANSWERED, T0 + 10, "a1");
	ended(&c, T0 + 20, "completed", NULL);
	disposition(&c, T0 + 40, "a1", "billing", "second thoughts");
	disposition(&c, T0 + 30, "a1", "sale", "first");
	CHECK_STR(c.disp_code, "billing");
	CHECK_STR(c.disp_notes, "second thoughts");
	CHECK_INT(c.disp_at, T0 + 40);
	disposition(&c, T0 + 50, "a2", "complaint", NULL);
	CHECK_STR(c.disp_code, "complaint");
	CHECK_STR(c.disp_agent, "a2");
	CHECK(c.disp_notes == NULL);
	{
		char *s = record(&c, 0);
		CHECK(strstr(s, "\"disposition\":{\"code\":\"complaint\",\"notes\":null,\"agent\":\"a2\","
		                "\"at\":\"2026-11-22T10:00:00.050Z\"}") != NULL);
		free(s);
	}
	cl_call_clear(&c);

	/* A second call.ended: the earliest time stands, a missing reason is filled in. */
	cl_call_init(&c, "c-1");
	offered(&c, T0, "+15551234567", "+18005550100", CL_DIR_INBOUND);
	ended(&c, T0 + 500, NULL, NULL);
	ended(&c, T0 + 900, "abandoned", "caller");
	CHECK_INT(c.ended_at, T0 + 500);
	CHECK_STR(c.end_reason, "abandoned");
	CHECK_INT(cl_call_outcome(&c), CL_OUTCOME_ABANDONED);
	ended(&c, T0 + 300, "failed", NULL);
	CHECK_INT(c.ended_at, T0 + 300);
	CHECK_STR(c.end_reason, "failed");
	CHECK_STR(c.end_by, "caller");
	CHECK_INT(cl_call_wait_ms(&c, 0), 300);
	cl_call_clear(&c);

	/* Answers arriving in reverse: the older goes first in agents and does not take the call. */
	cl_call_init(&c, "c-1");
	agent_ev(&c, CL_EV_ANSWERED, T0 + S(40), "a2");
	agent_ev(&c, CL_EV_ANSWERED, T0 + S(10), "a1");
	CHECK_INT(c.answered_at, T0 + S(10));
	CHECK_STR(c.agents[0], "a1");
	CHECK_STR(c.agents[1], "a2");
	CHECK_STR(c.agent, "a2");
	CHECK_INT(c.offered_at, T0 + S(10));
	cl_call_clear(&c);

	/* Three answers, the last two swapped in transit: the latest by time is the agent. */
	cl_call_init(&c, "c-1");
	agent_ev(&c, CL_EV_ANSWERED, T0 + S(10), "a1");
	agent_ev(&c, CL_EV_ANSWERED, T0 + S(30), "a3");
	agent_ev(&c, CL_EV_ANSWERED, T0 + S(20), "a2");
	CHECK_STR(c.agent, "a3");
	CHECK_INT(c.last_answered_at, T0 + S(30));
	CHECK_INT(c.answered_at, T0 + S(10));
	cl_call_clear(&c);

	/* Duplicate answered (a repeat under another id): no change. */
	cl_call_init(&c, "c-1");
	offered(&c, T0, "+15551234567", "+18005550100", CL_DIR_INBOUND);
	agent_ev(&c, CL_EV_ANSWERED, T0 + 100, "a1");
	agent_ev(&c, CL_EV_ANSWERED, T0 + 100, "a1");
	CHECK_INT(c.n_agents, 1);
	CHECK_STR(c.agent, "a1");
	CHECK_INT(c.answered_at, T0 + 100);
	agent_ev(&c, CL_EV_ANSWERED, T0 + 500, "a2");
	agent_ev(&c, CL_EV_ANSWERED, T0 + 100, "a1"); /* the first answer, again */
	CHECK_STR(c.agent, "a2");
	CHECK_INT(c.n_agents, 2);
	cl_call_clear(&c);

	/* A second offer does not override the first. */
	cl_call_init(&c, "c-1");
	offered(&c, T0, "+15551234567", "+18005550100", CL_DIR_INBOUND);
	offered(&c, T0 + 5, "+15550000000", "+18000000000", CL_DIR_OUTBOUND);
	CHECK_STR(c.from, "+15551234567");
	CHECK_INT(c.direction, CL_DIR_INBOUND);
	CHECK_INT(c.offered_at, T0);
	cl_call_clear(&c);

	/* agent.state is not a call event. */
	cl_call_init(&c, "c-1");
	e = mk(CL_EV_AGENT_STATE, T0);
	e.call_id = NULL;
	e.agent = "a1";
	e.state = "ready";
	apply(&c, e);
	CHECK_INT(c.offered_at, 0);
	CHECK_INT(cl_call_wait_ms(&c, T0), 0);
	cl_call_clear(&c);
}

static void
test_numbers(void)
{
	struct cl_call c;
	struct cl_event e;

	/* Outbound: the customer is the callee. */
	cl_call_init(&c, "c-1");
	offered(&c, T0, "2001", "+15551234567", CL_DIR_OUTBOUND);
	CHECK_STR(c.number, "+15551234567");
	CHECK_STR(c.from, "2001");
	{
		char *s = record(&c, T0);
		CHECK(strstr(s, "\"direction\":\"outbound\",\"from\":\"2001\",\"to\":\"+15551234567\"") != NULL);
		free(s);
	}
	cl_call_clear(&c);

	/* Withheld caller: shown as given, no number to look up. */
	cl_call_init(&c, "c-1");
	e = mk(CL_EV_OFFERED, T0);
	e.from = "anonymous";
	e.from_kind = CL_NUMBER_NONE;
	e.to = "+18005550100";
	e.to_kind = CL_NUMBER_OK;
	apply(&c, e);
	CHECK_STR(c.from, "anonymous");
	CHECK_STR(c.number, "");
	cl_call_clear(&c);

	/* A call created from a later event takes its id from it. */
	memset(&c, 0, sizeof(c));
	agent_ev(&c, CL_EV_ANSWERED, T0, "a1");
	CHECK_STR(c.call_id, "c-1");
	cl_call_clear(&c);

	/* init truncates an over-long id, never inside a UTF-8 sequence. */
	{
		char id[300];
		memset(id, 0, sizeof(id));
		id[0] = 'x';
		for (int i = 1; i + 2 < (int)sizeof(id); i += 2)
			memcpy(id + i, "\xc3\xa9", 2);
		cl_call_init(&c, id);
		CHECK(strlen(c.call_id) <= CL_ID_MAX);
		CHECK(cl_utf8_valid(c.call_id, strlen(c.call_id)));
		cl_call_clear(&c);
	}
}

int
main(void)
{
	test_answered();
	test_unanswered();
	test_holds();
	test_transfers();
	test_out_of_order();
	test_numbers();
	TEST_DONE();
}
