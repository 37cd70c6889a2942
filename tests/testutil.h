/* testutil.h : the unit tests' few helpers: CHECK counts, main prints the tally. */
#ifndef CALLOGD_TESTUTIL_H
#define CALLOGD_TESTUTIL_H

#include <stdio.h>
#include <string.h>

static int tu_passed, tu_failed;

#define CHECK(cond)                                                                                                    \
	do {                                                                                                           \
		if (cond) {                                                                                            \
			tu_passed++;                                                                                   \
		} else {                                                                                               \
			tu_failed++;                                                                                   \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                       \
		}                                                                                                      \
	} while (0)

#define CHECK_STR(a, b)                                                                                                \
	do {                                                                                                           \
		const char *tu_a = (a), *tu_b = (b);                                                                   \
		if (tu_a != NULL && tu_b != NULL && strcmp(tu_a, tu_b) == 0) {                                         \
			tu_passed++;                                                                                   \
		} else {                                                                                               \
			tu_failed++;                                                                                   \
			fprintf(stderr, "%s:%d: CHECK_STR failed: %s == \"%s\", expected \"%s\"\n", __FILE__,          \
			        __LINE__, #a, tu_a ? tu_a : "(null)", tu_b ? tu_b : "(null)");                         \
		}                                                                                                      \
	} while (0)

#define CHECK_INT(a, b)                                                                                                \
	do {                                                                                                           \
		long long tu_a = (long long)(a), tu_b = (long long)(b);                                                \
		if (tu_a == tu_b) {                                                                                    \
			tu_passed++;                                                                                   \
		} else {                                                                                               \
			tu_failed++;                                                                                   \
			fprintf(stderr, "%s:%d: CHECK_INT failed: %s == %lld, expected %lld\n", __FILE__, __LINE__,    \
			        #a, tu_a, tu_b);                                                                       \
		}                                                                                                      \
	} while (0)

/* The closing line ctest users and CI read: "N passed, N failed". */
#define TEST_DONE()                                                                                                    \
	do {                                                                                                           \
		printf("%d passed, %d failed\n", tu_passed, tu_failed);                                                \
		return tu_failed ? 1 : 0;                                                                              \
	} while (0)

#endif
