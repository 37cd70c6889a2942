/* jsonscan.c : owns validating one JSON text without building a tree, and unescaping its strings (pure). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/jsonscan.h"

/* Keys of the open objects, for the duplicate check; more than this allocates. */
#define LOCAL_KEYS 64
/* Objects with at most this many keys are checked pair by pair, larger ones sorted. */
#define PAIRWISE_MAX 16
/* Significant digits kept when a real is close enough to DBL_MAX to need strtod (see real_overflows). */
#define REAL_DIGITS 400

struct key {
	uint64_t hash; /* of the decoded bytes */
	const unsigned char *p;
	size_t len;
	int escaped;
};

struct scanner {
	const unsigned char *p, *end;
	const char *what; /* why it failed */
	struct key local[LOCAL_KEYS], *keys;
	size_t nkeys, cap;
	/* One entry per open container: whether it is an object, and where its keys start. */
	unsigned char is_obj[CL_JSON_MAX_DEPTH];
	size_t key_start[CL_JSON_MAX_DEPTH];
};

static int
is_digit(unsigned c)
{
	return c - '0' < 10;
}

static int
hex_value(unsigned c)
{
	if (c - '0' < 10)
		return (int)(c - '0');
	c |= 0x20;
	if (c - 'a' < 6)
		return (int)(c - 'a' + 10);
	return -1;
}

/* Four hex digits at p (the caller checked they are in bounds); -1 if one is not. */
static long
hex4(const unsigned char *p)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int h = hex_value(p[i]);
		if (h < 0)
			return -1;
		v = (v << 4) | h;
	}
	return v;
}

static void
skip_ws(struct scanner *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int
fail(struct scanner *s, const char *what)
{
	s->what = what;
	return -1;
}

/*
 * One UTF-8 sequence starting at s->p (a byte >= 0x80): the shortest form of a
 * scalar value, as jansson and cl_utf8_valid() require.
 */
static int
scan_utf8(struct scanner *s)
{
	const unsigned char *p = s->p;
	unsigned c = *p, n, min;

	if ((c & 0xe0) == 0xc0)
		n = 1, min = 0x80, c &= 0x1f;
	else if ((c & 0xf0) == 0xe0)
		n = 2, min = 0x800, c &= 0x0f;
	else if ((c & 0xf8) == 0xf0)
		n = 3, min = 0x10000, c &= 0x07;
	else
		return fail(s, "invalid UTF-8");
	if ((size_t)(s->end - p) <= n)
		return fail(s, "invalid UTF-8");
	for (unsigned i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return fail(s, "invalid UTF-8");
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return fail(s, "invalid UTF-8");
	s->p = p + n + 1;
	return 0;
}

/*
 * A string whose opening quote is at s->p; leaves s->p after the closing one.
 * *escaped tells whether the contents hold a backslash.
 */
static int
scan_string(struct scanner *s, int *escaped)
{
	const unsigned char *p = s->p + 1, *end = s->end;

	*escaped = 0;
	for (;;) {
		/* The common run: printable ASCII other than '"' and '\\'. */
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		if (p >= end)
			return s->p = p, fail(s, "unterminated string");
		if (*p == '"')
			break;
		if (*p < 0x20)
			return s->p = p, fail(s, "control character in string");
		if (*p >= 0x80) {
			s->p = p;
			if (scan_utf8(s) < 0)
				return -1;
			p = s->p;
			continue;
		}
		/* A backslash. */
		*escaped = 1;
		if (end - p < 2)
			return s->p = p, fail(s, "unterminated string");
		switch (p[1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			p += 2;
			continue;
		case 'u':
			break;
		default:
			return s->p = p, fail(s, "invalid escape");
		}
		long v = end - p >= 6 ? hex4(p + 2) : -1;
		if (v < 0)
			return s->p = p, fail(s, "invalid \\u escape");
		/* jansson refuses NUL in any string (without JSON_ALLOW_NUL); so do we: C strings follow. */
		if (v == 0)
			return s->p = p, fail(s, "\\u0000 is not allowed");
		if (v >= 0xdc00 && v <= 0xdfff)
			return s->p = p, fail(s, "lone low surrogate");
		if (v >= 0xd800 && v <= 0xdbff) {
			long lo = end - p >= 12 && p[6] == '\\' && p[7] == 'u' ? hex4(p + 8) : -1;
			if (lo < 0xdc00 || lo > 0xdfff)
				return s->p = p, fail(s, "lone high surrogate");
			p += 6;
		}
		p += 6;
	}
	s->p = p + 1;
	return 0;
}

/*
 * Would strtod() overflow on this real? Decided from its decimal magnitude,
 * and by strtod itself only in the band [1e308, 1e309) where DBL_MAX lies; its
 * significant digits are then cut to REAL_DIGITS with a sticky digit for the
 * rest, which keeps the rounding exact (DBL_MAX's halfway point has 309).
 */
static int
real_overflows(const unsigned char *ip, size_t ilen, const unsigned char *fp, size_t flen, long long exp10)
{
	char buf[REAL_DIGITS + 32];
	long long mag; /* the value is in [10^(mag-1), 10^mag) */
	size_t n = 0, i;
	int sticky = 0;

	if (!(ilen == 1 && ip[0] == '0')) {
		mag = (long long)ilen;
	} else {
		for (i = 0; i < flen && fp[i] == '0'; i++)
			;
		if (i == flen)
			return 0; /* zero */
		mag = -(long long)i;
	}
	mag += exp10;
	if (mag <= 308)
		return 0;
	if (mag > 309)
		return 1;
	buf[n++] = '0';
	buf[n++] = '.';
	for (int part = 0; part < 2; part++) {
		const unsigned char *d = part ? fp : ip;
		size_t dl = part ? flen : ilen;
		for (i = 0; i < dl; i++) {
			if (n == 2 && d[i] == '0')
				continue; /* leading zeros */
			if (n < REAL_DIGITS + 2)
				buf[n++] = (char)d[i];
			else if (d[i] != '0')
				sticky = 1;
		}
	}
	if (sticky)
		buf[n++] = '1';
	memcpy(buf + n, "e309", 5);
	errno = 0;
	return strtod(buf, NULL) == HUGE_VAL && errno == ERANGE;
}

/* A number at s->p, in jansson's grammar and ranges (int64 for integers, finite doubles for reals). */
static int
scan_number(struct scanner *s)
{
	const unsigned char *p = s->p, *end = s->end, *ip, *fp = NULL;
	size_t ilen, flen = 0;
	long long exp10 = 0;
	int neg = 0, real = 0;

	if (*p == '-')
		neg = 1, p++;
	ip = p;
	if (p >= end || !is_digit(*p))
		return s->p = p, fail(s, "invalid number");
	if (*p == '0') {
		p++;
		if (p < end && is_digit(*p))
			return s->p = p, fail(s, "leading zero in number");
	} else {
		while (p < end && is_digit(*p))
			p++;
	}
	ilen = (size_t)(p - ip);
	if (p < end && *p == '.') {
		p++;
		fp = p;
		while (p < end && is_digit(*p))
			p++;
		if ((flen = (size_t)(p - fp)) == 0)
			return s->p = p, fail(s, "invalid number");
		real = 1;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		int eneg = 0;
		const unsigned char *ep;

		p++;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		ep = p;
		/* Saturated: past a billion the verdict no longer depends on it. */
		while (p < end && is_digit(*p)) {
			if (exp10 < 1000000000LL)
				exp10 = exp10 * 10 + (*p - '0');
			p++;
		}
		if (p == ep)
			return s->p = p, fail(s, "invalid number");
		if (eneg)
			exp10 = -exp10;
		real = 1;
	}
	if (!real) {
		/* jansson stores integers as int64 and refuses the rest. */
		static const char max[] = "9223372036854775807", min[] = "9223372036854775808";
		if (ilen > 19 || (ilen == 19 && memcmp(ip, neg ? min : max, 19) > 0))
			return fail(s, "integer out of range");
	} else if (real_overflows(ip, ilen, fp, flen, exp10)) {
		return fail(s, "real number overflow");
	}
	s->p = p;
	return 0;
}

static int
scan_literal(struct scanner *s, const char *word, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return fail(s, "invalid literal");
	s->p += n;
	return 0;
}

/*
 * Decoding of validated string contents, one unit at a time: a raw byte, or an
 * escape as its UTF-8 bytes. Used for unescaping and for comparing keys.
 */
struct decoder {
	const unsigned char *p, *end;
	unsigned char buf[4];
	unsigned i, n;
};

static unsigned
utf8_put(unsigned long c, unsigned char *out)
{
	if (c < 0x80) {
		out[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (unsigned char)(0xc0 | (c >> 6));
		out[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (c >> 12));
		out[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | (c >> 18));
	out[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}

/* The escape at p (a backslash, already validated) into out; returns its bytes, advances *pp. */
static unsigned
decode_escape(const unsigned char **pp, unsigned char *out)
{
	const unsigned char *p = *pp;
	unsigned long c;

	switch (p[1]) {
	case 'b':
		out[0] = '\b';
		break;
	case 'f':
		out[0] = '\f';
		break;
	case 'n':
		out[0] = '\n';
		break;
	case 'r':
		out[0] = '\r';
		break;
	case 't':
		out[0] = '\t';
		break;
	case 'u':
		c = (unsigned long)hex4(p + 2);
		*pp = p + 6;
		if (c >= 0xd800 && c <= 0xdbff) {
			c = 0x10000 + ((c - 0xd800) << 10) + ((unsigned long)hex4(p + 8) - 0xdc00);
			*pp = p + 12;
		}
		return utf8_put(c, out);
	default:
		out[0] = p[1];
		break; /* '"', '\\', '/' */
	}
	*pp = p + 2;
	return 1;
}

/* The next decoded byte, or -1 at the end. */
static int
decoder_next(struct decoder *d)
{
	if (d->i < d->n)
		return d->buf[d->i++];
	if (d->p >= d->end)
		return -1;
	if (*d->p != '\\')
		return *d->p++;
	d->n = decode_escape(&d->p, d->buf);
	d->i = 1;
	return d->buf[0];
}

static void
decoder_init(struct decoder *d, const unsigned char *p, size_t len)
{
	d->p = p;
	d->end = p + len;
	d->i = d->n = 0;
}

size_t
cl_json_unescape(const char *str, size_t len, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)str, *end = p + len;
	size_t n = 0;

	while (p < end) {
		const unsigned char *bs = memchr(p, '\\', (size_t)(end - p));
		size_t run = (size_t)((bs ? bs : end) - p);
		unsigned char u[4];
		unsigned k;

		if (n < cap)
			memcpy(out + n, p, run < cap - n ? run : cap - n);
		n += run;
		if (bs == NULL)
			break;
		p = bs;
		k = decode_escape(&p, u);
		for (unsigned i = 0; i < k; i++, n++)
			if (n < cap)
				out[n] = (char)u[i];
	}
	return n;
}

/* FNV-1a over the decoded bytes: equal keys hash equal whatever their escapes. */
static uint64_t
key_hash(const unsigned char *p, size_t len, int escaped)
{
	uint64_t h = 14695981039346656037ULL;
	struct decoder d;
	int c;

	if (!escaped) {
		for (size_t i = 0; i < len; i++)
			h = (h ^ p[i]) * 1099511628211ULL;
		return h;
	}
	decoder_init(&d, p, len);
	while ((c = decoder_next(&d)) >= 0)
		h = (h ^ (unsigned)c) * 1099511628211ULL;
	return h;
}

/* Orders keys by hash, then by decoded bytes: equal keys compare 0. */
static int
key_cmp(const void *va, const void *vb)
{
	const struct key *a = va, *b = vb;
	struct decoder da, db;
	int ca, cb;

	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	if (!a->escaped && !b->escaped) {
		int r = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);
		return r != 0 ? r : (a->len > b->len) - (a->len < b->len);
	}
	decoder_init(&da, a->p, a->len);
	decoder_init(&db, b->p, b->len);
	do {
		ca = decoder_next(&da);
		cb = decoder_next(&db);
	} while (ca == cb && ca >= 0);
	return (ca > cb) - (ca < cb);
}

/* Are two of keys[from..nkeys) equal? Pairs for a few keys; sorting bounds the work for many. */
static int
has_duplicate(struct scanner *s, size_t from)
{
	struct key *k = s->keys + from;
	size_t n = s->nkeys - from;

	if (n <= PAIRWISE_MAX) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (k[i].hash == k[j].hash && key_cmp(&k[i], &k[j]) == 0)
					return 1;
		return 0;
	}
	qsort(k, n, sizeof(*k), key_cmp);
	for (size_t i = 1; i < n; i++)
		if (key_cmp(&k[i - 1], &k[i]) == 0)
			return 1;
	return 0;
}

static int
add_key(struct scanner *s, const unsigned char *p, size_t len, int escaped)
{
	if (s->nkeys == s->cap) {
		size_t cap = s->cap * 2;
		struct key *k;

		if (cap > SIZE_MAX / sizeof(*k))
			return fail(s, "out of memory");
		if (s->keys == s->local) {
			if ((k = malloc(cap * sizeof(*k))) != NULL)
				memcpy(k, s->local, sizeof(s->local));
		} else {
			k = realloc(s->keys, cap * sizeof(*k));
		}
		if (k == NULL)
			return fail(s, "out of memory");
		s->keys = k;
		s->cap = cap;
	}
	s->keys[s->nkeys].p = p;
	s->keys[s->nkeys].len = len;
	s->keys[s->nkeys].escaped = escaped;
	s->keys[s->nkeys].hash = key_hash(p, len, escaped);
	s->nkeys++;
	return 0;
}

/*
 * The scan proper: an explicit stack of open containers instead of recursion,
 * so nesting costs a byte and a size_t per level and never the C stack.
 */
static int
scan(struct scanner *s, enum cl_json_type *top, cl_json_member_fn on_member, void *arg)
{
	struct cl_json_span key = {NULL, 0, CL_JSON_STRING, 0}, val = {NULL, 0, CL_JSON_NULL, 0};
	size_t depth = 0; /* open containers */
	int member = 0;   /* the value being read is a member of the top-level object */
	const unsigned char *start, *mstart = NULL;
	int esc;

	skip_ws(s);
value:
	/* jansson counts the value itself: one inside 2047 containers is the deepest allowed. */
	if (depth >= CL_JSON_MAX_DEPTH)
		return fail(s, "nesting too deep");
	if (s->p >= s->end)
		return fail(s, "unexpected end of text");
	start = s->p;
	if (depth == 1)
		mstart = start;
	switch (*s->p) {
	case '{':
		val.type = CL_JSON_OBJECT;
		s->is_obj[depth] = 1;
		s->key_start[depth] = s->nkeys;
		depth++;
		s->p++;
		skip_ws(s);
		if (s->p < s->end && *s->p == '}')
			goto close;
		goto key;
	case '[':
		val.type = CL_JSON_ARRAY;
		s->is_obj[depth] = 0;
		depth++;
		s->p++;
		skip_ws(s);
		if (s->p < s->end && *s->p == ']')
			goto close;
		goto value;
	case '"':
		if (scan_string(s, &esc) < 0)
			return -1;
		val.type = CL_JSON_STRING;
		val.escaped = esc;
		val.p = (const char *)start + 1;
		val.len = (size_t)(s->p - start) - 2;
		goto after;
	case 't':
		val.type = CL_JSON_TRUE;
		if (scan_literal(s, "true", 4) < 0)
			return -1;
		break;
	case 'f':
		val.type = CL_JSON_FALSE;
		if (scan_literal(s, "false", 5) < 0)
			return -1;
		break;
	case 'n':
		val.type = CL_JSON_NULL;
		if (scan_literal(s, "null", 4) < 0)
			return -1;
		break;
	default:
		if (*s->p != '-' && !is_digit(*s->p))
			return fail(s, "unexpected character");
		val.type = CL_JSON_NUMBER;
		if (scan_number(s) < 0)
			return -1;
		break;
	}
	val.p = (const char *)start;
	val.len = (size_t)(s->p - start);
	val.escaped = 0;
	goto after;

close:
	/* s->p is at the closing bracket of the innermost container. */
	depth--;
	if (s->is_obj[depth]) {
		if (has_duplicate(s, s->key_start[depth]))
			return fail(s, "duplicate object key");
		s->nkeys = s->key_start[depth];
	}
	s->p++;
	val.type = s->is_obj[depth] ? CL_JSON_OBJECT : CL_JSON_ARRAY;
	if (depth == 1) {
		/* A container directly inside the top level ends here: a member's whole value. */
		val.p = (const char *)mstart;
		val.len = (size_t)(s->p - mstart);
		val.escaped = 0;
	}

after:
	if (depth == 1 && member && on_member != NULL)
		on_member(arg, &key, &val);
	if (depth == 0) {
		skip_ws(s);
		if (s->p != s->end)
			return fail(s, "text after the value");
		*top = val.type;
		return 0;
	}
	skip_ws(s);
	if (s->p >= s->end)
		return fail(s, "unexpected end of text");
	if (s->is_obj[depth - 1]) {
		if (*s->p == '}')
			goto close;
		if (*s->p != ',')
			return fail(s, "',' or '}' expected");
		s->p++;
		skip_ws(s);
		goto key;
	}
	if (*s->p == ']')
		goto close;
	if (*s->p != ',')
		return fail(s, "',' or ']' expected");
	s->p++;
	skip_ws(s);
	goto value;

key:
	if (s->p >= s->end || *s->p != '"')
		return fail(s, "string or '}' expected");
	start = s->p;
	if (scan_string(s, &esc) < 0)
		return -1;
	if (add_key(s, start + 1, (size_t)(s->p - start) - 2, esc) < 0)
		return -1;
	if (depth == 1) {
		/* Only the top level's keys are reported; nested ones are only checked. */
		member = 1;
		key.p = (const char *)start + 1;
		key.len = (size_t)(s->p - start) - 2;
		key.escaped = esc;
	}
	skip_ws(s);
	if (s->p >= s->end || *s->p != ':')
		return fail(s, "':' expected");
	s->p++;
	skip_ws(s);
	goto value;
}

int
cl_json_scan(const char *text, size_t len, enum cl_json_type *top, cl_json_member_fn on_member, void *arg,
             size_t *err_pos, const char **err_what)
{
	struct scanner s;
	int r;

	s.p = (const unsigned char *)text;
	s.end = s.p + len;
	s.what = NULL;
	s.keys = s.local;
	s.nkeys = 0;
	s.cap = LOCAL_KEYS;
	r = scan(&s, top, on_member, arg);
	if (s.keys != s.local)
		free(s.keys);
	if (r < 0) {
		*err_pos = (size_t)((const char *)s.p - text);
		*err_what = s.what;
	}
	return r;
}
