/* test_bloom.c : the Bloom filter never forgets an id it was given, and its
 * false-positive rate at capacity stays near the 1% it is sized for. */
#include <stdio.h>
#include <string.h>

#include "callogd/bloom.h"
#include "testutil.h"

int
main(void)
{
	struct cl_bloom *b = cl_bloom_new(100000);
	char id[64];
	size_t fp = 0, n = 100000;
	int missing = 0;

	CHECK(b != NULL);
	CHECK_INT(cl_bloom_capacity(b), 100000);
	CHECK(cl_bloom_bytes(b) >= 100000 * 10 / 8);
	CHECK_INT(cl_bloom_maybe(b, "evt-1", 5), 0); /* empty: nothing is maybe */
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(id, sizeof(id), "evt-%zu", i);
		cl_bloom_add(b, id, (size_t)len);
	}
	CHECK_INT(cl_bloom_count(b), n);
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(id, sizeof(id), "evt-%zu", i);
		missing += !cl_bloom_maybe(b, id, (size_t)len);
	}
	CHECK_INT(missing, 0); /* no false negatives, ever */
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(id, sizeof(id), "other-%zu", i);
		fp += (size_t)cl_bloom_maybe(b, id, (size_t)len);
	}
	printf("false positives at capacity: %zu of %zu (%.2f%%)\n", fp, n, 100.0 * (double)fp / (double)n);
	CHECK(fp < n * 2 / 100); /* sized for about 1% */
	/* The empty string is an id like any other. */
	cl_bloom_add(b, "", 0);
	CHECK_INT(cl_bloom_maybe(b, "", 0), 1);
	cl_bloom_free(b);
	b = cl_bloom_new(0); /* a tiny capacity is raised to 1,024 */
	CHECK_INT(cl_bloom_capacity(b), 1024);
	cl_bloom_free(b);
	TEST_DONE();
}
