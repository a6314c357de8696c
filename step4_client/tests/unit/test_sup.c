/*
 * test_sup.c - the supervision state machine, driven by a fake clock:
 * start, grace, ready, heartbeats on time and late, a reply read from the
 * counter without any signal, kill, exit, backoff, the intensity window.
 * Each test's name starts with the exercise it checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sup.h"
#include "tests/check.h"	/* assertions that speak: errno names, exercises */

#define EX_TEST(ex, f) { "[" ex "] " #f, f, NULL, NULL, NULL }

/* P = 1 s, T = 3 s, grace 5 s, at most 3 restarts in 10 s, backoff
 * 0.1 s doubling up to 0.5 s. */
static const struct sup_policy pol = {
	.period = 1.0, .timeout = 3.0, .grace = 5.0, .intensity = 3,
	.window = 10.0, .backoff_min = 0.1, .backoff_max = 0.5,
};

/* A child started at t = 100 and ready at t = 101. */
static void
up_child(struct sup_child *c)
{
	sup_init(c);
	sup_started(c, 42, 100.0, &pol);
	sup_ready(c, 101.0, &pol);
}

static void
test_new_child_starts_at_once(void **state)
{
	struct sup_child c;

	(void)state;
	sup_init(&c);
	assert_int_equal(c.state, CHILD_DOWN);
	assert_true(sup_restart_due(&c, 0.0));
	assert_true(sup_next_event(&c) <= 0.0);
}

static void
test_grace_no_heartbeat_before_ready(void **state)
{
	struct sup_child c;

	(void)state;
	sup_init(&c);
	sup_started(&c, 42, 100.0, &pol);
	assert_int_equal(c.state, CHILD_STARTING);
	assert_false(sup_ping_due(&c, 104.9));
	assert_int_equal(sup_check(&c, 104.9), SUP_OK);	/* slow, not frozen */
	assert_true(sup_next_event(&c) == 105.0);
}

static void
test_grace_over_is_not_ready(void **state)
{
	struct sup_child c;

	(void)state;
	sup_init(&c);
	sup_started(&c, 42, 100.0, &pol);
	assert_int_equal(sup_check(&c, 105.0), SUP_NOT_READY);
}

static void
test_ready_first_ping_one_period_later(void **state)
{
	struct sup_child c;

	(void)state;
	up_child(&c);
	assert_int_equal(c.state, CHILD_UP);
	assert_false(sup_ping_due(&c, 101.5));
	assert_true(sup_ping_due(&c, 102.0));
	assert_true(sup_next_event(&c) == 102.0);
}

static void
test_reply_in_time(void **state)
{
	struct sup_child c;
	double rtt = -1.0;

	(void)state;
	up_child(&c);
	sup_ping_sent(&c, 102.0, &pol);
	assert_false(sup_ping_due(&c, 102.5));	/* one heartbeat out at a time */
	assert_true(sup_next_event(&c) == 105.0);	/* the deadline */
	assert_int_equal(sup_beat(&c, 1, 102.25, &pol, &rtt), 1);
	assert_true(rtt > 0.249 && rtt < 0.251);
	assert_int_equal(sup_check(&c, 110.0), SUP_OK);
	/* Next one a period after the last was sent, not after the reply. */
	assert_true(sup_next_event(&c) == 103.0);
	assert_true(sup_ping_due(&c, 103.0));
}

static void
test_no_reply_is_a_miss_at_the_deadline(void **state)
{
	struct sup_child c;
	double rtt;

	(void)state;
	up_child(&c);
	sup_ping_sent(&c, 102.0, &pol);
	assert_int_equal(sup_beat(&c, 0, 104.99, &pol, &rtt), 0);
	assert_int_equal(sup_check(&c, 104.99), SUP_OK);
	assert_int_equal(sup_check(&c, 105.0), SUP_MISS);
}

static void
test_counter_is_the_reply_not_the_signal(void **state)
{
	struct sup_child c;
	double rtt;

	(void)state;
	up_child(&c);
	/* A reply whose SIGUSR2 merged with another one: the watchdog
	 * wakes at the deadline, reads the counter first, and finds it. */
	sup_ping_sent(&c, 102.0, &pol);
	assert_int_equal(sup_beat(&c, 1, 105.0, &pol, &rtt), 1);
	assert_int_equal(sup_check(&c, 105.0), SUP_OK);
	/* A late reply still schedules the next ping at once. */
	assert_true(sup_ping_due(&c, 105.0));
}

static void
test_counter_moving_with_no_ping_out_is_not_a_reply(void **state)
{
	struct sup_child c;
	double rtt;

	(void)state;
	up_child(&c);
	assert_int_equal(sup_beat(&c, 1, 101.5, &pol, &rtt), 0);
	sup_ping_sent(&c, 102.0, &pol);
	/* The old count again: nothing new. */
	assert_int_equal(sup_beat(&c, 1, 102.5, &pol, &rtt), 0);
	assert_int_equal(sup_beat(&c, 2, 102.6, &pol, &rtt), 1);
}

static void
test_two_replies_one_wakeup(void **state)
{
	struct sup_child a, b;
	double rtt;

	(void)state;
	up_child(&a);
	up_child(&b);
	sup_ping_sent(&a, 102.0, &pol);
	sup_ping_sent(&b, 102.0, &pol);
	/* One SIGUSR2 for two replies: both counters are read. */
	assert_int_equal(sup_beat(&a, 1, 102.1, &pol, &rtt), 1);
	assert_int_equal(sup_beat(&b, 1, 102.1, &pol, &rtt), 1);
	assert_int_equal(sup_check(&a, 106.0), SUP_OK);
	assert_int_equal(sup_check(&b, 106.0), SUP_OK);
}

static void
test_freeze_detected_within_p_plus_t(void **state)
{
	struct sup_child c;
	double now, rtt, frozen = 102.5;

	(void)state;
	up_child(&c);
	/* Answer every ping until the freeze, then nothing: the miss must
	 * come no later than P + T after it. */
	for (now = 101.0; now < 120.0; now += 0.01) {
		if (sup_ping_due(&c, now))
			sup_ping_sent(&c, now, &pol);
		if (now < frozen && c.ping_out)
			sup_beat(&c, c.beats + 1, now, &pol, &rtt);
		if (sup_check(&c, now) == SUP_MISS)
			break;
	}
	assert_int_equal(sup_check(&c, now), SUP_MISS);
	assert_true(now - frozen <= pol.period + pol.timeout + 0.011);
}

static void
test_killed_then_exited_restarts_at_once(void **state)
{
	struct sup_window all = { 0 };
	struct sup_child c;

	(void)state;
	up_child(&c);
	sup_killed(&c);
	assert_int_equal(c.state, CHILD_STOPPING);
	assert_false(sup_ping_due(&c, 200.0));
	assert_true(sup_next_event(&c) < 0.0);	/* waits to be reaped */
	assert_int_equal(sup_exited(&c, &all, 102.0, &pol), 0);
	assert_int_equal(c.state, CHILD_DOWN);
	assert_int_equal(c.pid, 0);
	assert_true(sup_restart_due(&c, 102.0));
	assert_int_equal(c.restarts, 1);
}

static void
test_backoff_values(void **state)
{
	(void)state;
	assert_true(sup_backoff(0, &pol) == 0.0);
	assert_true(sup_backoff(1, &pol) == 0.1);
	assert_true(sup_backoff(2, &pol) == 0.2);
	assert_true(sup_backoff(3, &pol) == 0.4);
	assert_true(sup_backoff(4, &pol) == 0.5);	/* capped */
	assert_true(sup_backoff(1000, &pol) == 0.5);	/* no overflow */
}

static void
test_crash_loop_backs_off(void **state)
{
	struct sup_policy p = pol;
	struct sup_window all = { 0 };
	struct sup_child c;
	double now = 100.0;

	(void)state;
	p.intensity = 10;
	sup_init(&c);
	sup_started(&c, 1, now, &p);
	assert_int_equal(sup_exited(&c, &all, now, &p), 0);
	assert_true(c.restart_at == now);		/* first: at once */
	sup_started(&c, 2, now, &p);
	assert_int_equal(sup_exited(&c, &all, now, &p), 0);
	assert_true(c.restart_at == now + 0.1);
	assert_false(sup_restart_due(&c, now + 0.05));
	assert_true(sup_restart_due(&c, now + 0.1));
	sup_started(&c, 3, now, &p);
	assert_int_equal(sup_exited(&c, &all, now, &p), 0);
	assert_true(c.restart_at == now + 0.2);
	/* Quiet for longer than the window: the backoff starts over. */
	now += 20.0;
	sup_started(&c, 4, now, &p);
	assert_int_equal(sup_exited(&c, &all, now, &p), 0);
	assert_true(c.restart_at == now);
}

static void
test_window_gives_up_above_intensity(void **state)
{
	struct sup_window w = { 0 };

	(void)state;
	assert_int_equal(sup_window_add(&w, 100.0, &pol), 0);
	assert_int_equal(sup_window_add(&w, 101.0, &pol), 0);
	assert_int_equal(sup_window_add(&w, 102.0, &pol), 0);	/* 3: allowed */
	assert_int_equal(sup_window_add(&w, 103.0, &pol), 1);	/* 4 > 3 */
}

static void
test_window_forgets_old_restarts(void **state)
{
	struct sup_window w = { 0 };

	(void)state;
	assert_int_equal(sup_window_add(&w, 100.0, &pol), 0);
	assert_int_equal(sup_window_add(&w, 101.0, &pol), 0);
	assert_int_equal(sup_window_add(&w, 102.0, &pol), 0);
	/* 100 and 101 are more than 10 s old at 111.5: 2 in the window. */
	assert_int_equal(sup_window_add(&w, 111.5, &pol), 0);
	assert_int_equal(w.n, 2);
	assert_int_equal(sup_window_add(&w, 111.6, &pol), 0);
	assert_int_equal(sup_window_add(&w, 111.7, &pol), 1);
}

static void
test_window_intensity_zero_gives_up_at_once(void **state)
{
	struct sup_policy p = pol;
	struct sup_window w = { 0 };

	(void)state;
	p.intensity = 0;
	assert_int_equal(sup_window_add(&w, 100.0, &p), 1);
}

static void
test_window_full_keeps_working(void **state)
{
	struct sup_policy p = pol;
	struct sup_window w = { 0 };
	int i, r = 0;

	(void)state;
	p.intensity = SUP_WINDOW_MAX + 5;	/* more than it can hold */
	for (i = 0; i < 2 * SUP_WINDOW_MAX; i++)
		r = sup_window_add(&w, 100.0 + i * 0.01, &p);
	assert_int_equal(r, 0);
	assert_int_equal(w.n, SUP_WINDOW_MAX);
	assert_true(w.t[w.n - 1] > 101.26);	/* the newest is kept */
}

static void
test_exit_beyond_intensity_gives_up(void **state)
{
	struct sup_window all = { 0 };
	struct sup_child c;
	int i;

	(void)state;
	sup_init(&c);
	for (i = 0; i < 3; i++) {
		sup_started(&c, 10 + i, 100.0 + i, &pol);
		assert_int_equal(sup_exited(&c, &all, 100.5 + i, &pol), 0);
	}
	sup_started(&c, 20, 103.0, &pol);
	assert_int_equal(sup_exited(&c, &all, 103.5, &pol), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		EX_TEST("run", test_new_child_starts_at_once),
		EX_TEST("run", test_grace_no_heartbeat_before_ready),
		EX_TEST("run", test_grace_over_is_not_ready),
		EX_TEST("run", test_ready_first_ping_one_period_later),
		EX_TEST("run", test_reply_in_time),
		EX_TEST("run", test_no_reply_is_a_miss_at_the_deadline),
		EX_TEST("run", test_counter_is_the_reply_not_the_signal),
		EX_TEST("run", test_counter_moving_with_no_ping_out_is_not_a_reply),
		EX_TEST("run", test_two_replies_one_wakeup),
		EX_TEST("run", test_freeze_detected_within_p_plus_t),
		EX_TEST("run", test_killed_then_exited_restarts_at_once),
		EX_TEST("run", test_backoff_values),
		EX_TEST("run", test_crash_loop_backs_off),
		EX_TEST("run", test_window_gives_up_above_intensity),
		EX_TEST("run", test_window_forgets_old_restarts),
		EX_TEST("run", test_window_intensity_zero_gives_up_at_once),
		EX_TEST("run", test_window_full_keeps_working),
		EX_TEST("run", test_exit_beyond_intensity_gives_up),
	};

	return cmocka_run_group_tests_name("sup", tests, NULL, NULL);
}
