/* wbstream.h : GET /api/wallboard/stream (docs/reports.md): the supervisors'
 * live wallboards as Server-Sent Events, fed by one snapshot read on a worker
 * for all of them. On the loop thread only. */
#ifndef CALLOGD_WBSTREAM_H
#define CALLOGD_WBSTREAM_H

struct cl_server;
struct cl_wb;
struct evhttp_request;

/* cl_wb_new() : the streams' state and their timer on srv's loop; NULL on out of memory. */
struct cl_wb *cl_wb_new(struct cl_server *srv);
/*
 * cl_wb_free() : after the HTTP server (which closes the streams) and the
 * workers (which finish the reads) are gone. Accepts NULL.
 */
void cl_wb_free(struct cl_wb *wb);
/*
 * cl_wb_open() : req (checked: an admin or supervisor token) becomes a stream:
 * a snapshot first, then updates. 503 busy past stats.wallboard_streams.
 */
void cl_wb_open(struct cl_wb *wb, struct evhttp_request *req);

#endif
