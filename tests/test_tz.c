/* test_tz.c : the TZif parser, POSIX rules and report intervals, against
 * known DST days and against glibc's own reading of the same tz database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "callogd/tz.h"
#include "callogd/util.h"
#include "testutil.h"

static int64_t
utc(const char *s)
{
	int64_t ms = 0;
	if (cl_time_parse(s, &ms) < 0)
		fprintf(stderr, "bad time in test: %s\n", s);
	return ms / 1000;
}

static struct cl_tz *
zone(const char *name)
{
	char err[CL_ERR_LEN];
	struct cl_tz *tz = cl_tz_load(name, err);
	if (!tz)
		fprintf(stderr, "%s\n", err);
	return tz;
}

static void
test_amsterdam_days(void)
{
	struct cl_tz *tz = zone("Europe/Amsterdam");
	CHECK(tz != NULL);
	if (!tz)
		return;
	/* The 25-hour day: clocks go back at 03:00 CEST. */
	int64_t d = cl_tz_floor(tz, CL_INTERVAL_DAY, utc("2026-10-25T12:00:00Z"));
	CHECK_INT(d, utc("2026-10-24T22:00:00Z"));
	CHECK_INT(cl_tz_next(tz, CL_INTERVAL_DAY, d) - d, 25 * 3600);
	int hours = 0;
	for (int64_t h = d; h < cl_tz_next(tz, CL_INTERVAL_DAY, d); h = cl_tz_next(tz, CL_INTERVAL_HOUR, h))
		hours++;
	CHECK_INT(hours, 25);
	/* The 23-hour day. */
	d = cl_tz_floor(tz, CL_INTERVAL_DAY, utc("2026-03-29T12:00:00Z"));
	CHECK_INT(d, utc("2026-03-28T23:00:00Z"));
	CHECK_INT(cl_tz_next(tz, CL_INTERVAL_DAY, d) - d, 23 * 3600);
	hours = 0;
	for (int64_t h = d; h < cl_tz_next(tz, CL_INTERVAL_DAY, d); h = cl_tz_next(tz, CL_INTERVAL_HOUR, h))
		hours++;
	CHECK_INT(hours, 23);
	/* Weeks start on Monday, months on the 1st, both at local midnight. */
	CHECK_INT(cl_tz_floor(tz, CL_INTERVAL_WEEK, utc("2026-10-25T12:00:00Z")), utc("2026-10-18T22:00:00Z"));
	CHECK_INT(cl_tz_next(tz, CL_INTERVAL_WEEK, utc("2026-10-18T22:00:00Z")), utc("2026-10-25T23:00:00Z"));
	CHECK_INT(cl_tz_floor(tz, CL_INTERVAL_MONTH, utc("2026-10-25T12:00:00Z")), utc("2026-09-30T22:00:00Z"));
	CHECK_INT(cl_tz_next(tz, CL_INTERVAL_MONTH, utc("2026-09-30T22:00:00Z")), utc("2026-10-31T23:00:00Z"));
	CHECK_INT(cl_tz_next(tz, CL_INTERVAL_MONTH, utc("2026-11-30T23:00:00Z")), utc("2026-12-31T23:00:00Z"));
	/* A wall time shown twice is its earlier instant; one never shown is the jump. */
	CHECK_INT(cl_tz_from_local(tz, 2026, 10, 25, 2, 30, 0), utc("2026-10-25T00:30:00Z"));
	CHECK_INT(cl_tz_from_local(tz, 2026, 3, 29, 2, 30, 0), utc("2026-03-29T01:00:00Z"));
	CHECK_INT(cl_tz_from_local(tz, 2026, 13, 1, 0, 0, 0), utc("2026-12-31T23:00:00Z")); /* normalised */
	/* Beyond the file's last transition, the POSIX footer rule applies. */
	CHECK_INT(cl_tz_offset(tz, utc("2040-03-25T00:59:59Z")), 3600);
	CHECK_INT(cl_tz_offset(tz, utc("2040-03-25T01:00:00Z")), 7200);
	CHECK_INT(cl_tz_offset(tz, utc("2040-10-28T00:59:59Z")), 7200);
	CHECK_INT(cl_tz_offset(tz, utc("2040-10-28T01:00:00Z")), 3600);
	char buf[64];
	cl_tz_format(tz, utc("2026-10-25T01:00:00Z") * 1000, 0, buf, sizeof(buf));
	CHECK_STR(buf, "2026-10-25T02:00:00+01:00");
	cl_tz_format(tz, utc("2026-10-25T00:00:00Z") * 1000 + 5, 1, buf, sizeof(buf));
	CHECK_STR(buf, "2026-10-25T02:00:00.005+02:00");
	CHECK_STR(cl_tz_name(tz), "Europe/Amsterdam");
	cl_tz_free(tz);
}

static void
test_southern_and_odd_zones(void)
{
	struct cl_tz *tz = zone("Australia/Sydney");
	CHECK(tz != NULL);
	if (tz) {
		/* 2040 is past the file's transitions: AEST-10AEDT,M10.1.0,M4.1.0/3 */
		CHECK_INT(cl_tz_offset(tz, utc("2040-01-15T00:00:00Z")), 11 * 3600);
		CHECK_INT(cl_tz_offset(tz, utc("2040-06-15T00:00:00Z")), 10 * 3600);
		int64_t d = cl_tz_floor(tz, CL_INTERVAL_DAY, utc("2026-10-04T06:00:00Z"));
		CHECK_INT(cl_tz_next(tz, CL_INTERVAL_DAY, d) - d, 23 * 3600);
		cl_tz_free(tz);
	}
	tz = zone("Asia/Kolkata");
	CHECK(tz != NULL);
	if (tz) {
		int64_t h = cl_tz_floor(tz, CL_INTERVAL_HOUR, utc("2026-05-01T10:10:00Z"));
		CHECK_INT(h, utc("2026-05-01T09:30:00Z")); /* 15:00 IST */
		CHECK_INT(cl_tz_next(tz, CL_INTERVAL_HOUR, h), utc("2026-05-01T10:30:00Z"));
		cl_tz_free(tz);
	}
	tz = zone("UTC");
	CHECK(tz != NULL);
	if (tz) {
		CHECK_INT(cl_tz_offset(tz, utc("2026-05-01T10:10:00Z")), 0);
		cl_tz_free(tz);
	}
}

/* glibc reads the same files independently: both must agree everywhere. */
static void
test_against_glibc(void)
{
	static const char *zones[] = {"Europe/Amsterdam", "America/New_York",    "Australia/Lord_Howe",
	                              "Europe/Dublin",    "America/Sao_Paulo",   "Africa/Casablanca",
	                              "Pacific/Chatham",  "America/St_Johns",    "Asia/Tehran",
	                              "Antarctica/Troll", "America/Los_Angeles", "Pacific/Apia"};
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		struct cl_tz *tz = zone(zones[z]);
		CHECK(tz != NULL);
		if (!tz)
			continue;
		setenv("TZ", zones[z], 1);
		tzset();
		int bad = 0;
		/* 1971..2060 in steps of just under 5 hours, and each second around transitions is
		 * covered by the day-interval check below. */
		for (int64_t t = 31536000; t < 2871763200LL && bad < 3; t += 17977) {
			time_t tt = (time_t)t;
			struct tm tm;
			localtime_r(&tt, &tm);
			if (tm.tm_gmtoff != cl_tz_offset(tz, t)) {
				fprintf(stderr, "%s at %lld: glibc %ld, ours %d\n", zones[z], (long long)t,
				        tm.tm_gmtoff, cl_tz_offset(tz, t));
				bad++;
			}
		}
		CHECK_INT(bad, 0);
		/* Every local midnight of 2026 and 2045: glibc's mktime agrees (where midnight exists). */
		bad = 0;
		for (int year = 2026; year <= 2045; year += 19) {
			for (int yday = 0; yday < 365 && bad < 3; yday++) {
				struct tm tm = {
				    .tm_year = year - 1900, .tm_mon = 0, .tm_mday = 1 + yday, .tm_isdst = -1};
				time_t g = mktime(&tm);
				int64_t ours = cl_tz_from_local(tz, year, 1, 1 + yday, 0, 0, 0);
				struct cl_tz_tm lt;
				cl_tz_local(tz, ours, &lt);
				if (lt.hour == 0 && lt.min == 0 && (int64_t)g != ours) {
					fprintf(stderr, "%s midnight %d+%d: glibc %lld, ours %lld\n", zones[z], year,
					        yday, (long long)g, (long long)ours);
					bad++;
				}
				/* A day's start and the next day's start are both that local date's midnight. */
				int64_t next = cl_tz_next(tz, CL_INTERVAL_DAY, cl_tz_floor(tz, CL_INTERVAL_DAY, ours));
				if (next - ours < 22 * 3600 || next - ours > 26 * 3600)
					bad++;
			}
		}
		CHECK_INT(bad, 0);
		cl_tz_free(tz);
	}
	unsetenv("TZ");
	tzset();
}

static void
test_hostile(void)
{
	char err[CL_ERR_LEN];
	CHECK(cl_tz_load("../../etc/passwd", err) == NULL);
	CHECK(strstr(err, "unknown time zone") != NULL);
	CHECK(cl_tz_load("/etc/passwd", err) == NULL);
	CHECK(cl_tz_load("Nowhere/Atlantis", err) == NULL);
	CHECK(cl_tz_load("Europe/Amsterdam\n", err) == NULL);
	CHECK(cl_tz_parse((const unsigned char *)"TZif", 4, "x", err) == NULL);
	CHECK(cl_tz_parse((const unsigned char *)"", 0, "x", err) == NULL);

	/* Every truncation and a flipped byte at every offset of a real file: parsed or
	 * refused, never a crash or a read out of bounds (ASan watches). */
	FILE *f = fopen("/usr/share/zoneinfo/Europe/Amsterdam", "rb");
	CHECK(f != NULL);
	if (!f)
		return;
	unsigned char buf[8192];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct cl_tz *whole = cl_tz_parse(buf, len, "Europe/Amsterdam", err);
	CHECK(whole != NULL);
	cl_tz_free(whole);
	int refused = 0;
	for (size_t n = 0; n < len; n++) {
		struct cl_tz *tz = cl_tz_parse(buf, n, "cut", err);
		if (!tz)
			refused++;
		cl_tz_free(tz);
	}
	CHECK(refused > 0);
	for (size_t i = 0; i < len; i++) {
		unsigned char *copy = malloc(len);
		memcpy(copy, buf, len);
		copy[i] ^= 0xA5;
		struct cl_tz *tz = cl_tz_parse(copy, len, "flipped", err);
		if (tz) { /* whatever it parsed must answer without crashing */
			(void)cl_tz_offset(tz, 1800000000);
			(void)cl_tz_floor(tz, CL_INTERVAL_MONTH, 1800000000);
		}
		cl_tz_free(tz);
		free(copy);
	}
}

static void
test_intervals(void)
{
	CHECK_INT(cl_interval_parse("hour"), CL_INTERVAL_HOUR);
	CHECK_INT(cl_interval_parse("week"), CL_INTERVAL_WEEK);
	CHECK_INT(cl_interval_parse("total"), CL_INTERVAL_TOTAL);
	CHECK_INT(cl_interval_parse("Day"), -1);
	CHECK_INT(cl_interval_parse(NULL), -1);
	CHECK_STR(cl_interval_name(CL_INTERVAL_MONTH), "month");
}

int
main(void)
{
	test_amsterdam_days();
	test_southern_and_odd_zones();
	test_against_glibc();
	test_hostile();
	test_intervals();
	TEST_DONE();
}
