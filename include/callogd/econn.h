/* econn.h : the events.unix / events.tcp connections (SPEC §3): each a
 * producer of ingest, with its optional hello and its backpressure. */
#ifndef CALLOGD_ECONN_H
#define CALLOGD_ECONN_H

#include <event2/util.h>

struct cl_server;
struct cl_tls_server;

/* cl_econn_accept() : a connection events.unix / events.tcp admitted (a cl_accept_cb). */
void cl_econn_accept(evutil_socket_t fd, struct cl_tls_server *tls, void *srv);
/* cl_econns_resume() : connections paused by the global bound read again where they may. */
void cl_econns_resume(struct cl_server *srv);
/*
 * cl_econns_quiesce() : the start of a shutdown: answers the lines already
 * read into buffers, then reads no more (the sockets stay open for the acks).
 */
void cl_econns_quiesce(struct cl_server *srv);
/*
 * cl_econns_stop_reading() : reads no more lines; each connection closes once
 * its answers are written (the last loop pass of a shutdown).
 */
void cl_econns_stop_reading(struct cl_server *srv);
/* cl_econns_close_all() : closes every connection (shutdown). */
void cl_econns_close_all(struct cl_server *srv);

#endif
