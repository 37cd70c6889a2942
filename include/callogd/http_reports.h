/* http_reports.h : GET /api/reports/queues|agents|dispositions (docs/reports.md),
 * checked and run on a worker thread, answered as JSON or CSV; and
 * GET /api/wallboard, the supervisor's snapshot. */
#ifndef CALLOGD_HTTP_REPORTS_H
#define CALLOGD_HTTP_REPORTS_H

struct cl_server;
struct evhttp_request;
struct evkeyvalq;

/*
 * cl_http_reports_get() : answers the GET request req when path is
 * /api/wallboard or under /api/reports/ (a report name it does not know is a
 * 404): 0. -1 when path is
 * not (nothing was done). q is used only during the call.
 */
int cl_http_reports_get(struct cl_server *srv, struct evhttp_request *req, const char *path, struct evkeyvalq *q);

#endif
