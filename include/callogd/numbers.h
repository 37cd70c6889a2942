/* numbers.h : phone numbers to E.164 by the configured numbering rules (pure). */
#ifndef CALLOGD_NUMBERS_H
#define CALLOGD_NUMBERS_H

#include <stddef.h>

#define CL_NUMBER_LEN 33       /* "+" and at most 31 digits, NUL */
#define CL_NUMBER_MAX_INPUT 64 /* longer input is not a phone number */

struct cl_numbers {
	char country_code[8];         /* "1", "31", "44" */
	char national_prefix[8];      /* "1" (NANP), "0" */
	char international_prefix[8]; /* "011", "00" */
};

enum cl_number_result {
	CL_NUMBER_OK = 0,      /* out holds "+15551234567" or a short extension "2001" */
	CL_NUMBER_NONE = 1,    /* empty, anonymous, unknown, restricted, private, unavailable, withheld */
	CL_NUMBER_INVALID = 2, /* not a phone number (letters, too long, ...) */
};

/*
 * Fills rules from the three config strings; -1 (rules untouched) if any is too
 * long or not digits, the country code is not 1-3 digits starting 1-9, or both
 * prefixes are the same. NULL or "" prefixes mean none (Italy has no trunk prefix).
 */
int cl_numbers_init(struct cl_numbers *rules, const char *country_code, const char *national_prefix,
                    const char *international_prefix);
/*
 * cl_numbers_check() : the same rules without filling anything: 0, or -1 with
 * *field naming the bad one ("country_code", "national_prefix",
 * "international_prefix") and err saying why (errlen bytes).
 */
int cl_numbers_check(const char *country_code, const char *national_prefix, const char *international_prefix,
                     const char **field, char *err, size_t errlen);

/*
 * cl_number_normalize() : normalises in (NUL-terminated) into out
 * (CL_NUMBER_LEN bytes). out is "" unless the result is CL_NUMBER_OK.
 *
 * The rules, in order (docs/events.md):
 * - NULL or more than CL_NUMBER_MAX_INPUT bytes: NULL is NONE, too long INVALID.
 * - Leading and trailing spaces and tabs are trimmed.
 * - A "tel:", "sip:" or "sips:" URI (any case, optionally in <>) stands for its
 *   user part without URI parameters: "sip:+15551234567;user=phone@pbx" and
 *   "tel:+1-555-123-4567;ext=2" are "+15551234567". A SIP URI with no user part
 *   ("sip:pbx.example") is INVALID. No other scheme is recognised.
 * - "", "anonymous", "unknown", "restricted", "private", and also "unavailable"
 *   and "withheld" (any case) are NONE; so is "sip:anonymous@anonymous.invalid".
 * - Spaces, tabs and ( ) - . / are dropped; a '+' is allowed only first; any
 *   other byte (letters, '*', '#', ',', control bytes, non-ASCII) is INVALID.
 *   After a '+', "(0)" (the written optional trunk prefix, "+44 (0)20 ...") is dropped.
 * - With a '+': "+" and the digits, which must be 7..15 digits (E.164 allows at
 *   most 15; the shortest numbers in service have 7) not starting with 0.
 * - Without, fewer than 7 digits: an internal extension, kept as digits ("2001").
 * - Else the international prefix becomes '+'; else the national prefix becomes
 *   '+' and the country code; else '+' and the country code go in front. The
 *   result must again be 7..15 digits not starting with 0, or it is INVALID.
 */
enum cl_number_result cl_number_normalize(const struct cl_numbers *rules, const char *in, char *out);

#endif
