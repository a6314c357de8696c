/*
 * rtt.h - round-trip time statistics for the benchmark modes.
 *
 * A program records one sample per round trip, then prints the one summary
 * line that people and the benchmark scripts read:
 *
 *     100000 round trips in 1.234 s: 81037 round trips/s, p50 11.2 us, p99 25.3 us
 *
 * The kit's servers and the raw baselines they are compared with print it
 * through this module, so both always measure and round the same way.
 */
#ifndef OSPS_RTT_H
#define OSPS_RTT_H

#include <stddef.h>
#include <stdio.h>

/* Samples kept: beyond this, a uniform random subset of them (8 MiB). */
#define RTT_MAX_SAMPLES (1u << 20)

struct rtt_stats {
	double *samples;	/* round-trip times in seconds */
	size_t kept;		/* samples held, at most cap */
	size_t cap;		/* room in samples */
	unsigned long count;	/* round trips recorded, kept or not */
	unsigned long rng;	/* state of the subset's random choice */
	double start, end;	/* set by the caller: when the run began, ended */
};

/*
 * Make s ready for up to expected round trips (memory for at most
 * RTT_MAX_SAMPLES of them). Returns 0, or -1 with errno ENOMEM.
 */
int rtt_init(struct rtt_stats *s, unsigned long expected);

/* Record one round trip that took seconds. */
void rtt_add(struct rtt_stats *s, double seconds);

/*
 * The p-th percentile (0 < p <= 100) of the kept samples, in seconds, by
 * the nearest-rank method; 0 when there is none. Sorts the samples.
 */
double rtt_percentile(struct rtt_stats *s, double p);

/* Print the summary line (format above) to f. Returns fprintf's result. */
int rtt_print(FILE *f, struct rtt_stats *s);

/* Release the samples. */
void rtt_free(struct rtt_stats *s);

#endif
