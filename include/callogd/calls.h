/* calls.h : the call state machine: events in, the call record out (pure). */
#ifndef CALLOGD_CALLS_H
#define CALLOGD_CALLS_H

#include <stdint.h>

#include "callogd/event.h"

#define CL_CALL_MAX_AGENTS 16 /* agents[] keeps the first 16 who answered */

enum cl_outcome { CL_OUTCOME_ACTIVE, CL_OUTCOME_ANSWERED, CL_OUTCOME_ABANDONED, CL_OUTCOME_UNANSWERED };

/*
 * One call's record. Times are ms since the epoch, 0 when unknown. Strings are
 * fixed arrays ("" = absent) except notes and data, which are malloc'd or NULL.
 */
struct cl_call {
	char call_id[CL_ID_MAX + 1];
	int direction; /* enum cl_direction */
	char from[CL_PARTY_MAX + 1];
	char to[CL_PARTY_MAX + 1];
	char number[CL_PARTY_MAX + 1]; /* the customer side: from (inbound) or to (outbound) */
	char queue[CL_ID_MAX + 1];
	char agent[CL_ID_MAX + 1]; /* the last agent who answered */
	char agents[CL_CALL_MAX_AGENTS][CL_ID_MAX + 1];
	int n_agents;
	char customer_id[CL_ID_MAX + 1];
	int has_offer; /* a call.offered was applied (else created from later events) */

	int64_t offered_at;
	int64_t answered_at;      /* first answer */
	int64_t last_answered_at; /* latest answer: its agent is "agent" */
	int64_t ended_at;
	int64_t hold_ms;    /* completed holds */
	int64_t hold_since; /* start of the hold in progress, 0 if none */

	char end_reason[CL_ID_MAX + 1];
	char end_by[CL_ID_MAX + 1];

	char disp_code[CL_ID_MAX + 1];
	char disp_agent[CL_ID_MAX + 1];
	int64_t disp_at;
	char *disp_notes;

	/* Set by the writer from the call's events (cl_call_facts, report.h), not by cl_call_apply. */
	int64_t wrap_ms; /* ended_at to the first disposition at or after it; 0 if none */
	int transferred; /* a call.transferred was applied */

	char *data; /* attached data, compact JSON object text */
	int64_t last_seq;
};

/* cl_call_init() : an empty record for call_id (truncated to CL_ID_MAX). */
void cl_call_init(struct cl_call *c, const char *call_id);
/* cl_call_clear() : frees notes and data; accepts a zeroed record. */
void cl_call_clear(struct cl_call *c);
/* cl_call_copy() : deep copy; -1 on out of memory (dst is then cleared). */
int cl_call_copy(struct cl_call *dst, const struct cl_call *src);

/*
 * cl_call_apply() : applies ev to c. Events may come out of order or for a call
 * never offered: each is applied as well as it can be, never refused. Returns 0,
 * or -1 on out of memory.
 */
int cl_call_apply(struct cl_call *c, const struct cl_event *ev);

enum cl_outcome cl_call_outcome(const struct cl_call *c);
/* The docs/http-api.md outcome rule itself, for callers holding the stored columns (reason/by may be NULL). */
enum cl_outcome cl_outcome_of(int64_t answered_at, int64_t ended_at, const char *end_reason, const char *end_by);
const char *cl_outcome_name(enum cl_outcome o);
/* cl_outcome_parse() : the outcome named name (as cl_outcome_name gives it); 0, or -1 when unknown. */
int cl_outcome_parse(const char *name, enum cl_outcome *o);
/* wait_ms/talk_ms as of now_ms (used while the call is still active). */
int64_t cl_call_wait_ms(const struct cl_call *c, int64_t now_ms);
int64_t cl_call_talk_ms(const struct cl_call *c, int64_t now_ms);
int64_t cl_call_hold_total_ms(const struct cl_call *c, int64_t now_ms);
/* cl_call_durations() : wait, talk and hold (docs/http-api.md) from the stored times alone, as of now_ms. */
void cl_call_durations(int64_t offered_at, int64_t answered_at, int64_t ended_at, int64_t hold_ms, int64_t hold_since,
                       int64_t now_ms, int64_t *wait, int64_t *talk, int64_t *hold);

/* jansson's json_t, named without its header: the store interface (store.h) includes
 * this one and must not bring jansson along. Callers that build JSON include jansson. */
struct json_t;
/* cl_json_time() : ms as an RFC 3339 JSON string, or JSON null when 0 (unknown); NULL on OOM. */
struct json_t *cl_json_time(int64_t ms);
/* cl_call_to_json() : the call record of docs/http-api.md; a new reference, NULL on OOM. */
struct json_t *cl_call_to_json(const struct cl_call *c, int64_t now_ms);

#endif
