/* recent.h : each agent's last calls and its part in them (pure): who may
 * wrap up or select a call, and which ended calls still wait for a wrap-up. */
#ifndef CALLOGD_RECENT_H
#define CALLOGD_RECENT_H

#include <stdint.h>

#include <jansson.h>

#define CL_RECENT_MAX 16           /* calls remembered per agent; the oldest is forgotten first */
#define CL_RECENT_AGENTS_MAX 20000 /* agents remembered */

/* An agent's part in a call. */
#define CL_AC_RANG 1u     /* it rang the agent (or was transferred to it) */
#define CL_AC_ANSWERED 2u /* the agent answered it */
#define CL_AC_ENDED 4u    /* it ended, or the agent transferred it away */
#define CL_AC_WRAPPED 8u  /* the agent's wrap-up came in */

struct cl_recent;

struct cl_recent *cl_recent_new(void);
/* cl_recent_free() : accepts NULL. */
void cl_recent_free(struct cl_recent *r);
/*
 * cl_recent_mark() : agent's part in call_id gained flags at at_ms, with what
 * the page shows of the caller (number and name may be NULL). A call is only
 * remembered from CL_AC_RANG or CL_AC_ANSWERED on; other flags for a call not
 * remembered are ignored.
 */
void cl_recent_mark(struct cl_recent *r, const char *agent, const char *call_id, unsigned flags, int direction,
                    const char *number, const char *name, int64_t at_ms);
/* cl_recent_flags() : the CL_AC_* flags of agent's part in call_id; 0 when not remembered. */
unsigned cl_recent_flags(const struct cl_recent *r, const char *agent, const char *call_id);
/*
 * cl_recent_pending() : {"calls":[{call_id,direction,number,name,ended_at}]}:
 * the calls agent answered that ended without its wrap-up, oldest first. A new
 * reference, or NULL on out of memory.
 */
json_t *cl_recent_pending(const struct cl_recent *r, const char *agent);

#endif
