/* numbers.c : owns E.164 normalisation of caller and customer numbers (pure). */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "callogd/numbers.h"

/*
 * E.164 allows at most 15 digits after the "+". The shortest numbers in use
 * (Niue, Tokelau, Saint Helena: a 3-digit country code and 4 digits) have 7,
 * so an explicit international number with fewer digits is not a number.
 */
#define E164_MAX_DIGITS 15
#define E164_MIN_DIGITS 7
/* Without a "+", shorter digit strings are internal extensions (docs/events.md). */
#define NATIONAL_MIN_DIGITS 7

/* The words PBXs and carriers put where a withheld number would be. */
static const char *const no_number_words[] = {
    "anonymous", "unknown", "restricted", "private", "unavailable", "withheld",
};

static int
all_digits(const char *s)
{
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int
copy_rule(char *dst, size_t len, const char *src)
{
	if (src == NULL)
		src = "";
	if (strlen(src) >= len || !all_digits(src))
		return -1;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

int
cl_numbers_check(const char *country_code, const char *national_prefix, const char *international_prefix,
                 const char **field, char *err, size_t errlen)
{
	struct cl_numbers r;

	memset(&r, 0, sizeof(r));
	if (copy_rule(r.country_code, sizeof(r.country_code), country_code) < 0) {
		*field = "country_code";
		snprintf(err, errlen, "must be 1 to 3 digits not starting with 0");
		return -1;
	}
	if (copy_rule(r.national_prefix, sizeof(r.national_prefix), national_prefix) < 0) {
		*field = "national_prefix";
		snprintf(err, errlen, "must be at most %zu digits", sizeof(r.national_prefix) - 1);
		return -1;
	}
	if (copy_rule(r.international_prefix, sizeof(r.international_prefix), international_prefix) < 0) {
		*field = "international_prefix";
		snprintf(err, errlen, "must be at most %zu digits", sizeof(r.international_prefix) - 1);
		return -1;
	}
	/* Country codes are 1 to 3 digits and never start with 0 (ITU-T E.164). */
	if (strlen(r.country_code) < 1 || strlen(r.country_code) > 3 || r.country_code[0] == '0') {
		*field = "country_code";
		snprintf(err, errlen, "must be 1 to 3 digits not starting with 0, not \"%s\"", r.country_code);
		return -1;
	}
	/* Equal prefixes would make every prefixed number ambiguous. */
	if (r.national_prefix[0] != '\0' && strcmp(r.national_prefix, r.international_prefix) == 0) {
		*field = "national_prefix";
		snprintf(err, errlen, "must differ from international_prefix (both \"%s\")", r.national_prefix);
		return -1;
	}
	return 0;
}

int
cl_numbers_init(struct cl_numbers *rules, const char *country_code, const char *national_prefix,
                const char *international_prefix)
{
	struct cl_numbers r;
	const char *field;
	char err[96];

	if (cl_numbers_check(country_code, national_prefix, international_prefix, &field, err, sizeof(err)) < 0)
		return -1;
	memset(&r, 0, sizeof(r));
	copy_rule(r.country_code, sizeof(r.country_code), country_code);
	copy_rule(r.national_prefix, sizeof(r.national_prefix), national_prefix);
	copy_rule(r.international_prefix, sizeof(r.international_prefix), international_prefix);
	*rules = r;
	return 0;
}

static int
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static int
starts_with_ci(const char *s, const char *end, const char *prefix)
{
	size_t n = strlen(prefix);

	return (size_t)(end - s) >= n && strncasecmp(s, prefix, n) == 0;
}

/*
 * Narrows [*s, *e) to the user part of a "tel:" or "sip:"/"sips:" URI, as PBXs
 * send them (optionally in angle brackets): "sip:+15551234567@pbx;user=phone"
 * -> "+15551234567", "tel:+1-555-123-4567;ext=12" -> "+1-555-123-4567". A SIP
 * URI without a user part names only a host, so it is no number: returns -1.
 */
static int
strip_uri(const char **s, const char **e)
{
	const char *p = *s, *end = *e, *q;
	int sip;

	if (end - p >= 2 && *p == '<' && end[-1] == '>') {
		p++;
		end--;
	}
	if (starts_with_ci(p, end, "tel:")) {
		sip = 0;
		p += 4;
	} else if (starts_with_ci(p, end, "sip:")) {
		sip = 1;
		p += 4;
	} else if (starts_with_ci(p, end, "sips:")) {
		sip = 1;
		p += 5;
	} else {
		return 0;
	}
	if (sip) {
		q = memchr(p, '@', (size_t)(end - p));
		if (q == NULL)
			return -1;
		end = q;
	}
	/* URI parameters (";user=phone", ";ext=", ";phone-context=") are not digits. */
	q = memchr(p, ';', (size_t)(end - p));
	if (q != NULL)
		end = q;
	while (p < end && is_blank((unsigned char)*p))
		p++;
	while (end > p && is_blank((unsigned char)end[-1]))
		end--;
	*s = p;
	*e = end;
	return 0;
}

static int
is_no_number(const char *s, const char *e)
{
	size_t n = (size_t)(e - s);

	if (n == 0)
		return 1;
	for (size_t i = 0; i < sizeof(no_number_words) / sizeof(no_number_words[0]); i++)
		if (strlen(no_number_words[i]) == n && strncasecmp(s, no_number_words[i], n) == 0)
			return 1;
	return 0;
}

static int
has_prefix(const char *digits, size_t n, const char *prefix)
{
	size_t pn = strlen(prefix);

	return pn > 0 && n > pn && memcmp(digits, prefix, pn) == 0;
}

/* "+" then digits (n of them): valid when E.164 would accept its length and country code. */
static enum cl_number_result
put_international(const char *digits, size_t n, char *out)
{
	if (n < E164_MIN_DIGITS || n > E164_MAX_DIGITS || digits[0] == '0')
		return CL_NUMBER_INVALID;
	out[0] = '+';
	memcpy(out + 1, digits, n);
	out[n + 1] = '\0';
	return CL_NUMBER_OK;
}

enum cl_number_result
cl_number_normalize(const struct cl_numbers *rules, const char *in, char *out)
{
	char digits[CL_NUMBER_MAX_INPUT + 1], joined[2 * CL_NUMBER_MAX_INPUT + 1];
	const char *s, *e;
	size_t len, n = 0, cc;
	int plus = 0;

	out[0] = '\0';
	if (in == NULL)
		return CL_NUMBER_NONE;
	len = strnlen(in, CL_NUMBER_MAX_INPUT + 1);
	if (len > CL_NUMBER_MAX_INPUT)
		return CL_NUMBER_INVALID;
	s = in;
	e = in + len;
	while (s < e && is_blank((unsigned char)*s))
		s++;
	while (e > s && is_blank((unsigned char)e[-1]))
		e--;
	if (strip_uri(&s, &e) < 0)
		return CL_NUMBER_INVALID;
	if (is_no_number(s, e))
		return CL_NUMBER_NONE;

	for (const char *p = s; p < e; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= '0' && c <= '9') {
			digits[n++] = (char)c;
		} else if (c == '+') {
			/* Only a leading "+" means international; "1+2" is not a number. */
			if (p != s)
				return CL_NUMBER_INVALID;
			plus = 1;
		} else if (plus && c == '(' && e - p >= 3 && p[1] == '0' && p[2] == ')') {
			/* "+44 (0)20 7946 0018": the written optional national prefix. */
			p += 2;
		} else if (!(is_blank(c) || c == '(' || c == ')' || c == '-' || c == '.' || c == '/')) {
			return CL_NUMBER_INVALID;
		}
	}
	if (n == 0)
		return CL_NUMBER_INVALID;
	digits[n] = '\0';

	if (plus)
		return put_international(digits, n, out);
	if (n < NATIONAL_MIN_DIGITS) {
		memcpy(out, digits, n + 1);
		return CL_NUMBER_OK;
	}
	/* The international prefix first: it is the longer one where both start alike ("00" vs "0"). */
	if (has_prefix(digits, n, rules->international_prefix)) {
		size_t pn = strlen(rules->international_prefix);
		return put_international(digits + pn, n - pn, out);
	}
	cc = strlen(rules->country_code);
	if (cc == 0)
		return CL_NUMBER_INVALID; /* rules not initialised: no way to make it international */
	memcpy(joined, rules->country_code, cc);
	if (has_prefix(digits, n, rules->national_prefix)) {
		size_t pn = strlen(rules->national_prefix);
		memcpy(joined + cc, digits + pn, n - pn);
		return put_international(joined, cc + n - pn, out);
	}
	memcpy(joined + cc, digits, n);
	return put_international(joined, cc + n, out);
}
