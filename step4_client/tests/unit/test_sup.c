/*
 * test_sup.c - the supervision module with a fake clock: every transition
 * of a child (down, starting, up, stopping), the frozen test, the restart
 * backoff, and the restart intensity window.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sup.h"

#define EX_TEST(ex, f) { "[" ex "] " #f, f, NULL, NULL, NULL }

static const struct sup_timing T = {
	.period = 1.0, .timeout = 3.0, .backoff_min = 0.1, .backoff_max = 0.8, .stable = 5.0
};

static void
test_life_cycle(void **state)
{
	struct sup_child c;

	(void)state;
	sup_init(&c, "w1", 100.0);
	assert_string_equal(c.name, "w1");
	assert_int_equal(c.state, CHILD_DOWN);
	assert_true(sup_restart_due(&c, 100.0));
	sup_started(&c, 1234, 100.0);
	assert_int_equal(c.state, CHILD_STARTING);
	assert_int_equal(c.pid, 1234);
	/* Not frozen while starting, however long it takes (grace). */
	assert_false(sup_frozen(&c, 200.0, &T));
	sup_ready(&c, 100.5);
	assert_int_equal(c.state, CHILD_UP);
	assert_false(sup_frozen(&c, 103.5, &T));
	assert_true(sup_frozen(&c, 103.6, &T));
	sup_seen(&c, 103.0);
	assert_false(sup_frozen(&c, 105.9, &T));
	/* A late, older reply does not move the clock back. */
	sup_seen(&c, 101.0);
	assert_false(sup_frozen(&c, 105.9, &T));
	sup_stopping(&c);
	assert_int_equal(c.state, CHILD_STOPPING);
	assert_false(sup_frozen(&c, 200.0, &T));
	assert_false(sup_restart_due(&c, 200.0));
}

static void
test_backoff_doubles_then_resets(void **state)
{
	struct sup_child c;

	(void)state;
	sup_init(&c, "d", 0.0);
	sup_started(&c, 10, 0.0);
	sup_exited(&c, 10.0, &T);		/* first restart: at once */
	assert_true(sup_restart_due(&c, 10.0));
	sup_started(&c, 11, 10.0);
	sup_exited(&c, 10.5, &T);		/* died young: 0.1 s */
	assert_false(sup_restart_due(&c, 10.55));
	assert_true(sup_restart_due(&c, 10.61));
	sup_started(&c, 12, 10.6);
	sup_exited(&c, 10.7, &T);		/* 0.2 s */
	assert_false(sup_restart_due(&c, 10.85));
	assert_true(sup_restart_due(&c, 10.91));
	sup_started(&c, 13, 10.9);
	sup_exited(&c, 11.0, &T);		/* 0.4 s */
	sup_started(&c, 14, 11.4);
	sup_exited(&c, 11.5, &T);		/* 0.8 s: the cap */
	assert_false(sup_restart_due(&c, 12.25));
	assert_true(sup_restart_due(&c, 12.31));
	sup_started(&c, 15, 12.3);
	sup_exited(&c, 12.4, &T);		/* still the cap */
	assert_false(sup_restart_due(&c, 13.15));
	assert_true(sup_restart_due(&c, 13.21));
	/* A long, stable life: the next restart is immediate again. */
	sup_started(&c, 16, 13.2);
	sup_exited(&c, 30.0, &T);
	assert_true(sup_restart_due(&c, 30.0));
	assert_int_equal(c.restarts, 7);
}

static void
test_intensity_window(void **state)
{
	struct sup_intensity in;

	(void)state;
	sup_intensity_init(&in, 3, 10.0);
	assert_false(sup_intensity_add(&in, 0.0));
	assert_false(sup_intensity_add(&in, 1.0));
	assert_false(sup_intensity_add(&in, 2.0));
	/* A fourth within 10 s: more than 3, give up. */
	assert_true(sup_intensity_add(&in, 3.0));
	/* Restarts that left the window no longer count. */
	sup_intensity_init(&in, 3, 10.0);
	assert_false(sup_intensity_add(&in, 0.0));
	assert_false(sup_intensity_add(&in, 5.0));
	assert_false(sup_intensity_add(&in, 9.0));
	assert_false(sup_intensity_add(&in, 14.0));	/* 0.0 has left */
	assert_true(sup_intensity_add(&in, 14.5));
	/* R = 0: the first restart is already one too many. */
	sup_intensity_init(&in, 0, 10.0);
	assert_true(sup_intensity_add(&in, 0.0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		EX_TEST("run", test_life_cycle),
		EX_TEST("run", test_backoff_doubles_then_resets),
		EX_TEST("run", test_intensity_window),
	};

	return cmocka_run_group_tests_name("sup", tests, NULL, NULL);
}
