/* reports.h : runs a §10 report against the store: reads what the report's
 * kind needs in one snapshot and feeds it to the report (report.h). Blocks on
 * the database: call it from a worker thread or a tool, never the event loop. */
#ifndef CALLOGD_REPORTS_H
#define CALLOGD_REPORTS_H

#include <stdint.h>

#include "callogd/report.h"
#include "callogd/store.h"

/*
 * cl_reports_run() : fills r from st. An agent's last known state runs to
 * now_ms (or the end of the range, whichever is first). 0, or -1 with err.
 */
int cl_reports_run(struct cl_store *st, struct cl_report *r, int64_t now_ms, char *err);

#endif
