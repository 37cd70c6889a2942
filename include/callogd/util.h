/* util.h : small shared helpers: errors, time, strings. */
#ifndef CALLOGD_UTIL_H
#define CALLOGD_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define CL_ERR_LEN 256

/* Wall clock in milliseconds since the epoch (UTC). */
int64_t cl_now_ms(void);
/* Monotonic clock in microseconds. */
int64_t cl_mono_us(void);

#define CL_TIME_LEN 32
/* Formats ms as "2026-11-22T10:00:00.000Z" into buf (CL_TIME_LEN bytes). */
void cl_time_format(int64_t ms, char *buf);
/* Parses an RFC 3339 time (any offset, optional fraction); returns 0 or -1. */
int cl_time_parse(const char *s, int64_t *ms);

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; m 1..12), and back. */
int64_t cl_days_from_civil(int64_t y, int m, int d);
void cl_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* Fills buf with n cryptographically random bytes; 0 or -1. */
int cl_random_bytes(void *buf, size_t n);

/* Constant-time comparison of two equal-length buffers; 1 when equal. */
int cl_ct_equal(const void *a, const void *b, size_t n);

/* True when s (len bytes) is valid UTF-8 without NUL bytes. */
int cl_utf8_valid(const char *s, size_t len);
/* cl_utf8_copy() : copies src into dst (cap bytes), cut short at a character boundary, never mid-sequence. */
void cl_utf8_copy(char *dst, size_t cap, const char *src);

/*
 * cl_json_quote() : writes s as a JSON string literal (quotes included) into
 * out; returns its length, or -1 if it does not fit in outlen bytes with NUL.
 * s must be valid UTF-8.
 */
int cl_json_quote(const char *s, char *out, size_t outlen);

/* strdup that aborts on out-of-memory is NOT used: returns NULL like strdup. */
char *cl_strndup(const char *s, size_t n);

/* cl_mkdir_parent() : creates the directory that will hold path (one level, mode 0750); 0, or -1 with errno. */
int cl_mkdir_parent(const char *path);

#endif
