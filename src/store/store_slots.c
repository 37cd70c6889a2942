/* store_slots.c : owns keeping the queue report's roll-up (slots.h) in step
 * with the call records, over any backend: deltas added, slots counted again
 * from their calls, the thresholds they were counted with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "callogd/slots.h"

#define FLUSH_AT 4096 /* slot rows gathered before they are written, when counting many calls again */

int
cl_store_slot_conf(struct cl_store *st, int64_t *sla_ms, int64_t *short_ms, char *err)
{
	return st->ops->slot_conf(st, 0, sla_ms, short_ms, err);
}

int
cl_store_report_slots(struct cl_store *st, int64_t from_ms, int64_t until_ms, const char *queue, int codes,
                      int (*fn)(void *, const struct cl_slot_row *), void *arg, char *err)
{
	return st->ops->report_slots(st, from_ms, until_ms, queue, codes, fn, arg, err);
}

struct putting {
	struct cl_store *st;
	char *err;
	int gather;       /* gather the slots to count again */
	int64_t *recount; /* slots to count again, nrecount of them */
	size_t nrecount, cap;
};

static int
put_row(void *arg, const struct cl_slot_row *row, int recount)
{
	struct putting *p = arg;

	if (p->st->ops->put_slot(p->st, row, p->err) < 0)
		return -1;
	if (recount && p->gather) {
		if (p->nrecount == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 16;
			int64_t *v = realloc(p->recount, cap * sizeof(*v));
			if (v == NULL) {
				snprintf(p->err, CL_ERR_LEN, "out of memory");
				return -1;
			}
			p->recount = v;
			p->cap = cap;
		}
		p->recount[p->nrecount++] = row->slot;
	}
	return 0;
}

struct counting {
	struct cl_store *st;
	struct cl_slots *acc;
	int64_t last_slot;
	char *err;
};

static int
count_call(void *arg, const struct cl_report_call *c)
{
	struct counting *k = arg;
	struct putting p = {.st = k->st, .err = k->err};
	int64_t slot = cl_slot_start(c->offered_at);

	/* Rows are added to what is stored, so a flush may come at any point; between slots it writes fewer. */
	if (cl_slots_count(k->acc) >= FLUSH_AT && slot != k->last_slot) {
		if (cl_slots_each(k->acc, put_row, &p) != 0)
			return 1;
		cl_slots_reset(k->acc);
	}
	k->last_slot = slot;
	if (cl_slots_add(k->acc, c, 1) < 0) {
		snprintf(k->err, CL_ERR_LEN, "out of memory");
		return 1;
	}
	return 0;
}

/* Every slot in [from_ms, until_ms) counted again from the calls offered there. */
static int
recount(struct cl_store *st, int64_t from_ms, int64_t until_ms, int64_t sla_ms, int64_t short_ms, char *err)
{
	struct counting k = {.st = st, .err = err, .last_slot = INT64_MIN};
	struct putting p = {.st = st, .err = err};
	int rc = -1;

	if ((k.acc = cl_slots_new(sla_ms, short_ms)) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	if (st->ops->clear_slots(st, from_ms, until_ms, err) < 0 ||
	    st->ops->report_calls(st, from_ms, until_ms, NULL, 0, count_call, &k, err) != 0 ||
	    cl_slots_each(k.acc, put_row, &p) != 0)
		goto out;
	rc = 0;
out:
	cl_slots_free(k.acc);
	return rc;
}

int
cl_store_build_slots(struct cl_store *st, int64_t sla_ms, int64_t short_ms, char *err)
{
	if (recount(st, INT64_MIN, INT64_MAX, sla_ms, short_ms, err) < 0)
		return -1;
	return st->ops->slot_conf(st, 1, &sla_ms, &short_ms, err);
}

int
cl_store_unbuild_slots(struct cl_store *st, char *err)
{
	int64_t none = -1, zero = 0;

	return st->ops->slot_conf(st, 1, &none, &zero, err);
}

int
cl_store_put_slots(struct cl_store *st, const struct cl_slots *s, int64_t sla_ms, int64_t short_ms, char *err)
{
	struct putting p = {.st = st, .err = err, .gather = 1};
	int rc = -1;

	if (cl_slots_each(s, put_row, &p) != 0)
		goto out;
	/* After every delta is in: counting a slot again replaces all of its rows. */
	for (size_t i = 0; i < p.nrecount; i++) {
		int dup = 0;
		for (size_t j = 0; j < i && !dup; j++)
			dup = p.recount[j] == p.recount[i];
		if (!dup && recount(st, p.recount[i], p.recount[i] + CL_SLOT_MS, sla_ms, short_ms, err) < 0)
			goto out;
	}
	rc = 0;
out:
	free(p.recount);
	return rc;
}

/* After a purge: the slots before before_ms counted again from the calls left, in one transaction. */
int
cl_store_recount_slots_before(struct cl_store *st, int64_t before_ms, char *err)
{
	int64_t sla_ms, short_ms, until = cl_slot_start(before_ms);
	int built = st->ops->slot_conf(st, 0, &sla_ms, &short_ms, err);

	if (built <= 0)
		return built;
	if (until < before_ms)
		until += CL_SLOT_MS;
	if (st->ops->begin(st, err) < 0)
		return -1;
	if (recount(st, INT64_MIN, until, sla_ms, short_ms, err) < 0 || st->ops->commit(st, err) < 0) {
		st->ops->rollback(st);
		return -1;
	}
	return 0;
}
