/* lines.h : the one bounded line framer every line-based input goes through
 * (event sockets, console sockets, the bodies of POST /api/events and of the
 * console page's posts). A line ends with LF (a CR before it is dropped), is at
 * most max bytes, and blank lines are skipped. A longer line is reported once,
 * then what is left of it is dropped up to its newline (memcached's line
 * guard), so it gets exactly one answer and its tail is never read as a line. */
#ifndef CALLOGD_LINES_H
#define CALLOGD_LINES_H

#include <stddef.h>

struct evbuffer;

struct cl_lines {
	size_t max;  /* bytes per line, without its CR LF */
	int discard; /* inside an over-long line: drop up to its newline */
	size_t take; /* private: what cl_lines_done() drains */
};

enum cl_line_status {
	CL_LINE_MORE = 0,     /* no whole line buffered yet */
	CL_LINE_OK = 1,       /* *line, *len: one line */
	CL_LINE_TOO_LONG = 2, /* a line passed max: answer it once (too_long) */
	CL_LINE_NOMEM = 3,    /* a line could not be made contiguous: answer it once (storage), it is dropped */
};

void cl_lines_init(struct cl_lines *f, size_t max);
/* cl_lines_watermark() : the read high watermark a connection framed by f needs (a line, its CR and LF). */
size_t cl_lines_watermark(const struct cl_lines *f);
/*
 * cl_lines_next() : the next line of in. CL_LINE_OK sets *line (contiguous
 * inside in, not NUL-terminated) and *len; it stays valid until
 * cl_lines_done(), which the caller calls before asking again. With eof set
 * (the whole input is in, as an HTTP body) the bytes after the last LF are a
 * line too. Statuses other than OK have already consumed what they report.
 */
int cl_lines_next(struct cl_lines *f, struct evbuffer *in, int eof, char **line, size_t *len);
/* cl_lines_done() : consumes the line cl_lines_next() returned. */
void cl_lines_done(struct cl_lines *f, struct evbuffer *in);

#endif
