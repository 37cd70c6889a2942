/* test_slots.c : the queue report's roll-up (pure): slot bounds, what a call
 * counts for, deltas that cancel out, a maximum that may have left, and a
 * report fed from slots equal to one fed the same calls one by one,
 * including a bound that falls inside a slot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "callogd/report.h"
#include "callogd/slots.h"
#include "callogd/tz.h"
#include "callogd/util.h"
#include "testutil.h"

struct seen {
	int n, recount;
	struct cl_slot_row rows[16];
	char queue[16][CL_ID_MAX + 1], code[16][CL_ID_MAX + 1];
};

static int
collect(void *arg, const struct cl_slot_row *row, int recount)
{
	struct seen *s = arg;

	if (s->n < 16) {
		s->rows[s->n] = *row;
		snprintf(s->queue[s->n], sizeof(s->queue[0]), "%s", row->queue);
		snprintf(s->code[s->n], sizeof(s->code[0]), "%s", row->code);
		s->rows[s->n].queue = s->queue[s->n];
		s->rows[s->n].code = s->code[s->n];
		s->n++;
	}
	s->recount += recount;
	return 0;
}

static void
test_bounds(void)
{
	CHECK(cl_slot_start(0) == 0);
	CHECK(cl_slot_start(CL_SLOT_MS - 1) == 0);
	CHECK(cl_slot_start(CL_SLOT_MS) == CL_SLOT_MS);
	CHECK(cl_slot_start(-1) == -CL_SLOT_MS);
	CHECK(cl_slot_start(-CL_SLOT_MS) == -CL_SLOT_MS);
}

static struct cl_report_call
call(int64_t offered, const char *queue, enum cl_outcome o, int64_t wait, const char *code)
{
	return (struct cl_report_call){.offered_at = offered,
	                               .inbound = 1,
	                               .queue = queue,
	                               .outcome = o,
	                               .wait_ms = wait,
	                               .talk_ms = 60000,
	                               .hold_ms = 1000,
	                               .wrap_ms = 3000,
	                               .disp_code = code,
	                               .disp_agent = code ? "a1" : NULL};
}

static void
test_deltas(void)
{
	struct cl_slots *s = cl_slots_new(20000, 5000);
	struct cl_report_call active = call(1000, "q", CL_OUTCOME_ACTIVE, 0, NULL);
	struct cl_report_call done = call(1000, "q", CL_OUTCOME_ANSWERED, 25000, "sale");
	struct cl_report_call late = call(1000, "q", CL_OUTCOME_ANSWERED, 2000, "sale");
	struct cl_report_call out = done;
	struct seen seen = {0};

	CHECK(s != NULL);
	if (s == NULL)
		return;
	/* Taken away and added back unchanged: nothing to write. */
	CHECK(cl_slots_add(s, &active, 1) == 0 && cl_slots_add(s, &active, -1) == 0);
	cl_slots_each(s, collect, &seen);
	CHECK(seen.n == 0);
	/* Active to answered: the queue row and the code's row change; no maximum left. */
	cl_slots_reset(s);
	cl_slots_add(s, &active, -1);
	cl_slots_add(s, &done, 1);
	cl_slots_each(s, collect, &seen);
	CHECK(seen.n == 2 && seen.recount == 0);
	for (int i = 0; i < seen.n; i++) {
		const struct cl_slot_figs *f = &seen.rows[i].f;
		if (seen.code[i][0] == '\0')
			CHECK(f->active == -1 && f->answered == 1 && f->within_sla == 0 && f->max_wait == 25000 &&
			      f->sum_wait_answered == 25000);
		else
			CHECK(strcmp(seen.code[i], "sale") == 0 && f->count == 1);
	}
	/* A shorter wait replaces the longest: the slot must be counted again. */
	cl_slots_reset(s);
	memset(&seen, 0, sizeof(seen));
	cl_slots_add(s, &done, -1);
	cl_slots_add(s, &late, 1);
	cl_slots_each(s, collect, &seen);
	CHECK(seen.n == 1 && seen.recount == 1 && seen.rows[0].f.within_sla == 1);
	/* Outbound calls count for nothing; a short abandon only there. */
	cl_slots_reset(s);
	memset(&seen, 0, sizeof(seen));
	out.inbound = 0;
	cl_slots_add(s, &out, 1);
	struct cl_report_call shrt = call(1000, "", CL_OUTCOME_ABANDONED, 4999, "x");
	cl_slots_add(s, &shrt, 1);
	cl_slots_each(s, collect, &seen);
	CHECK(seen.n == 1 && seen.rows[0].f.short_abandoned == 1 && seen.rows[0].f.abandoned == 0 &&
	      seen.rows[0].f.max_wait == -1 && seen.queue[0][0] == '\0');
	cl_slots_free(s);
}

struct feed {
	struct cl_report *r;
};

static int
feed_slot(void *arg, const struct cl_slot_row *row, int recount)
{
	(void)recount;
	return cl_report_add_slot(arg, row);
}

static char *
render(struct cl_report *r)
{
	json_t *j = cl_report_json(r);
	char *s = j ? json_dumps(j, JSON_SORT_KEYS) : NULL;
	json_decref(j);
	return s;
}

/* Calls over one Amsterdam day, hourly: slots for the whole slots, calls for the ends, as reports.c does. */
static void
test_report_from_slots(const struct cl_tz *ams, enum cl_report_kind kind, const char *from, const char *until)
{
	static const char *const queues[] = {"support", "sales", ""};
	static const char *const codes[] = {"sale", "resolved", NULL};
	struct cl_report_params p = {
	    .kind = kind, .tz = ams, .interval = CL_INTERVAL_HOUR, .sla_ms = 20000, .short_abandon_ms = 5000};
	struct cl_report *raw, *mixed;
	struct cl_slots *s = cl_slots_new(20000, 5000);
	char err[CL_ERR_LEN], *a, *b;
	int64_t lo, hi;

	cl_time_parse(from, &p.from_ms);
	cl_time_parse(until, &p.until_ms);
	raw = cl_report_new(&p, err);
	mixed = cl_report_new(&p, err);
	CHECK(raw != NULL && mixed != NULL && s != NULL);
	if (raw == NULL || mixed == NULL || s == NULL)
		goto out;
	CHECK(cl_report_slot_range(mixed, &lo, &hi) == 1);
	for (int i = 0; i < 3000; i++) {
		unsigned h = (unsigned)i * 2654435761u;
		struct cl_report_call c = call(p.from_ms - 3600000 + (int64_t)i * 31000, queues[h % 3],
		                               (enum cl_outcome)(h % 4), (int64_t)(h % 40000), codes[(h >> 4) % 3]);
		CHECK(cl_report_add_call(raw, &c) == 0);
		if (c.offered_at >= lo && c.offered_at < hi)
			CHECK(cl_slots_add(s, &c, 1) == 0);
		else
			CHECK(cl_report_add_call(mixed, &c) == 0);
	}
	CHECK(cl_slots_each(s, feed_slot, mixed) == 0);
	a = render(raw);
	b = render(mixed);
	CHECK(a != NULL && b != NULL && strcmp(a, b) == 0);
	CHECK(a != NULL && strstr(a, "\"rows\": [{") != NULL);
	free(a);
	free(b);
out:
	cl_report_free(raw);
	cl_report_free(mixed);
	cl_slots_free(s);
}

int
main(void)
{
	char err[CL_ERR_LEN];
	struct cl_tz *ams = cl_tz_load("Europe/Amsterdam", err), *kolkata = cl_tz_load("Asia/Kolkata", err);
	struct cl_report_params p = {.kind = CL_REPORT_QUEUES, .interval = CL_INTERVAL_HOUR};
	struct cl_report *r;
	int64_t lo, hi;

	test_bounds();
	test_deltas();
	CHECK(ams != NULL && kolkata != NULL);
	if (ams != NULL && kolkata != NULL) {
		/* The 25-hour day; bounds inside slots at both ends. */
		test_report_from_slots(ams, CL_REPORT_QUEUES, "2026-10-24T22:07:13.250Z", "2026-10-25T23:00:00.001Z");
		test_report_from_slots(ams, CL_REPORT_DISPOSITIONS, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z");
		/* Kolkata's hours start at :30 UTC: whole slots still. */
		p.tz = kolkata;
		cl_time_parse("2026-10-24T18:30:00Z", &p.from_ms);
		cl_time_parse("2026-10-25T18:30:00Z", &p.until_ms);
		r = cl_report_new(&p, err);
		CHECK(r != NULL && cl_report_slot_range(r, &lo, &hi) == 1 && lo == p.from_ms && hi == p.until_ms);
		cl_report_free(r);
		/* From :07: the whole slots start at :15. */
		p.tz = ams;
		cl_time_parse("2026-10-24T22:07:00Z", &p.from_ms);
		cl_time_parse("2026-10-25T22:07:00Z", &p.until_ms);
		r = cl_report_new(&p, err);
		CHECK(r != NULL && cl_report_slot_range(r, &lo, &hi) == 1 && lo == p.from_ms + 8 * 60000 &&
		      hi == p.until_ms - 7 * 60000);
		cl_report_free(r);
		/* Amsterdam in 1900 was 19 min 32 s east of UTC: its hours fall inside slots. */
		cl_time_parse("1900-06-01T00:00:00Z", &p.from_ms);
		cl_time_parse("1900-06-02T00:00:00Z", &p.until_ms);
		r = cl_report_new(&p, err);
		CHECK(r != NULL && cl_report_slot_range(r, &lo, &hi) == 0);
		cl_report_free(r);
	}
	cl_tz_free(ams);
	cl_tz_free(kolkata);
	TEST_DONE();
}
