/* report_int.h : the report's state, shared by report.c (figures) and
 * report_out.c (rendering); private to src/core. */
#ifndef CALLOGD_REPORT_INT_H
#define CALLOGD_REPORT_INT_H

#include <stdint.h>

#include "callogd/event.h"
#include "callogd/hmap.h"
#include "callogd/report.h"
#include "callogd/slots.h"

#define CL_REPORT_RECENT 256

/* One row: an interval (bucket; -1 for the totals) and a key. Every kind's sums live here. */
struct cl_report_row {
	int bucket;
	int has_k1;             /* 0: the null queue */
	char k1[CL_ID_MAX + 1]; /* queue or agent */
	char k2[CL_ID_MAX + 1]; /* disposition code */
	int is_disp;            /* a disposition row (else the queue row it shares) */
	int counted;            /* agents: something was counted */

	struct cl_slot_figs q; /* queues; dispositions: q.count */
	/* agents */
	int64_t rang, answered, missed, talk, hold, wrap, logged_in, ready, not_ready;
	int64_t *reasons; /* ms per reason, indexed as cl_report.reasons */
	int nreasons;
};

struct cl_report {
	struct cl_report_params p; /* queue/agent point at the copies below */
	char *queue_filter, *agent_filter;
	int64_t *bounds; /* nbuckets + 1 instants (ms): interval i is [bounds[i], bounds[i + 1]) */
	int nbuckets;
	struct cl_hmap *rows;
	struct cl_report_row
	    *recent[CL_REPORT_RECENT]; /* rows looked up lately, direct-mapped: most lookups end here */
	char *reasons[CL_REPORT_MAX_REASONS];
	int nreasons;
};

#endif
