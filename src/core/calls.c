/* calls.c : owns the call state machine: call events in, the docs/http-api.md call record out (pure). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "callogd/calls.h"
#include "callogd/util.h"

static const char *const outcome_names[] = {
    [CL_OUTCOME_ACTIVE] = "active",
    [CL_OUTCOME_ANSWERED] = "answered",
    [CL_OUTCOME_ABANDONED] = "abandoned",
    [CL_OUTCOME_UNANSWERED] = "unanswered",
};

/*
 * Copies src into dst (cap bytes). Input is bounded by the parser, but a cut
 * must still never split a UTF-8 sequence: the record goes out as JSON.
 */
static void
set_str(char *dst, size_t cap, const char *src)
{
	cl_utf8_copy(dst, cap, src);
}

#define SET(field, src) set_str((field), sizeof(field), (src))

static int64_t
max0(int64_t v)
{
	return v > 0 ? v : 0;
}

void
cl_call_init(struct cl_call *c, const char *call_id)
{
	memset(c, 0, sizeof(*c));
	SET(c->call_id, call_id != NULL ? call_id : "");
}

void
cl_call_clear(struct cl_call *c)
{
	free(c->disp_notes);
	free(c->data);
	memset(c, 0, sizeof(*c));
}

int
cl_call_copy(struct cl_call *dst, const struct cl_call *src)
{
	if (dst == src)
		return 0;
	*dst = *src;
	dst->disp_notes = NULL;
	dst->data = NULL;
	if (src->disp_notes != NULL && (dst->disp_notes = strdup(src->disp_notes)) == NULL)
		goto fail;
	if (src->data != NULL && (dst->data = strdup(src->data)) == NULL)
		goto fail;
	return 0;
fail:
	cl_call_clear(dst);
	return -1;
}

/* The customer side is the number we look up: only a real number, never "anonymous". */
static void
set_number(struct cl_call *c, const char *party, int kind)
{
	SET(c->number, party != NULL && kind == CL_NUMBER_OK ? party : "");
}

static int
apply_offered(struct cl_call *c, const struct cl_event *ev)
{
	/*
	 * The first offer applied describes the call; a repeat only fills what is
	 * still unknown. A queue named by a call.queued that came first is newer
	 * than the offer's, so it is kept.
	 */
	if (!c->has_offer) {
		c->direction = ev->direction;
		SET(c->from, ev->from != NULL ? ev->from : "");
		SET(c->to, ev->to != NULL ? ev->to : "");
		if (c->direction == CL_DIR_OUTBOUND)
			set_number(c, ev->to, ev->to_kind);
		else
			set_number(c, ev->from, ev->from_kind);
		c->has_offer = 1;
	} else {
		if (c->from[0] == '\0' && ev->from != NULL)
			SET(c->from, ev->from);
		if (c->to[0] == '\0' && ev->to != NULL)
			SET(c->to, ev->to);
	}
	if (c->queue[0] == '\0' && ev->queue != NULL)
		SET(c->queue, ev->queue);
	if (c->data == NULL && ev->data != NULL && (c->data = strdup(ev->data)) == NULL)
		return -1;
	return 0;
}

static int
has_agent(const struct cl_call *c, const char *agent)
{
	for (int i = 0; i < c->n_agents; i++)
		if (strcmp(c->agents[i], agent) == 0)
			return 1;
	return 0;
}

static void
apply_answered(struct cl_call *c, const struct cl_event *ev)
{
	int64_t first = c->answered_at;
	int older = first != 0 && ev->ts < first;

	if (first == 0 || older)
		c->answered_at = ev->ts;
	if (ev->agent == NULL)
		return;
	if (!has_agent(c, ev->agent)) {
		/* An answer older than the first one known came late: it goes first. */
		int at = older ? 0 : c->n_agents;

		if (c->n_agents == CL_CALL_MAX_AGENTS)
			at = older ? 0 : -1; /* full: keep the first who answered */
		if (at >= 0) {
			int n = c->n_agents < CL_CALL_MAX_AGENTS ? c->n_agents : CL_CALL_MAX_AGENTS - 1;
			memmove(c->agents[at + 1], c->agents[at], (size_t)(n - at) * sizeof(c->agents[0]));
			SET(c->agents[at], ev->agent);
			if (c->n_agents < CL_CALL_MAX_AGENTS)
				c->n_agents++;
		}
	}
	/* agent is whoever answered last by time, whatever order the answers arrive in. */
	if (ev->ts >= c->last_answered_at) {
		c->last_answered_at = ev->ts;
		SET(c->agent, ev->agent);
	}
}

static void
apply_held(struct cl_call *c, int64_t ts)
{
	/* A hold after the end of the call cannot have happened to it. */
	if (c->ended_at != 0 && ts >= c->ended_at)
		return;
	/* Held while held is a repeat: the earlier start stands. */
	if (c->hold_since == 0 || ts < c->hold_since)
		c->hold_since = ts;
}

static void
apply_resumed(struct cl_call *c, int64_t ts)
{
	/* No hold open: a repeat, or a resume that overtook its hold (lost, see the docs). */
	if (c->hold_since == 0)
		return;
	if (c->ended_at != 0 && ts > c->ended_at)
		ts = c->ended_at;
	c->hold_ms += max0(ts - c->hold_since);
	c->hold_since = 0;
}

static void
apply_ended(struct cl_call *c, const struct cl_event *ev)
{
	/* The first hang-up is when the call ended; a later report may still say why. */
	int earlier = c->ended_at == 0 || ev->ts < c->ended_at;

	if (earlier)
		c->ended_at = ev->ts;
	if (ev->reason != NULL && (earlier || c->end_reason[0] == '\0'))
		SET(c->end_reason, ev->reason);
	if (ev->by != NULL && (earlier || c->end_by[0] == '\0'))
		SET(c->end_by, ev->by);
}

static int
apply_disposition(struct cl_call *c, const struct cl_event *ev)
{
	char *notes = NULL;

	/* The latest wrap-up wins; at equal times the one applied last. */
	if (c->disp_code[0] != '\0' && ev->ts < c->disp_at)
		return 0;
	if (ev->notes != NULL && (notes = strdup(ev->notes)) == NULL)
		return -1;
	SET(c->disp_code, ev->code != NULL ? ev->code : "");
	SET(c->disp_agent, ev->agent != NULL ? ev->agent : "");
	c->disp_at = ev->ts;
	free(c->disp_notes);
	c->disp_notes = notes;
	return 0;
}

int
cl_call_apply(struct cl_call *c, const struct cl_event *ev)
{
	if (ev->type == CL_EV_AGENT_STATE || ev->call_id == NULL)
		return 0;
	if (c->call_id[0] == '\0')
		SET(c->call_id, ev->call_id);

	/*
	 * Whatever comes first stands in for the offer: the call is known to
	 * exist from the earliest time any event names, so wait never goes negative.
	 */
	if (c->offered_at == 0 || ev->ts < c->offered_at)
		c->offered_at = ev->ts;
	if (ev->seq > c->last_seq)
		c->last_seq = ev->seq;
	if (c->customer_id[0] == '\0' && ev->customer_id != NULL)
		SET(c->customer_id, ev->customer_id);

	switch (ev->type) {
	case CL_EV_OFFERED:
		return apply_offered(c, ev);
	case CL_EV_QUEUED:
		/* In arrival order: an overflow to another queue names the queue the call is in now. */
		if (ev->queue != NULL)
			SET(c->queue, ev->queue);
		return 0;
	case CL_EV_RINGING:
		return 0;
	case CL_EV_ANSWERED:
		apply_answered(c, ev);
		return 0;
	case CL_EV_HELD:
		apply_held(c, ev->ts);
		return 0;
	case CL_EV_RESUMED:
		apply_resumed(c, ev->ts);
		return 0;
	case CL_EV_TRANSFERRED:
		/* The target has not answered yet: its call.answered makes it the agent. */
		return 0;
	case CL_EV_ENDED:
		apply_ended(c, ev);
		return 0;
	case CL_EV_DISPOSITION:
		return apply_disposition(c, ev);
	case CL_EV_CUSTOMER:
		/* An agent's pick among the candidates (or a new customer) overrides the offer's match. */
		SET(c->customer_id, ev->customer_id);
		return 0;
	default:
		return 0;
	}
}

enum cl_outcome
cl_outcome_of(int64_t answered_at, int64_t ended_at, const char *end_reason, const char *end_by)
{
	if (ended_at == 0)
		return CL_OUTCOME_ACTIVE;
	if (answered_at != 0)
		return CL_OUTCOME_ANSWERED;
	if ((end_reason && strcmp(end_reason, "abandoned") == 0) || (end_by && strcmp(end_by, "caller") == 0))
		return CL_OUTCOME_ABANDONED;
	return CL_OUTCOME_UNANSWERED;
}

enum cl_outcome
cl_call_outcome(const struct cl_call *c)
{
	return cl_outcome_of(c->answered_at, c->ended_at, c->end_reason, c->end_by);
}

const char *
cl_outcome_name(enum cl_outcome o)
{
	return (unsigned)o < sizeof(outcome_names) / sizeof(outcome_names[0]) ? outcome_names[o] : "unknown";
}

int
cl_outcome_parse(const char *name, enum cl_outcome *o)
{
	for (size_t i = 0; i < sizeof(outcome_names) / sizeof(outcome_names[0]); i++)
		if (strcmp(name, outcome_names[i]) == 0) {
			*o = (enum cl_outcome)i;
			return 0;
		}
	return -1;
}

void
cl_call_durations(int64_t offered_at, int64_t answered_at, int64_t ended_at, int64_t hold_ms, int64_t hold_since,
                  int64_t now_ms, int64_t *wait, int64_t *talk, int64_t *hold)
{
	/* The end of the call, or now while it is still going on. */
	int64_t end = ended_at != 0 ? ended_at : now_ms;

	/* A hold still open runs to the end of the call (or to now). */
	*hold = hold_ms + (hold_since != 0 ? max0(end - hold_since) : 0);
	*wait = offered_at == 0 ? 0 : max0((answered_at != 0 ? answered_at : end) - offered_at);
	*talk = answered_at == 0 ? 0 : max0(end - answered_at - *hold);
}

int64_t
cl_call_wait_ms(const struct cl_call *c, int64_t now_ms)
{
	int64_t w, t, h;

	cl_call_durations(c->offered_at, c->answered_at, c->ended_at, c->hold_ms, c->hold_since, now_ms, &w, &t, &h);
	return w;
}

int64_t
cl_call_hold_total_ms(const struct cl_call *c, int64_t now_ms)
{
	int64_t w, t, h;

	cl_call_durations(c->offered_at, c->answered_at, c->ended_at, c->hold_ms, c->hold_since, now_ms, &w, &t, &h);
	return h;
}

int64_t
cl_call_talk_ms(const struct cl_call *c, int64_t now_ms)
{
	int64_t w, t, h;

	cl_call_durations(c->offered_at, c->answered_at, c->ended_at, c->hold_ms, c->hold_since, now_ms, &w, &t, &h);
	return t;
}

json_t *
cl_json_time(int64_t ms)
{
	char buf[CL_TIME_LEN];

	if (ms == 0)
		return json_null();
	cl_time_format(ms, buf);
	return json_string(buf);
}

/* A string, or JSON null when empty (unknown). */
static json_t *
str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

json_t *
cl_call_to_json(const struct cl_call *c, int64_t now_ms)
{
	json_t *o = NULL, *agents = NULL, *disp = NULL, *data = NULL;

	if ((agents = json_array()) == NULL)
		goto fail;
	for (int i = 0; i < c->n_agents; i++)
		if (json_array_append_new(agents, json_string(c->agents[i])) < 0)
			goto fail;
	if (c->disp_code[0] != '\0') {
		disp = json_pack("{s:o, s:o, s:o, s:o}", "code", json_string(c->disp_code), "notes",
		                 c->disp_notes != NULL ? json_string(c->disp_notes) : json_null(), "agent",
		                 str_or_null(c->disp_agent), "at", cl_json_time(c->disp_at));
		if (disp == NULL)
			goto fail;
	} else {
		disp = json_null();
	}
	/* Key order is the documented one (docs/http-api.md): jansson keeps insertion order. */
	o = json_pack("{s:o, s:s, s:o, s:o, s:o, s:o, s:O, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:s, s:o, s:O}",
	              "call_id", json_string(c->call_id), "direction",
	              c->direction == CL_DIR_OUTBOUND ? "outbound" : "inbound", "from", str_or_null(c->from), "to",
	              str_or_null(c->to), "queue", str_or_null(c->queue), "agent", str_or_null(c->agent), "agents",
	              agents, "customer_id", str_or_null(c->customer_id), "offered_at", cl_json_time(c->offered_at),
	              "answered_at", cl_json_time(c->answered_at), "ended_at", cl_json_time(c->ended_at), "wait_ms",
	              (json_int_t)cl_call_wait_ms(c, now_ms), "talk_ms", (json_int_t)cl_call_talk_ms(c, now_ms),
	              "hold_ms", (json_int_t)cl_call_hold_total_ms(c, now_ms), "wrap_ms", (json_int_t)c->wrap_ms,
	              "outcome", cl_outcome_name(cl_call_outcome(c)), "end_reason", str_or_null(c->end_reason),
	              "disposition", disp);
	if (o == NULL)
		goto fail;
	/* Attached data is stored as text; a record that cannot be read back just goes without it. */
	if (c->data != NULL && (data = json_loads(c->data, 0, NULL)) != NULL && json_is_object(data) &&
	    json_object_set(o, "data", data) < 0)
		goto fail;
	json_decref(data);
	json_decref(disp);
	json_decref(agents);
	return o;
fail:
	json_decref(o);
	json_decref(data);
	json_decref(disp);
	json_decref(agents);
	return NULL;
}
