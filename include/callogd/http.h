/* http.h : the HTTP API, SSE streams and the console page on http.listen. */
#ifndef CALLOGD_HTTP_H
#define CALLOGD_HTTP_H

#include <event2/util.h>

struct evconnlistener;

struct cl_http;
struct cl_server;

/* cl_http_start() : serves on evl (a listening socket's evconnlistener, taken); NULL with err. */
struct cl_http *cl_http_start(struct cl_server *srv, struct evconnlistener *evl, char *err);
void cl_http_free(struct cl_http *h);

#endif
