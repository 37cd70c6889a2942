/* callcache.h : the writer's cache of committed call records. Each record
 * keeps its marks (read from the database once, with the record), so a
 * transaction computes the call's legs without reading the marks back, and the
 * legs are written only when they change. After each commit the cache equals
 * the database; on any doubt (another writer, a purge, a rollback) entries go.
 * Used by one thread only.
 */
#ifndef CALLOGD_CALLCACHE_H
#define CALLOGD_CALLCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "callogd/calls.h"
#include "callogd/event.h"

struct cl_store;
struct cl_callcache;
struct mark; /* private */

/* A cached call record, and the transaction that last touched it. */
struct cl_cached {
	struct cl_call call; /* first: a list of touched records may point at it */
	uint64_t gen;        /* the writer's: the transaction that last touched it */
	int legs_stale;      /* a mark was added: its legs, wrap and transfer are computed again */
	int stored;          /* the record is in the database (the writer's report slots count it) */
	/* private */
	int marks_known;    /* marks holds all the call's marks (else they are read first) */
	struct mark *marks; /* in seq order, at most CL_MARKS_MAX */
	int nmarks, capmarks;
	uint64_t legs_hash; /* of the legs last written, 0 none */
};

struct cl_callcache *cl_callcache_new(void);
void cl_callcache_free(struct cl_callcache *c);
/* cl_callcache_clear() : forgets every record (another writer changed the database, a purge). */
void cl_callcache_clear(struct cl_callcache *c);
/* cl_callcache_evict() : forgets call_id's record (its transaction was rolled back). */
void cl_callcache_evict(struct cl_callcache *c, const char *call_id);
size_t cl_callcache_count(const struct cl_callcache *c);
/* cl_callcache_get() : call_id's record, from the cache, st or new; NULL with err on error. */
struct cl_cached *cl_callcache_get(struct cl_callcache *c, struct cl_store *st, const char *call_id, char *err);
/* cl_callcache_mark() : ev (a mark of k's call, stored meanwhile) is kept with k; its legs are stale. */
int cl_callcache_mark(struct cl_cached *k, const struct cl_event *ev, char *err);
/*
 * cl_callcache_put_legs() : when k's legs are stale, computes them from its
 * marks (read from st first if they are not known), writes them to st if they
 * changed, and sets k's wrap_ms and transferred. 0, or -1 with err.
 */
int cl_callcache_put_legs(struct cl_callcache *c, struct cl_store *st, struct cl_cached *k, char *err);

#endif
