/* workers.c : owns the worker threads that read the database for the event
 * loop, and hands their finished jobs back to it through one eventfd. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "callogd/log.h"
#include "callogd/store.h"
#include "callogd/workers.h"

#define THREADS_MAX 16
/*
 * Workers yield the CPU to the loop thread (nice 0, or -5 under the unit), whose
 * pops agents wait for, but not to the writer (19): a caller lookup must not
 * wait behind a group commit's CPU work.
 */
#define WORKER_NICE 10

struct jobq {
	struct cl_job *head, **tail;
	size_t n;
};

struct worker {
	struct cl_workers *pool;
	pthread_t thread;
	int started;
	struct cl_worker_ctx ctx;
};

struct cl_workers {
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	struct jobq q[CL_JOB__PRIOS]; /* submitted, not yet taken */
	struct jobq done;             /* finished, not yet delivered */
	size_t queue_max;
	size_t pending; /* queued or running, not yet delivered */
	int running_low, low_max;
	int stop;

	int wake_fd; /* written with no lock held; see writer.c for why not event_active() */
	struct event *done_ev;
	int nthreads;
	int ready; /* threads named and at their priority */
	struct worker *t;
};

static void
jobq_init(struct jobq *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->n = 0;
}

static void
jobq_push(struct jobq *q, struct cl_job *j)
{
	j->next = NULL;
	*q->tail = j;
	q->tail = &j->next;
	q->n++;
}

static struct cl_job *
jobq_pop(struct jobq *q)
{
	struct cl_job *j = q->head;

	if (j == NULL)
		return NULL;
	if ((q->head = j->next) == NULL)
		q->tail = &q->head;
	q->n--;
	j->next = NULL;
	return j;
}

/* The job a worker may take now, under the lock; NULL when none. */
static struct cl_job *
take(struct cl_workers *w, int *prio)
{
	struct cl_job *j;

	if ((j = jobq_pop(&w->q[CL_JOB_HIGH])) != NULL) {
		*prio = CL_JOB_HIGH;
		return j;
	}
	if (w->running_low < w->low_max && (j = jobq_pop(&w->q[CL_JOB_LOW])) != NULL) {
		*prio = CL_JOB_LOW;
		w->running_low++;
	}
	return j;
}

static void
wake_loop(struct cl_workers *w)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is full, so the loop is woken already. */
	while (write(w->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void *
worker_main(void *arg)
{
	struct worker *me = arg;
	struct cl_workers *w = me->pool;

	char name[16];

	snprintf(name, sizeof(name), "cl-worker-%d", me->ctx.index);
	pthread_setname_np(pthread_self(), name);
	if (setpriority(PRIO_PROCESS, 0, WORKER_NICE) < 0)
		log_debug("msg=\"worker priority unchanged\" error=\"%s\"", strerror(errno));
	pthread_mutex_lock(&w->mtx);
	w->ready++; /* cl_workers_start() returns once every thread got this far */
	pthread_cond_broadcast(&w->cond);
	for (;;) {
		struct cl_job *j;
		int prio = CL_JOB_HIGH;
		while (!w->stop && (j = take(w, &prio)) == NULL)
			pthread_cond_wait(&w->cond, &w->mtx);
		if (w->stop)
			break; /* what is still queued is cancelled by cl_workers_stop() */
		pthread_mutex_unlock(&w->mtx);

		j->run(j, &me->ctx);
		j->status = CL_JOB_RAN;

		pthread_mutex_lock(&w->mtx);
		if (prio == CL_JOB_LOW) {
			w->running_low--;
			if (w->q[CL_JOB_LOW].n > 0) /* a waiting worker may take one now */
				pthread_cond_signal(&w->cond);
		}
		int was_empty = w->done.head == NULL;
		jobq_push(&w->done, j);
		if (was_empty) /* not empty: the write that made it non-empty is not read yet */
			wake_loop(w);
	}
	pthread_mutex_unlock(&w->mtx);
	return NULL;
}

/* On the loop thread: finished jobs, in the order they finished. */
static void
deliver(evutil_socket_t fd, short what, void *arg)
{
	struct cl_workers *w = arg;
	struct cl_job *j, *next;
	uint64_t count;

	(void)fd;
	(void)what;
	/* Read the wake-up before taking the list: a job added after this read writes again. */
	if (read(w->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_warn("msg=\"worker wake-up read failed\" error=\"%s\"", strerror(errno));
	pthread_mutex_lock(&w->mtx);
	j = w->done.head;
	w->pending -= w->done.n;
	jobq_init(&w->done);
	pthread_mutex_unlock(&w->mtx);
	for (; j; j = next) {
		next = j->next;
		j->next = NULL;
		j->done(j, j->status);
	}
}

static void
close_ctx(struct cl_worker_ctx *ctx)
{
	cl_store_close(ctx->st);
	ctx->st = NULL;
}

/* Stops and joins the threads that started. */
static void
join_all(struct cl_workers *w)
{
	pthread_mutex_lock(&w->mtx);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mtx);
	for (int i = 0; i < w->nthreads; i++)
		if (w->t[i].started)
			pthread_join(w->t[i].thread, NULL);
}

static void
pool_free(struct cl_workers *w)
{
	for (int i = 0; i < w->nthreads; i++)
		close_ctx(&w->t[i].ctx);
	if (w->done_ev)
		event_free(w->done_ev);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	pthread_mutex_destroy(&w->mtx);
	pthread_cond_destroy(&w->cond);
	free(w->t);
	free(w);
}

struct cl_workers *
cl_workers_start(const char *path, struct event_base *base, int threads, size_t queue_max, char *err)
{
	struct cl_workers *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	threads = threads < 1 ? 1 : threads > THREADS_MAX ? THREADS_MAX : threads;
	w->wake_fd = -1;
	pthread_mutex_init(&w->mtx, NULL);
	pthread_cond_init(&w->cond, NULL);
	for (int p = 0; p < CL_JOB__PRIOS; p++)
		jobq_init(&w->q[p]);
	jobq_init(&w->done);
	w->queue_max = queue_max ? queue_max : 1;
	w->low_max = threads > 1 ? threads - 1 : 1;
	if ((w->t = calloc((size_t)threads, sizeof(*w->t))) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		goto fail;
	}
	w->nthreads = threads;
	for (int i = 0; i < threads; i++) {
		struct cl_worker_ctx *ctx = &w->t[i].ctx;
		w->t[i].pool = w;
		ctx->index = i;
		if ((ctx->st = cl_store_open(path, CL_STORE_READONLY, err)) == NULL)
			goto fail;
	}
	if ((w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, CL_ERR_LEN, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((w->done_ev = event_new(base, w->wake_fd, EV_READ | EV_PERSIST, deliver, w)) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		goto fail;
	}
	/* Priority 0 where the base has priorities (the daemon's does), like the writer's completions. */
	if (event_base_get_npriorities(base) > 1)
		event_priority_set(w->done_ev, 0);
	if (event_add(w->done_ev, NULL) < 0) {
		snprintf(err, CL_ERR_LEN, "cannot watch the workers' eventfd");
		goto fail;
	}
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&w->t[i].thread, NULL, worker_main, &w->t[i]) != 0) {
			snprintf(err, CL_ERR_LEN, "cannot start worker thread %d", i);
			goto fail;
		}
		w->t[i].started = 1;
	}
	/* Ready means ready: every thread has its name and priority before the daemon says READY=1. */
	pthread_mutex_lock(&w->mtx);
	while (w->ready < threads)
		pthread_cond_wait(&w->cond, &w->mtx);
	pthread_mutex_unlock(&w->mtx);
	return w;
fail:
	if (w->t)
		join_all(w);
	pool_free(w);
	return NULL;
}

int
cl_workers_submit(struct cl_workers *w, struct cl_job *job, enum cl_job_prio prio, char *err)
{
	int rc = -1;

	if (prio < 0 || prio >= CL_JOB__PRIOS)
		prio = CL_JOB_LOW;
	pthread_mutex_lock(&w->mtx);
	if (w->stop) {
		snprintf(err, CL_ERR_LEN, "stopping");
	} else if (w->q[prio].n >= w->queue_max) {
		snprintf(err, CL_ERR_LEN, "busy");
	} else {
		job->status = CL_JOB_CANCELLED;
		jobq_push(&w->q[prio], job);
		w->pending++;
		rc = 0;
	}
	pthread_mutex_unlock(&w->mtx);
	/* After the unlock, so the worker does not wake to wait for the mutex. */
	if (rc == 0)
		pthread_cond_signal(&w->cond);
	return rc;
}

size_t
cl_workers_pending(struct cl_workers *w)
{
	size_t n;

	pthread_mutex_lock(&w->mtx);
	n = w->pending;
	pthread_mutex_unlock(&w->mtx);
	return n;
}

void
cl_workers_stop(struct cl_workers *w)
{
	struct cl_job *j;

	if (w == NULL)
		return;
	/* A long report must not hold up the shutdown: its statement fails "interrupted" now. */
	for (int i = 0; i < w->nthreads; i++)
		if (w->t[i].ctx.st)
			cl_store_interrupt(w->t[i].ctx.st);
	join_all(w);
	/* The threads are gone: what never started is delivered as cancelled, after what ran. */
	for (int p = 0; p < CL_JOB__PRIOS; p++)
		while ((j = jobq_pop(&w->q[p])) != NULL)
			jobq_push(&w->done, j);
	deliver(-1, 0, w);
	pool_free(w);
}
