/* test_popmsg.c : unit tests of the pop and call message builder (src/core/popmsg.c). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "callogd/popmsg.h"
#include "testutil.h"

static struct cl_live_call
mkcall(void)
{
	struct cl_live_call c;

	memset(&c, 0, sizeof(c));
	strcpy(c.call_id, "c-\"1\"");
	strcpy(c.from, "+15551234567");
	strcpy(c.to, "+18005550100");
	return c;
}

static void
test_head(void)
{
	struct cl_live_call c = mkcall();
	char *h = cl_popmsg_head(&c);

	CHECK_STR(h, "\"call_id\":\"c-\\\"1\\\"\",\"direction\":\"inbound\",\"from\":\"+15551234567\","
	             "\"to\":\"+18005550100\",\"queue\":null");
	free(h);
	c.direction = CL_DIR_OUTBOUND;
	strcpy(c.queue, "sales");
	c.from[0] = '\0';
	h = cl_popmsg_head(&c);
	CHECK_STR(h, "\"call_id\":\"c-\\\"1\\\"\",\"direction\":\"outbound\",\"from\":null,"
	             "\"to\":\"+18005550100\",\"queue\":\"sales\"");
	free(h);
}

static void
test_tail(void)
{
	struct cl_live_call c = mkcall();
	json_t *lk = json_pack("{s:{s:s}, s:i, s:[], s:s}", "customer", "id", "C-7", "matches", 1, "history",
	                       "number_status", "ok");
	char *t = cl_popmsg_tail(&c, NULL);

	/* No lookup (none made, or not finished): the pop says the caller is unknown. */
	CHECK_STR(t, "\"data\":null,\"customer\":null,\"matches\":0,\"history\":[]");
	free(t);
	/* Attached data goes out as the producer wrote it, byte for byte. */
	c.data = strdup("{\"ivr\": [1.50, \"x\"]}");
	t = cl_popmsg_tail(&c, lk);
	CHECK_STR(t, "\"data\":{\"ivr\": [1.50, \"x\"]},\"customer\":{\"id\":\"C-7\"},\"matches\":1,\"history\":[],"
	             "\"number_status\":\"ok\"");
	free(t);
	free(c.data);
	c.data = NULL;
	json_decref(lk);
	lk = json_object();
	t = cl_popmsg_tail(&c, lk);
	CHECK_STR(t, "\"data\":null,\"customer\":null,\"matches\":0,\"history\":[]");
	free(t);
	json_decref(lk);
}

static void
test_pop_frame(void)
{
	struct cl_live_call c = mkcall();
	char *h = cl_popmsg_head(&c), *t = cl_popmsg_tail(&c, NULL), *body = cl_popmsg_pop(h, "a\\1", t), *msg;
	size_t len;
	json_t *j;

	msg = cl_popmsg_frame("pop", 42, body, &len);
	CHECK(msg != NULL && len == strlen(msg));
	CHECK(strncmp(msg, "{\"type\":\"pop\",\"seq\":42,\"call_id\":", 32) == 0);
	j = json_loads(msg, 0, NULL);
	CHECK(j != NULL);
	CHECK_STR(json_string_value(json_object_get(j, "agent")), "a\\1");
	CHECK_STR(json_string_value(json_object_get(j, "call_id")), "c-\"1\"");
	CHECK(json_is_null(json_object_get(j, "customer")));
	CHECK_INT(json_integer_value(json_object_get(j, "seq")), 42);
	json_decref(j);
	free(msg);
	free(body);
	free(h);
	free(t);
}

static void
test_call(void)
{
	struct cl_live_act a;
	char *m;

	memset(&a, 0, sizeof(a));
	a.kind = CL_LIVE_CALL;
	a.state = "retracted";
	a.agent = "a1";
	m = cl_popmsg_call("c-1", &a);
	CHECK_STR(m, "\"call_id\":\"c-1\",\"state\":\"retracted\",\"agent\":\"a1\"");
	free(m);
	a.state = "transferred";
	a.to_num = "+15550001111";
	m = cl_popmsg_call("c-1", &a);
	CHECK_STR(m, "\"call_id\":\"c-1\",\"state\":\"transferred\",\"agent\":\"a1\",\"to_agent\":null,"
	             "\"to\":\"+15550001111\"");
	free(m);
	a.state = "ended";
	a.agent = NULL;
	m = cl_popmsg_call("c-1", &a);
	CHECK_STR(m, "\"call_id\":\"c-1\",\"state\":\"ended\",\"agent\":null,\"reason\":null");
	free(m);
	a.reason = "abandoned";
	m = cl_popmsg_call("c-1", &a);
	CHECK_STR(m, "\"call_id\":\"c-1\",\"state\":\"ended\",\"agent\":null,\"reason\":\"abandoned\"");
	free(m);
}

int
main(void)
{
	test_head();
	test_tail();
	test_pop_frame();
	test_call();
	TEST_DONE();
}
