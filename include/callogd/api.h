/* api.h : the read side of the HTTP API (GET /healthz, /api/calls, /api/calls/ID,
 * /api/customers, /api/agents, /api/stats): each request is checked and read on
 * a worker thread, never on the event loop. */
#ifndef CALLOGD_API_H
#define CALLOGD_API_H

struct cl_server;
struct evhttp_request;
struct evkeyvalq;

/*
 * cl_api_get() : answers the GET request req for path (query q, used only
 * during the call) when it is one of the above: 0. -1 when path is none of
 * them (nothing was done).
 */
int cl_api_get(struct cl_server *srv, struct evhttp_request *req, const char *path, struct evkeyvalq *q);

#endif
