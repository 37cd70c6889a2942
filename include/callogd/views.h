/* views.h : the JSON the API, pops and callogctl show, built from what the
 * store returns (plain structs): call records (docs/http-api.md), a call with its
 * events, agents, queue figures, customers and the caller lookup (docs/consoles.md).
 * Each function returns a new reference, or NULL with err filled. */
#ifndef CALLOGD_VIEWS_H
#define CALLOGD_VIEWS_H

#include <stdint.h>

#include <jansson.h>

#include "callogd/numbers.h"
#include "callogd/store.h"

#define CL_CUSTOMERS_MAX_CANDIDATES 5 /* docs/consoles.md */
#define CL_CUSTOMERS_MAX_HISTORY 100  /* bound on a lookup's history parameter */
#define CL_CUSTOMERS_FIND_MAX 100     /* bound on cl_view_find_customers' limit */

/*
 * cl_view_calls() : {"calls":[call, ...], "next": call_id|null} newest first;
 * next, set when the page is full, is the cursor for the following page
 * (f->before).
 */
json_t *cl_view_calls(struct cl_store *st, const struct cl_call_filter *f, int64_t now_ms, char *err);
/*
 * cl_view_calls_csv() : the same calls as RFC 4180 CSV, a header row first
 * (agents ';'-separated, the disposition in four columns, nulls empty);
 * malloc'd, *len set. NULL with err on failure.
 */
char *cl_view_calls_csv(struct cl_store *st, const struct cl_call_filter *f, int64_t now_ms, size_t *len, char *err);
/* cl_view_call() : the call with "events":[...]; NULL with err "" when there is no such call. */
json_t *cl_view_call(struct cl_store *st, const char *call_id, int64_t now_ms, char *err);
/* cl_view_agents() : {"agents":[{"id","name","state","reason","since"}, ...]} by id. */
json_t *cl_view_agents(struct cl_store *st, char *err);
/*
 * cl_view_queue_stats() : [{"queue","offered","waiting","longest_wait_ms","answered",
 * "abandoned","average_wait_ms","answered_within_sla","service_level"}, ...] for the
 * calls offered since from_ms (see cl_store_queue_stats).
 */
json_t *cl_view_queue_stats(struct cl_store *st, const char *queue, int64_t from_ms, int64_t now_ms, int64_t sla_ms,
                            char *err);

/*
 * A customer object: {"id","name","account","tier","email","phones":[...],"notes"},
 * every field a string ("" when not set), phones normalised E.164.
 */
json_t *cl_view_customer(const struct cl_customer *c);

/*
 * cl_view_lookup() : what a pop shows for a normalised number (docs/consoles.md), read
 * in one snapshot:
 *   {"customer": object|null, "matches": N,
 *    "candidates": [object, ...]   only when N > 1: the best first, at most 5,
 *    "history": [{"call_id","started_at","agent","outcome","disposition","notes"}, ...]}
 * Ranking as cl_store_customer_match(). history holds the best customer's last
 * calls (by calls.customer_id), or for an unknown caller the number's (by
 * calls.number), newest first, at most history entries (clamped to
 * 0..CL_CUSTOMERS_MAX_HISTORY). started_at is the offer time (RFC 3339 UTC,
 * ms; null if unknown); agent, disposition (the wrap-up code) and notes are
 * null when not set. exclude_call_id (may be NULL) leaves out the call being popped.
 */
json_t *cl_view_lookup(struct cl_store *st, const char *number, int history, const char *exclude_call_id, char *err);

/*
 * cl_view_lookup_raw() : normalises raw with rules first, then as
 * cl_view_lookup() with two more fields:
 *   "number": the normalised number, or null when there is none;
 *   "number_status": "ok", "none" (empty, anonymous, ...) or "invalid".
 * For "none" and "invalid" no lookup is made: customer null, matches 0,
 * history [] (docs/events.md: "no lookup is made, and the pop says so").
 */
json_t *cl_view_lookup_raw(struct cl_store *st, const struct cl_numbers *rules, const char *raw, int history,
                           const char *exclude_call_id, char *err);

/*
 * cl_view_find_customers() : {"customers":[object, ...]} for a normalised
 * number in ranking order, at most limit (clamped to 1..CL_CUSTOMERS_FIND_MAX).
 */
json_t *cl_view_find_customers(struct cl_store *st, const char *number, int limit, char *err);
/*
 * cl_view_lookup_id() : {"customer": object, "history": [...]} for the
 * customer id (history as in cl_view_lookup()), when an agent picked the
 * call's customer. NULL with err "" when there is no such customer, NULL with
 * err set on error.
 */
json_t *cl_view_lookup_id(struct cl_store *st, const char *id, int history, const char *exclude_call_id, char *err);

/* cl_view_get_customer() : the customer object; NULL with err "" when there is none. */
json_t *cl_view_get_customer(struct cl_store *st, const char *id, char *err);

#endif
