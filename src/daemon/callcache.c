/* callcache.c : owns the writer's cache of committed call records, each with
 * its marks, and the legs computed from them. Used by the writer thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/callcache.h"
#include "callogd/hmap.h"
#include "callogd/report.h"
#include "callogd/store.h"
#include "callogd/util.h"

struct cl_callcache {
	struct cl_hmap *calls;  /* call_id -> struct cl_cached * */
	struct cl_marks *marks; /* scratch: a call's marks, for its legs */
};

/* One of a call's marks, as cl_marks_add() reads it. */
struct mark {
	int type;
	int64_t ts, seq;
	char *agent, *to_agent;
};

static void
marks_free(struct cl_cached *k)
{
	for (int i = 0; i < k->nmarks; i++) {
		free(k->marks[i].agent);
		free(k->marks[i].to_agent);
	}
	free(k->marks);
	k->marks = NULL;
	k->nmarks = k->capmarks = 0;
}

static void
cached_free(struct cl_cached *k)
{
	if (k == NULL)
		return;
	cl_call_clear(&k->call);
	marks_free(k);
	free(k);
}

/* Keeps ev's mark with k (beyond CL_MARKS_MAX they are left out, as cl_marks_add does); -1 on out of memory. */
static int
mark_keep(void *arg, const struct cl_event *ev)
{
	struct cl_cached *k = arg;
	struct mark *m;

	if (k->nmarks == CL_MARKS_MAX)
		return 0;
	if (k->nmarks == k->capmarks) {
		int cap = k->capmarks ? k->capmarks * 2 : 8;
		if ((m = realloc(k->marks, (size_t)cap * sizeof(*m))) == NULL)
			return -1;
		k->marks = m;
		k->capmarks = cap;
	}
	m = &k->marks[k->nmarks];
	m->type = ev->type;
	m->ts = ev->ts;
	m->seq = ev->seq;
	m->agent = ev->agent ? strdup(ev->agent) : NULL;
	m->to_agent = ev->to_agent ? strdup(ev->to_agent) : NULL;
	if ((ev->agent && !m->agent) || (ev->to_agent && !m->to_agent)) {
		free(m->agent);
		free(m->to_agent);
		return -1;
	}
	k->nmarks++;
	return 0;
}

struct cl_callcache *
cl_callcache_new(void)
{
	struct cl_callcache *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->calls = cl_hmap_new()) == NULL || (c->marks = cl_marks_new()) == NULL) {
		if (c != NULL)
			cl_hmap_free(c->calls);
		free(c);
		return NULL;
	}
	return c;
}

void
cl_callcache_clear(struct cl_callcache *c)
{
	struct cl_hmap_entry *e;

	for (e = cl_hmap_next(c->calls, NULL); e; e = cl_hmap_next(c->calls, e))
		cached_free(e->val);
	cl_hmap_free(c->calls);
	c->calls = cl_hmap_new(); /* NULL on out of memory: the next get says so */
}

void
cl_callcache_free(struct cl_callcache *c)
{
	if (c == NULL)
		return;
	cl_callcache_clear(c);
	cl_hmap_free(c->calls);
	free(c->marks);
	free(c);
}

void
cl_callcache_evict(struct cl_callcache *c, const char *call_id)
{
	if (c->calls != NULL)
		cached_free(cl_hmap_del(c->calls, call_id));
}

size_t
cl_callcache_count(const struct cl_callcache *c)
{
	return c->calls != NULL ? cl_hmap_count(c->calls) : 0;
}

struct cl_cached *
cl_callcache_get(struct cl_callcache *c, struct cl_store *st, const char *call_id, char *err)
{
	struct cl_cached *k = c->calls != NULL ? cl_hmap_get(c->calls, call_id) : NULL;
	int rc;

	if (k)
		return k;
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	rc = cl_store_get_call(st, call_id, &k->call, err);
	if (rc < 0) {
		free(k);
		return NULL;
	}
	if (rc == 0) {
		cl_call_init(&k->call, call_id);
		k->marks_known = 1; /* a new call has none */
	}
	k->stored = rc == 1;
	if (c->calls == NULL || cl_hmap_put(c->calls, call_id, k) < 0) {
		cached_free(k);
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	return k;
}

/* FNV-1a over the legs: written again only when this changes. */
static uint64_t
legs_hash(const struct cl_call_facts *f)
{
	uint64_t h = 1469598103934665603ULL;
	const unsigned char *b;

	for (int i = 0; i < f->n_legs; i++) {
		const struct cl_call_leg *l = &f->legs[i];
		int64_t v[4] = {l->rang, l->answered, l->talk_ms, l->hold_ms};
		for (b = (const unsigned char *)l->agent; *b; b++)
			h = (h ^ *b) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL; /* the name's end */
		for (size_t j = 0; j < sizeof(v); j++)
			h = (h ^ ((const unsigned char *)v)[j]) * 1099511628211ULL;
	}
	return h ? h : 1;
}

int
cl_callcache_mark(struct cl_cached *k, const struct cl_event *ev, char *err)
{
	if (k->marks_known && mark_keep(k, ev) < 0) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	k->legs_stale = 1;
	return 0;
}

int
cl_callcache_put_legs(struct cl_callcache *c, struct cl_store *st, struct cl_cached *k, char *err)
{
	struct cl_call_facts f;
	uint64_t h;

	if (!k->legs_stale)
		return 0;
	if (!k->marks_known) {
		marks_free(k);
		if (cl_store_call_marks(st, k->call.call_id, mark_keep, k, err) != 0) {
			if (!err[0])
				snprintf(err, CL_ERR_LEN, "out of memory");
			return -1;
		}
		k->marks_known = 1;
	}
	cl_marks_reset(c->marks);
	for (int i = 0; i < k->nmarks; i++) {
		const struct mark *m = &k->marks[i];
		struct cl_event ev = {.type = (enum cl_event_type)m->type,
		                      .call_id = k->call.call_id,
		                      .ts = m->ts,
		                      .seq = m->seq,
		                      .agent = m->agent,
		                      .to_agent = m->to_agent};
		(void)cl_marks_add(c->marks, &ev);
	}
	if (cl_marks_facts(c->marks, &f) < 0) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	if ((h = legs_hash(&f)) != k->legs_hash) {
		if (cl_store_put_legs(st, k->call.call_id, &f, err) < 0)
			return -1;
		k->legs_hash = h;
	}
	k->call.wrap_ms = f.wrap_ms;
	k->call.transferred = f.transferred;
	k->legs_stale = 0;
	return 0;
}
