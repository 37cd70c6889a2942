/* test_workers.c : the worker pool: jobs run on worker threads with their own
 * connection, completions come back on the loop thread, priorities, the queue
 * bound and shutdown. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "callogd/store.h"
#include "callogd/workers.h"
#include "testutil.h"

static pthread_t loop_thread;
static atomic_int gate_open;   /* gated jobs spin until it is set */
static atomic_int low_running; /* gated low jobs running now */
static atomic_int low_peak;    /* the most that ever ran at once */
static int ran, cancelled, done_off_loop, in_submit;
static int order[16], norder;
static struct tjob *last_done_copy;

struct tjob {
	struct cl_job job;
	int gated, low, tag;
	int64_t seq;     /* read through the worker's connection */
	int on_loop;     /* run() ran on the loop thread (it must not) */
	int had_ctx;     /* run() got a connection */
	int agent_found; /* cl_store_agent_active() through the worker's connection */
};

static void
sleep_ms(int ms)
{
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
}

static void
trun(struct cl_job *j, struct cl_worker_ctx *ctx)
{
	struct tjob *t = (struct tjob *)j;

	t->on_loop = pthread_equal(pthread_self(), loop_thread);
	t->had_ctx = ctx->st != NULL;
	if (ctx->st) {
		char err[CL_ERR_LEN];
		if (cl_store_last_seq(ctx->st, &t->seq, err) < 0)
			t->seq = -1;
		t->agent_found = cl_store_agent_active(ctx->st, "a1");
	}
	if (t->gated) {
		if (t->low) {
			int now = atomic_fetch_add(&low_running, 1) + 1, peak = atomic_load(&low_peak);
			while (now > peak && !atomic_compare_exchange_weak(&low_peak, &peak, now))
				;
		}
		while (!atomic_load(&gate_open))
			sleep_ms(1);
		if (t->low)
			atomic_fetch_sub(&low_running, 1);
	}
}

static void
tdone(struct cl_job *j, int status)
{
	struct tjob *t = (struct tjob *)j;

	if (!pthread_equal(pthread_self(), loop_thread) || in_submit)
		done_off_loop++;
	if (status == CL_JOB_RAN) {
		ran++;
		if (last_done_copy)
			*last_done_copy = *t;
		if (norder < 16)
			order[norder++] = t->tag;
	} else {
		cancelled++;
	}
	free(t);
}

static struct tjob *
tjob(int gated, int low, int tag)
{
	struct tjob *t = calloc(1, sizeof(*t));
	t->job.run = trun;
	t->job.done = tdone;
	t->gated = gated;
	t->low = low;
	t->tag = tag;
	return t;
}

static int
submit(struct cl_workers *w, struct tjob *t, enum cl_job_prio prio)
{
	char err[CL_ERR_LEN] = "";
	in_submit = 1;
	int rc = cl_workers_submit(w, &t->job, prio, err);
	in_submit = 0;
	if (rc < 0)
		CHECK_STR(err, "busy");
	return rc;
}

/* Runs the loop until ran + cancelled reaches n, or about 5 s. */
static void
loop_until(struct event_base *base, int n)
{
	for (int i = 0; i < 5000 && ran + cancelled < n; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		sleep_ms(1);
	}
}

/* A job's inputs and outputs cross threads; run() reads the database with the worker's own connection. */
static void
test_runs_off_loop(struct event_base *base, const char *path)
{
	char err[CL_ERR_LEN];
	struct cl_workers *w = cl_workers_start(path, base, 2, 8, err);
	CHECK(w != NULL);
	if (w == NULL)
		return;
	ran = cancelled = done_off_loop = norder = 0;
	struct tjob copy = {.on_loop = -1};
	last_done_copy = &copy;
	CHECK_INT(submit(w, tjob(0, 0, 1), CL_JOB_HIGH), 0);
	CHECK_INT(ran, 0); /* done() never runs inside submit */
	sleep_ms(50);
	CHECK_INT(ran, 0); /* nor before the loop runs */
	loop_until(base, 1);
	last_done_copy = NULL;
	CHECK_INT(ran, 1);
	CHECK_INT(done_off_loop, 0);
	CHECK_INT(copy.on_loop, 0);
	CHECK_INT(copy.had_ctx, 1);
	CHECK_INT(copy.seq, 0);         /* a new database */
	CHECK_INT(copy.agent_found, 1); /* the agent the test added */
	CHECK_INT(cl_workers_pending(w), 0);
	cl_workers_stop(w);
}

/*
 * Two threads: low jobs never take the last free thread, so while a long low
 * job runs, more low jobs wait and a high job still runs at once.
 */
static void
test_priorities(struct event_base *base, const char *path)
{
	char err[CL_ERR_LEN];
	struct cl_workers *w = cl_workers_start(path, base, 2, 4, err);
	CHECK(w != NULL);
	if (w == NULL)
		return;
	ran = cancelled = done_off_loop = norder = 0;
	atomic_store(&gate_open, 0);
	atomic_store(&low_peak, 0);
	for (int i = 0; i < 3; i++)
		CHECK_INT(submit(w, tjob(1, 1, 10 + i), CL_JOB_LOW), 0);
	sleep_ms(50);
	CHECK_INT(atomic_load(&low_running), 1); /* one low job runs, two wait */
	CHECK_INT(submit(w, tjob(0, 0, 1), CL_JOB_HIGH), 0);
	loop_until(base, 1);
	CHECK_INT(ran, 1); /* the high job finished while the low one still runs */
	CHECK_INT(order[0], 1);
	atomic_store(&gate_open, 1);
	loop_until(base, 4);
	CHECK_INT(ran, 4);
	CHECK_INT(atomic_load(&low_peak), 1); /* never two low jobs at once */
	CHECK_INT(order[1], 10);              /* low jobs in the order submitted */
	CHECK_INT(order[2], 11);
	CHECK_INT(order[3], 12);
	CHECK_INT(done_off_loop, 0);
	cl_workers_stop(w);
}

/* A full queue is refused at once, per priority; the refused job stays the caller's. */
static void
test_queue_bound(struct event_base *base, const char *path)
{
	char err[CL_ERR_LEN];
	struct cl_workers *w = cl_workers_start(path, base, 2, 2, err);
	CHECK(w != NULL);
	if (w == NULL)
		return;
	ran = cancelled = done_off_loop = norder = 0;
	atomic_store(&gate_open, 0);
	CHECK_INT(submit(w, tjob(1, 1, 0), CL_JOB_LOW), 0); /* runs, gated */
	sleep_ms(50);
	CHECK_INT(submit(w, tjob(1, 1, 0), CL_JOB_LOW), 0); /* waits */
	CHECK_INT(submit(w, tjob(1, 1, 0), CL_JOB_LOW), 0); /* waits: the queue is full */
	struct tjob *refused = tjob(1, 1, 0);
	CHECK_INT(submit(w, refused, CL_JOB_LOW), -1);
	free(refused);
	struct tjob *high = tjob(0, 0, 0);
	CHECK_INT(submit(w, high, CL_JOB_HIGH), 0); /* the high queue has its own bound */
	CHECK_INT(cl_workers_pending(w), 4);
	atomic_store(&gate_open, 1);
	loop_until(base, 4);
	CHECK_INT(ran, 4);
	cl_workers_stop(w);
}

static void *
open_gate_later(void *arg)
{
	(void)arg;
	sleep_ms(100);
	atomic_store(&gate_open, 1);
	return NULL;
}

/* Stopping waits for the running job, then cancels what never started: every job gets its done(). */
static void
test_stop(struct event_base *base, const char *path)
{
	char err[CL_ERR_LEN];
	pthread_t opener;
	struct cl_workers *w = cl_workers_start(path, base, 2, 8, err);
	CHECK(w != NULL);
	if (w == NULL)
		return;
	ran = cancelled = done_off_loop = norder = 0;
	atomic_store(&gate_open, 0);
	for (int i = 0; i < 4; i++)
		CHECK_INT(submit(w, tjob(1, 1, 0), CL_JOB_LOW), 0);
	sleep_ms(50);
	pthread_create(&opener, NULL, open_gate_later, NULL);
	cl_workers_stop(w);
	pthread_join(opener, NULL);
	CHECK_INT(ran, 1);
	CHECK_INT(cancelled, 3);
	CHECK_INT(done_off_loop, 0);
}

int
main(void)
{
	char dir[] = "/tmp/test_workers.XXXXXX", path[256], err[CL_ERR_LEN], token[CL_TOKEN_LEN];
	struct event_base *base;
	struct cl_store *st;

	loop_thread = pthread_self();
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/db", dir);
	st = cl_store_open(path, 0, err);
	CHECK(st != NULL);
	if (st == NULL)
		TEST_DONE();
	CHECK_INT(cl_store_agent_add(st, "a1", "Ada", token, err), 0);
	base = event_base_new();

	/* A database that cannot be opened fails the start with a reason. */
	struct cl_workers *bad = cl_workers_start("/nonexistent/dir/db", base, 2, 8, err);
	CHECK(bad == NULL);
	CHECK(err[0] != '\0');

	test_runs_off_loop(base, path);
	test_priorities(base, path);
	test_queue_bound(base, path);
	test_stop(base, path);

	event_base_free(base);
	cl_store_close(st);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		CHECK(0);
	TEST_DONE();
}
