/* ami_int.h : the AMI translator's state, shared by its two files (ami.c
 * translates events, amisync.c resyncs); not an interface. */
#ifndef CALLOGD_AMI_INT_H
#define CALLOGD_AMI_INT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/ami.h"
#include "callogd/hmap.h"

#define UIDSZ (CL_AMI_UID_MAX + 1)
#define IDSZ (CL_ID_MAX + 1)
#define DATA_MAX 4096 /* attached data, as JSON text */
#define DATA_VARS 32

enum by { BY_NONE, BY_CALLER, BY_AGENT, BY_SYSTEM };
static const char *const by_names[] = {NULL, "caller", "agent", "system"};

struct call {
	char caller[UIDSZ]; /* the caller channel's Uniqueid */
	int offered, queued, answered, abandoned, direct;
	int by;       /* enum by: the channel of the first HangupRequest */
	unsigned gen; /* the resync during which it began, 0 if none */
};

struct chan {
	char linkedid[UIDSZ];
	char agent[IDSZ];             /* "" unless an agent's leg */
	char exten[CL_PARTY_MAX + 1]; /* Newchannel's Exten: the number dialled */
	int on_hold;
};

struct agent {
	char state[16];
	char reason[IDSZ];
	int queues; /* memberships known */
};

struct sync_chan {
	char uid[UIDSZ], linkedid[UIDSZ];
	char chan[IDSZ], cid[CL_PARTY_MAX + 1], exten[CL_PARTY_MAX + 1];
	int state; /* ChannelState: 4 ring, 5 ringing, 6 up */
};

struct sync_member {
	char queue[IDSZ], agent[IDSZ], iface[IDSZ], state_iface[IDSZ], reason[IDSZ];
	int paused;
};

struct sync_entry {
	char uid[UIDSZ], queue[IDSZ];
};

struct cl_ami {
	char name[64];
	int agent_id;
	int64_t session;
	uint64_t counter;
	struct cl_hmap *calls, *chans, *agents;
	struct cl_hmap *devices; /* interface -> agent id (malloc'd) */
	struct cl_hmap *members; /* queue "\x1f" interface -> NULL: memberships */
	struct cl_pbx_stats st;
	struct cl_pbx_line line;
	char id[IDSZ], call_id[IDSZ];

	int syncing, chans_done, queues_done;
	unsigned gen;
	struct sync_chan *sc;
	size_t nsc;
	struct sync_member *sm;
	size_t nsm;
	struct sync_entry *se;
	size_t nse;
	struct cl_hmap *ended_in_sync; /* Linkedids whose caller hung up during the resync */
};

int ami_uid_ok(const char *s);
void *ami_table_get(struct cl_ami *a, struct cl_hmap *m, const char *key, size_t sz, size_t max);
void ami_table_del(struct cl_hmap *m, const char *key);
void ami_make_ids(struct cl_ami *a, const char *linkedid, const char *what, const char *x, const char *y);
void ami_begin_call(struct cl_ami *a, const char *type, const char *linkedid, const char *what, const char *x,
                    const char *y, const struct cl_pbx_frame *fr);
void ami_emit(struct cl_ami *a, struct cl_pbx_out *out);
const char *ami_party(const char *s);
int ami_member_agent(struct cl_ami *a, const char *membername, const char *iface, char *out);
void ami_learn_device(struct cl_ami *a, const char *iface, const char *agent);
int ami_device_agent(struct cl_ami *a, const char *chan, char *out);
void ami_emit_offered(struct cl_ami *a, struct cl_pbx_out *out, const char *linkedid, const char *from, const char *to,
                      const char *queue, const char *data, int64_t ts);
void ami_set_state(struct cl_ami *a, struct cl_pbx_out *out, const char *agent, const char *state, const char *reason,
                   const struct cl_pbx_frame *fr);
/* ami_track_leg() : uid is agent's leg of the call linkedid. */
void ami_track_leg(struct cl_ami *a, const char *uid, const char *linkedid, const char *agent);
int ami_membership(struct cl_ami *a, const char *queue, const char *iface, int add);
void ami_sync_clear(struct cl_ami *a);
int ami_on_sync_item(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out);

#endif
