/* test_report.c : the §10 report figures against hand-computed scenarios:
 * each queue metric, rounding, short abandons, agents' state time cut at
 * interval bounds, dispositions' share, Amsterdam's 25- and 23-hour days,
 * CSV, and a call's legs from its events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "callogd/report.h"
#include "callogd/tz.h"
#include "callogd/util.h"
#include "testutil.h"

static int64_t
ms(const char *s)
{
	int64_t v = 0;
	if (cl_time_parse(s, &v) < 0)
		fprintf(stderr, "bad time in test: %s\n", s);
	return v;
}

static struct cl_tz *
zone(const char *name)
{
	char err[CL_ERR_LEN];
	struct cl_tz *tz = cl_tz_load(name, err);
	if (tz == NULL)
		fprintf(stderr, "%s\n", err);
	return tz;
}

static struct cl_report *
report(enum cl_report_kind kind, const struct cl_tz *tz, enum cl_interval iv, const char *from, const char *until)
{
	char err[CL_ERR_LEN];
	struct cl_report_params p = {.kind = kind, .tz = tz, .interval = iv, .sla_ms = 20000, .short_abandon_ms = 5000};
	struct cl_report *r;

	if (cl_report_parse_time(tz, from, &p.from_ms) < 0 || cl_report_parse_time(tz, until, &p.until_ms) < 0)
		fprintf(stderr, "bad bound in test\n");
	if ((r = cl_report_new(&p, err)) == NULL)
		fprintf(stderr, "%s\n", err);
	return r;
}

static void
add(struct cl_report *r, const char *offered, const char *queue, enum cl_outcome o, int64_t wait, int64_t talk,
    int64_t hold, int64_t wrap, int transferred, const char *code)
{
	struct cl_report_call c = {.offered_at = ms(offered),
	                           .inbound = 1,
	                           .queue = queue,
	                           .outcome = o,
	                           .wait_ms = wait,
	                           .talk_ms = talk,
	                           .hold_ms = hold,
	                           .wrap_ms = wrap,
	                           .transferred = transferred,
	                           .disp_code = code,
	                           .disp_agent = "a1"};
	CHECK(cl_report_add_call(r, &c) == 0);
}

/* The row of rows[] (or totals) whose key is key ("" for the null queue) and start is start (NULL: any). */
static json_t *
find(json_t *rep, const char *list, const char *keyname, const char *key, const char *start)
{
	size_t i;
	json_t *row;

	json_array_foreach (json_object_get(rep, list), i, row) {
		json_t *k = json_object_get(row, keyname);
		const char *ks = json_is_string(k) ? json_string_value(k) : "";
		if (strcmp(ks, key) != 0)
			continue;
		if (start == NULL || strcmp(json_string_value(json_object_get(row, "start")), start) == 0)
			return row;
	}
	return NULL;
}

static long long
num(json_t *row, const char *name)
{
	json_t *v = json_object_get(row, name);
	return json_is_integer(v) ? (long long)json_integer_value(v) : -999;
}

static double
ratio(json_t *row, const char *name)
{
	json_t *v = json_object_get(row, name);
	return json_is_real(v) ? json_real_value(v) : -1.0;
}

static void
test_queues_day(const struct cl_tz *ams)
{
	/* 2026-10-25 is Amsterdam's 25-hour day: local midnight is 22:00Z the day before. */
	struct cl_report *r = report(CL_REPORT_QUEUES, ams, CL_INTERVAL_DAY, "2026-10-25", "2026-10-27");
	json_t *rep, *row;

	if (r == NULL)
		return;
	add(r, "2026-10-25T08:00:00Z", "support", CL_OUTCOME_ANSWERED, 10000, 60000, 5000, 3000, 1, "resolved");
	add(r, "2026-10-25T09:00:00Z", "support", CL_OUTCOME_ANSWERED, 25000, 30001, 0, 0, 0, "sale");
	add(r, "2026-10-25T10:00:00Z", "support", CL_OUTCOME_ABANDONED, 4999, 0, 0, 0, 0, "sale"); /* short */
	add(r, "2026-10-25T11:00:00Z", "support", CL_OUTCOME_ABANDONED, 5000, 0, 0, 0, 0, NULL);
	add(r, "2026-10-25T12:00:00Z", "support", CL_OUTCOME_UNANSWERED, 40000, 0, 0, 0, 0, NULL);
	add(r, "2026-10-25T13:00:00Z", "support", CL_OUTCOME_ACTIVE, 99000, 0, 0, 0, 0, NULL);
	add(r, "2026-10-24T22:30:00Z", "support", CL_OUTCOME_ANSWERED, 20000, 1000, 0, 0, 0, NULL); /* 00:30 local */
	add(r, "2026-10-25T23:30:00Z", "support", CL_OUTCOME_ANSWERED, 1, 1, 0, 0, 0, NULL);        /* the 26th */
	add(r, "2026-10-24T21:59:59.999Z", "support", CL_OUTCOME_ANSWERED, 1, 1, 0, 0, 0, NULL);    /* before from */
	add(r, "2026-10-25T14:00:00Z", NULL, CL_OUTCOME_ANSWERED, 0, 1, 0, 0, 0, NULL);
	add(r, "2026-10-25T14:00:00Z", "sales", CL_OUTCOME_ANSWERED, 1, 3, 0, 0, 0, NULL);
	add(r, "2026-10-25T15:00:00Z", "sales", CL_OUTCOME_ANSWERED, 2, 4, 0, 0, 0, NULL);
	struct cl_report_call out = {
	    .offered_at = ms("2026-10-25T15:00:00Z"), .inbound = 0, .queue = "support", .outcome = CL_OUTCOME_ANSWERED};
	CHECK(cl_report_add_call(r, &out) == 0); /* outbound: not a queue's */

	rep = cl_report_json(r);
	CHECK_STR(json_string_value(json_object_get(rep, "from")), "2026-10-25T00:00:00+02:00");
	CHECK_STR(json_string_value(json_object_get(rep, "until")), "2026-10-27T00:00:00+01:00");
	CHECK_STR(json_string_value(json_object_get(rep, "interval")), "day");
	CHECK_INT(json_array_size(json_object_get(rep, "rows")), 4); /* support x2, sales, null */
	row = find(rep, "rows", "queue", "support", "2026-10-25T00:00:00+02:00");
	CHECK(row != NULL);
	if (row != NULL) {
		CHECK_INT(num(row, "offered"), 6);
		CHECK_INT(num(row, "answered"), 3);
		CHECK_INT(num(row, "abandoned"), 1);
		CHECK_INT(num(row, "short_abandoned"), 1);
		CHECK_INT(num(row, "unanswered"), 1);
		CHECK_INT(num(row, "active"), 1);
		CHECK_INT(num(row, "answered_within_sla"), 2);
		CHECK(ratio(row, "service_level") == 2.0 / 4.0);
		CHECK(ratio(row, "abandon_rate") == 1.0 / 5.0);
		CHECK_INT(num(row, "asa_ms"), 18333);
		CHECK_INT(num(row, "avg_abandon_ms"), 5000);
		CHECK_INT(num(row, "max_wait_ms"), 40000);
		CHECK_INT(num(row, "avg_talk_ms"), 30334); /* 91001 / 3 */
		CHECK_INT(num(row, "avg_hold_ms"), 1667);
		CHECK_INT(num(row, "avg_wrap_ms"), 1000);
		CHECK_INT(num(row, "avg_handle_ms"), 33000); /* 99001 / 3 */
		CHECK_INT(num(row, "transferred"), 1);
	}
	row = find(rep, "rows", "queue", "support", "2026-10-26T00:00:00+01:00");
	CHECK(row != NULL && num(row, "offered") == 1 && num(row, "answered") == 1);
	row = find(rep, "rows", "queue", "sales", NULL);
	CHECK(row != NULL && num(row, "asa_ms") == 2 && num(row, "avg_talk_ms") == 4); /* 1.5 and 3.5 round up */
	row = find(rep, "rows", "queue", "", NULL);
	CHECK(row != NULL && json_is_null(json_object_get(row, "queue")) && num(row, "answered") == 1);
	/* Totals from the summed counts. */
	row = find(rep, "totals", "queue", "support", NULL);
	CHECK(row != NULL && json_object_get(row, "start") == NULL);
	if (row != NULL) {
		CHECK_INT(num(row, "offered"), 7);
		CHECK_INT(num(row, "answered"), 4);
		CHECK(ratio(row, "service_level") == 3.0 / 5.0);
		CHECK_INT(num(row, "asa_ms"), 13750);      /* 55001 / 4 = 13750.25 */
		CHECK_INT(num(row, "avg_talk_ms"), 22751); /* 91002 / 4 = 22750.5 */
	}
	json_decref(rep);

	/* A row of nothing but active calls has null means and ratios. */
	cl_report_free(r);
	r = report(CL_REPORT_QUEUES, ams, CL_INTERVAL_TOTAL, "2026-10-25", "2026-10-26");
	add(r, "2026-10-25T13:00:00Z", "support", CL_OUTCOME_ACTIVE, 99000, 0, 0, 0, 0, NULL);
	rep = cl_report_json(r);
	row = find(rep, "rows", "queue", "support", "2026-10-25T00:00:00+02:00");
	CHECK(row != NULL && json_is_null(json_object_get(row, "service_level")) &&
	      json_is_null(json_object_get(row, "asa_ms")) && json_is_null(json_object_get(row, "max_wait_ms")));
	json_decref(rep);
	cl_report_free(r);
}

static void
test_dst_hours(const struct cl_tz *ams)
{
	struct cl_report *r = report(CL_REPORT_QUEUES, ams, CL_INTERVAL_HOUR, "2026-10-25", "2026-10-26");
	json_t *rep;

	if (r == NULL)
		return;
	/* 02:30 local twice: in CEST, then again in CET. */
	add(r, "2026-10-25T00:30:00Z", "q", CL_OUTCOME_ANSWERED, 1, 1, 0, 0, 0, NULL);
	add(r, "2026-10-25T01:30:00Z", "q", CL_OUTCOME_ANSWERED, 1, 1, 0, 0, 0, NULL);
	add(r, "2026-10-25T01:40:00Z", "q", CL_OUTCOME_ANSWERED, 1, 1, 0, 0, 0, NULL);
	add(r, "2026-10-25T22:59:00Z", "q", CL_OUTCOME_ANSWERED, 1, 1, 0, 0, 0, NULL); /* 23:59 CET */
	rep = cl_report_json(r);
	CHECK_INT(json_array_size(json_object_get(rep, "rows")), 3);
	CHECK(num(find(rep, "rows", "queue", "q", "2026-10-25T02:00:00+02:00"), "offered") == 1);
	CHECK(num(find(rep, "rows", "queue", "q", "2026-10-25T02:00:00+01:00"), "offered") == 2);
	CHECK(num(find(rep, "rows", "queue", "q", "2026-10-25T23:00:00+01:00"), "offered") == 1);
	json_decref(rep);
	cl_report_free(r);

	/* The 23-hour day: 02:00 never happens; 01:30 CET and 03:30 CEST are one hour apart. */
	r = report(CL_REPORT_QUEUES, ams, CL_INTERVAL_HOUR, "2026-03-29", "2026-03-30");
	add(r, "2026-03-29T00:30:00Z", "q", CL_OUTCOME_ANSWERED, 1, 1, 0, 0, 0, NULL);
	add(r, "2026-03-29T01:30:00Z", "q", CL_OUTCOME_ANSWERED, 1, 1, 0, 0, 0, NULL);
	add(r, "2026-03-29T22:30:00Z", "q", CL_OUTCOME_ANSWERED, 1, 1, 0, 0, 0, NULL); /* the 30th */
	rep = cl_report_json(r);
	CHECK_INT(json_array_size(json_object_get(rep, "rows")), 2);
	CHECK(find(rep, "rows", "queue", "q", "2026-03-29T01:00:00+01:00") != NULL);
	CHECK(find(rep, "rows", "queue", "q", "2026-03-29T03:00:00+02:00") != NULL);
	json_decref(rep);
	cl_report_free(r);

	/* Daily on the 23-hour day: 00:30 CET on the 29th is in, 00:30 CEST on the 30th out. */
	r = report(CL_REPORT_QUEUES, ams, CL_INTERVAL_DAY, "2026-03-29", "2026-03-30");
	add(r, "2026-03-28T23:30:00Z", "q", CL_OUTCOME_ANSWERED, 1, 1, 0, 0, 0, NULL);
	add(r, "2026-03-29T21:59:00Z", "q", CL_OUTCOME_ANSWERED, 1, 1, 0, 0, 0, NULL);
	add(r, "2026-03-29T22:00:00Z", "q", CL_OUTCOME_ANSWERED, 1, 1, 0, 0, 0, NULL);
	rep = cl_report_json(r);
	CHECK(num(find(rep, "rows", "queue", "q", "2026-03-29T00:00:00+01:00"), "offered") == 2);
	CHECK_INT(json_array_size(json_object_get(rep, "rows")), 1);
	json_decref(rep);
	cl_report_free(r);
}

static void
span(struct cl_report *r, const char *agent, const char *state, const char *reason, const char *a, const char *b)
{
	struct cl_report_span s = {.agent = agent, .state = state, .reason = reason, .start = ms(a), .end = ms(b)};
	CHECK(cl_report_add_span(r, &s) == 0);
}

static void
test_agents(void)
{
	struct cl_tz *utc = zone("UTC");
	struct cl_report *r;
	json_t *rep, *row;

	if (utc == NULL)
		return;
	r = report(CL_REPORT_AGENTS, utc, CL_INTERVAL_HOUR, "2026-11-02T08:00:00Z", "2026-11-02T10:00:00Z");
	span(r, "a1", "logged_in", NULL, "2026-11-02T07:30:00Z", "2026-11-02T08:10:00Z"); /* cut at from */
	span(r, "a1", "ready", NULL, "2026-11-02T08:10:00Z", "2026-11-02T08:50:00Z");
	span(r, "a1", "not_ready", "lunch", "2026-11-02T08:50:00Z", "2026-11-02T09:20:00Z");
	span(r, "a1", "ready", NULL, "2026-11-02T09:20:00Z", "2026-11-02T09:30:00Z");
	span(r, "a1", "logged_out", NULL, "2026-11-02T09:30:00Z", "2026-11-02T11:00:00Z");
	span(r, "a2", "not_ready", "brief,ing", "2026-11-02T09:45:00Z", "2026-11-02T12:00:00Z"); /* cut at until */
	struct cl_report_leg l1 = {.offered_at = ms("2026-11-02T08:15:00Z"),
	                           .queue = "support",
	                           .agent = "a1",
	                           .rang = 1,
	                           .answered = 1,
	                           .talk_ms = 120000,
	                           .hold_ms = 10000};
	struct cl_report_leg l2 = {
	    .offered_at = ms("2026-11-02T09:05:00Z"), .queue = "support", .agent = "a1", .rang = 1};
	CHECK(cl_report_add_leg(r, &l1) == 0 && cl_report_add_leg(r, &l2) == 0);
	struct cl_report_call c = {.offered_at = ms("2026-11-02T08:15:00Z"),
	                           .inbound = 1,
	                           .queue = "support",
	                           .outcome = CL_OUTCOME_ANSWERED,
	                           .wrap_ms = 30000,
	                           .disp_code = "sale",
	                           .disp_agent = "a1"};
	CHECK(cl_report_add_call(r, &c) == 0);

	rep = cl_report_json(r);
	CHECK_INT(json_array_size(json_object_get(rep, "rows")), 3);
	row = find(rep, "rows", "agent", "a1", "2026-11-02T08:00:00+00:00");
	CHECK(row != NULL);
	if (row != NULL) {
		CHECK_INT(num(row, "rang"), 1);
		CHECK_INT(num(row, "answered"), 1);
		CHECK_INT(num(row, "missed"), 0);
		CHECK_INT(num(row, "talk_ms"), 120000);
		CHECK_INT(num(row, "hold_ms"), 10000);
		CHECK_INT(num(row, "wrap_ms"), 30000);
		CHECK_INT(num(row, "handle_ms"), 160000);
		CHECK_INT(num(row, "logged_in_ms"), 3600000);
		CHECK_INT(num(row, "ready_ms"), 2400000);
		CHECK_INT(num(row, "not_ready_ms"), 600000);
		CHECK_INT(num(json_object_get(row, "not_ready_reasons"), "lunch"), 600000);
		CHECK(ratio(row, "occupancy") == 160000.0 / 2560000.0);
	}
	row = find(rep, "rows", "agent", "a1", "2026-11-02T09:00:00+00:00");
	CHECK(row != NULL && num(row, "missed") == 1 && num(row, "logged_in_ms") == 1800000 &&
	      num(row, "ready_ms") == 600000 && num(row, "not_ready_ms") == 1200000 && ratio(row, "occupancy") == 0.0);
	row = find(rep, "totals", "agent", "a1", NULL);
	CHECK(row != NULL && num(row, "logged_in_ms") == 5400000 && num(row, "ready_ms") == 3000000 &&
	      num(json_object_get(row, "not_ready_reasons"), "lunch") == 1800000 &&
	      ratio(row, "occupancy") == 160000.0 / 3160000.0);
	row = find(rep, "totals", "agent", "a2", NULL);
	CHECK(row != NULL && num(row, "logged_in_ms") == 900000 && json_is_null(json_object_get(row, "occupancy")));
	json_decref(rep);

	/* CSV: a column per reason seen, quoted when it needs to be, nulls empty. */
	size_t len = 0;
	char *csv = cl_report_csv(r, 0, &len);
	CHECK(csv != NULL && strlen(csv) == len);
	if (csv != NULL) {
		static const char head[] =
		    "start,agent,rang,answered,missed,talk_ms,hold_ms,wrap_ms,handle_ms,logged_in_ms,ready_ms,"
		    "not_ready_ms,occupancy,not_ready_reasons.lunch,\"not_ready_reasons.brief,ing\"\r\n";
		CHECK(strncmp(csv, head, sizeof(head) - 1) == 0);
		CHECK(strstr(csv, "\r\n2026-11-02T09:00:00+00:00,a2,0,0,0,0,0,0,0,900000,0,900000,,0,900000\r\n") !=
		      NULL);
		CHECK(strstr(csv, "\r\n2026-11-02T08:00:00+00:00,a1,1,1,0,120000,10000,30000,160000,3600000,2400000,"
		                  "600000,0.0625,600000,0\r\n") != NULL);
	}
	free(csv);
	cl_report_free(r);
	cl_tz_free(utc);
}

static void
test_dispositions(const struct cl_tz *ams)
{
	struct cl_report *r = report(CL_REPORT_DISPOSITIONS, ams, CL_INTERVAL_DAY, "2026-11-02", "2026-11-03");
	json_t *rep, *row;

	add(r, "2026-11-02T08:00:00Z", "s,q", CL_OUTCOME_ANSWERED, 1, 1, 0, 0, 0, "sale");
	add(r, "2026-11-02T08:00:00Z", "s,q", CL_OUTCOME_ANSWERED, 1, 1, 0, 0, 0, "sale");
	add(r, "2026-11-02T08:00:00Z", "s,q", CL_OUTCOME_ANSWERED, 1, 1, 0, 0, 0, "callback");
	add(r, "2026-11-02T08:00:00Z", "s,q", CL_OUTCOME_ABANDONED, 1, 0, 0, 0, 0, "sale"); /* short: not counted */
	rep = cl_report_json(r);
	CHECK_INT(json_array_size(json_object_get(rep, "rows")), 2);
	row = find(rep, "rows", "queue", "s,q", NULL);
	CHECK(row != NULL && strcmp(json_string_value(json_object_get(row, "code")), "callback") == 0 &&
	      num(row, "count") == 1 && ratio(row, "share") == 1.0 / 3.0);
	json_decref(rep);
	size_t len;
	char *csv = cl_report_csv(r, 0, &len);
	CHECK(csv != NULL && strcmp(csv, "start,queue,code,count,share\r\n"
	                                 "2026-11-02T00:00:00+01:00,\"s,q\",callback,1,0.3333333333333333\r\n"
	                                 "2026-11-02T00:00:00+01:00,\"s,q\",sale,2,0.6666666666666666\r\n") == 0);
	free(csv);
	cl_report_free(r);
}

static void
test_params(const struct cl_tz *ams)
{
	char err[CL_ERR_LEN];
	int64_t t;
	struct cl_report_params p = {.kind = CL_REPORT_QUEUES, .tz = ams, .interval = CL_INTERVAL_HOUR};

	CHECK(cl_report_parse_time(ams, "2026-03-29", &t) == 0 && t == ms("2026-03-28T23:00:00Z"));
	CHECK(cl_report_parse_time(ams, "2026-10-25T02:30:00 01:00", &t) == 0 && t == ms("2026-10-25T01:30:00Z"));
	CHECK(cl_report_parse_time(ams, "2026-02-30", &t) < 0);
	CHECK(cl_report_parse_time(ams, "yesterday", &t) < 0);
	CHECK(cl_report_parse_time(ams, "2026-1-01", &t) < 0);
	p.from_ms = ms("2026-01-01T00:00:00Z");
	p.until_ms = p.from_ms;
	CHECK(cl_report_new(&p, err) == NULL && strncmp(err, "until:", 6) == 0);
	p.until_ms = ms("2030-01-01T00:00:00Z");
	CHECK(cl_report_new(&p, err) == NULL && strncmp(err, "interval:", 9) == 0);
	p.interval = CL_INTERVAL_DAY;
	struct cl_report *r = cl_report_new(&p, err);
	CHECK(r != NULL);
	cl_report_free(r);
}

/* Events of one call, as the store hands them back. */
static struct cl_event evs[16];
static int nevs;

static void
ev(enum cl_event_type type, int64_t ts, const char *agent, const char *to_agent)
{
	struct cl_event *e = &evs[nevs];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->ts = ts;
	e->seq = nevs + 1;
	e->agent = agent;
	e->to_agent = to_agent;
	nevs++;
}

static void
test_facts(void)
{
	const struct cl_event *v[16];
	struct cl_call_facts f;

	nevs = 0;
	/* Out of order on purpose: the facts sort by time. */
	ev(CL_EV_ENDED, 800000, NULL, NULL);
	ev(CL_EV_OFFERED, 0, NULL, NULL);
	ev(CL_EV_RINGING, 1000, "a1", NULL);
	ev(CL_EV_RINGING, 1000, "a3", NULL);
	ev(CL_EV_ANSWERED, 2000, "a1", NULL);
	ev(CL_EV_HELD, 30000, NULL, NULL);
	ev(CL_EV_RESUMED, 40000, "a1", NULL);
	ev(CL_EV_TRANSFERRED, 100000, "a1", "a2");
	ev(CL_EV_DISPOSITION, 100500, "a1", NULL); /* before the end: no wrap */
	ev(CL_EV_ANSWERED, 110000, "a2", NULL);
	ev(CL_EV_HELD, 700000, "a2", NULL); /* held to the end */
	ev(CL_EV_DISPOSITION, 845000, "a2", NULL);
	ev(CL_EV_DISPOSITION, 900000, "a2", NULL);
	for (int i = 0; i < nevs; i++)
		v[i] = &evs[i];
	CHECK(cl_call_facts(v, (size_t)nevs, &f) == 0);
	CHECK_INT(f.transferred, 1);
	CHECK_INT(f.ended_at, 800000);
	CHECK_INT(f.wrap_ms, 45000);
	CHECK_INT(f.n_legs, 3);
	CHECK_STR(f.legs[0].agent, "a1");
	CHECK(f.legs[0].rang && f.legs[0].answered);
	CHECK_INT(f.legs[0].talk_ms, 28000 + 60000);
	CHECK_INT(f.legs[0].hold_ms, 10000);
	CHECK_STR(f.legs[1].agent, "a3");
	CHECK(f.legs[1].rang && !f.legs[1].answered && f.legs[1].talk_ms == 0);
	CHECK_STR(f.legs[2].agent, "a2");
	CHECK(f.legs[2].rang && f.legs[2].answered);
	CHECK_INT(f.legs[2].talk_ms, 590000);
	CHECK_INT(f.legs[2].hold_ms, 100000);

	/* Not ended: the running part is not counted yet, and there is no wrap. */
	CHECK(cl_call_facts(v + 1, 8, &f) == 0);
	CHECK(f.ended_at == 0 && f.wrap_ms == 0 && f.transferred == 1);
	CHECK_INT(f.legs[0].talk_ms, 88000);
	CHECK_INT(f.n_legs, 3);
	CHECK_INT(f.legs[2].talk_ms, 0);
}

int
main(void)
{
	struct cl_tz *ams = zone("Europe/Amsterdam");

	CHECK(ams != NULL);
	if (ams != NULL) {
		test_queues_day(ams);
		test_dst_hours(ams);
		test_dispositions(ams);
		test_params(ams);
	}
	test_agents();
	test_facts();
	cl_tz_free(ams);
	TEST_DONE();
}
