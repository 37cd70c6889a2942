/* consoles.h : agent console sessions on agents.unix / agents.tcp. */
#ifndef CALLOGD_CONSOLES_H
#define CALLOGD_CONSOLES_H

#include <event2/util.h>
#include <jansson.h>

#include "callogd/event.h"
#include "callogd/util.h"

struct cl_server;
struct cl_tls_server;

/* cl_consoles_accept() : a connection agents.unix / agents.tcp admitted (a cl_accept_cb). */
void cl_consoles_accept(evutil_socket_t fd, struct cl_tls_server *tls, void *srv);
/*
 * What a console message's checks need from the database, read on a worker by
 * cl_consoles_gather() (the loop only knows the calls pops remembers).
 */
struct cl_msg_facts {
	int on_record;             /* the call's record names the agent among those it reached */
	char call_err[CL_ERR_LEN]; /* the record could not be read (a storage error), else "" */
	int customer;              /* 1 the customer exists, 0 it does not, -1 a storage error (err) */
	char err[CL_ERR_LEN];
};
struct cl_store;
/* cl_consoles_gather() : on a worker: f for agent, call_id and customer_id (either may be NULL). */
void cl_consoles_gather(struct cl_store *st, const char *agent, const char *call_id, const char *customer_id,
                        struct cl_msg_facts *f);
/*
 * cl_consoles_needs_facts() : must msg (a console message of agent) wait for
 * cl_consoles_gather() before cl_consoles_event()? A select always does (the
 * customer must exist); a wrap-up does for a call pops no longer remembers.
 */
int cl_consoles_needs_facts(struct cl_server *srv, const char *agent, json_t *msg, int admin);
/*
 * cl_consoles_event() : the producer event line a console's message (socket or
 * page) for agent stands for: disposition, state or select, after SPEC §5's
 * checks (admin: an admin token acting, no call or code checks), with f the
 * facts gathered for it (NULL: none were needed); malloc'd. NULL with *code and
 * why (CL_ERR_LEN) when refused. It reads no database.
 */
char *cl_consoles_event(struct cl_server *srv, const char *agent, json_t *msg, int admin, const struct cl_msg_facts *f,
                        enum cl_event_error *code, char *why);
/* cl_consoles_call_allowed() : did call_id ring or reach agent as need (CL_AC_* bits) says, by pops or f? */
int cl_consoles_call_allowed(struct cl_server *srv, const char *agent, const char *call_id, unsigned need,
                             const struct cl_msg_facts *f);
/* cl_consoles_close_all() : closes every console connection (shutdown). */
void cl_consoles_close_all(struct cl_server *srv);

#endif
