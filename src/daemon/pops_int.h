/* pops_int.h : pops.c's private state, shared with pops_lookup.c (the caller
 * lookups a pop waits for). Not part of any interface. */
#ifndef CALLOGD_POPS_INT_H
#define CALLOGD_POPS_INT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "callogd/calls.h"
#include "callogd/event.h"
#include "callogd/live.h"
#include "callogd/numbers.h"
#include "callogd/workers.h"

#define LOOKUP_BACKLOG_MAX CL_LIVE_CALLS_MAX /* lookups waiting for room in the workers' queue */
#define HOLDS_MAX 64                         /* answers one call's waiting pops may hold back */

/* A pop that waits for its call's lookup (until the deadline). */
struct deferred {
	char agent[CL_ID_MAX + 1];
	int64_t t0; /* when its trigger was read, for the latency histogram */
};

/* An answer held back until the pops its event caused have gone out. */
struct hold {
	void (*release)(void *arg);
	void *arg;
};

/* A live call's pop context: the cl_live_call's ctx. */
struct popctx {
	struct cl_pops *p;
	struct cl_live_call *call;
	json_t *lookup;     /* what the pop shows: local and CRM merged, or NULL */
	json_t *local;      /* the local lookup, when done */
	json_t *crm;        /* the CRM's contacts (cl_crm_contacts), when done */
	uint64_t crm_id;    /* the CRM lookup running, 0 when none: pops wait for it too */
	char *head, *tail;  /* the pop's text before and after "agent", cached; NULL when stale */
	uint64_t lookup_id; /* the running lookup, 0 when none: pops wait for it */
	struct deferred *deferred;
	int ndeferred;
	struct hold holds[HOLDS_MAX];
	int nholds;
	int64_t deadline_us;          /* when the deferred pops go out anyway */
	struct popctx *wnext, *wprev; /* p->waiting, by deadline */
};

/* A caller lookup, run on a worker with its own read connection. */
struct lookup_job {
	struct cl_job job;
	struct cl_pops *p;
	uint64_t id;
	char call_id[CL_ID_MAX + 1];
	char number[CL_PARTY_MAX + 1];
	struct cl_numbers rules; /* a copy: a reload may change the loop's meanwhile */
	int history;
	json_t *result; /* the lookup, or NULL with err */
	char err[CL_ERR_LEN];
	struct lookup_job *next_wait; /* p->backlog */
	/* Calls offered meanwhile from the same number share this lookup (a redial, a switchboard). */
	struct sharer {
		uint64_t id;
		char call_id[CL_ID_MAX + 1];
	} * sharers;
	size_t nsharers, capsharers;
	int listed; /* in p->inflight under its number */
};

struct cl_pops {
	struct cl_server *srv;
	struct cl_live *live;     /* the live-call model; each call's ctx is a struct popctx */
	struct cl_recent *recent; /* each agent's last calls: wrap-ups owed, who may select */
	struct cl_subs *subs;     /* who gets the messages, and their replay */
	int warned_full;
	struct popctx *waiting, *waiting_tail; /* calls whose pops wait for a lookup, by deadline */
	struct event *deadline_ev;
	uint64_t lookups;                          /* lookup ids given out */
	struct lookup_job *backlog, *backlog_tail; /* lookups that found the workers' queue full */
	struct cl_hmap *inflight;                  /* number -> its lookup not yet done (queued or running) */
	size_t nbacklog;
};

/*
 * A chosen customer (customer.set) read on a worker: its record and history
 * when the event names an existing one, and for a call no longer live the
 * call's record and its caller's lookup.
 */
struct select_job {
	struct cl_job job;
	struct cl_pops *p;
	uint64_t id; /* the live call's lookup id it stands for; 0: the call is not live */
	char call_id[CL_ID_MAX + 1];
	char customer_id[CL_ID_MAX + 1];
	char agent[CL_ID_MAX + 1]; /* who chose: the one shown a call no longer live */
	struct cl_numbers rules;
	int history;
	json_t *got; /* {customer, history}: given (a new customer) or read */
	struct cl_call call;
	int have_call;
	json_t *lookup; /* the caller's, for a call not live */
	char err[CL_ERR_LEN];
};

/* pops.c */
void pops_customer_apply(struct cl_pops *p, struct popctx *x, json_t *got, int64_t t0);
void pops_record_pop(struct cl_pops *p, const struct cl_call *c, json_t *lookup, json_t *got, const char *agent);
void pops_invalidate(struct popctx *x);
/* pops_send_pop() : the call's pop to agent; t0 when its trigger was read, or -1 for an updated pop. */
void pops_send_pop(struct cl_pops *p, struct popctx *x, const char *agent, int64_t t0);
void pops_flush_deferred(struct cl_pops *p, struct popctx *x);

/* A lookup (local or CRM) is still running: the call's pops wait for it, up to the deadline. */
#define POPS_LOOKUP_PENDING(x) ((x)->lookup_id != 0 || (x)->crm_id != 0)

/* pops_lookup.c */
int pops_lookup_submit(struct cl_pops *p, struct popctx *x, enum cl_job_prio prio, int may_wait);
void pops_lookup_start(struct cl_pops *p, struct popctx *x);
void pops_lookup_drain(struct cl_pops *p);
void pops_lookups_free(struct cl_pops *p);
/* pops_select_submit() : reads ev's chosen customer (got when given, taken) on a worker, then applies it to x or,
 * x NULL, pops the call's record to ev's agent. */
void pops_select_submit(struct cl_pops *p, struct popctx *x, const struct cl_event *ev, json_t *got);

#endif
