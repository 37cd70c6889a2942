/* test_lines.c : the line framer: bounds, CR LF, blank lines, one report per
 * over-long line and its tail dropped, the last line of a body. */
#include <string.h>

#include <event2/buffer.h>

#include "callogd/lines.h"
#include "testutil.h"

/* The next line as a string ("" for none), and its status. */
static int
next(struct cl_lines *f, struct evbuffer *in, int eof, char *out, size_t outlen)
{
	char *line;
	size_t n;
	int st = cl_lines_next(f, in, eof, &line, &n);

	out[0] = '\0';
	if (st == CL_LINE_OK) {
		snprintf(out, outlen, "%.*s", (int)n, line);
		cl_lines_done(f, in);
	}
	return st;
}

int
main(void)
{
	struct evbuffer *in = evbuffer_new();
	struct cl_lines f;
	char buf[64], big[100];

	cl_lines_init(&f, 10);
	CHECK_INT(cl_lines_watermark(&f), 12);

	/* Lines, CR LF, blank lines skipped, a partial line waits. */
	evbuffer_add_printf(in, "one\r\n\n\r\ntwo\nthr");
	CHECK_INT(next(&f, in, 0, buf, sizeof(buf)), CL_LINE_OK);
	CHECK_STR(buf, "one");
	CHECK_INT(next(&f, in, 0, buf, sizeof(buf)), CL_LINE_OK);
	CHECK_STR(buf, "two");
	CHECK_INT(next(&f, in, 0, buf, sizeof(buf)), CL_LINE_MORE);
	evbuffer_add_printf(in, "ee\n");
	CHECK_INT(next(&f, in, 0, buf, sizeof(buf)), CL_LINE_OK);
	CHECK_STR(buf, "three");

	/* Exactly max, with and without CR: a line; max + 1: too long. */
	evbuffer_add_printf(in, "0123456789\r\n0123456789\n0123456789A\nok\n");
	CHECK_INT(next(&f, in, 0, buf, sizeof(buf)), CL_LINE_OK);
	CHECK_STR(buf, "0123456789");
	CHECK_INT(next(&f, in, 0, buf, sizeof(buf)), CL_LINE_OK);
	CHECK_INT(next(&f, in, 0, buf, sizeof(buf)), CL_LINE_TOO_LONG);
	CHECK_INT(next(&f, in, 0, buf, sizeof(buf)), CL_LINE_OK);
	CHECK_STR(buf, "ok");

	/* max + CR with no LF yet is not too long: it may be a whole line. */
	evbuffer_add_printf(in, "0123456789\r");
	CHECK_INT(next(&f, in, 0, buf, sizeof(buf)), CL_LINE_MORE);
	evbuffer_add_printf(in, "\n");
	CHECK_INT(next(&f, in, 0, buf, sizeof(buf)), CL_LINE_OK);
	CHECK_STR(buf, "0123456789");

	/* Over-long with no LF: reported once, its tail (arriving later) dropped unread. */
	memset(big, 'x', sizeof(big));
	evbuffer_add(in, big, 20);
	CHECK_INT(next(&f, in, 0, buf, sizeof(buf)), CL_LINE_TOO_LONG);
	CHECK_INT(evbuffer_get_length(in), 0);
	evbuffer_add(in, big, 30);
	CHECK_INT(next(&f, in, 0, buf, sizeof(buf)), CL_LINE_MORE);
	evbuffer_add_printf(in, "tail\nnext\n");
	CHECK_INT(next(&f, in, 0, buf, sizeof(buf)), CL_LINE_OK);
	CHECK_STR(buf, "next");
	CHECK_INT(next(&f, in, 0, buf, sizeof(buf)), CL_LINE_MORE);

	/* A body: the last line needs no LF; an over-long last line is reported once. */
	evbuffer_add_printf(in, "a\nlast");
	CHECK_INT(next(&f, in, 1, buf, sizeof(buf)), CL_LINE_OK);
	CHECK_STR(buf, "a");
	CHECK_INT(next(&f, in, 1, buf, sizeof(buf)), CL_LINE_OK);
	CHECK_STR(buf, "last");
	CHECK_INT(next(&f, in, 1, buf, sizeof(buf)), CL_LINE_MORE);
	evbuffer_add(in, big, 40);
	CHECK_INT(next(&f, in, 1, buf, sizeof(buf)), CL_LINE_TOO_LONG);
	CHECK_INT(next(&f, in, 1, buf, sizeof(buf)), CL_LINE_MORE);
	CHECK_INT(f.discard, 0);

	evbuffer_free(in);
	TEST_DONE();
}
