/* event_ref.c : the jansson-based event parser event.c used before jsonscan.c, kept as the fuzz target's oracle. */
/*
 * Verbatim from event.c at 8ae8899 except: cl_event_parse() is ref_event_parse(),
 * and the functions event.c still provides (type and error names, clear) are gone.
 * fuzz_event.c checks that the new parser answers every line as this one does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "callogd/event.h"
#include "callogd/util.h"
#include "event_ref.h"

/* An unknown type is echoed in the message, but never more than this of it. */
#define TYPE_ECHO_MAX 64

static const char *const type_names[CL_EV__COUNT] = {
    [CL_EV_OFFERED] = "call.offered",   [CL_EV_QUEUED] = "call.queued",
    [CL_EV_RINGING] = "call.ringing",   [CL_EV_RING_ENDED] = "call.ring_ended",
    [CL_EV_ANSWERED] = "call.answered", [CL_EV_HELD] = "call.held",
    [CL_EV_RESUMED] = "call.resumed",   [CL_EV_TRANSFERRED] = "call.transferred",
    [CL_EV_ENDED] = "call.ended",       [CL_EV_DISPOSITION] = "call.disposition",
    [CL_EV_CUSTOMER] = "customer.set",  [CL_EV_AGENT_STATE] = "agent.state",
};

static const char *const end_reasons[] = {"completed", "abandoned", "busy", "no_answer", "failed", "lost", NULL};
static const char *const ring_reasons[] = {"no_answer", "rejected", "busy", NULL};
static const char *const end_bys[] = {"caller", "agent", "system", NULL};
static const char *const agent_states[] = {"logged_in", "ready", "not_ready", "logged_out", NULL};
static const char *const directions[] = {"inbound", "outbound", NULL}; /* index = enum cl_direction */

/* The per-type fields. Common fields (type, id, call_id, ts) are handled apart. */
enum field_kind {
	K_STRING,    /* kept as given */
	K_NUMBER,    /* a party: normalised when it is a phone number */
	K_ENUM,      /* one of values[] */
	K_DIRECTION, /* one of directions[], stored as an int */
	K_OBJECT,    /* kept as compact JSON text */
};

enum field_id {
	F_FROM,
	F_TO,
	F_QUEUE,
	F_DIRECTION,
	F_DATA,
	F_AGENT,
	F_TO_AGENT,
	F_END_REASON,
	F_BY,
	F_CODE,
	F_NOTES,
	F_STATE,
	F_STATE_REASON,
	F_RING_REASON,
	F_CUSTOMER_ID,
	F_CUSTOMER,
	F__COUNT
};

struct field {
	const char *name;
	enum field_kind kind;
	size_t off;                /* of the const char * in struct cl_event */
	size_t min, max;           /* bytes, for K_STRING and K_NUMBER */
	const char *const *values; /* K_ENUM */
};

#define EV_OFF(m) offsetof(struct cl_event, m)

static const struct field fields[F__COUNT] = {
    [F_FROM] = {"from", K_NUMBER, EV_OFF(from), 0, CL_PARTY_MAX, NULL},
    [F_TO] = {"to", K_NUMBER, EV_OFF(to), 0, CL_PARTY_MAX, NULL},
    [F_QUEUE] = {"queue", K_STRING, EV_OFF(queue), 1, CL_ID_MAX, NULL},
    [F_DIRECTION] = {"direction", K_DIRECTION, 0, 0, 0, directions},
    [F_DATA] = {"data", K_OBJECT, EV_OFF(data), 0, 0, NULL},
    [F_AGENT] = {"agent", K_STRING, EV_OFF(agent), 1, CL_ID_MAX, NULL},
    [F_TO_AGENT] = {"to_agent", K_STRING, EV_OFF(to_agent), 1, CL_ID_MAX, NULL},
    [F_END_REASON] = {"reason", K_ENUM, EV_OFF(reason), 0, 0, end_reasons},
    [F_BY] = {"by", K_ENUM, EV_OFF(by), 0, 0, end_bys},
    [F_CODE] = {"code", K_STRING, EV_OFF(code), 1, CL_ID_MAX, NULL},
    [F_NOTES] = {"notes", K_STRING, EV_OFF(notes), 0, CL_NOTES_MAX, NULL},
    [F_STATE] = {"state", K_ENUM, EV_OFF(state), 0, 0, agent_states},
    /* Free text ("lunch"); empty is allowed and means no reason. */
    [F_STATE_REASON] = {"reason", K_STRING, EV_OFF(reason), 0, CL_ID_MAX, NULL},
    [F_RING_REASON] = {"reason", K_ENUM, EV_OFF(reason), 0, 0, ring_reasons},
    [F_CUSTOMER_ID] = {"customer_id", K_STRING, EV_OFF(customer_id), 1, CL_ID_MAX, NULL},
    [F_CUSTOMER] = {"customer", K_OBJECT, EV_OFF(data), 0, 0, NULL},
};

#define B(f) (1u << (f))

/* What each type requires and allows; any other member is kept in body only. */
static const struct {
	unsigned required, optional;
} rules_by_type[CL_EV__COUNT] = {
    [CL_EV_OFFERED] = {B(F_FROM) | B(F_TO), B(F_QUEUE) | B(F_DIRECTION) | B(F_DATA)},
    [CL_EV_QUEUED] = {B(F_QUEUE), 0},
    [CL_EV_RINGING] = {B(F_AGENT), 0},
    [CL_EV_RING_ENDED] = {B(F_AGENT), B(F_RING_REASON)},
    [CL_EV_ANSWERED] = {B(F_AGENT), 0},
    [CL_EV_HELD] = {0, B(F_AGENT)},
    [CL_EV_RESUMED] = {0, B(F_AGENT)},
    /* "to_agent or to" is checked apart: the table cannot say "one of". */
    [CL_EV_TRANSFERRED] = {B(F_AGENT), B(F_TO_AGENT) | B(F_TO)},
    [CL_EV_ENDED] = {0, B(F_END_REASON) | B(F_BY)},
    [CL_EV_DISPOSITION] = {B(F_AGENT) | B(F_CODE), B(F_NOTES)},
    [CL_EV_CUSTOMER] = {B(F_CUSTOMER_ID), B(F_AGENT) | B(F_CUSTOMER)},
    [CL_EV_AGENT_STATE] = {B(F_AGENT) | B(F_STATE), B(F_STATE_REASON)},
};

/*
 * Every string of an event lands in one growing buffer. Positions are kept as
 * offsets and turned into pointers only at the end, so the buffer may move.
 */
struct arena {
	char *buf;
	size_t len, cap;
};

#define NO_OFF SIZE_MAX
#define MAX_SLOTS 20

struct slots {
	const char **dst[MAX_SLOTS];
	size_t off[MAX_SLOTS];
	int n;
};

static int
arena_reserve(struct arena *a, size_t n)
{
	size_t cap;
	char *p;

	if (a->cap - a->len >= n)
		return 0;
	cap = a->cap * 2 > a->len + n ? a->cap * 2 : a->len + n;
	if ((p = realloc(a->buf, cap)) == NULL)
		return -1;
	a->buf = p;
	a->cap = cap;
	return 0;
}

static size_t
arena_put(struct arena *a, const char *s, size_t n)
{
	size_t off = a->len;

	if (arena_reserve(a, n + 1) < 0)
		return NO_OFF;
	memcpy(a->buf + off, s, n);
	a->buf[off + n] = '\0';
	a->len += n + 1;
	return off;
}

/* Dumps j compactly into the arena: one pass when the estimate held, two when it did not. */
static size_t
arena_dump(struct arena *a, const json_t *j)
{
	size_t off = a->len, room = a->cap - a->len, need;

	need = json_dumpb(j, a->buf + off, room, JSON_COMPACT);
	if (need == 0)
		return NO_OFF;
	if (need >= room) {
		if (arena_reserve(a, need + 1) < 0)
			return NO_OFF;
		if (json_dumpb(j, a->buf + off, need + 1, JSON_COMPACT) != need)
			return NO_OFF;
	}
	a->buf[off + need] = '\0';
	a->len += need + 1;
	return off;
}

static int
slot_add(struct slots *s, const char **dst, size_t off)
{
	if (off == NO_OFF)
		return -1;
	s->dst[s->n] = dst;
	s->off[s->n] = off;
	s->n++;
	return 0;
}

/* Cuts msg back to its longest valid UTF-8 prefix: it is echoed inside a JSON answer. */
static void
trim_utf8(char *msg)
{
	size_t n = strlen(msg);

	while (n > 0 && !cl_utf8_valid(msg, n))
		n--;
	msg[n] = '\0';
}

static int
in_list(const char *s, const char *const *list)
{
	for (int i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return i;
	return -1;
}

static void
enum_message(char *msg, const char *name, const char *const *values)
{
	size_t n = (size_t)snprintf(msg, CL_ERR_LEN, "\"%s\" must be one of", name);

	for (int i = 0; values[i] != NULL && n < CL_ERR_LEN; i++)
		n += (size_t)snprintf(msg + n, CL_ERR_LEN - n, "%s %s", i ? "," : "", values[i]);
}

static void
string_message(char *msg, const char *name, size_t min, size_t max)
{
	if (min == 0)
		snprintf(msg, CL_ERR_LEN, "\"%s\" must be a string of at most %zu bytes", name, max);
	else
		snprintf(msg, CL_ERR_LEN, "\"%s\" must be a string of %zu to %zu bytes", name, min, max);
}

/* A string member of min..max bytes; NULL (and a message) when it is not one. */
static const char *
get_string(const json_t *v, const char *name, size_t min, size_t max, size_t *len, char *msg)
{
	if (!json_is_string(v) || (*len = json_string_length(v)) < min || *len > max) {
		string_message(msg, name, min, max);
		return NULL;
	}
	return json_string_value(v);
}

/* Reads one per-type field from v into the arena; 0, or -1 with msg set (BAD_EVENT) or not (OOM). */
static int
read_field(const struct field *f, const json_t *v, const struct cl_numbers *rules, struct cl_event *ev, struct arena *a,
           struct slots *sl, char *msg)
{
	const char *s;
	size_t n;

	switch (f->kind) {
	case K_STRING:
		if ((s = get_string(v, f->name, f->min, f->max, &n, msg)) == NULL)
			return -1;
		return slot_add(sl, (const char **)((char *)ev + f->off), arena_put(a, s, n));
	case K_NUMBER: {
		char out[CL_NUMBER_LEN];
		enum cl_number_result r;

		if ((s = get_string(v, f->name, f->min, f->max, &n, msg)) == NULL)
			return -1;
		r = cl_number_normalize(rules, s, out);
		if (f->off == EV_OFF(from))
			ev->from_kind = (int)r;
		else
			ev->to_kind = (int)r;
		/* Keep the text as given ("anonymous", "sip:...") when it is no number. */
		if (r == CL_NUMBER_OK)
			s = out, n = strlen(out);
		return slot_add(sl, (const char **)((char *)ev + f->off), arena_put(a, s, n));
	}
	case K_ENUM:
		if (!json_is_string(v) || in_list(json_string_value(v), f->values) < 0) {
			enum_message(msg, f->name, f->values);
			return -1;
		}
		s = json_string_value(v);
		return slot_add(sl, (const char **)((char *)ev + f->off), arena_put(a, s, strlen(s)));
	case K_DIRECTION: {
		int d = json_is_string(v) ? in_list(json_string_value(v), f->values) : -1;

		if (d < 0) {
			enum_message(msg, f->name, f->values);
			return -1;
		}
		ev->direction = d;
		return 0;
	}
	case K_OBJECT:
		if (!json_is_object(v)) {
			snprintf(msg, CL_ERR_LEN, "\"%s\" must be an object", f->name);
			return -1;
		}
		return slot_add(sl, (const char **)((char *)ev + f->off), arena_dump(a, v));
	}
	return -1;
}

/*
 * ref_event_parse() : as cl_event_parse() was; on success ev->buf owns every string of ev (free with
 * cl_event_clear()); on failure ev is zeroed and *id_out, when not NULL, is the
 * caller's to free.
 */
enum cl_event_error
ref_event_parse(const char *line, size_t len, int64_t now_ms, const struct cl_numbers *rules, struct cl_event *ev,
                char **id_out, char *msg)
{
	enum cl_event_error err = CL_EVERR_BAD_EVENT;
	struct arena a = {NULL, 0, 0};
	struct slots sl = {.n = 0};
	json_error_t jerr;
	json_t *root = NULL, *v;
	const char *type, *s, *id = NULL;
	size_t n, id_len = 0;
	unsigned want, got = 0;
	int t;

	memset(ev, 0, sizeof(*ev));
	*id_out = NULL;
	msg[0] = '\0';

	/* jansson checks UTF-8 too, but a NUL byte would cut its view of the line short. */
	if (!cl_utf8_valid(line, len)) {
		snprintf(msg, CL_ERR_LEN, "not valid UTF-8 text");
		err = CL_EVERR_BAD_JSON;
		goto fail;
	}
	if ((root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr)) == NULL) {
		snprintf(msg, CL_ERR_LEN, "invalid JSON at byte %d: %s", jerr.position, jerr.text);
		trim_utf8(msg);
		err = CL_EVERR_BAD_JSON;
		goto fail;
	}
	if (!json_is_object(root)) {
		snprintf(msg, CL_ERR_LEN, "an event must be a JSON object");
		err = CL_EVERR_BAD_JSON;
		goto fail;
	}

	/* Read first: any later error still names the id, so the producer can match the answer. */
	if ((v = json_object_get(root, "id")) != NULL && !json_is_null(v)) {
		if ((s = get_string(v, "id", 1, CL_ID_MAX, &n, msg)) == NULL)
			goto fail;
		id = s, id_len = n;
	}

	v = json_object_get(root, "type");
	if (!json_is_string(v)) {
		snprintf(msg, CL_ERR_LEN, "\"type\" must be a string");
		goto fail;
	}
	type = json_string_value(v);
	for (t = 0; t < CL_EV__COUNT && strcmp(type, type_names[t]) != 0; t++)
		;
	if (t == CL_EV__COUNT) {
		snprintf(msg, CL_ERR_LEN, "unknown type \"%.*s%s\"", TYPE_ECHO_MAX, type,
		         strlen(type) > TYPE_ECHO_MAX ? "..." : "");
		trim_utf8(msg);
		err = CL_EVERR_UNKNOWN_TYPE;
		goto fail;
	}
	ev->type = (enum cl_event_type)t;
	ev->from_kind = ev->to_kind = -1;

	/*
	 * Room for everything in one allocation: the strings kept are no longer
	 * than their escaped text in the line, the compact body and data rarely
	 * longer than the line; arena_dump grows it for the odd real number that
	 * prints longer than it was written.
	 */
	a.cap = 2 * len + 2 * CL_NUMBER_LEN + 32 + (json_object_get(root, "data") != NULL ? len : 0);
	if ((a.buf = malloc(a.cap)) == NULL)
		goto oom;

	if (id != NULL && slot_add(&sl, &ev->id, arena_put(&a, id, id_len)) < 0)
		goto oom;
	if (ev->type != CL_EV_AGENT_STATE && (ev->type != CL_EV_CUSTOMER || json_object_get(root, "call_id") != NULL)) {
		if ((s = get_string(json_object_get(root, "call_id"), "call_id", 1, CL_ID_MAX, &n, msg)) == NULL)
			goto fail;
		if (slot_add(&sl, &ev->call_id, arena_put(&a, s, n)) < 0)
			goto oom;
	}
	ev->ts = now_ms;
	if ((v = json_object_get(root, "ts")) != NULL && !json_is_null(v)) {
		/* 0 means "unknown" in a call record, so times before 1970 are refused. */
		if (!json_is_string(v) || cl_time_parse(json_string_value(v), &ev->ts) < 0 || ev->ts <= 0) {
			snprintf(msg, CL_ERR_LEN, "\"ts\" must be an RFC 3339 time after 1970");
			goto fail;
		}
	}

	want = rules_by_type[t].required | rules_by_type[t].optional;
	for (int f = 0; f < F__COUNT; f++) {
		unsigned required = rules_by_type[t].required & B(f);

		if (!(want & B(f)))
			continue;
		v = json_object_get(root, fields[f].name);
		/* An optional null is as good as absent: producers often send "queue":null. */
		if (v == NULL || (json_is_null(v) && !required)) {
			if (!required)
				continue;
			if (fields[f].kind == K_ENUM)
				enum_message(msg, fields[f].name, fields[f].values);
			else
				string_message(msg, fields[f].name, fields[f].min, fields[f].max);
			goto fail;
		}
		msg[0] = '\0';
		if (read_field(&fields[f], v, rules, ev, &a, &sl, msg) < 0) {
			if (msg[0] == '\0')
				goto oom;
			goto fail;
		}
		got |= B(f);
	}
	if (ev->type == CL_EV_TRANSFERRED && !(got & (B(F_TO_AGENT) | B(F_TO)))) {
		snprintf(msg, CL_ERR_LEN, "\"to_agent\" or \"to\" is required");
		goto fail;
	}

	/* The log keeps the event verbatim: it is valid JSON, and re-printing it costs. */
	if (slot_add(&sl, &ev->body, arena_put(&a, line, len)) < 0)
		goto oom;

	ev->buf = a.buf;
	for (int i = 0; i < sl.n; i++)
		*sl.dst[i] = a.buf + sl.off[i];
	json_decref(root);
	return CL_EVERR_NONE;

oom:
	/* Not the producer's fault: "storage" tells it to send again. */
	snprintf(msg, CL_ERR_LEN, "out of memory");
	err = CL_EVERR_STORAGE;
fail:
	/* Copied only now so that the success path stays at one allocation. */
	if (id != NULL)
		*id_out = cl_strndup(id, id_len);
	free(a.buf);
	json_decref(root);
	memset(ev, 0, sizeof(*ev));
	return err;
}
