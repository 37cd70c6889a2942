/* http.c : owns the HTTP side (evhttp): the JSON API, Server-Sent Events for
 * agent consoles, agent login sessions and the console page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>

#include "callogd/api.h"
#include "callogd/daemon.h"
#include "callogd/hjob.h"
#include "callogd/http_gate.h"
#include "callogd/httphead.h"
#include "callogd/http_reports.h"
#include "callogd/http.h"
#include "callogd/log.h"
#include "callogd/net.h"
#include "callogd/pops.h"
#include "callogd/sessions.h"
#include "callogd/sha256.h"
#include "callogd/store.h"
#include "callogd/util.h"
#include "callogd/tls.h"
#include "callogd/web.h"
#include "callogd/writer.h"

#define HEARTBEAT_S 15
#define COOKIE_NAME "callogd_session"
#define API_UNAUTHORIZED "an API token is required (Authorization: Bearer)"

struct sse {
	struct sse *next, *prev; /* h->streams */
	struct cl_http *h;
	struct cl_sub sub;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	int dropped;             /* pops unlinked it; the socket is being shut */
	char mac[CL_SHA256_HEX]; /* the session it was opened with ("" for a token) */
};

struct cl_http {
	struct cl_server *srv;
	struct evhttp *http;
	struct cl_http_gates *gates; /* in front of evhttp: heads judged before bodies */
	struct event *heartbeat;
	struct sse *streams;
	struct cl_sessions *sessions; /* the console page's logins */
};

/* The session cookie's value, copied into out, or -1. */
static int
cookie_value(struct evhttp_request *req, char *out, size_t outlen)
{
	const char *c = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie");

	return c ? cl_cookie_find(c, COOKIE_NAME, out, outlen) : -1;
}

/* The session of req's cookie (sessions.h), or -1. */
static int
session_of(struct cl_http *h, struct evhttp_request *req, char *agent, char *gen, char *mac)
{
	char v[CL_SESSION_COOKIE_MAX + 1];

	return cookie_value(req, v, sizeof(v)) < 0 ? -1 : cl_sessions_check(h->sessions, v, agent, gen, mac);
}

/*
 * A job that lets req act for agent once a worker agrees: its agent token or an
 * API token, or else its session, whose agent must still exist (a removed
 * agent's sessions end with it). NULL after answering req (401 or 500).
 */
static struct cl_hjob *
agent_job(struct cl_http *h, struct evhttp_request *req, const char *agent, const char *unauthorized)
{
	char who[CL_ID_MAX + 1], gen[CL_AGENT_GEN_LEN] = "";
	int auth = CL_HJOB_AGENT_TOKEN | CL_HJOB_API_TOKEN;
	struct cl_hjob *j;

	if (cl_http_bearer(req) == NULL) {
		if (session_of(h, req, who, gen, NULL) < 0 || strcmp(who, agent) != 0) {
			cl_http_reply_error(req, 401, "unauthorized", unauthorized);
			return NULL;
		}
		auth = CL_HJOB_AGENT_ACTIVE;
	}
	if ((j = cl_hjob_new(h->srv, req, auth, unauthorized)) == NULL) {
		cl_http_reply_error(req, 500, "internal", "out of memory");
		return NULL;
	}
	snprintf(j->agent, sizeof(j->agent), "%s", agent);
	snprintf(j->gen, sizeof(j->gen), "%s", gen);
	return j;
}

static json_t *
body_json(struct evhttp_request *req)
{
	struct evbuffer *b = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(b);
	const char *data = (const char *)evbuffer_pullup(b, -1);

	if (len == 0 || !cl_utf8_valid(data, len))
		return NULL;
	return json_loadb(data, len, 0, NULL);
}

/* ---- SSE ---- */

static int
sse_send(struct cl_sub *s, int64_t seq, const char *type, const char *json, size_t len)
{
	struct sse *e = (struct sse *)((char *)s - offsetof(struct sse, sub));
	struct bufferevent *bev = evhttp_connection_get_bufferevent(e->evcon);
	struct evbuffer *chunk;

	if (e->dropped)
		return 0;
	if (cl_bev_queued(bev) + len > (size_t)e->h->srv->cfg.agents_max_output)
		return -1;
	if ((chunk = evbuffer_new()) == NULL)
		return 0;
	evbuffer_add_printf(chunk, "id: %lld\nevent: %s\ndata: ", (long long)seq, type);
	evbuffer_add(chunk, json, len);
	evbuffer_add(chunk, "\n\n", 2);
	evhttp_send_reply_chunk(e->req, chunk);
	evbuffer_free(chunk);
	cl_bev_write_now(bev, NULL, 0);
	return 0;
}

/* pops unlinked a slow stream: shut its socket and let evhttp tear it down. */
static void
sse_drop(struct cl_sub *s)
{
	struct sse *e = (struct sse *)((char *)s - offsetof(struct sse, sub));
	struct bufferevent *bev = evhttp_connection_get_bufferevent(e->evcon);

	e->dropped = 1;
	shutdown(bufferevent_getfd(bev), SHUT_RDWR);
}

static void
sse_closed(struct evhttp_connection *evcon, void *arg)
{
	struct sse *e = arg;
	struct cl_http *h = e->h;

	(void)evcon;
	if (!e->dropped)
		cl_pops_unsubscribe(h->srv->pops, &e->sub);
	if (e->prev)
		e->prev->next = e->next;
	else
		h->streams = e->next;
	if (e->next)
		e->next->prev = e->prev;
	h->srv->m.connections[CL_CONN_SSE]--;
	/* After a failure evhttp detached the request and leaves it to us. */
	if (evhttp_request_get_connection(e->req) == NULL)
		evhttp_send_reply_end(e->req);
	free(e);
}

/* On the loop, once the caller is checked: the stream starts. */
static void
stream_start(struct cl_hjob *j)
{
	struct cl_http *h = j->srv->http;
	struct evhttp_request *req = j->req;
	struct sse *e;

	if (h->srv->m.connections[CL_CONN_SSE] + h->srv->m.connections[CL_CONN_CONSOLE] >=
	    (uint64_t)h->srv->cfg.agents_max_clients) {
		h->srv->m.refused[CL_CONN_SSE]++;
		cl_http_reply_error(req, 503, "busy", "too many consoles");
		goto done;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		cl_http_reply_error(req, 500, "internal", "out of memory");
		goto done;
	}
	e->h = h;
	e->req = req;
	e->evcon = evhttp_request_get_connection(req);
	e->sub.send = sse_send;
	e->sub.drop = sse_drop;
	e->sub.kind = CL_CONN_SSE;
	snprintf(e->sub.agent, sizeof(e->sub.agent), "%s", j->agent);
	if (cl_http_bearer(req) == NULL) { /* a session's stream ends when it logs out */
		char who[CL_ID_MAX + 1];
		if (session_of(j->srv->http, req, who, e->sub.gen, e->mac) < 0)
			e->mac[0] = e->sub.gen[0] = '\0';
	} else if (j->role == 0) { /* an agent token's: ends when the agent's token changes */
		cl_agent_gen_of_token(j->token, e->sub.gen);
	}
	e->next = h->streams;
	if (e->next)
		e->next->prev = e;
	h->streams = e;
	h->srv->m.connections[CL_CONN_SSE]++;
	h->srv->m.accepted[CL_CONN_SSE]++;
	cl_http_sse_begin(req, sse_closed, e);
	{
		struct evbuffer *b = evbuffer_new();
		if (b) {
			evbuffer_add_printf(b, "retry: 2000\n: welcome %s\n\n", j->agent);
			evhttp_send_reply_chunk(req, b);
			evbuffer_free(b);
		}
	}
	cl_pops_subscribe(h->srv->pops, &e->sub, j->arg);
done:
	cl_hjob_free(j);
}

static void
stream(struct cl_http *h, struct evhttp_request *req, const char *agent, struct evkeyvalq *q)
{
	const char *last = evhttp_find_header(evhttp_request_get_input_headers(req), "Last-Event-ID");
	struct cl_hjob *j;
	long long after = -1;

	/* EventSource cannot set the header on a new connection: accept it in the query too. */
	if (last == NULL)
		last = evhttp_find_header(q, "last_event_id");
	if (last != NULL) {
		char *end;
		after = strtoll(last, &end, 10);
		if (*last == '\0' || *end != '\0' || after < 0)
			after = -1;
	}
	if ((j = agent_job(h, req, agent, "an agent token, session or API token is required")) == NULL)
		return;
	j->arg = after;
	j->finish = stream_start;
	cl_hjob_submit(j, CL_JOB_HIGH);
}

static void
on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct cl_http *h = arg;
	int64_t now = cl_now_ms();

	(void)fd;
	(void)what;
	for (struct sse *e = h->streams; e; e = e->next) {
		struct evbuffer *b;
		if (e->dropped || (b = evbuffer_new()) == NULL)
			continue;
		evbuffer_add(b, ": heartbeat\n\n", 13);
		evhttp_send_reply_chunk(e->req, b);
		evbuffer_free(b);
	}
	cl_sessions_expire(h->sessions, now);
}

/* ---- login ---- */

/* On the loop, once the agent's token is checked: the session cookie. */
static void
login_finish(struct cl_hjob *j)
{
	struct cl_http *h = j->srv->http;
	char gen[CL_AGENT_GEN_LEN], value[CL_SESSION_COOKIE_MAX + 1], cookie[CL_SESSION_COOKIE_MAX + 128];

	cl_agent_gen_of_token(j->token, gen); /* the token just checked: the session ends when it changes */
	cl_sessions_issue(h->sessions, j->agent, gen, value);
	snprintf(cookie, sizeof(cookie), COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", value,
	         CL_SESSION_TTL_MS / 1000, h->srv->tls && h->srv->cfg.http_tls ? "; Secure" : "");
	evhttp_add_header(evhttp_request_get_output_headers(j->req), "Set-Cookie", cookie);
	cl_http_reply_json(j->req, 200, json_pack("{s:b, s:s}", "ok", 1, "agent", j->agent));
	cl_hjob_free(j);
}

static void
login(struct cl_http *h, struct evhttp_request *req)
{
	json_t *in = body_json(req);
	const char *agent = in ? json_string_value(json_object_get(in, "agent")) : NULL;
	const char *token = in ? json_string_value(json_object_get(in, "token")) : NULL;
	struct cl_hjob *j;

	if (agent == NULL || token == NULL || strlen(agent) == 0 || strlen(agent) > CL_ID_MAX) {
		json_decref(in);
		cl_http_reply_error(req, 400, "bad_request", "the body must be {\"agent\":..,\"token\":..}");
		return;
	}
	if ((j = cl_hjob_new(h->srv, req, CL_HJOB_AGENT_TOKEN, "unknown agent or wrong token")) == NULL) {
		json_decref(in);
		cl_http_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	snprintf(j->agent, sizeof(j->agent), "%s", agent);
	j->token[0] = '\0'; /* the body's token, not a bearer's; too long is no token */
	if (strlen(token) <= CL_HJOB_TOKEN_MAX)
		snprintf(j->token, sizeof(j->token), "%s", token);
	json_decref(in);
	j->finish = login_finish;
	cl_hjob_submit(j, CL_JOB_HIGH);
}

static void
logout(struct cl_http *h, struct evhttp_request *req)
{
	char agent[CL_ID_MAX + 1], mac[CL_SHA256_HEX], line[CL_ID_MAX * 6 + 64], aj[CL_ID_MAX * 6 + 3];
	int ended = session_of(h, req, agent, NULL, mac) == 0;

	if (ended) {
		if (cl_sessions_end(h->sessions, agent, mac) < 0) {
			/* Ended in memory; the client may try again to make it durable. */
			cl_http_reply_error(req, 503, "busy", "the logout could not be stored; try again");
			return;
		}
		/* The session's streams end with it. */
		for (struct sse *e = h->streams; e; e = e->next)
			if (!e->dropped && strcmp(e->mac, mac) == 0) {
				cl_pops_unsubscribe(h->srv->pops, &e->sub);
				sse_drop(&e->sub);
			}
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie",
	                  COOKIE_NAME "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
	/* Logging out of the agent's last console logs the agent out (after the commit). */
	if (ended && cl_pops_consoles(h->srv->pops, agent) == 0 && cl_json_quote(agent, aj, sizeof(aj)) >= 0) {
		snprintf(line, sizeof(line), "{\"type\":\"agent.state\",\"agent\":%s,\"state\":\"logged_out\"}", aj);
		cl_http_feed(h, req, line, 200, json_pack("{s:b}", "ok", 1));
		return;
	}
	cl_http_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
}

static void
get_metrics(struct cl_http *h, struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_reply(req, 500, NULL, NULL);
		return;
	}
	cl_metrics_render(&h->srv->m, b);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, NULL, b);
	evbuffer_free(b);
}

static int
serve_asset(struct evhttp_request *req, const char *path)
{
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	else if (strcmp(path, "/wallboard") == 0)
		path = "/wallboard.html";
	for (const struct cl_web_asset *a = cl_web_assets; a->path; a++) {
		if (strcmp(a->path, path) != 0)
			continue;
		struct evbuffer *b = evbuffer_new();
		struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
		if (b == NULL)
			return -1;
		evbuffer_add_reference(b, a->data, a->len, NULL, NULL);
		evhttp_add_header(hdr, "Content-Type", a->type);
		evhttp_add_header(hdr, "Cache-Control", "no-cache");
		evhttp_add_header(hdr, "X-Content-Type-Options", "nosniff");
		evhttp_add_header(hdr, "Content-Security-Policy",
		                  "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
		evhttp_send_reply(req, 200, NULL, b);
		evbuffer_free(b);
		return 0;
	}
	return -1;
}

/* Splits "/api/agents/ID/rest" into the decoded ID and rest; -1 if malformed. */
static int
path_segment(const char *path, const char *prefix, char *id, size_t idlen, const char **rest)
{
	size_t n = strlen(prefix);
	const char *p, *slash;
	char *dec;

	if (strncmp(path, prefix, n) != 0)
		return -1;
	p = path + n;
	slash = strchr(p, '/');
	size_t len = slash ? (size_t)(slash - p) : strlen(p);
	if (len == 0 || len > 3 * CL_ID_MAX)
		return -1;
	char raw[3 * CL_ID_MAX + 1];
	memcpy(raw, p, len);
	raw[len] = '\0';
	if ((dec = evhttp_uridecode(raw, 0, NULL)) == NULL)
		return -1;
	if (strlen(dec) == 0 || strlen(dec) >= idlen) {
		free(dec);
		return -1;
	}
	snprintf(id, idlen, "%s", dec);
	free(dec);
	*rest = slash ? slash : "";
	return 0;
}

/* An API request answered code once its API token is checked (401 comes first). */
static void
refuse_api(struct cl_http *h, struct evhttp_request *req, int code, const char *error, const char *msg)
{
	struct cl_hjob *j = cl_hjob_new(h->srv, req, CL_HJOB_API_TOKEN, API_UNAUTHORIZED);

	if (j == NULL) {
		cl_http_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	j->status = code;
	j->out = json_pack("{s:s, s:s}", "error", error, "message", msg);
	cl_hjob_submit(j, CL_JOB_HIGH);
}

static void
route(struct evhttp_request *req, void *arg)
{
	struct cl_http *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evkeyvalq q;
	char id[CL_ID_MAX + 1];
	const char *rest, *error, *msg;
	int code;

	cl_http_gate_begin(h->gates, req);
	TAILQ_INIT(&q);
	if (path == NULL || (query && evhttp_parse_query_str(query, &q) < 0)) {
		cl_http_reply_error(req, 400, "bad_request", "malformed request");
		return;
	}
	if ((code = cl_http_gate_refusal(path, &error, &msg)) != 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		cl_http_reply_error(req, code, error, msg);
		evhttp_clear_headers(&q);
		return;
	}
	/* A browser's POST that could be a cross-site forgery never acts (SPEC §5). */
	if (cmd == EVHTTP_REQ_POST && cl_http_bearer(req) == NULL && !cl_http_same_origin_json(req)) {
		cl_http_reply_error(req, 403, "csrf",
		                    "a POST from the page must be application/json from its own origin");
		evhttp_clear_headers(&q);
		return;
	}
	if (cmd == EVHTTP_REQ_GET && strcmp(path, "/metrics") == 0) {
		get_metrics(h, req);
	} else if (cmd == EVHTTP_REQ_GET &&
	           (cl_api_get(h->srv, req, path, &q) == 0 || cl_http_reports_get(h->srv, req, path, &q) == 0)) {
		/* answered from a worker: healthz and the API's queries */
	} else if (strncmp(path, "/api/", 5) != 0) {
		if (cmd != EVHTTP_REQ_GET || serve_asset(req, path) < 0)
			cl_http_reply_error(req, 404, "not_found", "no such page");
	} else if (strcmp(path, "/api/login") == 0) {
		if (cmd == EVHTTP_REQ_POST)
			login(h, req);
		else
			cl_http_reply_error(req, 405, "method", "POST only");
	} else if (strcmp(path, "/api/logout") == 0) {
		logout(h, req);
	} else if (path_segment(path, "/api/agents/", id, sizeof(id), &rest) == 0 && rest[0] != '\0') {
		if (cmd == EVHTTP_REQ_GET && strcmp(rest, "/stream") == 0)
			stream(h, req, id, &q);
		else if (cmd == EVHTTP_REQ_POST && (strcmp(rest, "/disposition") == 0 || strcmp(rest, "/state") == 0 ||
		                                    strcmp(rest, "/select") == 0))
			cl_http_agent_post(h, req, id, rest + 1);
		else if (cmd == EVHTTP_REQ_GET && strcmp(rest, "/pending") == 0)
			cl_http_agent_get(h, req, id, rest + 1);
		else
			cl_http_reply_error(req, 404, "not_found", "no such resource");
	} else if (path_segment(path, "/api/agents/", id, sizeof(id), &rest) == 0 && cmd == EVHTTP_REQ_GET) {
		cl_http_agent_get(h, req, id, "");
	} else if (strcmp(path, "/api/dispositions") == 0 && cmd == EVHTTP_REQ_GET) {
		cl_http_dispositions(h, req, &q);
	} else if (strcmp(path, "/api/customers") == 0 && cmd == EVHTTP_REQ_POST) {
		cl_http_customers_post(h, req);
	} else if (cmd == EVHTTP_REQ_POST && strcmp(path, "/api/events") == 0) {
		cl_http_post_events(h, req);
	} else if (cmd != EVHTTP_REQ_GET) {
		refuse_api(h, req, 405, "method", "method not allowed");
	} else {
		refuse_api(h, req, 404, "not_found", "no such resource");
	}
	evhttp_clear_headers(&q);
}

#define LOGIN_BODY_MAX 4096 /* {"agent":..,"token":..} */

/*
 * The gate's verdict on a request head, before its body is read: a POST needs
 * a bearer token (checked later, on a worker) or a valid session (checked
 * here: a signature, no database), except login and logout.
 */
static int
gate_decide(void *arg, const struct cl_httphead *hh, int64_t *bound)
{
	struct cl_http *h = arg;
	char agent[CL_ID_MAX + 1];

	*bound = h->srv->cfg.http_max_body;
	if (hh->method == CL_HTTP_BODY_OTHER || hh->method == CL_HTTP_OTHER)
		return 501; /* evhttp would answer it without the router: the gate would not see its end */
	if (hh->method != CL_HTTP_POST)
		return 0;
	if (strcmp(hh->path, "/api/login") == 0 || strcmp(hh->path, "/api/logout") == 0) {
		*bound = LOGIN_BODY_MAX;
		return 0;
	}
	if (hh->bearer || (hh->cookie[0] && cl_sessions_check(h->sessions, hh->cookie, agent, NULL, NULL) == 0))
		return 0;
	return 401;
}

struct cl_http *
cl_http_start(struct cl_server *srv, struct evconnlistener *evl, char *err)
{
	struct cl_http *h = calloc(1, sizeof(*h));
	struct timeval hb = {HEARTBEAT_S, 0};

	if (h == NULL || (h->http = evhttp_new(srv->base)) == NULL ||
	    (h->gates = cl_http_gates_new(srv, gate_decide, h)) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		goto fail;
	}
	h->srv = srv;
	if ((h->sessions = cl_sessions_new(srv, err)) == NULL)
		goto fail;
	evhttp_set_max_headers_size(h->http, 16384);
	evhttp_set_max_body_size(h->http, (ev_ssize_t)srv->cfg.http_max_body);
	evhttp_set_timeout(h->http, srv->cfg.http_timeout);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(h->http, route, h);
	evhttp_set_bevcb(h->http, cl_http_gate_bev, h->gates);
	cl_metrics_gauge(&srv->m, "callogd_http_body_bytes", "Bytes of HTTP request bodies being received.",
	                 cl_http_gates_body_bytes, h->gates);
	if (evhttp_bind_listener(h->http, evl) == NULL) {
		snprintf(err, CL_ERR_LEN, "cannot accept on http %s", srv->cfg.http_listen);
		goto fail;
	}
	evl = NULL; /* evhttp frees it */
	h->heartbeat = event_new(srv->base, -1, EV_PERSIST, on_heartbeat, h);
	if (h->heartbeat == NULL || event_add(h->heartbeat, &hb) < 0) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		goto fail;
	}
	return h;
fail:
	if (evl != NULL)
		evconnlistener_free(evl);
	cl_http_free(h);
	return NULL;
}

void
cl_http_free(struct cl_http *h)
{
	if (h == NULL)
		return;
	if (h->heartbeat)
		event_free(h->heartbeat);
	if (h->http)
		evhttp_free(h->http); /* closes the streams: sse_closed frees each */
	cl_http_gates_free(h->gates);
	cl_sessions_free(h->sessions);
	free(h);
}

/* ---- for http_agent.c ---- */

json_t *
cl_http_body(struct evhttp_request *req)
{
	return body_json(req);
}

struct cl_hjob *
cl_http_agent_job(struct cl_http *h, struct evhttp_request *req, const char *agent, const char *unauthorized)
{
	return agent_job(h, req, agent, unauthorized);
}

int
cl_http_session_agent(struct cl_http *h, struct evhttp_request *req, char *agent, char *gen)
{
	return session_of(h, req, agent, gen, NULL);
}

struct cl_server *
cl_http_server(struct cl_http *h)
{
	return h->srv;
}
