/* crm.h : the external CRM lookup on the event loop (docs/crm.md): one
 * request per number at a time over httpc, a cache of hits and misses, a cap
 * on requests in flight with waiters that give up at their deadline, and a
 * circuit breaker. */
#ifndef CALLOGD_CRM_H
#define CALLOGD_CRM_H

#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "callogd/config.h"
#include "callogd/metrics.h"
#include "callogd/util.h"

#define CL_CRM_CACHE_MAX 10000    /* numbers cached */
#define CL_CRM_WAITING_MAX 4096   /* lookups waiting for a free slot */
#define CL_CRM_BREAKER_FAILURES 5 /* failures in a row that open the breaker */
#define CL_CRM_BREAKER_SECONDS 30 /* how long it stays open */

struct cl_crm;

/*
 * Called on the loop for each lookup that returned 0: contacts as
 * cl_crm_contacts() makes them (a reference the callee owns), or NULL when
 * the CRM failed, the lookup could not start in time, or the client closed.
 */
typedef void (*cl_crm_done_fn)(void *arg, const char *call_id, uint64_t id, json_t *contacts);

/* cl_crm_new() : a CRM client on base, counting into m; off until configured. NULL with err. */
struct cl_crm *cl_crm_new(struct event_base *base, struct cl_metrics *m, cl_crm_done_fn done, void *arg, char *err);
/*
 * cl_crm_configure() : takes cfg's crm settings (at start-up and on each
 * reload; requests in flight finish with the old ones). A change of URL,
 * headers or mapping empties the cache. -1 with err when the HTTP client
 * cannot start (the lookup is then off).
 */
int cl_crm_configure(struct cl_crm *c, const struct cl_config *cfg, char *err);
/* cl_crm_free() : ends every request without calling done. Accepts NULL. */
void cl_crm_free(struct cl_crm *c);

/*
 * cl_crm_lookup() : looks number (E.164) up for call_id's lookup id.
 * 1: answered from the cache (*cached set, a new reference; done not called);
 * 0: asked, or waiting for a slot until start_by_us (cl_mono_us), done called later;
 * -1: not asked (off, breaker open, too many waiting).
 */
int cl_crm_lookup(struct cl_crm *c, const char *number, const char *call_id, uint64_t id, int64_t start_by_us,
                  json_t **cached);
int cl_crm_enabled(const struct cl_crm *c);
/* 1 while the breaker is open. */
int cl_crm_breaker_open(const struct cl_crm *c);

#endif
