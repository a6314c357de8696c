/*
 * test_fifo.c - creating a FIFO: mode 0600; a regular file or a symbolic
 * link at its path refused and left alone; a stale FIFO replaced; a FIFO
 * in use refused. Each test's name starts with the exercise it checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fifo.h"
#include "tests/check.h"	/* assertions that speak: errno names, exercises */

/* A test named "[2.1] name", run in a fresh directory. */
#define EX_TEST(ex, f) { "[" ex "] " #f, f, make_dir, remove_dir, NULL }

static char dir[64], path[128], other[128], why[256];

static int
make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/osps-unit-fifo.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/dwtube1", dir);
	snprintf(other, sizeof other, "%s/elsewhere", dir);
	why[0] = '\0';
	return 0;
}

/* The tests make at most these two entries. */
static int
remove_dir(void **state)
{
	(void)state;
	unlink(path);
	unlink(other);
	return rmdir(dir);
}

/* lstat(p) into st, which must succeed. */
static void
must_lstat(const char *p, struct stat *st)
{
	assert_int_equal(lstat(p, st), 0);
}

static void
test_creates_fifo_0600(void **state)
{
	struct stat st;
	mode_t old = umask(0);	/* the mode must not depend on the umask */

	(void)state;
	assert_call_equal("2.1", fifo_create(path, why, sizeof why), 0);
	umask(old);
	must_lstat(path, &st);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void
test_refuses_regular_file_untouched(void **state)
{
	struct stat st;
	char buf[16] = "";
	FILE *f;

	(void)state;
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("precious", f);
	fclose(f);
	errno = 0;
	assert_call_equal("2.1", fifo_create(path, why, sizeof why), -1);
	assert_errno("2.1", EEXIST);
	assert_string_equal(why, "is a regular file, not a FIFO");
	must_lstat(path, &st);
	assert_true(S_ISREG(st.st_mode));
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof buf, f));
	fclose(f);
	assert_string_equal(buf, "precious");
}

static void
test_refuses_dangling_symlink_not_followed(void **state)
{
	struct stat st;

	(void)state;
	/* Following it would create the FIFO wherever the link points. */
	assert_int_equal(symlink(other, path), 0);
	errno = 0;
	assert_call_equal("2.1", fifo_create(path, why, sizeof why), -1);
	assert_errno("2.1", EEXIST);
	assert_string_equal(why, "is a symbolic link, not a FIFO");
	assert_int_equal(lstat(other, &st), -1);
	must_lstat(path, &st);
	assert_true(S_ISLNK(st.st_mode));
}

static void
test_refuses_symlink_to_a_fifo(void **state)
{
	struct stat st;

	(void)state;
	/* stat() would see the FIFO behind the link and accept it. */
	assert_int_equal(mkfifo(other, 0600), 0);
	assert_int_equal(symlink(other, path), 0);
	errno = 0;
	assert_call_equal("2.1", fifo_create(path, why, sizeof why), -1);
	assert_errno("2.1", EEXIST);
	assert_string_equal(why, "is a symbolic link, not a FIFO");
	must_lstat(path, &st);
	assert_true(S_ISLNK(st.st_mode));
}

static void
test_replaces_stale_fifo(void **state)
{
	struct stat st;

	(void)state;
	/* Left by a killed run: nobody has it open. Mode 0644 tells the
	 * old one from the new (inode numbers are reused at once). */
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(chmod(path, 0644), 0);
	assert_call_equal("2.1", fifo_create(path, why, sizeof why), 1);
	must_lstat(path, &st);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void
test_refuses_fifo_in_use(void **state)
{
	struct stat st;
	int reader;

	(void)state;
	assert_int_equal(mkfifo(path, 0600), 0);
	reader = open(path, O_RDONLY | O_NONBLOCK);
	assert_int_not_equal(reader, -1);
	errno = 0;
	assert_call_equal("2.1", fifo_create(path, why, sizeof why), -1);
	assert_errno("2.1", EBUSY);
	assert_string_equal(why, "is in use by another d");
	close(reader);
	must_lstat(path, &st);
	assert_true(S_ISFIFO(st.st_mode));
}

static void
test_missing_directory_says_why(void **state)
{
	char deep[192];

	(void)state;
	snprintf(deep, sizeof deep, "%s/no-such-dir/dwtube1", dir);
	errno = 0;
	assert_call_equal("2.1", fifo_create(deep, why, sizeof why), -1);
	assert_errno("2.1", ENOENT);
	assert_string_equal(why, "cannot be created: No such file or directory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		EX_TEST("2.1", test_creates_fifo_0600),
		EX_TEST("2.1", test_refuses_regular_file_untouched),
		EX_TEST("2.1", test_refuses_dangling_symlink_not_followed),
		EX_TEST("2.1", test_refuses_symlink_to_a_fifo),
		EX_TEST("2.1", test_replaces_stale_fifo),
		EX_TEST("2.1", test_refuses_fifo_in_use),
		EX_TEST("2.1", test_missing_directory_says_why),
	};

	return cmocka_run_group_tests_name("fifo", tests, NULL, NULL);
}
