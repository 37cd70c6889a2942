/* test_util.c : the shared helpers: RFC 3339 in and out, UTF-8, JSON quoting, the hash map. */
#include <stdlib.h>
#include <string.h>

#include "callogd/hmap.h"
#include "callogd/util.h"
#include "testutil.h"

static void
test_time(void)
{
	char buf[CL_TIME_LEN];
	int64_t ms;

	cl_time_format(0, buf);
	CHECK_STR(buf, "1970-01-01T00:00:00.000Z");
	cl_time_format(1795341600123LL, buf);
	CHECK_STR(buf, "2026-11-22T10:00:00.123Z");
	CHECK_INT(cl_time_parse("2026-11-22T10:00:00.123Z", &ms), 0);
	CHECK_INT(ms, 1795341600123LL);
	CHECK_INT(cl_time_parse("2026-11-22T11:30:00+01:30", &ms), 0);
	CHECK_INT(ms, 1795341600000LL);
	CHECK_INT(cl_time_parse("2026-11-22t10:00:00.1234567z", &ms), 0);
	CHECK_INT(ms, 1795341600123LL);
	CHECK_INT(cl_time_parse("2024-02-29T00:00:00Z", &ms), 0);
	const char *bad[] = {"",
	                     "2026-11-22",
	                     "2026-13-01T00:00:00Z",
	                     "2026-11-22T10:00:00",
	                     "2026-11-22T25:00:00Z",
	                     "2026-11-22T10:00:00.Z",
	                     "2026-11-22T10:00:00Zjunk",
	                     "2026-11-22T10:00:00+0100",
	                     "x026-11-22T10:00:00Z"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(cl_time_parse(bad[i], &ms), -1);
}

static void
test_utf8(void)
{
	CHECK(cl_utf8_valid("plain", 5));
	CHECK(cl_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e", 14));
	CHECK(!cl_utf8_valid("\xff", 1));
	CHECK(!cl_utf8_valid("\xc0\xaf", 2));         /* overlong */
	CHECK(!cl_utf8_valid("\xed\xa0\x80", 3));     /* a surrogate */
	CHECK(!cl_utf8_valid("\xe2\x82", 2));         /* truncated */
	CHECK(!cl_utf8_valid("a\0b", 3));             /* NUL */
	CHECK(!cl_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
}

static void
test_json_quote(void)
{
	char out[64];

	CHECK_INT(cl_json_quote("e-1", out, sizeof(out)), 5);
	CHECK_STR(out, "\"e-1\"");
	CHECK(cl_json_quote("a\"b\\c\n\x01", out, sizeof(out)) > 0);
	CHECK_STR(out, "\"a\\\"b\\\\c\\u000a\\u0001\"");
	CHECK(cl_json_quote("\xc3\xa9", out, sizeof(out)) > 0);
	CHECK_STR(out, "\"\xc3\xa9\"");
	CHECK_INT(cl_json_quote("abcdef", out, 8), -1); /* 8 bytes, NUL included, is one too few */
	CHECK_INT(cl_json_quote("abcdef", out, 9), 8);
}

static void
test_hmap(void)
{
	struct cl_hmap *m = cl_hmap_new();
	char key[32];
	int vals[2000], seen = 0;

	for (int i = 0; i < 2000; i++) {
		vals[i] = i;
		snprintf(key, sizeof(key), "k%d", i);
		CHECK_INT(cl_hmap_put(m, key, &vals[i]), 0);
	}
	CHECK_INT(cl_hmap_count(m), 2000);
	CHECK(cl_hmap_get(m, "k1999") == &vals[1999]);
	CHECK(cl_hmap_get(m, "nope") == NULL);
	CHECK(cl_hmap_del(m, "k5") == &vals[5]);
	CHECK(cl_hmap_del(m, "k5") == NULL);
	for (struct cl_hmap_entry *e = cl_hmap_next(m, NULL); e; e = cl_hmap_next(m, e))
		seen++;
	CHECK_INT(seen, 1999);
	cl_hmap_free(m);
}

int
main(void)
{
	test_time();
	test_utf8();
	test_json_quote();
	test_hmap();
	TEST_DONE();
}
