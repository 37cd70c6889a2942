/* cmd_simulate.c : callogctl simulate: contact-center traffic through the daemon. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/client.h"
#include "callogd/ctl.h"
#include "callogd/numbers.h"
#include "callogd/util.h"
#include "callogd/sim.h"
#include "callogd/store.h"

#define SIM_PHONES 1000 /* customer phones sampled for simulate */

/* --- simulate ----------------------------------------------------------- */

/* splitmix64: the phone sample follows --seed like the rest of the traffic. */
static uint64_t
sample_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

struct sample {
	char **phones;
	int n, seen;
};

/* Keeps num in phones[n] if it is E.164 (the generated JSON then needs no escaping). */
static int
sample_keep(void *arg, const char *num)
{
	struct sample *sm = arg;

	sm->seen++;
	if (strlen(num) >= CL_NUMBER_LEN || strspn(num + 1, "0123456789") != strlen(num + 1) ||
	    (sm->phones[sm->n] = strdup(num)) == NULL)
		return 0;
	sm->n++;
	return 0;
}

/*
 * Up to max customer phones, chosen by seed; none is fine (then all callers
 * are made up). A table of up to 4 x max phones is read whole and shuffled;
 * a larger one is sampled with index probes at random numbers, so a million
 * customers cost max seeks, not a sort of the table.
 */
static int
sample_phones(struct cl_ctl *ctl, uint64_t seed, char ***out, int max)
{
	char err[CL_ERR_LEN] = "", probe[16];
	struct cl_store *st = cl_store_open(cl_config_store(&ctl->cfg), CL_STORE_READONLY, err);
	struct sample sm = {NULL, 0, 0};
	int small = 4 * max;
	uint64_t rng = seed;

	*out = NULL;
	if (st == NULL)
		return 0;
	if ((sm.phones = calloc((size_t)small + 1, sizeof(*sm.phones))) == NULL)
		goto out;
	if (cl_store_phones(st, "+", small + 1, sample_keep, &sm, err) == 0 && sm.seen <= small) {
		for (int i = sm.n - 1; i > 0; i--) { /* Fisher-Yates, then keep the first max */
			int j = (int)(sample_next(&rng) % (uint64_t)(i + 1));
			char *t = sm.phones[i];
			sm.phones[i] = sm.phones[j];
			sm.phones[j] = t;
		}
		for (; sm.n > max; sm.n--)
			free(sm.phones[sm.n - 1]);
		goto out;
	}
	while (sm.n > 0)
		free(sm.phones[--sm.n]);
	for (int i = 0; i < max; i++) {
		int before = sm.seen;
		/* "+" and 11 digits: numbers above the last one wrap to the first. */
		snprintf(probe, sizeof(probe), "+%011llu", (unsigned long long)(sample_next(&rng) % 100000000000ULL));
		if (cl_store_phones(st, probe, 1, sample_keep, &sm, err) != 0 ||
		    (sm.seen == before &&
		     (cl_store_phones(st, "+", 1, sample_keep, &sm, err) != 0 || sm.seen == before)))
			break;
	}
out:
	cl_store_close(st);
	*out = sm.phones;
	return sm.n;
}

int
cl_ctl_simulate(struct cl_ctl *ctl, int argc, char **argv)
{
	struct cl_sim_opts o;
	struct cl_sim_report r;
	struct cl_client *cl = NULL;
	const char *calls = NULL, *rate = NULL, *agents = NULL, *seed = NULL;
	char err[CL_ERR_LEN] = "", **phones = NULL;
	int nphones = 0, rc = 1;

	cl_sim_defaults(&o);
	for (int i = 1; i < argc; i++) {
		int m;
		if ((m = cl_ctl_opt_value(argc, argv, &i, "--calls", &calls)) == 0 &&
		    (m = cl_ctl_opt_value(argc, argv, &i, "--rate", &rate)) == 0 &&
		    (m = cl_ctl_opt_value(argc, argv, &i, "--agents", &agents)) == 0 &&
		    (m = cl_ctl_opt_value(argc, argv, &i, "--seed", &seed)) == 0)
			return cl_ctl_usage_error("simulate: unexpected argument %s", argv[i]);
		if (m < 0)
			return cl_ctl_usage_error("simulate: %s needs a value", argv[i]);
	}
	if (calls != NULL) {
		long v;
		if (cl_ctl_parse_long(calls, 1, CL_SIM_MAX_CALLS, &v) < 0)
			return cl_ctl_usage_error("simulate: --calls %s is not a number from 1 to 10000000", calls);
		o.calls = v;
	}
	if (rate != NULL) {
		char *end;
		errno = 0;
		o.rate = strtod(rate, &end);
		if (errno != 0 || end == rate || *end != '\0' || !(o.rate >= 0.01 && o.rate <= CL_SIM_MAX_RATE))
			return cl_ctl_usage_error("simulate: --rate %s is not a rate from 0.01 to 100000 calls/s",
			                          rate);
	}
	if (agents != NULL) {
		long v;
		if (cl_ctl_parse_long(agents, 1, CL_SIM_MAX_AGENTS, &v) < 0)
			return cl_ctl_usage_error("simulate: --agents %s is not a number from 1 to 10000", agents);
		o.agents = (int)v;
	}
	if (seed != NULL) {
		char *end;
		errno = 0;
		o.seed = strtoull(seed, &end, 10);
		if (errno != 0 || end == seed || *end != '\0' || seed[0] == '-')
			return cl_ctl_usage_error("simulate: --seed %s is not a number", seed);
	}
	if (cl_ctl_config(ctl) < 0)
		return 1;
	o.codes = ctl->cfg.disposition_codes;
	nphones = sample_phones(ctl, o.seed, &phones, SIM_PHONES);
	o.phones = (const char *const *)phones;
	o.nphones = nphones;
	if ((cl = cl_client_open(&ctl->cfg, err)) == NULL) {
		cl_ctl_fail("simulate: %s", err);
		goto out;
	}
	if (cl_sim_run(cl, &o, &r, stderr, err) < 0) {
		cl_ctl_fail("simulate: %s", err);
		cl_sim_print_report(&r, stdout);
		goto out;
	}
	cl_sim_print_report(&r, stdout);
	rc = r.errors > 0 ? 1 : 0;
out:
	cl_client_close(cl);
	for (int i = 0; i < nphones; i++)
		free(phones[i]);
	free(phones);
	return rc;
}
