/* amisync.c : owns the AMI resync (pure): CoreShowChannels and QueueStatus lists
 * and the calls open in the log in; `lost` ends, created calls and agent states out. */
#include <stdint.h>

#include "ami_int.h"

void
cl_ami_sync_begin(struct cl_ami *a)
{
	ami_sync_clear(a);
	a->syncing = 1;
	a->gen++;
	a->ended_in_sync = cl_hmap_new();
}

int
cl_ami_sync_pending(const struct cl_ami *a)
{
	return a->syncing;
}

/* Room for one more item of a resync list (zeroed), or NULL at the bound. */
static void *
grow(struct cl_ami *a, void **arr, size_t *n, size_t sz)
{
	if (*n >= CL_AMI_MAX_SYNC) {
		a->st.state_full++;
		return NULL;
	}
	if (*n == 0 || (*n >= 16 && (*n & (*n - 1)) == 0)) {
		void *na = realloc(*arr, (*n == 0 ? 16 : *n * 2) * sz);
		if (na == NULL) {
			a->st.state_full++;
			return NULL;
		}
		*arr = na;
	}
	void *item = (char *)*arr + (*n)++ * sz;
	memset(item, 0, sz);
	return item;
}

static int
state_num(const char *s)
{
	return s ? atoi(s) : 0;
}

int
ami_on_sync_item(struct cl_ami *a, const struct cl_pbx_frame *fr, struct cl_pbx_out *out)
{
	const char *ev = cl_pbx_get(fr, "Event");

	(void)out;
	if (!a->syncing)
		return 0; /* a list someone else asked for */
	if (strcmp(ev, "CoreShowChannelsComplete") == 0) {
		a->chans_done = 1;
		return a->queues_done ? CL_AMI_SYNC_READY : 0;
	}
	if (strcmp(ev, "QueueStatusComplete") == 0) {
		a->queues_done = 1;
		return a->chans_done ? CL_AMI_SYNC_READY : 0;
	}
	if (strcmp(ev, "CoreShowChannel") == 0) {
		const char *u = cl_pbx_get(fr, "Uniqueid"), *l = cl_pbx_get(fr, "Linkedid");
		const char *ch = cl_pbx_get(fr, "Channel");
		struct sync_chan *sc;
		if (!ami_uid_ok(u) || !ami_uid_ok(l) || ch == NULL || strlen(ch) > CL_ID_MAX) {
			a->st.malformed++;
			return 0;
		}
		if ((sc = grow(a, (void **)&a->sc, &a->nsc, sizeof(*sc))) == NULL)
			return 0;
		cl_pbx_copy(sc->uid, sizeof(sc->uid), u);
		cl_pbx_copy(sc->linkedid, sizeof(sc->linkedid), l);
		cl_pbx_copy(sc->chan, sizeof(sc->chan), ch);
		cl_pbx_copy(sc->cid, sizeof(sc->cid), cl_pbx_get(fr, "CallerIDNum"));
		cl_pbx_copy(sc->exten, sizeof(sc->exten), cl_pbx_get(fr, "Exten"));
		sc->state = state_num(cl_pbx_get(fr, "ChannelState"));
	} else if (strcmp(ev, "QueueMember") == 0) {
		const char *q = cl_pbx_get(fr, "Queue"), *iface = cl_pbx_get(fr, "Interface");
		const char *name = cl_pbx_get(fr, "MemberName"), *p = cl_pbx_get(fr, "Paused");
		const char *why = cl_pbx_get(fr, "PausedReason");
		struct sync_member *sm;
		char agent[IDSZ];
		iface = iface ? iface : cl_pbx_get(fr, "Location");
		name = name ? name : cl_pbx_get(fr, "Name");
		if (q == NULL || iface == NULL || strlen(q) > CL_ID_MAX || strlen(iface) > CL_ID_MAX ||
		    !ami_member_agent(a, name, iface, agent)) {
			a->st.malformed++;
			return 0;
		}
		if ((sm = grow(a, (void **)&a->sm, &a->nsm, sizeof(*sm))) == NULL)
			return 0;
		cl_pbx_copy(sm->queue, sizeof(sm->queue), q);
		cl_pbx_copy(sm->agent, sizeof(sm->agent), agent);
		cl_pbx_copy(sm->iface, sizeof(sm->iface), iface);
		cl_pbx_copy(sm->state_iface, sizeof(sm->state_iface), cl_pbx_get(fr, "StateInterface"));
		cl_pbx_copy(sm->reason, sizeof(sm->reason), why);
		sm->paused = p && strcmp(p, "1") == 0;
	} else if (strcmp(ev, "QueueEntry") == 0) {
		const char *u = cl_pbx_get(fr, "Uniqueid"), *q = cl_pbx_get(fr, "Queue");
		struct sync_entry *se;
		if (!ami_uid_ok(u) || q == NULL || q[0] == '\0' || strlen(q) > CL_ID_MAX) {
			a->st.malformed++;
			return 0;
		}
		if ((se = grow(a, (void **)&a->se, &a->nse, sizeof(*se))) == NULL)
			return 0;
		cl_pbx_copy(se->uid, sizeof(se->uid), u);
		cl_pbx_copy(se->queue, sizeof(se->queue), q);
	}
	return 0;
}

/* Queue members: devices, memberships and each agent's state, from scratch. */
static void
sync_agents(struct cl_ami *a, struct cl_pbx_out *out)
{
	struct cl_hmap *seen = cl_hmap_new();
	struct cl_hmap_entry *e;

	if (seen == NULL)
		return;
	cl_hmap_free(a->members);
	if ((a->members = cl_hmap_new()) == NULL)
		goto done;
	for (e = cl_hmap_next(a->agents, NULL); e; e = cl_hmap_next(a->agents, e))
		((struct agent *)e->val)->queues = 0;
	for (size_t i = 0; i < a->nsm; i++) {
		struct sync_member *sm = &a->sm[i], *prev = cl_hmap_get(seen, sm->agent);
		struct agent *ag = ami_table_get(a, a->agents, sm->agent, sizeof(*ag), CL_AMI_MAX_AGENTS);
		ami_learn_device(a, sm->iface, sm->agent);
		ami_learn_device(a, sm->state_iface, sm->agent);
		if (ag && ami_membership(a, sm->queue, sm->iface, 1))
			ag->queues++;
		/* Paused in any queue is not ready: the first paused member says why. */
		if (prev == NULL || (sm->paused && !prev->paused))
			cl_hmap_put(seen, sm->agent, sm);
	}
	for (e = cl_hmap_next(seen, NULL); e; e = cl_hmap_next(seen, e)) {
		struct sync_member *sm = e->val;
		ami_set_state(a, out, sm->agent, sm->paused ? "not_ready" : "ready", sm->paused ? sm->reason : NULL,
		              NULL);
	}
	/* Agents we knew as logged in that are no member of any queue now. */
	for (e = cl_hmap_next(a->agents, NULL); e; e = cl_hmap_next(a->agents, e)) {
		struct agent *ag = e->val;
		if (strcmp(ag->state, "logged_out") != 0 && ag->state[0] && cl_hmap_get(seen, e->key) == NULL)
			ami_set_state(a, out, e->key, "logged_out", NULL, NULL);
	}
done:
	cl_hmap_free(seen);
}

/* Indexes of the resync: Linkedid -> caller channel, Uniqueid -> queue, legs chained by Linkedid. */
struct index {
	struct cl_hmap *callers, *uids, *queued, *opened, *heads;
	size_t *next; /* next channel of the same Linkedid, + 1; 0 ends */
};

static void
index_free(struct index *x)
{
	cl_hmap_free(x->callers);
	cl_hmap_free(x->uids);
	cl_hmap_free(x->queued);
	cl_hmap_free(x->opened);
	cl_hmap_free(x->heads);
	free(x->next);
}

static int
index_build(struct cl_ami *a, struct index *x)
{
	memset(x, 0, sizeof(*x));
	x->callers = cl_hmap_new();
	x->uids = cl_hmap_new();
	x->queued = cl_hmap_new();
	x->opened = cl_hmap_new();
	x->heads = cl_hmap_new();
	x->next = calloc(a->nsc + 1, sizeof(size_t));
	if (!x->callers || !x->uids || !x->queued || !x->opened || !x->heads || !x->next)
		return -1;
	for (size_t i = 0; i < a->nsc; i++) {
		struct sync_chan *sc = &a->sc[i];
		if (cl_hmap_put(x->uids, sc->uid, sc) < 0)
			return -1;
		if (strcmp(sc->uid, sc->linkedid) == 0 && cl_hmap_put(x->callers, sc->linkedid, sc) < 0)
			return -1;
		x->next[i] = (size_t)(uintptr_t)cl_hmap_get(x->heads, sc->linkedid);
		if (cl_hmap_put(x->heads, sc->linkedid, (void *)(uintptr_t)(i + 1)) < 0)
			return -1;
	}
	for (size_t i = 0; i < a->nse; i++)
		if (cl_hmap_put(x->queued, a->se[i].uid, a->se[i].queue) < 0)
			return -1;
	return 0;
}

/* Open calls the PBX no longer has: ended `lost`. */
static void
sync_lost(struct cl_ami *a, struct index *x, const char *const *open_calls, size_t n_open, struct cl_pbx_out *out)
{
	size_t plen = strlen(a->name);

	for (size_t i = 0; i < n_open; i++) {
		const char *id = open_calls[i], *l = id + plen + 1;
		struct call *c;
		if (strncmp(id, a->name, plen) != 0 || id[plen] != ':' || !ami_uid_ok(l))
			continue;
		cl_hmap_put(x->opened, l, (void *)id);
		if (cl_hmap_get(x->callers, l) || cl_hmap_get(a->ended_in_sync, l))
			continue;
		if ((c = cl_hmap_get(a->calls, l)) != NULL && c->gen == a->gen)
			continue; /* began after the list was taken */
		ami_begin_call(a, "call.ended", l, "ended", NULL, NULL, NULL);
		cl_pbx_line_str(&a->line, "reason", "lost", 16);
		ami_emit(a, out);
		ami_table_del(a->calls, l);
	}
}

/* A live call we do not track: tracked again, and created when the log does not have it open. */
static void
sync_live(struct cl_ami *a, struct index *x, struct sync_chan *caller, struct cl_pbx_out *out)
{
	const char *l = caller->linkedid, *queue = cl_hmap_get(x->queued, caller->uid);
	int create = cl_hmap_get(x->opened, l) == NULL, legs = 0;
	char agent[IDSZ];
	struct call *c;

	for (size_t i = (size_t)(uintptr_t)cl_hmap_get(x->heads, l); i; i = x->next[i - 1])
		legs +=
		    a->sc[i - 1].state >= 4 && ami_device_agent(a, a->sc[i - 1].chan, agent) && &a->sc[i - 1] != caller;
	if (queue == NULL && legs == 0)
		return; /* not a contact-center call */
	if ((c = ami_table_get(a, a->calls, l, sizeof(*c), CL_AMI_MAX_CALLS)) == NULL)
		return;
	cl_pbx_copy(c->caller, sizeof(c->caller), caller->uid);
	c->offered = 1;
	c->queued = queue != NULL;
	c->direct = queue == NULL;
	if (create) {
		ami_emit_offered(a, out, l, caller->cid, caller->exten, queue, NULL, 0);
		if (queue) {
			ami_begin_call(a, "call.queued", l, "queued", queue, NULL, NULL);
			cl_pbx_line_str(&a->line, "queue", queue, CL_ID_MAX);
			ami_emit(a, out);
		}
	}
	for (size_t i = (size_t)(uintptr_t)cl_hmap_get(x->heads, l); i; i = x->next[i - 1]) {
		struct sync_chan *leg = &a->sc[i - 1];
		if (leg == caller || leg->state < 4 || !ami_device_agent(a, leg->chan, agent))
			continue;
		ami_track_leg(a, leg->uid, l, agent);
		int up = leg->state == 6;
		c->answered |= up;
		if (!create)
			continue;
		ami_begin_call(a, up ? "call.answered" : "call.ringing", l, up ? "answered" : "ringing", leg->uid, NULL,
		               NULL);
		cl_pbx_line_str(&a->line, "agent", agent, CL_ID_MAX);
		ami_emit(a, out);
	}
}

/* Drops calls and channels the PBX no longer has (their hang-ups were missed). */
static void
sync_prune(struct cl_ami *a, struct index *x)
{
	struct cl_hmap *maps[2] = {a->calls, a->chans};

	for (int m = 0; m < 2; m++) {
		size_t n = cl_hmap_count(maps[m]), k = 0;
		char **gone = calloc(n + 1, sizeof(char *));
		if (gone == NULL)
			return;
		for (struct cl_hmap_entry *e = cl_hmap_next(maps[m], NULL); e; e = cl_hmap_next(maps[m], e)) {
			const char *l = m == 0 ? e->key : ((struct chan *)e->val)->linkedid;
			struct call *c = cl_hmap_get(a->calls, l);
			int live =
			    m == 0 ? cl_hmap_get(x->callers, e->key) != NULL : cl_hmap_get(x->uids, e->key) != NULL;
			if (!live && !(c && c->gen == a->gen) && k < n && (gone[k] = strdup(e->key)) != NULL)
				k++;
		}
		for (size_t i = 0; i < k; i++) {
			ami_table_del(maps[m], gone[i]);
			free(gone[i]);
		}
		free(gone);
	}
}

void
cl_ami_sync_finish(struct cl_ami *a, const char *const *open_calls, size_t n_open, struct cl_pbx_out *out)
{
	struct index x;

	if (!a->syncing)
		return;
	sync_agents(a, out);
	if (index_build(a, &x) < 0) {
		a->st.state_full++;
		goto done;
	}
	sync_lost(a, &x, open_calls, n_open, out);
	for (size_t i = 0; i < a->nsc; i++) {
		struct sync_chan *sc = &a->sc[i];
		if (strcmp(sc->uid, sc->linkedid) != 0 || cl_hmap_get(a->calls, sc->linkedid) ||
		    cl_hmap_get(a->ended_in_sync, sc->linkedid))
			continue;
		sync_live(a, &x, sc, out);
	}
	sync_prune(a, &x);
done:
	index_free(&x);
	ami_sync_clear(a);
}
