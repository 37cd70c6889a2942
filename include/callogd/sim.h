/* sim.h : a contact-center traffic generator driving the events socket
 * (callogctl simulate, and the benchmarks). */
#ifndef CALLOGD_SIM_H
#define CALLOGD_SIM_H

#include <stdint.h>
#include <stdio.h>

#include "callogd/client.h"

#define CL_SIM_MAX_CALLS 10000000L
#define CL_SIM_MAX_RATE 100000.0
#define CL_SIM_MAX_AGENTS 10000
#define CL_SIM_CODE_MAX 128

struct cl_sim_opts {
	long calls;    /* calls to place, 1..CL_SIM_MAX_CALLS */
	double rate;   /* Poisson arrivals per second */
	int agents;    /* a1..aK */
	uint64_t seed; /* the same seed gives the same traffic (ids aside) */
	/* Known customer numbers (E.164) callers are mostly drawn from; may be empty. */
	const char *const *phones;
	int nphones;
	int max_in_flight; /* events sent and not yet answered */
	/* Wrap-up codes, one per line (dispositions.codes); NULL: a few per queue. */
	const char *codes;
};

struct cl_sim_report {
	uint64_t seed;
	long calls, answered, abandoned, unanswered, outbound;
	long rona, holds, transfers;
	int64_t events, acks, duplicates, errors;
	double elapsed_s;
};

/* cl_sim_defaults() : 100 calls at 5/s, 10 agents, a random seed. */
void cl_sim_defaults(struct cl_sim_opts *o);

/*
 * cl_sim_run() : plays the traffic through cl (connected, hello done) in real
 * time, pipelined, and checks every answer is an ack; the first few rejected
 * events are reported on errlog (may be NULL). Durations scale with
 * agents/rate so the agents are about 85% busy: some calls wait, a few
 * abandon. 0 when every event was answered (r->errors counts rejections), -1
 * with err on a connection or memory failure (r filled as far as it got).
 */
int cl_sim_run(struct cl_client *cl, const struct cl_sim_opts *o, struct cl_sim_report *r, FILE *errlog, char *err);

/* cl_sim_print_report() : the summary, a few lines of "key: value". */
void cl_sim_print_report(const struct cl_sim_report *r, FILE *out);

#endif
