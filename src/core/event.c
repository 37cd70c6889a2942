/* event.c : owns turning one NDJSON line into a validated struct cl_event (pure: no clock, no globals). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/event.h"
#include "callogd/jsonscan.h"
#include "callogd/util.h"

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

static const char *const error_names[] = {
    [CL_EVERR_NONE] = "none",           [CL_EVERR_BAD_JSON] = "bad_json",
    [CL_EVERR_BAD_EVENT] = "bad_event", [CL_EVERR_UNKNOWN_TYPE] = "unknown_type",
    [CL_EVERR_TOO_LONG] = "too_long",   [CL_EVERR_STORAGE] = "storage",
    [CL_EVERR_BAD_CODE] = "bad_code",   [CL_EVERR_FORBIDDEN] = "forbidden",
    [CL_EVERR_AUTH] = "auth",
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
	K_OBJECT,    /* kept as its JSON text, as written in the line */
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

/* The top-level members read at all; every other member is only validated. */
enum member_id {
	M_TYPE,
	M_ID,
	M_CALL_ID,
	M_TS,
	M_FROM,
	M_TO,
	M_QUEUE,
	M_DIRECTION,
	M_DATA,
	M_AGENT,
	M_TO_AGENT,
	M_REASON, /* call.ended's enum and agent.state's free text */
	M_BY,
	M_CODE,
	M_NOTES,
	M_STATE,
	M_CUSTOMER_ID,
	M_CUSTOMER,
	M__COUNT
};

static const char *const member_names[M__COUNT] = {
    [M_TYPE] = "type",
    [M_ID] = "id",
    [M_CALL_ID] = "call_id",
    [M_TS] = "ts",
    [M_FROM] = "from",
    [M_TO] = "to",
    [M_QUEUE] = "queue",
    [M_DIRECTION] = "direction",
    [M_DATA] = "data",
    [M_AGENT] = "agent",
    [M_TO_AGENT] = "to_agent",
    [M_REASON] = "reason",
    [M_BY] = "by",
    [M_CODE] = "code",
    [M_NOTES] = "notes",
    [M_STATE] = "state",
    [M_CUSTOMER_ID] = "customer_id",
    [M_CUSTOMER] = "customer",
};

/* The longest member name, and how long its escaped form can be (\uXXXX per byte). */
#define MEMBER_NAME_MAX 11
#define MEMBER_RAW_MAX (6 * MEMBER_NAME_MAX)

struct field {
	const char *name;
	enum member_id member;
	enum field_kind kind;
	size_t off;                /* of the const char * in struct cl_event */
	size_t min, max;           /* bytes, for K_STRING and K_NUMBER */
	const char *const *values; /* K_ENUM */
};

#define EV_OFF(m) offsetof(struct cl_event, m)

static const struct field fields[F__COUNT] = {
    [F_FROM] = {"from", M_FROM, K_NUMBER, EV_OFF(from), 0, CL_PARTY_MAX, NULL},
    [F_TO] = {"to", M_TO, K_NUMBER, EV_OFF(to), 0, CL_PARTY_MAX, NULL},
    [F_QUEUE] = {"queue", M_QUEUE, K_STRING, EV_OFF(queue), 1, CL_ID_MAX, NULL},
    [F_DIRECTION] = {"direction", M_DIRECTION, K_DIRECTION, 0, 0, 0, directions},
    [F_DATA] = {"data", M_DATA, K_OBJECT, EV_OFF(data), 0, 0, NULL},
    [F_AGENT] = {"agent", M_AGENT, K_STRING, EV_OFF(agent), 1, CL_ID_MAX, NULL},
    [F_TO_AGENT] = {"to_agent", M_TO_AGENT, K_STRING, EV_OFF(to_agent), 1, CL_ID_MAX, NULL},
    [F_END_REASON] = {"reason", M_REASON, K_ENUM, EV_OFF(reason), 0, 0, end_reasons},
    [F_BY] = {"by", M_BY, K_ENUM, EV_OFF(by), 0, 0, end_bys},
    [F_CODE] = {"code", M_CODE, K_STRING, EV_OFF(code), 1, CL_ID_MAX, NULL},
    [F_NOTES] = {"notes", M_NOTES, K_STRING, EV_OFF(notes), 0, CL_NOTES_MAX, NULL},
    [F_STATE] = {"state", M_STATE, K_ENUM, EV_OFF(state), 0, 0, agent_states},
    /* Free text ("lunch"); empty is allowed and means no reason. */
    [F_STATE_REASON] = {"reason", M_REASON, K_STRING, EV_OFF(reason), 0, CL_ID_MAX, NULL},
    [F_RING_REASON] = {"reason", M_REASON, K_ENUM, EV_OFF(reason), 0, 0, ring_reasons},
    [F_CUSTOMER_ID] = {"customer_id", M_CUSTOMER_ID, K_STRING, EV_OFF(customer_id), 1, CL_ID_MAX, NULL},
    [F_CUSTOMER] = {"customer", M_CUSTOMER, K_OBJECT, EV_OFF(data), 0, 0, NULL},
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

/* Decodes the string v into the arena, NUL-terminated; its offset (NO_OFF: no memory), *len its bytes. */
static size_t
arena_string(struct arena *a, const struct cl_json_span *v, size_t *len)
{
	size_t off = a->len;

	if (arena_reserve(a, v->len + 1) < 0)
		return NO_OFF;
	*len = cl_json_unescape(v->p, v->len, a->buf + off, v->len);
	a->buf[off + *len] = '\0';
	a->len += *len + 1;
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

/* A string member of min..max bytes decoded into the arena: 0 and *off, or -1 with msg set (bad) or not (OOM). */
static int
get_string(const struct cl_json_span *v, const char *name, size_t min, size_t max, struct arena *a, size_t *off,
           char *msg)
{
	size_t n;

	/* Unescaping never lengthens a string, so without escapes the length is known before copying. */
	if (v == NULL || v->type != CL_JSON_STRING || (!v->escaped && (v->len < min || v->len > max)))
		goto bad;
	if ((*off = arena_string(a, v, &n)) == NO_OFF)
		return -1;
	if (n < min || n > max)
		goto bad;
	return 0;
bad:
	string_message(msg, name, min, max);
	return -1;
}

/* Reads one per-type field from v into the arena; 0, or -1 with msg set (BAD_EVENT) or not (OOM). */
static int
read_field(const struct field *f, const struct cl_json_span *v, const struct cl_numbers *rules, struct cl_event *ev,
           struct arena *a, struct slots *sl, char *msg)
{
	const char **dst = (const char **)((char *)ev + f->off);
	size_t off, n;
	int i;

	switch (f->kind) {
	case K_STRING:
		if (get_string(v, f->name, f->min, f->max, a, &off, msg) < 0)
			return -1;
		return slot_add(sl, dst, off);
	case K_NUMBER: {
		char out[CL_NUMBER_LEN];
		enum cl_number_result r;

		if (get_string(v, f->name, f->min, f->max, a, &off, msg) < 0)
			return -1;
		r = cl_number_normalize(rules, a->buf + off, out);
		if (f->off == EV_OFF(from))
			ev->from_kind = (int)r;
		else
			ev->to_kind = (int)r;
		/* Keep the text as given ("anonymous", "sip:...") when it is no number. */
		if (r == CL_NUMBER_OK) {
			a->len = off;
			off = arena_put(a, out, strlen(out));
		}
		return slot_add(sl, dst, off);
	}
	case K_ENUM:
	case K_DIRECTION:
		if (v->type != CL_JSON_STRING)
			goto bad_enum;
		if ((off = arena_string(a, v, &n)) == NO_OFF)
			return -1;
		if ((i = in_list(a->buf + off, f->values)) < 0)
			goto bad_enum;
		if (f->kind == K_ENUM)
			return slot_add(sl, dst, off);
		/* A direction is kept as a number: its text is not needed. */
		a->len = off;
		ev->direction = i;
		return 0;
	case K_OBJECT:
		if (v->type != CL_JSON_OBJECT) {
			snprintf(msg, CL_ERR_LEN, "\"%s\" must be an object", f->name);
			return -1;
		}
		/* The object's text as written: valid JSON already, and re-printing it costs. */
		return slot_add(sl, dst, arena_put(a, v->p, v->len));
	}
	return -1;
bad_enum:
	enum_message(msg, f->name, f->values);
	return -1;
}

/* The top-level members of interest, as cl_json_scan() reports them. */
struct members {
	struct cl_json_span v[M__COUNT];
	unsigned seen; /* bit per enum member_id: v[] is only set where this says */
};

static void
on_member(void *arg, const struct cl_json_span *key, const struct cl_json_span *val)
{
	struct members *m = arg;
	char name[MEMBER_NAME_MAX];
	const char *k = key->p;
	size_t n = key->len;

	/* "\u0074ype" is "type" to jansson too. */
	if (key->escaped) {
		if (n > MEMBER_RAW_MAX || (n = cl_json_unescape(k, n, name, sizeof(name))) > MEMBER_NAME_MAX)
			return;
		k = name;
	} else if (n > MEMBER_NAME_MAX) {
		return;
	}
	if (n == 0)
		return;
	for (int i = 0; i < M__COUNT; i++) {
		if (member_names[i][0] == k[0] && strlen(member_names[i]) == n && memcmp(member_names[i], k, n) == 0) {
			m->v[i] = *val;
			m->seen |= 1u << i;
			return;
		}
	}
}

static const struct cl_json_span *
member(const struct members *m, enum member_id i)
{
	return m->seen & (1u << i) ? &m->v[i] : NULL;
}

const char *
cl_event_type_name(enum cl_event_type t)
{
	return (unsigned)t < CL_EV__COUNT ? type_names[t] : "unknown";
}

const char *
cl_event_error_name(enum cl_event_error e)
{
	return (unsigned)e < sizeof(error_names) / sizeof(error_names[0]) ? error_names[e] : "unknown";
}

void
cl_event_clear(struct cl_event *ev)
{
	free(ev->buf);
	free(ev->ext);
	memset(ev, 0, sizeof(*ev));
}

/*
 * cl_event_parse() : on success ev->buf owns every string of ev (free with
 * cl_event_clear()); on failure ev is zeroed and *id_out, when not NULL, is the
 * caller's to free.
 */
enum cl_event_error
cl_event_parse(const char *line, size_t len, int64_t now_ms, const struct cl_numbers *rules, struct cl_event *ev,
               char **id_out, char *msg)
{
	enum cl_event_error err = CL_EVERR_BAD_EVENT;
	struct arena a = {NULL, 0, 0};
	struct slots sl = {.n = 0};
	struct members m;
	const struct cl_json_span *v;
	enum cl_json_type top;
	char idbuf[CL_ID_MAX + 1], type[TYPE_ECHO_MAX + 1];
	const char *id = NULL, *what;
	size_t n, off, pos, id_len = 0;
	unsigned want, got = 0;
	int t;

	memset(ev, 0, sizeof(*ev));
	*id_out = NULL;
	msg[0] = '\0';
	m.seen = 0;

	/* The scan refuses invalid UTF-8 and NUL itself; the UTF-8 pass only picks the message. */
	if (cl_json_scan(line, len, &top, on_member, &m, &pos, &what) < 0) {
		if (!cl_utf8_valid(line, len))
			snprintf(msg, CL_ERR_LEN, "not valid UTF-8 text");
		else
			snprintf(msg, CL_ERR_LEN, "invalid JSON at byte %zu: %s", pos, what);
		err = CL_EVERR_BAD_JSON;
		goto fail;
	}
	if (top != CL_JSON_OBJECT) {
		snprintf(msg, CL_ERR_LEN, "an event must be a JSON object");
		err = CL_EVERR_BAD_JSON;
		goto fail;
	}

	/* Read first: any later error still names the id, so the producer can match the answer. */
	if ((v = member(&m, M_ID)) != NULL && v->type != CL_JSON_NULL) {
		if (v->type != CL_JSON_STRING || (n = cl_json_unescape(v->p, v->len, idbuf, sizeof(idbuf))) < 1 ||
		    n > CL_ID_MAX) {
			string_message(msg, "id", 1, CL_ID_MAX);
			goto fail;
		}
		id = idbuf, id_len = n;
	}

	if ((v = member(&m, M_TYPE)) == NULL || v->type != CL_JSON_STRING) {
		snprintf(msg, CL_ERR_LEN, "\"type\" must be a string");
		goto fail;
	}
	/* Only the first TYPE_ECHO_MAX bytes are kept: more than any type name, enough for the echo. */
	n = cl_json_unescape(v->p, v->len, type, TYPE_ECHO_MAX);
	for (t = 0; t < CL_EV__COUNT; t++)
		if (strlen(type_names[t]) == n && memcmp(type, type_names[t], n) == 0)
			break;
	if (t == CL_EV__COUNT) {
		snprintf(msg, CL_ERR_LEN, "unknown type \"%.*s%s\"", (int)(n < TYPE_ECHO_MAX ? n : TYPE_ECHO_MAX), type,
		         n > TYPE_ECHO_MAX ? "..." : "");
		trim_utf8(msg);
		err = CL_EVERR_UNKNOWN_TYPE;
		goto fail;
	}
	ev->type = (enum cl_event_type)t;
	ev->from_kind = ev->to_kind = -1;

	/*
	 * Room for everything in one allocation, never grown: each string kept is
	 * a distinct part of the line and no longer unescaped (plus a NUL in place
	 * of its quotes), data is a part of the line, body is the line, and the
	 * two normalised numbers are bounded.
	 */
	a.cap = 2 * len + 2 * CL_NUMBER_LEN + 32;
	if ((a.buf = malloc(a.cap)) == NULL)
		goto oom;

	if (id != NULL && slot_add(&sl, &ev->id, arena_put(&a, id, id_len)) < 0)
		goto oom;
	/* customer.set may store a customer without naming a call. */
	if (ev->type != CL_EV_AGENT_STATE && (ev->type != CL_EV_CUSTOMER || member(&m, M_CALL_ID) != NULL)) {
		if (get_string(member(&m, M_CALL_ID), "call_id", 1, CL_ID_MAX, &a, &off, msg) < 0) {
			if (msg[0] == '\0')
				goto oom;
			goto fail;
		}
		if (slot_add(&sl, &ev->call_id, off) < 0)
			goto oom;
	}
	ev->ts = now_ms;
	if ((v = member(&m, M_TS)) != NULL && v->type != CL_JSON_NULL) {
		if (v->type != CL_JSON_STRING)
			goto bad_ts;
		if ((off = arena_string(&a, v, &n)) == NO_OFF)
			goto oom;
		/* 0 means "unknown" in a call record, so times before 1970 are refused. */
		if (cl_time_parse(a.buf + off, &ev->ts) < 0 || ev->ts <= 0)
			goto bad_ts;
		a.len = off; /* only its value is kept */
	}

	want = rules_by_type[t].required | rules_by_type[t].optional;
	for (int f = 0; f < F__COUNT; f++) {
		unsigned required = rules_by_type[t].required & B(f);

		if (!(want & B(f)))
			continue;
		v = member(&m, fields[f].member);
		/* An optional null is as good as absent: producers often send "queue":null. */
		if (v == NULL || (v->type == CL_JSON_NULL && !required)) {
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
	return CL_EVERR_NONE;

bad_ts:
	snprintf(msg, CL_ERR_LEN, "\"ts\" must be an RFC 3339 time after 1970");
	goto fail;
oom:
	/* Not the producer's fault: "storage" tells it to send again. */
	snprintf(msg, CL_ERR_LEN, "out of memory");
	err = CL_EVERR_STORAGE;
fail:
	/* Copied only now so that the success path stays at one allocation. */
	if (id != NULL)
		*id_out = cl_strndup(id, id_len);
	free(a.buf);
	memset(ev, 0, sizeof(*ev));
	return err;
}
