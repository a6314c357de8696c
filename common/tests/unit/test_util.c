/*
 * test_util.c - parse_ulong() on good and bad numbers, sibling_path().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

static void
test_parse_ulong_good(void **state)
{
	unsigned long v = 0;

	(void)state;
	assert_int_equal(parse_ulong("2222", 0, 65535, &v), 0);
	assert_int_equal(v, 2222);
	assert_int_equal(parse_ulong("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
}

static void
test_parse_ulong_rejects_junk(void **state)
{
	const char *bad[] = { "", "x", "12x", " 12", "-1", "+3", "1.5" };
	unsigned long v = 42;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		assert_int_equal(parse_ulong(bad[i], 0, 100, &v), -1);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(v, 42);	/* untouched on failure */
}

static void
test_parse_ulong_range(void **state)
{
	unsigned long v = 42;

	(void)state;
	assert_int_equal(parse_ulong("65536", 0, 65535, &v), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(parse_ulong("0", 1, 10, &v), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(parse_ulong("99999999999999999999999", 0, ULONG_MAX, &v), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(v, 42);
}

static void
test_sibling_path(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(sibling_path("build/step1_shm/d", "w", buf, sizeof buf), 0);
	assert_string_equal(buf, "build/step1_shm/w");
	assert_int_equal(sibling_path("d", "w", buf, sizeof buf), 0);
	assert_string_equal(buf, "./w");
	assert_int_equal(sibling_path("/d", "w", buf, sizeof buf), 0);
	assert_string_equal(buf, "/w");
	assert_int_equal(sibling_path("a/very/long/directory/name/d", "w", buf, 10), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

/* Fork a child that ends with how(), and describe its status. */
static const char *
describe_child(void (*how)(void))
{
	static char buf[64];
	int status;
	pid_t pid = fork();

	assert_int_not_equal(pid, -1);
	if (pid == 0)
		how();
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status_str(status, buf, sizeof buf);
}

static void exit_3(void) { _exit(3); }
static void die_by_sigkill(void) { raise(SIGKILL); _exit(0); }

static void
test_status_str(void **state)
{
	(void)state;
	assert_string_equal(describe_child(exit_3), "exited with code 3");
	assert_string_equal(describe_child(die_by_sigkill), "killed by SIGKILL");
	assert_string_equal(signal_name(SIGSEGV), "SIGSEGV");
	assert_string_equal(signal_name(64), "signal 64");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ulong_good),
		cmocka_unit_test(test_parse_ulong_rejects_junk),
		cmocka_unit_test(test_parse_ulong_range),
		cmocka_unit_test(test_sibling_path),
		cmocka_unit_test(test_status_str),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
