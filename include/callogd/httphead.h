/* httphead.h : the pure reader of an HTTP/1.1 request's head and of a chunked
 * body's framing, for the gate in front of evhttp (http_gate.c): what a request
 * asks for, whether it carries credentials, and where its body ends, decided
 * before the body is read. It frames requests the way evhttp 2.1 does, and
 * refuses what the two could read differently (conflicting lengths, a transfer
 * coding other than chunked, folded header lines). */
#ifndef CALLOGD_HTTPHEAD_H
#define CALLOGD_HTTPHEAD_H

#include <stddef.h>
#include <stdint.h>

#define CL_HTTPHEAD_PATH_MAX 256   /* a longer path is kept cut (it routes nowhere) */
#define CL_HTTPHEAD_COOKIE_MAX 512 /* a longer session cookie is no cookie */

enum cl_httphead_method {
	CL_HTTP_GET,
	CL_HTTP_HEAD,
	CL_HTTP_POST,
	CL_HTTP_BODY_OTHER, /* PUT, PATCH: evhttp reads a body, we allow neither */
	CL_HTTP_OTHER,      /* no body (evhttp answers these itself) */
};

struct cl_httphead {
	enum cl_httphead_method method;
	char path[CL_HTTPHEAD_PATH_MAX + 1];     /* up to '?', raw (not decoded) */
	int64_t content_length;                  /* -1: none */
	int chunked;                             /* Transfer-Encoding: chunked */
	int bearer;                              /* an Authorization: Bearer with a token */
	char cookie[CL_HTTPHEAD_COOKIE_MAX + 1]; /* the session cookie's value, "" none */
};

/*
 * cl_httphead_end() : scans in[from..len) for the empty line that ends a head
 * starting at in[0]; *state carries the scan between calls (0 at the start of
 * a head). The head's length (through its empty line), or 0 when it has not
 * ended yet.
 */
size_t cl_httphead_end(const char *in, size_t len, size_t from, int *state);

/*
 * cl_httphead_parse() : reads a whole head (len bytes, through its empty line)
 * into h. 0, or the HTTP status to refuse it with (400 malformed or ambiguous,
 * 501 a transfer coding other than chunked), with a reason in err.
 */
int cl_httphead_parse(const char *in, size_t len, const char *cookie_name, struct cl_httphead *h, char *err);

/* cl_cookie_find() : the value of cookie name in a Cookie header, copied into out; -1 if absent or too long. */
int cl_cookie_find(const char *header, const char *name, char *out, size_t outlen);

/* A chunked body's framing: sizes, data, the last chunk, the trailer. */
struct cl_chunks {
	int state;
	uint64_t left;  /* data bytes left in this chunk */
	size_t linelen; /* bytes of the current size or trailer line */
	int done;       /* the body (with its trailer) has ended */
};

/*
 * cl_chunks_feed() : feeds len bytes of body; the number that belong to it
 * (fewer than len only once done is set), or -1 when the framing is malformed.
 */
long cl_chunks_feed(struct cl_chunks *c, const char *in, size_t len);

#endif
