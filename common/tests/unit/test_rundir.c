/*
 * test_rundir.c - the run directory is created 0700, and an existing one
 * is refused when it is a symlink, not a directory, or open to others.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rundir.h"

static char base[64], path[128], why[256];

static int
make_base(void **state)
{
	(void)state;
	snprintf(base, sizeof base, "/tmp/osps-unit-rundir.XXXXXX");
	assert_non_null(mkdtemp(base));
	snprintf(path, sizeof path, "%s/run", base);
	return 0;
}

static int
remove_base(void **state)
{
	char cmd[160];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_creates_0700(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(rundir_prepare(path, why, sizeof why), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	/* An existing, safe one is accepted as it is. */
	assert_int_equal(rundir_prepare(path, why, sizeof why), 0);
}

static void
test_refuses_symlink(void **state)
{
	(void)state;
	assert_int_equal(symlink(base, path), 0);
	assert_int_equal(rundir_prepare(path, why, sizeof why), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_non_null(strstr(why, "symbolic link"));
}

static void
test_refuses_regular_file(void **state)
{
	FILE *f;

	(void)state;
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(rundir_prepare(path, why, sizeof why), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_string_equal(why, "is not a directory");
}

static void
test_refuses_open_permissions(void **state)
{
	(void)state;
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(rundir_prepare(path, why, sizeof why), -1);
	assert_int_equal(errno, EPERM);
	assert_string_equal(why, "is accessible by group or others (mode 0755; chmod 700 it)");
}

/* A missing parent: the reason says so, not only "cannot be created". */
static void
test_missing_parent_says_why(void **state)
{
	char deep[192];

	(void)state;
	snprintf(deep, sizeof deep, "%s/missing/run", base);
	assert_int_equal(rundir_prepare(deep, why, sizeof why), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(why, "cannot be created: No such file or directory "
	    "(its parent directory does not exist)");
}

static void
test_default_and_path(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1), 0);
	assert_int_equal(rundir_default(buf, sizeof buf), 0);
	assert_string_equal(buf, "/run/user/1000/osps");
	assert_int_equal(unsetenv("XDG_RUNTIME_DIR"), 0);
	assert_int_equal(rundir_default(buf, sizeof buf), 0);
	assert_int_equal(strncmp(buf, "/tmp/osps-", 10), 0);
	assert_int_equal(rundir_path("/run", "dwtube1", buf, sizeof buf), 0);
	assert_string_equal(buf, "/run/dwtube1");
	assert_int_equal(rundir_path("/run", "dwtube1", buf, 8), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_creates_0700, make_base, remove_base),
		cmocka_unit_test_setup_teardown(test_refuses_symlink, make_base, remove_base),
		cmocka_unit_test_setup_teardown(test_refuses_regular_file, make_base, remove_base),
		cmocka_unit_test_setup_teardown(test_refuses_open_permissions, make_base, remove_base),
		cmocka_unit_test(test_default_and_path),
		cmocka_unit_test_setup_teardown(test_missing_parent_says_why, make_base,
		    remove_base),
	};

	return cmocka_run_group_tests_name("rundir", tests, NULL, NULL);
}
