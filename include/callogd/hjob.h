/* hjob.h : an HTTP request parked while a worker thread checks who sent it and
 * reads the database for it; the loop then finishes it (replies, subscribes,
 * ingests). Also the JSON reply helpers every HTTP module uses.
 *
 * The request may go away while the job runs (the client closed, a timeout, the
 * daemon stopping): the job watches its connection's close callback, and
 * finish() runs only for a request still there. Nothing is freed twice: a
 * request libevent detached from its dead connection is freed here.
 */
#ifndef CALLOGD_HJOB_H
#define CALLOGD_HJOB_H

#include <stdatomic.h>
#include <stddef.h>

#include <jansson.h>

#include "callogd/event.h"
#include "callogd/store.h"
#include "callogd/util.h"
#include "callogd/workers.h"

struct cl_server;
struct evhttp_connection;
struct evhttp_request;

#define CL_HJOB_TOKEN_MAX 128 /* a longer bearer token is no token */

/* Who may make the request: the job is authorized when any flagged check passes (none: everyone). */
enum cl_hjob_auth {
	CL_HJOB_API_TOKEN = 1,    /* the bearer token is an API token */
	CL_HJOB_AGENT_TOKEN = 2,  /* the bearer token is agent's token */
	CL_HJOB_AGENT_ACTIVE = 4, /* agent exists with token generation gen (a session cookie, checked on the loop) */
};

struct cl_hjob;
/* On the worker, after the checks passed: reads what the reply needs into the job. */
typedef void (*cl_hjob_work_fn)(struct cl_hjob *j, struct cl_worker_ctx *ctx);
/* On the loop, for a request still there and authorized: answers it (or starts more work). */
typedef void (*cl_hjob_finish_fn)(struct cl_hjob *j);

struct cl_hjob {
	struct cl_job job; /* private: the worker pool's part */
	struct cl_server *srv;
	struct evhttp_request *req; /* private until finish(); NULL once gone */
	struct evhttp_connection *evcon;
	atomic_int gone; /* private: set on the loop, read by the worker too (a job whose client left is not run) */

	/* The checks (inputs). */
	int auth; /* enum cl_hjob_auth flags */
	char token[CL_HJOB_TOKEN_MAX + 1];
	char agent[CL_ID_MAX + 1];  /* who the request acts for, "" none */
	char gen[CL_AGENT_GEN_LEN]; /* CL_HJOB_AGENT_ACTIVE: the session's token generation, which must be current */
	const char *unauthorized;   /* the 401 message */
	int api_roles;  /* the API token roles admitted (enum cl_role bits); cl_hjob_new: admin, supervisor */
	int role;       /* output: the API token's role when one authorized the job, else 0 */
	int authorized; /* output: 1, 0, -1 on a storage error, 2 a valid API token beyond its role */

	/* The work: kind-specific inputs in data (freed with data_free), outputs below. */
	cl_hjob_work_fn work;     /* may be NULL: only the checks */
	cl_hjob_finish_fn finish; /* may be NULL: reply status/out (or the storage error) */
	void *data;
	void (*data_free)(void *data);
	int64_t arg;    /* a number for finish(), when that is all it needs */
	int64_t now_ms; /* when the request came */
	json_t *out;    /* the reply body, owned by the job */
	int status;     /* HTTP status for out; 0: 500 storage with err */
	char err[CL_ERR_LEN];
};

/*
 * cl_hjob_new() : a job for req, with the bearer token (if any) copied in and
 * the given checks; the caller sets agent, work, finish and data, then calls
 * cl_hjob_submit(). NULL on out of memory (the caller answers 500).
 */
struct cl_hjob *cl_hjob_new(struct cl_server *srv, struct evhttp_request *req, int auth, const char *unauthorized);
/*
 * cl_hjob_submit() : hands j to a worker at prio. On refusal (queue full,
 * stopping) it answers 503 busy itself and frees j. Either way the caller must
 * not touch j (nor, until finish(), req) again.
 */
void cl_hjob_submit(struct cl_hjob *j, enum cl_job_prio prio);
/* cl_hjob_free() : frees j, its data and out (from finish(), when it is done with j). */
void cl_hjob_free(struct cl_hjob *j);

/* Reply helpers: j is taken (decref'd); NULL j gives 500. */
void cl_http_reply_json(struct evhttp_request *req, int code, json_t *j);
void cl_http_reply_error(struct evhttp_request *req, int code, const char *error, const char *msg);
/*
 * cl_http_sse_begin() : starts req's answer as a text/event-stream (200, no
 * timeout, TCP_NODELAY); closed(evcon, arg) runs when the connection goes.
 */
void cl_http_sse_begin(struct evhttp_request *req, void (*closed)(struct evhttp_connection *, void *), void *arg);
/* The bearer token of req, or NULL. Points into req's headers. */
const char *cl_http_bearer(struct evhttp_request *req);

#endif
