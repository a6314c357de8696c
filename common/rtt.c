/*
 * rtt.c - round-trip time statistics (contracts in rtt.h).
 */
#include "rtt.h"

#include <stdlib.h>

int
rtt_init(struct rtt_stats *s, unsigned long expected)
{
	s->cap = expected < RTT_MAX_SAMPLES ? expected : RTT_MAX_SAMPLES;
	if (s->cap == 0)
		s->cap = 1;
	s->samples = malloc(s->cap * sizeof s->samples[0]);
	if (s->samples == NULL)
		return -1;
	s->kept = 0;
	s->count = 0;
	s->rng = 0x9e3779b97f4a7c15ul;
	s->start = s->end = 0;
	return 0;
}

void
rtt_add(struct rtt_stats *s, double seconds)
{
	unsigned long j;

	s->count++;
	if (s->kept < s->cap) {
		s->samples[s->kept++] = seconds;
		return;
	}
	/* Full: keep this sample with probability cap/count, in place of a
	 * random one (reservoir sampling), so that the kept ones stay a
	 * fair picture of the whole run. xorshift: fast, good enough. */
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	j = s->rng % s->count;
	if (j < s->cap)
		s->samples[j] = seconds;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
rtt_percentile(struct rtt_stats *s, double p)
{
	double exact = p / 100.0 * (double)s->kept;
	size_t rank = (size_t)exact;

	if (s->kept == 0)
		return 0;
	qsort(s->samples, s->kept, sizeof s->samples[0], cmp_double);
	/* Nearest rank: the smallest sample with at least p% of them at or
	 * below it, i.e. number ceil(p% of kept) in sorted order. */
	if ((double)rank < exact)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > s->kept)
		rank = s->kept;
	return s->samples[rank - 1];
}

int
rtt_print(FILE *f, struct rtt_stats *s)
{
	double elapsed = s->end - s->start;
	double rate = elapsed > 0 ? (double)s->count / elapsed : 0;
	double p50 = rtt_percentile(s, 50), p99 = rtt_percentile(s, 99);

	return fprintf(f, "%lu round trips in %.3f s: %.0f round trips/s, "
	    "p50 %.1f us, p99 %.1f us\n", s->count, elapsed, rate,
	    p50 * 1e6, p99 * 1e6);
}

void
rtt_free(struct rtt_stats *s)
{
	free(s->samples);
	s->samples = NULL;
	s->kept = s->cap = 0;
}
