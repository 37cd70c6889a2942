/* views.c : owns the JSON of stored records for the API and callogctl: the
 * call list, a call with its events, agents and queue figures. */
#include <stdio.h>
#include <string.h>

#include "callogd/util.h"
#include "callogd/views.h"

static json_t *
oom(char *err)
{
	snprintf(err, CL_ERR_LEN, "out of memory");
	return NULL;
}

struct calls_arg {
	json_t *arr;
	int64_t now_ms;
};

static int
add_call(void *arg, const struct cl_call *c)
{
	struct calls_arg *a = arg;
	json_t *j = cl_call_to_json(c, a->now_ms);

	return j == NULL || json_array_append_new(a->arr, j) < 0 ? -1 : 0;
}

json_t *
cl_view_calls(struct cl_store *st, const struct cl_call_filter *f, int64_t now_ms, char *err)
{
	struct calls_arg a = {json_array(), now_ms};
	json_t *out;
	int rc;

	if (a.arr == NULL)
		return oom(err);
	rc = cl_store_list_calls(st, f, add_call, &a, err);
	if (rc != 0) {
		json_decref(a.arr);
		return rc < 0 ? NULL : oom(err);
	}
	/* A full page has a cursor to the next: the last row's call_id, for ?before=. */
	json_t *last = json_array_size(a.arr) == (size_t)f->limit ? json_array_get(a.arr, f->limit - 1) : NULL;
	if ((out = json_pack("{s:o, s:O}", "calls", a.arr, "next",
	                     last ? json_object_get(last, "call_id") : json_null())) == NULL)
		return oom(err);
	return out;
}

/* An event as stored, with seq, ts and received_at as the log has them. */
static int
add_event(void *arg, const struct cl_stored_event *e)
{
	char t1[CL_TIME_LEN], t2[CL_TIME_LEN];
	json_t *ev = json_loadb(e->body, e->len, 0, NULL);

	/* Stored lines were valid JSON objects when they came in; anything else shows as {}. */
	if (ev == NULL || !json_is_object(ev)) {
		json_decref(ev);
		if ((ev = json_object()) == NULL)
			return -1;
	}
	cl_time_format(e->ts, t1);
	cl_time_format(e->received_at, t2);
	if (json_object_set_new(ev, "seq", json_integer(e->seq)) < 0 ||
	    json_object_set_new(ev, "ts", json_string(t1)) < 0 ||
	    json_object_set_new(ev, "received_at", json_string(t2)) < 0 || json_array_append_new(arg, ev) < 0) {
		json_decref(ev);
		return -1;
	}
	return 0;
}

json_t *
cl_view_call(struct cl_store *st, const char *call_id, int64_t now_ms, char *err)
{
	struct cl_call c;
	json_t *call = NULL, *events = NULL;
	int rc;

	err[0] = '\0';
	if (cl_store_begin_read(st, err) < 0)
		return NULL;
	rc = cl_store_get_call(st, call_id, &c, err);
	if (rc <= 0)
		goto fail;
	call = cl_call_to_json(&c, now_ms);
	cl_call_clear(&c);
	if (call == NULL || (events = json_array()) == NULL) {
		oom(err);
		goto fail;
	}
	rc = cl_store_call_events(st, call_id, add_event, events, err);
	if (rc != 0) {
		if (rc > 0)
			oom(err);
		goto fail;
	}
	cl_store_end_read(st);
	if (json_object_set_new(call, "events", events) < 0) {
		json_decref(call);
		return oom(err);
	}
	return call;
fail:
	cl_store_end_read(st);
	json_decref(events);
	json_decref(call);
	return NULL;
}

static int
add_agent(void *arg, const struct cl_agent_row *a)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", a->id, "name", a->name, "state", a->state, "reason",
	                      a->reason[0] ? json_string(a->reason) : json_null(), "since", cl_json_time(a->since));

	return j == NULL || json_array_append_new(arg, j) < 0 ? -1 : 0;
}

json_t *
cl_view_agents(struct cl_store *st, char *err)
{
	json_t *arr = json_array(), *out;
	int rc;

	if (arr == NULL)
		return oom(err);
	if ((rc = cl_store_agents(st, add_agent, arr, err)) != 0) {
		json_decref(arr);
		return rc < 0 ? NULL : oom(err);
	}
	if ((out = json_pack("{s:o}", "agents", arr)) == NULL)
		return oom(err);
	return out;
}

static int
add_queue(void *arg, const struct cl_queue_stats *q)
{
	json_t *row = json_pack(
	    "{s:o, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:o}", "queue", q->queue[0] ? json_string(q->queue) : json_null(),
	    "offered", (json_int_t)q->offered, "waiting", (json_int_t)q->waiting, "longest_wait_ms",
	    (json_int_t)q->longest_wait_ms, "answered", (json_int_t)q->answered, "abandoned", (json_int_t)q->abandoned,
	    "average_wait_ms", q->has_average ? json_integer((json_int_t)q->average_wait_ms) : json_null(),
	    "answered_within_sla", (json_int_t)q->answered_within_sla, "service_level",
	    q->answered + q->abandoned > 0
	        ? json_real((double)q->answered_within_sla / (double)(q->answered + q->abandoned))
	        : json_null());

	return row == NULL || json_array_append_new(arg, row) < 0 ? -1 : 0;
}

json_t *
cl_view_queue_stats(struct cl_store *st, const char *queue, int64_t from_ms, int64_t now_ms, int64_t sla_ms, char *err)
{
	json_t *arr = json_array();
	int rc;

	if (arr == NULL)
		return oom(err);
	if ((rc = cl_store_queue_stats(st, queue, from_ms, now_ms, sla_ms, add_queue, arr, err)) != 0) {
		json_decref(arr);
		return rc < 0 ? NULL : oom(err);
	}
	return arr;
}
