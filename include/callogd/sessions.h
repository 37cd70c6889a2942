/* sessions.h : the console page's login sessions, and the end of what an agent's
 * credentials opened.
 *
 * A session is a signed cookie, hex(agent) "." expiry "." generation "." HMAC,
 * under a key kept in the database: nothing secret is stored per session and
 * sessions survive restarts. The generation is the agent's token generation
 * (store.h): when the agent is removed, or added again with a new token, a
 * worker's check refuses its old sessions. A logout revokes that session
 * alone, in memory at once and in the database through the writer. Past
 * CL_SESSIONS_REVOKED_MAX remembered logouts, a logout ends every session of
 * its agent made so far instead: a logout never silently fails to end a
 * session.
 *
 * Consoles and streams keep the generation they were opened with; every second
 * a worker checks those of the agents connected, and those whose agent was
 * removed or given a new token are closed.
 */
#ifndef CALLOGD_SESSIONS_H
#define CALLOGD_SESSIONS_H

#include <stdint.h>

#include "callogd/event.h"
#include "callogd/sha256.h"
#include "callogd/store.h"

#define CL_SESSION_TTL_MS (12 * 3600 * 1000LL)
#define CL_SESSIONS_REVOKED_MAX 100000 /* logouts remembered one by one */
/* A cookie value: hex agent, expiry, generation, MAC and the dots between. */
#define CL_SESSION_COOKIE_MAX (2 * CL_ID_MAX + 24 + CL_AGENT_GEN_LEN + CL_SHA256_HEX + 3)

struct cl_server;
struct cl_sessions;

/* cl_sessions_new() : the signing key and the logouts still in force, read through srv->reader; NULL with err. */
struct cl_sessions *cl_sessions_new(struct cl_server *srv, char *err);
void cl_sessions_free(struct cl_sessions *s);

/* cl_sessions_issue() : a new session's cookie value for agent with token generation gen (out: CL_SESSION_COOKIE_MAX +
 * 1). */
void cl_sessions_issue(struct cl_sessions *s, const char *agent, const char *gen, char *out);
/*
 * cl_sessions_check() : 0 when value is a signed, unexpired session not logged
 * out, with its agent (CL_ID_MAX + 1), gen (CL_AGENT_GEN_LEN) and mac
 * (CL_SHA256_HEX; any of them may be NULL); else -1. On the loop, no database:
 * whether gen is still the agent's is a worker's check (CL_HJOB_AGENT_ACTIVE).
 */
int cl_sessions_check(struct cl_sessions *s, const char *value, char *agent, char *gen, char *mac);
/*
 * cl_sessions_end() : logs the session (agent, mac) out, at once and durably.
 * 0, or -1 when it could not be queued for the database (ended in memory only).
 */
int cl_sessions_end(struct cl_sessions *s, const char *agent, const char *mac);
/* cl_sessions_expire() : forgets logouts of sessions expired by now; called periodically. */
void cl_sessions_expire(struct cl_sessions *s, int64_t now_ms);

#endif
