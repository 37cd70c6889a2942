/* esl.c : owns translating FreeSWITCH event-socket events (mod_callcenter, channel
 * hold and hang-up) into §3 events, and their resync (pure). The call is the
 * caller leg's Unique-ID (CC-Member-Session-UUID). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "callogd/esl.h"
#include "callogd/hmap.h"
#include "callogd/util.h"

#define IDSZ (CL_ID_MAX + 1)
#define UUIDSZ (CL_ESL_UUID_MAX + 1)

struct call {
	int answered, held;
	char agent[IDSZ]; /* who answered */
	unsigned gen;     /* the resync during which it began */
};

struct leg {
	char call[UUIDSZ];
	char agent[IDSZ];
};

struct agent {
	char state[16];
};

struct sync_member {
	char uuid[UUIDSZ], queue[IDSZ], cid[CL_PARTY_MAX + 1], agent[IDSZ];
	int answered;
};

struct cl_esl {
	char name[64];
	int64_t session;
	uint64_t counter;
	char core_uuid[UUIDSZ];
	struct cl_hmap *calls, *legs, *agents;
	struct cl_pbx_stats st;
	struct cl_pbx_line line;
	struct cl_pbx_frame ev; /* the event inside a message */
	char id[IDSZ], call_id[IDSZ];

	int syncing;
	unsigned gen;
	struct cl_hmap *live;        /* uuid -> its destination number (malloc'd) */
	struct cl_hmap *sync_agents; /* agent -> status (malloc'd) */
	struct sync_member *sm;
	size_t nsm;
	int have_channels, have_members, have_agents;
	struct cl_hmap *ended_in_sync;
};

static void
free_values(struct cl_hmap *m)
{
	if (m == NULL)
		return;
	for (struct cl_hmap_entry *x = cl_hmap_next(m, NULL); x; x = cl_hmap_next(m, x))
		free(x->val);
	cl_hmap_free(m);
}

static void
sync_clear(struct cl_esl *e)
{
	free_values(e->live);
	free_values(e->sync_agents);
	cl_hmap_free(e->ended_in_sync);
	free(e->sm);
	e->live = e->sync_agents = e->ended_in_sync = NULL;
	e->sm = NULL;
	e->nsm = 0;
	e->syncing = e->have_channels = e->have_members = e->have_agents = 0;
}

struct cl_esl *
cl_esl_new(const char *name)
{
	struct cl_esl *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	cl_pbx_copy(e->name, sizeof(e->name), name);
	e->calls = cl_hmap_new();
	e->legs = cl_hmap_new();
	e->agents = cl_hmap_new();
	if (!e->calls || !e->legs || !e->agents) {
		cl_esl_free(e);
		return NULL;
	}
	return e;
}

void
cl_esl_free(struct cl_esl *e)
{
	if (e == NULL)
		return;
	free_values(e->calls);
	free_values(e->legs);
	free_values(e->agents);
	sync_clear(e);
	free(e);
}

void
cl_esl_session(struct cl_esl *e, int64_t session)
{
	e->session = session;
	e->counter = 0;
}

const struct cl_pbx_stats *
cl_esl_stats(const struct cl_esl *e)
{
	return &e->st;
}

size_t
cl_esl_calls(const struct cl_esl *e)
{
	return cl_hmap_count(e->calls);
}

static int
uuid_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && strlen(s) <= CL_ESL_UUID_MAX;
}

static void *
table_get(struct cl_esl *e, struct cl_hmap *m, const char *key, size_t sz, size_t max)
{
	void *v = cl_hmap_get(m, key);

	if (v != NULL)
		return v;
	if (cl_hmap_count(m) >= max || (v = calloc(1, sz)) == NULL || cl_hmap_put(m, key, v) < 0) {
		free(v);
		e->st.state_full++;
		return NULL;
	}
	return v;
}

static const char *
get(struct cl_esl *e, const char *key)
{
	return cl_pbx_get(&e->ev, key);
}

/* Event-Date-Timestamp: microseconds since the epoch. */
static int64_t
event_ts(struct cl_esl *e)
{
	const char *t = e->syncing || e->ev.n == 0 ? NULL : get(e, "Event-Date-Timestamp");
	long long us = t ? atoll(t) : 0;

	return us > 1000000000000000LL && us < 100000000000000000LL ? us / 1000 : 0;
}

/* What tells two occurrences apart: FreeSWITCH's Event-Sequence, else this session's count. */
static void
occurrence(struct cl_esl *e, int from_event, char *buf, size_t size)
{
	const char *s = from_event ? get(e, "Event-Sequence") : NULL;

	if (s && s[0] && strlen(s) < 24)
		snprintf(buf, size, "q%s", s);
	else
		snprintf(buf, size, "s%lld.%llu", (long long)e->session, (unsigned long long)++e->counter);
}

static void
begin_call(struct cl_esl *e, const char *type, const char *uuid, const char *what, const char *x, const char *y)
{
	const char *cid[] = {uuid, NULL};
	const char *eid[] = {uuid, what, x, y, NULL};

	cl_pbx_id(e->call_id, e->name, cid);
	cl_pbx_id(e->id, e->name, eid);
	cl_pbx_line_begin(&e->line, type, e->id, e->call_id, event_ts(e));
}

static void
emit(struct cl_esl *e, struct cl_pbx_out *out)
{
	if (cl_pbx_line_end(&e->line, out) == 0)
		e->st.events++;
	else
		e->st.out_full++;
}

static void
set_state(struct cl_esl *e, struct cl_pbx_out *out, const char *agent, const char *state, int from_event)
{
	struct agent *ag = table_get(e, e->agents, agent, sizeof(*ag), CL_ESL_MAX_AGENTS);
	char occ[48];

	if (ag == NULL || strcmp(ag->state, state) == 0)
		return;
	cl_pbx_copy(ag->state, sizeof(ag->state), state);
	occurrence(e, from_event, occ, sizeof(occ));
	const char *parts[] = {"agent", agent, state, occ, NULL};
	cl_pbx_id(e->id, e->name, parts);
	cl_pbx_line_begin(&e->line, "agent.state", e->id, NULL, from_event ? event_ts(e) : 0);
	cl_pbx_line_str(&e->line, "agent", agent, CL_ID_MAX);
	cl_pbx_line_str(&e->line, "state", state, 16);
	emit(e, out);
}

/* mod_callcenter's agent Status as a §3 state, or NULL. */
static const char *
status_state(const char *status)
{
	if (status == NULL)
		return NULL;
	if (strncmp(status, "Available", 9) == 0) /* also "Available (On Demand)" */
		return "ready";
	if (strcmp(status, "On Break") == 0)
		return "not_ready";
	if (strcmp(status, "Logged Out") == 0)
		return "logged_out";
	return NULL;
}

static void
emit_offered(struct cl_esl *e, struct cl_pbx_out *out, const char *uuid, const char *from, const char *to,
             const char *queue)
{
	begin_call(e, "call.offered", uuid, "offered", NULL, NULL);
	cl_pbx_line_str(&e->line, "from", from ? from : "", CL_PARTY_MAX);
	cl_pbx_line_str(&e->line, "to", to ? to : "", CL_PARTY_MAX);
	cl_pbx_line_str(&e->line, "queue", queue, CL_ID_MAX);
	emit(e, out);
	begin_call(e, "call.queued", uuid, "queued", queue, NULL);
	cl_pbx_line_str(&e->line, "queue", queue, CL_ID_MAX);
	emit(e, out);
}

static void
emit_agent(struct cl_esl *e, struct cl_pbx_out *out, const char *type, const char *uuid, const char *what,
           const char *agent, const char *reason, int from_event)
{
	char occ[48];

	occurrence(e, from_event, occ, sizeof(occ));
	/* Answers are one per agent and call; rings may repeat, told apart by the event's sequence. */
	begin_call(e, type, uuid, what, agent, strcmp(what, "answered") == 0 ? NULL : occ);
	cl_pbx_line_str(&e->line, "agent", agent, CL_ID_MAX);
	if (reason)
		cl_pbx_line_str(&e->line, "reason", reason, 16);
	emit(e, out);
}

static const char *
fail_reason(const char *cause)
{
	if (cause == NULL)
		return NULL;
	if (strcmp(cause, "NO_ANSWER") == 0 || strcmp(cause, "NO_USER_RESPONSE") == 0 ||
	    strcmp(cause, "ALLOTTED_TIMEOUT") == 0 || strcmp(cause, "ORIGINATOR_CANCEL") == 0)
		return "no_answer";
	if (strcmp(cause, "USER_BUSY") == 0)
		return "busy";
	if (strcmp(cause, "CALL_REJECTED") == 0)
		return "rejected";
	return NULL;
}

static void
end_call(struct cl_esl *e, struct cl_pbx_out *out, const char *uuid, const char *reason, const char *by)
{
	begin_call(e, "call.ended", uuid, "ended", NULL, NULL);
	cl_pbx_line_str(&e->line, "reason", reason, 16);
	cl_pbx_line_str(&e->line, "by", by, 16);
	emit(e, out);
	if (e->syncing && e->ended_in_sync)
		cl_hmap_put(e->ended_in_sync, uuid, NULL);
	free(cl_hmap_del(e->calls, uuid));
}

static void
on_callcenter(struct cl_esl *e, struct cl_pbx_out *out)
{
	const char *action = get(e, "CC-Action"), *u = get(e, "CC-Member-Session-UUID");
	const char *agent = get(e, "CC-Agent"), *queue = get(e, "CC-Queue");
	struct call *c;

	if (action == NULL) {
		e->st.malformed++;
		return;
	}
	if (strcmp(action, "agent-status-change") == 0) {
		const char *state = status_state(get(e, "CC-Agent-Status"));
		if (agent == NULL || agent[0] == '\0' || strlen(agent) > CL_ID_MAX)
			e->st.malformed++;
		else if (state)
			set_state(e, out, agent, state, 1);
		return;
	}
	if (strcmp(action, "member-queue-start") == 0 || strcmp(action, "agent-offering") == 0 ||
	    strcmp(action, "bridge-agent-start") == 0 || strcmp(action, "bridge-agent-fail") == 0 ||
	    strcmp(action, "member-queue-end") == 0) {
		if (!uuid_ok(u) || (strncmp(action, "member", 6) != 0 &&
		                    (agent == NULL || agent[0] == '\0' || strlen(agent) > CL_ID_MAX))) {
			e->st.malformed++;
			return;
		}
	} else {
		return; /* agent-state-change, bridge-agent-end, members-count: nothing to say */
	}
	if (strcmp(action, "member-queue-start") == 0) {
		if (queue == NULL || queue[0] == '\0' || strlen(queue) > CL_ID_MAX) {
			e->st.malformed++;
			return;
		}
		if ((c = cl_hmap_get(e->calls, u)) == NULL &&
		    (c = table_get(e, e->calls, u, sizeof(*c), CL_ESL_MAX_CALLS)) != NULL) {
			c->gen = e->syncing ? e->gen : 0;
			const char *to = get(e, "Caller-Destination-Number");
			emit_offered(e, out, u, get(e, "CC-Member-CID-Number"), to, queue);
		}
		return;
	}
	if ((c = cl_hmap_get(e->calls, u)) == NULL) {
		e->st.unknown++; /* began before we could see it: the resync knows it */
		return;
	}
	if (strcmp(action, "agent-offering") == 0) {
		emit_agent(e, out, "call.ringing", u, "ringing", agent, NULL, 1);
	} else if (strcmp(action, "bridge-agent-fail") == 0) {
		emit_agent(e, out, "call.ring_ended", u, "ring_ended", agent, fail_reason(get(e, "CC-Hangup-Cause")),
		           1);
	} else if (strcmp(action, "bridge-agent-start") == 0) {
		const char *au = get(e, "CC-Agent-UUID");
		struct leg *lg;
		c->answered = 1;
		cl_pbx_copy(c->agent, sizeof(c->agent), agent);
		if (uuid_ok(au) && (lg = table_get(e, e->legs, au, sizeof(*lg), CL_ESL_MAX_LEGS)) != NULL) {
			cl_pbx_copy(lg->call, sizeof(lg->call), u);
			cl_pbx_copy(lg->agent, sizeof(lg->agent), agent);
		}
		emit_agent(e, out, "call.answered", u, "answered", agent, NULL, 1);
	} else {
		const char *cause = get(e, "CC-Cause");
		if (cause && strcmp(cause, "Cancel") == 0)
			end_call(e, out, u, "abandoned", "caller");
	}
}

/* CHANNEL_HOLD / CHANNEL_UNHOLD of the caller's leg or an agent's. */
static void
on_hold(struct cl_esl *e, struct cl_pbx_out *out, int hold)
{
	const char *u = get(e, "Unique-ID"), *agent = NULL;
	struct leg *lg = u ? cl_hmap_get(e->legs, u) : NULL;
	struct call *c;
	char occ[48];

	if (!uuid_ok(u)) {
		e->st.malformed++;
		return;
	}
	if (lg) {
		u = lg->call;
		agent = lg->agent;
	}
	if ((c = cl_hmap_get(e->calls, u)) == NULL || c->held == hold)
		return;
	c->held = hold;
	if (agent == NULL && c->agent[0])
		agent = c->agent;
	occurrence(e, 1, occ, sizeof(occ));
	begin_call(e, hold ? "call.held" : "call.resumed", u, hold ? "held" : "resumed", occ, NULL);
	cl_pbx_line_str(&e->line, "agent", agent, CL_ID_MAX);
	emit(e, out);
}

/* CHANNEL_HANGUP_COMPLETE: the caller's leg ends the call; an agent's leg is forgotten. */
static void
on_hangup(struct cl_esl *e, struct cl_pbx_out *out)
{
	const char *u = get(e, "Unique-ID"), *disp = get(e, "variable_sip_hangup_disposition");
	struct call *c;

	if (!uuid_ok(u)) {
		e->st.malformed++;
		return;
	}
	free(cl_hmap_del(e->legs, u));
	if ((c = cl_hmap_get(e->calls, u)) == NULL)
		return;
	/* recv_*: the caller's side hung up; send_*: we hung the caller up (the agent, or the system). */
	const char *by = disp && strncmp(disp, "recv_", 5) == 0   ? "caller"
	                 : disp && strncmp(disp, "send_", 5) == 0 ? (c->answered ? "agent" : "system")
	                                                          : NULL;
	end_call(e, out, u, c->answered ? "completed" : "no_answer", by);
}

/* The message's event as headers: plain bodies are decoded in place, json ones through jansson. */
static json_t *
load_event(struct cl_esl *e, struct cl_pbx_frame *msg)
{
	const char *ct = cl_pbx_get(msg, "Content-Type");
	json_t *j, *v;
	const char *k;

	e->ev.n = 0;
	if (msg->body == NULL || ct == NULL)
		return NULL;
	if (strcmp(ct, "text/event-plain") == 0) {
		cl_pbx_parse_headers(msg->body, msg->body_len, 1, &e->ev);
		return NULL;
	}
	if (strcmp(ct, "text/event-json") != 0 || (j = json_loadb(msg->body, msg->body_len, 0, NULL)) == NULL)
		return NULL;
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	e->ev.dropped = e->ev.bad = e->ev.banner = 0;
	e->ev.body = NULL;
	json_object_foreach (j, k, v) {
		if (!json_is_string(v))
			continue;
		if (e->ev.n == CL_PBX_MAX_HEADERS) {
			e->ev.dropped++;
			continue;
		}
		e->ev.h[e->ev.n].key = k;
		e->ev.h[e->ev.n].val = json_string_value(v);
		e->ev.n++;
	}
	return j;
}

int
cl_esl_event(struct cl_esl *e, struct cl_pbx_frame *msg, struct cl_pbx_out *out)
{
	json_t *j = load_event(e, msg);
	const char *name = get(e, "Event-Name"), *core = get(e, "Core-UUID");
	int flags = 0;

	e->st.frames++;
	if (name == NULL) {
		e->st.malformed++;
		goto done;
	}
	if (uuid_ok(core) && strcmp(core, e->core_uuid) != 0) {
		if (e->core_uuid[0])
			flags |= CL_ESL_RESYNC; /* FreeSWITCH restarted */
		cl_pbx_copy(e->core_uuid, sizeof(e->core_uuid), core);
	}
	if (strcmp(name, "CUSTOM") == 0) {
		const char *sub = get(e, "Event-Subclass");
		if (sub && strcmp(sub, "callcenter::info") == 0)
			on_callcenter(e, out);
		else
			e->st.unknown++;
	} else if (strcmp(name, "CHANNEL_HOLD") == 0 || strcmp(name, "CHANNEL_UNHOLD") == 0) {
		on_hold(e, out, name[8] == 'H');
	} else if (strcmp(name, "CHANNEL_HANGUP_COMPLETE") == 0) {
		on_hangup(e, out);
	} else if (strcmp(name, "HEARTBEAT") != 0) {
		e->st.unknown++;
	}
done:
	json_decref(j);
	e->ev.n = 0;
	return flags;
}

/* ---- resync ---- */

void
cl_esl_sync_begin(struct cl_esl *e)
{
	sync_clear(e);
	e->syncing = 1;
	e->gen++;
	e->live = cl_hmap_new();
	e->sync_agents = cl_hmap_new();
	e->ended_in_sync = cl_hmap_new();
}

int
cl_esl_sync_channels(struct cl_esl *e, const char *json, size_t len)
{
	json_t *j = json_loadb(json, len, 0, NULL), *rows, *row;
	size_t i;
	int rc = -1;

	if (!e->syncing || e->live == NULL || j == NULL || !json_is_object(j))
		goto done;
	rows = json_object_get(j, "rows"); /* absent when row_count is 0 */
	json_array_foreach (rows, i, row) {
		const char *u = json_string_value(json_object_get(row, "uuid"));
		const char *dest = json_string_value(json_object_get(row, "dest"));
		char *d;
		if (!uuid_ok(u) || cl_hmap_get(e->live, u) || cl_hmap_count(e->live) >= CL_ESL_MAX_SYNC)
			continue;
		dest = dest ? dest : "";
		if ((d = cl_strndup(dest, strnlen(dest, CL_PARTY_MAX))) == NULL || cl_hmap_put(e->live, u, d) < 0) {
			free(d);
			goto done;
		}
	}
	e->have_channels = 1;
	rc = 0;
done:
	json_decref(j);
	return rc;
}

/*
 * Rows of a callcenter_config list: "col|col|..." lines under a header line,
 * then "+OK". Calls row(e, vals) with vals[i] the column named cols[i] ("" when absent).
 */
static int
pipe_rows(struct cl_esl *e, const char *text, size_t len, const char *const *cols, int ncols,
          void (*row)(struct cl_esl *, const char **))
{
	char *buf = cl_strndup(text, len), *line, *save = NULL;
	int idx[8], header = 1, rows = 0;

	if (buf == NULL || ncols > 8)
		goto fail;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[64], *p = line, *cut;
		int n = 0;
		if ((cut = strchr(line, '\r')) != NULL)
			*cut = '\0';
		if (strncmp(line, "+OK", 3) == 0 || line[0] == '\0')
			continue;
		if (strncmp(line, "-ERR", 4) == 0)
			goto fail;
		while (n < 64) {
			f[n++] = p;
			if ((p = strchr(p, '|')) == NULL)
				break;
			*p++ = '\0';
		}
		if (header) {
			for (int c = 0; c < ncols; c++) {
				idx[c] = -1;
				for (int k = 0; k < n; k++)
					if (strcmp(f[k], cols[c]) == 0)
						idx[c] = k;
			}
			if (idx[0] < 0)
				goto fail;
			header = 0;
			continue;
		}
		const char *vals[8];
		for (int c = 0; c < ncols; c++)
			vals[c] = idx[c] >= 0 && idx[c] < n ? f[idx[c]] : "";
		if (++rows > CL_ESL_MAX_SYNC)
			break;
		row(e, vals);
	}
	free(buf);
	return header ? -1 : 0;
fail:
	free(buf);
	return -1;
}

static void
member_row(struct cl_esl *e, const char **v)
{
	struct sync_member *sm;

	/* queue, session_uuid, cid_number, serving_agent, state */
	if (!uuid_ok(v[1]) || strlen(v[0]) > CL_ID_MAX || v[0][0] == '\0' || strlen(v[3]) > CL_ID_MAX ||
	    (strcmp(v[4], "Waiting") != 0 && strcmp(v[4], "Trying") != 0 && strcmp(v[4], "Answered") != 0))
		return;
	if (e->nsm % 64 == 0) {
		void *n = realloc(e->sm, (e->nsm + 64) * sizeof(*e->sm));
		if (n == NULL)
			return;
		e->sm = n;
	}
	sm = &e->sm[e->nsm++];
	cl_pbx_copy(sm->queue, sizeof(sm->queue), v[0]);
	cl_pbx_copy(sm->uuid, sizeof(sm->uuid), v[1]);
	cl_pbx_copy(sm->cid, sizeof(sm->cid), v[2]);
	cl_pbx_copy(sm->agent, sizeof(sm->agent), v[3]);
	sm->answered = strcmp(v[4], "Answered") == 0 && v[3][0] != '\0';
}

int
cl_esl_sync_members(struct cl_esl *e, const char *text, size_t len)
{
	static const char *const cols[] = {"queue", "session_uuid", "cid_number", "serving_agent", "state"};

	if (!e->syncing || pipe_rows(e, text, len, cols, 5, member_row) < 0)
		return -1;
	e->have_members = 1;
	return 0;
}

static void
agent_row(struct cl_esl *e, const char **v)
{
	char *st;

	if (v[0][0] == '\0' || strlen(v[0]) > CL_ID_MAX || status_state(v[1]) == NULL)
		return;
	if ((st = strdup(status_state(v[1]))) == NULL || cl_hmap_put(e->sync_agents, v[0], st) < 0)
		free(st);
}

int
cl_esl_sync_agents(struct cl_esl *e, const char *text, size_t len)
{
	static const char *const cols[] = {"name", "status"};

	if (!e->syncing || e->sync_agents == NULL || pipe_rows(e, text, len, cols, 2, agent_row) < 0)
		return -1;
	e->have_agents = 1;
	return 0;
}

void
cl_esl_sync_finish(struct cl_esl *e, const char *const *open_calls, size_t n_open, struct cl_pbx_out *out)
{
	struct cl_hmap *opened = cl_hmap_new();
	size_t plen = strlen(e->name);
	struct cl_hmap_entry *x;

	if (!e->syncing || opened == NULL || !e->have_channels || !e->have_members || !e->have_agents)
		goto done;
	for (x = cl_hmap_next(e->sync_agents, NULL); x; x = cl_hmap_next(e->sync_agents, x))
		set_state(e, out, x->key, x->val, 0);
	/* Open calls FreeSWITCH no longer has: lost. */
	for (size_t i = 0; i < n_open; i++) {
		const char *id = open_calls[i], *u = id + plen + 1;
		struct call *c;
		if (strncmp(id, e->name, plen) != 0 || id[plen] != ':' || !uuid_ok(u))
			continue;
		cl_hmap_put(opened, u, NULL);
		if (cl_hmap_get(e->live, u) || cl_hmap_get(e->ended_in_sync, u) ||
		    ((c = cl_hmap_get(e->calls, u)) != NULL && c->gen == e->gen))
			continue;
		end_call(e, out, u, "lost", NULL);
	}
	/* Live queue members: tracked again, and created when the log does not have them. */
	for (size_t i = 0; i < e->nsm; i++) {
		struct sync_member *sm = &e->sm[i];
		const char *dest = cl_hmap_get(e->live, sm->uuid);
		struct call *c;
		if (dest == NULL || cl_hmap_get(e->calls, sm->uuid) || cl_hmap_get(e->ended_in_sync, sm->uuid) ||
		    (c = table_get(e, e->calls, sm->uuid, sizeof(*c), CL_ESL_MAX_CALLS)) == NULL)
			continue;
		c->answered = sm->answered;
		cl_pbx_copy(c->agent, sizeof(c->agent), sm->answered ? sm->agent : "");
		if (cl_hmap_get(opened, sm->uuid))
			continue;
		emit_offered(e, out, sm->uuid, sm->cid, dest, sm->queue);
		if (sm->answered)
			emit_agent(e, out, "call.answered", sm->uuid, "answered", sm->agent, NULL, 0);
	}
	/* Calls we track that are gone (their hang-up was missed). */
	size_t n = cl_hmap_count(e->calls), k = 0;
	char **gone = calloc(n + 1, sizeof(char *));
	for (x = cl_hmap_next(e->calls, NULL); gone && x; x = cl_hmap_next(e->calls, x))
		if (!cl_hmap_get(e->live, x->key) && ((struct call *)x->val)->gen != e->gen &&
		    (gone[k] = strdup(x->key)) != NULL)
			k++;
	for (size_t i = 0; i < k; i++) {
		free(cl_hmap_del(e->calls, gone[i]));
		free(gone[i]);
	}
	free(gone);
done:
	cl_hmap_free(opened);
	sync_clear(e);
}
