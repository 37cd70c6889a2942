/* consoles.h : agent console sessions on agents.unix / agents.tcp. */
#ifndef CALLOGD_CONSOLES_H
#define CALLOGD_CONSOLES_H

#include <event2/util.h>

struct cl_server;
struct cl_tls_server;

/* cl_consoles_accept() : a connection agents.unix / agents.tcp admitted (a cl_accept_cb). */
void cl_consoles_accept(evutil_socket_t fd, struct cl_tls_server *tls, void *srv);
/* cl_consoles_close_all() : closes every console connection (shutdown). */
void cl_consoles_close_all(struct cl_server *srv);

#endif
