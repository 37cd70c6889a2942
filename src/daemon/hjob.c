/* hjob.c : owns HTTP requests parked on a worker thread (credential checks and
 * database reads) and the JSON reply helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "callogd/daemon.h"
#include "callogd/hjob.h"
#include "callogd/log.h"
#include "callogd/net.h"
#include "callogd/store.h"
#include "callogd/workers.h"

void
cl_http_reply_json(struct evhttp_request *req, int code, json_t *j)
{
	struct evbuffer *b = evbuffer_new();
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	if (b && s) {
		evbuffer_add_printf(b, "%s\n", s);
		evhttp_send_reply(req, code, NULL, b);
	} else {
		evhttp_send_reply(req, 500, NULL, NULL);
	}
	free(s);
	if (b)
		evbuffer_free(b);
}

void
cl_http_reply_error(struct evhttp_request *req, int code, const char *error, const char *msg)
{
	cl_http_reply_json(req, code, json_pack("{s:s, s:s}", "error", error, "message", msg));
}

void
cl_http_sse_begin(struct evhttp_request *req, void (*closed)(struct evhttp_connection *, void *), void *arg)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);

	cl_sock_nodelay(bufferevent_getfd(evhttp_connection_get_bufferevent(evcon)));
	/* A stream is long-lived: its output bound and its client end it, not the HTTP timeout. */
	evhttp_connection_set_timeout(evcon, 365 * 86400);
	evhttp_connection_set_closecb(evcon, closed, arg);
	evhttp_add_header(hdr, "Content-Type", "text/event-stream");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evhttp_add_header(hdr, "X-Accel-Buffering", "no");
	evhttp_send_reply_start(req, 200, "OK");
}

const char *
cl_http_bearer(struct evhttp_request *req)
{
	const char *a = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");

	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return NULL;
	a += 7;
	while (*a == ' ')
		a++;
	return *a ? a : NULL;
}

void
cl_hjob_free(struct cl_hjob *j)
{
	if (j == NULL)
		return;
	if (j->data_free)
		j->data_free(j->data);
	json_decref(j->out);
	free(j);
}

struct cl_hjob *
cl_hjob_new(struct cl_server *srv, struct evhttp_request *req, int auth, const char *unauthorized)
{
	struct cl_hjob *j = calloc(1, sizeof(*j));
	const char *t = cl_http_bearer(req);

	if (j == NULL)
		return NULL;
	j->srv = srv;
	j->req = req;
	j->evcon = evhttp_request_get_connection(req);
	j->auth = auth;
	j->api_roles = CL_ROLE_ADMIN | CL_ROLE_SUPERVISOR; /* reads; writers narrow or widen it */
	j->unauthorized = unauthorized ? unauthorized : "unauthorized";
	j->now_ms = cl_now_ms();
	if (t && strlen(t) <= CL_HJOB_TOKEN_MAX)
		snprintf(j->token, sizeof(j->token), "%s", t);
	return j;
}

/* The client went away while the job ran. */
static void
hjob_closed(struct evhttp_connection *evcon, void *arg)
{
	struct cl_hjob *j = arg;

	(void)evcon;
	atomic_store(&j->gone, 1);
	log_debug("msg=\"client left before its answer\" detached=%d", evhttp_request_get_connection(j->req) == NULL);
	/*
	 * A request still on its connection is freed with it, right after this
	 * call; one that evhttp detached first (EOF or timeout before the reply)
	 * is left to us, and freed when the job comes back.
	 */
	if (evhttp_request_get_connection(j->req) != NULL)
		j->req = NULL;
}

/* On a worker: the checks, then the work. */
static void
hjob_run(struct cl_job *job, struct cl_worker_ctx *ctx)
{
	struct cl_hjob *j = (struct cl_hjob *)job;
	int ok = j->auth == 0, failed = 0, rc;

	if (atomic_load(&j->gone))
		return; /* the client left while the job waited in the queue: nobody reads its answer */

	if (!ok && (j->auth & CL_HJOB_AGENT_TOKEN) && j->token[0] && j->agent[0]) {
		rc = cl_store_agent_check(ctx->st, j->agent, j->token);
		ok = rc == 1;
		failed |= rc < 0;
	}
	if (!ok && (j->auth & CL_HJOB_API_TOKEN) && j->token[0]) {
		rc = cl_store_token_check(ctx->st, j->token);
		if (rc > 0 && !(rc & j->api_roles)) {
			j->role = rc;
			j->authorized = 2; /* the right token for another job: 403, not 401 */
			return;
		}
		ok = rc > 0;
		j->role = rc > 0 ? rc : 0;
		failed |= rc < 0;
	}
	if (!ok && (j->auth & CL_HJOB_AGENT_ACTIVE) && j->agent[0]) {
		char gen[CL_AGENT_GEN_LEN];
		/* A session of a removed agent, or of one since given a new token, has ended. */
		rc = cl_store_agent_gen(ctx->st, j->agent, gen);
		ok = rc == 1 && strcmp(gen, j->gen) == 0;
		failed |= rc < 0;
	}
	j->authorized = ok ? 1 : failed ? -1 : 0;
	if (ok && j->work)
		j->work(j, ctx);
}

/* On the loop: answer, or hand over to finish(). */
static void
hjob_done(struct cl_job *job, int status)
{
	struct cl_hjob *j = (struct cl_hjob *)job;

	if (atomic_load(&j->gone)) {
		if (j->req)
			evhttp_request_free(j->req); /* detached from its dead connection: ours */
		cl_hjob_free(j);
		return;
	}
	evhttp_connection_set_closecb(j->evcon, NULL, NULL);
	if (status != CL_JOB_RAN) {
		cl_http_reply_error(j->req, 503, "stopping", "the daemon is stopping");
	} else if (j->authorized < 0) {
		log_error("msg=\"credential check failed\" path=\"%s\"", evhttp_request_get_uri(j->req));
		cl_http_reply_error(j->req, 500, "storage", "cannot check the credentials");
	} else if (j->authorized == 0) {
		cl_http_reply_error(j->req, 401, "unauthorized", j->unauthorized);
	} else if (j->authorized == 2) {
		char msg[96];
		snprintf(msg, sizeof(msg), "a %s token may not make this request", cl_role_name(j->role));
		cl_http_reply_error(j->req, 403, "forbidden", msg);
	} else if (j->finish) {
		j->finish(j);
		return; /* finish() frees j */
	} else if (j->status == 0) {
		log_error("msg=\"query failed\" path=\"%s\" error=\"%s\"", evhttp_request_get_uri(j->req), j->err);
		cl_http_reply_error(j->req, 500, "storage", j->err);
	} else {
		cl_http_reply_json(j->req, j->status, j->out);
		j->out = NULL;
	}
	cl_hjob_free(j);
}

void
cl_hjob_submit(struct cl_hjob *j, enum cl_job_prio prio)
{
	char err[CL_ERR_LEN];

	j->job.run = hjob_run;
	j->job.done = hjob_done;
	evhttp_connection_set_closecb(j->evcon, hjob_closed, j);
	if (cl_workers_submit(j->srv->workers, &j->job, prio, err) < 0) {
		evhttp_connection_set_closecb(j->evcon, NULL, NULL);
		cl_http_reply_error(j->req, 503, "busy", err);
		cl_hjob_free(j);
	}
}
