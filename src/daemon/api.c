/* api.c : owns the read side of the HTTP API: its parameters, checked on the
 * loop, and its queries, run on worker threads (hjob.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "callogd/api.h"
#include "callogd/daemon.h"
#include "callogd/hjob.h"
#include "callogd/numbers.h"
#include "callogd/pops.h"
#include "callogd/store.h"
#include "callogd/tz.h"
#include "callogd/util.h"
#include "callogd/views.h"

#define API_UNAUTHORIZED "an API token is required (Authorization: Bearer)"

/* What one query needs, copied off the request: the request's own strings may not outlive the loop turn. */
struct query {
	struct cl_call_filter f;
	char *agent, *queue, *number, *before;
	int csv;        /* format=csv */
	char *csv_text; /* the answer when csv */
	size_t csv_len;
	char id[CL_ID_MAX + 1];
	char norm[CL_NUMBER_LEN];
	int sla_seconds;
	char tz[CL_TZ_NAME_MAX + 1]; /* stats: today's zone, stats.timezone ("" = the host's) */
};

static void
query_free(void *data)
{
	struct query *q = data;

	if (q == NULL)
		return;
	free(q->agent);
	free(q->queue);
	free(q->number);
	free(q->before);
	free(q->csv_text);
	free(q);
}

/* A query job for req: NULL after answering 500 itself. */
static struct cl_hjob *
query_job(struct cl_server *srv, struct evhttp_request *req, int auth)
{
	struct cl_hjob *j = cl_hjob_new(srv, req, auth, API_UNAUTHORIZED);
	struct query *q = calloc(1, sizeof(*q));

	if (j == NULL || q == NULL) {
		free(q);
		cl_hjob_free(j);
		cl_http_reply_error(req, 500, "internal", "out of memory");
		return NULL;
	}
	j->data = q;
	j->data_free = query_free;
	return j;
}

/* A bad parameter: answered 400 once the caller is authorized (401 comes first). */
static void
refuse(struct cl_hjob *j, const char *msg)
{
	j->work = NULL;
	j->finish = NULL;
	j->status = 400;
	j->out = json_pack("{s:s, s:s}", "error", "bad_request", "message", msg);
}

/* ---- GET /healthz ---- */

static void
health_work(struct cl_hjob *j, struct cl_worker_ctx *ctx)
{
	j->status = cl_store_check(ctx->st, j->err) == 0 ? 200 : 503;
}

static void
health_finish(struct cl_hjob *j)
{
	struct cl_server *srv = j->srv;

	if (j->status != 200)
		cl_http_reply_json(j->req, 503,
		                   json_pack("{s:s, s:s}", "status", "error", "message", "database unreadable"));
	else if (srv->storage_failing)
		cl_http_reply_json(j->req, 503,
		                   json_pack("{s:s, s:s}", "status", "error", "message", srv->storage_error));
	else
		cl_http_reply_json(j->req, 200, json_pack("{s:s}", "status", "ok"));
	cl_hjob_free(j);
}

/* ---- GET /api/calls ---- */

/* Parses an RFC 3339 time or a YYYY-MM-DD date (midnight UTC); -1 if neither. */
static int
parse_when(const char *s, int64_t *ms)
{
	char buf[40];

	if (cl_time_parse(s, ms) == 0)
		return 0;
	if (strlen(s) == 10) {
		snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
		return cl_time_parse(buf, ms);
	}
	return -1;
}

static void
calls_work(struct cl_hjob *j, struct cl_worker_ctx *ctx)
{
	struct query *q = j->data;

	if (q->csv) {
		if ((q->csv_text = cl_view_calls_csv(ctx->st, &q->f, j->now_ms, &q->csv_len, j->err)) != NULL)
			j->status = 200;
	} else if ((j->out = cl_view_calls(ctx->st, &q->f, j->now_ms, j->err)) != NULL) {
		j->status = 200;
	}
}

/* The call log as CSV (the JSON answers go out as hjob.c sends them). */
static void
calls_finish(struct cl_hjob *j)
{
	struct query *q = j->data;
	struct evbuffer *b = NULL;

	if (j->status == 0) {
		cl_http_reply_error(j->req, 500, "storage", j->err);
	} else if (!q->csv || j->status != 200) {
		cl_http_reply_json(j->req, j->status, j->out);
		j->out = NULL;
	} else if ((b = evbuffer_new()) == NULL || evbuffer_add(b, q->csv_text, q->csv_len) < 0) {
		cl_http_reply_error(j->req, 500, "internal", "out of memory");
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(j->req), "Content-Type", "text/csv; charset=utf-8");
		evhttp_add_header(evhttp_request_get_output_headers(j->req), "Cache-Control", "no-store");
		evhttp_send_reply(j->req, 200, NULL, b);
	}
	if (b != NULL)
		evbuffer_free(b);
	cl_hjob_free(j);
}

static void
get_calls(struct cl_hjob *j, struct cl_server *srv, struct evkeyvalq *params)
{
	struct query *q = j->data;
	const char *since = evhttp_find_header(params, "since"), *until = evhttp_find_header(params, "until");
	const char *limit = evhttp_find_header(params, "limit"), *number = evhttp_find_header(params, "number");
	const char *agent = evhttp_find_header(params, "agent"), *queue = evhttp_find_header(params, "queue");

	const char *before = evhttp_find_header(params, "before"), *format = evhttp_find_header(params, "format");

	j->work = calls_work;
	j->finish = calls_finish;
	q->f.limit = 100;
	if (format && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
		return refuse(j, "format must be csv or json");
	q->csv = format && strcmp(format, "csv") == 0;
	if (before && (before[0] == '\0' || strlen(before) > CL_ID_MAX))
		return refuse(j, "before must be a call_id (the last row of the previous page)");
	if (before && (q->before = strdup(before)) == NULL)
		goto oom;
	q->f.before = q->before;
	if (since && parse_when(since, &q->f.since) < 0)
		return refuse(j, "since must be an RFC 3339 time or YYYY-MM-DD");
	if (until && parse_when(until, &q->f.until) < 0)
		return refuse(j, "until must be an RFC 3339 time or YYYY-MM-DD");
	if (limit) {
		char *end;
		long l = strtol(limit, &end, 10);
		if (*limit == '\0' || *end != '\0' || l < 1 || l > 1000)
			return refuse(j, "limit must be 1 to 1000");
		q->f.limit = (int)l;
	}
	if ((agent && (q->agent = strdup(agent)) == NULL) || (queue && (q->queue = strdup(queue)) == NULL))
		goto oom;
	q->f.agent = q->agent;
	q->f.queue = q->queue;
	if (number) {
		if (cl_number_normalize(&srv->numbers, number, q->norm) == CL_NUMBER_OK)
			q->f.number = q->norm;
		else if ((q->number = strdup(number)) != NULL)
			q->f.number = q->number; /* "anonymous" and the like are stored as given */
		else
			goto oom;
	}
	return;
oom:
	j->work = NULL;
	snprintf(j->err, sizeof(j->err), "out of memory");
}

/* ---- GET /api/calls/ID ---- */

static void
call_work(struct cl_hjob *j, struct cl_worker_ctx *ctx)
{
	struct query *q = j->data;

	j->out = cl_view_call(ctx->st, q->id, j->now_ms, j->err);
	if (j->out != NULL)
		j->status = 200;
	else if (j->err[0] == '\0')
		j->status = 404, j->out = json_pack("{s:s, s:s}", "error", "not_found", "message", "no such call");
}

/* ---- GET /api/customers ---- */

static void
customers_work(struct cl_hjob *j, struct cl_worker_ctx *ctx)
{
	struct query *q = j->data;

	if ((j->out = cl_view_find_customers(ctx->st, q->norm, CL_CUSTOMERS_FIND_MAX, j->err)) != NULL)
		j->status = 200;
}

static void
get_customers(struct cl_hjob *j, struct cl_server *srv, struct evkeyvalq *params)
{
	struct query *q = j->data;
	const char *phone = evhttp_find_header(params, "phone");

	if (phone == NULL)
		return refuse(j, "phone is required");
	if (cl_number_normalize(&srv->numbers, phone, q->norm) != CL_NUMBER_OK) {
		j->status = 200;
		j->out = json_pack("{s:[]}", "customers");
		return;
	}
	j->work = customers_work;
}

/* ---- GET /api/agents ---- */

static void
agents_work(struct cl_hjob *j, struct cl_worker_ctx *ctx)
{
	if ((j->out = cl_view_agents(ctx->st, j->err)) != NULL)
		j->status = 200;
}

/* On the loop: how many consoles each agent has is the loop's to know. */
static void
agents_finish(struct cl_hjob *j)
{
	json_t *a;
	size_t i;

	if (j->out == NULL) {
		cl_http_reply_error(j->req, 500, "storage", j->err);
		cl_hjob_free(j);
		return;
	}
	json_array_foreach (json_object_get(j->out, "agents"), i, a) {
		const char *id = json_string_value(json_object_get(a, "id"));
		json_object_set_new(a, "consoles", json_integer(id ? cl_pops_consoles(j->srv->pops, id) : 0));
	}
	cl_http_reply_json(j->req, 200, j->out);
	j->out = NULL;
	cl_hjob_free(j);
}

/* ---- GET /api/stats ---- */

/* The start of today in the daemon's time zone (TZ): a supervisor's "today". */
/* Today (in stats.timezone, as reports and the wallboard count it) from its local midnight to now. */
static void
stats_work(struct cl_hjob *j, struct cl_worker_ctx *ctx)
{
	struct query *q = j->data;
	int64_t now = j->now_ms, day;
	char date[16];
	struct cl_tz_tm tm;
	struct cl_tz *tz = cl_tz_load(q->tz, j->err);
	json_t *queues;

	if (tz == NULL)
		return;
	day = cl_tz_floor(tz, CL_INTERVAL_DAY, now / 1000) * 1000;
	cl_tz_local(tz, now / 1000, &tm);
	cl_tz_free(tz);
	snprintf(date, sizeof(date), "%04lld-%02d-%02d", (long long)tm.year, tm.month, tm.day);
	if ((queues = cl_view_queue_stats(ctx->st, q->queue, day, now, (int64_t)q->sla_seconds * 1000, j->err)) == NULL)
		return;
	j->out = json_pack("{s:s, s:i, s:o}", "date", date, "sla_seconds", q->sla_seconds, "queues", queues);
	if (j->out != NULL)
		j->status = 200;
	else
		snprintf(j->err, sizeof(j->err), "out of memory");
}

static void
get_stats(struct cl_hjob *j, struct cl_server *srv, struct evkeyvalq *params)
{
	struct query *q = j->data;
	const char *queue = evhttp_find_header(params, "queue");

	q->sla_seconds = srv->cfg.sla_seconds;
	snprintf(q->tz, sizeof(q->tz), "%s", srv->cfg.stats_timezone ? srv->cfg.stats_timezone : "");
	/* Today only: a range is a report's (issue 14: since= and date= were ignored without a word). */
	if (evhttp_find_header(params, "since") != NULL || evhttp_find_header(params, "date") != NULL) {
		j->status = 400;
		j->out =
		    json_pack("{s:s, s:s, s:s}", "error", "bad_request", "parameter",
		              evhttp_find_header(params, "since") != NULL ? "since" : "date", "message",
		              "/api/stats is today's figures; for other days use /api/reports/queues?from=&until=");
		return;
	}
	if (queue && (q->queue = strdup(queue)) == NULL) {
		snprintf(j->err, sizeof(j->err), "out of memory");
		return;
	}
	j->work = stats_work;
}

int
cl_api_get(struct cl_server *srv, struct evhttp_request *req, const char *path, struct evkeyvalq *params)
{
	struct cl_hjob *j;
	struct query *q;
	int health = strcmp(path, "/healthz") == 0;
	int calls = strcmp(path, "/api/calls") == 0, call = strncmp(path, "/api/calls/", 11) == 0;
	int customers = strcmp(path, "/api/customers") == 0, agents = strcmp(path, "/api/agents") == 0;
	int stats = strcmp(path, "/api/stats") == 0;

	if (!health && !calls && !call && !customers && !agents && !stats)
		return -1;
	if ((j = query_job(srv, req, health ? 0 : CL_HJOB_API_TOKEN)) == NULL)
		return 0;
	q = j->data;
	if (health) {
		j->work = health_work;
		j->finish = health_finish;
	} else if (calls) {
		get_calls(j, srv, params);
	} else if (call) {
		char *id = evhttp_uridecode(path + 11, 0, NULL);
		if (id && id[0] && strlen(id) <= CL_ID_MAX && strchr(path + 11, '/') == NULL) {
			snprintf(q->id, sizeof(q->id), "%s", id);
			j->work = call_work;
		} else {
			j->status = 404;
			j->out = json_pack("{s:s, s:s}", "error", "not_found", "message", "no such resource");
		}
		free(id);
	} else if (customers) {
		get_customers(j, srv, params);
	} else if (agents) {
		j->work = agents_work;
		j->finish = agents_finish;
	} else {
		get_stats(j, srv, params);
	}
	cl_hjob_submit(j, CL_JOB_LOW);
	return 0;
}
