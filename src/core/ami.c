/* ami.c : owns translating Asterisk AMI events into §3 events (pure). The call is
 * the caller channel's Linkedid; ids come from Asterisk's own identifiers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ami_int.h"
#include "callogd/util.h"

static void
free_values(struct cl_hmap *m)
{
	if (m == NULL)
		return;
	for (struct cl_hmap_entry *e = cl_hmap_next(m, NULL); e; e = cl_hmap_next(m, e))
		free(e->val);
	cl_hmap_free(m);
}

void
ami_sync_clear(struct cl_ami *a)
{
	free(a->sc);
	free(a->sm);
	free(a->se);
	a->sc = NULL;
	a->sm = NULL;
	a->se = NULL;
	a->nsc = a->nsm = a->nse = 0;
	cl_hmap_free(a->ended_in_sync);
	a->ended_in_sync = NULL;
	a->syncing = a->chans_done = a->queues_done = 0;
}

struct cl_ami *
cl_ami_new(const char *name, enum cl_ami_agent_id agent_id)
{
	struct cl_ami *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	cl_pbx_copy(a->name, sizeof(a->name), name);
	a->agent_id = agent_id;
	a->calls = cl_hmap_new();
	a->chans = cl_hmap_new();
	a->agents = cl_hmap_new();
	a->devices = cl_hmap_new();
	a->members = cl_hmap_new();
	if (!a->calls || !a->chans || !a->agents || !a->devices || !a->members) {
		cl_ami_free(a);
		return NULL;
	}
	return a;
}

void
cl_ami_free(struct cl_ami *a)
{
	if (a == NULL)
		return;
	free_values(a->calls);
	free_values(a->chans);
	free_values(a->agents);
	free_values(a->devices);
	cl_hmap_free(a->members);
	ami_sync_clear(a);
	free(a);
}

void
cl_ami_session(struct cl_ami *a, int64_t session)
{
	a->session = session;
	a->counter = 0;
}

const struct cl_pbx_stats *
cl_ami_stats(const struct cl_ami *a)
{
	return &a->st;
}

size_t
cl_ami_calls(const struct cl_ami *a)
{
	return cl_hmap_count(a->calls);
}

/* ---- small helpers ---- */

int
ami_uid_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && strlen(s) <= CL_AMI_UID_MAX;
}

/* An entry of m for key, made (zeroed, sz bytes) if absent and m has fewer than max; NULL when full. */
void *
ami_table_get(struct cl_ami *a, struct cl_hmap *m, const char *key, size_t sz, size_t max)
{
	void *v = cl_hmap_get(m, key);

	if (v != NULL)
		return v;
	if (cl_hmap_count(m) >= max || (v = calloc(1, sz)) == NULL) {
		a->st.state_full++;
		return NULL;
	}
	if (cl_hmap_put(m, key, v) < 0) {
		free(v);
		a->st.state_full++;
		return NULL;
	}
	return v;
}

void
ami_table_del(struct cl_hmap *m, const char *key)
{
	free(cl_hmap_del(m, key));
}

/* "Timestamp: 1514295839.123456" (manager.conf timestampevents) as ms; 0 when absent. */
static int64_t
frame_ts(const struct cl_pbx_frame *fr)
{
	const char *t = cl_pbx_get(fr, "Timestamp");
	char *end;
	double secs;

	if (t == NULL)
		return 0;
	secs = strtod(t, &end);
	if (end == t || *end != '\0' || secs < 1e9 || secs > 1e11)
		return 0;
	return (int64_t)(secs * 1000.0);
}

/*
 * What tells two occurrences of the same kind of event apart when Asterisk gives
 * no id of its own: its Timestamp, else its SequenceNumber, else this session's count.
 */
static void
occurrence(struct cl_ami *a, const struct cl_pbx_frame *fr, char *buf, size_t size)
{
	const char *t = fr ? cl_pbx_get(fr, "Timestamp") : NULL, *s = fr ? cl_pbx_get(fr, "SequenceNumber") : NULL;

	if (t && strlen(t) < 32)
		snprintf(buf, size, "t%s", t);
	else if (s && strlen(s) < 32)
		snprintf(buf, size, "q%s", s);
	else
		snprintf(buf, size, "s%lld.%llu", (long long)a->session, (unsigned long long)++a->counter);
}

void
ami_make_ids(struct cl_ami *a, const char *linkedid, const char *what, const char *x, const char *y)
{
	const char *cid[] = {linkedid, NULL};
	const char *eid[] = {linkedid, what, x, y, NULL};

	cl_pbx_id(a->call_id, a->name, cid);
	cl_pbx_id(a->id, a->name, eid);
}

void
ami_begin_call(struct cl_ami *a, const char *type, const char *linkedid, const char *what, const char *x, const char *y,
               const struct cl_pbx_frame *fr)
{
	ami_make_ids(a, linkedid, what, x, y);
	cl_pbx_line_begin(&a->line, type, a->id, a->call_id, fr ? frame_ts(fr) : 0);
}

void
ami_emit(struct cl_ami *a, struct cl_pbx_out *out)
{
	if (cl_pbx_line_end(&a->line, out) == 0)
		a->st.events++;
	else
		a->st.out_full++;
}

const char *
ami_party(const char *s)
{
	if (s == NULL)
		return "";
	if (strcmp(s, "<unknown>") == 0)
		return "unknown";
	return s;
}

/* The agent id of a queue member (agent_id), into out (IDSZ); 0 when there is none. */
int
ami_member_agent(struct cl_ami *a, const char *membername, const char *iface, char *out)
{
	out[0] = '\0';
	if (a->agent_id == CL_AMI_AGENT_MEMBERNAME && membername && membername[0])
		cl_pbx_copy(out, IDSZ, membername);
	else if (iface)
		cl_pbx_interface_agent(iface, out, IDSZ);
	if (membername && strlen(membername) > CL_ID_MAX)
		out[0] = '\0';
	return out[0] != '\0';
}

void
ami_learn_device(struct cl_ami *a, const char *iface, const char *agent)
{
	char *old, *v;

	if (iface == NULL || iface[0] == '\0' || strlen(iface) > CL_ID_MAX)
		return;
	old = cl_hmap_get(a->devices, iface);
	if (old && strcmp(old, agent) == 0)
		return;
	if (old == NULL && cl_hmap_count(a->devices) >= CL_AMI_MAX_AGENTS) {
		a->st.state_full++;
		return;
	}
	if ((v = strdup(agent)) == NULL || cl_hmap_put(a->devices, iface, v) < 0) {
		free(v);
		return;
	}
	free(old);
}

/* The agent whose device a channel ("PJSIP/1001-0000001a") is, into out (IDSZ); 0 when none is known. */
int
ami_device_agent(struct cl_ami *a, const char *chan, char *out)
{
	char iface[IDSZ];
	const char *agent;

	out[0] = '\0';
	if (chan == NULL || strlen(chan) > CL_ID_MAX)
		return 0;
	cl_pbx_channel_interface(chan, iface, sizeof(iface));
	if ((agent = cl_hmap_get(a->devices, iface)) == NULL)
		return 0;
	cl_pbx_copy(out, IDSZ, agent);
	return 1;
}

void
ami_track_leg(struct cl_ami *a, const char *uid, const char *linkedid, const char *agent)
{
	struct chan *ch = ami_table_get(a, a->chans, uid, sizeof(*ch), CL_AMI_MAX_CHANNELS);

	if (ch != NULL) {
		cl_pbx_copy(ch->linkedid, sizeof(ch->linkedid), linkedid);
		cl_pbx_copy(ch->agent, sizeof(ch->agent), agent);
	}
}

/* The caller channel's ChanVariable headers as a JSON object, into buf; "" when none. */
static void
chan_data(const struct cl_pbx_frame *fr, char *buf, size_t size)
{
	char names[DATA_VARS][65];
	size_t n = 0;
	int nv = 0;

	buf[0] = '\0';
	for (int i = 0; i < fr->n && nv < DATA_VARS; i++) {
		/* "ChanVariable" (Asterisk 12+) or "ChanVariable(SIP/..)" (older); never "DestChanVariable". */
		const char *v = fr->h[i].val, *eq = strchr(v, '=');
		if (strncmp(fr->h[i].key, "ChanVariable", 12) != 0 || eq == NULL || eq == v || eq[1] == '\0' ||
		    eq - v > 64)
			continue;
		char qn[400], qv[1100];
		int dup = 0;
		memcpy(names[nv], v, (size_t)(eq - v));
		names[nv][eq - v] = '\0';
		for (int j = 0; j < nv; j++)
			dup |= strcmp(names[j], names[nv]) == 0;
		int kn = cl_pbx_quote(names[nv], 64, qn, sizeof(qn)), kv = cl_pbx_quote(eq + 1, 1024, qv, sizeof(qv));
		if (dup || kn < 0 || kv < 0 || n + (size_t)kn + (size_t)kv + 3 >= size)
			continue;
		n += (size_t)snprintf(buf + n, size - n, "%c%s:%s", nv ? ',' : '{', qn, qv);
		nv++;
	}
	if (nv > 0)
		snprintf(buf + n, size - n, "}");
}

void
ami_emit_offered(struct cl_ami *a, struct cl_pbx_out *out, const char *linkedid, const char *from, const char *to,
                 const char *queue, const char *data, int64_t ts)
{
	ami_make_ids(a, linkedid, "offered", NULL, NULL);
	cl_pbx_line_begin(&a->line, "call.offered", a->id, a->call_id, ts);
	cl_pbx_line_str(&a->line, "from", ami_party(from), CL_PARTY_MAX);
	cl_pbx_line_str(&a->line, "to", ami_party(to), CL_PARTY_MAX);
	if (queue)
		cl_pbx_line_str(&a->line, "queue", queue, CL_ID_MAX);
	if (data && data[0])
		cl_pbx_line_raw(&a->line, "data", data);
	ami_emit(a, out);
}

static void
offer_from_frame(struct cl_ami *a, struct cl_pbx_out *out, const char *linkedid, const struct cl_pbx_frame *fr,
                 const char *to, const char *queue)
{
	char data[DATA_MAX];

	chan_data(fr, data, sizeof(data));
	ami_emit_offered(a, out, linkedid, cl_pbx_get(fr, "CallerIDNum"), to, queue, data, frame_ts(fr));
}

/* The number the caller dialled: its Newchannel's Exten when seen, else this event's. */
static const char *
dialled(struct cl_ami *a, const char *uid, const struct cl_pbx_frame *fr)
{
	struct chan *ch = cl_hmap_get(a->chans, uid);

	return ch && ch->exten[0] ? ch->exten : cl_pbx_get(fr, "Exten");
}

void
ami_set_state(struct cl_ami *a, struct cl_pbx_out *out, const char *agent, const char *state, const char *reason,
              const struct cl_pbx_frame *fr)
{
	struct agent *ag = ami_table_get(a, a->agents, agent, sizeof(*ag), CL_AMI_MAX_AGENTS);
	char occ[48];

	if (ag == NULL)
		return;
	if (reason == NULL)
		reason = "";
	if (strcmp(ag->state, state) == 0 && strncmp(ag->reason, reason, CL_ID_MAX) == 0)
		return; /* the same state again (a member of several queues, a frame seen twice) */
	cl_pbx_copy(ag->state, sizeof(ag->state), state);
	cl_pbx_copy(ag->reason, sizeof(ag->reason), reason);
	occurrence(a, fr, occ, sizeof(occ));
	const char *parts[] = {"agent", agent, state, occ, NULL};
	cl_pbx_id(a->id, a->name, parts);
	cl_pbx_line_begin(&a->line, "agent.state", a->id, NULL, fr ? frame_ts(fr) : 0);
	cl_pbx_line_str(&a->line, "agent", agent, CL_ID_MAX);
	cl_pbx_line_str(&a->line, "state", state, 16);
	if (reason[0])
		cl_pbx_line_str(&a->line, "reason", reason, CL_ID_MAX);
	ami_emit(a, out);
}

/* ---- events ---- */

#define SKIP_MALFORMED()                                                                                               \
	do {                                                                                                           \
		a->st.malformed++;                                                                                     \
		return 0;                                                                                              \
	} while (0)

/* The call a channel belongs to: its leg's (a transfer target keeps its own Linkedid), else its Linkedid's. */
static struct call *
call_for(struct cl_ami *a, const char *uid, const char **linkedid)
{
	struct chan *ch = cl_hmap_get(a->chans, uid);
	struct call *c;

	if (ch && ch->linkedid[0] && (c = cl_hmap_get(a->calls, ch->linkedid)) != NULL) {
		*linkedid = ch->linkedid;
		return c;
	}
	return cl_hmap_get(a->calls, *linkedid);
}

static int
on_ignored(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out)
{
	(void)a, (void)fr, (void)out;
	return 0;
}

typedef int (*handler_fn)(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out);

static int
on_fully_booted(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out)
{
	(void)a, (void)fr, (void)out;
	return CL_AMI_RESYNC;
}

static int
on_newchannel(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out)
{
	const char *u = cl_pbx_get(fr, "Uniqueid"), *l = cl_pbx_get(fr, "Linkedid");
	struct chan *ch;

	(void)out;
	if (!ami_uid_ok(u) || !ami_uid_ok(l))
		SKIP_MALFORMED();
	/* Only a call's first channel: its Exten is the number the caller dialled. */
	if (strcmp(u, l) != 0 || (ch = ami_table_get(a, a->chans, u, sizeof(*ch), CL_AMI_MAX_CHANNELS)) == NULL)
		return 0;
	cl_pbx_copy(ch->linkedid, sizeof(ch->linkedid), l);
	cl_pbx_copy(ch->exten, sizeof(ch->exten), cl_pbx_get(fr, "Exten"));
	return 0;
}

static int
on_queue_caller_join(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out)
{
	const char *u = cl_pbx_get(fr, "Uniqueid"), *l = cl_pbx_get(fr, "Linkedid"), *q = cl_pbx_get(fr, "Queue");
	struct call *c;

	if (!ami_uid_ok(u) || !ami_uid_ok(l) || q == NULL || q[0] == '\0' || strlen(q) > CL_ID_MAX)
		SKIP_MALFORMED();
	if ((c = ami_table_get(a, a->calls, l, sizeof(*c), CL_AMI_MAX_CALLS)) == NULL)
		return 0;
	if (!c->offered) {
		c->offered = 1;
		c->gen = a->syncing ? a->gen : 0;
		cl_pbx_copy(c->caller, sizeof(c->caller), u);
		offer_from_frame(a, out, l, fr, dialled(a, u, fr), q);
	}
	c->queued = 1;
	ami_begin_call(a, "call.queued", l, "queued", q, NULL, fr);
	cl_pbx_line_str(&a->line, "queue", q, CL_ID_MAX);
	ami_emit(a, out);
	return 0;
}

/* AgentCalled, AgentRingNoAnswer, AgentConnect: the member, its leg, and the call. */
static int
on_agent(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out)
{
	const char *ev = cl_pbx_get(fr, "Event"), *l = cl_pbx_get(fr, "Linkedid"), *du = cl_pbx_get(fr, "DestUniqueid");
	const char *iface = cl_pbx_get(fr, "Interface");
	char agent[IDSZ];
	struct call *c;

	if (!ami_uid_ok(l) || !ami_uid_ok(du) || !ami_member_agent(a, cl_pbx_get(fr, "MemberName"), iface, agent))
		SKIP_MALFORMED();
	if ((c = cl_hmap_get(a->calls, l)) == NULL) {
		a->st.unknown++; /* a queue call that began before we could see it: the resync knows it */
		return 0;
	}
	ami_learn_device(a, iface, agent);
	ami_track_leg(a, du, l, agent);
	if (strcmp(ev, "AgentCalled") == 0) {
		ami_begin_call(a, "call.ringing", l, "ringing", du, NULL, fr);
	} else if (strcmp(ev, "AgentRingNoAnswer") == 0) {
		ami_begin_call(a, "call.ring_ended", l, "ring_ended", du, NULL, fr);
		cl_pbx_line_str(&a->line, "reason", "no_answer", 16);
	} else {
		c->answered = 1;
		ami_begin_call(a, "call.answered", l, "answered", du, NULL, fr);
	}
	cl_pbx_line_str(&a->line, "agent", agent, CL_ID_MAX);
	ami_emit(a, out);
	return 0;
}

static int
on_queue_caller_abandon(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out)
{
	const char *l = cl_pbx_get(fr, "Linkedid");
	struct call *c;

	(void)out;
	if (!ami_uid_ok(l))
		SKIP_MALFORMED();
	if ((c = cl_hmap_get(a->calls, l)) != NULL)
		c->abandoned = 1;
	return 0;
}

static int
on_hangup_request(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out)
{
	const char *u = cl_pbx_get(fr, "Uniqueid"), *l = cl_pbx_get(fr, "Linkedid");
	struct call *c;
	struct chan *ch;

	(void)out;
	if (!ami_uid_ok(u) || !ami_uid_ok(l))
		SKIP_MALFORMED();
	if ((c = call_for(a, u, &l)) == NULL || c->by != BY_NONE)
		return 0;
	ch = cl_hmap_get(a->chans, u);
	c->by = strcmp(u, c->caller) == 0 ? BY_CALLER : ch && ch->agent[0] ? BY_AGENT : BY_SYSTEM;
	return 0;
}

static int
on_hangup(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out)
{
	const char *u = cl_pbx_get(fr, "Uniqueid"), *l = cl_pbx_get(fr, "Linkedid");
	struct call *c;

	if (!ami_uid_ok(u) || !ami_uid_ok(l))
		SKIP_MALFORMED();
	if ((c = cl_hmap_get(a->calls, l)) != NULL && strcmp(u, c->caller) == 0) {
		const char *reason = c->abandoned ? "abandoned" : c->answered ? "completed" : "no_answer";
		int by = c->abandoned ? BY_CALLER : c->by;
		ami_begin_call(a, "call.ended", l, "ended", NULL, NULL, fr);
		cl_pbx_line_str(&a->line, "reason", reason, 16);
		if (by != BY_NONE)
			cl_pbx_line_str(&a->line, "by", by_names[by], 16);
		ami_emit(a, out);
		ami_table_del(a->calls, l);
		if (a->syncing && a->ended_in_sync)
			cl_hmap_put(a->ended_in_sync, l, NULL);
	}
	ami_table_del(a->chans, u);
	return 0;
}

static int
on_hold(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out)
{
	const char *u = cl_pbx_get(fr, "Uniqueid"), *l = cl_pbx_get(fr, "Linkedid");
	int hold = strcmp(cl_pbx_get(fr, "Event"), "Hold") == 0;
	struct chan *ch;
	char occ[48];

	if (!ami_uid_ok(u) || !ami_uid_ok(l))
		SKIP_MALFORMED();
	if (call_for(a, u, &l) == NULL ||
	    (ch = ami_table_get(a, a->chans, u, sizeof(*ch), CL_AMI_MAX_CHANNELS)) == NULL)
		return 0;
	if (ch->on_hold == hold)
		return 0; /* seen already */
	if (l != ch->linkedid)
		cl_pbx_copy(ch->linkedid, sizeof(ch->linkedid), l);
	ch->on_hold = hold;
	occurrence(a, fr, occ, sizeof(occ));
	ami_begin_call(a, hold ? "call.held" : "call.resumed", l, hold ? "held" : "resumed", u, occ, fr);
	if (ch->agent[0])
		cl_pbx_line_str(&a->line, "agent", ch->agent, CL_ID_MAX);
	ami_emit(a, out);
	return 0;
}

/* The agent on a transferring channel: its leg's agent, else its device's. */
static int
leg_agent(struct cl_ami *a, const char *uid, const char *chan, char *out)
{
	struct chan *ch = uid ? cl_hmap_get(a->chans, uid) : NULL;

	if (ch && ch->agent[0]) {
		cl_pbx_copy(out, IDSZ, ch->agent);
		return 1;
	}
	return ami_device_agent(a, chan, out);
}

/* The first of the Linkedids named by keys that is a call we track. */
static const char *
tracked(struct cl_ami *a, const struct cl_pbx_frame *fr, const char *const *keys)
{
	for (int i = 0; keys[i]; i++) {
		const char *l = cl_pbx_get(fr, keys[i]);
		if (ami_uid_ok(l) && cl_hmap_get(a->calls, l))
			return l;
	}
	return NULL;
}

static int
on_blind_transfer(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out)
{
	static const char *const keys[] = {"TransfereeLinkedid", "TransfererLinkedid", NULL};
	const char *res = cl_pbx_get(fr, "Result"), *u = cl_pbx_get(fr, "TransfererUniqueid"), *l;
	const char *ext = cl_pbx_get(fr, "Extension");
	char agent[IDSZ];

	if (res && strcmp(res, "Success") != 0)
		return 0;
	if ((l = tracked(a, fr, keys)) == NULL)
		return 0;
	if (!ami_uid_ok(u) || ext == NULL || ext[0] == '\0')
		SKIP_MALFORMED();
	if (!leg_agent(a, u, cl_pbx_get(fr, "TransfererChannel"), agent)) {
		a->st.unknown++; /* no agent of ours transferred it */
		return 0;
	}
	ami_begin_call(a, "call.transferred", l, "transferred", u, NULL, fr);
	cl_pbx_line_str(&a->line, "agent", agent, CL_ID_MAX);
	cl_pbx_line_str(&a->line, "to", ext, CL_PARTY_MAX);
	ami_emit(a, out);
	return 0;
}

static int
on_attended_transfer(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out)
{
	static const char *const keys[] = {"OrigTransfererLinkedid", "TransfereeLinkedid", "SecondTransfererLinkedid",
	                                   NULL};
	const char *res = cl_pbx_get(fr, "Result"), *u = cl_pbx_get(fr, "OrigTransfererUniqueid");
	const char *tu = cl_pbx_get(fr, "TransferTargetUniqueid"), *l;
	const char *to = ami_party(cl_pbx_get(fr, "TransferTargetCallerIDNum"));
	char agent[IDSZ], target[IDSZ];

	if (res && strcmp(res, "Success") != 0)
		return 0;
	if ((l = tracked(a, fr, keys)) == NULL)
		return 0;
	if (!ami_uid_ok(u))
		SKIP_MALFORMED();
	if (!leg_agent(a, u, cl_pbx_get(fr, "OrigTransfererChannel"), agent)) {
		a->st.unknown++;
		return 0;
	}
	if (to[0] == '\0' || strcmp(to, "unknown") == 0)
		to = ami_party(cl_pbx_get(fr, "SecondTransfererExten"));
	int to_agent = ami_device_agent(a, cl_pbx_get(fr, "TransferTargetChannel"), target);
	if (!to_agent && to[0] == '\0')
		SKIP_MALFORMED();
	ami_begin_call(a, "call.transferred", l, "transferred", u, ami_uid_ok(tu) ? tu : NULL, fr);
	cl_pbx_line_str(&a->line, "agent", agent, CL_ID_MAX);
	if (to_agent)
		cl_pbx_line_str(&a->line, "to_agent", target, CL_ID_MAX);
	else
		cl_pbx_line_str(&a->line, "to", to, CL_PARTY_MAX);
	ami_emit(a, out);
	/* The target's leg now belongs to this call: its hang-up is an agent's. */
	if (to_agent && ami_uid_ok(tu))
		ami_track_leg(a, tu, l, target);
	return 0;
}

/* DialBegin/DialEnd: a direct call from a caller to an agent's device, no queue. */
static int
on_dial(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out)
{
	const char *u = cl_pbx_get(fr, "Uniqueid"), *l = cl_pbx_get(fr, "Linkedid"),
	           *du = cl_pbx_get(fr, "DestUniqueid");
	int begin = strcmp(cl_pbx_get(fr, "Event"), "DialBegin") == 0;
	char agent[IDSZ];
	struct call *c;
	struct chan *ch;

	if (!ami_uid_ok(u) || !ami_uid_ok(l) || !ami_uid_ok(du))
		return 0; /* dials from an originate have no caller channel: not ours */
	c = cl_hmap_get(a->calls, l);
	if (c && c->queued)
		return 0; /* app_queue's own dials: AgentCalled tells it */
	if (!begin) {
		const char *st = cl_pbx_get(fr, "DialStatus");
		if (c == NULL || (ch = cl_hmap_get(a->chans, du)) == NULL || ch->agent[0] == '\0' || st == NULL)
			return 0;
		const char *why = strcmp(st, "NOANSWER") == 0                                       ? "no_answer"
		                  : strcmp(st, "BUSY") == 0                                         ? "busy"
		                  : strcmp(st, "CHANUNAVAIL") == 0 || strcmp(st, "CONGESTION") == 0 ? "rejected"
		                                                                                    : NULL;
		if (strcmp(st, "ANSWER") == 0) {
			c->answered = 1;
			ami_begin_call(a, "call.answered", l, "answered", du, NULL, fr);
		} else if (why) {
			ami_begin_call(a, "call.ring_ended", l, "ring_ended", du, NULL, fr);
			cl_pbx_line_str(&a->line, "reason", why, 16);
		} else {
			return 0; /* CANCEL: the caller gave up, the hang-up follows */
		}
		cl_pbx_line_str(&a->line, "agent", ch->agent, CL_ID_MAX);
		ami_emit(a, out);
		return 0;
	}
	if (!ami_device_agent(a, cl_pbx_get(fr, "DestChannel"), agent))
		return 0; /* not an agent's device */
	if (c == NULL) {
		/* The caller is the call's first channel (Uniqueid = Linkedid), whether it dials the
		 * device itself or through a Local channel; only its own variables are data. */
		if ((c = ami_table_get(a, a->calls, l, sizeof(*c), CL_AMI_MAX_CALLS)) == NULL)
			return 0;
		c->offered = c->direct = 1;
		c->gen = a->syncing ? a->gen : 0;
		cl_pbx_copy(c->caller, sizeof(c->caller), l);
		if (strcmp(u, l) == 0)
			offer_from_frame(a, out, l, fr, dialled(a, l, fr), NULL);
		else
			ami_emit_offered(a, out, l, cl_pbx_get(fr, "CallerIDNum"), dialled(a, l, fr), NULL, NULL,
			                 frame_ts(fr));
	}
	ami_track_leg(a, du, l, agent);
	ami_begin_call(a, "call.ringing", l, "ringing", du, NULL, fr);
	cl_pbx_line_str(&a->line, "agent", agent, CL_ID_MAX);
	ami_emit(a, out);
	return 0;
}

/* A member's interface: Interface (Asterisk 12+) or Location (older). */
static const char *
member_iface(const struct cl_pbx_frame *fr)
{
	const char *i = cl_pbx_get(fr, "Interface");

	return i ? i : cl_pbx_get(fr, "Location");
}

int
ami_membership(struct cl_ami *a, const char *queue, const char *iface, int add)
{
	char key[2 * IDSZ + 2];

	snprintf(key, sizeof(key), "%s\x1f%s", queue, iface);
	if (add) {
		if (cl_hmap_get(a->members, key) || cl_hmap_count(a->members) >= CL_AMI_MAX_AGENTS * 4)
			return 0;
		return cl_hmap_put(a->members, key, a) == 0;
	}
	return cl_hmap_del(a->members, key) != NULL;
}

static int
on_member(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out)
{
	const char *ev = cl_pbx_get(fr, "Event"), *q = cl_pbx_get(fr, "Queue"), *iface = member_iface(fr);
	const char *paused = cl_pbx_get(fr, "Paused");
	char agent[IDSZ];
	struct agent *ag;

	if (q == NULL || iface == NULL || strlen(q) > CL_ID_MAX || strlen(iface) > CL_ID_MAX ||
	    !ami_member_agent(a, cl_pbx_get(fr, "MemberName"), iface, agent))
		SKIP_MALFORMED();
	ami_learn_device(a, iface, agent);
	ami_learn_device(a, cl_pbx_get(fr, "StateInterface"), agent);
	if (strcmp(ev, "QueueMemberStatus") == 0)
		return 0;
	if (strncmp(ev, "QueueMemberPause", 16) == 0) {
		const char *why = cl_pbx_get(fr, "PausedReason");
		if (why == NULL || why[0] == '\0')
			why = cl_pbx_get(fr, "Reason");
		if (paused && strcmp(paused, "1") == 0)
			ami_set_state(a, out, agent, "not_ready", why, fr);
		else
			ami_set_state(a, out, agent, "ready", NULL, fr);
		return 0;
	}
	if ((ag = ami_table_get(a, a->agents, agent, sizeof(*ag), CL_AMI_MAX_AGENTS)) == NULL)
		return 0;
	if (strcmp(ev, "QueueMemberAdded") == 0) {
		if (ami_membership(a, q, iface, 1) && ag->queues++ == 0)
			ami_set_state(a, out, agent, "logged_in", NULL, fr);
		if (paused && strcmp(paused, "1") == 0)
			ami_set_state(a, out, agent, "not_ready", cl_pbx_get(fr, "PausedReason"), fr);
	} else if (ami_membership(a, q, iface, 0) && ag->queues > 0 && --ag->queues == 0) {
		ami_set_state(a, out, agent, "logged_out", NULL, fr);
	}
	return 0;
}

static const struct {
	const char *name;
	handler_fn fn;
} handlers[] = {
    {"FullyBooted", on_fully_booted},
    {"Newchannel", on_newchannel},
    {"QueueCallerJoin", on_queue_caller_join},
    {"AgentCalled", on_agent},
    {"AgentRingNoAnswer", on_agent},
    {"AgentConnect", on_agent},
    {"QueueCallerAbandon", on_queue_caller_abandon},
    {"HangupRequest", on_hangup_request},
    {"Hangup", on_hangup},
    {"Hold", on_hold},
    {"Unhold", on_hold},
    {"BlindTransfer", on_blind_transfer},
    {"AttendedTransfer", on_attended_transfer},
    {"DialBegin", on_dial},
    {"DialEnd", on_dial},
    {"QueueMemberAdded", on_member},
    {"QueueMemberRemoved", on_member},
    {"QueueMemberPause", on_member},
    {"QueueMemberPaused", on_member},
    {"QueueMemberStatus", on_member},
    {"CoreShowChannel", ami_on_sync_item},
    {"CoreShowChannelsComplete", ami_on_sync_item},
    {"QueueMember", ami_on_sync_item},
    {"QueueEntry", ami_on_sync_item},
    {"QueueParams", ami_on_sync_item},
    {"QueueStatusComplete", ami_on_sync_item},
    /* Known, and nothing to say. */
    {"QueueCallerLeave", on_ignored},
    {"AgentComplete", on_ignored},
    {"AgentDump", on_ignored},
    {"SoftHangupRequest", on_ignored},
};

int
cl_ami_frame(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out)
{
	const char *ev = cl_pbx_get(fr, "Event");

	a->st.frames++;
	if (ev == NULL) {
		a->st.malformed++;
		return 0;
	}
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (strcmp(handlers[i].name, ev) == 0)
			return handlers[i].fn(a, fr, out);
	a->st.unknown++;
	return 0;
}
