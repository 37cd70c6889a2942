/* test_outbox.c : the webhook retry schedule: 1 s doubling, at most 10 min, jittered within [half, whole]. */
#include "callogd/outbox.h"
#include "testutil.h"

int
main(void)
{
	/* Without jitter's upper end (rnd 1) the whole wait; with rnd 0 half of it. */
	static const long long whole[] = {1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 512000, 600000};
	for (int a = 0; a < (int)(sizeof(whole) / sizeof(whole[0])); a++) {
		CHECK_INT(cl_outbox_backoff_ms(a, 1.0), whole[a]);
		CHECK_INT(cl_outbox_backoff_ms(a, 0.0), whole[a] / 2);
		long long mid = cl_outbox_backoff_ms(a, 0.5);
		CHECK(mid > whole[a] / 2 && mid < whole[a]);
	}
	/* Capped for good, however many tries failed. */
	CHECK_INT(cl_outbox_backoff_ms(60, 1.0), CL_OUTBOX_BACKOFF_MAX_MS);
	CHECK_INT(cl_outbox_backoff_ms(1000000, 0.0), CL_OUTBOX_BACKOFF_MAX_MS / 2);
	/* 24 hours of tries is about 150 of them once capped: a bounded number. */
	long long total = 0;
	int tries = 0;
	while (total < 24LL * 3600 * 1000)
		total += cl_outbox_backoff_ms(tries++, 1.0);
	CHECK(tries > 140 && tries < 160);
	TEST_DONE();
}
