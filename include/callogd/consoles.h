/* consoles.h : agent console sessions on agents.unix / agents.tcp. */
#ifndef CALLOGD_CONSOLES_H
#define CALLOGD_CONSOLES_H

#include <event2/util.h>

struct cl_server;
struct evconnlistener;
struct sockaddr;

void cl_consoles_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *srv);
/* cl_consoles_close_all() : closes every console connection (shutdown). */
void cl_consoles_close_all(struct cl_server *srv);

#endif
