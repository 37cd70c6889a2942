/* test_jsonptr.c : JSON Pointer checks and resolution, with RFC 6901 section 5's examples. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "callogd/jsonptr.h"
#include "testutil.h"

static const char *doc = "{\"foo\": [\"bar\", \"baz\"], \"\": 0, \"a/b\": 1, \"c%d\": 2, \"e^f\": 3, \"g|h\": 4,"
                         " \"i\\\\j\": 5, \"k\\\"l\": 6, \" \": 7, \"m~n\": 8,"
                         " \"results\": [{\"id\": 42, \"name\": \"Ada\", \"org\": {\"tier\": \"gold\"}}]}";

/* The integer ptr points at, or -1 when it points at nothing or at something else. */
static long long
int_at(json_t *root, const char *ptr)
{
	json_t *v = cl_jsonptr_get(root, ptr);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

int
main(void)
{
	char err[CL_ERR_LEN], big[CL_JSONPTR_MAX + 2];
	json_t *root = json_loads(doc, 0, NULL);

	CHECK(root != NULL);
	/* RFC 6901 section 5 */
	CHECK(cl_jsonptr_get(root, "") == root);
	CHECK(json_is_array(cl_jsonptr_get(root, "/foo")));
	CHECK_STR(json_string_value(cl_jsonptr_get(root, "/foo/0")), "bar");
	CHECK_STR(json_string_value(cl_jsonptr_get(root, "/foo/1")), "baz");
	CHECK_INT(int_at(root, "/"), 0);
	CHECK_INT(int_at(root, "/a~1b"), 1);
	CHECK_INT(int_at(root, "/c%d"), 2);
	CHECK_INT(int_at(root, "/e^f"), 3);
	CHECK_INT(int_at(root, "/g|h"), 4);
	CHECK_INT(int_at(root, "/i\\j"), 5);
	CHECK_INT(int_at(root, "/k\"l"), 6);
	CHECK_INT(int_at(root, "/ "), 7);
	CHECK_INT(int_at(root, "/m~0n"), 8);
	/* ~01 is "~1" (a tilde, then 1), never "/" */
	CHECK(cl_jsonptr_get(root, "/a~01b") == NULL);
	/* nested and through arrays */
	CHECK_INT(int_at(root, "/results/0/id"), 42);
	CHECK_STR(json_string_value(cl_jsonptr_get(root, "/results/0/org/tier")), "gold");
	/* nothing there */
	CHECK(cl_jsonptr_get(root, "/foo/2") == NULL);
	CHECK(cl_jsonptr_get(root, "/foo/-") == NULL);
	CHECK(cl_jsonptr_get(root, "/foo/01") == NULL);
	CHECK(cl_jsonptr_get(root, "/foo/+1") == NULL);
	CHECK(cl_jsonptr_get(root, "/foo/1x") == NULL);
	CHECK(cl_jsonptr_get(root, "/foo/99999999999999999999") == NULL);
	CHECK(cl_jsonptr_get(root, "/results/0/id/x") == NULL);
	CHECK(cl_jsonptr_get(root, "/nope") == NULL);
	CHECK(cl_jsonptr_get(NULL, "/foo") == NULL);
	/* invalid pointers resolve to nothing and are refused by the check */
	CHECK(cl_jsonptr_get(root, "foo") == NULL);
	CHECK(cl_jsonptr_get(root, "/m~2n") == NULL);
	CHECK_INT(cl_jsonptr_check("", err), 0);
	CHECK_INT(cl_jsonptr_check("/results/0/name", err), 0);
	CHECK_INT(cl_jsonptr_check("/a~0~1", err), 0);
	CHECK_INT(cl_jsonptr_check("results", err), -1);
	CHECK(strstr(err, "starts with") != NULL);
	CHECK_INT(cl_jsonptr_check("/a~", err), -1);
	CHECK_INT(cl_jsonptr_check("/a~2", err), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(cl_jsonptr_check(big, err), -1);
	big[CL_JSONPTR_MAX] = '\0';
	CHECK_INT(cl_jsonptr_check(big, err), 0);
	json_decref(root);
	TEST_DONE();
}
