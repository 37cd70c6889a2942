/* httphead.c : owns reading an HTTP/1.1 request head and a chunked body's
 * framing without reading the body itself (pure: bytes in, facts out). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "callogd/httphead.h"
#include "callogd/util.h"

/* cl_httphead_end()'s scan state: bits of the line being read. */
#define ST_ONE 1   /* the line has a byte */
#define ST_TWO 2   /* ... and a second one */
#define ST_CR 4    /* its last byte is CR */
#define ST_FIRST 8 /* the request line has ended */

size_t
cl_httphead_end(const char *in, size_t len, size_t from, int *state)
{
	int st = *state;

	for (size_t i = from; i < len; i++) {
		if (in[i] == '\n') {
			int empty = !(st & ST_ONE) || (!(st & ST_TWO) && (st & ST_CR));
			if (empty && (st & ST_FIRST)) {
				*state = 0;
				return i + 1;
			}
			st = ST_FIRST;
			continue;
		}
		if (st & ST_ONE)
			st |= ST_TWO;
		st |= ST_ONE;
		st = in[i] == '\r' ? st | ST_CR : st & ~ST_CR;
	}
	*state = st;
	return 0;
}

int
cl_cookie_find(const char *header, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name), n;

	for (const char *p = header; p && (p = strstr(p, name)) != NULL; p += 1) {
		if ((p != header && p[-1] != ' ' && p[-1] != ';') || p[nlen] != '=')
			continue;
		p += nlen + 1;
		n = strcspn(p, "; ");
		if (n == 0 || n >= outlen)
			return -1;
		memcpy(out, p, n);
		out[n] = '\0';
		return 0;
	}
	return -1;
}

/* Trims spaces and tabs around [*s, *e). */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

static int
is_name(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

static enum cl_httphead_method
method_of(const char *s, size_t n)
{
	if (n == 3 && memcmp(s, "GET", 3) == 0)
		return CL_HTTP_GET;
	if (n == 4 && memcmp(s, "HEAD", 4) == 0)
		return CL_HTTP_HEAD;
	if (n == 4 && memcmp(s, "POST", 4) == 0)
		return CL_HTTP_POST;
	if ((n == 3 && memcmp(s, "PUT", 3) == 0) || (n == 5 && memcmp(s, "PATCH", 5) == 0))
		return CL_HTTP_BODY_OTHER;
	return CL_HTTP_OTHER;
}

/* The request line "METHOD SP URI SP VERSION" into h; -1 if malformed. */
static int
request_line(const char *s, const char *e, struct cl_httphead *h)
{
	const char *sp1 = memchr(s, ' ', (size_t)(e - s)), *sp2, *p, *q;
	size_t n;

	if (sp1 == NULL || sp1 == s || (sp2 = memchr(sp1 + 1, ' ', (size_t)(e - sp1 - 1))) == NULL || sp2 == sp1 + 1 ||
	    memchr(sp2 + 1, ' ', (size_t)(e - sp2 - 1)) != NULL || e - sp2 < 2)
		return -1;
	h->method = method_of(s, (size_t)(sp1 - s));
	p = sp1 + 1;
	/* The absolute form (http://host/path) routes by its path. */
	if ((size_t)(sp2 - p) > 8 && (strncasecmp(p, "http://", 7) == 0 || strncasecmp(p, "https://", 8) == 0)) {
		p = memchr(p + 7, '/', (size_t)(sp2 - p - 7));
		if (p == NULL)
			p = sp2;
	}
	for (q = p; q < sp2 && *q != '?' && *q != '#'; q++)
		;
	n = (size_t)(q - p);
	if (n > CL_HTTPHEAD_PATH_MAX)
		n = CL_HTTPHEAD_PATH_MAX;
	memcpy(h->path, p, n);
	h->path[n] = '\0';
	return 0;
}

static int
bearer_present(const char *s, const char *e)
{
	if (e - s < 7 || strncasecmp(s, "Bearer ", 7) != 0)
		return 0;
	for (s += 7; s < e && *s == ' '; s++)
		;
	return s < e;
}

int
cl_httphead_parse(const char *in, size_t len, const char *cookie_name, struct cl_httphead *h, char *err)
{
	const char *p = in, *end = in + len;
	int first = 1, seen_auth = 0, seen_cookie = 0, seen_te = 0;

	memset(h, 0, sizeof(*h));
	h->content_length = -1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e, *colon, *vs, *ve;
		if (nl == NULL)
			break;
		e = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (e == p) { /* the empty line that ends the head */
			if (first)
				goto malformed;
			break;
		}
		if (first) {
			if (request_line(p, e, h) < 0)
				goto malformed;
			first = 0;
			p = nl + 1;
			continue;
		}
		if (*p == ' ' || *p == '\t') {
			snprintf(err, CL_ERR_LEN, "folded header lines are not accepted");
			return 400;
		}
		if ((colon = memchr(p, ':', (size_t)(e - p))) == NULL || colon == p)
			goto malformed;
		vs = colon + 1;
		ve = e;
		trim(&vs, &ve);
		if (is_name(p, (size_t)(colon - p), "Content-Length")) {
			int64_t v = 0;
			if (vs == ve || ve - vs > 18)
				goto bad_length;
			for (const char *d = vs; d < ve; d++) {
				if (!isdigit((unsigned char)*d))
					goto bad_length;
				v = v * 10 + (*d - '0');
			}
			if (h->content_length >= 0 && h->content_length != v) {
				snprintf(err, CL_ERR_LEN, "conflicting Content-Length headers");
				return 400;
			}
			h->content_length = v;
		} else if (is_name(p, (size_t)(colon - p), "Transfer-Encoding")) {
			if (seen_te++ || !is_name(vs, (size_t)(ve - vs), "chunked")) {
				snprintf(err, CL_ERR_LEN, "only one Transfer-Encoding, chunked, is accepted");
				return 501;
			}
			h->chunked = 1;
		} else if (is_name(p, (size_t)(colon - p), "Authorization") && !seen_auth++) {
			h->bearer = bearer_present(vs, ve);
		} else if (is_name(p, (size_t)(colon - p), "Cookie") && !seen_cookie++ && cookie_name != NULL) {
			char v[CL_HTTPHEAD_COOKIE_MAX * 2 + 1];
			size_t n = (size_t)(ve - vs) < sizeof(v) - 1 ? (size_t)(ve - vs) : sizeof(v) - 1;
			memcpy(v, vs, n);
			v[n] = '\0';
			if (cl_cookie_find(v, cookie_name, h->cookie, sizeof(h->cookie)) < 0)
				h->cookie[0] = '\0';
		}
		p = nl + 1;
	}
	if (first)
		goto malformed;
	if (h->chunked && h->content_length >= 0) {
		snprintf(err, CL_ERR_LEN, "Content-Length and Transfer-Encoding together");
		return 400;
	}
	return 0;
bad_length:
	snprintf(err, CL_ERR_LEN, "a malformed Content-Length");
	return 400;
malformed:
	snprintf(err, CL_ERR_LEN, "a malformed request head");
	return 400;
}

/* cl_chunks states */
enum { CH_SIZE, CH_SIZE_LF, CH_DATA, CH_DATA_END, CH_DATA_LF, CH_TRAILER };

#define CHUNK_DIGITS_MAX 15 /* 60 bits */
#define TRAILER_LINE_MAX 8192

long
cl_chunks_feed(struct cl_chunks *c, const char *in, size_t len)
{
	size_t i = 0;

	while (i < len && !c->done) {
		char ch = in[i];
		switch (c->state) {
		case CH_SIZE:
			if (ch == '\r' || ch == '\n') {
				if (c->linelen == 0)
					return -1;
				c->state = CH_SIZE_LF;
				if (ch == '\r')
					break;
				/* fallthrough: a bare LF ends the size line too */
			} else {
				int v = isdigit((unsigned char)ch) ? ch - '0'
				        : ch >= 'a' && ch <= 'f'   ? ch - 'a' + 10
				        : ch >= 'A' && ch <= 'F'   ? ch - 'A' + 10
				                                   : -1;
				if (v < 0 || ++c->linelen > CHUNK_DIGITS_MAX)
					return -1;
				c->left = c->left * 16 + (uint64_t)v;
				break;
			}
			/* fallthrough */
		case CH_SIZE_LF:
			if (ch != '\n')
				return -1;
			c->linelen = 0;
			c->state = c->left == 0 ? CH_TRAILER : CH_DATA;
			break;
		case CH_DATA: {
			size_t n = len - i < c->left ? len - i : (size_t)c->left;
			c->left -= n;
			i += n;
			if (c->left == 0)
				c->state = CH_DATA_END;
			continue;
		}
		case CH_DATA_END:
		case CH_DATA_LF:
			if (ch == '\r' && c->state == CH_DATA_END) {
				c->state = CH_DATA_LF;
				break;
			}
			if (ch != '\n')
				return -1;
			c->state = CH_SIZE;
			break;
		case CH_TRAILER:
			if (ch == '\n') {
				if (c->linelen == 0)
					c->done = 1;
				c->linelen = 0;
			} else if (ch != '\r' && ++c->linelen > TRAILER_LINE_MAX) {
				return -1;
			}
			break;
		}
		i++;
	}
	return (long)i;
}
