/* ami.h : the Asterisk AMI translator (pure): AMI event blocks in, §3 event lines
 * out, with the small per-link state the mapping needs, and the resync. */
#ifndef CALLOGD_AMI_H
#define CALLOGD_AMI_H

#include <stddef.h>
#include <stdint.h>

#include "callogd/pbxframe.h"

/* Bounds on the per-link state. */
#define CL_AMI_MAX_CALLS 8192     /* calls tracked (by Linkedid) */
#define CL_AMI_MAX_CHANNELS 32768 /* channels tracked (by Uniqueid) */
#define CL_AMI_MAX_AGENTS 8192    /* agents and member devices known */
#define CL_AMI_MAX_SYNC 32768     /* items of one resync's lists */
#define CL_AMI_UID_MAX 150        /* Asterisk's own bound on a Uniqueid */

/* How a queue member becomes a callogd agent id. */
enum cl_ami_agent_id {
	CL_AMI_AGENT_MEMBERNAME, /* MemberName as is */
	CL_AMI_AGENT_INTERFACE,  /* Interface without its technology: PJSIP/1001 -> 1001 */
};

/* What cl_ami_frame() reports besides its lines. */
enum {
	CL_AMI_RESYNC = 1,     /* FullyBooted: the PBX (re)started or we logged in: resync now */
	CL_AMI_SYNC_READY = 2, /* both resync lists are complete: call cl_ami_sync_finish() */
};

struct cl_ami;

/* cl_ami_new() : state for the link called name (the prefix of every id and call_id). */
struct cl_ami *cl_ami_new(const char *name, enum cl_ami_agent_id agent_id);
void cl_ami_free(struct cl_ami *a);

/*
 * cl_ami_session() : a new connection. session is a number the link picks (its
 * connect time): ids of events the PBX gives no identifier for (a pause without
 * a Timestamp header) carry it, so that they never repeat an older id.
 */
void cl_ami_session(struct cl_ami *a, int64_t session);

/* cl_ami_frame() : translates one AMI event block; lines are appended to out. Returns CL_AMI_* flags. */
int cl_ami_frame(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out);

/*
 * Resync: cl_ami_sync_begin(), then the link sends CoreShowChannels and
 * QueueStatus; their items come through cl_ami_frame() like any event, which
 * returns CL_AMI_SYNC_READY after the last. cl_ami_sync_finish() then takes the
 * call_ids open in the log for this link: open calls the PBX no longer has are
 * ended `lost`, live queue or agent calls the log does not have are created,
 * and agents' states are set from the queue members.
 */
void cl_ami_sync_begin(struct cl_ami *a);
int cl_ami_sync_pending(const struct cl_ami *a);
void cl_ami_sync_finish(struct cl_ami *a, const char *const *open_calls, size_t n_open, struct cl_pbx_out *out);

const struct cl_pbx_stats *cl_ami_stats(const struct cl_ami *a);
/* Calls tracked now. */
size_t cl_ami_calls(const struct cl_ami *a);

#endif
