/* consoles.h : agent console sessions on agents.unix / agents.tcp. */
#ifndef CALLOGD_CONSOLES_H
#define CALLOGD_CONSOLES_H

#include <event2/util.h>
#include <jansson.h>

#include "callogd/event.h"

struct cl_server;
struct cl_tls_server;

/* cl_consoles_accept() : a connection agents.unix / agents.tcp admitted (a cl_accept_cb). */
void cl_consoles_accept(evutil_socket_t fd, struct cl_tls_server *tls, void *srv);
/*
 * cl_consoles_event() : the producer event line a console's message (socket or
 * page) for agent stands for: disposition, state or select, after SPEC §5's
 * checks (admin: an admin token acting, no call or code checks); malloc'd.
 * NULL with *code and why (CL_ERR_LEN) when refused.
 */
char *cl_consoles_event(struct cl_server *srv, const char *agent, json_t *msg, int admin, enum cl_event_error *code,
                        char *why);
/* cl_consoles_call_allowed() : did call_id ring or reach agent as need (CL_AC_* bits) says? */
int cl_consoles_call_allowed(struct cl_server *srv, const char *agent, const char *call_id, unsigned need);
/* cl_consoles_close_all() : closes every console connection (shutdown). */
void cl_consoles_close_all(struct cl_server *srv);

#endif
