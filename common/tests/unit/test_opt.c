/*
 * test_opt.c - opt_number(): an option of the table, one that is not, a
 * number out of range.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "opt.h"

static unsigned long n = 7, port;
static const char *port_text;
static const struct opt_num table[] = {
	{ 'w', 1, 16, &n, NULL },
	{ 'p', 0, 65535, &port, &port_text },
};
#define NTABLE (sizeof table / sizeof table[0])

static void
test_opt_number_in_table(void **state)
{
	(void)state;
	assert_int_equal(opt_number(table, NTABLE, 'w', "16"), 1);
	assert_int_equal(n, 16);
	assert_int_equal(opt_number(table, NTABLE, 'p', "0"), 1);
	assert_int_equal(port, 0);
	assert_string_equal(port_text, "0");
}

static void
test_opt_number_not_in_table(void **state)
{
	(void)state;
	assert_int_equal(opt_number(table, NTABLE, 'x', "3"), 0);
}

static void
test_opt_number_bad(void **state)
{
	(void)state;
	n = 7;
	assert_int_equal(opt_number(table, NTABLE, 'w', "17"), -1);
	assert_int_equal(opt_number(table, NTABLE, 'w', "0"), -1);
	assert_int_equal(opt_number(table, NTABLE, 'w', "3x"), -1);
	assert_int_equal(n, 7);	/* left alone */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opt_number_in_table),
		cmocka_unit_test(test_opt_number_not_in_table),
		cmocka_unit_test(test_opt_number_bad),
	};

	return cmocka_run_group_tests_name("opt", tests, NULL, NULL);
}
