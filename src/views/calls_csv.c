/* calls_csv.c : owns the call log as CSV (GET /api/calls?format=csv): the
 * docs/http-api.md record, one row per call, the columns a spreadsheet can take. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/csv.h"
#include "callogd/util.h"
#include "callogd/views.h"

static const char *const header[] = {
    "call_id",
    "direction",
    "from",
    "to",
    "queue",
    "agent",
    "agents",
    "customer_id",
    "offered_at",
    "answered_at",
    "ended_at",
    "wait_ms",
    "talk_ms",
    "hold_ms",
    "wrap_ms",
    "outcome",
    "end_reason",
    "disposition_code",
    "disposition_agent",
    "disposition_at",
    "disposition_notes",
};

struct rows {
	struct cl_csv_out *o;
	int64_t now_ms;
};

static void
put_time(struct cl_csv_out *o, int64_t ms)
{
	char buf[CL_TIME_LEN];

	if (ms == 0) {
		cl_csv_put(o, "");
		return;
	}
	cl_time_format(ms, buf);
	cl_csv_put(o, buf);
}

static int
add_row(void *arg, const struct cl_call *c)
{
	struct rows *r = arg;
	struct cl_csv_out *o = r->o;
	char agents[CL_CALL_MAX_AGENTS * (CL_ID_MAX + 1) + 1] = "";
	size_t n = 0;

	for (int i = 0; i < c->n_agents; i++)
		n += (size_t)snprintf(agents + n, sizeof(agents) - n, "%s%s", i ? ";" : "", c->agents[i]);
	cl_csv_put(o, c->call_id);
	cl_csv_put(o, c->direction == CL_DIR_OUTBOUND ? "outbound" : "inbound");
	cl_csv_put(o, c->from);
	cl_csv_put(o, c->to);
	cl_csv_put(o, c->queue);
	cl_csv_put(o, c->agent);
	cl_csv_put(o, agents);
	cl_csv_put(o, c->customer_id);
	put_time(o, c->offered_at);
	put_time(o, c->answered_at);
	put_time(o, c->ended_at);
	cl_csv_put_int(o, (long long)cl_call_wait_ms(c, r->now_ms));
	cl_csv_put_int(o, (long long)cl_call_talk_ms(c, r->now_ms));
	cl_csv_put_int(o, (long long)cl_call_hold_total_ms(c, r->now_ms));
	cl_csv_put_int(o, (long long)c->wrap_ms);
	cl_csv_put(o, cl_outcome_name(cl_call_outcome(c)));
	cl_csv_put(o, c->end_reason);
	cl_csv_put(o, c->disp_code);
	cl_csv_put(o, c->disp_code[0] ? c->disp_agent : "");
	put_time(o, c->disp_code[0] ? c->disp_at : 0);
	cl_csv_put(o, c->disp_notes != NULL ? c->disp_notes : "");
	cl_csv_end(o);
	return o->failed ? 1 : 0;
}

char *
cl_view_calls_csv(struct cl_store *st, const struct cl_call_filter *f, int64_t now_ms, size_t *len, char *err)
{
	struct cl_csv_out o = {0};
	struct rows r = {&o, now_ms};
	int rc;

	for (size_t i = 0; i < sizeof(header) / sizeof(header[0]); i++)
		cl_csv_put(&o, header[i]);
	cl_csv_end(&o);
	rc = cl_store_list_calls(st, f, add_row, &r, err);
	if (rc == 0 && o.failed)
		rc = 1;
	if (rc != 0) {
		if (rc > 0)
			snprintf(err, CL_ERR_LEN, "out of memory");
		free(o.p);
		return NULL;
	}
	*len = o.len;
	return o.p;
}
