/* tz.c : owns time zones: the TZif parser, POSIX TZ rules, and the local
 * calendar that report intervals are cut by. */
#include "callogd/tz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_MAX_TIMES 4096 /* transitions; real zones have under 400 */
#define TZ_MAX_TYPES 256  /* the format's own bound */
#define TZ_MAX_CHARS 512
#define TZ_MAX_LEAPS 256

/* One side of a POSIX TZ rule: "Mm.w.d", "Jn" or "n", then a time of day. */
struct tz_rule_date {
	char kind; /* 'M', 'J' or 'D' (zero-based day of year) */
	int month, week, wday, day;
	int32_t secs; /* local time of day of the change, may be < 0 or > 24 h */
};

struct tz_posix {
	int valid, has_dst;
	int32_t std_off, dst_off; /* seconds east of UTC */
	struct tz_rule_date start, end;
};

struct cl_tz {
	char name[CL_TZ_NAME_MAX + 1];
	size_t n;         /* transitions */
	int64_t *times;   /* ascending */
	int32_t *offsets; /* offsets[i] holds from times[i] */
	int32_t first;    /* the offset before the first transition */
	struct tz_posix posix;
};

/* ---- the POSIX TZ footer ---- */

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static const char *
posix_name(const char *p)
{
	if (*p == '<') {
		while (*p && *p != '>')
			p++;
		return *p == '>' ? p + 1 : NULL;
	}
	const char *s = p;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]], hours up to 167 (TZif v3 rule times) */
static const char *
posix_time(const char *p, int32_t *out)
{
	int sign = 1;
	int32_t v[3] = {0, 0, 0};

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	for (int i = 0; i < 3; i++) {
		if (i > 0) {
			if (*p != ':')
				break;
			p++;
		}
		if (*p < '0' || *p > '9')
			return NULL;
		int n = 0;
		while (*p >= '0' && *p <= '9' && n < 3) {
			v[i] = v[i] * 10 + (*p++ - '0');
			n++;
		}
	}
	if (v[0] > 167 || v[1] > 59 || v[2] > 59)
		return NULL;
	*out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	return p;
}

static const char *
posix_num(const char *p, int lo, int hi, int *out)
{
	int v = 0, n = 0;

	while (*p >= '0' && *p <= '9' && n < 4) {
		v = v * 10 + (*p++ - '0');
		n++;
	}
	if (n == 0 || v < lo || v > hi)
		return NULL;
	*out = v;
	return p;
}

static const char *
posix_date(const char *p, struct tz_rule_date *r)
{
	if (*p == 'M') {
		r->kind = 'M';
		if (!(p = posix_num(p + 1, 1, 12, &r->month)) || *p++ != '.' || !(p = posix_num(p, 1, 5, &r->week)) ||
		    *p++ != '.' || !(p = posix_num(p, 0, 6, &r->wday)))
			return NULL;
	} else if (*p == 'J') {
		r->kind = 'J';
		if (!(p = posix_num(p + 1, 1, 365, &r->day)))
			return NULL;
	} else {
		r->kind = 'D';
		if (!(p = posix_num(p, 0, 365, &r->day)))
			return NULL;
	}
	r->secs = 7200;
	if (*p == '/' && !(p = posix_time(p + 1, &r->secs)))
		return NULL;
	return p;
}

/* "CET-1CEST,M3.5.0,M10.5.0/3": offsets are west of UTC in the string. */
static int
posix_parse(const char *s, struct tz_posix *tz)
{
	const char *p = s;
	int32_t off;

	memset(tz, 0, sizeof(*tz));
	if (!(p = posix_name(p)) || !(p = posix_time(p, &off)))
		return -1;
	tz->std_off = -off;
	if (*p == '\0') {
		tz->valid = 1;
		return 0;
	}
	if (!(p = posix_name(p)))
		return -1;
	tz->dst_off = tz->std_off + 3600;
	if (*p != ',' && *p != '\0') {
		if (!(p = posix_time(p, &off)))
			return -1;
		tz->dst_off = -off;
	}
	if (*p != ',') /* a DST zone without rules: not guessable, refuse */
		return -1;
	if (!(p = posix_date(p + 1, &tz->start)) || *p++ != ',' || !(p = posix_date(p, &tz->end)) || *p != '\0')
		return -1;
	tz->has_dst = 1;
	tz->valid = 1;
	return 0;
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Seconds from the epoch to local midnight of the rule's day in year y, plus its time. */
static int64_t
rule_local(const struct tz_rule_date *r, int64_t y)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t day;

	if (r->kind == 'J') { /* 1..365, February 29 never counted */
		day = cl_days_from_civil(y, 1, 1) + r->day - 1;
		if (is_leap(y) && r->day >= 60)
			day++;
	} else if (r->kind == 'D') {
		day = cl_days_from_civil(y, 1, 1) + r->day;
	} else {
		int64_t first = cl_days_from_civil(y, r->month, 1);
		int wd = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
		int64_t d = first + (r->wday - wd + 7) % 7 + (int64_t)(r->week - 1) * 7;
		int len = mdays[r->month - 1] + (r->month == 2 && is_leap(y));
		while (d >= first + len)
			d -= 7;
		day = d;
	}
	return day * 86400 + r->secs;
}

static int32_t
posix_offset(const struct tz_posix *tz, int64_t t)
{
	if (!tz->has_dst)
		return tz->std_off;
	int64_t y;
	int m, d;
	cl_civil_from_days(floor_div(t + tz->std_off, 86400), &y, &m, &d);
	/* The start is given in standard time, the end in daylight time. */
	int64_t start = rule_local(&tz->start, y) - tz->std_off;
	int64_t end = rule_local(&tz->end, y) - tz->dst_off;
	int in_dst = start < end ? (t >= start && t < end) : (t < end || t >= start);
	return in_dst ? tz->dst_off : tz->std_off;
}

/* ---- TZif ---- */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_hdr {
	uint32_t isut, isstd, leap, time, type, chars;
};

static int
tzif_header(const unsigned char *p, size_t len, struct tzif_hdr *h, int *version)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	*version = p[4] ? p[4] - '0' : 1;
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	if (h->time > TZ_MAX_TIMES || h->type == 0 || h->type > TZ_MAX_TYPES || h->chars > TZ_MAX_CHARS ||
	    h->leap > TZ_MAX_LEAPS || (h->isut != 0 && h->isut != h->type) || (h->isstd != 0 && h->isstd != h->type))
		return -1;
	return 0;
}

static size_t
tzif_block_len(const struct tzif_hdr *h, size_t tsize)
{
	return h->time * tsize + h->time + h->type * 6 + h->chars + h->leap * (tsize + 4) + h->isstd + h->isut;
}

void
cl_tz_free(struct cl_tz *tz)
{
	if (!tz)
		return;
	free(tz->times);
	free(tz->offsets);
	free(tz);
}

struct cl_tz *
cl_tz_parse(const unsigned char *buf, size_t len, const char *name, char *err)
{
	struct tzif_hdr h;
	struct cl_tz *tz = NULL;
	int version;
	size_t tsize = 4, off = 44;

	if (tzif_header(buf, len, &h, &version) < 0)
		goto bad;
	if (version >= 2) { /* skip the 32-bit block, use the 64-bit one */
		off += tzif_block_len(&h, 4);
		if (off > len || tzif_header(buf + off, len - off, &h, &version) < 0)
			goto bad;
		off += 44;
		tsize = 8;
	}
	if (tzif_block_len(&h, tsize) > len - off)
		goto bad;
	if (!(tz = calloc(1, sizeof(*tz))))
		goto oom;
	snprintf(tz->name, sizeof(tz->name), "%s", name ? name : "");
	tz->n = h.time;
	if (h.time &&
	    (!(tz->times = malloc(h.time * sizeof(int64_t))) || !(tz->offsets = malloc(h.time * sizeof(int32_t)))))
		goto oom;
	const unsigned char *tp = buf + off, *ip = tp + h.time * tsize, *ty = ip + h.time;
	for (size_t i = 0; i < h.time; i++) {
		tz->times[i] = tsize == 8 ? be64(tp + i * 8) : (int64_t)(int32_t)be32(tp + i * 4);
		if (i > 0 && tz->times[i] <= tz->times[i - 1])
			goto bad;
		if (ip[i] >= h.type)
			goto bad;
		tz->offsets[i] = (int32_t)be32(ty + ip[i] * 6);
	}
	/* Before the first transition: the first standard-time type (RFC 8536 3.2). */
	tz->first = (int32_t)be32(ty);
	for (uint32_t i = 0; i < h.type; i++) {
		if (!ty[i * 6 + 4]) {
			tz->first = (int32_t)be32(ty + i * 6);
			break;
		}
	}
	for (size_t i = 0; i < h.time; i++)
		if (tz->offsets[i] < -26 * 3600 || tz->offsets[i] > 26 * 3600)
			goto bad;
	off += tzif_block_len(&h, tsize);
	if (tsize == 8 && off < len && buf[off] == '\n') {
		const unsigned char *s = buf + off + 1, *e = memchr(s, '\n', len - off - 1);
		char footer[128];
		if (!e || (size_t)(e - s) >= sizeof(footer))
			goto bad;
		memcpy(footer, s, (size_t)(e - s));
		footer[e - s] = '\0';
		if (footer[0] && posix_parse(footer, &tz->posix) < 0)
			goto bad;
	}
	return tz;
bad:
	snprintf(err, CL_ERR_LEN, "time zone %s: not a valid TZif file", name ? name : "");
	cl_tz_free(tz);
	return NULL;
oom:
	snprintf(err, CL_ERR_LEN, "time zone %s: out of memory", name ? name : "");
	cl_tz_free(tz);
	return NULL;
}

static int
name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len > CL_TZ_NAME_MAX || n[0] == '/' || strstr(n, ".."))
		return 0;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '/' ||
		      *p == '_' || *p == '-' || *p == '+'))
			return 0;
	return 1;
}

static struct cl_tz *
load_file(const char *path, const char *name, char *err)
{
	unsigned char *buf = NULL;
	struct cl_tz *tz = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "rb");

	if (!f) {
		snprintf(err, CL_ERR_LEN, "unknown time zone %s", name);
		return NULL;
	}
	if (!(buf = malloc(CL_TZ_FILE_MAX + 1))) {
		snprintf(err, CL_ERR_LEN, "time zone %s: out of memory", name);
		goto done;
	}
	len = fread(buf, 1, CL_TZ_FILE_MAX + 1, f);
	if (ferror(f) || len > CL_TZ_FILE_MAX) {
		snprintf(err, CL_ERR_LEN, "time zone %s: %s", name, ferror(f) ? strerror(errno) : "file too large");
		goto done;
	}
	tz = cl_tz_parse(buf, len, name, err);
done:
	free(buf);
	fclose(f);
	return tz;
}

struct cl_tz *
cl_tz_load(const char *name, char *err)
{
	char path[512], host[CL_TZ_NAME_MAX + 2];
	const char *dir = getenv("TZDIR");

	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	if (!name || !*name) {
		FILE *f = fopen("/etc/timezone", "r");
		const char *label = "localtime";
		if (f) {
			if (fgets(host, sizeof(host), f)) {
				host[strcspn(host, "\r\n")] = '\0';
				if (name_ok(host))
					label = host;
			}
			fclose(f);
		}
		return load_file("/etc/localtime", label, err);
	}
	if (!name_ok(name)) {
		snprintf(err, CL_ERR_LEN, "unknown time zone %.64s", name);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return load_file(path, name, err);
}

const char *
cl_tz_name(const struct cl_tz *tz)
{
	return tz->name;
}

/* ---- the calendar ---- */

int32_t
cl_tz_offset(const struct cl_tz *tz, int64_t t)
{
	if (tz->n == 0 || t < tz->times[0])
		return tz->n == 0 && tz->posix.valid ? posix_offset(&tz->posix, t) : tz->first;
	if (t >= tz->times[tz->n - 1] && tz->posix.valid)
		return posix_offset(&tz->posix, t);
	size_t lo = 0, hi = tz->n; /* the last transition <= t */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (tz->times[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->offsets[lo];
}

void
cl_tz_local(const struct cl_tz *tz, int64_t t, struct cl_tz_tm *tm)
{
	int32_t off = cl_tz_offset(tz, t);
	int64_t l = t + off, days = floor_div(l, 86400), secs = l - days * 86400;

	cl_civil_from_days(days, &tm->year, &tm->month, &tm->day);
	tm->hour = (int)(secs / 3600);
	tm->min = (int)(secs / 60 % 60);
	tm->sec = (int)(secs % 60);
	tm->wday = (int)(((days + 3) % 7 + 7) % 7); /* 1970-01-01 was a Thursday (3 from Monday) */
	tm->offset = off;
}

int64_t
cl_tz_from_local(const struct cl_tz *tz, int64_t year, int64_t month, int64_t day, int64_t hour, int64_t min,
                 int64_t sec)
{
	int64_t m0 = month - 1;
	year += floor_div(m0, 12);
	m0 -= floor_div(m0, 12) * 12;
	int64_t l = (cl_days_from_civil(year, (int)m0 + 1, 1) + day - 1) * 86400 + hour * 3600 + min * 60 + sec;
	/* The offsets in force a day either side bracket any transition near l. */
	int32_t ob = cl_tz_offset(tz, l - 86400 - 26 * 3600), oa = cl_tz_offset(tz, l + 86400 + 26 * 3600);
	int64_t tb = l - ob, ta = l - oa;
	int vb = cl_tz_offset(tz, tb) == ob, va = cl_tz_offset(tz, ta) == oa;

	if (vb && va)
		return tb < ta ? tb : ta;
	if (vb || va)
		return vb ? tb : ta;
	int32_t om = cl_tz_offset(tz, l - ob / 2 - oa / 2); /* a third offset in between (rare) */
	if (cl_tz_offset(tz, l - om) == om)
		return l - om;
	/* A gap: the first instant at or after which the clock reads past l. */
	int64_t lo = (ta < tb ? ta : tb) - 86400, hi = (ta > tb ? ta : tb) + 86400;
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (mid + cl_tz_offset(tz, mid) >= l)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

static const char *const interval_names[] = {"hour", "day", "week", "month", "total"};

int
cl_interval_parse(const char *s)
{
	for (int i = 0; i <= CL_INTERVAL_TOTAL; i++)
		if (s && strcmp(s, interval_names[i]) == 0)
			return i;
	return -1;
}

const char *
cl_interval_name(enum cl_interval iv)
{
	return (unsigned)iv <= CL_INTERVAL_TOTAL ? interval_names[iv] : "?";
}

int64_t
cl_tz_floor(const struct cl_tz *tz, enum cl_interval iv, int64_t t)
{
	struct cl_tz_tm tm;

	cl_tz_local(tz, t, &tm);
	switch (iv) {
	case CL_INTERVAL_HOUR:
		return t - (tm.min * 60 + tm.sec);
	case CL_INTERVAL_DAY:
		return cl_tz_from_local(tz, tm.year, tm.month, tm.day, 0, 0, 0);
	case CL_INTERVAL_WEEK:
		return cl_tz_from_local(tz, tm.year, tm.month, tm.day - tm.wday, 0, 0, 0);
	case CL_INTERVAL_MONTH:
		return cl_tz_from_local(tz, tm.year, tm.month, 1, 0, 0, 0);
	default:
		return t;
	}
}

int64_t
cl_tz_next(const struct cl_tz *tz, enum cl_interval iv, int64_t start)
{
	struct cl_tz_tm tm;

	cl_tz_local(tz, start, &tm);
	switch (iv) {
	case CL_INTERVAL_HOUR: { /* the next time the wall clock shows minute 0 */
		int64_t n = cl_tz_floor(tz, iv, start + 3600);
		return n > start ? n : start + 3600;
	}
	case CL_INTERVAL_DAY:
		return cl_tz_from_local(tz, tm.year, tm.month, tm.day + 1, 0, 0, 0);
	case CL_INTERVAL_WEEK:
		return cl_tz_from_local(tz, tm.year, tm.month, tm.day - tm.wday + 7, 0, 0, 0);
	case CL_INTERVAL_MONTH:
		return cl_tz_from_local(tz, tm.year, tm.month + 1, 1, 0, 0, 0);
	default:
		return INT64_MAX;
	}
}

int
cl_tz_format(const struct cl_tz *tz, int64_t t_ms, int with_ms, char *out, size_t outlen)
{
	struct cl_tz_tm tm;
	int64_t t = floor_div(t_ms, 1000);
	int ms = (int)(t_ms - t * 1000), n;
	int32_t off;
	char frac[8] = "";

	cl_tz_local(tz, t, &tm);
	off = tm.offset < 0 ? -tm.offset : tm.offset;
	if (with_ms)
		snprintf(frac, sizeof(frac), ".%03d", ms);
	n = snprintf(out, outlen, "%04lld-%02d-%02dT%02d:%02d:%02d%s%c%02d:%02d", (long long)tm.year, tm.month, tm.day,
	             tm.hour, tm.min, tm.sec, frac, tm.offset < 0 ? '-' : '+', (int)(off / 3600), (int)(off / 60 % 60));
	return n < 0 ? 0 : n;
}
