/* reports.c : owns running a report against the store: the calls, legs and
 * state history its kind needs, read in one snapshot, fed to report.c. */
#include <stdio.h>
#include <string.h>

#include "callogd/reports.h"
#include "callogd/slots.h"
#include "callogd/store.h"

static int
feed_call(void *arg, const struct cl_report_call *c)
{
	return cl_report_add_call(arg, c) < 0 ? 1 : 0;
}

static int
feed_slot(void *arg, const struct cl_slot_row *s)
{
	return cl_report_add_slot(arg, s) < 0 ? 1 : 0;
}

/*
 * The calls a queue or dispositions report counts: whole 15-minute slots from
 * the roll-up when it was counted with the report's thresholds, the calls at
 * either end one by one; else every call.
 */
static int
feed_calls(struct cl_store *st, struct cl_report *r, int64_t now_ms, char *err)
{
	const struct cl_report_params *p = cl_report_params(r);
	int64_t a, b, sla, shrt;
	int rc, use = 0;

	if (cl_report_slot_range(r, &a, &b)) {
		if ((rc = cl_store_slot_conf(st, &sla, &shrt, err)) < 0)
			return -1;
		use = rc == 1 && sla == p->sla_ms && shrt == p->short_abandon_ms;
	}
	if (!use)
		return cl_store_report_calls(st, p->from_ms, p->until_ms, p->queue, now_ms, feed_call, r, err);
	if ((rc = cl_store_report_calls(st, p->from_ms, a, p->queue, now_ms, feed_call, r, err)) == 0 &&
	    (rc = cl_store_report_slots(st, a, b, p->queue, p->kind == CL_REPORT_DISPOSITIONS, feed_slot, r, err)) == 0)
		rc = cl_store_report_calls(st, b, p->until_ms, p->queue, now_ms, feed_call, r, err);
	return rc;
}

static int
feed_leg(void *arg, const struct cl_report_leg *l)
{
	return cl_report_add_leg(arg, l) < 0 ? 1 : 0;
}

/* State rows come by agent, then time: each state lasts until the agent's next one. */
struct spans {
	struct cl_report *r;
	int64_t end; /* where the last state of an agent stops: now, or the end of the range */
	int have;
	char agent[CL_ID_MAX + 1], state[CL_ID_MAX + 1], reason[CL_ID_MAX + 1];
	int64_t since;
};

static int
flush(struct spans *s, int64_t end)
{
	struct cl_report_span sp = {
	    .agent = s->agent, .state = s->state, .reason = s->reason, .start = s->since, .end = end};

	if (!s->have)
		return 0;
	s->have = 0;
	return cl_report_add_span(s->r, &sp) < 0 ? 1 : 0;
}

static int
feed_state(void *arg, const struct cl_state_row *row)
{
	struct spans *s = arg;

	if (s->have && flush(s, strcmp(s->agent, row->agent) == 0 ? row->ts : s->end) != 0)
		return 1;
	snprintf(s->agent, sizeof(s->agent), "%s", row->agent);
	snprintf(s->state, sizeof(s->state), "%s", row->state);
	snprintf(s->reason, sizeof(s->reason), "%s", row->reason);
	s->since = row->ts;
	s->have = 1;
	return 0;
}

int
cl_reports_run(struct cl_store *st, struct cl_report *r, int64_t now_ms, char *err)
{
	const struct cl_report_params *p = cl_report_params(r);
	struct spans sp = {.r = r, .end = now_ms < p->until_ms ? now_ms : p->until_ms};
	int rc;

	if (cl_store_begin_read(st, err) < 0)
		return -1;
	if (p->kind == CL_REPORT_AGENTS)
		rc = cl_store_report_calls(st, p->from_ms, p->until_ms, p->queue, now_ms, feed_call, r, err);
	else
		rc = feed_calls(st, r, now_ms, err);
	if (rc == 0 && p->kind == CL_REPORT_AGENTS) {
		rc = cl_store_report_legs(st, p->from_ms, p->until_ms, p->agent, feed_leg, r, err);
		if (rc == 0)
			rc = cl_store_agent_states(st, p->from_ms, p->until_ms, p->agent, feed_state, &sp, err);
		if (rc == 0)
			rc = flush(&sp, sp.end);
	}
	cl_store_end_read(st);
	if (rc > 0)
		snprintf(err, CL_ERR_LEN, "out of memory");
	return rc == 0 ? 0 : -1;
}
