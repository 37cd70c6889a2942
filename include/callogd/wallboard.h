/* wallboard.h : the supervisor's snapshot (GET /api/wallboard, docs/reports.md), read
 * from the store on a worker thread. */
#ifndef CALLOGD_WALLBOARD_H
#define CALLOGD_WALLBOARD_H

#include <stdint.h>

#include <jansson.h>

#include "callogd/store.h"
#include "callogd/tz.h"

struct cl_wallboard_params {
	const struct cl_tz *tz; /* "today" is this zone's day holding now_ms */
	int64_t now_ms;
	int64_t sla_ms, short_ms;
};

/*
 * cl_view_wallboard() : {"date","now","tz","sla_seconds",
 *   "queues":[{"queue","offered","answered","abandoned","short_abandoned",
 *              "service_level","asa_ms","waiting","longest_wait_ms"}],
 *   "agents":[{"id","name","state","reason","since","in_state_ms"}],
 *   "hours":[{"start","offered","answered","service_level"}]}
 * with today's figures as the queue report counts them; a new reference, or
 * NULL with err.
 */
json_t *cl_view_wallboard(struct cl_store *st, const struct cl_wallboard_params *w, char *err);

#endif
