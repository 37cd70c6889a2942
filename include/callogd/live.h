/* live.h : the live-call model (pure): the calls ringing or answered, which
 * agents each rings or reached, who was popped, and the messages an event
 * causes. Data in, data out: no sockets, no clock, no globals. The daemon feeds
 * it every new event (and at start-up the stored events of calls not ended);
 * it never sees a duplicate. */
#ifndef CALLOGD_LIVE_H
#define CALLOGD_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "callogd/event.h"

#define CL_LIVE_MAX_AGENTS 16                     /* agents a call rang or reached, tracked for pops */
#define CL_LIVE_CALLS_MAX 200000                  /* calls tracked at once */
#define CL_LIVE_STALE_MS (12 * 3600 * 1000LL)     /* a call never ended is forgotten after this */
#define CL_LIVE_ACTS_MAX (CL_LIVE_MAX_AGENTS + 2) /* messages one event can cause */

enum cl_live_agent_state { CL_LA_RINGING, CL_LA_CONNECTED };

struct cl_live_agent {
	char id[CL_ID_MAX + 1];
	int state;  /* enum cl_live_agent_state */
	int popped; /* this agent was (or is due to be) sent the pop */
};

struct cl_live_call {
	char call_id[CL_ID_MAX + 1];
	int direction; /* enum cl_direction */
	char from[CL_PARTY_MAX + 1], to[CL_PARTY_MAX + 1];
	char queue[CL_ID_MAX + 1];
	char *data;  /* attached data: the object's JSON text as received, or NULL; malloc'd */
	int offered; /* call.offered was seen: from and to are known */
	struct cl_live_agent agents[CL_LIVE_MAX_AGENTS];
	int nagents;
	int64_t updated_ms;
	void *ctx; /* the caller's per-call state; freed with the call by the model's ctx_free */
};

enum cl_live_act_kind {
	CL_LIVE_POP,  /* send the call's pop to `to` */
	CL_LIVE_CALL, /* send a call state message to `to` */
};

/* One message an event causes. The pointers point into the event or are static. */
struct cl_live_act {
	enum cl_live_act_kind kind;
	char to[CL_ID_MAX + 1]; /* the agent the message is for */
	const char *state;      /* CALL: answered, held, resumed, transferred, ended, retracted */
	const char *agent;      /* CALL: the event's agent, or NULL */
	const char *to_agent;   /* CALL transferred: the target agent, or NULL */
	const char *to_num;     /* CALL transferred to a number: the number, or NULL */
	const char *reason;     /* CALL ended: the reason, or NULL */
};

struct cl_live_result {
	struct cl_live_call *call; /* the call the event touched, or NULL (agent.state, unknown, full) */
	int ended;                 /* the call was removed: the caller frees it (cl_live_call_free) after the acts */
	int context;               /* the pop's context changed (offer, queue): cached pop text is stale */
	int full;                  /* a new call could not be tracked: CL_LIVE_CALLS_MAX reached */
	int data_dropped;          /* the offer's data was not kept: the bound on all calls' data was reached */
	int n;
	struct cl_live_act acts[CL_LIVE_ACTS_MAX];
};

struct cl_live;

/* cl_live_new() : an empty model; ctx_free (may be NULL) frees a call's ctx. */
struct cl_live *cl_live_new(void (*ctx_free)(void *ctx));
/* cl_live_free() : frees the model and every call in it; accepts NULL. */
void cl_live_free(struct cl_live *l);

/*
 * cl_live_apply() : applies a new (never a duplicate) event with trigger (enum
 * cl_pop_trigger) at now_ms, and fills r with the messages it causes, in the
 * order they are to be sent. 0, or -1 on out of memory (r then says nothing).
 */
int cl_live_apply(struct cl_live *l, const struct cl_event *ev, int trigger, int64_t now_ms, struct cl_live_result *r);
/* cl_live_call_free() : frees a call that cl_live_apply() removed (r->ended). */
void cl_live_call_free(struct cl_live *l, struct cl_live_call *c);

struct cl_live_call *cl_live_get(const struct cl_live *l, const char *call_id);
/* cl_live_agent() : agent's place on c, or NULL. */
const struct cl_live_agent *cl_live_agent(const struct cl_live_call *c, const char *agent);
/* cl_live_each() : calls fn for each call until it returns non-zero (then returns that); fn must not apply. */
int cl_live_each(const struct cl_live *l, int (*fn)(void *arg, struct cl_live_call *c), void *arg);
size_t cl_live_count(const struct cl_live *l);
/* cl_live_set_data_max() : the most bytes of attached data kept over all calls (0: no bound); an offer past it keeps
 * none. */
void cl_live_set_data_max(struct cl_live *l, size_t bytes);
/* cl_live_data_bytes() : bytes of attached data kept now. */
size_t cl_live_data_bytes(const struct cl_live *l);
/* cl_live_expire() : forgets calls not updated for CL_LIVE_STALE_MS before now_ms; returns how many. */
size_t cl_live_expire(struct cl_live *l, int64_t now_ms);

#endif
