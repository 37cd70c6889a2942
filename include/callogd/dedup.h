/* dedup.h : duplicates decided before fan-out (docs/events.md: a repeated id pops
 * nobody and brings no live call back). It knows the ids read and not yet
 * answered, keeps a Bloom filter of the ids stored, and asks a worker thread to
 * probe the database for ids the filter may have seen. */
#ifndef CALLOGD_DEDUP_H
#define CALLOGD_DEDUP_H

#include <stddef.h>
#include <stdint.h>

struct cl_workers;
struct cl_dedup;

enum cl_verdict {
	CL_VERDICT_WAIT,  /* being probed: the verdict comes through the callback */
	CL_VERDICT_NEW,   /* never applied: fan it out */
	CL_VERDICT_DUP,   /* stored, or another event with this id fans out: do not */
	CL_VERDICT_FRESH, /* as NEW, and a probe found it not stored (NEW may come without a probe: busy workers) */
};

/* Called on the loop thread with a waiting event's verdict (CL_VERDICT_NEW, _FRESH or _DUP). */
typedef void (*cl_dedup_verdict_fn)(void *arg, void *waiter, int verdict);

/* cl_dedup_new() : probes run on workers; verdicts go to fn(arg, ...). NULL on out of memory. */
struct cl_dedup *cl_dedup_new(struct cl_workers *workers, cl_dedup_verdict_fn fn, void *arg);
/* cl_dedup_free() : accepts NULL; waiting events get no verdict. */
void cl_dedup_free(struct cl_dedup *d);

/*
 * cl_dedup_check() : an event with id was read; waiter is the caller's handle
 * for it. Returns its verdict, or CL_VERDICT_WAIT when the database must be
 * asked: fn then gives the verdict later (never from inside this call). Every
 * check is paired with one cl_dedup_done() once the event is answered.
 */
int cl_dedup_check(struct cl_dedup *d, const char *id, void *waiter);
/* cl_dedup_fanned() : the event with id (verdict NEW) had its pops sent. */
void cl_dedup_fanned(struct cl_dedup *d, const char *id);
/*
 * cl_dedup_done() : an event with id was answered: stored (committed, or a
 * duplicate of a stored one) or not (storage error). An id fanned out but never
 * stored is remembered for a while, so that the resend does not pop again.
 */
void cl_dedup_done(struct cl_dedup *d, const char *id, int stored);
/* What the dedup did: database probes made, and new ids the filter of stored ids let through unprobed. */
struct cl_dedup_stats {
	uint64_t probes, unprobed;
	uint64_t filter_ids, filter_bytes; /* 0 until the filter is loaded */
};
void cl_dedup_stats(const struct cl_dedup *d, struct cl_dedup_stats *out);
/* Events waiting for a probe. */
size_t cl_dedup_waiting(const struct cl_dedup *d);
/* Ids known: in flight, and fanned out but not stored. */
size_t cl_dedup_ids(const struct cl_dedup *d);

#endif
