/* subs.h : each agent's subscribers (socket consoles, SSE streams), the
 * delivery of messages to them, and their replay buffers (SSE Last-Event-ID). */
#ifndef CALLOGD_SUBS_H
#define CALLOGD_SUBS_H

#include <stddef.h>
#include <stdint.h>

#include "callogd/event.h"

struct cl_server;
struct cl_subs;

/* A subscriber: a socket console or an SSE stream. */
struct cl_sub {
	struct cl_sub *next, *prev;
	char agent[CL_ID_MAX + 1];
	/* Delivers one message; returns -1 if the subscriber must be dropped (the
	 * callee then must not free itself: the caller calls drop() after unlinking). */
	int (*send)(struct cl_sub *s, int64_t seq, const char *type, const char *json, size_t len);
	void (*drop)(struct cl_sub *s);
	int kind;     /* enum cl_conn_kind */
	char gen[17]; /* the agent's token generation it was opened with (CL_AGENT_GEN_LEN), "" unchecked */
};

/* cl_subs_new() : replay bounds from srv->cfg (read at each use: reload changes them), counts into srv->m. */
struct cl_subs *cl_subs_new(struct cl_server *srv);
/* cl_subs_free() : drops every subscriber; accepts NULL. */
void cl_subs_free(struct cl_subs *s);
/* cl_subs_known() : agent has (or recently had) a subscriber; an agent that never had one has nobody to tell. */
int cl_subs_known(struct cl_subs *s, const char *agent);
/*
 * cl_subs_send() : {"type":TYPE,"seq":N,BODY} with a new seq to every
 * subscriber of agent, kept for replay (TYPE a static string, BODY members
 * without braces). A subscriber that cannot take it is dropped. 0, or -1 when
 * agent is not known (nothing sent).
 */
int cl_subs_send(struct cl_subs *s, const char *agent, const char *type, const char *body);
/*
 * cl_subs_add() : adds sub for its agent. With last_seq >= 0 (an SSE
 * Last-Event-ID) it replays what the agent was sent since: 1 when that was
 * everything, 0 when the caller must send the current state instead (also
 * when last_seq < 0), -1 when sub was dropped (its drop() called).
 */
int cl_subs_add(struct cl_subs *s, struct cl_sub *sub, int64_t last_seq);
/* cl_subs_send_one() : a message to sub alone, not kept for replay; -1 when sub was dropped. */
int cl_subs_send_one(struct cl_subs *s, struct cl_sub *sub, const char *type, const char *body);
void cl_subs_remove(struct cl_subs *s, struct cl_sub *sub);
/* cl_subs_gens() : fn(arg, agent, gen) once for each agent and token generation its subscribers were opened with. */
void cl_subs_gens(struct cl_subs *s, void (*fn)(void *arg, const char *agent, const char *gen), void *arg);
/* cl_subs_end() : unlinks and drops every subscriber of agent opened with generation gen; how many. */
int cl_subs_end(struct cl_subs *s, const char *agent, const char *gen);
/* Subscribers of agent. */
int cl_subs_count(struct cl_subs *s, const char *agent);
/* Bytes held for replay over all agents (messages and rings). */
size_t cl_subs_replay_bytes(const struct cl_subs *s);
/* Drops replay messages past the window and idle agents; called periodically. */
void cl_subs_expire(struct cl_subs *s, int64_t now_ms);

#endif
