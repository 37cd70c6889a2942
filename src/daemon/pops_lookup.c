/* pops_lookup.c : owns the caller lookups screen-pops wait for: run on a
 * worker when a call is offered, shared by calls from one number offered
 * together, queued in a backlog while the workers' queue is full. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "callogd/crm.h"
#include "callogd/crmmap.h"
#include "callogd/daemon.h"
#include "callogd/hmap.h"
#include "callogd/calls.h"
#include "callogd/live.h"
#include "callogd/store.h"
#include "callogd/log.h"
#include "callogd/numbers.h"
#include "callogd/pops.h"
#include "callogd/util.h"
#include "callogd/views.h"
#include "callogd/workers.h"

#include "pops_int.h"

/* The customer side's number, as the CRM is asked for it; "" when it has none (or an extension). */
static void
crm_number(struct cl_pops *p, const struct popctx *x, char *out)
{
	const char *raw = x->call->direction == CL_DIR_OUTBOUND ? x->call->to : x->call->from;

	if (cl_number_normalize(&p->srv->numbers, raw, out) != CL_NUMBER_OK || out[0] != '+')
		out[0] = '\0';
}

/*
 * lookup_settle() : x's local or CRM lookup changed (changed) or ended. The
 * pop's lookup is merged again; the waiting pops go out once no lookup runs;
 * agents already popped get an updated pop.
 */
static void
lookup_settle(struct cl_pops *p, struct popctx *x, int changed)
{
	if (changed && cl_crm_enabled(p->srv->crm)) {
		char number[CL_NUMBER_LEN];
		json_t *m;
		crm_number(p, x, number);
		if ((m = cl_crm_merge(x->local, x->crm, number)) != NULL) {
			json_decref(x->lookup);
			x->lookup = m;
			pops_invalidate(x);
		}
	} else if (changed && x->local != NULL) {
		json_decref(x->lookup);
		x->lookup = json_incref(x->local);
		pops_invalidate(x);
	}
	if (x->ndeferred > 0) {
		if (!POPS_LOOKUP_PENDING(x))
			pops_flush_deferred(p, x);
		return;
	}
	for (int i = 0; changed && i < x->call->nagents; i++)
		if (x->call->agents[i].popped)
			pops_send_pop(p, x, x->call->agents[i].id, -1);
}

/* lookup_done() : x's local lookup (id) ended with result (taken; NULL when it failed). */
static void
lookup_done(struct cl_pops *p, struct popctx *x, uint64_t id, json_t *result)
{
	if (id != x->lookup_id) {
		json_decref(result); /* an older offer's */
		return;
	}
	x->lookup_id = 0;
	if (result != NULL) {
		json_decref(x->local);
		x->local = result;
	}
	lookup_settle(p, x, result != NULL);
}

void
cl_pops_crm_done(void *arg, const char *call_id, uint64_t id, json_t *contacts)
{
	struct cl_pops *p = arg;
	struct cl_live_call *c = cl_live_get(p->live, call_id);
	struct popctx *x = c ? c->ctx : NULL;

	if (x == NULL || x->crm_id != id) {
		json_decref(contacts); /* the call ended, or was offered again */
		return;
	}
	x->crm_id = 0;
	if (contacts != NULL) {
		json_decref(x->crm);
		x->crm = contacts;
	}
	lookup_settle(p, x, contacts != NULL);
}

json_t *
cl_pops_crm_contact(struct cl_pops *p, const char *call_id, const char *customer_id)
{
	struct cl_live_call *c = call_id ? cl_live_get(p->live, call_id) : NULL;
	struct popctx *x = c ? c->ctx : NULL;
	json_t *contact;
	size_t i;

	json_array_foreach (json_object_get(x ? x->crm : NULL, "contacts"), i, contact) {
		const char *id = json_string_value(json_object_get(contact, "id"));
		if (id != NULL && id[0] != '\0' && customer_id != NULL && strcmp(id, customer_id) == 0)
			return json_copy(contact);
	}
	return NULL;
}

/* Asks the CRM about x's caller (when configured), alongside the local lookup. */
static void
crm_start(struct cl_pops *p, struct popctx *x)
{
	char number[CL_NUMBER_LEN];
	json_t *hit = NULL;
	uint64_t id = ++p->lookups;
	int64_t start_by = cl_mono_us() + (int64_t)p->srv->cfg.pops_lookup_ms * 1000;

	x->crm_id = 0;
	json_decref(x->crm);
	x->crm = NULL;
	if (!cl_crm_enabled(p->srv->crm))
		return;
	crm_number(p, x, number);
	if (number[0] == '\0')
		return;
	switch (cl_crm_lookup(p->srv->crm, number, x->call->call_id, id, start_by, &hit)) {
	case 1:
		x->crm = hit;
		lookup_settle(p, x, 1);
		break;
	case 0:
		x->crm_id = id;
		break;
	default:
		break;
	}
}

static void
lookup_run(struct cl_job *job, struct cl_worker_ctx *ctx)
{
	struct lookup_job *lj = (struct lookup_job *)job;

	lj->result = cl_view_lookup_raw(ctx->st, &lj->rules, lj->number, lj->history, lj->call_id, lj->err);
}

/* result for a call that shares it: without that call itself in the history; a new reference. */
static json_t *
shared_result(json_t *result, const char *call_id)
{
	json_t *hist = json_object_get(result, "history"), *copy, *kept;
	size_t i;
	json_t *h;

	json_array_foreach (hist, i, h) {
		const char *id = json_string_value(json_object_get(h, "call_id"));
		if (id == NULL || strcmp(id, call_id) != 0)
			continue;
		if ((copy = json_copy(result)) == NULL || (kept = json_copy(hist)) == NULL ||
		    json_array_remove(kept, i) < 0 || json_object_set_new(copy, "history", kept) < 0) {
			json_decref(copy);
			return NULL;
		}
		return copy;
	}
	return json_incref(result);
}

/* Gives result to call_id's pop context when it still waits for lookup id. Takes result. */
static void
lookup_deliver(struct cl_pops *p, const char *call_id, uint64_t id, json_t *result)
{
	struct cl_live_call *c = cl_live_get(p->live, call_id);

	if (c != NULL && c->ctx != NULL)
		lookup_done(p, c->ctx, id, result);
	else
		json_decref(result); /* the call ended meanwhile */
}

static void
lookup_job_done(struct cl_job *job, int status)
{
	struct lookup_job *lj = (struct lookup_job *)job;
	struct cl_pops *p = lj->p;

	if (status == CL_JOB_RAN && lj->result == NULL)
		log_warnx("msg=\"customer lookup failed\" call_id=\"%s\" error=\"%s\"", lj->call_id, lj->err);
	if (lj->listed)
		cl_hmap_del(p->inflight, lj->number);
	for (size_t i = 0; i < lj->nsharers; i++)
		lookup_deliver(p, lj->sharers[i].call_id, lj->sharers[i].id,
		               lj->result ? shared_result(lj->result, lj->sharers[i].call_id) : NULL);
	lookup_deliver(p, lj->call_id, lj->id, lj->result);
	free(lj->sharers);
	free(lj);
	if (status == CL_JOB_RAN)
		pops_lookup_drain(p); /* a place in the queue is free */
}

/* Adds call_id to lj's sharers under a new lookup id; 0, or -1 on out of memory. */
static int
lookup_share(struct cl_pops *p, struct lookup_job *lj, struct popctx *x)
{
	struct sharer *sh;

	if (lj->nsharers == lj->capsharers) {
		size_t cap = lj->capsharers ? lj->capsharers * 2 : 4;
		if (cap > CL_LIVE_CALLS_MAX || (sh = realloc(lj->sharers, cap * sizeof(*sh))) == NULL)
			return -1;
		lj->sharers = sh;
		lj->capsharers = cap;
	}
	sh = &lj->sharers[lj->nsharers++];
	sh->id = ++p->lookups;
	snprintf(sh->call_id, sizeof(sh->call_id), "%s", x->call->call_id);
	x->lookup_id = sh->id;
	return 0;
}

/* lookup_still_wanted() : lj's call is live and still waits for this lookup (not ended, not offered again). */
static int
lookup_still_wanted(struct cl_pops *p, const struct lookup_job *lj)
{
	struct cl_live_call *c = cl_live_get(p->live, lj->call_id);

	return c != NULL && c->ctx != NULL && ((struct popctx *)c->ctx)->lookup_id == lj->id;
}

/* Submits the lookups that found the workers' queue full, oldest first, while it takes them. */
void
pops_lookup_drain(struct cl_pops *p)
{
	struct lookup_job *lj;
	char err[CL_ERR_LEN];

	while ((lj = p->backlog) != NULL) {
		if (lj->nsharers == 0 && !lookup_still_wanted(p, lj)) {
			p->backlog = lj->next_wait;
			p->nbacklog--;
			if (lj->listed)
				cl_hmap_del(p->inflight, lj->number);
			free(lj);
			continue;
		}
		if (cl_workers_submit(p->srv->workers, &lj->job, CL_JOB_HIGH, err) < 0)
			return;
		p->backlog = lj->next_wait;
		p->nbacklog--;
	}
	p->backlog_tail = NULL;
}

/*
 * pops_lookup_submit() : looks the call's caller up (the customer side: from, or to
 * when outbound) on a worker, at prio; its pops wait for it (up to
 * pops.lookup_ms). With the workers' queue full it waits its turn in the
 * backlog when may_wait, else it is not made. 0, or -1 when it was not made
 * (the pops go without).
 */
int
pops_lookup_submit(struct cl_pops *p, struct popctx *x, enum cl_job_prio prio, int may_wait)
{
	const char *number = x->call->direction == CL_DIR_OUTBOUND ? x->call->to : x->call->from;
	struct lookup_job *lj = number[0] ? cl_hmap_get(p->inflight, number) : NULL;
	char err[CL_ERR_LEN] = "out of memory";

	x->lookup_id = 0;
	if (lj != NULL && lj->history == p->srv->cfg.pops_history && lookup_share(p, lj, x) == 0)
		return 0;
	if ((lj = calloc(1, sizeof(*lj))) == NULL)
		goto fail;
	lj->job.run = lookup_run;
	lj->job.done = lookup_job_done;
	lj->p = p;
	lj->id = ++p->lookups;
	lj->rules = p->srv->numbers;
	lj->history = p->srv->cfg.pops_history;
	snprintf(lj->call_id, sizeof(lj->call_id), "%s", x->call->call_id);
	snprintf(lj->number, sizeof(lj->number), "%s", number);
	if (p->backlog != NULL) /* keep the order: older lookups first */
		pops_lookup_drain(p);
	if (p->backlog == NULL && cl_workers_submit(p->srv->workers, &lj->job, prio, err) == 0)
		goto made;
	if (may_wait && p->nbacklog < LOOKUP_BACKLOG_MAX) {
		if (p->backlog_tail)
			p->backlog_tail->next_wait = lj;
		else
			p->backlog = lj;
		p->backlog_tail = lj;
		p->nbacklog++;
		goto made;
	}
	goto fail; /* neither queued nor waiting: no lookup will come, the pops must not wait for one */
made:
	x->lookup_id = lj->id;
	lj->listed = number[0] && cl_hmap_put(p->inflight, number, lj) == 0; /* else just not shared */
	return 0;
fail:
	free(lj);
	p->srv->m.lookups_refused++;
	log_debug("msg=\"customer lookup not made: the pop goes without\" call_id=\"%s\" error=\"%s\"",
	          x->call->call_id, err);
	return -1;
}

void
pops_lookup_start(struct cl_pops *p, struct popctx *x)
{
	pops_lookup_submit(p, x, CL_JOB_HIGH, 1);
	crm_start(p, x);
}

static void
select_run(struct cl_job *job, struct cl_worker_ctx *ctx)
{
	struct select_job *sj = (struct select_job *)job;
	const char *number;

	if (sj->got == NULL &&
	    (sj->got = cl_view_lookup_id(ctx->st, sj->customer_id, sj->history, sj->call_id, sj->err)) == NULL)
		return;
	if (sj->id != 0 || cl_store_get_call(ctx->st, sj->call_id, &sj->call, sj->err) != 1)
		return;
	sj->have_call = 1;
	number = sj->call.direction == CL_DIR_OUTBOUND ? sj->call.to : sj->call.from;
	sj->lookup = cl_view_lookup_raw(ctx->st, &sj->rules, number, 0, NULL, sj->err);
}

static void
select_done(struct cl_job *job, int status)
{
	struct select_job *sj = (struct select_job *)job;
	struct cl_pops *p = sj->p;
	struct cl_live_call *c;
	struct popctx *x;

	if (status == CL_JOB_RAN && sj->got == NULL && sj->err[0])
		log_warnx("msg=\"customer lookup failed\" call_id=\"%s\" error=\"%s\"", sj->call_id, sj->err);
	if (status != CL_JOB_RAN || sj->got == NULL) {
		/* nothing to show: the pops that waited for it go as they are */
	} else if (sj->id == 0) {
		if (sj->have_call)
			pops_record_pop(p, &sj->call, sj->lookup, sj->got, sj->agent);
		else
			json_decref(sj->got);
		sj->lookup = NULL;
		sj->got = NULL;
	} else if ((c = cl_live_get(p->live, sj->call_id)) != NULL && (x = c->ctx) != NULL && x->lookup_id == sj->id) {
		x->lookup_id = 0;
		pops_customer_apply(p, x, sj->got, -1);
		sj->got = NULL;
	}
	if (sj->id != 0 && (c = cl_live_get(p->live, sj->call_id)) != NULL && (x = c->ctx) != NULL &&
	    x->lookup_id == sj->id) {
		x->lookup_id = 0; /* failed: the waiting pops go without */
		if (x->ndeferred > 0)
			pops_flush_deferred(p, x);
	}
	json_decref(sj->got);
	json_decref(sj->lookup);
	cl_call_clear(&sj->call);
	free(sj);
}

void
pops_select_submit(struct cl_pops *p, struct popctx *x, const struct cl_event *ev, json_t *got)
{
	struct select_job *sj = calloc(1, sizeof(*sj));
	char err[CL_ERR_LEN] = "out of memory";

	if (sj == NULL)
		goto fail;
	sj->job.run = select_run;
	sj->job.done = select_done;
	sj->p = p;
	sj->got = got;
	sj->rules = p->srv->numbers;
	sj->history = p->srv->cfg.pops_history;
	snprintf(sj->call_id, sizeof(sj->call_id), "%s", ev->call_id);
	snprintf(sj->customer_id, sizeof(sj->customer_id), "%s", ev->customer_id ? ev->customer_id : "");
	snprintf(sj->agent, sizeof(sj->agent), "%s", ev->agent ? ev->agent : "");
	if (x != NULL)
		sj->id = ++p->lookups; /* the call's pops now wait for the chosen customer, not the caller's lookup */
	if (cl_workers_submit(p->srv->workers, &sj->job, CL_JOB_HIGH, err) < 0)
		goto fail;
	if (x != NULL)
		x->lookup_id = sj->id;
	return;
fail:
	free(sj);
	json_decref(got);
	p->srv->m.lookups_refused++;
	log_warnx("msg=\"chosen customer not shown: not looked up\" call_id=\"%s\" error=\"%s\"", ev->call_id, err);
}

/* pops_lookups_free() : the backlog's jobs (the workers stopped first: every other job is done). */
void
pops_lookups_free(struct cl_pops *p)
{
	while (p->backlog) {
		struct lookup_job *lj = p->backlog;
		p->backlog = lj->next_wait;
		free(lj->sharers);
		free(lj);
	}
}
