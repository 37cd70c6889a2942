/* pops.h : the screen-pop fan-out: live calls and their pop context (caller
 * lookups, pops waiting for them), and what each agent's subscribers get. */
#ifndef CALLOGD_POPS_H
#define CALLOGD_POPS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "callogd/event.h"
#include "callogd/recent.h"
#include "callogd/subs.h"

struct cl_pops;
struct cl_server;
struct cl_store;

struct cl_pops *cl_pops_new(struct cl_server *srv);
void cl_pops_free(struct cl_pops *p);
/* cl_pops_crm_done() : the CRM's answers come back here (a cl_crm_done_fn; arg is the struct cl_pops). */
void cl_pops_crm_done(void *arg, const char *call_id, uint64_t id, json_t *contacts);
/*
 * cl_pops_crm_contact() : a copy of the CRM contact customer_id among live
 * call call_id's CRM matches (an agent may select it), or NULL.
 */
json_t *cl_pops_crm_contact(struct cl_pops *p, const char *call_id, const char *customer_id);
/*
 * cl_pops_on_event() : the pop side of a new (never a duplicate) event, read
 * at t0 (cl_mono_us), before it is queued: updates the live calls and sends
 * the messages it causes. Returns 1 when a pop waits for its caller lookup:
 * release(arg) is then called once it went out (the event's answer waits for
 * it, docs/consoles.md); else 0.
 */
int cl_pops_on_event(struct cl_pops *p, const struct cl_event *ev, int64_t t0, void (*release)(void *arg), void *arg);
/*
 * cl_pops_restore() : at start-up, rebuilds the live calls from the stored
 * events of the calls not ended (nothing is sent), and starts their lookups.
 */
int cl_pops_restore(struct cl_pops *p, struct cl_store *st, char *err);
/*
 * cl_pops_subscribe() : adds s for its agent. With last_seq >= 0 (an SSE
 * Last-Event-ID) it replays what the agent was sent since, when the replay
 * buffer still holds all of it; otherwise it sends the pops of the agent's
 * live calls. s may be dropped (its drop() called) if it cannot take them.
 */
void cl_pops_subscribe(struct cl_pops *p, struct cl_sub *s, int64_t last_seq);
void cl_pops_unsubscribe(struct cl_pops *p, struct cl_sub *s);
/* cl_pops_live_data() : bytes of live calls' attached data kept (within pops.data_memory). */
size_t cl_pops_live_data(struct cl_pops *p);
/* cl_pops_subs() : the agents' subscribers (subs.h). */
struct cl_subs *cl_pops_subs(struct cl_pops *p);
/*
 * cl_pops_agent_call() : the CL_AC_* flags of agent's part in call_id, from
 * the last calls each agent rang for (recent.h: a bounded memory, lost on restart).
 */
unsigned cl_pops_agent_call(struct cl_pops *p, const char *agent, const char *call_id);
/* cl_pops_pending() : {"calls":[{call_id,direction,number,name,ended_at}]}: agent's ended calls without its wrap-up. */
json_t *cl_pops_pending(struct cl_pops *p, const char *agent);
/* Consoles connected for agent (socket and SSE). */
int cl_pops_consoles(struct cl_pops *p, const char *agent);
size_t cl_pops_live_calls(struct cl_pops *p);
/* cl_pops_each_call() : fn for each live call (not ended), as cl_live_each() (the PBX links' resync). */
struct cl_live_call;
int cl_pops_each_call(struct cl_pops *p, int (*fn)(void *arg, struct cl_live_call *c), void *arg);
/* Bytes held for replay over all agents (messages and rings). */
size_t cl_pops_replay_bytes(struct cl_pops *p);
/* Drops idle per-agent replay buffers; called periodically. */
void cl_pops_expire(struct cl_pops *p, int64_t now_ms);

#endif
