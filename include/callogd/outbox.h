/* outbox.h : webhook deliveries out of the outbox (docs/crm.md): a thread
 * with its own database connection picks the due deliveries and records each
 * try; the loop signs and POSTs them over httpc. Nothing here runs SQL on
 * the loop, and a slow receiver delays only its own webhook's deliveries. */
#ifndef CALLOGD_OUTBOX_H
#define CALLOGD_OUTBOX_H

#include <stdint.h>

#include "callogd/util.h"

#define CL_OUTBOX_PER_HOOK 64           /* deliveries of one webhook in flight at once */
#define CL_OUTBOX_POLL_MS 1000          /* due deliveries are looked for at least this often */
#define CL_OUTBOX_BACKOFF_MAX_MS 600000 /* 10 min between tries at most */

struct cl_server;
struct cl_outbox;

/*
 * cl_outbox_start() : opens its own connection to the database (already
 * migrated) and starts the thread; deliveries go out on srv's loop with the
 * webhooks of srv->cfg, read at each try. NULL with err.
 */
struct cl_outbox *cl_outbox_start(struct cl_server *srv, char *err);
struct cl_webhook_cfg;
/* cl_outbox_set_hooks() : on the loop after a reload: the webhooks whose deliveries are looked for. */
void cl_outbox_set_hooks(struct cl_outbox *o, const struct cl_webhook_cfg *hooks, int n);
/* cl_outbox_kick() : from any thread: deliveries may be due (a commit journaled some, a reload). */
void cl_outbox_kick(void *outbox);
/* cl_outbox_open() : unfinished deliveries (held or pending) at the last look; for the metrics. */
uint64_t cl_outbox_open(void *outbox);
/* cl_outbox_stop() : deliveries in flight are abandoned (they stay pending, tried again at the next start). */
void cl_outbox_stop(struct cl_outbox *o);

/*
 * cl_outbox_backoff_ms() : the wait before the next try after attempts
 * failed tries (1 s doubling, at most CL_OUTBOX_BACKOFF_MAX_MS), with jitter:
 * a value in [half, whole] of it, by rnd (0..1).
 */
int64_t cl_outbox_backoff_ms(int attempts, double rnd);

#endif
