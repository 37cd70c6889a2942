/* http_agent.c : owns the console page's own endpoints: the agent's wrap-up,
 * state and select, its record and pending wrap-ups, the disposition codes,
 * new customers, and the rule that keeps other sites from posting as the page.
 * Credentials are checked on a worker (hjob), like every other request's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "callogd/consoles.h"
#include "callogd/customers.h"
#include "callogd/daemon.h"
#include "callogd/hjob.h"
#include "callogd/http.h"
#include "callogd/pops.h"
#include "callogd/store.h"
#include "callogd/util.h"
#include "callogd/views.h"

#define ARG_EXISTS 2 /* POST /api/customers: the id asked for is taken */

static const char *
header(struct evhttp_request *req, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req), name);
}

/*
 * A form post (text/plain, urlencoded, multipart) or a fetch from another
 * origin is refused: only the page's own scripts send JSON from its origin.
 * Browsers send Sec-Fetch-Site and Origin with a POST; tools may send neither,
 * and a request without a cookie or those headers carries no page's authority.
 */
int
cl_http_same_origin_json(struct evhttp_request *req)
{
	const char *ct = header(req, "Content-Type"), *site = header(req, "Sec-Fetch-Site");
	const char *origin = header(req, "Origin"), *host = header(req, "Host");
	size_t n = strlen("application/json");

	if (header(req, "Cookie") == NULL && origin == NULL && site == NULL)
		return 1;
	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0 ||
	    (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' '))
		return 0;
	if (site != NULL && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
		return 0;
	if (origin != NULL) {
		const char *rest = strncmp(origin, "http://", 7) == 0    ? origin + 7
		                   : strncmp(origin, "https://", 8) == 0 ? origin + 8
		                                                         : NULL;
		if (rest == NULL || host == NULL || strcasecmp(rest, host) != 0)
			return 0;
	}
	return 1;
}

static void
refuse(struct evhttp_request *req, enum cl_event_error code, const char *why)
{
	int status = code == CL_EVERR_FORBIDDEN ? 403 : code == CL_EVERR_STORAGE ? 500 : 400;

	cl_http_reply_error(req, status, cl_event_error_name(code), why);
}

/* A console message or a customer posted for an agent: the body, and what a worker read for its checks. */
struct post_data {
	json_t *in;
	char what[16]; /* "disposition", "state", "select" */
	struct cl_msg_facts facts;
};

static void
post_data_free(void *data)
{
	struct post_data *d = data;

	json_decref(d->in);
	free(d);
}

/* The body, parsed on the loop, as the job's data (in NULL: not a JSON object, answered after the checks). */
static struct post_data *
post_data_new(struct evhttp_request *req, const char *what)
{
	json_t *in = cl_http_body(req);
	struct post_data *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		json_decref(in);
		return NULL;
	}
	if (in != NULL && (!json_is_object(in) || json_object_set_new(in, "type", json_string(what)) < 0)) {
		json_decref(in);
		in = NULL;
	}
	d->in = in;
	snprintf(d->what, sizeof(d->what), "%s", what);
	return d;
}

/* On a worker: what the message's checks need from the database. */
static void
post_facts_work(struct cl_hjob *j, struct cl_worker_ctx *ctx)
{
	struct post_data *d = j->data;
	const char *call_id = json_string_value(json_object_get(d->in, "call_id"));

	cl_consoles_gather(ctx->st, j->agent, call_id, json_string_value(json_object_get(d->in, "customer_id")),
	                   &d->facts);
}

/* On the loop: the console message checked (SPEC §5) and ingested. */
static void
agent_post_finish(struct cl_hjob *j)
{
	struct post_data *d = j->data;
	struct evhttp_request *req = j->req;
	enum cl_event_error code;
	char why[CL_ERR_LEN], *line = NULL;

	if (d->in == NULL)
		cl_http_reply_error(req, 400, "bad_json", "the body must be a JSON object");
	else if ((line = cl_consoles_event(j->srv, j->agent, d->in, j->role == CL_ROLE_ADMIN, &d->facts, &code, why)) ==
	         NULL)
		refuse(req, code, why);
	else
		cl_http_feed(j->srv->http, req, line, 0, NULL);
	free(line);
	cl_hjob_free(j);
}

void
cl_http_agent_post(struct cl_http *h, struct evhttp_request *req, const char *agent, const char *what)
{
	struct cl_hjob *j = cl_http_agent_job(h, req, agent, "an agent token or session is required");
	struct post_data *d;

	if (j == NULL)
		return;
	if ((d = post_data_new(req, what)) == NULL) {
		cl_http_reply_error(req, 500, "internal", "out of memory");
		cl_hjob_free(j);
		return;
	}
	j->data = d;
	j->data_free = post_data_free;
	/* A supervisor may set any agent's state; only admin tokens wrap up or select for an agent. */
	j->api_roles = strcmp(what, "state") == 0 ? CL_ROLE_ADMIN | CL_ROLE_SUPERVISOR : CL_ROLE_ADMIN;
	if (strcmp(what, "state") != 0)
		j->work = post_facts_work;
	j->finish = agent_post_finish;
	cl_hjob_submit(j, CL_JOB_HIGH);
}

/* On a worker: the agent's record. */
static void
agent_get_work(struct cl_hjob *j, struct cl_worker_ctx *ctx)
{
	json_t *all = cl_view_agents(ctx->st, j->err), *a;
	size_t i;

	if (all == NULL)
		return; /* status 0: 500 storage */
	j->status = 404;
	j->out = json_pack("{s:s, s:s}", "error", "not_found", "message", "no such agent");
	json_array_foreach (json_object_get(all, "agents"), i, a) {
		const char *id = json_string_value(json_object_get(a, "id"));
		if (id != NULL && strcmp(id, j->agent) == 0) {
			json_decref(j->out);
			j->out = json_incref(a);
			j->status = 200;
		}
	}
	json_decref(all);
}

/* On the loop: what only the loop knows (consoles, pending wrap-ups). */
static void
agent_get_finish(struct cl_hjob *j)
{
	if (j->arg) {
		cl_http_reply_json(j->req, 200, cl_pops_pending(j->srv->pops, j->agent));
	} else if (j->status == 0) {
		cl_http_reply_error(j->req, 500, "storage", j->err);
	} else {
		if (j->status == 200)
			json_object_set_new(j->out, "consoles", json_integer(cl_pops_consoles(j->srv->pops, j->agent)));
		cl_http_reply_json(j->req, j->status, j->out);
		j->out = NULL;
	}
	cl_hjob_free(j);
}

void
cl_http_agent_get(struct cl_http *h, struct evhttp_request *req, const char *agent, const char *what)
{
	struct cl_hjob *j = cl_http_agent_job(h, req, agent, "an agent token, session or API token is required");

	if (j == NULL)
		return;
	j->arg = strcmp(what, "pending") == 0;
	j->work = j->arg ? NULL : agent_get_work;
	j->finish = agent_get_finish;
	cl_hjob_submit(j, CL_JOB_HIGH);
}

static void
dispositions_finish(struct cl_hjob *j)
{
	struct cl_server *srv = j->srv;
	json_t *codes = json_array();

	for (const char *p = srv->cfg.disposition_codes; codes && p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		json_array_append_new(codes, json_stringn(p, n));
		p = nl ? nl + 1 : NULL;
	}
	/* The numbering rules too: the page shows the country's own numbers in national format. */
	cl_http_reply_json(j->req, 200,
	                   json_pack("{s:o, s:{s:s, s:s}}", "codes", codes, "numbers", "country_code",
	                             srv->cfg.country_code, "national_prefix", srv->cfg.national_prefix));
	cl_hjob_free(j);
}

void
cl_http_dispositions(struct cl_http *h, struct evhttp_request *req, struct evkeyvalq *q)
{
	const char *agent = evhttp_find_header(q, "agent");
	char who[CL_ID_MAX + 1] = "", gen[CL_AGENT_GEN_LEN] = "";
	int auth = CL_HJOB_API_TOKEN | CL_HJOB_AGENT_TOKEN;
	struct cl_hjob *j;

	/* An API token, an agent token with ?agent=ID, or the page's session. */
	if (cl_http_bearer(req) == NULL) {
		if (cl_http_session_agent(h, req, who, gen) < 0) {
			cl_http_reply_error(req, 401, "unauthorized",
			                    "an agent session or token, or an API token, is required");
			return;
		}
		auth = CL_HJOB_AGENT_ACTIVE;
	}
	if ((j = cl_hjob_new(cl_http_server(h), req, auth,
	                     "an agent session or token, or an API token, is required")) == NULL) {
		cl_http_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	snprintf(j->agent, sizeof(j->agent), "%s", who[0] ? who : agent && strlen(agent) <= CL_ID_MAX ? agent : "");
	snprintf(j->gen, sizeof(j->gen), "%s", gen);
	j->finish = dispositions_finish;
	cl_hjob_submit(j, CL_JOB_HIGH);
}

/* A new customer's id when the body names none: "C-" and 12 random hex digits. */
static int
new_customer_id(char *out, size_t len)
{
	unsigned char r[6];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	snprintf(out, len, "C-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
	return 0;
}

/* On a worker: is the id asked for taken, and did the call reach the agent? */
static void
customer_work(struct cl_hjob *j, struct cl_worker_ctx *ctx)
{
	struct post_data *d = j->data;
	const char *id = json_string_value(json_object_get(d->in, "id"));
	struct cl_customer *c;

	if (j->agent[0])
		cl_consoles_gather(ctx->st, j->agent, json_string_value(json_object_get(d->in, "call_id")), NULL,
		                   &d->facts);
	if (id == NULL || (c = malloc(sizeof(*c))) == NULL)
		return;
	if (cl_store_customer_get(ctx->st, id, c, j->err) == 1)
		j->arg |= ARG_EXISTS;
	free(c);
}

static void
customer_finish(struct cl_hjob *j)
{
	struct cl_server *srv = j->srv;
	struct evhttp_request *req = j->req;
	struct post_data *d = j->data;
	json_t *in = d->in, *rec = NULL, *ev = NULL;
	const char *call_id = json_string_value(json_object_get(in, "call_id"));
	char why[CL_ERR_LEN], idbuf[32], *line = NULL;
	int admin = j->role == CL_ROLE_ADMIN;

	if (json_object_get(in, "call_id") != NULL && (call_id == NULL || strlen(call_id) > CL_ID_MAX)) {
		cl_http_reply_error(req, 400, "bad_request", "call_id must be a call's id");
		goto out;
	}
	/* An agent adds a customer only for a call that reached it: the caller it has on the line. */
	if (!admin && (call_id == NULL ||
	               !cl_consoles_call_allowed(srv, j->agent, call_id, CL_AC_RANG | CL_AC_ANSWERED, &d->facts))) {
		if (d->facts.call_err[0])
			cl_http_reply_error(req, 500, "storage", d->facts.call_err);
		else
			cl_http_reply_error(req, 403, "forbidden",
			                    "an agent may add a customer only for a call that reached it");
		goto out;
	}
	if (j->arg & ARG_EXISTS) {
		cl_http_reply_error(req, 409, "exists", "a customer has that id");
		goto out;
	}
	if (json_object_get(in, "id") == NULL) {
		if (new_customer_id(idbuf, sizeof(idbuf)) < 0) {
			cl_http_reply_error(req, 500, "internal", "no random bytes");
			goto out;
		}
		json_object_set_new(in, "id", json_string(idbuf));
	}
	if ((rec = cl_customer_from_json(&srv->numbers, in, why)) == NULL) {
		cl_http_reply_error(req, 400, "bad_customer", why);
		goto out;
	}
	ev = json_pack("{s:s, s:O, s:O}", "type", "customer.set", "customer_id", json_object_get(rec, "id"), "customer",
	               rec);
	if (ev && call_id)
		json_object_set_new(ev, "call_id", json_string(call_id));
	if (ev && !admin)
		json_object_set_new(ev, "agent", json_string(j->agent));
	if ((line = ev ? json_dumps(ev, JSON_COMPACT) : NULL) == NULL) {
		cl_http_reply_error(req, 500, "internal", "out of memory");
		goto out;
	}
	cl_http_feed(srv->http, req, line, 201, rec);
	rec = NULL;
out:
	free(line);
	json_decref(ev);
	json_decref(rec);
	cl_hjob_free(j);
}

void
cl_http_customers_post(struct cl_http *h, struct evhttp_request *req)
{
	char agent[CL_ID_MAX + 1] = "", gen[CL_AGENT_GEN_LEN] = "";
	int auth = CL_HJOB_API_TOKEN;
	json_t *in = cl_http_body(req);
	struct post_data *d;
	struct cl_hjob *j;

	if (cl_http_bearer(req) == NULL) {
		if (cl_http_session_agent(h, req, agent, gen) < 0) {
			json_decref(in);
			cl_http_reply_error(req, 401, "unauthorized", "an API token or an agent session is required");
			return;
		}
		auth = CL_HJOB_AGENT_ACTIVE;
	}
	if (in == NULL || !json_is_object(in)) {
		json_decref(in);
		cl_http_reply_error(req, 400, "bad_json", "the body must be a JSON object");
		return;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (j = cl_hjob_new(cl_http_server(h), req, auth, "an API token or an agent session is required")) == NULL) {
		free(d);
		json_decref(in);
		cl_http_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	d->in = in;
	snprintf(j->agent, sizeof(j->agent), "%s", agent);
	snprintf(j->gen, sizeof(j->gen), "%s", gen);
	j->data = d;
	j->data_free = post_data_free;
	j->api_roles = CL_ROLE_ADMIN;
	j->work = customer_work;
	j->finish = customer_finish;
	cl_hjob_submit(j, CL_JOB_HIGH);
}
