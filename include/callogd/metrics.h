/* metrics.h : the daemon's counters and their Prometheus text exposition (a
 * leaf: modules count into struct cl_metrics; gauges are read through callbacks
 * their owners register). */
#ifndef CALLOGD_METRICS_H
#define CALLOGD_METRICS_H

#include <stdint.h>

#include "callogd/event.h"

struct evbuffer;

#define CL_HIST_BUCKETS 12
extern const double cl_hist_bounds[CL_HIST_BUCKETS]; /* seconds */

struct cl_hist {
	uint64_t counts[CL_HIST_BUCKETS + 1]; /* the last is +Inf */
	uint64_t n;
	double sum; /* seconds */
};
void cl_hist_observe(struct cl_hist *h, double seconds);

/* How one CRM lookup request ended (docs/crm.md). */
enum cl_crm_result {
	CL_CRM_HIT,       /* 2xx with at least one contact */
	CL_CRM_MISS,      /* 2xx with none, or 404 */
	CL_CRM_TIMEOUT,   /* crm.timeout_ms passed */
	CL_CRM_CONNECT,   /* name, connection or TLS failure */
	CL_CRM_STATUS,    /* any other status (5xx, 401, ...) */
	CL_CRM_BAD_BODY,  /* not JSON, or crm.list finds something else */
	CL_CRM_TOO_LARGE, /* more than crm.max_body */
	CL_CRM_ERROR,     /* anything else */
	CL_CRM__RESULTS
};

/* How one webhook try ended. */
enum cl_hook_result { CL_HOOK_DELIVERED, CL_HOOK_RETRIED, CL_HOOK_GAVE_UP, CL_HOOK__RESULTS };

enum cl_conn_kind { CL_CONN_EVENTS, CL_CONN_CONSOLE, CL_CONN_SSE, CL_CONN_HTTP, CL_CONN__COUNT };

/* A value owned by another module, read when the metrics are rendered. */
struct cl_gauge {
	const char *name, *help; /* static strings */
	uint64_t (*read)(void *arg);
	void *arg;
};
#define CL_METRICS_GAUGES 16

struct cl_metrics {
	uint64_t events[CL_EV__COUNT][3];   /* by type: accepted, duplicate, failed */
	uint64_t errors[CL_EVERR_AUTH + 1]; /* answers by error code */
	uint64_t pops, call_msgs, retracts;
	uint64_t pop_updates;       /* pops sent again when their call's lookup ended */
	uint64_t lookup_late;       /* calls whose pops went out before their lookup ended (pops.lookup_ms) */
	uint64_t lookups_refused;   /* lookups not started (worker queue full): their pops went without */
	uint64_t live_data_dropped; /* offers whose data was not kept: pops.data_memory was full */
	struct cl_hist pop_latency; /* event read -> pop written */
	struct cl_hist commit_time;
	uint64_t commits, committed_events;
	uint64_t connections[CL_CONN__COUNT]; /* open now */
	uint64_t accepted[CL_CONN__COUNT];
	uint64_t refused[CL_CONN__COUNT];
	uint64_t slow_consoles_dropped;
	uint64_t replay_skipped; /* messages not kept for replay: pops.replay_memory was full */
	uint64_t reloads, reload_failures;
	uint64_t crm_requests[CL_CRM__RESULTS];
	struct cl_hist crm_latency;
	uint64_t crm_cache_hits;    /* lookups answered from the cache (hits and misses) */
	uint64_t crm_not_started;   /* lookups that waited for a free slot past their pop's deadline */
	uint64_t crm_skipped;       /* lookups not made: the breaker was open, or too many waited */
	uint64_t crm_breaker_opens; /* times 5 failures in a row opened the breaker */
	uint64_t hook_deliveries[CL_HOOK__RESULTS];
	int64_t started_ms;
	struct cl_gauge gauges[CL_METRICS_GAUGES];
	int ngauges;
	/* Labelled series a module renders itself (the PBX links), or NULL. */
	void (*render_more)(void *arg, struct evbuffer *out);
	void *render_more_arg;
};

/*
 * cl_metrics_gauge() : registers a gauge read by read(arg) at each render;
 * name and help must outlive m. 0, or -1 when the table is full.
 */
int cl_metrics_gauge(struct cl_metrics *m, const char *name, const char *help, uint64_t (*read)(void *arg), void *arg);

/* cl_metrics_render() : the Prometheus text exposition of m into out. */
void cl_metrics_render(const struct cl_metrics *m, struct evbuffer *out);

#endif
