/* dedup.c : owns the ids of events in flight (read, not yet answered) and of
 * events fanned out but not stored, and the database probes for the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/bloom.h"
#include "callogd/dedup.h"
#include "callogd/event.h"
#include "callogd/hmap.h"
#include "callogd/log.h"
#include "callogd/store.h"
#include "callogd/util.h"
#include "callogd/workers.h"

#define KEPT_MAX 10000                /* ids fanned out but not stored, remembered at once */
#define KEPT_MS (3600 * 1000LL)       /* ... for this long: a producer resends within it */
#define WAITERS_MAX (1024 * 1024)     /* events waiting on one probe (bounded by ingest's backpressure) */
#define FILTER_MIN ((size_t)1 << 20)  /* ids a filter is sized for, at least (1.3 MB) */
#define FILTER_MAX ((size_t)32 << 20) /* ... at most (40 MB): beyond, the false "maybe"s grow and are probed */
#define PENDING_MAX ((size_t)1 << 20) /* ids stored while a filter loads, kept to add to it */
#define RETRY_MS 10000                /* after a load failed on a storage error */

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
	/*
	 * Every id stored, in a Bloom filter: an id it has certainly never seen
	 * is new without asking the database. Loaded on a worker at start (NULL
	 * until then: every new id is probed), rebuilt larger when it fills up.
	 */
	struct cl_bloom *filter;
	struct load_job *loading; /* a filter being built on a worker, or NULL */
	char **pending;           /* ids stored since that build began: added to it when done */
	size_t npending, cappending;
	int spoiled;         /* too many of them: that build is dropped */
	int no_filter;       /* the store cannot list its ids (shared by several nodes): probe every new id */
	int64_t retry_at_ms; /* a load that failed is tried again from then */
	struct cl_dedup_stats stats;
};

/* A filter built on a worker from the ids stored. */
struct load_job {
	struct cl_job job;
	struct cl_dedup *d; /* NULL once the dedup is gone */
	size_t capacity;
	struct cl_bloom *b;
	int rc;
	int unsupported; /* the store cannot list ids */
	char err[CL_ERR_LEN];
};

struct probe {
	struct cl_job job;
	struct cl_dedup *d;
	int found; /* 1 stored, 0 not, -1 the probe failed */
	char err[CL_ERR_LEN];
	char id[CL_ID_MAX + 1];
};

static int
load_add(void *arg, const char *id, size_t len)
{
	cl_bloom_add(arg, id, len);
	return 0;
}

/* On a worker: every stored id into a new filter. */
static void
load_run(struct cl_job *job, struct cl_worker_ctx *ctx)
{
	struct load_job *lj = (struct load_job *)job;
	int64_t last = 0;

	if (!cl_store_lists_event_ids(ctx->st)) {
		lj->unsupported = 1;
		lj->rc = -1;
		snprintf(lj->err, sizeof(lj->err), "the store cannot list its ids");
		return;
	}
	if (lj->capacity == 0) {
		/* Sized from the highest seq: at least as many as the events with ids, and cheap to read. */
		if (cl_store_last_seq(ctx->st, &last, lj->err) < 0) {
			lj->rc = -1;
			return;
		}
		lj->capacity = (size_t)last * 2;
	}
	lj->capacity = lj->capacity < FILTER_MIN ? FILTER_MIN : lj->capacity > FILTER_MAX ? FILTER_MAX : lj->capacity;
	if ((lj->b = cl_bloom_new(lj->capacity)) == NULL) {
		snprintf(lj->err, sizeof(lj->err), "out of memory");
		lj->rc = -1;
		return;
	}
	lj->rc = cl_store_event_ids(ctx->st, load_add, lj->b, lj->err);
}

static void
pending_clear(struct cl_dedup *d)
{
	for (size_t i = 0; i < d->npending; i++)
		free(d->pending[i]);
	free(d->pending);
	d->pending = NULL;
	d->npending = d->cappending = 0;
	d->spoiled = 0;
}

static void
load_done(struct cl_job *job, int status)
{
	struct load_job *lj = (struct load_job *)job;
	struct cl_dedup *d = lj->d;

	if (d == NULL || status != CL_JOB_RAN || lj->rc != 0 || d->spoiled) {
		if (d != NULL && status == CL_JOB_RAN && lj->rc != 0) {
			log_info("msg=\"duplicate filter not loaded: every new id is probed\" error=\"%s\" retry=%s",
			         lj->err, lj->unsupported ? "no" : "in 10 s");
			d->no_filter = lj->unsupported;
			d->retry_at_ms = cl_now_ms() + RETRY_MS; /* a storage error passes: try again */
		}
	} else {
		for (size_t i = 0; i < d->npending; i++)
			cl_bloom_add(lj->b, d->pending[i], strlen(d->pending[i]));
		cl_bloom_free(d->filter);
		d->filter = lj->b;
		lj->b = NULL;
		log_debug("msg=\"duplicate filter loaded\" ids=%zu capacity=%zu", cl_bloom_count(d->filter),
		          cl_bloom_capacity(d->filter));
	}
	if (d != NULL) {
		d->loading = NULL;
		pending_clear(d);
	}
	cl_bloom_free(lj->b);
	free(lj);
}

/* Starts building a filter for capacity ids (0: sized by the store) unless one is being built. */
static void
load_start(struct cl_dedup *d, size_t capacity)
{
	struct load_job *lj;
	char err[CL_ERR_LEN];

	if (d->loading != NULL || d->no_filter || (lj = calloc(1, sizeof(*lj))) == NULL)
		return;
	lj->job.run = load_run;
	lj->job.done = load_done;
	lj->d = d;
	lj->capacity = capacity;
	if (cl_workers_submit(d->workers, &lj->job, CL_JOB_LOW, err) < 0) {
		free(lj);
		return; /* tried again when an id is stored */
	}
	d->loading = lj;
}

/* An id is in the database now: into the filter, and kept for the one being built. */
static void
filter_stored(struct cl_dedup *d, const char *id)
{
	if (d->filter != NULL) {
		cl_bloom_add(d->filter, id, strlen(id));
		if (cl_bloom_count(d->filter) > cl_bloom_capacity(d->filter) &&
		    cl_bloom_capacity(d->filter) < FILTER_MAX)
			load_start(d, cl_bloom_count(d->filter) * 2);
	}
	if (d->loading == NULL) {
		if (d->filter == NULL && cl_now_ms() >= d->retry_at_ms)
			load_start(d, 0); /* the last try could not be queued, or failed */
		return;
	}
	if (d->spoiled)
		return;
	if (d->npending == d->cappending) {
		size_t cap = d->cappending ? d->cappending * 2 : 256;
		char **v = cap <= PENDING_MAX ? realloc(d->pending, cap * sizeof(*v)) : NULL;
		if (v == NULL) {
			d->spoiled = 1;
			return;
		}
		d->pending = v;
		d->cappending = cap;
	}
	if ((d->pending[d->npending] = strdup(id)) == NULL)
		d->spoiled = 1;
	else
		d->npending++;
}

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
	load_start(d, 0);
	return d;
}

void
cl_dedup_stats(const struct cl_dedup *d, struct cl_dedup_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (d == NULL)
		return;
	*out = d->stats;
	out->filter_ids = d->filter ? cl_bloom_count(d->filter) : 0;
	out->filter_bytes = d->filter ? cl_bloom_bytes(d->filter) : 0;
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
	if (d->loading)
		d->loading->d = NULL; /* cannot happen: freed after the workers stopped */
	pending_clear(d);
	cl_bloom_free(d->filter);
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
	int verdict = status == CL_JOB_RAN && pr->found == 0 ? CL_VERDICT_FRESH : CL_VERDICT_NEW;

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
	if (d->filter != NULL && !cl_bloom_maybe(d->filter, id, strlen(id))) {
		d->stats.unprobed++; /* certainly never stored */
		return CL_VERDICT_NEW;
	}
	if ((pr = calloc(1, sizeof(*pr))) != NULL) {
		pr->job.run = probe_run;
		pr->job.done = probe_done;
		pr->d = d;
		snprintf(pr->id, sizeof(pr->id), "%s", id);
		if (cl_workers_submit(d->workers, &pr->job, CL_JOB_HIGH, err) == 0) {
			d->stats.probes++;
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

	if (stored)
		filter_stored(d, id);
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
