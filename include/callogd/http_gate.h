/* http_gate.h : the gate in front of evhttp. Every HTTP connection's bytes pass
 * a filter bufferevent that reads each request's head (bounded) before evhttp
 * sees it, and decides there, before the body costs memory: a request that
 * needs credentials and carries none, or whose declared body is over its
 * route's bound or over what all bodies in flight may hold together, is
 * answered and its connection closed without its body being read. It also caps
 * the connections, bounds the requests and replies queued per connection
 * (pipelining without reading stalls that connection only), and counts into
 * the metrics.
 *
 * A refusal is handed to evhttp as a request of its own (GET
 * /-/refused/STATUS, Connection: close) in place of the refused one, so it is
 * answered in order after the replies before it; the HTTP router answers it
 * with cl_http_gate_refusal().
 */
#ifndef CALLOGD_HTTP_GATE_H
#define CALLOGD_HTTP_GATE_H

#include <stdint.h>

#include <event2/event.h>

#include "callogd/httphead.h"

struct bufferevent;
struct evhttp_request;
struct cl_server;
struct cl_http_gates;

/*
 * A head's verdict, on the loop: 0 to let it through with *bound the most its
 * body may hold, or the HTTP status to refuse it with. Must not block.
 */
typedef int (*cl_gate_decide_fn)(void *arg, const struct cl_httphead *h, int64_t *bound);

/* cl_http_gates_new() : the gate of srv's HTTP listener (srv->cfg is read live); NULL on out of memory. */
struct cl_http_gates *cl_http_gates_new(struct cl_server *srv, cl_gate_decide_fn decide, void *arg);
/* cl_http_gates_free() : after evhttp_free() (every connection's gate gone); NULL is fine. */
void cl_http_gates_free(struct cl_http_gates *g);

/* cl_http_gate_bev() : evhttp's bufferevent callback (arg: the gates): a new connection behind a gate. */
struct bufferevent *cl_http_gate_bev(struct event_base *base, void *arg);

/*
 * cl_http_gate_begin() : the HTTP router calls it first for every request: the
 * request's body stays held against the budget until its answer is complete,
 * and a connection has at most 8 requests passed and not yet answered.
 */
void cl_http_gate_begin(struct cl_http_gates *g, struct evhttp_request *req);

/*
 * cl_http_gate_refusal() : for a request path, the status of the refusal the
 * gate put in its place (and *error, *message for the answer), or 0.
 */
int cl_http_gate_refusal(const char *path, const char **error, const char **message);

/* Bytes of bodies held now over all connections (for the metrics). */
uint64_t cl_http_gates_body_bytes(void *g);

#endif
