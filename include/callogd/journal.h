/* journal.h : what the writer journals for the webhooks (docs/crm.md): the
 * deliveries a call's new record causes, written into the outbox in the same
 * transaction as the events that caused them. */
#ifndef CALLOGD_JOURNAL_H
#define CALLOGD_JOURNAL_H

#include <stdint.h>

#include "callogd/calls.h"
#include "callogd/config.h"
#include "callogd/store.h"

struct cl_journal;

/* cl_journal_new() : no webhooks until cl_journal_set(); NULL on out of memory. */
struct cl_journal *cl_journal_new(void);
void cl_journal_free(struct cl_journal *j);
/* cl_journal_set() : from any thread (the loop, at start-up and reload): the webhooks to journal for. */
void cl_journal_set(struct cl_journal *j, const struct cl_webhook_cfg *hooks, int n);
/*
 * cl_journal_call() : in the writer's open transaction, with c's record as
 * it will be committed: for an ended call, each webhook's call.missed (an
 * inbound call abandoned or unanswered; once) and call.completed (due when
 * the wrap-up is in, else settle_seconds after the end; a later change is a
 * new revision). 1 when a delivery was added or changed, 0 when not, -1 with
 * err (the transaction fails).
 */
int cl_journal_call(struct cl_journal *j, struct cl_store *st, const struct cl_call *c, int64_t now_ms, char *err);

#endif
