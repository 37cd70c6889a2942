/* report.h : the historical reports of docs/http-api.md (pure): call facts, agents'
 * legs and state spans in; rows per interval and key, and totals, out as JSON
 * or CSV. Also the facts reports need that a call record does not hold (each
 * agent's part, transfers, wrap), derived from a call's events.
 *
 * Nothing here reads a clock, a file or a database: the caller feeds what it
 * has read (in any order) and renders the result.
 */
#ifndef CALLOGD_REPORT_H
#define CALLOGD_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "callogd/calls.h"
#include "callogd/event.h"
#include "callogd/tz.h"

enum cl_report_kind { CL_REPORT_QUEUES, CL_REPORT_AGENTS, CL_REPORT_DISPOSITIONS };

#define CL_REPORT_MAX_INTERVALS 20000 /* intervals in one report (a year of hours is 8,760) */
#define CL_REPORT_MAX_REASONS 64      /* distinct not_ready reasons kept per report */

/* cl_report_kind_parse() : "queues", "agents", "dispositions"; -1 for anything else. */
int cl_report_kind_parse(const char *s);
const char *cl_report_kind_name(enum cl_report_kind k);

struct cl_report_params {
	enum cl_report_kind kind;
	const struct cl_tz *tz; /* borrowed: must outlive the report */
	enum cl_interval interval;
	int64_t from_ms, until_ms; /* [from, until), from < until */
	int64_t sla_ms;            /* stats.sla_seconds */
	int64_t short_abandon_ms;  /* stats.short_abandon_seconds */
	const char *queue;         /* only this queue (copied), NULL = every queue */
	const char *agent;         /* agents report: only this agent (copied), NULL = all */
};

/*
 * cl_report_parse_time() : a report bound: "YYYY-MM-DD" (local midnight in tz)
 * or an RFC 3339 time. A ' ' where the offset's '+' belongs (a query string's
 * '+' decoded as a space) is read as '+'. 0, or -1 when s is neither.
 */
int cl_report_parse_time(const struct cl_tz *tz, const char *s, int64_t *ms);

/* One call as the reports see it. Strings are borrowed for the call; NULL or "" = none. */
struct cl_report_call {
	int64_t offered_at;
	int inbound;
	const char *queue;
	enum cl_outcome outcome;
	int64_t wait_ms, talk_ms, hold_ms, wrap_ms;
	int transferred;
	const char *disp_code, *disp_agent;
};

/* One agent's part of one call (its leg). Strings are borrowed. */
struct cl_report_leg {
	int64_t offered_at; /* the call's: its figures count in that interval */
	const char *queue;  /* the call's, for the queue filter */
	const char *agent;
	int rang, answered;
	int64_t talk_ms, hold_ms;
};

/* An agent's state from start to end ([start, end), ms). Strings are borrowed. */
struct cl_report_span {
	const char *agent;
	const char *state; /* logged_in, ready, not_ready, logged_out */
	const char *reason;
	int64_t start, end;
};

struct cl_report;

/*
 * cl_report_new() : an empty report. NULL with err filled when the range is
 * empty or holds more than CL_REPORT_MAX_INTERVALS intervals (err then starts
 * with the name of the parameter at fault: "until: ", "interval: "), or on out
 * of memory.
 */
struct cl_report *cl_report_new(const struct cl_report_params *p, char *err);
/* cl_report_free() : accepts NULL. */
void cl_report_free(struct cl_report *r);
const struct cl_report_params *cl_report_params(const struct cl_report *r);

/*
 * Feeding: what a report of another kind does not use, or what falls outside
 * the range or the filters, is ignored. Each returns 0, or -1 on out of memory.
 * A call is fed once; a leg once per call and agent; spans in any order.
 */
int cl_report_add_call(struct cl_report *r, const struct cl_report_call *c);
int cl_report_add_leg(struct cl_report *r, const struct cl_report_leg *l);
int cl_report_add_span(struct cl_report *r, const struct cl_report_span *s);

/*
 * Whole slots (slots.h): cl_report_slot_range() sets [*a, *b), the whole
 * slots inside the range, and returns 1 when the report may count them from
 * slot rows (queues and dispositions, every interval bound inside falls
 * between slots), else 0. The calls outside [*a, *b) are then fed one by one.
 * cl_report_add_slot() adds one slot row (struct cl_slot_row); 0, or -1 on OOM.
 */
struct cl_slot_row;
int cl_report_slot_range(const struct cl_report *r, int64_t *a, int64_t *b);
int cl_report_add_slot(struct cl_report *r, const struct cl_slot_row *s);

/* cl_report_json() : {"from","until","tz","interval","rows","totals"}; a new reference, NULL on OOM. */
struct json_t *cl_report_json(const struct cl_report *r); /* jansson's json_t (see calls.h) */
/*
 * cl_report_csv() : the rows as RFC 4180 CSV (CRLF, a header row), then, with
 * with_totals, the totals (start "total"); malloc'd, NUL-terminated, *len set.
 * NULL on OOM.
 */
char *cl_report_csv(const struct cl_report *r, int with_totals, size_t *len);

/* ---- what reports need from a call's events ---- */

#define CL_FACTS_MAX_LEGS 16 /* agents per call; more are not counted */

struct cl_call_leg {
	char agent[CL_ID_MAX + 1];
	int rang, answered;
	int64_t talk_ms, hold_ms;
};

struct cl_call_facts {
	int transferred;  /* a call.transferred was applied */
	int64_t ended_at; /* the earliest call.ended, 0 if none */
	int64_t wrap_ms;  /* ended_at to the first disposition at or after it; 0 if none */
	int n_legs;
	struct cl_call_leg legs[CL_FACTS_MAX_LEGS];
};

/*
 * cl_call_facts() : each agent's part of the call whose events are evs (any
 * order; sorted by ts, then seq). An agent rang when it was rung, transferred
 * to, or answered; its part runs from its answer to its transfer away, another
 * agent's answer, or the end of the call, holds within it counted as hold. A
 * part still running when the events stop (the call not ended) is not counted.
 * Returns 0, or -1 on out of memory.
 */
int cl_call_facts(const struct cl_event *const *evs, size_t n, struct cl_call_facts *out);

/*
 * A call's marks gathered for cl_call_facts(): copies of what the facts read
 * (type, ts, seq, agent, to_agent) of at most CL_MARKS_MAX events; more are
 * left out. Large: allocate it (cl_marks_new), reuse it (cl_marks_reset).
 */
#define CL_MARKS_MAX 256

struct cl_marks {
	int n;
	struct cl_event ev[CL_MARKS_MAX];
	const struct cl_event *ptr[CL_MARKS_MAX];
	char names[CL_MARKS_MAX][2][CL_ID_MAX + 1];
};

/* cl_event_is_mark() : is an event of type t one of a call's marks (what its facts are computed from)? */
int cl_event_is_mark(int type);
/* cl_marks_new() : an empty set; NULL on out of memory. Free with free(). */
struct cl_marks *cl_marks_new(void);
void cl_marks_reset(struct cl_marks *m);
/* cl_marks_add() : 0, or 1 when the set is full and ev was left out. */
int cl_marks_add(struct cl_marks *m, const struct cl_event *ev);
/* cl_marks_facts() : cl_call_facts() over the marks; -1 on out of memory. */
int cl_marks_facts(const struct cl_marks *m, struct cl_call_facts *out);
/* cl_event_type_parse() : the type named name ("call.answered"), or -1. */
int cl_event_type_parse(const char *name);

#endif
