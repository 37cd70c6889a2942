/* fuzz_event.c : libFuzzer entry point for the event parser (event.c, jsonscan.c) and the call state machine (calls.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "callogd/calls.h"
#include "callogd/event.h"
#include "callogd/jsonscan.h"
#include "callogd/util.h"
#include "event_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINES 64

/* A broken invariant is a finding: crash loudly so the fuzzer keeps the input. */
#define INVARIANT(cond)                                                                                                \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, "fuzz_event: invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);      \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

static const struct {
	const char *cc, *national, *international;
} rule_sets[4] = {
    {"1", "1", "011"}, /* NANP */
    {"31", "0", "00"}, /* Netherlands */
    {"44", "0", "00"}, /* United Kingdom */
    {"39", "", "00"},  /* Italy: no trunk prefix */
};

static size_t
bounded_len(const char *s, size_t max)
{
	return s ? strnlen(s, max + 1) : 0;
}

static void
check_event(const struct cl_event *ev)
{
	json_t *j;

	INVARIANT(ev->type >= CL_EV_OFFERED && ev->type < CL_EV__COUNT);
	INVARIANT(ev->buf != NULL && ev->body != NULL);
	INVARIANT(ev->call_id != NULL || ev->type == CL_EV_AGENT_STATE);
	INVARIANT(bounded_len(ev->call_id, CL_ID_MAX) <= CL_ID_MAX);
	INVARIANT(bounded_len(ev->id, CL_ID_MAX) <= CL_ID_MAX);
	INVARIANT(bounded_len(ev->agent, CL_ID_MAX) <= CL_ID_MAX);
	INVARIANT(bounded_len(ev->to_agent, CL_ID_MAX) <= CL_ID_MAX);
	INVARIANT(bounded_len(ev->queue, CL_ID_MAX) <= CL_ID_MAX);
	INVARIANT(bounded_len(ev->code, CL_ID_MAX) <= CL_ID_MAX);
	INVARIANT(bounded_len(ev->notes, CL_NOTES_MAX) <= CL_NOTES_MAX);
	INVARIANT(bounded_len(ev->from, CL_PARTY_MAX) <= CL_PARTY_MAX);
	INVARIANT(bounded_len(ev->to, CL_PARTY_MAX) <= CL_PARTY_MAX);
	INVARIANT(ev->from_kind >= -1 && ev->from_kind <= CL_NUMBER_INVALID);
	INVARIANT(ev->direction == CL_DIR_INBOUND || ev->direction == CL_DIR_OUTBOUND);
	/* What the log keeps must read back as the object it was. */
	j = json_loads(ev->body, 0, NULL);
	INVARIANT(j != NULL && json_is_object(j));
	json_decref(j);
	if (ev->data != NULL) {
		j = json_loads(ev->data, 0, NULL);
		INVARIANT(j != NULL && json_is_object(j));
		json_decref(j);
	}
}

static void
check_call(const struct cl_call *c, int64_t now_ms)
{
	struct cl_call copy;
	json_t *j;
	char *s;

	INVARIANT(c->n_agents >= 0 && c->n_agents <= CL_CALL_MAX_AGENTS);
	INVARIANT(cl_call_outcome(c) <= CL_OUTCOME_UNANSWERED);
	INVARIANT(cl_outcome_name(cl_call_outcome(c)) != NULL);
	(void)cl_call_wait_ms(c, now_ms);
	(void)cl_call_talk_ms(c, now_ms);
	(void)cl_call_hold_total_ms(c, now_ms);
	if ((j = cl_call_to_json(c, now_ms)) != NULL) {
		s = json_dumps(j, JSON_COMPACT);
		INVARIANT(s == NULL || cl_utf8_valid(s, strlen(s)));
		free(s);
		json_decref(j);
	}
	memset(&copy, 0, sizeof(copy));
	if (cl_call_copy(&copy, c) == 0)
		INVARIANT(strcmp(copy.call_id, c->call_id) == 0);
	cl_call_clear(&copy);
}

/* Top-level members as cl_json_scan() reports them; past MAX_MEMBERS only counted. */
#define MAX_MEMBERS 256

struct seen {
	struct cl_json_span key[MAX_MEMBERS], val[MAX_MEMBERS];
	size_t n;
};

static void
collect(void *arg, const struct cl_json_span *key, const struct cl_json_span *val)
{
	struct seen *s = arg;

	if (s->n < MAX_MEMBERS) {
		s->key[s->n] = *key;
		s->val[s->n] = *val;
	}
	s->n++;
}

static int
same_type(const struct cl_json_span *v, const json_t *j)
{
	switch (v->type) {
	case CL_JSON_OBJECT:
		return json_is_object(j);
	case CL_JSON_ARRAY:
		return json_is_array(j);
	case CL_JSON_STRING:
		return json_is_string(j);
	case CL_JSON_NUMBER:
		return json_is_number(j);
	case CL_JSON_TRUE:
		return json_is_true(j);
	case CL_JSON_FALSE:
		return json_is_false(j);
	case CL_JSON_NULL:
		return json_is_null(j);
	}
	return 0;
}

/* A string span unescaped into a malloc'd buffer; its length in *n. */
static char *
unescape(const struct cl_json_span *v, size_t *n)
{
	char *out = malloc(v->len + 1);

	INVARIANT(out != NULL);
	*n = cl_json_unescape(v->p, v->len, out, v->len);
	INVARIANT(*n <= v->len);
	return out;
}

/*
 * The scanner against jansson on the same bytes: one accepts iff the other
 * does, and what the scanner reports of a top-level object (every member's
 * key, type and value) is what jansson's tree holds.
 */
static void
check_scan(const char *p, size_t len)
{
	static struct seen seen;
	json_t *root, *jv, *again;
	enum cl_json_type top;
	const char *what;
	size_t pos, n, kn;
	char *key, *str;
	int r;

	seen.n = 0;
	r = cl_json_scan(p, len, &top, collect, &seen, &pos, &what);
	/*
	 * The one known difference: jansson 2.14 drops a NUL byte that follows a
	 * number or literal ("8\0" loads as 8: its stream takes an unread NUL for
	 * an empty buffer). NUL is never valid JSON text, and the old parser
	 * refused it before jansson saw it (cl_utf8_valid); the scanner refuses it.
	 */
	if (memchr(p, '\0', len) != NULL) {
		INVARIANT(r < 0);
		return;
	}
	root = json_loadb(p, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	if (root == NULL) {
		INVARIANT(r < 0);
		INVARIANT(pos <= len && what != NULL);
		return;
	}
	INVARIANT(r == 0);
	INVARIANT(same_type(&(struct cl_json_span){.type = top}, root));
	if (top != CL_JSON_OBJECT) {
		INVARIANT(seen.n == 0);
		json_decref(root);
		return;
	}
	INVARIANT(seen.n == json_object_size(root));
	for (size_t i = 0; i < seen.n && i < MAX_MEMBERS; i++) {
		INVARIANT(seen.key[i].type == CL_JSON_STRING);
		key = unescape(&seen.key[i], &kn);
		jv = json_object_getn(root, key, kn);
		INVARIANT(jv != NULL && same_type(&seen.val[i], jv));
		if (seen.val[i].type == CL_JSON_STRING) {
			str = unescape(&seen.val[i], &n);
			INVARIANT(n == json_string_length(jv) && memcmp(str, json_string_value(jv), n) == 0);
			free(str);
		} else {
			/* A non-string span is the value's whole text: it must load as the same value. */
			again =
			    json_loadb(seen.val[i].p, seen.val[i].len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
			INVARIANT(again != NULL && json_equal(again, jv));
			json_decref(again);
		}
		free(key);
	}
	json_decref(root);
}

static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* data is now the text as written, before it was jansson's compact print: equal as JSON. */
static int
same_json(const char *a, const char *b)
{
	json_t *ja, *jb;
	int eq;

	if (a == NULL || b == NULL)
		return a == b;
	ja = json_loads(a, JSON_REJECT_DUPLICATES, NULL);
	jb = json_loads(b, JSON_REJECT_DUPLICATES, NULL);
	eq = ja != NULL && jb != NULL && json_equal(ja, jb);
	json_decref(ja);
	json_decref(jb);
	return eq;
}

/*
 * The parser against the jansson-based one it replaced (event_ref.c): the
 * same verdict, message, id and fields for every line. Only the text after
 * "invalid JSON at byte N:" may differ (it was jansson's wording), and data
 * may differ in spacing and escapes (see same_json).
 */
static void
check_parse(const char *p, size_t len, int64_t now_ms, const struct cl_numbers *rules)
{
	struct cl_event a, b;
	char ma[CL_ERR_LEN], mb[CL_ERR_LEN], *ida = NULL, *idb = NULL;
	static const char jprefix[] = "invalid JSON at byte ";
	enum cl_event_error ea, eb;

	ea = cl_event_parse(p, len, now_ms, rules, &a, &ida, ma);
	eb = ref_event_parse(p, len, now_ms, rules, &b, &idb, mb);
	if (ea != eb)
		fprintf(stderr, "new %d \"%s\", old %d \"%s\"\n", ea, ma, eb, mb);
	INVARIANT(ea == eb);
	if (strncmp(mb, jprefix, sizeof(jprefix) - 1) == 0)
		INVARIANT(strncmp(ma, jprefix, sizeof(jprefix) - 1) == 0);
	else if (strcmp(ma, mb) != 0)
		fprintf(stderr, "new \"%s\", old \"%s\"\n", ma, mb);
	if (strncmp(mb, jprefix, sizeof(jprefix) - 1) != 0)
		INVARIANT(strcmp(ma, mb) == 0);
	INVARIANT(same_str(ida, idb));
	if (ea == CL_EVERR_NONE) {
		INVARIANT(a.type == b.type && a.ts == b.ts && a.direction == b.direction);
		INVARIANT(a.from_kind == b.from_kind && a.to_kind == b.to_kind);
		INVARIANT(same_str(a.id, b.id) && same_str(a.call_id, b.call_id));
		INVARIANT(same_str(a.from, b.from) && same_str(a.to, b.to) && same_str(a.queue, b.queue));
		INVARIANT(same_str(a.agent, b.agent) && same_str(a.to_agent, b.to_agent));
		INVARIANT(same_str(a.reason, b.reason) && same_str(a.by, b.by) && same_str(a.code, b.code));
		INVARIANT(same_str(a.notes, b.notes) && same_str(a.state, b.state) && same_str(a.body, b.body));
		INVARIANT(same_json(a.data, b.data));
	}
	free(ida);
	free(idb);
	cl_event_clear(&a);
	cl_event_clear(&b);
}

/*
 * Input: one control byte (bits 0-1: numbering rules; bit 2: the daemon's clock
 * near 1970 instead of 2026), then NDJSON lines. Every line is parsed; the call
 * events that parse are applied in order to one call record, as the writer would
 * apply a call's events, and the record is checked and rendered.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cl_numbers rules;
	struct cl_call call;
	const char *p, *end;
	int64_t now_ms, seq = 0;
	uint8_t ctl;
	int lines = 0;

	if (size == 0)
		return 0;
	ctl = data[0];
	if (cl_numbers_init(&rules, rule_sets[ctl & 3].cc, rule_sets[ctl & 3].national,
	                    rule_sets[ctl & 3].international) < 0)
		abort();
	now_ms = (ctl & 4) ? 1000 : 1795000000000LL;
	memset(&call, 0, sizeof(call));
	cl_call_init(&call, "");
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p <= end && lines++ < MAX_LINES) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct cl_event ev;
		char msg[CL_ERR_LEN], *id = NULL;
		enum cl_event_error e;

		check_scan(p, len);
		check_parse(p, len, now_ms, &rules);
		memset(msg, 'x', sizeof(msg));
		e = cl_event_parse(p, len, now_ms, &rules, &ev, &id, msg);
		if (e == CL_EVERR_NONE) {
			INVARIANT(id == NULL);
			check_event(&ev);
			ev.seq = ++seq;
			ev.received_at = now_ms;
			INVARIANT(cl_call_apply(&call, &ev) == 0);
			check_call(&call, now_ms);
		} else {
			INVARIANT(e > CL_EVERR_NONE && e <= CL_EVERR_AUTH);
			INVARIANT(cl_event_error_name(e) != NULL);
			INVARIANT(ev.buf == NULL);
			INVARIANT(memchr(msg, '\0', sizeof(msg)) != NULL);
			free(id);
		}
		cl_event_clear(&ev);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	cl_call_clear(&call);
	return 0;
}
