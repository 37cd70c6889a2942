/* pbxframe.c : owns framing PBX traffic (AMI blocks, ESL Content-Length messages)
 * and writing the §3 event lines the translators produce (pure). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/pbxframe.h"
#include "callogd/sha256.h"
#include "callogd/util.h"

struct cl_pbx_framer {
	enum cl_pbx_proto proto;
	size_t max;
	char *buf;
	size_t start, len, cap; /* live bytes: buf[start .. start + len) */
	size_t scanned;         /* bytes from start already searched for a blank line */
	size_t want;            /* ESL: the whole message's length once its envelope is read, else 0 */
	int need_banner;        /* AMI greets with one line before any block */
	char *body;             /* ESL bodies are copied here: max + 1 bytes */
};

struct cl_pbx_framer *
cl_pbx_framer_new(enum cl_pbx_proto proto, size_t max)
{
	struct cl_pbx_framer *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->proto = proto;
	f->max = max;
	f->cap = (proto == CL_PBX_ESL ? 2 * max : max) + 1; /* ESL: an envelope and a body, each up to max */
	if ((f->buf = malloc(f->cap + 1)) == NULL || (f->body = malloc(max + 1)) == NULL) {
		cl_pbx_framer_free(f);
		return NULL;
	}
	cl_pbx_framer_reset(f);
	return f;
}

void
cl_pbx_framer_free(struct cl_pbx_framer *f)
{
	if (f == NULL)
		return;
	free(f->buf);
	free(f->body);
	free(f);
}

void
cl_pbx_framer_reset(struct cl_pbx_framer *f)
{
	f->start = f->len = f->scanned = f->want = 0;
	f->need_banner = f->proto == CL_PBX_AMI;
}

size_t
cl_pbx_framer_feed(struct cl_pbx_framer *f, const void *data, size_t len)
{
	if (f->start > 0 && f->start + f->len + len > f->cap) {
		memmove(f->buf, f->buf + f->start, f->len);
		f->start = 0;
	}
	size_t room = f->cap - f->start - f->len;
	if (len > room)
		len = room;
	memcpy(f->buf + f->start + f->len, data, len);
	f->len += len;
	return len;
}

/* The end of the first blank line in p[0..len) searched from `from`: the header
 * block is p[0..*hdr_end), the next byte after the blank line is the return
 * value; 0 when there is none yet. */
static size_t
find_blank(const char *p, size_t len, size_t from, size_t *hdr_end)
{
	for (size_t i = from; i < len; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < len && p[i + 1] == '\n') {
			*hdr_end = i + 1;
			return i + 2;
		}
		if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n') {
			*hdr_end = i + 1;
			return i + 3;
		}
	}
	return 0;
}

static void
trim_right(char *s, char *end)
{
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
url_decode(char *s)
{
	char *o = s;

	for (; *s; s++) {
		int hi, lo;
		if (*s == '%' && (hi = hexval(s[1])) >= 0 && (lo = hexval(s[2])) >= 0 && (hi | lo) != 0) {
			*o++ = (char)(hi * 16 + lo);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

size_t
cl_pbx_parse_headers(char *text, size_t len, int urldecode, struct cl_pbx_frame *fr)
{
	size_t i = 0;

	fr->n = fr->dropped = fr->bad = fr->banner = 0;
	fr->body = NULL;
	fr->body_len = 0;
	while (i < len) {
		char *line = text + i, *nl = memchr(line, '\n', len - i);
		char *end = nl ? nl : text + len;
		i = nl ? (size_t)(nl - text) + 1 : len;
		trim_right(line, end);
		if (line[0] == '\0')
			break; /* the blank line ends the block */
		char *colon = strchr(line, ':');
		if (colon == NULL || colon == line) {
			fr->bad++;
			continue;
		}
		char *val = colon + 1;
		*colon = '\0';
		trim_right(line, colon);
		while (*val == ' ' || *val == '\t')
			val++;
		if (urldecode)
			url_decode(val);
		if (fr->n == CL_PBX_MAX_HEADERS) {
			fr->dropped++;
			continue;
		}
		fr->h[fr->n].key = line;
		fr->h[fr->n].val = val;
		fr->n++;
	}
	return i;
}

const char *
cl_pbx_get(const struct cl_pbx_frame *fr, const char *key)
{
	for (int i = 0; i < fr->n; i++)
		if (strcmp(fr->h[i].key, key) == 0)
			return fr->h[i].val;
	return NULL;
}

/* An ESL envelope's Content-Length: -2 when absent, -1 when not a number. */
static long long
content_length(const char *p, size_t hdr_len)
{
	static const char name[] = "Content-Length:";
	size_t i = 0;

	while (i < hdr_len) {
		const char *line = p + i, *nl = memchr(line, '\n', hdr_len - i);
		size_t ll = nl ? (size_t)(nl - line) : hdr_len - i;
		i += ll + 1;
		if (ll < sizeof(name) - 1 || strncasecmp(line, name, sizeof(name) - 1) != 0)
			continue;
		size_t j = sizeof(name) - 1;
		long long v = 0;
		int digits = 0;
		while (j < ll && line[j] == ' ')
			j++;
		for (; j < ll && line[j] >= '0' && line[j] <= '9' && digits < 12; j++, digits++)
			v = v * 10 + (line[j] - '0');
		while (j < ll && (line[j] == ' ' || line[j] == '\r'))
			j++;
		return digits > 0 && j == ll ? v : -1;
	}
	return -2;
}

int
cl_pbx_framer_next(struct cl_pbx_framer *f, struct cl_pbx_frame *fr, char *err)
{
	char *p;
	size_t hdr_end = 0, next;

	/* Blank lines between frames are keep-alives, not frames. */
	while (f->len > 0 &&
	       (f->buf[f->start] == '\n' || (f->buf[f->start] == '\r' && f->len > 1 && f->buf[f->start + 1] == '\n'))) {
		size_t n = f->buf[f->start] == '\r' ? 2 : 1;
		f->start += n;
		f->len -= n;
		f->scanned = 0;
	}
	p = f->buf + f->start;
	if (f->want > f->len)
		return 0; /* the rest of a body is still to come */
	if (f->need_banner) {
		char *nl = memchr(p, '\n', f->len);
		if (nl == NULL) {
			if (f->len > f->max)
				goto too_long;
			return 0;
		}
		size_t n = (size_t)(nl - p) + 1;
		trim_right(p, nl);
		memset(fr, 0, offsetof(struct cl_pbx_frame, h));
		fr->banner = 1;
		fr->n = 1;
		fr->h[0].key = "Banner";
		fr->h[0].val = p;
		fr->body = NULL;
		fr->body_len = 0;
		f->start += n;
		f->len -= n;
		f->need_banner = 0;
		return 1;
	}
	next = find_blank(p, f->len, f->scanned > 2 ? f->scanned - 2 : 0, &hdr_end);
	if (next == 0) {
		f->scanned = f->len;
		if (f->len > f->max)
			goto too_long;
		return 0;
	}
	if (f->proto == CL_PBX_AMI) {
		if (next > f->max)
			goto too_long;
		cl_pbx_parse_headers(p, next, 0, fr);
		f->start += next;
		f->len -= next;
		f->scanned = 0;
		return 1;
	}
	if (next > f->max)
		goto too_long;
	long long cl = content_length(p, hdr_end);
	if (cl == -1) {
		snprintf(err, CL_ERR_LEN, "bad Content-Length");
		return -1;
	}
	if (cl > (long long)f->max) {
		snprintf(err, CL_ERR_LEN, "message body of %lld bytes is longer than %zu", cl, f->max);
		return -1;
	}
	size_t body = cl > 0 ? (size_t)cl : 0;
	if (f->len < next + body) {
		f->want = next + body;
		return 0;
	}
	memcpy(f->body, p + next, body);
	f->body[body] = '\0';
	cl_pbx_parse_headers(p, next, 0, fr);
	fr->body = cl >= 0 ? f->body : NULL;
	fr->body_len = body;
	f->start += next + body;
	f->len -= next + body;
	f->scanned = f->want = 0;
	return 1;
too_long:
	snprintf(err, CL_ERR_LEN, "frame longer than %zu bytes", f->max);
	return -1;
}

/* ---- lines out ---- */

void
cl_pbx_out_init(struct cl_pbx_out *o, size_t max)
{
	memset(o, 0, sizeof(*o));
	o->max = max;
}

void
cl_pbx_out_free(struct cl_pbx_out *o)
{
	free(o->buf);
	memset(o, 0, sizeof(*o));
}

void
cl_pbx_out_clear(struct cl_pbx_out *o)
{
	o->len = o->lines = 0;
	o->full = 0;
	if (o->buf)
		o->buf[0] = '\0';
}

int
cl_pbx_quote(const char *val, size_t max, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t srclen = strnlen(val, max), i = 0, n = 0;

	if (outlen < 3)
		return -1;
	out[n++] = '"';
	while (i < srclen) {
		unsigned char c = (unsigned char)val[i];
		size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		if (k > 1 && i + k > srclen && srclen == max)
			break; /* cut on a character boundary */
		if (k == 0 || (k > 1 && (i + k > srclen || !cl_utf8_valid(val + i, k)))) {
			c = '?';
			k = 1;
		}
		if (n + 8 >= outlen)
			return -1;
		if (k > 1) {
			memcpy(out + n, val + i, k);
			n += k;
		} else if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20) {
			memcpy(out + n, "\\u00", 4);
			out[n + 4] = hex[c >> 4];
			out[n + 5] = hex[c & 15];
			n += 6;
		} else {
			out[n++] = (char)c;
		}
		i += k;
	}
	out[n++] = '"';
	out[n] = '\0';
	return (int)n;
}

static void
line_put(struct cl_pbx_line *l, const char *s, size_t n)
{
	if (l->overflow || l->len + n >= sizeof(l->buf)) {
		l->overflow = 1;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

void
cl_pbx_line_str(struct cl_pbx_line *l, const char *key, const char *val, size_t max)
{
	char q[CL_NOTES_MAX * 6 + 3];
	int n;

	if (val == NULL)
		return;
	if (max > CL_NOTES_MAX)
		max = CL_NOTES_MAX;
	line_put(l, ",\"", 2);
	line_put(l, key, strlen(key));
	line_put(l, "\":", 2);
	if ((n = cl_pbx_quote(val, max, q, sizeof(q))) < 0)
		l->overflow = 1;
	else
		line_put(l, q, (size_t)n);
}

void
cl_pbx_line_raw(struct cl_pbx_line *l, const char *key, const char *json)
{
	line_put(l, ",\"", 2);
	line_put(l, key, strlen(key));
	line_put(l, "\":", 2);
	line_put(l, json, strlen(json));
}

void
cl_pbx_line_begin(struct cl_pbx_line *l, const char *type, const char *id, const char *call_id, int64_t ts_ms)
{
	l->len = 0;
	l->overflow = 0;
	l->buf[0] = '\0';
	line_put(l, "{\"type\":\"", 9);
	line_put(l, type, strlen(type));
	line_put(l, "\"", 1);
	cl_pbx_line_str(l, "id", id, CL_ID_MAX);
	cl_pbx_line_str(l, "call_id", call_id, CL_ID_MAX);
	if (ts_ms > 0) {
		char ts[CL_TIME_LEN];
		cl_time_format(ts_ms, ts);
		cl_pbx_line_str(l, "ts", ts, sizeof(ts));
	}
}

int
cl_pbx_line_end(struct cl_pbx_line *l, struct cl_pbx_out *o)
{
	line_put(l, "}\n", 2);
	if (l->overflow || o->len + l->len > o->max) {
		o->full = 1;
		return -1;
	}
	if (o->len + l->len + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		while (cap < o->len + l->len + 1)
			cap *= 2;
		char *nb = realloc(o->buf, cap);
		if (nb == NULL) {
			o->full = 1;
			return -1;
		}
		o->buf = nb;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, l->buf, l->len + 1);
	o->len += l->len;
	o->lines++;
	return 0;
}

/* ---- identifiers ---- */

void
cl_pbx_id(char *out, const char *prefix, const char *const *parts)
{
	char whole[1024];
	size_t n = 0;

	n = (size_t)snprintf(whole, sizeof(whole), "%s", prefix);
	for (int i = 0; parts[i] != NULL && n < sizeof(whole); i++)
		n += (size_t)snprintf(whole + n, sizeof(whole) - n, ":%s", parts[i]);
	if (n <= CL_ID_MAX) {
		memcpy(out, whole, n + 1);
		return;
	}
	char hex[CL_SHA256_HEX];
	cl_sha256_hex(whole, n < sizeof(whole) ? n : sizeof(whole) - 1, hex);
	snprintf(out, CL_ID_MAX + 1, "%.48s:h:%s", prefix, hex);
}

void
cl_pbx_copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

void
cl_pbx_channel_interface(const char *chan, char *out, size_t size)
{
	char *cut, *dash;

	cl_pbx_copy(out, size, chan);
	if ((cut = strchr(out, ';')) != NULL)
		*cut = '\0';
	/* Asterisk names a channel "<interface>-<8 hex digits>". */
	if ((dash = strrchr(out, '-')) != NULL && strlen(dash + 1) >= 6 &&
	    strspn(dash + 1, "0123456789abcdef") == strlen(dash + 1))
		*dash = '\0';
}

void
cl_pbx_interface_agent(const char *iface, char *out, size_t size)
{
	const char *slash = iface ? strchr(iface, '/') : NULL;
	char *at;

	cl_pbx_copy(out, size, slash ? slash + 1 : iface);
	if (slash && strncmp(iface, "Local/", 6) == 0 && (at = strchr(out, '@')) != NULL)
		*at = '\0';
}
