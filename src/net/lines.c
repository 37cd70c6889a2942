/* lines.c : owns line framing over an evbuffer: bounded lines, one report per
 * over-long line, its tail dropped up to the newline. */
#include <event2/buffer.h>

#include "callogd/lines.h"

void
cl_lines_init(struct cl_lines *f, size_t max)
{
	f->max = max;
	f->discard = 0;
	f->take = 0;
}

size_t
cl_lines_watermark(const struct cl_lines *f)
{
	return f->max + 2;
}

int
cl_lines_next(struct cl_lines *f, struct evbuffer *in, int eof, char **line, size_t *len)
{
	for (;;) {
		struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		size_t have = evbuffer_get_length(in), n, take;
		char *p;

		if (eol.pos < 0) {
			if (have == 0)
				return CL_LINE_MORE;
			if (f->discard || have > f->max + 1) { /* + 1: room for the CR of a CRLF */
				int report = !f->discard;
				evbuffer_drain(in, have);
				f->discard = !eof; /* the rest of the line is still to come */
				if (report)
					return CL_LINE_TOO_LONG;
				continue;
			}
			if (!eof)
				return CL_LINE_MORE;
			n = take = have; /* the last line of a body need not end with LF */
		} else {
			n = (size_t)eol.pos;
			take = n + 1;
			if (f->discard) { /* the end of an over-long line already answered */
				evbuffer_drain(in, take);
				f->discard = 0;
				continue;
			}
		}
		if (n > f->max + 1) {
			evbuffer_drain(in, take);
			return CL_LINE_TOO_LONG;
		}
		if ((p = (char *)evbuffer_pullup(in, (ev_ssize_t)take)) == NULL) {
			evbuffer_drain(in, take);
			return CL_LINE_NOMEM;
		}
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > f->max) {
			evbuffer_drain(in, take);
			return CL_LINE_TOO_LONG;
		}
		if (n == 0) { /* blank lines are keep-alives */
			evbuffer_drain(in, take);
			continue;
		}
		*line = p;
		*len = n;
		f->take = take;
		return CL_LINE_OK;
	}
}

void
cl_lines_done(struct cl_lines *f, struct evbuffer *in)
{
	evbuffer_drain(in, f->take);
	f->take = 0;
}
