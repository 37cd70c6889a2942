/* workers.h : the worker pool: database reads (lookups, probes, API queries,
 * token checks) run on a few threads, each with its own read-only store
 * connection, and their completions come back to the event loop's thread.
 *
 * The shape is redis's bio.c and our writer: typed jobs in, one eventfd out.
 *
 *   struct my_job { struct cl_job job; ...inputs...; ...outputs...; };
 *
 *   static void my_run(struct cl_job *j, struct cl_worker_ctx *ctx)   // a worker thread
 *   {   struct my_job *m = (struct my_job *)j;                         // (job is the first member)
 *       m->found = cl_store_agent_check(ctx->st, m->agent, m->token);  // may block: it's a worker
 *   }
 *   static void my_done(struct cl_job *j, int status)                  // the loop thread
 *   {   struct my_job *m = (struct my_job *)j;
 *       if (status == CL_JOB_RAN) ...use m->found...;                  // else: never ran (shutdown)
 *       free(m);                                                       // done owns the job again
 *   }
 *
 *   m->job.run = my_run; m->job.done = my_done;
 *   if (cl_workers_submit(srv->workers, &m->job, CL_JOB_HIGH, err) < 0) { ...answer "busy"... }
 *
 * Rules:
 * - run() gets only its job and its worker's context. It must not touch libevent,
 *   sockets or anything the loop owns: copy inputs into the job before submitting,
 *   leave outputs in the job. It reads through ctx->st, which belongs
 *   to that worker thread alone.
 * - done() is called exactly once per accepted job, on the loop thread, from the
 *   loop (never from inside cl_workers_submit()). status is CL_JOB_RAN, or
 *   CL_JOB_CANCELLED when the pool stopped before the job started.
 * - Whatever the job refers to on the loop side (an HTTP request, a console) may
 *   be gone by the time done() runs: the submitter keeps a way to find out (e.g. a
 *   pointer it clears in its close callback) and done() checks it.
 * - Submission never blocks: a full queue is refused (-1, err "busy"), and the
 *   caller answers with an error instead of waiting.
 * - Priorities: CL_JOB_HIGH jobs (dedup probes, caller lookups: a pop waits for
 *   them) are taken before CL_JOB_LOW ones (API queries, reports). With more than
 *   one thread, low jobs never occupy the last free thread, so a high job waits at
 *   most for other high jobs, never behind a long report.
 */
#ifndef CALLOGD_WORKERS_H
#define CALLOGD_WORKERS_H

#include <stddef.h>

#include <event2/event.h>

#include "callogd/util.h"

#define CL_WORKERS_DEFAULT_THREADS 2
#define CL_WORKERS_REMOTE_THREADS 6   /* on a database server (PostgreSQL): reads wait on the network */
#define CL_WORKERS_DEFAULT_QUEUE 1024 /* jobs waiting, per priority */

enum cl_job_prio { CL_JOB_HIGH = 0, CL_JOB_LOW = 1, CL_JOB__PRIOS };
enum cl_job_status { CL_JOB_RAN = 0, CL_JOB_CANCELLED = 1 };

struct cl_store;

/* What a job may use on its worker thread: that worker's own read-only connection. */
struct cl_worker_ctx {
	struct cl_store *st;
	int index; /* 0 .. threads - 1 */
};

struct cl_job;
typedef void (*cl_job_run_fn)(struct cl_job *job, struct cl_worker_ctx *ctx);
typedef void (*cl_job_done_fn)(struct cl_job *job, int status);

/* Embed as the first member of your job struct; set run and done, leave the rest. */
struct cl_job {
	cl_job_run_fn run;   /* required */
	cl_job_done_fn done; /* required */
	/* private to the pool */
	struct cl_job *next;
	int status;
};

struct cl_workers;

/*
 * cl_workers_start() : opens threads read-only connections to the database at
 * path (threads clamped to 1..16, queue_max per priority at least 1) and starts
 * the threads. Completions are delivered on base's thread through an eventfd
 * (base needs no locking). NULL with err filled on failure.
 */
struct cl_workers *cl_workers_start(const char *path, struct event_base *base, int threads, size_t queue_max,
                                    char *err);
/*
 * cl_workers_submit() : queues job (the pool holds it until done() runs). 0, or
 * -1 with err "busy" when that priority's queue is full or "stopping" once the
 * pool is stopping: then done() will not be called and the caller keeps the job.
 */
int cl_workers_submit(struct cl_workers *w, struct cl_job *job, enum cl_job_prio prio, char *err);
/* Jobs queued or running. */
size_t cl_workers_pending(struct cl_workers *w);
/*
 * cl_workers_stop() : stops taking jobs, waits for the running ones, then calls
 * done() for every job (CL_JOB_CANCELLED for those that never started), closes
 * the connections and frees w. On the loop thread; accepts NULL.
 */
void cl_workers_stop(struct cl_workers *w);

#endif
