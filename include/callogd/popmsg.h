/* popmsg.h : the messages agent consoles get (docs/consoles.md): pops and call state
 * messages, built from the live-call model and a lookup (pure). */
#ifndef CALLOGD_POPMSG_H
#define CALLOGD_POPMSG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "callogd/live.h"

/*
 * A pop is head + "agent" + tail: the head and tail are built once per call
 * (and again when its context or lookup changes), so a pop costs one copy.
 */

/* cl_popmsg_head() : call_id, direction, from, to, queue as members text; malloc'd, or NULL. */
char *cl_popmsg_head(const struct cl_live_call *c);
/*
 * cl_popmsg_tail() : data, then the lookup's members (customer, matches,
 * candidates, history, number, number_status) as members text; with no lookup
 * (NULL: none made, or not finished) customer null, matches 0, history [].
 * malloc'd, or NULL.
 */
char *cl_popmsg_tail(const struct cl_live_call *c, const json_t *lookup);
/* cl_popmsg_pop() : the pop's members for agent; malloc'd, or NULL. */
char *cl_popmsg_pop(const char *head, const char *agent, const char *tail);
/* cl_popmsg_call() : a call state message's members for a (a CL_LIVE_CALL act on call_id); malloc'd, or NULL. */
char *cl_popmsg_call(const char *call_id, const struct cl_live_act *a);
/* cl_popmsg_frame() : {"type":TYPE,"seq":SEQ,BODY} (*len bytes, no newline); malloc'd, or NULL. */
char *cl_popmsg_frame(const char *type, int64_t seq, const char *body, size_t *len);

#endif
