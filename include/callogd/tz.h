/* tz.h : time zones from the system's tz database (TZif files), and the
 * calendar intervals reports count in: hours, days, weeks (from Monday) and
 * months in a zone's local time, DST included (a day may last 23 or 25 hours).
 *
 * The parser and the calendar are pure: cl_tz_parse() takes the bytes of a
 * TZif file, and a struct cl_tz is immutable once made, so one zone may be
 * shared by threads. cl_tz_load() is the only function that reads a file.
 */
#ifndef CALLOGD_TZ_H
#define CALLOGD_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "callogd/util.h"

#define CL_TZ_NAME_MAX 64           /* an IANA zone name, in bytes */
#define CL_TZ_FILE_MAX (256 * 1024) /* a TZif file larger than this is refused */

struct cl_tz;

/*
 * cl_tz_parse() : a zone from the bytes of a TZif file (version 1, 2 or 3;
 * the 64-bit data and the POSIX TZ footer are used when present). name is
 * kept for cl_tz_name(). NULL with err filled when the data is malformed or
 * exceeds the format's bounds.
 */
struct cl_tz *cl_tz_parse(const unsigned char *buf, size_t len, const char *name, char *err);

/*
 * cl_tz_load() : reads zone name ("Europe/Amsterdam") from $TZDIR or
 * /usr/share/zoneinfo; "" or NULL is the host's zone (/etc/localtime, named by
 * /etc/timezone when it exists, else "localtime"). Names are checked before any
 * path is built: letters, digits, '/', '_', '-', '+', no "..", no leading '/'.
 * NULL with err filled ("unknown time zone ...").
 */
struct cl_tz *cl_tz_load(const char *name, char *err);
/* cl_tz_free() : accepts NULL. */
void cl_tz_free(struct cl_tz *tz);
const char *cl_tz_name(const struct cl_tz *tz);

/* cl_tz_offset() : seconds east of UTC in tz at the instant t (Unix seconds). */
int32_t cl_tz_offset(const struct cl_tz *tz, int64_t t);

/*
 * cl_tz_from_local() : the instant at which tz's wall clock shows the given
 * local time (month 1..12, day 1..31; fields may overflow and are normalised,
 * as with mktime). A time shown twice (the hour DST ends) is its earlier
 * instant; a time never shown (the hour DST starts) is the instant the clock
 * jumps over it.
 */
int64_t cl_tz_from_local(const struct cl_tz *tz, int64_t year, int64_t month, int64_t day, int64_t hour, int64_t min,
                         int64_t sec);

/* The local calendar fields of instant t in tz. */
struct cl_tz_tm {
	int64_t year;
	int month, day, hour, min, sec; /* month 1..12, day 1..31 */
	int wday;                       /* 0 = Monday .. 6 = Sunday */
	int32_t offset;                 /* seconds east of UTC */
};
void cl_tz_local(const struct cl_tz *tz, int64_t t, struct cl_tz_tm *tm);

enum cl_interval { CL_INTERVAL_HOUR, CL_INTERVAL_DAY, CL_INTERVAL_WEEK, CL_INTERVAL_MONTH, CL_INTERVAL_TOTAL };

/* cl_interval_parse() : "hour", "day", "week", "month", "total"; -1 for anything else. */
int cl_interval_parse(const char *s);
const char *cl_interval_name(enum cl_interval iv);

/*
 * cl_tz_floor() : the start of the interval of kind iv that holds t, in tz's
 * calendar (hours are the wall clock's hours; a week starts on Monday). For
 * CL_INTERVAL_TOTAL, t itself.
 */
int64_t cl_tz_floor(const struct cl_tz *tz, enum cl_interval iv, int64_t t);
/* cl_tz_next() : the start of the interval after the one that starts at start
 * (INT64_MAX for CL_INTERVAL_TOTAL). */
int64_t cl_tz_next(const struct cl_tz *tz, enum cl_interval iv, int64_t start);

/*
 * cl_tz_format() : t_ms as RFC 3339 local time with the zone's offset,
 * "2026-10-25T02:00:00.000+01:00" (milliseconds when with_ms), into out
 * (at least 40 bytes). Returns the length.
 */
int cl_tz_format(const struct cl_tz *tz, int64_t t_ms, int with_ms, char *out, size_t outlen);

#endif
