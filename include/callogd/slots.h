/* slots.h : the queue report's roll-up (pure): what each inbound call adds to
 * its queue's 15-minute slot (UTC), summed per slot, queue and disposition
 * code. Slots hold counts, sums and a maximum only, so any run of whole slots
 * adds up to exactly what the report counts from the calls themselves.
 *
 * The writer keeps the stored slots in step with the call records: what a
 * call added before a transaction is taken away, what it adds after is added
 * (cl_slots). A maximum cannot be taken away: a slot whose largest wait may
 * have left is counted again from its calls (cl_store_rebuild_slots).
 */
#ifndef CALLOGD_SLOTS_H
#define CALLOGD_SLOTS_H

#include <stdint.h>

#include "callogd/calls.h"
#include "callogd/report.h"

/* 15 minutes: every zone's offset in use today is a multiple of it, so local
 * hours and days are whole runs of slots. */
#define CL_SLOT_MS 900000LL

/* The queue report's counts and sums (report.h's §10 queue figures before division). */
struct cl_slot_figs {
	int64_t answered, abandoned, short_abandoned, unanswered, active, within_sla, transferred;
	int64_t sum_wait_answered, sum_wait_abandoned, sum_talk, sum_hold, sum_wrap;
	int64_t max_wait; /* over answered, abandoned and unanswered; -1: none */
	int64_t count;    /* a disposition row: calls with its code */
};

/* One stored slot row. Strings are borrowed. */
struct cl_slot_row {
	int64_t slot;      /* its start, ms, a multiple of CL_SLOT_MS */
	const char *queue; /* "" = the calls without a queue */
	const char *code;  /* "" = the queue's figures; else a disposition code (count only) */
	struct cl_slot_figs f;
};

/* cl_slot_start() : the slot holding t (floor, negative times included). */
int64_t cl_slot_start(int64_t t);
/* cl_slot_figs_init() : all zero, no maximum. */
void cl_slot_figs_init(struct cl_slot_figs *f);
/* cl_slot_figs_empty() : 1 when f counts no call. */
int cl_slot_figs_empty(const struct cl_slot_figs *f);
/*
 * cl_slot_count() : adds inbound call c to f by the §10 rules: a short abandon
 * (wait under short_ms) is counted there only; answered within sla_ms when its
 * wait is at most sla_ms. Returns 1 when c counts among the calls a
 * disposition share is over (not a short abandon), else 0.
 */
int cl_slot_count(struct cl_slot_figs *f, const struct cl_report_call *c, int64_t sla_ms, int64_t short_ms);
/* cl_slot_merge() : adds f into into (sums; the larger maximum). */
void cl_slot_merge(struct cl_slot_figs *into, const struct cl_slot_figs *f);

/* cl_report_call_of() : call c as the reports see it (durations as of now_ms; strings borrowed from c). */
void cl_report_call_of(const struct cl_call *c, int64_t now_ms, struct cl_report_call *out);

/* ---- a set of slot deltas ---- */

struct cl_slots;

/* cl_slots_new() : an empty set counting with these thresholds; NULL on out of memory. */
struct cl_slots *cl_slots_new(int64_t sla_ms, int64_t short_ms);
/* cl_slots_free() : accepts NULL. */
void cl_slots_free(struct cl_slots *s);
void cl_slots_reset(struct cl_slots *s);
/*
 * cl_slots_add() : adds (sign 1) or takes away (sign -1) what call c counts
 * for (nothing for an outbound call). 0, or -1 on out of memory.
 */
int cl_slots_add(struct cl_slots *s, const struct cl_report_call *c, int sign);
/*
 * cl_slots_each() : fn(arg, row, recount) for each row whose figures changed;
 * recount is 1 when a wait taken away may have been the stored maximum (the
 * slot must then be counted again from its calls). Stops at fn's first
 * non-zero return and returns it; else 0.
 */
int cl_slots_each(const struct cl_slots *s, int (*fn)(void *, const struct cl_slot_row *, int), void *arg);
size_t cl_slots_count(const struct cl_slots *s);

#endif
