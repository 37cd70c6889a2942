/* recent.c : owns each agent's memory of its last calls (pure: the caller gives the times). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/event.h"
#include "callogd/hmap.h"
#include "callogd/recent.h"
#include "callogd/util.h"

#define NAME_MAX_BYTES 64

struct recent_call {
	char call_id[CL_ID_MAX + 1];
	char number[CL_PARTY_MAX + 1];
	char name[NAME_MAX_BYTES]; /* the customer's, cut at a character boundary; "" unknown */
	int direction;
	unsigned flags;
	int64_t at_ms; /* when it rang, then when it ended */
};

struct agent_calls {
	struct recent_call v[CL_RECENT_MAX]; /* a ring: next is where the next call goes */
	int n, next;
};

struct cl_recent {
	struct cl_hmap *agents; /* agent id -> struct agent_calls */
};

struct cl_recent *
cl_recent_new(void)
{
	struct cl_recent *r = calloc(1, sizeof(*r));

	if (r != NULL && (r->agents = cl_hmap_new()) == NULL) {
		free(r);
		r = NULL;
	}
	return r;
}

void
cl_recent_free(struct cl_recent *r)
{
	if (r == NULL)
		return;
	for (struct cl_hmap_entry *e = cl_hmap_next(r->agents, NULL); e; e = cl_hmap_next(r->agents, e))
		free(e->val);
	cl_hmap_free(r->agents);
	free(r);
}

static struct recent_call *
find(const struct cl_recent *r, const char *agent, const char *call_id)
{
	struct agent_calls *a = cl_hmap_get(r->agents, agent);

	for (int i = 0; a && i < a->n; i++)
		if (strcmp(a->v[i].call_id, call_id) == 0)
			return &a->v[i];
	return NULL;
}

void
cl_recent_mark(struct cl_recent *r, const char *agent, const char *call_id, unsigned flags, int direction,
               const char *number, const char *name, int64_t at_ms)
{
	struct recent_call *rc = find(r, agent, call_id);
	struct agent_calls *a;

	if (rc == NULL) {
		if (!(flags & (CL_AC_RANG | CL_AC_ANSWERED)))
			return;
		if ((a = cl_hmap_get(r->agents, agent)) == NULL) {
			if (cl_hmap_count(r->agents) >= CL_RECENT_AGENTS_MAX || (a = calloc(1, sizeof(*a))) == NULL)
				return;
			if (cl_hmap_put(r->agents, agent, a) < 0) {
				free(a);
				return;
			}
		}
		rc = &a->v[a->next];
		a->next = (a->next + 1) % CL_RECENT_MAX;
		if (a->n < CL_RECENT_MAX)
			a->n++;
		memset(rc, 0, sizeof(*rc));
		snprintf(rc->call_id, sizeof(rc->call_id), "%s", call_id);
		rc->at_ms = at_ms;
	}
	rc->flags |= flags;
	if (flags & CL_AC_ENDED)
		rc->at_ms = at_ms;
	rc->direction = direction;
	if (number != NULL)
		cl_utf8_copy(rc->number, sizeof(rc->number), number);
	if (name != NULL)
		cl_utf8_copy(rc->name, sizeof(rc->name), name);
}

unsigned
cl_recent_flags(const struct cl_recent *r, const char *agent, const char *call_id)
{
	struct recent_call *rc = find(r, agent, call_id);

	return rc ? rc->flags : 0;
}

static json_t *
str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

json_t *
cl_recent_pending(const struct cl_recent *r, const char *agent)
{
	const struct agent_calls *a = cl_hmap_get(r->agents, agent);
	json_t *arr = json_array();

	for (int k = 0; arr && a && k < a->n; k++) {
		const struct recent_call *rc = &a->v[(a->next - a->n + k + CL_RECENT_MAX) % CL_RECENT_MAX];
		char at[CL_TIME_LEN];
		if ((rc->flags & (CL_AC_ANSWERED | CL_AC_ENDED | CL_AC_WRAPPED)) != (CL_AC_ANSWERED | CL_AC_ENDED))
			continue;
		cl_time_format(rc->at_ms, at);
		if (json_array_append_new(
		        arr, json_pack("{s:s, s:s, s:o, s:o, s:s}", "call_id", rc->call_id, "direction",
		                       rc->direction == CL_DIR_OUTBOUND ? "outbound" : "inbound", "number",
		                       str_or_null(rc->number), "name", str_or_null(rc->name), "ended_at", at)) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr ? json_pack("{s:o}", "calls", arr) : NULL;
}
