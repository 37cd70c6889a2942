/* event.h : a call event parsed and validated from one NDJSON line (pure). */
#ifndef CALLOGD_EVENT_H
#define CALLOGD_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "callogd/numbers.h"

/* Bounds on every field from outside. */
#define CL_ID_MAX 128     /* call_id, id, agent, queue, code, reason, ... */
#define CL_NOTES_MAX 4096 /* disposition notes */
#define CL_PARTY_MAX 64   /* from/to before normalisation */

enum cl_event_type {
	CL_EV_OFFERED,
	CL_EV_QUEUED,
	CL_EV_RINGING,
	CL_EV_RING_ENDED,
	CL_EV_ANSWERED,
	CL_EV_HELD,
	CL_EV_RESUMED,
	CL_EV_TRANSFERRED,
	CL_EV_ENDED,
	CL_EV_DISPOSITION,
	CL_EV_CUSTOMER, /* customer.set: a call's customer chosen, a customer created (an extension) */
	CL_EV_AGENT_STATE,
	CL_EV__COUNT
};

/* Error codes of docs/events.md, in the order they are checked. */
enum cl_event_error {
	CL_EVERR_NONE = 0,
	CL_EVERR_BAD_JSON,     /* "bad_json": not JSON, not UTF-8, not an object */
	CL_EVERR_BAD_EVENT,    /* "bad_event": a field is missing, ill-typed or too long */
	CL_EVERR_UNKNOWN_TYPE, /* "unknown_type" */
	CL_EVERR_TOO_LONG,     /* "too_long": the line passed events.max_line */
	CL_EVERR_STORAGE,      /* "storage": not committed, send again */
	CL_EVERR_BAD_CODE,     /* "bad_code": a console's wrap-up code is not in dispositions.codes */
	CL_EVERR_FORBIDDEN,    /* "forbidden": a console's message for a call not its agent's */
	CL_EVERR_AUTH,         /* "auth" */
};

enum cl_direction { CL_DIR_INBOUND = 0, CL_DIR_OUTBOUND = 1 };

/*
 * A parsed event. Every string points into ev->buf (one allocation) or is NULL
 * when the field was absent. from/to hold the normalised number when it is one
 * (CL_NUMBER_OK), else the text as given ("anonymous"); from_kind/to_kind say which.
 */
struct cl_event {
	enum cl_event_type type;
	const char *id;      /* producer's event id, or NULL */
	const char *call_id; /* NULL only for agent.state and a customer.set without a call */
	int64_t ts;          /* ms since epoch: "ts", or the daemon's clock */
	const char *from, *to;
	int from_kind, to_kind; /* enum cl_number_result, -1 when absent */
	const char *queue;
	int direction;    /* enum cl_direction */
	const char *data; /* attached data (customer.set: the customer object): the object's JSON text as the line wrote
	                     it (not re-printed), or NULL */
	const char *agent;
	const char *to_agent;
	const char *reason; /* call.ended, call.ring_ended, agent.state */
	const char *by;     /* call.ended */
	const char *code;   /* call.disposition */
	const char *notes;  /* call.disposition */
	const char *state;  /* agent.state */
	const char *body;   /* the whole line as received, valid JSON (what the log keeps) */

	/* Filled by the daemon, not the parser. */
	int64_t received_at;     /* ms */
	int64_t seq;             /* set by the store when committed */
	const char *customer_id; /* call.customer's; else matched at offer time, pointing into ext */
	char *ext;               /* malloc'd storage for what the daemon adds, or NULL */
	int fresh;               /* no id, or its duplicate probe found it new: a store need not wait for its insert */

	char *buf; /* owns the strings above */
};

/* "call.offered" ... "agent.state" */
const char *cl_event_type_name(enum cl_event_type t);
/* "bad_json" ... "auth" */
const char *cl_event_error_name(enum cl_event_error e);

/*
 * cl_event_parse() : parses one line (len bytes, no newline) into ev. now_ms is
 * the daemon's clock, used when "ts" is absent. On failure returns the error,
 * leaves ev empty, fills msg (CL_ERR_LEN bytes) with a message naming the field,
 * and sets *id_out to a malloc'd copy of the event's "id" if one could be read
 * (for the error answer), else NULL. On success *id_out is NULL.
 */
enum cl_event_error cl_event_parse(const char *line, size_t len, int64_t now_ms, const struct cl_numbers *rules,
                                   struct cl_event *ev, char **id_out, char *msg);

/* cl_event_clear() : frees what ev owns and zeroes it; accepts a zeroed ev. */
void cl_event_clear(struct cl_event *ev);

#endif
