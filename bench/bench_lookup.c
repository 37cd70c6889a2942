/* bench_lookup.c : the cost of the caller lookup a pop makes, in-process through the lookup view. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "callogd/store.h"
#include "callogd/util.h"
#include "callogd/views.h"
#include "bench.h"

static void
usage(void)
{
	fprintf(stderr, "usage: bench_lookup -f DBFILE -C CUSTOMERS [-n LOOKUPS] [-H HISTORY]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	long ncust = 1000, n = 20000;
	int hist = 5, opt;
	char err[CL_ERR_LEN], raw[32];
	struct cl_store *st;
	struct cl_numbers rules;
	double *v, sum = 0;
	long hits = 0;

	while ((opt = getopt(argc, argv, "f:C:n:H:")) != -1) {
		switch (opt) {
		case 'f':
			path = optarg;
			break;
		case 'C':
			ncust = atol(optarg);
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 'H':
			hist = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (path == NULL || ncust < 1 || n < 1)
		usage();
	if (cl_numbers_init(&rules, "1", "1", "011") < 0)
		return 1;
	if ((st = cl_store_open(path, CL_STORE_READONLY, err)) == NULL) {
		fprintf(stderr, "bench_lookup: %s\n", err);
		return 1;
	}
	v = malloc((size_t)n * sizeof(*v));
	/* Caller numbers as a telephony system sends them (national format), spread over all customers. */
	for (long pass = 0; pass < 2; pass++) {
		for (long i = 0; i < n; i++) {
			long k = (long)(((unsigned long)(i + pass * n) * 2246822519UL) % (unsigned long)ncust) + 1;
			int64_t t0;
			json_t *j;

			snprintf(raw, sizeof(raw), "1 (555) %03ld-%04ld", k / 10000, k % 10000);
			t0 = bn_now_ns();
			j = cl_view_lookup_raw(st, &rules, raw, hist, NULL, err);
			v[i] = (double)(bn_now_ns() - t0) / 1e3;
			if (j == NULL) {
				fprintf(stderr, "bench_lookup: %s\n", err);
				return 1;
			}
			if (pass == 1) {
				sum += v[i];
				hits += json_is_object(json_object_get(j, "customer"));
			}
			json_decref(j);
		}
	}
	bn_sort(v, (size_t)n);
	printf("customers=%ld lookups=%ld hits=%ld mean_us=%.1f p50_us=%.1f p99_us=%.1f max_us=%.1f\n", ncust, n, hits,
	       sum / (double)n, bn_pct(v, (size_t)n, 0.5), bn_pct(v, (size_t)n, 0.99), v[n - 1]);
	free(v);
	cl_store_close(st);
	return 0;
}
