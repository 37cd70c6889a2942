/* test_ami.c : unit tests of the AMI framer and translator (src/core/pbxframe.c, ami.c, amisync.c),
 * from transcripts written after Asterisk 16+'s documented event fields. */
#include <stdlib.h>
#include <string.h>

#include "callogd/ami.h"
#include "callogd/event.h"
#include "callogd/util.h"
#include "testutil.h"

static struct cl_numbers rules;
static struct cl_ami *A;
static struct cl_pbx_framer *F;
static struct cl_pbx_out OUT;
static struct cl_pbx_frame FR;
static int flags;

/* ---- harness ---- */

static void
reset(enum cl_ami_agent_id mode)
{
	cl_ami_free(A);
	cl_pbx_framer_free(F);
	A = cl_ami_new("ast1", mode);
	F = cl_pbx_framer_new(CL_PBX_AMI, 65536);
	cl_ami_session(A, 1000);
	cl_pbx_out_clear(&OUT);
	flags = 0;
	/* Every connection starts with the banner. */
	cl_pbx_framer_feed(F, "Asterisk Call Manager/5.0.1\r\n", 29);
	CHECK(cl_pbx_framer_next(F, &FR, (char[CL_ERR_LEN]){0}) == 1 && FR.banner);
}

/* Feeds text (LF line ends, sent as CRLF as Asterisk does) and translates every frame. */
static void
feed(const char *text)
{
	static char buf[1 << 17];
	size_t n = 0, off = 0;
	char err[CL_ERR_LEN];
	int r;

	for (const char *p = text; *p && n < sizeof(buf) - 2; p++) {
		if (*p == '\n')
			buf[n++] = '\r';
		buf[n++] = *p;
	}
	while (off < n) {
		off += cl_pbx_framer_feed(F, buf + off, n - off);
		while ((r = cl_pbx_framer_next(F, &FR, err)) == 1)
			flags |= cl_ami_frame(A, &FR, &OUT);
		CHECK(r == 0);
	}
}

/* The k-th line (from 0) of type, or NULL; every line must pass the §3 parser. */
static const char *
line_of(const char *type, int k, struct cl_event *ev)
{
	static char copy[16384];
	char want[64];
	const char *p = OUT.buf ? OUT.buf : "";

	snprintf(want, sizeof(want), "{\"type\":\"%s\"", type);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = (size_t)(nl - p);
		if (strncmp(p, want, strlen(want)) == 0 && k-- == 0) {
			char *id = NULL, msg[CL_ERR_LEN];
			memcpy(copy, p, len);
			copy[len] = '\0';
			enum cl_event_error e = ev ? cl_event_parse(copy, len, 1, &rules, ev, &id, msg) : CL_EVERR_NONE;
			if (e != CL_EVERR_NONE &&
			    !(e == CL_EVERR_UNKNOWN_TYPE && strcmp(type, "call.ring_ended") == 0)) {
				fprintf(stderr, "line does not validate: %s: %s\n", msg, copy);
				free(id);
				return NULL;
			}
			return copy;
		}
		p = nl + 1;
	}
	return NULL;
}

static int
count(const char *type)
{
	int n = 0;

	while (line_of(type, n, NULL))
		n++;
	return n;
}

/* Every line validates as a producer's would. */
static void
all_valid(void)
{
	const char *p = OUT.buf ? OUT.buf : "";

	while (*p) {
		const char *nl = strchr(p, '\n');
		struct cl_event ev;
		char *id = NULL, msg[CL_ERR_LEN];
		enum cl_event_error e = cl_event_parse(p, (size_t)(nl - p), 1, &rules, &ev, &id, msg);
		/* call.ring_ended is §3's; accepted here until the parser knows it (the console work adds it). */
		if (e == CL_EVERR_UNKNOWN_TYPE && strncmp(p, "{\"type\":\"call.ring_ended\"", 25) == 0)
			e = CL_EVERR_NONE;
		if (e != CL_EVERR_NONE)
			fprintf(stderr, "invalid: %s: %.*s\n", msg, (int)(nl - p), p);
		CHECK(e == CL_EVERR_NONE);
		cl_event_clear(&ev);
		free(id);
		p = nl + 1;
	}
}

static int
has(const char *line, const char *text)
{
	if (line && strstr(line, text))
		return 1;
	fprintf(stderr, "  missing %s in %s\n", text, line ? line : "(no line)");
	return 0;
}

/* ---- transcripts ---- */

/* A caller channel's snapshot, as every channel event carries it. */
#define CALLER(uid, ext)                                                                                               \
	"Channel: PJSIP/trunk-00000010\nChannelState: 6\nChannelStateDesc: Up\nCallerIDNum: 0612345678\n"              \
	"CallerIDName: Jane Roe\nConnectedLineNum: <unknown>\nConnectedLineName: <unknown>\nLanguage: en\n"            \
	"AccountCode: \nContext: queues\nExten: " ext "\nPriority: 4\nUniqueid: " uid "\nLinkedid: " uid "\n"
#define LEG(chan, uid, link)                                                                                           \
	"Channel: " chan "\nChannelState: 6\nChannelStateDesc: Up\nCallerIDNum: 1001\nCallerIDName: Alice\n"           \
	"ConnectedLineNum: 0612345678\nConnectedLineName: Jane Roe\nLanguage: en\nAccountCode: \n"                     \
	"Context: agents\nExten: \nPriority: 1\nUniqueid: " uid "\nLinkedid: " link "\n"
#define DEST(chan, uid, link)                                                                                          \
	"DestChannel: " chan "\nDestChannelState: 5\nDestChannelStateDesc: Ringing\nDestCallerIDNum: 1001\n"           \
	"DestCallerIDName: Alice\nDestConnectedLineNum: 0612345678\nDestConnectedLineName: Jane Roe\n"                 \
	"DestLanguage: en\nDestAccountCode: \nDestContext: agents\nDestExten: s\nDestPriority: 1\n"                    \
	"DestUniqueid: " uid "\nDestLinkedid: " link "\n"

#define NEWCHANNEL(uid)                                                                                                \
	"Event: Newchannel\nPrivilege: call,all\nChannel: PJSIP/trunk-00000010\nChannelState: 0\n"                     \
	"ChannelStateDesc: Down\nCallerIDNum: 0612345678\nCallerIDName: Jane Roe\nConnectedLineNum: <unknown>\n"       \
	"ConnectedLineName: <unknown>\nLanguage: en\nAccountCode: \nContext: from-trunk\nExten: 5551000\n"             \
	"Priority: 1\nUniqueid: " uid "\nLinkedid: " uid "\n\n"
#define JOIN(uid, queue, extra)                                                                                        \
	"Event: QueueCallerJoin\nPrivilege: agent,all\n" CALLER(uid, "s") extra "Queue: " queue                        \
	                                                                        "\nPosition: 1\nCount: 1\n\n"
#define AGENT_EV(ev, uid, chan, duid, iface, name, extra)                                                              \
	"Event: " ev "\nPrivilege: agent,all\n" CALLER(uid, "s")                                                       \
	    DEST(chan, duid, uid) "Queue: sales\nInterface: " iface "\nMemberName: " name "\n" extra "\n"
#define HANGUP_REQ(leg) "Event: HangupRequest\nPrivilege: call,all\n" leg "\n"
#define HANGUP(leg) "Event: Hangup\nPrivilege: call,all\n" leg "Cause: 16\nCause-txt: Normal Clearing\n\n"

#define AGENT_LEG(link) LEG("PJSIP/1001-00000011", "1700000000.2", link)
#define CALLER_LEG(uid) CALLER(uid, "s")

static void
test_queue_answered(void)
{
	struct cl_event ev = {0};
	const char *l;

	reset(CL_AMI_AGENT_MEMBERNAME);
	feed(NEWCHANNEL("1700000000.1") JOIN("1700000000.1", "sales", "") AGENT_EV(
	    "AgentCalled", "1700000000.1", "PJSIP/1001-00000011", "1700000000.2", "PJSIP/1001", "alice", "")
	         AGENT_EV("AgentConnect", "1700000000.1", "PJSIP/1001-00000011", "1700000000.2", "PJSIP/1001", "alice",
	                  "HoldTime: 9\nRingTime: 9\n") "Event: QueueCallerLeave\nPrivilege: "
	                                                "agent,all\n" CALLER(
	                                                    "1700000000.1",
	                                                    "s") "Queue: sales\n"
	                                                         "Count: 0\nPosition: "
	                                                         "1\n\n" HANGUP_REQ(AGENT_LEG("1700000000.1"))
	                                                             HANGUP(CALLER_LEG("1700000000.1"))
	                                                                 HANGUP(AGENT_LEG("1700000000.1")));
	all_valid();
	l = line_of("call.offered", 0, &ev);
	CHECK(has(l, "\"id\":\"ast1:1700000000.1:offered\"") && has(l, "\"call_id\":\"ast1:1700000000.1\""));
	CHECK(has(l, "\"from\":\"0612345678\"") && has(l, "\"to\":\"5551000\"") && has(l, "\"queue\":\"sales\""));
	CHECK(l && strstr(l, "data") == NULL);
	cl_event_clear(&ev);
	l = line_of("call.queued", 0, NULL);
	CHECK(has(l, "\"id\":\"ast1:1700000000.1:queued:sales\""));
	l = line_of("call.ringing", 0, NULL);
	CHECK(has(l, "\"agent\":\"alice\"") && has(l, "\"id\":\"ast1:1700000000.1:ringing:1700000000.2\""));
	l = line_of("call.answered", 0, NULL);
	CHECK(has(l, "\"agent\":\"alice\""));
	l = line_of("call.ended", 0, NULL);
	CHECK(has(l, "\"reason\":\"completed\"") && has(l, "\"by\":\"agent\""));
	CHECK_INT(count("call.ended"), 1); /* the agent leg's own hang-up ends nothing */
	CHECK_INT(OUT.lines, 5);
	CHECK_INT(cl_ami_calls(A), 0);
	CHECK(cl_ami_stats(A)->unknown == 0 && cl_ami_stats(A)->malformed == 0);
}

static void
test_abandoned(void)
{
	reset(CL_AMI_AGENT_MEMBERNAME);
	feed(JOIN("1700000001.1", "sales", "") AGENT_EV(
	    "AgentCalled", "1700000001.1", "PJSIP/1001-00000011", "1700000001.2", "PJSIP/1001", "alice",
	    "") "Event: QueueCallerAbandon\nPrivilege: agent,all\n" CALLER("1700000001.1",
	                                                                   "s") "Queue: sales\nPosition: "
	                                                                        "1\nOriginalPosition: 1\nHoldTime: "
	                                                                        "11\n\n" HANGUP_REQ(CALLER_LEG("1700000"
	                                                                                                       "001.1"))
	                                                                            HANGUP(LEG("PJSIP/1001-00000011",
	                                                                                       "1700000001.2",
	                                                                                       "1700000001.1"))
	                                                                                HANGUP(CALLER_LEG(
	                                                                                    "1700000001.1")));
	all_valid();
	const char *l = line_of("call.ended", 0, NULL);
	CHECK(has(l, "\"reason\":\"abandoned\"") && has(l, "\"by\":\"caller\""));
	CHECK_INT(count("call.answered"), 0);
}

static void
test_ring_no_answer(void)
{
	reset(CL_AMI_AGENT_MEMBERNAME);
	feed(JOIN("1700000002.1", "sales", "") AGENT_EV("AgentCalled", "1700000002.1", "PJSIP/1001-00000011",
	                                                "1700000002.2", "PJSIP/1001", "alice", "")
	         AGENT_EV("AgentRingNoAnswer", "1700000002.1", "PJSIP/1001-00000011", "1700000002.2", "PJSIP/1001",
	                  "alice", "RingTime: 15\n") AGENT_EV("AgentCalled", "1700000002.1", "PJSIP/1002-00000012",
	                                                      "1700000002.3", "PJSIP/1002", "bob", "")
	             AGENT_EV("AgentConnect", "1700000002.1", "PJSIP/1002-00000012", "1700000002.3", "PJSIP/1002",
	                      "bob", "") HANGUP_REQ(CALLER_LEG("1700000002.1")) HANGUP(CALLER_LEG("1700000002.1")));
	all_valid();
	CHECK(has(line_of("call.ring_ended", 0, NULL), "\"agent\":\"alice\"") &&
	      has(line_of("call.ring_ended", 0, NULL), "\"reason\":\"no_answer\""));
	CHECK_INT(count("call.ringing"), 2);
	CHECK(has(line_of("call.answered", 0, NULL), "\"agent\":\"bob\""));
	const char *l = line_of("call.ended", 0, NULL);
	CHECK(has(l, "\"reason\":\"completed\"") && has(l, "\"by\":\"caller\""));
}

#define ANSWERED_CALL(uid)                                                                                             \
	JOIN(uid, "sales", "")                                                                                         \
	AGENT_EV("AgentCalled", uid, "PJSIP/1001-00000011", "1700000000.2", "PJSIP/1001", "alice", "")                 \
	AGENT_EV("AgentConnect", uid, "PJSIP/1001-00000011", "1700000000.2", "PJSIP/1001", "alice", "")

static void
test_hold(void)
{
	reset(CL_AMI_AGENT_MEMBERNAME);
	feed(ANSWERED_CALL("1700000003.1") "Event: Hold\nPrivilege: call,all\n" AGENT_LEG(
	    "1700000003.1") "MusicClass: default\n\n"
	                    "Event: Hold\nPrivilege: call,all\n" AGENT_LEG("1700000003.1") "\n"
	                                                                                   "Event: Unhold\nPrivilege: "
	                                                                                   "call,all\n" AGENT_LEG(
	                                                                                       "1700000003.1") "\n");
	all_valid();
	CHECK_INT(count("call.held"), 1); /* the second Hold of a held channel is not a new hold */
	CHECK(has(line_of("call.held", 0, NULL), "\"agent\":\"alice\""));
	CHECK(has(line_of("call.resumed", 0, NULL), "\"agent\":\"alice\""));
	/* With timestampevents, the hold's id is Asterisk's own time. */
	feed("Event: Hold\nPrivilege: call,all\nTimestamp: 1795000000.250000\n" AGENT_LEG("1700000003.1") "\n");
	const char *l = line_of("call.held", 1, NULL);
	CHECK(has(l, "\"id\":\"ast1:1700000003.1:held:1700000000.2:t1795000000.250000\""));
	CHECK(has(l, "\"ts\":\"2026-11-18T"));
}

static void
test_transfers(void)
{
	reset(CL_AMI_AGENT_MEMBERNAME);
	feed(ANSWERED_CALL("1700000004.1") "Event: BlindTransfer\nPrivilege: call,all\nResult: Success\n"
	                                   "TransfererChannel: PJSIP/1001-00000011\nTransfererChannelState: "
	                                   "6\nTransfererCallerIDNum: 1001\n"
	                                   "TransfererUniqueid: 1700000000.2\nTransfererLinkedid: 1700000004.1\n"
	                                   "TransfereeChannel: PJSIP/trunk-00000010\nTransfereeUniqueid: 1700000004.1\n"
	                                   "TransfereeLinkedid: 1700000004.1\nBridgeUniqueid: 1b2c\nBridgeType: "
	                                   "basic\nIsExternal: Yes\n"
	                                   "Context: agents\nExtension: 2000\n\n");
	all_valid();
	const char *l = line_of("call.transferred", 0, NULL);
	CHECK(has(l, "\"agent\":\"alice\"") && has(l, "\"to\":\"2000\""));

	/* Attended, to another member's device: to_agent. */
	reset(CL_AMI_AGENT_MEMBERNAME);
	feed("Event: QueueMemberAdded\nPrivilege: agent,all\nQueue: sales\nMemberName: bob\nInterface: PJSIP/1002\n"
	     "StateInterface: PJSIP/1002\nMembership: dynamic\nPenalty: 0\nPaused: 0\n\n" ANSWERED_CALL(
	         "1700000005.1") "Event: AttendedTransfer\nPrivilege: call,all\nResult: Success\n"
	                         "OrigTransfererChannel: PJSIP/1001-00000011\nOrigTransfererUniqueid: 1700000000.2\n"
	                         "OrigTransfererLinkedid: 1700000005.1\nSecondTransfererChannel: PJSIP/1001-00000013\n"
	                         "SecondTransfererUniqueid: 1700000005.3\nSecondTransfererLinkedid: 1700000005.3\n"
	                         "SecondTransfererExten: 1002\nTransfereeChannel: PJSIP/trunk-00000010\n"
	                         "TransfereeUniqueid: 1700000005.1\nTransfereeLinkedid: 1700000005.1\n"
	                         "TransferTargetChannel: PJSIP/1002-00000014\nTransferTargetUniqueid: 1700000005.4\n"
	                         "TransferTargetLinkedid: 1700000005.3\nTransferTargetCallerIDNum: 1002\nDestType: "
	                         "Bridge\n"
	                         "DestBridgeUniqueid: 9f9f\nIsExternal: No\n\n" HANGUP_REQ(
	                             LEG("PJSIP/1002-00000014", "1700000005.4", "1700000005.3"))
	                             HANGUP(CALLER_LEG("1700000005.1")));
	all_valid();
	l = line_of("call.transferred", 0, NULL);
	CHECK(has(l, "\"agent\":\"alice\"") && has(l, "\"to_agent\":\"bob\""));
	/* bob's leg, now the call's, hung up first. */
	CHECK(has(line_of("call.ended", 0, NULL), "\"by\":\"agent\""));

	/* Attended, to a number no member has: to. */
	reset(CL_AMI_AGENT_MEMBERNAME);
	feed(ANSWERED_CALL(
	    "1700000006.1") "Event: AttendedTransfer\nResult: Success\n"
	                    "OrigTransfererChannel: PJSIP/1001-00000011\n"
	                    "OrigTransfererUniqueid: 1700000000.2\nOrigTransfererLinkedid: 1700000006.1\n"
	                    "SecondTransfererExten: 5559999\nTransferTargetChannel: PJSIP/trunk-00000020\n"
	                    "TransferTargetUniqueid: 1700000006.5\nTransferTargetCallerIDNum: <unknown>\n"
	                    "DestType: Bridge\n\n");
	all_valid();
	CHECK(has(line_of("call.transferred", 0, NULL), "\"to\":\"5559999\""));
}

static void
test_hangup_by_first_request(void)
{
	/* The caller asked first; the agent leg's Hangup comes first anyway. */
	reset(CL_AMI_AGENT_MEMBERNAME);
	feed(ANSWERED_CALL("1700000007.1") HANGUP_REQ(CALLER_LEG("1700000007.1")) HANGUP_REQ(AGENT_LEG("1700000007.1"))
	         HANGUP(AGENT_LEG("1700000007.1")) HANGUP(CALLER_LEG("1700000007.1")));
	CHECK(has(line_of("call.ended", 0, NULL), "\"by\":\"caller\""));
	/* No HangupRequest at all (the dialplan hung up): no by. */
	reset(CL_AMI_AGENT_MEMBERNAME);
	feed(ANSWERED_CALL("1700000008.1") HANGUP(CALLER_LEG("1700000008.1")));
	const char *l = line_of("call.ended", 0, NULL);
	CHECK(l && strstr(l, "\"by\"") == NULL);
	/* A third channel asked: system. */
	reset(CL_AMI_AGENT_MEMBERNAME);
	feed(ANSWERED_CALL("1700000009.1") HANGUP_REQ(LEG("Local/x@y-00000001;1", "1700000009.7", "1700000009.1"))
	         HANGUP(CALLER_LEG("1700000009.1")));
	CHECK(has(line_of("call.ended", 0, NULL), "\"by\":\"system\""));
}

#define MEMBER_EV(ev, queue, name, iface, extra)                                                                       \
	"Event: " ev "\nPrivilege: agent,all\nQueue: " queue "\nMemberName: " name "\nInterface: " iface               \
	"\nStateInterface: " iface "\nMembership: dynamic\nPenalty: 0\nCallsTaken: 0\nLastCall: 0\n"                   \
	"LastPause: 0\nLoginTime: 1795000000\nInCall: 0\nStatus: 1\n" extra "Ringinuse: 0\nWrapuptime: 0\n\n"

static void
test_members_and_pauses(void)
{
	reset(CL_AMI_AGENT_MEMBERNAME);
	feed(MEMBER_EV("QueueMemberAdded", "sales", "alice", "PJSIP/1001", "Paused: 0\nPausedReason: \n")
	         MEMBER_EV("QueueMemberAdded", "support", "alice", "PJSIP/1001", "Paused: 0\nPausedReason: \n"));
	all_valid();
	CHECK_INT(count("agent.state"), 1);
	CHECK(has(line_of("agent.state", 0, NULL), "\"agent\":\"alice\",\"state\":\"logged_in\""));
	/* Paused in every queue: one event per queue from Asterisk, one state for us. */
	feed(MEMBER_EV("QueueMemberPause", "sales", "alice", "PJSIP/1001", "Paused: 1\nPausedReason: lunch\n")
	         MEMBER_EV("QueueMemberPause", "support", "alice", "PJSIP/1001", "Paused: 1\nPausedReason: lunch\n"));
	CHECK_INT(count("agent.state"), 2);
	CHECK(has(line_of("agent.state", 1, NULL), "\"state\":\"not_ready\",\"reason\":\"lunch\""));
	feed(MEMBER_EV("QueueMemberPause", "sales", "alice", "PJSIP/1001", "Paused: 0\nPausedReason: \n"));
	CHECK(has(line_of("agent.state", 2, NULL), "\"state\":\"ready\""));
	/* Removed from one queue of two: still logged in. */
	feed(MEMBER_EV("QueueMemberRemoved", "sales", "alice", "PJSIP/1001", "Paused: 0\n"));
	CHECK_INT(count("agent.state"), 3);
	feed(MEMBER_EV("QueueMemberRemoved", "support", "alice", "PJSIP/1001", "Paused: 0\n"));
	CHECK(has(line_of("agent.state", 3, NULL), "\"state\":\"logged_out\""));
	all_valid();
	/* Asterisk 11's QueueMemberPaused with Location and Reason. */
	feed("Event: QueueMemberPaused\nPrivilege: agent,all\nQueue: sales\nLocation: SIP/1005\n"
	     "MemberName: carol\nPaused: 1\nReason: training\n\n");
	CHECK(has(line_of("agent.state", 4, NULL),
	          "\"agent\":\"carol\",\"state\":\"not_ready\",\"reason\":\"training\""));
	/* Ids never repeat: no Timestamp, so the session and a count tell them apart. */
	CHECK(has(line_of("agent.state", 1, NULL), "\"id\":\"ast1:agent:alice:not_ready:s1000."));
}

static void
test_agent_id_interface(void)
{
	reset(CL_AMI_AGENT_INTERFACE);
	feed(MEMBER_EV("QueueMemberAdded", "sales", "Alice Smith", "PJSIP/1001", "Paused: 0\n")
	         JOIN("1700000010.1", "sales", "") AGENT_EV("AgentCalled", "1700000010.1", "PJSIP/1001-00000011",
	                                                    "1700000010.2", "PJSIP/1001", "Alice Smith", ""));
	all_valid();
	CHECK(has(line_of("agent.state", 0, NULL), "\"agent\":\"1001\""));
	CHECK(has(line_of("call.ringing", 0, NULL), "\"agent\":\"1001\""));
}

#define DIAL(ev, uid, chan, duid, extra)                                                                               \
	"Event: " ev "\nPrivilege: call,all\n" CALLER(uid, "5551002") DEST(chan, duid, uid) extra "\n"

static void
test_direct_call(void)
{
	reset(CL_AMI_AGENT_MEMBERNAME);
	feed(MEMBER_EV("QueueMemberAdded", "sales", "bob", "PJSIP/1002", "Paused: 0\n") NEWCHANNEL("1700000011.1")
	         DIAL("DialBegin", "1700000011.1", "PJSIP/1002-00000021", "1700000011.2",
	              "ChanVariable: ACCOUNT=77\nDestChanVariable: ACCOUNT=1\n"
	              "DialString: 1002\n")
	             DIAL("DialEnd", "1700000011.1", "PJSIP/1002-00000021", "1700000011.2", "DialStatus: ANSWER\n")
	                 HANGUP_REQ(CALLER_LEG("1700000011.1")) HANGUP(CALLER_LEG("1700000011.1"))
	     /* A dial to a device no member has is no contact-center call. */
	     NEWCHANNEL("1700000012.1")
	         DIAL("DialBegin", "1700000012.1", "PJSIP/2000-00000022", "1700000012.2", "DialString: 2000\n"));
	all_valid();
	const char *l = line_of("call.offered", 0, NULL);
	CHECK(has(l, "\"to\":\"5551000\"") && has(l, "\"data\":{\"ACCOUNT\":\"77\"}"));
	CHECK(l && strstr(l, "queue") == NULL);
	CHECK(has(line_of("call.ringing", 0, NULL), "\"agent\":\"bob\""));
	CHECK(has(line_of("call.answered", 0, NULL), "\"agent\":\"bob\""));
	CHECK(has(line_of("call.ended", 0, NULL), "\"reason\":\"completed\""));
	CHECK_INT(count("call.offered"), 1);
	/* Unanswered and busy. */
	reset(CL_AMI_AGENT_MEMBERNAME);
	feed(MEMBER_EV("QueueMemberAdded", "sales", "bob", "PJSIP/1002", "Paused: 0\n")
	         DIAL("DialBegin", "1700000013.1", "PJSIP/1002-00000023", "1700000013.2", "")
	             DIAL("DialEnd", "1700000013.1", "PJSIP/1002-00000023", "1700000013.2", "DialStatus: BUSY\n")
	                 HANGUP(CALLER_LEG("1700000013.1")));
	CHECK(has(line_of("call.ring_ended", 0, NULL), "\"reason\":\"busy\""));
	CHECK(has(line_of("call.ended", 0, NULL), "\"reason\":\"no_answer\""));
}

static void
test_channelvars(void)
{
	reset(CL_AMI_AGENT_MEMBERNAME);
	feed(JOIN("1700000014.1", "sales",
	          "ChanVariable: IVR_CHOICE=2\nChanVariable: ACCOUNT=A-1 \"vip\"\nChanVariable: EMPTY=\n"
	          "ChanVariable: IVR_CHOICE=3\n")
	         AGENT_EV("AgentCalled", "1700000014.1", "PJSIP/1001-00000011", "1700000014.2", "PJSIP/1001", "alice",
	                  "DestChanVariable: IVR_CHOICE=9\n"));
	all_valid();
	/* The first of a repeated name, quotes escaped, empty values left out. */
	CHECK(has(line_of("call.offered", 0, NULL), "\"data\":{\"IVR_CHOICE\":\"2\",\"ACCOUNT\":\"A-1 \\\"vip\\\"\"}"));
	/* The agent channel's variables never make a second offer or change the data. */
	feed("Event: Hold\n" LEG("PJSIP/1001-00000011", "1700000014.2",
	                         "1700000014.1") "ChanVariable: IVR_CHOICE=5\n\n");
	CHECK_INT(count("call.offered"), 1);
	CHECK(line_of("call.held", 0, NULL) && strstr(line_of("call.held", 0, NULL), "IVR_CHOICE") == NULL);
}

static void
test_duplicates_and_junk(void)
{
	char first[4096];

	reset(CL_AMI_AGENT_MEMBERNAME);
	feed(ANSWERED_CALL("1700000015.1"));
	snprintf(first, sizeof(first), "%s", OUT.buf);
	/* The same frames again (a second manager session, a replay): the same ids. */
	cl_pbx_out_clear(&OUT);
	feed(ANSWERED_CALL("1700000015.1"));
	CHECK(has(first, line_of("call.queued", 0, NULL)));
	CHECK(has(first, line_of("call.ringing", 0, NULL)));
	CHECK(has(first, line_of("call.answered", 0, NULL)));
	CHECK_INT(count("call.offered"), 0);

	const struct cl_pbx_stats *st = cl_ami_stats(A);
	uint64_t unknown = st->unknown, malformed = st->malformed;
	cl_pbx_out_clear(&OUT);
	feed("Event: VarSet\nChannel: PJSIP/1001-00000011\nVariable: X\nValue: 1\n\n"
	     "Privilege: call,all\nno colon here\n\n"
	     "Event: QueueCallerJoin\nQueue: sales\nUniqueid: 1.2\n\n"
	     "Event: AgentCalled\nLinkedid: 1700000015.1\nDestUniqueid: 9.9\n\n");
	CHECK_INT(st->unknown, unknown + 1);
	CHECK_INT(st->malformed, malformed + 3);
	CHECK_INT(OUT.lines, 0);
	/* Values that are not UTF-8 become '?': the line still validates. */
	feed(JOIN("1700000016.1", "caf\xe9", ""));
	all_valid();
	CHECK(has(line_of("call.queued", 0, NULL), "\"queue\":\"caf?\""));
	/* An id too long for 128 bytes is hashed, the same way each time. */
	feed(JOIN("1700000016.1",
	          "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
	          "qqqqqqqqqqqqqqqqqqqqqqq",
	          ""));
	all_valid();
	CHECK(has(line_of("call.queued", 1, NULL), "\"id\":\"ast1:h:"));
}

/* ---- resync ---- */

#define SHOW(uid, link, chan, state, cid, exten)                                                                       \
	"Event: CoreShowChannel\nActionID: 2\nChannel: " chan "\nChannelState: " state "\nChannelStateDesc: x\n"       \
	"CallerIDNum: " cid "\nCallerIDName: \nConnectedLineNum: \nConnectedLineName: \nLanguage: en\n"                \
	"AccountCode: \nContext: queues\nExten: " exten "\nPriority: 1\nUniqueid: " uid "\nLinkedid: " link            \
	"\nApplication: Queue\nApplicationData: sales\nDuration: 00:00:12\nBridgeId: \n\n"

static void
test_resync(void)
{
	reset(CL_AMI_AGENT_MEMBERNAME);
	/* Before: alice logged in, a call answered (still up), a call whose hang-up we missed. */
	feed(MEMBER_EV("QueueMemberAdded", "sales", "alice", "PJSIP/1001", "Paused: 0\n")
	         MEMBER_EV("QueueMemberAdded", "sales", "dave", "PJSIP/1004", "Paused: 0\n")
	             ANSWERED_CALL("1700000020.1") JOIN("1700000021.1", "sales", ""));
	CHECK_INT(cl_ami_calls(A), 2);
	cl_pbx_out_clear(&OUT);
	cl_ami_sync_begin(A);
	CHECK(cl_ami_sync_pending(A));
	feed("Response: Success\nActionID: 2\nEventList: start\nMessage: Channels will follow\n\n" SHOW(
	    "1700000020.1", "1700000020.1", "PJSIP/trunk-00000010", "6", "0612345678", "s")
	         SHOW("1700000000.2", "1700000020.1", "PJSIP/1001-00000011", "6", "1001", "")
	     /* Unknown to us: one waiting in the queue, one talking to bob on his device. */
	     SHOW("1700000030.1", "1700000030.1", "PJSIP/trunk-00000031", "6", "0698765432", "5551000")
	         SHOW("1700000031.1", "1700000031.1", "PJSIP/trunk-00000032", "6", "0611111111", "5551000")
	             SHOW("1700000031.2", "1700000031.1", "PJSIP/1002-00000033", "6", "1002", "")
	     /* Not a contact-center call. */
	     SHOW("1700000032.1", "1700000032.1", "PJSIP/2000-00000034", "6", "2000", "2001"));
	CHECK(!(flags & CL_AMI_SYNC_READY));
	/* A call that begins while the lists are read is no `lost` call. */
	feed(JOIN("1700000033.1", "sales", ""));
	feed("Event: CoreShowChannelsComplete\nEventList: Complete\nListItems: 6\n\n"
	     "Event: QueueParams\nQueue: sales\nMax: 0\nStrategy: ringall\nCalls: 1\n\n"
	     "Event: QueueMember\nQueue: sales\nName: alice\nLocation: PJSIP/1001\nStateInterface: PJSIP/1001\n"
	     "Membership: dynamic\nPenalty: 0\nCallsTaken: 2\nLastCall: 0\nStatus: 2\nPaused: 1\n"
	     "PausedReason: coaching\n\n"
	     "Event: QueueMember\nQueue: sales\nName: bob\nLocation: PJSIP/1002\nStateInterface: PJSIP/1002\n"
	     "Membership: dynamic\nPenalty: 0\nCallsTaken: 0\nLastCall: 0\nStatus: 2\nPaused: 0\n\n"
	     "Event: QueueEntry\nQueue: sales\nPosition: 1\nChannel: PJSIP/trunk-00000031\nUniqueid: 1700000030.1\n"
	     "CallerIDNum: 0698765432\nCallerIDName: \nWait: 12\nPriority: 0\n\n");
	CHECK(!(flags & CL_AMI_SYNC_READY));
	feed("Event: QueueStatusComplete\nEventList: Complete\nListItems: 4\n\n");
	CHECK(flags & CL_AMI_SYNC_READY);
	/* The log has 20.1 and 21.1 open, and a call of another link. */
	const char *open[] = {"ast1:1700000020.1", "ast1:1700000021.1", "ast1:1700000033.1", "fs1:abc"};
	cl_pbx_out_clear(&OUT);
	cl_ami_sync_finish(A, open, 4, &OUT);
	all_valid();
	CHECK(!cl_ami_sync_pending(A));
	const char *l = line_of("call.ended", 0, NULL);
	CHECK(has(l, "\"call_id\":\"ast1:1700000021.1\"") && has(l, "\"reason\":\"lost\""));
	CHECK_INT(count("call.ended"), 1);
	CHECK_INT(count("call.offered"), 2);
	CHECK(has(line_of("call.offered", 0, NULL), "ast1:1700000030.1") ||
	      has(line_of("call.offered", 1, NULL), "ast1:1700000030.1"));
	CHECK(has(line_of("call.queued", 0, NULL), "\"call_id\":\"ast1:1700000030.1\""));
	CHECK(has(line_of("call.answered", 0, NULL), "\"call_id\":\"ast1:1700000031.1\"") &&
	      has(line_of("call.answered", 0, NULL), "\"agent\":\"bob\""));
	/* alice paused, bob ready, dave no longer a member. */
	CHECK_INT(count("agent.state"), 3);
	int alice = 0, bob = 0, dave = 0;
	for (int k = 0; k < 3; k++) {
		l = line_of("agent.state", k, NULL);
		alice |= l && strstr(l, "\"agent\":\"alice\",\"state\":\"not_ready\",\"reason\":\"coaching\"") != NULL;
		bob |= l && strstr(l, "\"agent\":\"bob\",\"state\":\"ready\"") != NULL;
		dave |= l && strstr(l, "\"agent\":\"dave\",\"state\":\"logged_out\"") != NULL;
	}
	CHECK(alice && bob && dave);
	/* 20.1, 30.1, 31.1 and 33.1 are tracked: hang-ups end them. */
	CHECK_INT(cl_ami_calls(A), 4);
	cl_pbx_out_clear(&OUT);
	feed(HANGUP_REQ(LEG("PJSIP/1002-00000033", "1700000031.2", "1700000031.1")) HANGUP(CALLER_LEG("1700000031.1")));
	l = line_of("call.ended", 0, NULL);
	CHECK(has(l, "\"reason\":\"completed\"") && has(l, "\"by\":\"agent\""));
	/* A second resync with nothing changed says nothing new. */
	cl_ami_sync_begin(A);
	feed(SHOW("1700000020.1", "1700000020.1", "PJSIP/trunk-00000010", "6", "0612345678", "s")
	         SHOW("1700000000.2", "1700000020.1", "PJSIP/1001-00000011", "6", "1001",
	              "") "Event: CoreShowChannelsComplete\n\n"
	                  "Event: QueueMember\nQueue: sales\nName: alice\nLocation: PJSIP/1001\nPaused: 1\n"
	                  "PausedReason: coaching\n\n"
	                  "Event: QueueMember\nQueue: sales\nName: bob\nLocation: PJSIP/1002\nPaused: 0\n\n"
	                  "Event: QueueStatusComplete\n\n");
	const char *open2[] = {"ast1:1700000020.1"};
	cl_pbx_out_clear(&OUT);
	cl_ami_sync_finish(A, open2, 1, &OUT);
	CHECK_INT(OUT.lines, 0);
	CHECK_INT(cl_ami_calls(A), 1);
}

static void
test_fully_booted(void)
{
	reset(CL_AMI_AGENT_MEMBERNAME);
	feed("Event: FullyBooted\nPrivilege: system,all\nUptime: 12\nLastReload: 12\nStatus: Fully Booted\n\n");
	CHECK(flags & CL_AMI_RESYNC);
	/* List items nobody asked us for (no resync running) are ignored. */
	feed(SHOW("1.1", "1.1", "PJSIP/x-00000001", "6", "1", "2") "Event: CoreShowChannelsComplete\n\n"
	                                                           "Event: QueueStatusComplete\n\n");
	CHECK(!(flags & CL_AMI_SYNC_READY));
}

/* ---- the framer ---- */

static const char framer_text[] = "Asterisk Call Manager/5.0.1\r\n"
                                  "Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n"
                                  "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"
                                  "\r\n" /* a stray blank line */
                                  "Event: Hold\nUniqueid: 1.2\nLinkedid: 1.1\n\n"
                                  "Response: Success\r\nPing: Pong\r\nTimestamp: 1795000000.000001\r\n\r\n";

/* Frames of text fed in pieces cut at `cut` (0 = whole), as "Key=Value;" text per frame. */
static void
frames_of(const char *text, size_t len, size_t cut, char *out, size_t outlen)
{
	struct cl_pbx_framer *f = cl_pbx_framer_new(CL_PBX_AMI, 1024);
	char err[CL_ERR_LEN];
	size_t o = 0, off = 0;
	size_t pieces[2] = {cut ? cut : len, len - (cut ? cut : len)};

	out[0] = '\0';
	for (int p = 0; p < 2; p++) {
		size_t end = off + pieces[p];
		while (off < end) {
			off += cl_pbx_framer_feed(f, text + off, end - off);
			while (cl_pbx_framer_next(f, &FR, err) == 1) {
				for (int i = 0; i < FR.n; i++)
					o += (size_t)snprintf(out + o, outlen - o, "%s=%s;", FR.h[i].key, FR.h[i].val);
				o += (size_t)snprintf(out + o, outlen - o, "|");
			}
		}
	}
	cl_pbx_framer_free(f);
}

static void
test_framer(void)
{
	char whole[2048], split[2048];
	size_t len = strlen(framer_text);
	int same = 1;

	frames_of(framer_text, len, 0, whole, sizeof(whole));
	CHECK_STR(whole,
	          "Banner=Asterisk Call Manager/5.0.1;|Response=Success;ActionID=1;Message=Authentication "
	          "accepted;|Event=FullyBooted;Privilege=system,all;Status=Fully Booted;|Event=Hold;Uniqueid=1.2;"
	          "Linkedid=1.1;|Response=Success;Ping=Pong;Timestamp=1795000000.000001;|");
	for (size_t cut = 1; cut < len; cut++) {
		frames_of(framer_text, len, cut, split, sizeof(split));
		if (strcmp(whole, split) != 0) {
			fprintf(stderr, "cut at %zu: %s\n", cut, split);
			same = 0;
		}
	}
	CHECK(same);

	/* A block longer than the bound is an error, not a wait. */
	struct cl_pbx_framer *f = cl_pbx_framer_new(CL_PBX_AMI, 256);
	char big[600], err[CL_ERR_LEN];
	memset(big, 'x', sizeof(big));
	memcpy(big, "Banner\r\nEvent: X\r\nData: ", 24);
	size_t took = cl_pbx_framer_feed(f, big, sizeof(big));
	int r;
	CHECK(took < sizeof(big)); /* it holds no more than a frame's worth */
	CHECK(cl_pbx_framer_next(f, &FR, err) == 1 && FR.banner);
	while ((r = cl_pbx_framer_next(f, &FR, err)) == 0 && took < sizeof(big))
		took += cl_pbx_framer_feed(f, big + took, sizeof(big) - took);
	CHECK(r == -1 && strstr(err, "longer") != NULL);
	cl_pbx_framer_free(f);
}

/* ---- the real world's captures, when present (never copied into the project) ---- */

#include <dirent.h>
#include <jansson.h>

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, fp);
		buf[*len] = '\0';
	}
	fclose(fp);
	return buf;
}

/* Feeds raw bytes (as captured) into a fresh link state; returns the framing errors. */
static int
feed_raw(const char *buf, size_t len, int banner)
{
	char err[CL_ERR_LEN];
	size_t off = 0;
	int r, errors = 0;

	cl_pbx_framer_reset(F);
	if (!banner) {
		cl_pbx_framer_feed(F, "Asterisk Call Manager/2.10.0\r\n", 30);
		cl_pbx_framer_next(F, &FR, err);
	}
	while (off < len) {
		off += cl_pbx_framer_feed(F, buf + off, len - off);
		while ((r = cl_pbx_framer_next(F, &FR, err)) == 1)
			if (!FR.banner && cl_pbx_get(&FR, "Event") != NULL)
				flags |= cl_ami_frame(A, &FR, &OUT);
		if (r < 0) {
			errors++;
			break;
		}
	}
	return errors;
}

/* cacofonisk's recordings are JSON lists of events: written back as AMI blocks. */
static char *
json_to_ami(const char *text, size_t *len)
{
	json_t *j = json_loads(text, 0, NULL), *ev;
	size_t i, cap = 1 << 20, n = 0;
	char *out = malloc(cap);

	if (j == NULL || out == NULL) {
		json_decref(j);
		free(out);
		return NULL;
	}
	json_array_foreach (j, i, ev) {
		const char *k;
		json_t *v;
		json_object_foreach (ev, k, v) {
			if (json_is_string(v) && strcmp(k, "content") != 0 && n + 512 < cap)
				n += (size_t)snprintf(out + n, cap - n, "%s: %.400s\r\n", k, json_string_value(v));
		}
		n += (size_t)snprintf(out + n, cap - n, "\r\n");
	}
	json_decref(j);
	*len = n;
	return out;
}

static void
test_captures(void)
{
	const char *dir = getenv("CALLOGD_PBX_CAPTURES");
	char path[1024];
	struct dirent *de;
	DIR *d;
	int files = 0;

	/* Real PBX traffic is not part of this repository: a developer who has a folder
	 * of captures points CALLOGD_PBX_CAPTURES at it; without one this part is skipped. */
	if (dir == NULL) {
		printf("CALLOGD_PBX_CAPTURES not set: the captures check is skipped\n");
		return;
	}
	if ((d = opendir(dir)) == NULL) {
		printf("captures not found in %s: skipped\n", dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = 0, nl = strlen(de->d_name);
		int json = nl > 5 && strcmp(de->d_name + nl - 5, ".json") == 0;
		int ami = nl > 4 && strcmp(de->d_name + nl - 4, ".ami") == 0;
		if (!json && !ami)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		char *buf = slurp(path, &len);
		if (buf && json) {
			char *conv = json_to_ami(buf, &len);
			free(buf);
			buf = conv;
		}
		CHECK(buf != NULL);
		if (buf == NULL)
			continue;
		reset(CL_AMI_AGENT_MEMBERNAME);
		/* Queue members whose devices take the captures' direct calls. */
		feed(MEMBER_EV("QueueMemberAdded", "q", "ext1986", "PJSIP/1986", "Paused: 0\n")
		         MEMBER_EV("QueueMemberAdded", "q", "ext150010002", "SIP/150010002", "Paused: 0\n"));
		cl_pbx_out_clear(&OUT);
		int errors = feed_raw(buf, len, 0);
		if (errors)
			fprintf(stderr, "%s: framing error\n", de->d_name);
		CHECK_INT(errors, 0);
		/* Asterisk 11's events (panoramisk's) lack Linkedid: skipped as malformed, never fatal. */
		if (strncmp(de->d_name, "panoramisk", 10) != 0 && cl_ami_stats(A)->malformed != 0) {
			fprintf(stderr, "%s: %llu malformed\n", de->d_name,
			        (unsigned long long)cl_ami_stats(A)->malformed);
			CHECK(0);
		}
		all_valid();
		if (strcmp(de->d_name, "callme_ast13_queue_call.ami") == 0) {
			/* One inbound call through queue Q1 to SIP/777, who answered; the caller hung up. */
			const char *l = line_of("call.offered", 0, NULL);
			CHECK(has(l, "\"call_id\":\"ast1:1514295827.372\"") && has(l, "\"from\":\"123\"") &&
			      has(l, "\"to\":\"888999\"") && has(l, "\"queue\":\"Q1\""));
			CHECK(has(line_of("call.ringing", 0, NULL), "\"agent\":\"SIP/777\""));
			CHECK(has(line_of("call.answered", 0, NULL), "\"agent\":\"SIP/777\""));
			l = line_of("call.ended", 0, NULL);
			CHECK(has(l, "\"reason\":\"completed\"") && has(l, "\"by\":\"caller\""));
			CHECK_INT(count("call.ended"), 1);
		} else if (strcmp(de->d_name, "cacofonisk_ab_success_a_hangup.json") == 0) {
			/* A calls B on 150010002's device, answered, A hangs up. */
			CHECK(has(line_of("call.offered", 0, NULL), "\"from\":\"201\""));
			CHECK(has(line_of("call.answered", 0, NULL), "\"agent\":\"ext150010002\""));
			CHECK(has(line_of("call.ended", 0, NULL), "\"reason\":\"completed\""));
		} else if (strcmp(de->d_name, "cacofonisk_ab_reject.json") == 0) {
			CHECK(has(line_of("call.ring_ended", 0, NULL), "\"reason\":\"busy\""));
			CHECK(has(line_of("call.ended", 0, NULL), "\"reason\":\"no_answer\""));
		} else if (strcmp(de->d_name, "cacofonisk_queue_a_cancel.json") == 0) {
			CHECK(cl_ami_stats(A)->frames > 30);
		} else if (strcmp(de->d_name, "asterisk-mqtt_answered-internal.ami") == 0) {
			CHECK(count("call.offered") <= 1);
		}
		free(buf);
		files++;
	}
	closedir(d);
	CHECK(files >= 15);
	printf("%d capture files read\n", files);
}

int
main(void)
{
	cl_numbers_init(&rules, "1", "1", "011");
	cl_pbx_out_init(&OUT, 1 << 20);
	test_framer();
	test_queue_answered();
	test_abandoned();
	test_ring_no_answer();
	test_hold();
	test_transfers();
	test_hangup_by_first_request();
	test_members_and_pauses();
	test_agent_id_interface();
	test_direct_call();
	test_channelvars();
	test_duplicates_and_junk();
	test_resync();
	test_fully_booted();
	test_captures();
	cl_ami_free(A);
	cl_pbx_framer_free(F);
	cl_pbx_out_free(&OUT);
	TEST_DONE();
}
