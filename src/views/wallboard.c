/* wallboard.c : owns the supervisor's snapshot (GET /api/wallboard, docs/reports.md):
 * today's figures per queue and per hour from the report core, calls waiting
 * now, and each agent's state, read in one snapshot. */
#include <stdio.h>
#include <string.h>

#include "callogd/report.h"
#include "callogd/reports.h"
#include "callogd/util.h"
#include "callogd/wallboard.h"

/* Today's queue rows (interval total or hour), as the reports compute them. */
static json_t *
today(struct cl_store *st, const struct cl_tz *tz, enum cl_interval iv, int64_t from, int64_t until,
      const struct cl_wallboard_params *w, char *err)
{
	struct cl_report_params p = {.kind = CL_REPORT_QUEUES,
	                             .tz = tz,
	                             .interval = iv,
	                             .from_ms = from,
	                             .until_ms = until,
	                             .sla_ms = w->sla_ms,
	                             .short_abandon_ms = w->short_ms};
	struct cl_report *r = cl_report_new(&p, err);
	json_t *j = NULL;

	if (r != NULL && cl_reports_run(st, r, w->now_ms, err) == 0 && (j = cl_report_json(r)) == NULL)
		snprintf(err, CL_ERR_LEN, "out of memory");
	cl_report_free(r);
	return j;
}

static int
add_waiting(void *arg, const struct cl_queue_stats *q)
{
	json_t *waiting = arg, *o = json_pack("{s:I, s:I}", "waiting", (json_int_t)q->waiting, "longest_wait_ms",
	                                      (json_int_t)(q->waiting > 0 ? q->longest_wait_ms : 0));

	return o == NULL || json_object_set_new(waiting, q->queue, o) < 0 ? 1 : 0;
}

struct agents_arg {
	json_t *arr;
	json_t *calls; /* agent -> its current call */
	int64_t now_ms;
};

/* The latest call answered by each agent that is still going on. */
static int
add_connected(void *arg, const struct cl_connected_row *c)
{
	struct agents_arg *g = arg;
	char since[CL_TIME_LEN];
	json_t *o;

	cl_time_format(c->since, since);
	o = json_pack("{s:s, s:s, s:s, s:I}", "call_id", c->call_id, "queue", c->queue, "since", since, "duration_ms",
	              (json_int_t)(g->now_ms > c->since ? g->now_ms - c->since : 0));
	return o == NULL || json_object_set_new(g->calls, c->agent, o) < 0 ? 1 : 0;
}

static int
add_agent(void *arg, const struct cl_agent_row *a)
{
	struct agents_arg *g = arg;
	char since[CL_TIME_LEN];
	json_t *o;

	cl_time_format(a->since, since);
	json_t *call = json_object_get(g->calls, a->id);

	o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:O}", "id", a->id, "name", a->name, "state", a->state, "reason",
	              a->reason[0] ? json_string(a->reason) : json_null(), "since",
	              a->since ? json_string(since) : json_null(), "in_state_ms",
	              (json_int_t)(a->since && g->now_ms > a->since ? g->now_ms - a->since : 0), "call",
	              call ? call : json_null());
	return o == NULL || json_array_append_new(g->arr, o) < 0 ? 1 : 0;
}

/* Per hour, every queue summed: offered, answered and the service level. */
static json_t *
hours_of(json_t *hourly)
{
	json_t *out = json_array(), *row, *h = NULL;
	const char *last = "";
	int64_t within = 0, answered = 0, abandoned = 0;
	size_t i;

	if (out == NULL)
		return NULL;
	json_array_foreach (json_object_get(hourly, "rows"), i, row) {
		const char *start = json_string_value(json_object_get(row, "start"));
		if (h == NULL || strcmp(start, last) != 0) {
			if ((h = json_pack("{s:s, s:I, s:I, s:n}", "start", start, "offered", (json_int_t)0, "answered",
			                   (json_int_t)0, "service_level")) == NULL ||
			    json_array_append_new(out, h) < 0)
				goto fail;
			last = start;
			within = answered = abandoned = 0;
		}
		within += json_integer_value(json_object_get(row, "answered_within_sla"));
		answered += json_integer_value(json_object_get(row, "answered"));
		abandoned += json_integer_value(json_object_get(row, "abandoned"));
		if (json_object_set_new(h, "offered",
		                        json_integer(json_integer_value(json_object_get(h, "offered")) +
		                                     json_integer_value(json_object_get(row, "offered")))) < 0 ||
		    json_object_set_new(h, "answered", json_integer((json_int_t)answered)) < 0 ||
		    json_object_set_new(h, "service_level",
		                        answered + abandoned > 0
		                            ? json_real((double)within / (double)(answered + abandoned))
		                            : json_null()) < 0)
			goto fail;
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

json_t *
cl_view_wallboard(struct cl_store *st, const struct cl_wallboard_params *w, char *err)
{
	int64_t from = cl_tz_floor(w->tz, CL_INTERVAL_DAY, w->now_ms / 1000) * 1000;
	int64_t until = cl_tz_next(w->tz, CL_INTERVAL_DAY, from / 1000) * 1000;
	json_t *total = NULL, *hourly = NULL, *waiting = json_object(), *out = NULL, *queues = json_array(), *row;
	struct agents_arg agents = {json_array(), json_object(), w->now_ms};
	char date[48], now[48];
	size_t i;
	int rc;

	if (waiting == NULL || queues == NULL || agents.arr == NULL || agents.calls == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		goto out;
	}
	if (cl_store_begin_read(st, err) < 0)
		goto out;
	total = today(st, w->tz, CL_INTERVAL_TOTAL, from, until, w, err);
	hourly = total ? today(st, w->tz, CL_INTERVAL_HOUR, from, until, w, err) : NULL;
	rc = hourly ? cl_store_queue_stats(st, NULL, from, w->now_ms, w->sla_ms, add_waiting, waiting, err) : -1;
	/* A call connected for more than a day is not shown as anyone's current call. */
	if (rc == 0)
		rc = cl_store_connected(st, w->now_ms - 86400000, add_connected, &agents, err);
	if (rc == 0)
		rc = cl_store_agents(st, add_agent, &agents, err);
	cl_store_end_read(st);
	if (rc != 0) {
		if (rc > 0)
			snprintf(err, CL_ERR_LEN, "out of memory");
		goto out;
	}
	/* A tile per queue: today's figures, and the calls waiting now. */
	json_array_foreach (json_object_get(total, "rows"), i, row) {
		json_t *q = json_object_get(row, "queue");
		json_t *wq = json_object_get(waiting, json_is_string(q) ? json_string_value(q) : "");
		json_t *tile = json_pack(
		    "{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:I, s:I}", "queue", q, "offered",
		    json_object_get(row, "offered"), "answered", json_object_get(row, "answered"), "abandoned",
		    json_object_get(row, "abandoned"), "short_abandoned", json_object_get(row, "short_abandoned"),
		    "service_level", json_object_get(row, "service_level"), "asa_ms", json_object_get(row, "asa_ms"),
		    "waiting", wq ? json_integer_value(json_object_get(wq, "waiting")) : 0, "longest_wait_ms",
		    wq ? json_integer_value(json_object_get(wq, "longest_wait_ms")) : 0);
		if (tile == NULL || json_array_append_new(queues, tile) < 0) {
			snprintf(err, CL_ERR_LEN, "out of memory");
			goto out;
		}
	}
	cl_tz_format(w->tz, from, 0, date, sizeof(date));
	date[10] = '\0';
	cl_tz_format(w->tz, w->now_ms, 1, now, sizeof(now));
	out = json_pack("{s:s, s:s, s:s, s:I, s:O, s:O, s:o}", "date", date, "now", now, "tz", cl_tz_name(w->tz),
	                "sla_seconds", (json_int_t)(w->sla_ms / 1000), "queues", queues, "agents", agents.arr, "hours",
	                hours_of(hourly));
	if (out == NULL)
		snprintf(err, CL_ERR_LEN, "out of memory");
out:
	json_decref(total);
	json_decref(hourly);
	json_decref(waiting);
	json_decref(queues);
	json_decref(agents.arr);
	json_decref(agents.calls);
	return out;
}
