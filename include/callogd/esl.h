/* esl.h : the FreeSWITCH event-socket translator (pure): mod_callcenter and channel
 * events in (plain or json), §3 event lines out, with its per-link state and resync. */
#ifndef CALLOGD_ESL_H
#define CALLOGD_ESL_H

#include <stddef.h>
#include <stdint.h>

#include "callogd/pbxframe.h"

#define CL_ESL_MAX_CALLS 8192  /* calls tracked (by the caller leg's Unique-ID) */
#define CL_ESL_MAX_LEGS 16384  /* agent legs tracked */
#define CL_ESL_MAX_AGENTS 8192 /* agents' last states */
#define CL_ESL_MAX_SYNC 32768  /* rows of one resync's lists */
#define CL_ESL_UUID_MAX 64

/* What cl_esl_event() reports besides its lines. */
enum {
	CL_ESL_RESYNC = 1, /* a new Core-UUID: FreeSWITCH restarted */
};

struct cl_esl;

/* cl_esl_new() : state for the link called name (the prefix of every id and call_id). */
struct cl_esl *cl_esl_new(const char *name);
void cl_esl_free(struct cl_esl *e);
/* cl_esl_session() : a new connection; see cl_ami_session(). */
void cl_esl_session(struct cl_esl *e, int64_t session);

/*
 * cl_esl_event() : translates one message whose Content-Type is text/event-plain
 * or text/event-json (msg's body is the event; it may be modified). Lines are
 * appended to out. Returns CL_ESL_* flags.
 */
int cl_esl_event(struct cl_esl *e, struct cl_pbx_frame *msg, struct cl_pbx_out *out);

/*
 * Resync: cl_esl_sync_begin(), then the bodies of `api show channels as json`,
 * `api callcenter_config queue list members` and `api callcenter_config agent
 * list` as they come (-1 when a body cannot be read: the resync is then not
 * finished), then cl_esl_sync_finish() with the call_ids open in the log for
 * this link, as for AMI.
 */
void cl_esl_sync_begin(struct cl_esl *e);
int cl_esl_sync_channels(struct cl_esl *e, const char *json, size_t len);
int cl_esl_sync_members(struct cl_esl *e, const char *text, size_t len);
int cl_esl_sync_agents(struct cl_esl *e, const char *text, size_t len);
void cl_esl_sync_finish(struct cl_esl *e, const char *const *open_calls, size_t n_open, struct cl_pbx_out *out);

const struct cl_pbx_stats *cl_esl_stats(const struct cl_esl *e);
size_t cl_esl_calls(const struct cl_esl *e);

#endif
