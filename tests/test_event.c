/* test_event.c : unit tests of the event parser (src/event.c). */
#include <stdlib.h>
#include <string.h>

#include "callogd/event.h"
#include "callogd/jsonscan.h"
#include "callogd/util.h"
#include "testutil.h"

#define NOW 1795000000000LL

static struct cl_numbers rules;
static struct cl_event ev;
static char *id_out;
static char msg[CL_ERR_LEN];

/* Parses line into the globals; the previous result is freed first. */
static enum cl_event_error
parse_n(const char *line, size_t len)
{
	cl_event_clear(&ev);
	free(id_out);
	id_out = NULL;
	return cl_event_parse(line, len, NOW, &rules, &ev, &id_out, msg);
}

static enum cl_event_error
parse(const char *line)
{
	return parse_n(line, strlen(line));
}

/* The message names the field: it contains "\"name\"". */
static int
names(const char *field)
{
	char q[64];

	snprintf(q, sizeof(q), "\"%s\"", field);
	return strstr(msg, q) != NULL;
}

#define BAD(line, field)                                                                                               \
	do {                                                                                                           \
		CHECK_INT(parse(line), CL_EVERR_BAD_EVENT);                                                            \
		CHECK(names(field));                                                                                   \
		if (!names(field))                                                                                     \
			fprintf(stderr, "  line %s\n  message %s\n", line, msg);                                       \
		CHECK(ev.buf == NULL && ev.call_id == NULL && ev.body == NULL);                                        \
	} while (0)

static void
test_names(void)
{
	CHECK_STR(cl_event_type_name(CL_EV_OFFERED), "call.offered");
	CHECK_STR(cl_event_type_name(CL_EV_QUEUED), "call.queued");
	CHECK_STR(cl_event_type_name(CL_EV_RINGING), "call.ringing");
	CHECK_STR(cl_event_type_name(CL_EV_ANSWERED), "call.answered");
	CHECK_STR(cl_event_type_name(CL_EV_HELD), "call.held");
	CHECK_STR(cl_event_type_name(CL_EV_RESUMED), "call.resumed");
	CHECK_STR(cl_event_type_name(CL_EV_TRANSFERRED), "call.transferred");
	CHECK_STR(cl_event_type_name(CL_EV_ENDED), "call.ended");
	CHECK_STR(cl_event_type_name(CL_EV_DISPOSITION), "call.disposition");
	CHECK_STR(cl_event_type_name(CL_EV_AGENT_STATE), "agent.state");
	CHECK_STR(cl_event_type_name(CL_EV__COUNT), "unknown");
	CHECK_STR(cl_event_error_name(CL_EVERR_BAD_JSON), "bad_json");
	CHECK_STR(cl_event_error_name(CL_EVERR_BAD_EVENT), "bad_event");
	CHECK_STR(cl_event_error_name(CL_EVERR_UNKNOWN_TYPE), "unknown_type");
	CHECK_STR(cl_event_error_name(CL_EVERR_TOO_LONG), "too_long");
	CHECK_STR(cl_event_error_name(CL_EVERR_STORAGE), "storage");
	CHECK_STR(cl_event_error_name(CL_EVERR_AUTH), "auth");
	CHECK_STR(cl_event_error_name(CL_EVERR_BAD_CODE), "bad_code");
	CHECK_STR(cl_event_error_name(CL_EVERR_FORBIDDEN), "forbidden");
	CHECK_STR(cl_event_type_name(CL_EV_RING_ENDED), "call.ring_ended");
	CHECK_STR(cl_event_type_name(CL_EV_CUSTOMER), "customer.set");
}

static void
test_offered(void)
{
	CHECK_INT(
	    parse("{\"type\":\"call.offered\",\"id\":\"e1\",\"call_id\":\"c-1\",\"ts\":\"2026-11-22T10:00:00.250Z\","
	          "\"from\":\"(555) 123-4567\",\"to\":\"+1 800 555 0100\",\"queue\":\"support\","
	          "\"data\":{\"ivr\":\"2\",\"lang\":\"en\"},\"extra\":[1,2]}"),
	    CL_EVERR_NONE);
	CHECK_INT(ev.type, CL_EV_OFFERED);
	CHECK_STR(ev.id, "e1");
	CHECK_STR(ev.call_id, "c-1");
	CHECK_INT(ev.ts, 1795341600250LL);
	CHECK_STR(ev.from, "+15551234567");
	CHECK_INT(ev.from_kind, CL_NUMBER_OK);
	CHECK_STR(ev.to, "+18005550100");
	CHECK_INT(ev.to_kind, CL_NUMBER_OK);
	CHECK_STR(ev.queue, "support");
	CHECK_INT(ev.direction, CL_DIR_INBOUND);
	CHECK_STR(ev.data, "{\"ivr\":\"2\",\"lang\":\"en\"}");
	CHECK(ev.agent == NULL && ev.to_agent == NULL && ev.reason == NULL && ev.notes == NULL);
	/* The whole event as received, unknown members kept. */
	CHECK_STR(ev.body, "{\"type\":\"call.offered\",\"id\":\"e1\",\"call_id\":\"c-1\","
	                   "\"ts\":\"2026-11-22T10:00:00.250Z\",\"from\":\"(555) 123-4567\",\"to\":\"+1 800 555 "
	                   "0100\",\"queue\":\"support\",\"data\":{\"ivr\":\"2\",\"lang\":\"en\"},\"extra\":[1,2]}");
	CHECK(id_out == NULL);
	/* Every string lives in the one buffer. */
	CHECK(ev.call_id >= ev.buf && ev.body >= ev.buf && ev.data >= ev.buf);

	/* No number: the text as given, and the kind says so. */
	CHECK_INT(parse("{\"type\":\"call.offered\",\"call_id\":\"c-2\",\"from\":\"anonymous\",\"to\":\"2001\","
	                "\"direction\":\"outbound\"}"),
	          CL_EVERR_NONE);
	CHECK_STR(ev.from, "anonymous");
	CHECK_INT(ev.from_kind, CL_NUMBER_NONE);
	CHECK_STR(ev.to, "2001");
	CHECK_INT(ev.to_kind, CL_NUMBER_OK);
	CHECK_INT(ev.direction, CL_DIR_OUTBOUND);
	CHECK_INT(ev.ts, NOW);
	CHECK(ev.id == NULL && ev.queue == NULL && ev.data == NULL);
	CHECK_INT(parse("{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"\",\"to\":\"sip:bob@example.com\"}"),
	          CL_EVERR_NONE);
	CHECK_STR(ev.from, "");
	CHECK_INT(ev.from_kind, CL_NUMBER_NONE);
	CHECK_STR(ev.to, "sip:bob@example.com");
	CHECK_INT(ev.to_kind, CL_NUMBER_INVALID);
	/* Optional members sent as null are absent. */
	CHECK_INT(parse("{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"1\",\"to\":\"2\",\"queue\":null,"
	                "\"direction\":null,\"data\":null,\"id\":null,\"ts\":null}"),
	          CL_EVERR_NONE);
	CHECK(ev.queue == NULL && ev.data == NULL && ev.id == NULL && ev.ts == NOW);
	CHECK_INT(ev.direction, CL_DIR_INBOUND);
	CHECK_INT(parse("{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"1\",\"to\":\"2\",\"data\":{}}"),
	          CL_EVERR_NONE);
	CHECK_STR(ev.data, "{}");

	BAD("{\"type\":\"call.offered\",\"call_id\":\"c\",\"to\":\"2\"}", "from");
	BAD("{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"2\"}", "to");
	BAD("{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":5551234,\"to\":\"2\"}", "from");
	BAD("{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":null,\"to\":\"2\"}", "from");
	BAD("{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"1\",\"to\":[\"2\"]}", "to");
	BAD("{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"1\",\"to\":\"2\",\"queue\":\"\"}", "queue");
	BAD("{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"1\",\"to\":\"2\",\"queue\":7}", "queue");
	BAD("{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"1\",\"to\":\"2\",\"direction\":\"sideways\"}",
	    "direction");
	BAD("{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"1\",\"to\":\"2\",\"direction\":1}", "direction");
	BAD("{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"1\",\"to\":\"2\",\"data\":[1]}", "data");
	BAD("{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"1\",\"to\":\"2\",\"data\":\"ivr=2\"}", "data");
	CHECK(strstr(msg, "object") != NULL);
}

static void
test_other_types(void)
{
	CHECK_INT(parse("{\"type\":\"call.queued\",\"call_id\":\"c\",\"queue\":\"sales\"}"), CL_EVERR_NONE);
	CHECK_INT(ev.type, CL_EV_QUEUED);
	CHECK_STR(ev.queue, "sales");
	BAD("{\"type\":\"call.queued\",\"call_id\":\"c\"}", "queue");

	CHECK_INT(parse("{\"type\":\"call.ringing\",\"call_id\":\"c\",\"agent\":\"a1\"}"), CL_EVERR_NONE);
	CHECK_INT(ev.type, CL_EV_RINGING);
	CHECK_STR(ev.agent, "a1");
	BAD("{\"type\":\"call.ringing\",\"call_id\":\"c\"}", "agent");
	BAD("{\"type\":\"call.ringing\",\"call_id\":\"c\",\"agent\":\"\"}", "agent");
	CHECK_STR(msg, "\"agent\" must be a string of 1 to 128 bytes");

	CHECK_INT(parse("{\"type\":\"call.answered\",\"call_id\":\"c\",\"agent\":\"a1\"}"), CL_EVERR_NONE);
	CHECK_INT(ev.type, CL_EV_ANSWERED);
	CHECK_STR(ev.agent, "a1");
	BAD("{\"type\":\"call.answered\",\"call_id\":\"c\",\"agent\":{}}", "agent");

	CHECK_INT(parse("{\"type\":\"call.held\",\"call_id\":\"c\"}"), CL_EVERR_NONE);
	CHECK_INT(ev.type, CL_EV_HELD);
	CHECK(ev.agent == NULL);
	CHECK_INT(parse("{\"type\":\"call.held\",\"call_id\":\"c\",\"agent\":\"a1\"}"), CL_EVERR_NONE);
	CHECK_STR(ev.agent, "a1");
	CHECK_INT(parse("{\"type\":\"call.resumed\",\"call_id\":\"c\",\"agent\":\"a1\"}"), CL_EVERR_NONE);
	CHECK_INT(ev.type, CL_EV_RESUMED);
	CHECK_STR(ev.agent, "a1");
	BAD("{\"type\":\"call.resumed\",\"call_id\":\"c\",\"agent\":true}", "agent");

	CHECK_INT(parse("{\"type\":\"call.transferred\",\"call_id\":\"c\",\"agent\":\"a1\",\"to_agent\":\"a2\"}"),
	          CL_EVERR_NONE);
	CHECK_INT(ev.type, CL_EV_TRANSFERRED);
	CHECK_STR(ev.agent, "a1");
	CHECK_STR(ev.to_agent, "a2");
	CHECK(ev.to == NULL);
	CHECK_INT(ev.to_kind, -1);
	CHECK_INT(parse("{\"type\":\"call.transferred\",\"call_id\":\"c\",\"agent\":\"a1\",\"to\":\"011 44 20 7946 "
	                "0958\"}"),
	          CL_EVERR_NONE);
	CHECK_STR(ev.to, "+442079460958");
	CHECK_INT(ev.to_kind, CL_NUMBER_OK);
	CHECK(ev.to_agent == NULL);
	BAD("{\"type\":\"call.transferred\",\"call_id\":\"c\",\"agent\":\"a1\"}", "to_agent");
	CHECK(names("to"));
	BAD("{\"type\":\"call.transferred\",\"call_id\":\"c\",\"agent\":\"a1\",\"to_agent\":null}", "to_agent");
	BAD("{\"type\":\"call.transferred\",\"call_id\":\"c\",\"to_agent\":\"a2\"}", "agent");
	BAD("{\"type\":\"call.transferred\",\"call_id\":\"c\",\"agent\":\"a1\",\"to_agent\":2}", "to_agent");
	BAD("{\"type\":\"call.transferred\",\"call_id\":\"c\",\"agent\":\"a1\",\"to\":2}", "to");

	CHECK_INT(parse("{\"type\":\"call.ended\",\"call_id\":\"c\"}"), CL_EVERR_NONE);
	CHECK_INT(ev.type, CL_EV_ENDED);
	CHECK(ev.reason == NULL && ev.by == NULL);
	const char *reasons[] = {"completed", "abandoned", "busy", "no_answer", "failed"};
	for (int i = 0; i < 5; i++) {
		char line[128];
		snprintf(line, sizeof(line), "{\"type\":\"call.ended\",\"call_id\":\"c\",\"reason\":\"%s\"}",
		         reasons[i]);
		CHECK_INT(parse(line), CL_EVERR_NONE);
		CHECK_STR(ev.reason, reasons[i]);
	}
	const char *bys[] = {"caller", "agent", "system"};
	for (int i = 0; i < 3; i++) {
		char line[128];
		snprintf(line, sizeof(line), "{\"type\":\"call.ended\",\"call_id\":\"c\",\"by\":\"%s\"}", bys[i]);
		CHECK_INT(parse(line), CL_EVERR_NONE);
		CHECK_STR(ev.by, bys[i]);
	}
	BAD("{\"type\":\"call.ended\",\"call_id\":\"c\",\"reason\":\"hungup\"}", "reason");
	CHECK_STR(msg, "\"reason\" must be one of completed, abandoned, busy, no_answer, failed, lost");
	/* lost: a PBX link lost track of the call (docs/pbx.md). */
	CHECK_INT(parse("{\"type\":\"call.ended\",\"call_id\":\"c\",\"reason\":\"lost\"}"), CL_EVERR_NONE);
	BAD("{\"type\":\"call.ended\",\"call_id\":\"c\",\"reason\":1}", "reason");
	BAD("{\"type\":\"call.ended\",\"call_id\":\"c\",\"by\":\"nobody\"}", "by");
	BAD("{\"type\":\"call.ended\",\"call_id\":\"c\",\"by\":\"Caller\"}", "by");

	CHECK_INT(parse("{\"type\":\"call.disposition\",\"call_id\":\"c\",\"agent\":\"a1\",\"code\":\"billing\","
	                "\"notes\":\"refund \\\"asked\\\"\\n\"}"),
	          CL_EVERR_NONE);
	CHECK_INT(ev.type, CL_EV_DISPOSITION);
	CHECK_STR(ev.agent, "a1");
	CHECK_STR(ev.code, "billing");
	CHECK_STR(ev.notes, "refund \"asked\"\n");
	CHECK_INT(
	    parse("{\"type\":\"call.disposition\",\"call_id\":\"c\",\"agent\":\"a1\",\"code\":\"x\",\"notes\":\"\"}"),
	    CL_EVERR_NONE);
	CHECK_STR(ev.notes, "");
	BAD("{\"type\":\"call.disposition\",\"call_id\":\"c\",\"code\":\"x\"}", "agent");
	BAD("{\"type\":\"call.disposition\",\"call_id\":\"c\",\"agent\":\"a1\"}", "code");
	BAD("{\"type\":\"call.disposition\",\"call_id\":\"c\",\"agent\":\"a1\",\"code\":\"x\",\"notes\":5}", "notes");

	CHECK_INT(parse("{\"type\":\"agent.state\",\"agent\":\"a1\",\"state\":\"not_ready\",\"reason\":\"lunch\"}"),
	          CL_EVERR_NONE);
	CHECK_INT(ev.type, CL_EV_AGENT_STATE);
	CHECK(ev.call_id == NULL);
	CHECK_STR(ev.agent, "a1");
	CHECK_STR(ev.state, "not_ready");
	CHECK_STR(ev.reason, "lunch");
	const char *states[] = {"logged_in", "ready", "not_ready", "logged_out"};
	for (int i = 0; i < 4; i++) {
		char line[128];
		snprintf(line, sizeof(line), "{\"type\":\"agent.state\",\"agent\":\"a\",\"state\":\"%s\"}", states[i]);
		CHECK_INT(parse(line), CL_EVERR_NONE);
		CHECK_STR(ev.state, states[i]);
		CHECK(ev.reason == NULL);
	}
	CHECK_INT(parse("{\"type\":\"call.ring_ended\",\"call_id\":\"c\",\"agent\":\"a1\",\"reason\":\"busy\"}"),
	          CL_EVERR_NONE);
	CHECK_INT(ev.type, CL_EV_RING_ENDED);
	CHECK_STR(ev.reason, "busy");
	BAD("{\"type\":\"call.ring_ended\",\"call_id\":\"c\",\"agent\":\"a1\",\"reason\":\"lunch\"}", "reason");
	BAD("{\"type\":\"call.ring_ended\",\"call_id\":\"c\"}", "agent");
	CHECK_INT(parse("{\"type\":\"customer.set\",\"call_id\":\"c\",\"customer_id\":\"C-1\",\"agent\":\"a1\"}"),
	          CL_EVERR_NONE);
	CHECK_INT(ev.type, CL_EV_CUSTOMER);
	CHECK_STR(ev.customer_id, "C-1");
	CHECK(ev.data == NULL);
	CHECK_INT(parse("{\"type\":\"customer.set\",\"customer_id\":\"C-2\",\"customer\":{\"name\":\"G\"}}"),
	          CL_EVERR_NONE);
	CHECK(ev.call_id == NULL);
	CHECK_STR(ev.data, "{\"name\":\"G\"}");
	BAD("{\"type\":\"customer.set\",\"call_id\":\"c\"}", "customer_id");
	BAD("{\"type\":\"customer.set\",\"customer_id\":\"C\",\"customer\":[1]}", "customer");
	BAD("{\"type\":\"agent.state\",\"agent\":\"a1\"}", "state");
	BAD("{\"type\":\"agent.state\",\"agent\":\"a1\",\"state\":\"away\"}", "state");
	BAD("{\"type\":\"agent.state\",\"state\":\"ready\"}", "agent");
	BAD("{\"type\":\"agent.state\",\"agent\":\"a1\",\"state\":\"ready\",\"reason\":3}", "reason");
}

static void
test_common(void)
{
	/* type */
	BAD("{\"call_id\":\"c\"}", "type");
	BAD("{\"type\":7,\"call_id\":\"c\"}", "type");
	BAD("{\"type\":null}", "type");
	CHECK_INT(parse("{\"type\":\"call.exploded\",\"call_id\":\"c\"}"), CL_EVERR_UNKNOWN_TYPE);
	CHECK(strstr(msg, "call.exploded") != NULL);
	/* hello belongs to the connection layer, not here. */
	CHECK_INT(parse("{\"type\":\"hello\",\"token\":\"x\"}"), CL_EVERR_UNKNOWN_TYPE);
	CHECK(strstr(msg, "hello") != NULL);
	CHECK_INT(parse("{\"type\":\"Call.Offered\",\"call_id\":\"c\",\"from\":\"1\",\"to\":\"2\"}"),
	          CL_EVERR_UNKNOWN_TYPE);
	{
		/* A huge unknown type is echoed truncated. */
		char line[1200];
		int n = snprintf(line, sizeof(line), "{\"type\":\"");
		for (int i = 0; i < 1000; i++)
			line[n++] = 'x';
		snprintf(line + n, sizeof(line) - n, "\"}");
		CHECK_INT(parse(line), CL_EVERR_UNKNOWN_TYPE);
		CHECK(strlen(msg) < 100);
	}
	{
		/* Truncation never splits a UTF-8 sequence (the message goes into JSON). */
		char line[400];
		int n = snprintf(line, sizeof(line), "{\"type\":\"x");
		for (int i = 0; i < 60; i++)
			n += snprintf(line + n, sizeof(line) - n, "\xc3\xa9");
		snprintf(line + n, sizeof(line) - n, "\"}");
		CHECK_INT(parse(line), CL_EVERR_UNKNOWN_TYPE);
		CHECK(cl_utf8_valid(msg, strlen(msg)));
	}

	/* call_id */
	BAD("{\"type\":\"call.ended\"}", "call_id");
	BAD("{\"type\":\"call.ended\",\"call_id\":\"\"}", "call_id");
	BAD("{\"type\":\"call.ended\",\"call_id\":42}", "call_id");
	BAD("{\"type\":\"call.ended\",\"call_id\":null}", "call_id");

	/* id: optional, and returned with any error once it could be read. */
	BAD("{\"type\":\"call.ended\",\"id\":7,\"call_id\":\"c\"}", "id");
	CHECK(id_out == NULL);
	BAD("{\"type\":\"call.ended\",\"id\":\"\",\"call_id\":\"c\"}", "id");
	BAD("{\"type\":\"call.ringing\",\"id\":\"e-9\",\"call_id\":\"c\"}", "agent");
	CHECK_STR(id_out, "e-9");
	CHECK_INT(parse("{\"type\":\"nope\",\"id\":\"e-10\"}"), CL_EVERR_UNKNOWN_TYPE);
	CHECK_STR(id_out, "e-10");
	BAD("{\"id\":\"e-11\"}", "type");
	CHECK_STR(id_out, "e-11");
	BAD("{\"type\":\"call.ended\",\"id\":\"e-12\",\"call_id\":\"c\",\"ts\":\"yesterday\"}", "ts");
	CHECK_STR(id_out, "e-12");
	CHECK_INT(parse("{\"type\":\"call.ended\",\"id\":\"e-13\",\"call_id\":\"c\"}"), CL_EVERR_NONE);
	CHECK(id_out == NULL);
	CHECK_STR(ev.id, "e-13");
	CHECK_INT(parse("{\"id\":\"e-14\",\"type\":"), CL_EVERR_BAD_JSON);
	CHECK(id_out == NULL);

	/* ts */
	CHECK_INT(parse("{\"type\":\"call.ended\",\"call_id\":\"c\",\"ts\":\"2026-11-22T10:00:00Z\"}"), CL_EVERR_NONE);
	CHECK_INT(ev.ts, 1795341600000LL);
	CHECK_INT(parse("{\"type\":\"call.ended\",\"call_id\":\"c\",\"ts\":\"2026-11-22T11:30:00.5+01:30\"}"),
	          CL_EVERR_NONE);
	CHECK_INT(ev.ts, 1795341600500LL);
	CHECK_INT(parse("{\"type\":\"call.ended\",\"call_id\":\"c\",\"ts\":\"2026-11-22T05:00:00.123456-05:00\"}"),
	          CL_EVERR_NONE);
	CHECK_INT(ev.ts, 1795341600123LL);
	BAD("{\"type\":\"call.ended\",\"call_id\":\"c\",\"ts\":1795341600}", "ts");
	BAD("{\"type\":\"call.ended\",\"call_id\":\"c\",\"ts\":\"2026-11-22\"}", "ts");
	BAD("{\"type\":\"call.ended\",\"call_id\":\"c\",\"ts\":\"2026-11-22T10:00:00\"}", "ts");
	BAD("{\"type\":\"call.ended\",\"call_id\":\"c\",\"ts\":\"2026-02-30T10:00:00Z\"}", "ts");
	BAD("{\"type\":\"call.ended\",\"call_id\":\"c\",\"ts\":\"1969-12-31T23:59:59Z\"}", "ts");
	BAD("{\"type\":\"call.ended\",\"call_id\":\"c\",\"ts\":\"1970-01-01T00:00:00Z\"}", "ts");
	BAD("{\"type\":\"call.ended\",\"call_id\":\"c\",\"ts\":\"2026-11-22T10:00:00Zjunk\"}", "ts");
}

static void
test_bounds(void)
{
	char big[CL_NOTES_MAX + 512], s128[CL_ID_MAX + 2], s129[CL_ID_MAX + 2], s64[CL_PARTY_MAX + 2],
	    s65[CL_PARTY_MAX + 2];

	memset(s128, 'a', CL_ID_MAX);
	s128[CL_ID_MAX] = '\0';
	memset(s129, 'a', CL_ID_MAX + 1);
	s129[CL_ID_MAX + 1] = '\0';
	/* Digits with spaces: a number up to the party limit that still normalises. */
	memset(s64, ' ', CL_PARTY_MAX);
	memcpy(s64, "5551234567", 10);
	s64[CL_PARTY_MAX] = '\0';
	memset(s65, ' ', CL_PARTY_MAX + 1);
	memcpy(s65, "5551234567", 10);
	s65[CL_PARTY_MAX + 1] = '\0';

	const char *idfields[] = {"call_id", "id", "agent", "queue"};
	for (int i = 0; i < 4; i++) {
		const char *f = idfields[i];
		const char *fmt = i == 3 ? "{\"type\":\"call.queued\",\"call_id\":\"c\",\"%s\":\"%s\"}"
		                  : i == 2
		                      ? "{\"type\":\"call.ringing\",\"call_id\":\"c\",\"%s\":\"%s\"}"
		                      : "{\"type\":\"call.answered\",\"call_id\":\"c\",\"agent\":\"a\",\"%s\":\"%s\"}";
		/* call_id given twice would be a duplicate key: rebuild without the default one. */
		if (i == 0)
			fmt = "{\"type\":\"call.answered\",\"agent\":\"a\",\"%s\":\"%s\"}";
		snprintf(big, sizeof(big), fmt, f, s128);
		CHECK_INT(parse(big), CL_EVERR_NONE);
		snprintf(big, sizeof(big), fmt, f, s129);
		BAD(big, f);
		CHECK(strstr(msg, "1 to 128 bytes") != NULL);
	}
	snprintf(big, sizeof(big), "{\"type\":\"call.disposition\",\"call_id\":\"c\",\"agent\":\"a\",\"code\":\"%s\"}",
	         s128);
	CHECK_INT(parse(big), CL_EVERR_NONE);
	CHECK_INT(strlen(ev.code), CL_ID_MAX);
	snprintf(big, sizeof(big), "{\"type\":\"call.disposition\",\"call_id\":\"c\",\"agent\":\"a\",\"code\":\"%s\"}",
	         s129);
	BAD(big, "code");
	snprintf(big, sizeof(big),
	         "{\"type\":\"call.transferred\",\"call_id\":\"c\",\"agent\":\"a\",\"to_agent\":\"%s\"}", s129);
	BAD(big, "to_agent");
	snprintf(big, sizeof(big), "{\"type\":\"agent.state\",\"agent\":\"a\",\"state\":\"ready\",\"reason\":\"%s\"}",
	         s129);
	BAD(big, "reason");

	snprintf(big, sizeof(big), "{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"%s\",\"to\":\"%s\"}", s64,
	         s64);
	CHECK_INT(parse(big), CL_EVERR_NONE);
	CHECK_STR(ev.from, "+15551234567");
	snprintf(big, sizeof(big), "{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"%s\",\"to\":\"1\"}", s65);
	BAD(big, "from");
	CHECK_STR(msg, "\"from\" must be a string of at most 64 bytes");
	snprintf(big, sizeof(big), "{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"1\",\"to\":\"%s\"}", s65);
	BAD(big, "to");

	/* Bytes, not characters: 64 two-byte characters are 128 bytes. */
	{
		char u[CL_ID_MAX * 2 + 8], line[600];
		size_t n = 0;
		for (int i = 0; i < 64; i++)
			n += (size_t)snprintf(u + n, sizeof(u) - n, "\xc3\xa9");
		snprintf(line, sizeof(line), "{\"type\":\"call.ringing\",\"call_id\":\"c\",\"agent\":\"%s\"}", u);
		CHECK_INT(parse(line), CL_EVERR_NONE);
		snprintf(line, sizeof(line), "{\"type\":\"call.ringing\",\"call_id\":\"c\",\"agent\":\"%sx\"}", u);
		BAD(line, "agent");
	}

	/* notes: 4096 bytes fit, 4097 do not. */
	{
		char *line = malloc(CL_NOTES_MAX + 256), *notes = malloc(CL_NOTES_MAX + 2);
		memset(notes, 'n', CL_NOTES_MAX + 1);
		notes[CL_NOTES_MAX] = '\0';
		snprintf(
		    line, CL_NOTES_MAX + 256,
		    "{\"type\":\"call.disposition\",\"call_id\":\"c\",\"agent\":\"a\",\"code\":\"x\",\"notes\":\"%s\"}",
		    notes);
		CHECK_INT(parse(line), CL_EVERR_NONE);
		CHECK_INT(strlen(ev.notes), CL_NOTES_MAX);
		notes[CL_NOTES_MAX] = 'n';
		notes[CL_NOTES_MAX + 1] = '\0';
		snprintf(
		    line, CL_NOTES_MAX + 256,
		    "{\"type\":\"call.disposition\",\"call_id\":\"c\",\"agent\":\"a\",\"code\":\"x\",\"notes\":\"%s\"}",
		    notes);
		BAD(line, "notes");
		CHECK(strstr(msg, "4096") != NULL);
		free(line);
		free(notes);
	}
	/* Escapes count after decoding: 4096 "\n" are 8192 bytes of JSON but 4096 of notes. */
	{
		char *line = malloc(3 * CL_NOTES_MAX);
		int n = snprintf(
		    line, 3 * CL_NOTES_MAX,
		    "{\"type\":\"call.disposition\",\"call_id\":\"c\",\"agent\":\"a\",\"code\":\"x\",\"notes\":\"");
		for (int i = 0; i < CL_NOTES_MAX; i++)
			line[n++] = '\\', line[n++] = 'n';
		snprintf(line + n, 3 * CL_NOTES_MAX - n, "\"}");
		CHECK_INT(parse(line), CL_EVERR_NONE);
		CHECK_INT(strlen(ev.notes), CL_NOTES_MAX);
		free(line);
	}
}

static void
test_bad_json(void)
{
	const char *bad[] = {
	    "",
	    "   ",
	    "{",
	    "{\"type\":\"call.ended\",\"call_id\":\"c\"",
	    "{\"type\":\"call.ended\",\"call_id\":\"c\"}}",
	    "{\"type\":\"call.ended\",\"call_id\":\"c\"} {}",
	    "{type:\"call.ended\"}",
	    "{'type':'call.ended'}",
	    "{\"type\":\"call.ended\",\"call_id\":\"c\",}",
	    "{\"type\":\"call.ended\",\"type\":\"call.ended\",\"call_id\":\"c\"}", /* duplicate key */
	    "{\"type\":\"call.ended\",\"call_id\":\"c\\u0000d\"}",                 /* NUL in a string */
	    "{\"type\":\"call.ended\",\"call_id\":\"\\ud800\"}",                   /* lone surrogate */
	    "{\"type\":\"call.ended\",\"call_id\":\"c\",\"n\":NaN}",
	    "{\"type\":\"call.ended\",\"call_id\":\"c\",\"n\":123456789012345678901234567890}",
	    "\xef\xbb\xbf{\"type\":\"call.ended\",\"call_id\":\"c\"}", /* BOM */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(parse(bad[i]), CL_EVERR_BAD_JSON);
		CHECK(msg[0] != '\0' && cl_utf8_valid(msg, strlen(msg)));
		CHECK(ev.buf == NULL);
	}
	/* Not an object. */
	const char *notobj[] = {"[]",  "[{\"type\":\"call.ended\",\"call_id\":\"c\"}]", "\"call.ended\"", "42", "null",
	                        "true"};
	for (size_t i = 0; i < sizeof(notobj) / sizeof(notobj[0]); i++) {
		CHECK_INT(parse(notobj[i]), CL_EVERR_BAD_JSON);
		CHECK(strstr(msg, "object") != NULL);
	}
	/* Invalid UTF-8, raw: overlong, truncated, stray continuation, raw surrogate, NUL byte. */
	const char *utf[] = {
	    "{\"type\":\"call.ended\",\"call_id\":\"\xc0\xaf\"}",
	    "{\"type\":\"call.ended\",\"call_id\":\"\xe2\x82\"}",
	    "{\"type\":\"call.ended\",\"call_id\":\"\x80\"}",
	    "{\"type\":\"call.ended\",\"call_id\":\"\xed\xa0\x80\"}",
	    "{\"type\":\"call.ended\",\"call_id\":\"\xff\"}",
	};
	for (size_t i = 0; i < sizeof(utf) / sizeof(utf[0]); i++) {
		CHECK_INT(parse(utf[i]), CL_EVERR_BAD_JSON);
		CHECK(cl_utf8_valid(msg, strlen(msg)));
	}
	{
		const char nul[] = "{\"type\":\"call.ended\",\"call_id\":\"c\"}\0garbage";
		CHECK_INT(parse_n(nul, sizeof(nul) - 1), CL_EVERR_BAD_JSON);
		const char nul2[] = "{\"type\":\"call.ended\",\"call_id\":\"c\0d\"}";
		CHECK_INT(parse_n(nul2, sizeof(nul2) - 1), CL_EVERR_BAD_JSON);
	}
	/* Valid multibyte text passes and is kept as is. */
	CHECK_INT(
	    parse(
	        "{\"type\":\"call.ringing\",\"call_id\":\"\xe6\x97\xa5-\xf0\x9f\x93\x9e\",\"agent\":\"Ren\xc3\xa9\"}"),
	    CL_EVERR_NONE);
	CHECK_STR(ev.call_id, "\xe6\x97\xa5-\xf0\x9f\x93\x9e");
	CHECK_STR(ev.agent, "Ren\xc3\xa9");
	CHECK_INT(parse("{\"type\":\"call.ringing\",\"call_id\":\"\\u00e9\",\"agent\":\"a\"}"), CL_EVERR_NONE);
	CHECK_STR(ev.call_id, "\xc3\xa9");

	/* Nested garbage: deep nesting is refused, not a stack overflow. */
	{
		size_t depth = 30000, n = 0;
		char *line = malloc(2 * depth + 64);
		n += (size_t)sprintf(line, "{\"type\":\"call.ended\",\"call_id\":\"c\",\"x\":");
		for (size_t i = 0; i < depth; i++)
			line[n++] = '[';
		for (size_t i = 0; i < depth; i++)
			line[n++] = ']';
		line[n++] = '}';
		CHECK_INT(parse_n(line, n), CL_EVERR_BAD_JSON);
		free(line);
	}
	/* Moderate nesting in extra members and data is kept. */
	CHECK_INT(parse("{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"1\",\"to\":\"2\","
	                "\"data\":{\"a\":{\"b\":[1,{\"c\":null}],\"d\":1.5}},\"x\":{\"y\":[[[]]]}}"),
	          CL_EVERR_NONE);
	CHECK_STR(ev.data, "{\"a\":{\"b\":[1,{\"c\":null}],\"d\":1.5}}");
	/* Reals that print longer than written still fit the one buffer. */
	{
		char line[4096];
		int n = snprintf(line, sizeof(line),
		                 "{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"1\",\"to\":\"2\","
		                 "\"data\":{\"r\":[");
		for (int i = 0; i < 300; i++)
			n += snprintf(line + n, sizeof(line) - n, "%s0.1", i ? "," : "");
		snprintf(line + n, sizeof(line) - n, "]}}");
		CHECK_INT(parse(line), CL_EVERR_NONE);
		CHECK(ev.data != NULL && strlen(ev.data) > 1000);
		CHECK_STR(ev.body, line);
		CHECK_STR(ev.call_id, "c");
	}
}

/* What jansson accepted and refused at the edges, which the scanner that replaced it must match. */
static void
test_scanner_edges(void)
{
	/* Keys are compared unescaped, for lookup and for duplicates. */
	CHECK_INT(parse("{\"\\u0074ype\":\"call.ringing\",\"call_\\u0069d\":\"c\",\"agent\":\"\\ud83d\\udcde\"}"),
	          CL_EVERR_NONE);
	CHECK_STR(ev.call_id, "c");
	CHECK_STR(ev.agent, "\xf0\x9f\x93\x9e");
	CHECK_INT(parse("{\"type\":\"call.ended\",\"call_id\":\"c\",\"x\":1,\"\\u0078\":2}"), CL_EVERR_BAD_JSON);
	/* Duplicates are refused at any depth, as jansson did. */
	CHECK_INT(parse("{\"type\":\"call.ended\",\"call_id\":\"c\",\"x\":[{\"a\":1,\"b\":{},\"a\":2}]}"),
	          CL_EVERR_BAD_JSON);
	CHECK_INT(parse("{\"type\":\"call.ended\",\"call_id\":\"c\",\"x\":{\"a\":{\"a\":1}},\"a\":{\"x\":2}}"),
	          CL_EVERR_NONE);
	/* Integers within int64, reals short of overflow. */
	CHECK_INT(parse("{\"type\":\"call.ended\",\"call_id\":\"c\",\"a\":9223372036854775807,"
	                "\"b\":-9223372036854775808,\"c\":1.7976931348623157e308,\"d\":1e-999}"),
	          CL_EVERR_NONE);
	CHECK_INT(parse("{\"type\":\"call.ended\",\"call_id\":\"c\",\"a\":9223372036854775808}"), CL_EVERR_BAD_JSON);
	CHECK_INT(parse("{\"type\":\"call.ended\",\"call_id\":\"c\",\"a\":-9223372036854775809}"), CL_EVERR_BAD_JSON);
	/* DBL_MAX's halfway point to the next power is 1.7976931348623158079372897...e308. */
	CHECK_INT(parse("{\"type\":\"call.ended\",\"call_id\":\"c\",\"a\":1.797693134862315807937e308}"),
	          CL_EVERR_NONE);
	CHECK_INT(parse("{\"type\":\"call.ended\",\"call_id\":\"c\",\"a\":1.797693134862315807938e308}"),
	          CL_EVERR_BAD_JSON);
	CHECK_INT(parse("{\"type\":\"call.ended\",\"call_id\":\"c\",\"a\":0.000179769313486231580793729e312}"),
	          CL_EVERR_BAD_JSON);
	CHECK_INT(parse("{\"type\":\"call.ended\",\"call_id\":\"c\",\"a\":-1e309}"), CL_EVERR_BAD_JSON);
	CHECK_INT(parse("{\"type\":\"call.ended\",\"call_id\":\"c\",\"a\":01}"), CL_EVERR_BAD_JSON);
	CHECK(strncmp(msg, "invalid JSON at byte ", 21) == 0);
	/* jansson's depth limit: a value may sit 2048 deep, counting itself. */
	{
		char *line = malloc(2 * CL_JSON_MAX_DEPTH + 64);
		for (int extra = 0; extra < 2; extra++) {
			size_t n = (size_t)sprintf(line, "{\"type\":\"call.ended\",\"call_id\":\"c\",\"x\":");
			size_t arrays = CL_JSON_MAX_DEPTH - 2 + (size_t)extra;
			for (size_t i = 0; i < arrays; i++)
				line[n++] = '[';
			line[n++] = '1';
			for (size_t i = 0; i < arrays; i++)
				line[n++] = ']';
			line[n++] = '}';
			CHECK_INT(parse_n(line, n), extra ? CL_EVERR_BAD_JSON : CL_EVERR_NONE);
		}
		free(line);
	}
	/* data is kept as written, spaces and escapes included. */
	CHECK_INT(parse("{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"1\",\"to\":\"2\","
	                "\"data\" : { \"ivr\" : \"\\u00e9\" } }"),
	          CL_EVERR_NONE);
	CHECK_STR(ev.data, "{ \"ivr\" : \"\\u00e9\" }");
}

int
main(void)
{
	CHECK_INT(cl_numbers_init(&rules, "1", "1", "011"), 0);
	test_names();
	test_offered();
	test_other_types();
	test_common();
	test_bounds();
	test_bad_json();
	test_scanner_edges();
	cl_event_clear(&ev);
	cl_event_clear(&ev);
	free(id_out);
	TEST_DONE();
}
