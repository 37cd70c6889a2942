/* dedup.c : owns the ids of events in flight (read, not yet answered) and of
 * events fanned out but not stored, and the database probes for the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/dedup.h"
#include "callogd/event.h"
#include "callogd/hmap.h"
#include "callogd/log.h"
#include "callogd/store.h"
#include "callogd/util.h"
#include "callogd/workers.h"

#define KEPT_MAX 10000            /* ids fanned out but not stored, remembered at once */
#define KEPT_MS (3600 * 1000LL)   /* ... for this long: a producer resends within it */
#define WAITERS_MAX (1024 * 1024) /* events waiting on one probe (bounded by ingest's backpressure) */

struct idrec {
	size_t holders;  /* events with this id read and not yet answered */
	int probing;     /* a probe is out: the holders wait for it */
	int stored;      /* in the database: all further events with this id are duplicates */
	int fanned;      /* an event with this id had its pops sent */
	int64_t kept_ms; /* no holders, fanned, not stored: since when it is remembered; 0 = in flight */
	void *first;     /* the holder that owns the probe's verdict */
	void **waiters;  /* the other holders that came while probing */
	size_t nwaiters, capwaiters;
};

struct cl_dedup {
	struct cl_workers *workers;
	cl_dedup_verdict_fn fn;
	void *arg;
	struct cl_hmap *ids; /* id -> struct idrec */
	size_t waiting, kept;
	int warned;
};

struct probe {
	struct cl_job job;
	struct cl_dedup *d;
	int found; /* 1 stored, 0 not, -1 the probe failed */
	char err[CL_ERR_LEN];
	char id[CL_ID_MAX + 1];
};

struct cl_dedup *
cl_dedup_new(struct cl_workers *workers, cl_dedup_verdict_fn fn, void *arg)
{
	struct cl_dedup *d = calloc(1, sizeof(*d));

	if (d == NULL || (d->ids = cl_hmap_new()) == NULL) {
		free(d);
		return NULL;
	}
	d->workers = workers;
	d->fn = fn;
	d->arg = arg;
	return d;
}

static void
rec_free(struct idrec *r)
{
	free(r->waiters);
	free(r);
}

void
cl_dedup_free(struct cl_dedup *d)
{
	if (d == NULL)
		return;
	for (struct cl_hmap_entry *e = cl_hmap_next(d->ids, NULL); e; e = cl_hmap_next(d->ids, e))
		rec_free(e->val);
	cl_hmap_free(d->ids);
	free(d);
}

size_t
cl_dedup_waiting(const struct cl_dedup *d)
{
	return d ? d->waiting : 0;
}

size_t
cl_dedup_ids(const struct cl_dedup *d)
{
	return d ? cl_hmap_count(d->ids) : 0;
}

static void
rec_delete(struct cl_dedup *d, const char *id, struct idrec *r)
{
	if (r->kept_ms)
		d->kept--;
	cl_hmap_del(d->ids, id);
	rec_free(r);
}

/* On a worker: an index lookup on the worker's own read connection. */
static void
probe_run(struct cl_job *job, struct cl_worker_ctx *ctx)
{
	struct probe *pr = (struct probe *)job;
	int64_t seq;

	pr->found = cl_store_event_seq(ctx->st, pr->id, &seq, pr->err);
}

static void
probe_done(struct cl_job *job, int status)
{
	struct probe *pr = (struct probe *)job;
	struct cl_dedup *d = pr->d;
	struct idrec *r = cl_hmap_get(d->ids, pr->id);
	int verdict = CL_VERDICT_NEW;

	if (status == CL_JOB_RAN && pr->found < 0)
		log_warnx("msg=\"duplicate probe failed: the event is fanned out\" id=\"%s\" error=\"%s\"", pr->id,
		          pr->err);
	if (r == NULL) { /* cannot happen: holders stay until their verdict */
		free(pr);
		return;
	}
	if (status == CL_JOB_RAN && pr->found == 1) {
		r->stored = 1;
		verdict = CL_VERDICT_DUP;
	}
	r->probing = 0;
	/* Take the waiters first: a verdict may answer an event, and that may end the record. */
	void *first = r->first, **waiters = r->waiters;
	size_t n = r->nwaiters;
	r->first = NULL;
	r->waiters = NULL;
	r->nwaiters = r->capwaiters = 0;
	d->waiting -= n + 1;
	free(pr);
	d->fn(d->arg, first, verdict);
	for (size_t i = 0; i < n; i++)
		d->fn(d->arg, waiters[i], CL_VERDICT_DUP);
	free(waiters);
}

static int
add_waiter(struct idrec *r, void *waiter)
{
	if (r->nwaiters == r->capwaiters) {
		size_t cap = r->capwaiters ? r->capwaiters * 2 : 4;
		void **v = cap <= WAITERS_MAX ? realloc(r->waiters, cap * sizeof(*v)) : NULL;
		if (v == NULL)
			return -1;
		r->waiters = v;
		r->capwaiters = cap;
	}
	r->waiters[r->nwaiters++] = waiter;
	return 0;
}

int
cl_dedup_check(struct cl_dedup *d, const char *id, void *waiter)
{
	struct idrec *r = cl_hmap_get(d->ids, id);
	struct probe *pr;
	char err[CL_ERR_LEN];

	if (r != NULL && r->kept_ms != 0 && cl_now_ms() - r->kept_ms > KEPT_MS) {
		rec_delete(d, id, r); /* remembered long enough: ask the database again */
		r = NULL;
	}
	if (r != NULL) {
		if (r->kept_ms) {
			r->kept_ms = 0;
			d->kept--;
		}
		r->holders++;
		if (r->probing) {
			if (add_waiter(r, waiter) == 0) {
				d->waiting++;
				return CL_VERDICT_WAIT;
			}
			/* Out of memory: not fanned out, but it must not reach the writer before the probe. */
		}
		return CL_VERDICT_DUP;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL || cl_hmap_put(d->ids, id, r) < 0) {
		free(r);
		return CL_VERDICT_NEW; /* out of memory: better a second pop than none */
	}
	r->holders = 1;
	if ((pr = calloc(1, sizeof(*pr))) != NULL) {
		pr->job.run = probe_run;
		pr->job.done = probe_done;
		pr->d = d;
		snprintf(pr->id, sizeof(pr->id), "%s", id);
		if (cl_workers_submit(d->workers, &pr->job, CL_JOB_HIGH, err) == 0) {
			r->probing = 1;
			r->first = waiter;
			d->waiting++;
			return CL_VERDICT_WAIT;
		}
		free(pr);
	} else {
		snprintf(err, sizeof(err), "out of memory");
	}
	if (!d->warned)
		log_warnx("msg=\"duplicate probe not made: the event is fanned out\" error=\"%s\"", err);
	d->warned = 1;
	return CL_VERDICT_NEW;
}

void
cl_dedup_fanned(struct cl_dedup *d, const char *id)
{
	struct idrec *r = cl_hmap_get(d->ids, id);

	if (r != NULL)
		r->fanned = 1;
}

void
cl_dedup_done(struct cl_dedup *d, const char *id, int stored)
{
	struct idrec *r = cl_hmap_get(d->ids, id);

	if (r == NULL)
		return;
	r->stored |= stored;
	if (r->holders > 0)
		r->holders--;
	if (r->holders > 0 || r->probing)
		return;
	if (r->stored || !r->fanned || d->kept >= KEPT_MAX) {
		rec_delete(d, id, r);
		return;
	}
	/* Its pops went out but it was never stored: the resend ("storage": send again) must not pop again. */
	r->kept_ms = cl_now_ms();
	d->kept++;
}
