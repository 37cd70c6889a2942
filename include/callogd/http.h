/* http.h : the HTTP API, SSE streams and the console page on http.listen. */
#ifndef CALLOGD_HTTP_H
#define CALLOGD_HTTP_H

#include <event2/util.h>
#include <jansson.h>

struct evconnlistener;

struct cl_http;
struct cl_server;

/* cl_http_start() : serves on evl (a listening socket's evconnlistener, taken); NULL with err. */
struct cl_http *cl_http_start(struct cl_server *srv, struct evconnlistener *evl, char *err);
void cl_http_free(struct cl_http *h);

/* ---- shared by http.c and http_agent.c (the console page's endpoints) ---- */

struct cl_hjob;
struct evhttp_request;
struct evkeyvalq;

/* cl_http_body() : the body as a JSON value (new reference), NULL when it is not JSON. */
json_t *cl_http_body(struct evhttp_request *req);
/*
 * cl_http_agent_job() : a job that lets req act for agent once a worker
 * agrees (its agent token or an API token, or its session); NULL after
 * answering req (401 or 500).
 */
struct cl_hjob *cl_http_agent_job(struct cl_http *h, struct evhttp_request *req, const char *agent,
                                  const char *unauthorized);
struct cl_server *cl_http_server(struct cl_http *h);
/*
 * cl_http_session_agent() : 0 with agent (CL_ID_MAX + 1 bytes) and its token
 * generation gen (CL_AGENT_GEN_LEN) when req has a signed session cookie not
 * logged out, else -1. Whether gen is still current is a worker's check.
 */
int cl_http_session_agent(struct cl_http *h, struct evhttp_request *req, char *agent, char *gen);
/*
 * cl_http_feed() : ingests one event line for req as a console would, and
 * answers once it is committed: ok_code with ok_reply (taken), or when ok_code
 * is 0 or the event was refused, the console answer (400 on an error).
 */
void cl_http_feed(struct cl_http *h, struct evhttp_request *req, const char *line, int ok_code, json_t *ok_reply);

/* http_post.c: POST /api/events (admin or producer token), answered once committed */
void cl_http_post_events(struct cl_http *h, struct evhttp_request *req);

/* http_agent.c */
/* cl_http_same_origin_json() : 1 when a POST is application/json from the page's own origin (no CSRF). */
int cl_http_same_origin_json(struct evhttp_request *req);
/* POST /api/agents/ID/disposition|state|select */
void cl_http_agent_post(struct cl_http *h, struct evhttp_request *req, const char *agent, const char *what);
/* GET /api/agents/ID (what "") and /api/agents/ID/pending */
void cl_http_agent_get(struct cl_http *h, struct evhttp_request *req, const char *agent, const char *what);
/* GET /api/dispositions */
void cl_http_dispositions(struct cl_http *h, struct evhttp_request *req, struct evkeyvalq *q);
/* POST /api/customers */
void cl_http_customers_post(struct cl_http *h, struct evhttp_request *req);

#endif
