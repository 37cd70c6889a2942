/* numbers.h : phone numbers to E.164 by the configured numbering rules (pure). */
#ifndef CALLOGD_NUMBERS_H
#define CALLOGD_NUMBERS_H

#define CL_NUMBER_LEN 33 /* "+" and at most 31 digits, NUL */
#define CL_NUMBER_MAX_INPUT 64 /* longer input is not a phone number */

struct cl_numbers {
	char country_code[8];         /* "1", "31", "44" */
	char national_prefix[8];      /* "1" (NANP), "0" */
	char international_prefix[8]; /* "011", "00" */
};

enum cl_number_result {
	CL_NUMBER_OK = 0,      /* out holds "+15551234567" or a short extension "2001" */
	CL_NUMBER_NONE = 1,    /* empty, anonymous, unknown, restricted, private */
	CL_NUMBER_INVALID = 2, /* not a phone number (letters, too long, ...) */
};

/* Fills rules from the three config strings; -1 if any is too long or not digits. */
int cl_numbers_init(struct cl_numbers *rules, const char *country_code, const char *national_prefix,
		    const char *international_prefix);

/*
 * cl_number_normalize() : normalises in (NUL-terminated) into out
 * (CL_NUMBER_LEN bytes). out is "" unless the result is CL_NUMBER_OK.
 */
enum cl_number_result cl_number_normalize(const struct cl_numbers *rules, const char *in, char *out);

#endif
