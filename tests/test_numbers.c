/* test_numbers.c : unit tests of E.164 normalisation (numbers.c) for NANP, NL and UK rules. */
#include <string.h>

#include "callogd/numbers.h"
#include "testutil.h"

static struct cl_numbers nanp, nl, uk;

/* Normalises in and checks both the result and the output text. */
#define NORM(rules, in, want_res, want_out)                                                                            \
	do {                                                                                                           \
		char tn_out[CL_NUMBER_LEN];                                                                            \
		memset(tn_out, 'x', sizeof(tn_out));                                                                   \
		CHECK_INT(cl_number_normalize(&(rules), (in), tn_out), (want_res));                                    \
		CHECK_STR(tn_out, (want_out));                                                                         \
	} while (0)

#define OK(rules, in, want) NORM(rules, in, CL_NUMBER_OK, want)
#define NONE(rules, in) NORM(rules, in, CL_NUMBER_NONE, "")
#define BAD(rules, in) NORM(rules, in, CL_NUMBER_INVALID, "")

static void
test_init(void)
{
	struct cl_numbers r;

	CHECK_INT(cl_numbers_init(&nanp, "1", "1", "011"), 0);
	CHECK_INT(cl_numbers_init(&nl, "31", "0", "00"), 0);
	CHECK_INT(cl_numbers_init(&uk, "44", "0", "00"), 0);
	CHECK_STR(nl.country_code, "31");
	CHECK_STR(nl.national_prefix, "0");
	CHECK_STR(nl.international_prefix, "00");

	/* Italy keeps its leading 0: an empty national prefix is allowed. */
	CHECK_INT(cl_numbers_init(&r, "39", "", "00"), 0);
	CHECK_INT(cl_numbers_init(&r, "39", NULL, NULL), 0);

	CHECK_INT(cl_numbers_init(&r, "", "0", "00"), -1); /* no country code */
	CHECK_INT(cl_numbers_init(&r, NULL, "0", "00"), -1);
	CHECK_INT(cl_numbers_init(&r, "1234", "0", "00"), -1); /* longer than 3 digits */
	CHECK_INT(cl_numbers_init(&r, "01", "0", "00"), -1);   /* starts with 0 */
	CHECK_INT(cl_numbers_init(&r, "+1", "1", "011"), -1);  /* not digits */
	CHECK_INT(cl_numbers_init(&r, "1", "a", "011"), -1);
	CHECK_INT(cl_numbers_init(&r, "1", "1", "01 1"), -1);
	CHECK_INT(cl_numbers_init(&r, "1", "12345678", "011"), -1); /* does not fit */
	CHECK_INT(cl_numbers_init(&r, "1", "1", "012345678"), -1);
	CHECK_INT(cl_numbers_init(&r, "31", "00", "00"), -1); /* ambiguous */
	/* A failed init leaves the rules untouched. */
	CHECK_INT(cl_numbers_init(&r, "44", "0", "00"), 0);
	CHECK_INT(cl_numbers_init(&r, "x", "0", "00"), -1);
	CHECK_STR(r.country_code, "44");
}

static void
test_nanp(void)
{
	OK(nanp, "+15551234567", "+15551234567");
	OK(nanp, "15551234567", "+15551234567"); /* national prefix 1 */
	OK(nanp, "5551234567", "+15551234567");  /* 10 digits */
	OK(nanp, "(555) 123-4567", "+15551234567");
	OK(nanp, "1 (555) 123-4567", "+15551234567");
	OK(nanp, "1-555-123-4567", "+15551234567");
	OK(nanp, "555.123.4567", "+15551234567");
	OK(nanp, "555/123/4567", "+15551234567");
	OK(nanp, "+1 555 123 4567", "+15551234567");
	OK(nanp, "555-1234", "+15551234");          /* 7 digits */
	OK(nanp, "01131201234567", "+31201234567"); /* international prefix 011 */
	OK(nanp, "011 44 20 7946 0018", "+442079460018");
	OK(nanp, "\t 5551234567 \t", "+15551234567");
	OK(nanp, "18005550100", "+18005550100");
	/* Extensions: fewer than 7 digits stay as they are, even with a prefix digit. */
	OK(nanp, "2001", "2001");
	OK(nanp, "1001", "1001");
	OK(nanp, "0", "0");
	OK(nanp, "011", "011");
	OK(nanp, "20-01", "2001");
	OK(nanp, "123456", "123456");
	/* The international prefix followed by too little is not a number. */
	BAD(nanp, "0111234");
	OK(nanp, "011123", "011123"); /* 6 digits: an extension */
}

static void
test_nl(void)
{
	OK(nl, "0201234567", "+31201234567");
	OK(nl, "020-123 45 67", "+31201234567");
	OK(nl, "06 12345678", "+31612345678");
	OK(nl, "0031201234567", "+31201234567");
	OK(nl, "00 1 555 123 4567", "+15551234567");
	OK(nl, "+31 20 123 4567", "+31201234567");
	OK(nl, "+31 (0)20 123 4567", "+31201234567"); /* the written optional prefix */
	OK(nl, "201234567", "+31201234567");          /* no prefix, 9 digits */
	OK(nl, "1234", "1234");
	OK(nl, "0800", "0800");
}

static void
test_uk(void)
{
	OK(uk, "020 7946 0018", "+442079460018");
	OK(uk, "(020) 7946 0018", "+442079460018");
	OK(uk, "07700 900123", "+447700900123");
	OK(uk, "+44 (0)20 7946 0018", "+442079460018");
	OK(uk, "+44 20 7946 0018", "+442079460018");
	OK(uk, "0044 20 7946 0018", "+442079460018");
	OK(uk, "00353 1 234 5678", "+35312345678");
	OK(uk, "+353 (0)1 234 5678", "+35312345678");
	OK(uk, "999", "999");
}

static void
test_none(void)
{
	NONE(nanp, "");
	NONE(nanp, "   ");
	NONE(nanp, "\t");
	NONE(nanp, NULL);
	NONE(nanp, "anonymous");
	NONE(nanp, "Anonymous");
	NONE(nanp, " ANONYMOUS ");
	NONE(nanp, "unknown");
	NONE(nanp, "Unknown");
	NONE(nanp, "restricted");
	NONE(nanp, "RESTRICTED");
	NONE(nanp, "private");
	NONE(nanp, "Private");
	NONE(nanp, "unavailable");
	NONE(nanp, "withheld");
	NONE(nanp, "sip:anonymous@anonymous.invalid"); /* RFC 3323 */
	NONE(nanp, "<sip:Anonymous@anonymous.invalid>");
	NONE(nanp, "tel:");
	BAD(nanp, "anonymous1");
	BAD(nanp, "anon");
	BAD(nanp, "private number");
}

static void
test_uri(void)
{
	OK(nanp, "sip:+15551234567@pbx.example", "+15551234567");
	OK(nanp, "SIP:+15551234567@pbx.example", "+15551234567");
	OK(nanp, "sips:+15551234567@pbx.example:5061", "+15551234567");
	OK(nanp, "<sip:+15551234567@pbx.example>", "+15551234567");
	OK(nanp, "sip:+15551234567;user=phone@pbx.example", "+15551234567");
	OK(nanp, "sip:5551234567@10.0.0.1;user=phone", "+15551234567");
	OK(nanp, "sip:2001@pbx.example", "2001");
	OK(nanp, "tel:+1-555-123-4567", "+15551234567");
	OK(nanp, "TEL:+1-555-123-4567", "+15551234567");
	OK(nanp, "tel:+1-555-123-4567;ext=22", "+15551234567");
	OK(nanp, "tel:7042;phone-context=example.com", "7042");
	OK(nl, "sip:0201234567@pbx.example", "+31201234567");
	BAD(nanp, "sip:pbx.example"); /* no user part: a host is not a number */
	BAD(nanp, "sip:10.0.0.1");
	BAD(nanp, "sip:alice@pbx.example"); /* a name, not a number */
	BAD(nanp, "mailto:5551234567");
	BAD(nanp, "http://5551234567");
	BAD(nanp, "tel:tel:5551234567");
}

static void
test_invalid(void)
{
	char in[CL_NUMBER_MAX_INPUT + 2];

	BAD(nanp, "abc");
	BAD(nanp, "555-CALL-NOW");
	BAD(nanp, "1-800-FLOWERS");
	BAD(nanp, "5551234567x12");
	BAD(nanp, "555 1234 ext 5");
	BAD(nanp, "*67 5551234567");
	BAD(nanp, "#31#5551234567");
	BAD(nanp, "555,1234567");
	BAD(nanp, "555;1234567");
	BAD(nanp, "+");
	BAD(nanp, "++15551234567");
	BAD(nanp, "1+5551234567"); /* '+' not at the start */
	BAD(nanp, "5551234567+");
	BAD(nanp, "()");
	BAD(nanp, "-");
	BAD(nanp, ". . .");
	BAD(nanp, "+0123456789"); /* country codes never start with 0 */
	BAD(nanp, "+123456");     /* too short for E.164 */
	BAD(nanp, "+2001");
	OK(nanp, "+1234567", "+1234567");
	OK(nanp, "+123456789012345", "+123456789012345"); /* 15 digits: the E.164 maximum */
	BAD(nanp, "+1234567890123456");                   /* 16 */
	BAD(nanp, "01112345678901234567");                /* 17 after the prefix */
	OK(nanp, "12345678901234", "+12345678901234");    /* 1 + 13 */
	BAD(nanp, "55512345678901234");                   /* 1 + 17 digits */
	BAD(nanp, "555 123 4567\n");
	BAD(nanp, "555\r1234567");
	BAD(nanp, "５５５１２３４５６７"); /* full-width digits are not ASCII digits */
	BAD(nanp, "555\xc2\xa0"
	          "1234567"); /* no-break space */
	BAD(nanp, "\xff\xfe");
	BAD(nanp, "0x5551234567");

	/* At most CL_NUMBER_MAX_INPUT bytes, padding included. */
	memset(in, ' ', sizeof(in));
	memcpy(in, "5551234567", 10);
	in[CL_NUMBER_MAX_INPUT] = '\0';
	OK(nanp, in, "+15551234567");
	in[CL_NUMBER_MAX_INPUT] = ' ';
	in[CL_NUMBER_MAX_INPUT + 1] = '\0';
	BAD(nanp, in);
	memset(in, '1', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	BAD(nanp, in);

	/* Zeroed rules (never initialised) cannot make a national number international. */
	{
		struct cl_numbers zero;
		memset(&zero, 0, sizeof(zero));
		BAD(zero, "5551234567");
		OK(zero, "+15551234567", "+15551234567");
		OK(zero, "2001", "2001");
	}
}

/* Every output fits CL_NUMBER_LEN and is "+digits" or a short run of digits. */
static void
test_shape(void)
{
	static const char *const inputs[] = {
	    "0",           "00",
	    "000",         "0000000",
	    "00000000",    "011",
	    "0110000000",  "1",
	    "1111111",     "11111111111111111",
	    "+1",          "+11",
	    "(((((5)))))", "5-5-5-5-5-5-5",
	    "0031",        "00310",
	    "0031 0",      "0 0 0 0 0 0 0 0 0 0",
	};
	char out[CL_NUMBER_LEN];

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		enum cl_number_result r = cl_number_normalize(&nanp, inputs[i], out);
		size_t n = strlen(out);
		CHECK(n < CL_NUMBER_LEN);
		if (r == CL_NUMBER_OK) {
			CHECK(n > 0);
			CHECK(out[0] == '+' ? n >= 8 && n <= 16 && out[1] != '0' : n < 7);
			for (size_t j = out[0] == '+'; j < n; j++)
				CHECK(out[j] >= '0' && out[j] <= '9');
		} else {
			CHECK_INT(n, 0);
		}
	}
}

int
main(void)
{
	test_init();
	test_nanp();
	test_nl();
	test_uk();
	test_none();
	test_uri();
	test_invalid();
	test_shape();
	TEST_DONE();
}
