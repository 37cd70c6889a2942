/* httpc.h : an HTTP client on the event loop (libcurl's multi interface driven
 * by libevent: no thread per request, no blocking call, names resolved by
 * curl's asynchronous resolver), for talking to CRMs: bounded answers,
 * deadlines, and a cap on requests in flight with a bounded wait queue. */
#ifndef CALLOGD_HTTPC_H
#define CALLOGD_HTTPC_H

#include <stddef.h>

#include <event2/event.h>

#include "callogd/util.h"

#define CL_HTTPC_MAX_QUEUE 4096 /* requests waiting for a slot; more are refused */

struct cl_httpc;

enum cl_httpc_result {
	CL_HTTPC_OK,        /* an answer came (any status: look at status) */
	CL_HTTPC_TIMEOUT,   /* timeout_ms passed, counted from when the request started */
	CL_HTTPC_CONNECT,   /* name not resolved, connection refused or reset, TLS failure */
	CL_HTTPC_TOO_LARGE, /* the answer's body passed max_body */
	CL_HTTPC_ERROR,     /* anything else (out of memory, a protocol error) */
	CL_HTTPC_CANCELLED, /* the client was freed first */
};

struct cl_httpc_req {
	const char *method;         /* "GET" (default when NULL) or "POST" */
	const char *url;            /* http:// or https:// only */
	const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
	const char *body;           /* for POST */
	size_t body_len;
	long timeout_ms; /* whole request, > 0 */
	size_t max_body; /* bound on the answer's body, > 0 */
	const char *ca;  /* PEM file to verify https servers against; NULL = the system's store */
};

struct cl_httpc_resp {
	enum cl_httpc_result result;
	long status;      /* HTTP status when result is CL_HTTPC_OK, else 0 */
	const char *body; /* NUL-terminated; valid during the callback only */
	size_t body_len;
	double total_ms;
	char err[CL_ERR_LEN]; /* why, when result is not CL_HTTPC_OK */
};

/* Called once per request on the loop thread. */
typedef void (*cl_httpc_done_fn)(const struct cl_httpc_resp *resp, void *arg);

/*
 * cl_httpc_new() : a client on base with at most max_concurrent requests in
 * flight (1..1024). NULL with err filled.
 */
struct cl_httpc *cl_httpc_new(struct event_base *base, int max_concurrent, char *err);
/* cl_httpc_free() : ends every request, calling its callback with CL_HTTPC_CANCELLED. Accepts NULL. */
void cl_httpc_free(struct cl_httpc *c);

/*
 * cl_httpc_request() : starts req (copied: the caller's strings may go), or
 * queues it while max_concurrent are in flight (its timeout counts from when it
 * starts). 0, or -1 with err filled when req is invalid or the queue is full;
 * done is then not called.
 */
int cl_httpc_request(struct cl_httpc *c, const struct cl_httpc_req *req, cl_httpc_done_fn done, void *arg, char *err);

size_t cl_httpc_in_flight(const struct cl_httpc *c);
size_t cl_httpc_queued(const struct cl_httpc *c);

#endif
