/* writer.c : owns the writer thread: it applies events to call records and
 * commits them in groups, then hands the batches back to the event loop. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "callogd/callcache.h"
#include "callogd/calls.h"
#include "callogd/customers.h"
#include "callogd/hmap.h"
#include "callogd/journal.h"
#include "callogd/log.h"
#include "callogd/report.h"
#include "callogd/slots.h"
#include "callogd/store.h"
#include "callogd/util.h"
#include "callogd/writer.h"

/* Committed call records kept in memory; after each commit they equal the database. */
#define CACHE_MAX 50000
#define WRITER_NICE 19
#define REVOKES_MAX 100000 /* logouts waiting to be stored (a burst of them must not be lost) */

struct cl_writer {
	pthread_t thread;
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	struct cl_batch *queue, **queue_tail; /* submitted, not yet taken */
	struct cl_batch *done, **done_tail;   /* finished, not yet delivered */
	atomic_size_t backlog;                /* events submitted and not yet committed */
	int stop;
	int ready;            /* the thread has its name and priority: cl_writer_start() waits for it */
	int64_t purge_before; /* a retention purge is asked for, 0 = none */
	struct revoke {
		char mac[72];
		int64_t until_ms;
	} * revokes; /* logouts to store, nrevokes of them (capacity revokes_cap) */
	int nrevokes, revokes_cap;

	struct cl_store *st;
	int64_t last_seq;
	struct cl_callcache *cache;       /* the committed call records, with their marks */
	struct cl_slots *slots;           /* the report slots' deltas of the open transaction; NULL: slots not kept */
	int64_t slot_sla, slot_short;     /* the thresholds the stored slots are counted with */
	int64_t want_sla, want_short;     /* asked for by cl_writer_slots(); want_sla -1: nothing asked */
	uint64_t slots_asked, slots_done; /* cl_writer_slots() requests made and handled */
	uint64_t gen;                     /* counts transactions: marks which calls one touched */
	struct cl_journal *journal;       /* webhook deliveries the touched calls cause, or NULL */
	void (*kick)(void *arg);          /* told after a commit that journaled some */
	void *kick_arg;

	/*
	 * The writer wakes the loop through an eventfd written with no lock held,
	 * never through libevent: event_active() from this thread takes the
	 * base's lock and wakes the loop inside it, so the loop woke only to wait
	 * on a lock held by a nice-19 thread it had just preempted.
	 */
	int wake_fd;
	struct event *done_ev;
	cl_writer_done_fn done_fn;
	void *done_arg;
};

struct cl_batch *
cl_batch_new(void)
{
	return calloc(1, sizeof(struct cl_batch));
}

int
cl_batch_add(struct cl_batch *b, struct cl_event *ev, struct cl_answer *slot)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct cl_witem *items = realloc(b->items, cap * sizeof(*items));
		if (items == NULL)
			return -1;
		b->items = items;
		b->cap = cap;
	}
	b->items[b->n].ev = *ev;
	b->items[b->n].slot = slot;
	b->items[b->n].result = CL_WRITE_PENDING;
	b->items[b->n].seq = 0;
	b->n++;
	memset(ev, 0, sizeof(*ev));
	return 0;
}

void
cl_batch_free(struct cl_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		cl_event_clear(&b->items[i].ev);
	free(b->items);
	free(b);
}

/* The calls a transaction touched, each once: written back before the commit. */
struct touched {
	struct cl_call **v;
	size_t n, cap;
	uint64_t gen;
};

static int
touch(struct touched *t, struct cl_cached *k)
{
	if (k->gen == t->gen)
		return 0;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct cl_call **v = realloc(t->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = &k->call;
	k->gen = t->gen;
	return 0;
}

/*
 * stamp_customer() : the offered call's customer (the best match for the
 * customer side's number), for calls.customer_id. Pops look the caller up on
 * their own, without waiting for this; a failed match only leaves it unset.
 */
static void
stamp_customer(struct cl_writer *w, struct cl_event *ev)
{
	int outbound = ev->direction == CL_DIR_OUTBOUND;
	const char *number = outbound ? ev->to : ev->from;
	char id[1][CL_ID_MAX + 1], err[CL_ERR_LEN];
	int n;

	if (ev->customer_id != NULL || number == NULL || (outbound ? ev->to_kind : ev->from_kind) != CL_NUMBER_OK)
		return;
	if ((n = cl_store_customer_match(w->st, number, 1, id, NULL, err)) < 0) {
		log_warnx("msg=\"customer not stamped on the call\" call_id=\"%s\" error=\"%s\"", ev->call_id, err);
		return;
	}
	if (n == 1 && ev->ext == NULL && (ev->ext = strdup(id[0])) != NULL)
		ev->customer_id = ev->ext;
}

/* Before a transaction first changes a stored call: what it counted for in the report slots goes. */
static int
slot_take(struct cl_writer *w, struct cl_cached *k, const struct touched *t)
{
	struct cl_report_call rc;

	if (w->slots == NULL || !k->stored || k->gen == t->gen)
		return 0;
	cl_report_call_of(&k->call, 0, &rc);
	return cl_slots_add(w->slots, &rc, -1);
}

/* After: what the call counts for now comes in. */
static int
slot_give(struct cl_writer *w, struct cl_cached *k)
{
	struct cl_report_call rc;

	k->stored = 1;
	if (w->slots == NULL)
		return 0;
	cl_report_call_of(&k->call, 0, &rc);
	return cl_slots_add(w->slots, &rc, 1);
}

/* Applies and stores one event inside the open transaction; -1 fails the transaction. */
static int
write_item(struct cl_writer *w, struct cl_witem *it, struct touched *t, char *err)
{
	struct cl_event *ev = &it->ev;
	int64_t dup = 0;
	int rc;

	ev->seq = w->last_seq + 1;
	rc = cl_store_put_event(w->st, ev, &dup, err);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		it->result = CL_WRITE_DUPLICATE;
		it->seq = dup;
		return 0;
	}
	w->last_seq = ev->seq; /* the store's, when it gives seqs itself (PostgreSQL) */
	it->seq = ev->seq;
	it->result = CL_WRITE_OK;
	if (ev->type == CL_EV_AGENT_STATE)
		return cl_store_put_agent_state(w->st, ev->agent, ev->state, ev->reason, ev->ts, err);
	if (ev->type == CL_EV_OFFERED)
		stamp_customer(w, ev);
	if (ev->type == CL_EV_CUSTOMER && ev->data != NULL) {
		/* ingest put the checked, normalised record there */
		json_t *rec = json_loads(ev->data, 0, NULL);
		rc = rec ? cl_customer_put(w->st, rec, ev->received_at, err) : -1;
		json_decref(rec);
		if (rc < 0)
			return -1;
	}
	if (ev->call_id == NULL)
		return 0;
	struct cl_cached *k = cl_callcache_get(w->cache, w->st, ev->call_id, err);
	if (k == NULL)
		return -1;
	if (slot_take(w, k, t) < 0) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	if (cl_call_apply(&k->call, ev) < 0 || touch(t, k) < 0) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	k->call.last_seq = ev->seq;
	if (!cl_event_is_mark(ev->type))
		return 0;
	if (cl_store_put_mark(w->st, ev, err) < 0)
		return -1;
	return cl_callcache_mark(k, ev, err);
}

/* Commits every queued batch in one transaction. */
static void
commit_group(struct cl_writer *w, struct cl_batch *group)
{
	struct touched t = {.gen = ++w->gen};
	char err[CL_ERR_LEN] = "";
	int64_t start = cl_mono_us(), saved_seq = w->last_seq;
	size_t total = 0;
	struct cl_batch *b;
	int ok = cl_store_begin(w->st, err) == 0, changed, rc, journaled = 0;

	/* Another connection (callogctl purge, import) committed: cached records may be stale. */
	if (ok && (changed = cl_store_changed(w->st, err)) != 0) {
		if (changed < 0)
			ok = 0;
		else
			cl_callcache_clear(w->cache);
	}
	for (b = group; ok && b; b = b->next)
		for (size_t i = 0; ok && i < b->n; i++)
			ok = write_item(w, &b->items[i], &t, err) == 0;
	for (size_t i = 0; ok && i < t.n; i++) {
		ok = cl_callcache_put_legs(w->cache, w->st, (struct cl_cached *)(void *)t.v[i], err) == 0 &&
		     cl_store_put_call(w->st, t.v[i], err) == 0;
		if (ok && w->journal != NULL &&
		    (rc = cl_journal_call(w->journal, w->st, t.v[i], cl_now_ms(), err)) != 0)
			ok = rc > 0 ? (journaled = 1) : 0;
	}
	for (size_t i = 0; ok && i < t.n; i++)
		if (slot_give(w, (struct cl_cached *)(void *)t.v[i]) < 0) {
			snprintf(err, CL_ERR_LEN, "out of memory");
			ok = 0;
		}
	if (ok && w->slots != NULL)
		ok = cl_store_put_slots(w->st, w->slots, w->slot_sla, w->slot_short, err) == 0;
	if (w->slots != NULL)
		cl_slots_reset(w->slots);
	if (ok)
		ok = cl_store_commit(w->st, err) == 0;
	if (ok && journaled && w->kick != NULL)
		w->kick(w->kick_arg);
	if (!ok) {
		log_error("msg=\"commit failed\" error=\"%s\"", err);
		cl_store_rollback(w->st);
		w->last_seq = saved_seq;
		/* The cache may hold what was rolled back: drop what this group touched. */
		for (b = group; b; b = b->next)
			for (size_t i = 0; i < b->n; i++)
				if (b->items[i].ev.call_id)
					cl_callcache_evict(w->cache, b->items[i].ev.call_id);
	}
	free(t.v);
	for (b = group; b; b = b->next) {
		total += b->n;
		if (!ok) {
			snprintf(b->err, sizeof(b->err), "%s", err);
			for (size_t i = 0; i < b->n; i++)
				b->items[i].result = CL_WRITE_FAILED;
		}
	}
	for (b = group; b; b = b->next) {
		b->commit_us = cl_mono_us() - start;
		b->group = total;
		b->first = b == group;
	}
	if (cl_callcache_count(w->cache) > CACHE_MAX)
		cl_callcache_clear(w->cache);
}

static void
run_purge(struct cl_writer *w, int64_t before)
{
	char err[CL_ERR_LEN];
	int64_t n;

	if (cl_store_purge(w->st, before, &n, err) < 0) {
		log_error("msg=\"retention purge failed\" error=\"%s\"", err);
		return;
	}
	cl_callcache_clear(w->cache); /* purged calls may be cached */
	log_info("msg=\"retention purge\" calls=%lld", (long long)n);
}

/* Counts the report slots again with new thresholds, in one transaction, unless they have them already. */
static void
set_slots(struct cl_writer *w, int64_t sla_ms, int64_t short_ms)
{
	struct cl_slots *slots;
	char err[CL_ERR_LEN];
	int64_t start = cl_mono_us();

	if (w->slots != NULL && w->slot_sla == sla_ms && w->slot_short == short_ms)
		return;
	if ((slots = cl_slots_new(sla_ms, short_ms)) == NULL) {
		log_error("msg=\"report slots not counted\" error=\"out of memory\"");
		return;
	}
	if (cl_store_begin(w->st, err) < 0 || cl_store_build_slots(w->st, sla_ms, short_ms, err) < 0 ||
	    cl_store_commit(w->st, err) < 0) {
		cl_store_rollback(w->st);
		cl_slots_free(slots);
		log_error("msg=\"report slots not counted: reports count every call\" error=\"%s\"", err);
		return;
	}
	cl_slots_free(w->slots);
	w->slots = slots;
	w->slot_sla = sla_ms;
	w->slot_short = short_ms;
	log_info("msg=\"report slots counted\" sla_ms=%lld short_abandon_ms=%lld ms=%lld", (long long)sla_ms,
	         (long long)short_ms, (long long)((cl_mono_us() - start) / 1000));
}

/* From the writer thread: make the loop run deliver(). */
static void
wake_loop(struct cl_writer *w)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is full, so the loop is woken already. */
	while (write(w->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void *
writer_main(void *arg)
{
	struct cl_writer *w = arg;

	/*
	 * On Linux a thread has its own nice value: the writer yields the CPU to
	 * the loop thread, whose pops are what agents wait for (measured on 2
	 * cores: pop p99 from ~400 us to ~140 us, ingest unchanged: its work is
	 * fsync-bound). A filtered setpriority just leaves it as it is.
	 */
	pthread_setname_np(pthread_self(), "cl-writer"); /* as ps and tests see it */
	if (setpriority(PRIO_PROCESS, 0, WRITER_NICE) < 0)
		log_debug("msg=\"writer priority unchanged\" error=\"%s\"", strerror(errno));
	pthread_mutex_lock(&w->mtx);
	w->ready = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mtx);

	for (;;) {
		struct cl_batch *group, *last;
		pthread_mutex_lock(&w->mtx);
		while (w->queue == NULL && !w->stop && w->purge_before == 0 && w->nrevokes == 0 && w->want_sla < 0)
			pthread_cond_wait(&w->cond, &w->mtx);
		int64_t want_sla = w->want_sla, want_short = w->want_short;
		uint64_t asked = w->slots_asked;
		w->want_sla = -1;
		struct revoke *revokes = w->revokes;
		int nrevokes = w->nrevokes;
		w->revokes = NULL;
		w->nrevokes = w->revokes_cap = 0;
		group = w->queue;
		w->queue = NULL;
		w->queue_tail = &w->queue;
		int64_t purge = w->purge_before;
		w->purge_before = 0;
		pthread_mutex_unlock(&w->mtx);
		for (int i = 0; i < nrevokes; i++) {
			char err[CL_ERR_LEN];
			if (cl_store_revoke_session(w->st, revokes[i].mac, revokes[i].until_ms, cl_now_ms(), err) < 0)
				log_error("msg=\"logout not stored: it lasts until a restart\" error=\"%s\"", err);
		}
		free(revokes);
		if (want_sla >= 0) {
			set_slots(w, want_sla, want_short);
			pthread_mutex_lock(&w->mtx);
			w->slots_done = asked;
			pthread_cond_broadcast(&w->cond);
			pthread_mutex_unlock(&w->mtx);
		}
		if (purge > 0)
			run_purge(w, purge);
		if (group == NULL) {
			if (purge > 0 || nrevokes > 0 || want_sla >= 0)
				continue;
			break; /* stopping, and nothing left */
		}

		commit_group(w, group);

		size_t n = 0;
		for (last = group; last->next; last = last->next)
			n += last->n;
		n += last->n;
		pthread_mutex_lock(&w->mtx);
		int was_empty = w->done == NULL;
		*w->done_tail = group;
		w->done_tail = &last->next;
		pthread_mutex_unlock(&w->mtx);
		atomic_fetch_sub(&w->backlog, n);
		/* Not yet empty: the write that made it non-empty has not been read yet. */
		if (was_empty)
			wake_loop(w);
	}
	return NULL;
}

/* On the loop thread: deliver finished batches in order. */
static void
deliver(evutil_socket_t fd, short what, void *arg)
{
	struct cl_writer *w = arg;
	struct cl_batch *b, *next;
	uint64_t count;

	(void)fd;
	(void)what;
	/* Read the wake-up before taking the list: a batch added after this read writes again. */
	if (read(w->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_warn("msg=\"writer wake-up read failed\" error=\"%s\"", strerror(errno));
	pthread_mutex_lock(&w->mtx);
	b = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	pthread_mutex_unlock(&w->mtx);
	for (; b; b = next) {
		next = b->next;
		b->next = NULL;
		w->done_fn(b, w->done_arg);
	}
}

struct cl_writer *
cl_writer_start(const char *path, struct event_base *base, cl_writer_done_fn done, void *arg, char *err)
{
	struct cl_writer *w = calloc(1, sizeof(*w));
	int rc;

	if (w == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	w->wake_fd = -1;
	pthread_mutex_init(&w->mtx, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->queue_tail = &w->queue;
	w->done_tail = &w->done;
	w->done_fn = done;
	w->done_arg = arg;
	w->want_sla = -1;
	if ((w->st = cl_store_open(path, 0, err)) == NULL || cl_store_last_seq(w->st, &w->last_seq, err) < 0 ||
	    (rc = cl_store_slot_conf(w->st, &w->slot_sla, &w->slot_short, err)) < 0)
		goto fail;
	/* Slots counted before (by any thresholds) are kept in step until cl_writer_slots() asks for others. */
	if (rc == 1 && (w->slots = cl_slots_new(w->slot_sla, w->slot_short)) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		goto fail;
	}
	if ((w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, CL_ERR_LEN, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((w->cache = cl_callcache_new()) == NULL ||
	    (w->done_ev = event_new(base, w->wake_fd, EV_READ | EV_PERSIST, deliver, w)) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		goto fail;
	}
	event_priority_set(w->done_ev, 0);
	if (event_add(w->done_ev, NULL) < 0) {
		snprintf(err, CL_ERR_LEN, "cannot watch the writer's eventfd");
		goto fail;
	}
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		snprintf(err, CL_ERR_LEN, "cannot start the writer thread");
		goto fail;
	}
	/* Ready means ready: the writer has its name and priority before the daemon says READY=1. */
	pthread_mutex_lock(&w->mtx);
	while (!w->ready)
		pthread_cond_wait(&w->cond, &w->mtx);
	pthread_mutex_unlock(&w->mtx);
	return w;
fail:
	cl_callcache_free(w->cache);
	if (w->done_ev)
		event_free(w->done_ev);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	cl_store_close(w->st);
	cl_slots_free(w->slots);
	free(w);
	return NULL;
}

void
cl_writer_submit(struct cl_writer *w, struct cl_batch *b)
{
	atomic_fetch_add(&w->backlog, b->n);
	pthread_mutex_lock(&w->mtx);
	*w->queue_tail = b;
	w->queue_tail = &b->next;
	pthread_mutex_unlock(&w->mtx);
	/* After the unlock, so the writer does not wake to wait for the mutex. */
	pthread_cond_signal(&w->cond);
}

void
cl_writer_slots(struct cl_writer *w, int64_t sla_ms, int64_t short_ms, int wait)
{
	uint64_t ticket;

	pthread_mutex_lock(&w->mtx);
	w->want_sla = sla_ms < 0 ? 0 : sla_ms;
	w->want_short = short_ms;
	ticket = ++w->slots_asked;
	pthread_cond_broadcast(&w->cond);
	while (wait && w->slots_done < ticket)
		pthread_cond_wait(&w->cond, &w->mtx);
	pthread_mutex_unlock(&w->mtx);
}

void
cl_writer_purge(struct cl_writer *w, int64_t before_ms)
{
	pthread_mutex_lock(&w->mtx);
	w->purge_before = before_ms > 0 ? before_ms : 1;
	pthread_mutex_unlock(&w->mtx);
	pthread_cond_signal(&w->cond);
}

int
cl_writer_revoke(struct cl_writer *w, const char *mac, int64_t until_ms)
{
	struct revoke *v;
	int rc = -1, cap;

	pthread_mutex_lock(&w->mtx);
	cap = w->revokes_cap ? (2 * w->revokes_cap < REVOKES_MAX ? 2 * w->revokes_cap : REVOKES_MAX) : 64;
	if (w->nrevokes == w->revokes_cap && cap > w->revokes_cap &&
	    (v = realloc(w->revokes, (size_t)cap * sizeof(*v))) != NULL)
		w->revokes = v, w->revokes_cap = cap;
	if (w->nrevokes < w->revokes_cap && strlen(mac) < sizeof(w->revokes[0].mac)) {
		struct revoke *r = &w->revokes[w->nrevokes++];
		snprintf(r->mac, sizeof(r->mac), "%s", mac);
		r->until_ms = until_ms;
		rc = 0;
	}
	pthread_mutex_unlock(&w->mtx);
	pthread_cond_signal(&w->cond);
	return rc;
}

void
cl_writer_set_journal(struct cl_writer *w, struct cl_journal *j, void (*kick)(void *arg), void *arg)
{
	pthread_mutex_lock(&w->mtx);
	w->journal = j;
	w->kick = kick;
	w->kick_arg = arg;
	pthread_mutex_unlock(&w->mtx);
}

size_t
cl_writer_backlog(struct cl_writer *w)
{
	return atomic_load(&w->backlog);
}

void
cl_writer_stop(struct cl_writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mtx);
	w->stop = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mtx);
	pthread_join(w->thread, NULL);
	deliver(-1, 0, w);
	event_free(w->done_ev);
	close(w->wake_fd);
	cl_callcache_free(w->cache);
	free(w->revokes); /* asked for after the thread ended */
	cl_slots_free(w->slots);
	cl_store_close(w->st);
	pthread_mutex_destroy(&w->mtx);
	pthread_cond_destroy(&w->cond);
	free(w);
}
