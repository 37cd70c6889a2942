/* http_reports.c : owns GET /api/reports/queues|agents|dispositions and the
 * wallboard's snapshot, GET /api/wallboard (docs/reports.md):
 * the parameters, checked on the loop as far as they can be without a file
 * (the time zone is read on the worker), the report run and rendered on a
 * worker thread, and its answer as JSON or CSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "callogd/daemon.h"
#include "callogd/hjob.h"
#include "callogd/http_reports.h"
#include "callogd/report.h"
#include "callogd/reports.h"
#include "callogd/store.h"
#include "callogd/tz.h"
#include "callogd/util.h"
#include "callogd/wallboard.h"
#include "callogd/wbstream.h"

#define REPORTS_PREFIX "/api/reports/"
#define UNAUTHORIZED "an API token is required (Authorization: Bearer)"
#define TIME_ARG_MAX 64

/* What the worker needs, copied off the request. */
struct rq {
	enum cl_report_kind kind;
	enum cl_interval interval;
	int csv;
	char tz[CL_TZ_NAME_MAX + 1];
	char from[TIME_ARG_MAX + 1], until[TIME_ARG_MAX + 1]; /* "" = not given */
	char queue[CL_ID_MAX + 1], agent[CL_ID_MAX + 1];
	int has_queue, has_agent;
	int64_t sla_ms, short_ms;
	char *text; /* the 200 answer, CSV or JSON, made on the worker: a large one costs the loop only a copy */
	size_t text_len;
};

static void
rq_free(void *data)
{
	struct rq *q = data;

	if (q != NULL)
		free(q->text);
	free(q);
}

/* A 400 naming the parameter at fault: {"error":"bad_request","parameter":..,"message":..}. */
static void
bad_param(struct cl_hjob *j, const char *param, const char *msg)
{
	json_decref(j->out);
	j->work = NULL;
	j->finish = NULL;
	j->status = 400;
	j->out = json_pack("{s:s, s:s, s:s+}", "error", "bad_request", "parameter", param, "message", param, msg);
}

/* Copies parameter name into dst (cap bytes); 0, 1 when absent, -1 (answered 400) when too long or empty. */
static int
copy_param(struct cl_hjob *j, struct evkeyvalq *params, const char *name, char *dst, size_t cap)
{
	const char *v = evhttp_find_header(params, name);

	if (v == NULL)
		return 1;
	if (v[0] == '\0' || strlen(v) >= cap) {
		bad_param(j, name, v[0] == '\0' ? ": must not be empty" : ": too long");
		return -1;
	}
	snprintf(dst, cap, "%s", v);
	return 0;
}

/* On the worker: the zone and the bounds, then the report. */
static void
report_work(struct cl_hjob *j, struct cl_worker_ctx *ctx)
{
	struct rq *q = j->data;
	struct cl_report_params p = {.kind = q->kind,
	                             .interval = q->interval,
	                             .sla_ms = q->sla_ms,
	                             .short_abandon_ms = q->short_ms,
	                             .queue = q->has_queue ? q->queue : NULL,
	                             .agent = q->has_agent ? q->agent : NULL};
	struct cl_report *r = NULL;
	struct cl_tz *tz;
	char err[CL_ERR_LEN];

	if ((tz = cl_tz_load(q->tz, err)) == NULL) {
		bad_param(j, "tz", ": unknown time zone");
		return;
	}
	p.tz = tz;
	/* Defaults: today, in the zone. */
	p.from_ms = cl_tz_floor(tz, CL_INTERVAL_DAY, j->now_ms / 1000) * 1000;
	if (q->from[0] && cl_report_parse_time(tz, q->from, &p.from_ms) < 0) {
		bad_param(j, "from", ": must be a date YYYY-MM-DD or an RFC 3339 time");
		goto out;
	}
	p.until_ms = cl_tz_next(tz, CL_INTERVAL_DAY, cl_tz_floor(tz, CL_INTERVAL_DAY, p.from_ms / 1000)) * 1000;
	if (q->until[0] && cl_report_parse_time(tz, q->until, &p.until_ms) < 0) {
		bad_param(j, "until", ": must be a date YYYY-MM-DD or an RFC 3339 time");
		goto out;
	}
	if ((r = cl_report_new(&p, err)) == NULL) {
		/* err names the parameter ("until: ...", "interval: ..."), or it is out of memory. */
		const char *colon = strchr(err, ':');
		char param[16];
		if (colon != NULL && (strncmp(err, "until:", 6) == 0 || strncmp(err, "interval:", 9) == 0)) {
			snprintf(param, sizeof(param), "%.*s", (int)(colon - err), err);
			bad_param(j, param, colon);
		} else {
			snprintf(j->err, sizeof(j->err), "%s", err);
		}
		goto out;
	}
	if (cl_reports_run(ctx->st, r, j->now_ms, j->err) < 0)
		goto out;
	if (q->csv) {
		q->text = cl_report_csv(r, 0, &q->text_len);
	} else {
		json_t *o = cl_report_json(r);
		if (o != NULL && (q->text = json_dumps(o, JSON_COMPACT)) != NULL)
			q->text_len = strlen(q->text);
		json_decref(o);
	}
	if (q->text == NULL)
		snprintf(j->err, sizeof(j->err), "out of memory");
	else
		j->status = 200;
out:
	cl_report_free(r);
	cl_tz_free(tz);
}

/* On the loop: the answer, CSV or JSON, as the worker wrote it. */
static void
report_finish(struct cl_hjob *j)
{
	struct rq *q = j->data;
	struct evkeyvalq *h = evhttp_request_get_output_headers(j->req);
	struct evbuffer *b;

	if (j->status == 0) {
		cl_http_reply_error(j->req, 500, "storage", j->err);
	} else if (j->status != 200) {
		cl_http_reply_json(j->req, j->status, j->out);
		j->out = NULL;
	} else if ((b = evbuffer_new()) == NULL || evbuffer_add(b, q->text, q->text_len) < 0 ||
	           (!q->csv && evbuffer_add(b, "\n", 1) < 0)) {
		if (b)
			evbuffer_free(b);
		cl_http_reply_error(j->req, 500, "internal", "out of memory");
	} else {
		evhttp_add_header(h, "Content-Type", q->csv ? "text/csv; charset=utf-8" : "application/json");
		evhttp_add_header(h, "Cache-Control", "no-store");
		evhttp_send_reply(j->req, 200, NULL, b);
		evbuffer_free(b);
	}
	cl_hjob_free(j);
}

/* Checks what can be checked without the zone; the rest is the worker's. */
static void
parse(struct cl_hjob *j, struct cl_server *srv, struct evkeyvalq *params)
{
	struct rq *q = j->data;
	const char *iv = evhttp_find_header(params, "interval"), *fmt = evhttp_find_header(params, "format");
	int rc;

	q->interval = CL_INTERVAL_DAY;
	if (iv != NULL && (rc = cl_interval_parse(iv)) < 0) {
		bad_param(j, "interval", ": must be hour, day, week, month or total");
		return;
	}
	if (iv != NULL)
		q->interval = (enum cl_interval)rc;
	if (fmt != NULL && strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0) {
		bad_param(j, "format", ": must be csv or json");
		return;
	}
	q->csv = fmt != NULL && strcmp(fmt, "csv") == 0;
	snprintf(q->tz, sizeof(q->tz), "%s", srv->cfg.stats_timezone ? srv->cfg.stats_timezone : "");
	if (copy_param(j, params, "tz", q->tz, sizeof(q->tz)) < 0 ||
	    copy_param(j, params, "from", q->from, sizeof(q->from)) < 0 ||
	    copy_param(j, params, "until", q->until, sizeof(q->until)) < 0 ||
	    (rc = copy_param(j, params, "queue", q->queue, sizeof(q->queue))) < 0)
		return;
	q->has_queue = rc == 0;
	if ((rc = copy_param(j, params, "agent", q->agent, sizeof(q->agent))) < 0)
		return;
	q->has_agent = rc == 0;
	q->sla_ms = (int64_t)srv->cfg.sla_seconds * 1000;
	q->short_ms = (int64_t)srv->cfg.short_abandon_seconds * 1000;
	j->work = report_work;
	j->finish = report_finish;
}

/* On the loop, once the token is checked (admin or supervisor): the stream starts. */
static void
stream_finish(struct cl_hjob *j)
{
	cl_wb_open(j->srv->wb, j->req);
	cl_hjob_free(j);
}

/* GET /api/wallboard: on the worker, today in stats.timezone. */
static void
wallboard_work(struct cl_hjob *j, struct cl_worker_ctx *ctx)
{
	struct rq *q = j->data;
	struct cl_wallboard_params w = {.now_ms = j->now_ms, .sla_ms = q->sla_ms, .short_ms = q->short_ms};
	struct cl_tz *tz = cl_tz_load(q->tz, j->err);

	if (tz == NULL)
		return;
	w.tz = tz;
	if ((j->out = cl_view_wallboard(ctx->st, &w, j->err)) != NULL)
		j->status = 200;
	cl_tz_free(tz);
}

int
cl_http_reports_get(struct cl_server *srv, struct evhttp_request *req, const char *path, struct evkeyvalq *params)
{
	struct cl_hjob *j;
	struct rq *q;
	int kind;

	int wallboard = strcmp(path, "/api/wallboard") == 0, stream = strcmp(path, "/api/wallboard/stream") == 0;

	if (!wallboard && !stream && strncmp(path, REPORTS_PREFIX, strlen(REPORTS_PREFIX)) != 0)
		return -1;
	if ((j = cl_hjob_new(srv, req, CL_HJOB_API_TOKEN, UNAUTHORIZED)) == NULL ||
	    (q = calloc(1, sizeof(*q))) == NULL) {
		cl_hjob_free(j);
		cl_http_reply_error(req, 500, "internal", "out of memory");
		return 0;
	}
	j->data = q;
	j->data_free = rq_free;
	if (stream) {
		j->finish = stream_finish;
	} else if (wallboard) {
		snprintf(q->tz, sizeof(q->tz), "%s", srv->cfg.stats_timezone ? srv->cfg.stats_timezone : "");
		q->sla_ms = (int64_t)srv->cfg.sla_seconds * 1000;
		q->short_ms = (int64_t)srv->cfg.short_abandon_seconds * 1000;
		j->work = wallboard_work;
	} else if ((kind = cl_report_kind_parse(path + strlen(REPORTS_PREFIX))) < 0) {
		j->status = 404;
		j->out = json_pack("{s:s, s:s}", "error", "not_found", "message",
		                   "no such report (queues, agents or dispositions)");
	} else {
		q->kind = (enum cl_report_kind)kind;
		parse(j, srv, params);
	}
	/* Even a refusal goes through the worker: the token is checked before anything is said. */
	cl_hjob_submit(j, CL_JOB_LOW);
	return 0;
}
