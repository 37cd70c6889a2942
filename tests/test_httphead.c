/* test_httphead.c : the request head reader and the chunked framing the HTTP
 * gate decides by: where a head ends, what it carries, what is refused as
 * ambiguous, and where a chunked body ends (fed whole and byte by byte). */
#include <string.h>

#include "callogd/httphead.h"
#include "callogd/util.h"
#include "testutil.h"

static int
parse(const char *s, struct cl_httphead *h)
{
	char err[CL_ERR_LEN];

	return cl_httphead_parse(s, strlen(s), "callogd_session", h, err);
}

/* Bytes of s the chunked framing takes, fed n bytes at a time; -1 malformed. */
static long
chunks(const char *s, size_t n, int *done)
{
	struct cl_chunks c = {0};
	size_t len = strlen(s), at = 0;

	while (at < len && !c.done) {
		size_t k = len - at < n ? len - at : n;
		long r = cl_chunks_feed(&c, s + at, k);
		if (r < 0)
			return -1;
		at += (size_t)r;
	}
	*done = c.done;
	return (long)at;
}

int
main(void)
{
	struct cl_httphead h;
	const char *head = "POST /api/events?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length:  12 \r\n"
	                   "authorization: bearer abc\r\nCookie: a=b; callogd_session=v.1.m\r\n\r\nBODY";
	int st = 0, done;
	size_t end;

	/* The end of a head, found whole or a byte at a time; LF-only lines too. */
	end = cl_httphead_end(head, strlen(head), 0, &st);
	CHECK_INT(end, strlen(head) - 4);
	st = 0;
	end = 0;
	for (size_t i = 0; i < strlen(head) && end == 0; i++)
		end = cl_httphead_end(head, i + 1, i, &st);
	CHECK_INT(end, strlen(head) - 4);
	st = 0;
	CHECK_INT(cl_httphead_end("GET / HTTP/1.1\nA: b\n\nX", 22, 0, &st), 21);
	st = 0;
	CHECK_INT(cl_httphead_end("GET / HTTP/1.1\r\nA: b\r\n", 22, 0, &st), 0);

	CHECK_INT(parse(head, &h), 0);
	CHECK_INT(h.method, CL_HTTP_POST);
	CHECK_STR(h.path, "/api/events");
	CHECK_INT(h.content_length, 12);
	CHECK_INT(h.bearer, 1);
	CHECK_STR(h.cookie, "v.1.m");
	CHECK_INT(h.chunked, 0);

	CHECK_INT(parse("GET http://host:7080/api/calls HTTP/1.1\r\n\r\n", &h), 0);
	CHECK_STR(h.path, "/api/calls");
	CHECK_INT(h.method, CL_HTTP_GET);
	CHECK_INT(h.content_length, -1);
	CHECK_INT(h.bearer, 0);
	CHECK_STR(h.cookie, "");
	CHECK_INT(parse("POST /x HTTP/1.1\r\nAuthorization: Bearer \r\nCookie: xcallogd_session=1\r\n\r\n", &h), 0);
	CHECK_INT(h.bearer, 0);
	CHECK_STR(h.cookie, "");
	CHECK_INT(parse("PUT /x HTTP/1.1\r\n\r\n", &h), 0);
	CHECK_INT(h.method, CL_HTTP_BODY_OTHER);
	CHECK_INT(parse("DELETE /x HTTP/1.1\r\n\r\n", &h), 0);
	CHECK_INT(h.method, CL_HTTP_OTHER);

	/* Same lengths twice are one length; different ones, both framings, or another coding are refused. */
	CHECK_INT(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &h), 0);
	CHECK_INT(h.content_length, 5);
	CHECK_INT(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &h), 400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", &h), 400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nContent-Length: 5x\r\n\r\n", &h), 400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", &h), 400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", &h), 0);
	CHECK_INT(h.chunked, 1);
	CHECK_INT(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", &h), 400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &h), 501);
	CHECK_INT(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", &h),
	          501);
	CHECK_INT(parse("POST / HTTP/1.1\r\nX: a\r\n  folded\r\n\r\n", &h), 400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nno colon\r\n\r\n", &h), 400);
	CHECK_INT(parse("POST /\r\n\r\n", &h), 400);
	CHECK_INT(parse("POST  / HTTP/1.1\r\n\r\n", &h), 400);
	CHECK_INT(parse("\r\n", &h), 400);

	/* Cookies. */
	{
		char v[16];
		CHECK_INT(cl_cookie_find("a=1; b=22", "b", v, sizeof(v)), 0);
		CHECK_STR(v, "22");
		CHECK_INT(cl_cookie_find("ab=1", "b", v, sizeof(v)), -1);
		CHECK_INT(cl_cookie_find("b=", "b", v, sizeof(v)), -1);
		CHECK_INT(cl_cookie_find("b=0123456789abcdef", "b", v, sizeof(v)), -1);
	}

	/* Chunked bodies end after the last chunk and its trailer, however they are fed. */
	{
		const char *body = "5\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nNEXT";
		for (size_t n = 1; n <= strlen(body); n++) {
			CHECK_INT(chunks(body, n, &done), (long)strlen(body) - 4);
			CHECK_INT(done, 1);
		}
		CHECK_INT(chunks("3\nabc\n0\n\nGET", 100, &done), 9);
		CHECK_INT(done, 1);
		CHECK_INT(chunks("5\r\nhel", 100, &done), 6);
		CHECK_INT(done, 0);
		CHECK_INT(chunks("5;ext=1\r\nhello\r\n0\r\n\r\n", 100, &done), -1);
		CHECK_INT(chunks("5\r\nhelloX\r\n", 100, &done), -1);
		CHECK_INT(chunks("\r\n", 100, &done), -1);
		CHECK_INT(chunks("1000000000000000\r\n", 100, &done), -1);
	}
	TEST_DONE();
}
