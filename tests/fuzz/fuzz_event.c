/* fuzz_event.c : libFuzzer entry point for the event parser (event.c) and the call state machine (calls.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "callogd/calls.h"
#include "callogd/event.h"
#include "callogd/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINES 64

/* A broken invariant is a finding: crash loudly so the fuzzer keeps the input. */
#define INVARIANT(cond)                                                                   \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "fuzz_event: invariant failed: %s (%s:%d)\n", #cond, \
				__FILE__, __LINE__);                                      \
			abort();                                                          \
		}                                                                         \
	} while (0)

static const struct {
	const char *cc, *national, *international;
} rule_sets[4] = {
	{"1", "1", "011"},  /* NANP */
	{"31", "0", "00"},  /* Netherlands */
	{"44", "0", "00"},  /* United Kingdom */
	{"39", "", "00"},   /* Italy: no trunk prefix */
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
