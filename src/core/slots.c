/* slots.c : owns the queue report's roll-up figures (pure): what one call
 * counts for, and sets of per-slot deltas keyed by slot, queue and code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/hmap.h"
#include "callogd/slots.h"

int64_t
cl_slot_start(int64_t t)
{
	int64_t r = t % CL_SLOT_MS;

	return r < 0 ? t - r - CL_SLOT_MS : t - r;
}

void
cl_slot_figs_init(struct cl_slot_figs *f)
{
	memset(f, 0, sizeof(*f));
	f->max_wait = -1;
}

int
cl_slot_figs_empty(const struct cl_slot_figs *f)
{
	return f->answered == 0 && f->abandoned == 0 && f->short_abandoned == 0 && f->unanswered == 0 &&
	       f->active == 0 && f->count == 0;
}

int
cl_slot_count(struct cl_slot_figs *f, const struct cl_report_call *c, int64_t sla_ms, int64_t short_ms)
{
	switch (c->outcome) {
	case CL_OUTCOME_ACTIVE:
		f->active++;
		return 1;
	case CL_OUTCOME_ANSWERED:
		f->answered++;
		f->within_sla += c->wait_ms <= sla_ms;
		f->sum_wait_answered += c->wait_ms;
		f->sum_talk += c->talk_ms;
		f->sum_hold += c->hold_ms;
		f->sum_wrap += c->wrap_ms;
		f->transferred += c->transferred != 0;
		break;
	case CL_OUTCOME_ABANDONED:
		/* A short abandon counts there and nowhere else. */
		if (c->wait_ms < short_ms) {
			f->short_abandoned++;
			return 0;
		}
		f->abandoned++;
		f->sum_wait_abandoned += c->wait_ms;
		break;
	case CL_OUTCOME_UNANSWERED:
		f->unanswered++;
		break;
	}
	if (c->wait_ms > f->max_wait)
		f->max_wait = c->wait_ms;
	return 1;
}

/* into += sign * f, the maximum left out. */
static void
add_figs(struct cl_slot_figs *into, const struct cl_slot_figs *f, int64_t sign)
{
	into->answered += sign * f->answered;
	into->abandoned += sign * f->abandoned;
	into->short_abandoned += sign * f->short_abandoned;
	into->unanswered += sign * f->unanswered;
	into->active += sign * f->active;
	into->within_sla += sign * f->within_sla;
	into->transferred += sign * f->transferred;
	into->sum_wait_answered += sign * f->sum_wait_answered;
	into->sum_wait_abandoned += sign * f->sum_wait_abandoned;
	into->sum_talk += sign * f->sum_talk;
	into->sum_hold += sign * f->sum_hold;
	into->sum_wrap += sign * f->sum_wrap;
	into->count += sign * f->count;
}

void
cl_slot_merge(struct cl_slot_figs *into, const struct cl_slot_figs *f)
{
	add_figs(into, f, 1);
	if (f->max_wait > into->max_wait)
		into->max_wait = f->max_wait;
}

void
cl_report_call_of(const struct cl_call *c, int64_t now_ms, struct cl_report_call *out)
{
	memset(out, 0, sizeof(*out));
	out->offered_at = c->offered_at;
	out->inbound = c->direction == CL_DIR_INBOUND;
	out->queue = c->queue;
	out->outcome = cl_call_outcome(c);
	cl_call_durations(c->offered_at, c->answered_at, c->ended_at, c->hold_ms, c->hold_since, now_ms, &out->wait_ms,
	                  &out->talk_ms, &out->hold_ms);
	out->wrap_ms = c->wrap_ms;
	out->transferred = c->transferred;
	out->disp_code = c->disp_code;
	out->disp_agent = c->disp_agent;
}

/* ---- sets of deltas ---- */

struct delta {
	int64_t slot;
	char queue[CL_ID_MAX + 1], code[CL_ID_MAX + 1];
	struct cl_slot_figs f; /* f.max_wait: the largest wait added */
	int64_t removed_max;   /* the largest wait taken away, -1: none */
};

struct cl_slots {
	int64_t sla_ms, short_ms;
	struct cl_hmap *map; /* "slot\x1fqueue\x1fcode" -> struct delta * */
};

struct cl_slots *
cl_slots_new(int64_t sla_ms, int64_t short_ms)
{
	struct cl_slots *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->map = cl_hmap_new()) == NULL) {
		free(s);
		return NULL;
	}
	s->sla_ms = sla_ms;
	s->short_ms = short_ms;
	return s;
}

void
cl_slots_reset(struct cl_slots *s)
{
	struct cl_hmap_entry *e;
	struct cl_hmap *fresh;

	if (cl_hmap_count(s->map) == 0 || (fresh = cl_hmap_new()) == NULL) {
		/* Out of memory for a new map: empty the old one in place. */
		while ((e = cl_hmap_next(s->map, NULL)) != NULL)
			free(cl_hmap_del(s->map, e->key));
		return;
	}
	for (e = cl_hmap_next(s->map, NULL); e != NULL; e = cl_hmap_next(s->map, e))
		free(e->val);
	cl_hmap_free(s->map);
	s->map = fresh;
}

void
cl_slots_free(struct cl_slots *s)
{
	if (s == NULL)
		return;
	cl_slots_reset(s);
	cl_hmap_free(s->map);
	free(s);
}

static struct delta *
delta_get(struct cl_slots *s, int64_t slot, const char *queue, const char *code)
{
	char key[24 + 2 * CL_ID_MAX + 4];
	struct delta *d;

	snprintf(key, sizeof(key), "%lld\x1f%.*s\x1f%.*s", (long long)slot, CL_ID_MAX, queue, CL_ID_MAX, code);
	if ((d = cl_hmap_get(s->map, key)) != NULL)
		return d;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->slot = slot;
	snprintf(d->queue, sizeof(d->queue), "%s", queue);
	snprintf(d->code, sizeof(d->code), "%s", code);
	cl_slot_figs_init(&d->f);
	d->removed_max = -1;
	if (cl_hmap_put(s->map, key, d) < 0) {
		free(d);
		return NULL;
	}
	return d;
}

/* Adds sign times f into d: a maximum taken away is remembered, never subtracted. */
static void
apply(struct delta *d, const struct cl_slot_figs *f, int sign)
{
	if (sign > 0) {
		cl_slot_merge(&d->f, f);
		return;
	}
	if (f->max_wait > d->removed_max)
		d->removed_max = f->max_wait;
	add_figs(&d->f, f, -1);
}

int
cl_slots_add(struct cl_slots *s, const struct cl_report_call *c, int sign)
{
	const char *queue = c->queue != NULL ? c->queue : "";
	int64_t slot = cl_slot_start(c->offered_at);
	struct cl_slot_figs f;
	struct delta *d;

	if (!c->inbound)
		return 0;
	cl_slot_figs_init(&f);
	if ((d = delta_get(s, slot, queue, "")) == NULL)
		return -1;
	if (cl_slot_count(&f, c, s->sla_ms, s->short_ms) && c->disp_code != NULL && c->disp_code[0] != '\0') {
		struct cl_slot_figs one;
		struct delta *dc = delta_get(s, slot, queue, c->disp_code);
		if (dc == NULL)
			return -1;
		cl_slot_figs_init(&one);
		one.count = 1;
		apply(dc, &one, sign);
	}
	apply(d, &f, sign);
	return 0;
}

int
cl_slots_each(const struct cl_slots *s, int (*fn)(void *, const struct cl_slot_row *, int), void *arg)
{
	struct cl_hmap_entry *e;
	int rc;

	for (e = cl_hmap_next(s->map, NULL); e != NULL; e = cl_hmap_next(s->map, e)) {
		const struct delta *d = e->val;
		const struct cl_slot_figs *f = &d->f;
		struct cl_slot_row row = {.slot = d->slot, .queue = d->queue, .code = d->code, .f = d->f};
		int recount = d->removed_max > f->max_wait;
		int changed = recount || f->max_wait >= 0 ||
		              memcmp(f, &(struct cl_slot_figs){.max_wait = f->max_wait}, sizeof(*f)) != 0;

		if (changed && (rc = fn(arg, &row, recount)) != 0)
			return rc;
	}
	return 0;
}

size_t
cl_slots_count(const struct cl_slots *s)
{
	return cl_hmap_count(s->map);
}
