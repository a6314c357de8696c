/*
 * test_rtt.c - round-trip statistics: nearest-rank percentiles, the
 * summary line's format, and a run longer than the samples kept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rtt.h"

static void
test_percentiles_nearest_rank(void **state)
{
	struct rtt_stats s;
	int i;

	(void)state;
	assert_int_equal(rtt_init(&s, 100), 0);
	/* 100, 99, ..., 1 microseconds, in reverse order: sorting matters. */
	for (i = 100; i >= 1; i--)
		rtt_add(&s, i * 1e-6);
	assert_float_equal(rtt_percentile(&s, 50), 50e-6, 1e-12);
	assert_float_equal(rtt_percentile(&s, 99), 99e-6, 1e-12);
	assert_float_equal(rtt_percentile(&s, 100), 100e-6, 1e-12);
	assert_float_equal(rtt_percentile(&s, 0.5), 1e-6, 1e-12);
	rtt_free(&s);
}

static void
test_one_sample_and_none(void **state)
{
	struct rtt_stats s;

	(void)state;
	assert_int_equal(rtt_init(&s, 0), 0);
	assert_float_equal(rtt_percentile(&s, 50), 0, 0);
	rtt_add(&s, 7e-6);
	assert_float_equal(rtt_percentile(&s, 50), 7e-6, 1e-12);
	assert_float_equal(rtt_percentile(&s, 99), 7e-6, 1e-12);
	rtt_free(&s);
}

static void
test_summary_line(void **state)
{
	struct rtt_stats s;
	char line[256];
	FILE *f;
	int i;

	(void)state;
	assert_int_equal(rtt_init(&s, 4), 0);
	for (i = 1; i <= 4; i++)
		rtt_add(&s, i * 10e-6);
	s.start = 100.0;
	s.end = 100.5;
	f = tmpfile();
	assert_non_null(f);
	assert_true(rtt_print(f, &s) > 0);
	rewind(f);
	assert_non_null(fgets(line, sizeof line, f));
	fclose(f);
	assert_string_equal(line, "4 round trips in 0.500 s: 8 round trips/s, "
	    "p50 20.0 us, p99 40.0 us\n");
	rtt_free(&s);
}

static void
test_more_round_trips_than_kept(void **state)
{
	struct rtt_stats s;
	unsigned long i, n = 3ul * RTT_MAX_SAMPLES;

	(void)state;
	assert_int_equal(rtt_init(&s, n), 0);
	assert_int_equal(s.cap, RTT_MAX_SAMPLES);
	/* 1 us for the first third, 3 us after: a fair subset has a
	 * median of 3 us, where "keep the first ones" would say 1 us. */
	for (i = 0; i < n; i++)
		rtt_add(&s, i < n / 3 ? 1e-6 : 3e-6);
	assert_int_equal(s.count, n);
	assert_int_equal(s.kept, RTT_MAX_SAMPLES);
	assert_float_equal(rtt_percentile(&s, 50), 3e-6, 1e-12);
	rtt_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentiles_nearest_rank),
		cmocka_unit_test(test_one_sample_and_none),
		cmocka_unit_test(test_summary_line),
		cmocka_unit_test(test_more_round_trips_than_kept),
	};

	return cmocka_run_group_tests_name("rtt", tests, NULL, NULL);
}
