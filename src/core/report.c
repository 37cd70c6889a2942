/* report.c : owns the §10 report figures: intervals of a range, rows per
 * interval and key, and totals from the summed counts (pure). Rendering is in
 * report_out.c, a call's legs in facts.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/hmap.h"
#include "callogd/report.h"
#include "callogd/slots.h"
#include "callogd/util.h"
#include "report_int.h"

static const char *const kind_names[] = {
    [CL_REPORT_QUEUES] = "queues",
    [CL_REPORT_AGENTS] = "agents",
    [CL_REPORT_DISPOSITIONS] = "dispositions",
};

int
cl_report_kind_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (s != NULL && strcmp(s, kind_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
cl_report_kind_name(enum cl_report_kind k)
{
	return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "unknown";
}

int
cl_report_parse_time(const struct cl_tz *tz, const char *s, int64_t *ms)
{
	char buf[64];
	size_t n;
	int y, m, d;
	char tail;

	if (s == NULL || (n = strlen(s)) == 0 || n >= sizeof(buf))
		return -1;
	if (n == 10 && sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 && s[4] == '-' && s[7] == '-') {
		/* Checked as a time would be, then taken at local midnight. */
		int64_t probe;
		snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
		if (cl_time_parse(buf, &probe) < 0)
			return -1;
		*ms = cl_tz_from_local(tz, y, m, d, 0, 0, 0) * 1000;
		return 0;
	}
	memcpy(buf, s, n + 1);
	if (n > 6 && buf[n - 6] == ' ' && buf[n - 3] == ':')
		buf[n - 6] = '+';
	return cl_time_parse(buf, ms);
}

static int
is_none(const char *s)
{
	return s == NULL || s[0] == '\0';
}

struct cl_report *
cl_report_new(const struct cl_report_params *p, char *err)
{
	struct cl_report *r = NULL;
	int64_t t, n = 0;

	if (p->until_ms <= p->from_ms) {
		snprintf(err, CL_ERR_LEN, "until: must be after from");
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto oom;
	r->p = *p;
	r->p.queue = r->p.agent = NULL;
	if ((p->queue != NULL && (r->p.queue = r->queue_filter = strdup(p->queue)) == NULL) ||
	    (p->agent != NULL && (r->p.agent = r->agent_filter = strdup(p->agent)) == NULL))
		goto oom;

	/* Bounds: from, each calendar boundary inside the range, until. */
	if (p->interval != CL_INTERVAL_TOTAL) {
		t = cl_tz_floor(p->tz, p->interval, p->from_ms / 1000);
		for (t = cl_tz_next(p->tz, p->interval, t); t * 1000 < p->until_ms;
		     t = cl_tz_next(p->tz, p->interval, t))
			if (t * 1000 > p->from_ms && ++n > CL_REPORT_MAX_INTERVALS)
				break;
	}
	if (n + 1 > CL_REPORT_MAX_INTERVALS) {
		snprintf(err, CL_ERR_LEN, "interval: more than %d intervals in the range", CL_REPORT_MAX_INTERVALS);
		goto fail;
	}
	if ((r->bounds = malloc((size_t)(n + 2) * sizeof(*r->bounds))) == NULL)
		goto oom;
	r->bounds[r->nbuckets++] = p->from_ms;
	if (p->interval != CL_INTERVAL_TOTAL) {
		t = cl_tz_floor(p->tz, p->interval, p->from_ms / 1000);
		for (t = cl_tz_next(p->tz, p->interval, t); t * 1000 < p->until_ms;
		     t = cl_tz_next(p->tz, p->interval, t))
			if (t * 1000 > p->from_ms)
				r->bounds[r->nbuckets++] = t * 1000;
	}
	r->bounds[r->nbuckets] = p->until_ms;
	if ((r->rows = cl_hmap_new()) == NULL)
		goto oom;
	return r;
oom:
	snprintf(err, CL_ERR_LEN, "out of memory");
fail:
	cl_report_free(r);
	return NULL;
}

void
cl_report_free(struct cl_report *r)
{
	struct cl_hmap_entry *e;

	if (r == NULL)
		return;
	if (r->rows != NULL) {
		for (e = cl_hmap_next(r->rows, NULL); e != NULL; e = cl_hmap_next(r->rows, e)) {
			struct cl_report_row *row = e->val;
			free(row->reasons);
			free(row);
		}
		cl_hmap_free(r->rows);
	}
	for (int i = 0; i < r->nreasons; i++)
		free(r->reasons[i]);
	free(r->bounds);
	free(r->queue_filter);
	free(r->agent_filter);
	free(r);
}

const struct cl_report_params *
cl_report_params(const struct cl_report *r)
{
	return &r->p;
}

/* The interval holding t: the last bound <= t; -1 outside the range. */
static int
bucket_of(const struct cl_report *r, int64_t t)
{
	int lo = 0, hi = r->nbuckets;

	if (t < r->p.from_ms || t >= r->p.until_ms)
		return -1;
	while (hi - lo > 1) {
		int mid = lo + (hi - lo) / 2;
		if (r->bounds[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The row of (bucket, k1, k2), made on first use; bucket -1 is the totals.
 * k1 NULL is the null queue: the key keeps "none" apart from any name.
 */
static size_t
recent_slot(int bucket, const char *k1, const char *k2)
{
	size_t h = (size_t)bucket * 2654435761u + (k1 != NULL);

	for (const char *p = k1 ? k1 : ""; *p; p++)
		h = h * 31 + (unsigned char)*p;
	for (const char *p = k2 ? k2 : ""; *p; p++)
		h = h * 37 + (unsigned char)*p;
	return h % CL_REPORT_RECENT;
}

static int
row_is(const struct cl_report_row *row, int bucket, const char *k1, const char *k2)
{
	return row != NULL && row->bucket == bucket && row->has_k1 == (k1 != NULL) &&
	       strncmp(row->k1, k1 ? k1 : "", CL_ID_MAX) == 0 && strncmp(row->k2, k2 ? k2 : "", CL_ID_MAX) == 0;
}

static struct cl_report_row *
row_get(struct cl_report *r, int bucket, const char *k1, const char *k2)
{
	char key[16 + 2 * CL_ID_MAX + 8];
	struct cl_report_row *row;
	size_t slot = recent_slot(bucket, k1, k2);

	/* A report feeds many calls per row: the recent rows spare the key and the hash map. */
	if (row_is(r->recent[slot], bucket, k1, k2))
		return r->recent[slot];

	snprintf(key, sizeof(key), "%d\x1f%c%.*s\x1f%.*s", bucket, k1 != NULL ? '=' : '-', CL_ID_MAX,
	         k1 != NULL ? k1 : "", CL_ID_MAX, k2 != NULL ? k2 : "");
	if ((row = cl_hmap_get(r->rows, key)) != NULL)
		return r->recent[slot] = row;
	if ((row = calloc(1, sizeof(*row))) == NULL)
		return NULL;
	row->bucket = bucket;
	row->has_k1 = k1 != NULL;
	snprintf(row->k1, sizeof(row->k1), "%s", k1 != NULL ? k1 : "");
	snprintf(row->k2, sizeof(row->k2), "%s", k2 != NULL ? k2 : "");
	row->q.max_wait = -1;
	if (cl_hmap_put(r->rows, key, row) < 0) {
		free(row);
		return NULL;
	}
	return r->recent[slot] = row;
}

/* The call's queue as a key: NULL for none. */
static const char *
queue_key(const char *q)
{
	return is_none(q) ? NULL : q;
}

static int
queue_passes(const struct cl_report *r, const char *q)
{
	return r->queue_filter == NULL || (!is_none(q) && strcmp(q, r->queue_filter) == 0);
}

static int
agent_passes(const struct cl_report *r, const char *a)
{
	return !is_none(a) && (r->agent_filter == NULL || strcmp(a, r->agent_filter) == 0);
}

static int
add_queue_call(struct cl_report *r, int b, const struct cl_report_call *c)
{
	const char *q = queue_key(c->queue);
	struct cl_report_row *row, *tot;
	struct cl_slot_figs f;
	int counted;

	if ((row = row_get(r, b, q, NULL)) == NULL || (tot = row_get(r, -1, q, NULL)) == NULL)
		return -1;
	cl_slot_figs_init(&f);
	counted = cl_slot_count(&f, c, r->p.sla_ms, r->p.short_abandon_ms);
	cl_slot_merge(&row->q, &f);
	cl_slot_merge(&tot->q, &f);
	if (counted && r->p.kind == CL_REPORT_DISPOSITIONS && !is_none(c->disp_code)) {
		struct cl_report_row *d, *dt;
		if ((d = row_get(r, b, q, c->disp_code)) == NULL || (dt = row_get(r, -1, q, c->disp_code)) == NULL)
			return -1;
		d->is_disp = dt->is_disp = 1;
		d->q.count++;
		dt->q.count++;
	}
	return 0;
}

int
cl_report_add_call(struct cl_report *r, const struct cl_report_call *c)
{
	int b = bucket_of(r, c->offered_at);

	if (b < 0 || !queue_passes(r, c->queue))
		return 0;
	if (r->p.kind == CL_REPORT_AGENTS) {
		/* The wrap counts for whoever made the disposition. */
		struct cl_report_row *row, *tot;
		if (c->wrap_ms <= 0 || !agent_passes(r, c->disp_agent))
			return 0;
		if ((row = row_get(r, b, c->disp_agent, NULL)) == NULL ||
		    (tot = row_get(r, -1, c->disp_agent, NULL)) == NULL)
			return -1;
		row->wrap += c->wrap_ms;
		tot->wrap += c->wrap_ms;
		row->counted = tot->counted = 1;
		return 0;
	}
	if (!c->inbound)
		return 0;
	return add_queue_call(r, b, c);
}

static void
count_leg(struct cl_report_row *row, const struct cl_report_leg *l)
{
	int rang = l->rang || l->answered;

	row->rang += rang;
	row->answered += l->answered != 0;
	row->missed += rang && !l->answered;
	row->talk += l->talk_ms;
	row->hold += l->hold_ms;
	row->counted = 1;
}

int
cl_report_add_leg(struct cl_report *r, const struct cl_report_leg *l)
{
	struct cl_report_row *row, *tot;
	int b;

	if (r->p.kind != CL_REPORT_AGENTS || !agent_passes(r, l->agent) || !queue_passes(r, l->queue))
		return 0;
	if ((b = bucket_of(r, l->offered_at)) < 0)
		return 0;
	if ((row = row_get(r, b, l->agent, NULL)) == NULL || (tot = row_get(r, -1, l->agent, NULL)) == NULL)
		return -1;
	count_leg(row, l);
	count_leg(tot, l);
	return 0;
}

/* The index of reason in the report's list of reasons seen, added when new; -1 when full or OOM. */
static int
reason_index(struct cl_report *r, const char *reason)
{
	for (int i = 0; i < r->nreasons; i++)
		if (strcmp(r->reasons[i], reason) == 0)
			return i;
	if (r->nreasons == CL_REPORT_MAX_REASONS || (r->reasons[r->nreasons] = strdup(reason)) == NULL)
		return -1;
	return r->nreasons++;
}

static int
add_reason(struct cl_report_row *row, int idx, int64_t ms)
{
	if (idx >= row->nreasons) {
		int64_t *v = realloc(row->reasons, (size_t)(idx + 1) * sizeof(*v));
		if (v == NULL)
			return -1;
		memset(v + row->nreasons, 0, (size_t)(idx + 1 - row->nreasons) * sizeof(*v));
		row->reasons = v;
		row->nreasons = idx + 1;
	}
	row->reasons[idx] += ms;
	return 0;
}

/* State time of one piece [a, b) inside one interval. */
static int
count_state(struct cl_report_row *row, const struct cl_report_span *s, int reason_idx, int64_t ms)
{
	row->logged_in += ms;
	row->counted = 1;
	if (strcmp(s->state, "ready") == 0) {
		row->ready += ms;
	} else if (strcmp(s->state, "not_ready") == 0) {
		row->not_ready += ms;
		if (reason_idx >= 0 && add_reason(row, reason_idx, ms) < 0)
			return -1;
	}
	return 0;
}

int
cl_report_add_span(struct cl_report *r, const struct cl_report_span *s)
{
	int64_t a = s->start, e = s->end;
	int ri = -1;

	if (r->p.kind != CL_REPORT_AGENTS || !agent_passes(r, s->agent) || s->state == NULL)
		return 0;
	/* Logged out is the one state that is not logged in; unknown states count as logged in. */
	if (strcmp(s->state, "logged_out") == 0)
		return 0;
	if (a < r->p.from_ms)
		a = r->p.from_ms;
	if (e > r->p.until_ms)
		e = r->p.until_ms;
	if (a >= e)
		return 0;
	if (strcmp(s->state, "not_ready") == 0 && !is_none(s->reason))
		ri = reason_index(r, s->reason);
	/* Cut at each interval bound the span crosses. */
	for (int b = bucket_of(r, a); b >= 0 && b < r->nbuckets && r->bounds[b] < e; b++) {
		int64_t lo = a > r->bounds[b] ? a : r->bounds[b];
		int64_t hi = e < r->bounds[b + 1] ? e : r->bounds[b + 1];
		struct cl_report_row *row, *tot;

		if (hi <= lo)
			continue;
		if ((row = row_get(r, b, s->agent, NULL)) == NULL || (tot = row_get(r, -1, s->agent, NULL)) == NULL)
			return -1;
		if (count_state(row, s, ri, hi - lo) < 0 || count_state(tot, s, ri, hi - lo) < 0)
			return -1;
	}
	return 0;
}

int
cl_report_slot_range(const struct cl_report *r, int64_t *a, int64_t *b)
{
	*a = cl_slot_start(r->p.from_ms);
	if (*a < r->p.from_ms)
		*a += CL_SLOT_MS;
	*b = cl_slot_start(r->p.until_ms);
	if (r->p.kind == CL_REPORT_AGENTS || *a >= *b)
		return 0;
	/* Every bound inside [a, b) must fall between slots, or a slot would straddle two intervals. */
	for (int i = 1; i < r->nbuckets; i++)
		if (r->bounds[i] > *a && r->bounds[i] < *b && cl_slot_start(r->bounds[i]) != r->bounds[i])
			return 0;
	return 1;
}

int
cl_report_add_slot(struct cl_report *r, const struct cl_slot_row *s)
{
	const char *q = queue_key(s->queue);
	struct cl_report_row *row, *tot;
	int b = bucket_of(r, s->slot);

	if (b < 0 || r->p.kind == CL_REPORT_AGENTS || !queue_passes(r, s->queue) || cl_slot_figs_empty(&s->f))
		return 0;
	if (is_none(s->code)) {
		if ((row = row_get(r, b, q, NULL)) == NULL || (tot = row_get(r, -1, q, NULL)) == NULL)
			return -1;
	} else {
		if (r->p.kind != CL_REPORT_DISPOSITIONS)
			return 0;
		if ((row = row_get(r, b, q, s->code)) == NULL || (tot = row_get(r, -1, q, s->code)) == NULL)
			return -1;
		row->is_disp = tot->is_disp = 1;
	}
	cl_slot_merge(&row->q, &s->f);
	cl_slot_merge(&tot->q, &s->f);
	return 0;
}
