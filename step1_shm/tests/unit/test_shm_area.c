/*
 * test_shm_area.c - the shared memory module, error paths included:
 * invalid names, a segment that already exists, a size mismatch, a missing
 * segment, the mode, and that two mappings see the same bytes.
 * Each test's name starts with the exercise it checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm_area.h"
#include "tests/check.h"	/* assertions that speak: errno names, exercises */

/* A test named "[1.1] name" (the grader maps results to exercises by
 * it), run between fresh_name() and remove_name(). */
#define EX_TEST(ex, f) { "[" ex "] " #f, f, fresh_name, remove_name, NULL }

#define SIZE 272

static char name[64];

/* Each test gets a fresh name and leaves nothing in /dev/shm. */
static int
fresh_name(void **state)
{
	static int n;

	(void)state;
	snprintf(name, sizeof name, "/osps-unit-%ld-%d", (long)getpid(), ++n);
	return 0;
}

static int
remove_name(void **state)
{
	(void)state;
	shm_unlink(name);	/* the real call: the module may be a stub */
	return 0;
}

/* The segment name, mapped behind the module's back (size bytes; flags
 * O_CREAT | O_EXCL to make it), so that a test of one function of the
 * module needs no other exercise. NULL on failure. */
static char *
map_raw(int flags, size_t size)
{
	void *addr;
	int fd = shm_open(name, O_RDWR | flags, 0600);

	if (fd == -1)
		return NULL;
	if ((flags & O_CREAT) && ftruncate(fd, (off_t)size) == -1) {
		close(fd);
		return NULL;
	}
	addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return addr == MAP_FAILED ? NULL : addr;
}

static void
test_create_is_zeroed_and_shared(void **state)
{
	char *a, *b;

	(void)state;
	assert_call_nonnull("1.1", a = shm_area_create(name, SIZE));
	assert_int_equal(a[0], 0);
	assert_int_equal(a[SIZE - 1], 0);
	assert_non_null(b = map_raw(0, SIZE));	/* not 1.3's shm_area_open */
	strcpy(a, "written through a");
	assert_string_equal(b, "written through a");	/* same memory */
	assert_int_equal(shm_area_close(a, SIZE), 0);
	assert_int_equal(munmap(b, SIZE), 0);
}

static void
test_create_mode_0600(void **state)
{
	char path[128];
	struct stat st;
	void *a;

	(void)state;
	assert_call_nonnull("1.1", a = shm_area_create(name, SIZE));
	snprintf(path, sizeof path, "/dev/shm%s", name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal((size_t)st.st_size, SIZE);
	shm_area_close(a, SIZE);
}

static void
test_create_existing_fails_eexist(void **state)
{
	void *a;

	(void)state;
	assert_call_nonnull("1.1", a = shm_area_create(name, SIZE));
	errno = 0;
	assert_null(shm_area_create(name, SIZE));
	assert_errno("1.1", EEXIST);
	shm_area_close(a, SIZE);
}

static void
test_invalid_names_fail_einval(void **state)
{
	char longname[300];
	const char *bad[] = { "noslash", "/", "/a/b", "", longname };
	size_t i;

	(void)state;
	memset(longname, 'x', sizeof longname - 1);
	longname[0] = '/';
	longname[sizeof longname - 1] = '\0';
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		assert_null(shm_area_create(bad[i], SIZE));
		assert_errno("1.1", EINVAL);
		errno = 0;
		assert_null(shm_area_open(bad[i], SIZE));
		assert_errno("1.3", EINVAL);
	}
	assert_true(shm_name_valid("/osps-1000"));
}

static void
test_open_missing_fails_enoent(void **state)
{
	(void)state;
	errno = 0;
	assert_null(shm_area_open(name, SIZE));
	assert_errno("1.3", ENOENT);
}

static void
test_open_size_mismatch_fails_eproto(void **state)
{
	int fd;

	(void)state;
	/* A segment of another size, made behind the module's back. */
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_int_not_equal(fd, -1);
	assert_int_equal(ftruncate(fd, 10), 0);
	close(fd);
	errno = 0;
	assert_null(shm_area_open(name, SIZE));
	assert_errno("1.3", EPROTO);
}

static void
test_unlink_removes_the_name(void **state)
{
	void *a;

	(void)state;
	assert_non_null(a = map_raw(O_CREAT | O_EXCL, SIZE));	/* not 1.1's */
	assert_call_equal("1.5", shm_area_unlink(name), 0);
	assert_int_equal(access("/dev/shm", F_OK), 0);
	errno = 0;
	assert_int_equal(shm_open(name, O_RDWR, 0), -1);
	assert_int_equal(errno, ENOENT);
	/* The mapping outlives the name. */
	strcpy(a, "still mapped");
	assert_int_equal(munmap(a, SIZE), 0);
}

static void
test_unlink_missing_fails_enoent(void **state)
{
	(void)state;
	errno = 0;
	assert_call_equal("1.5", shm_area_unlink(name), -1);
	assert_errno("1.5", ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		EX_TEST("1.1", test_create_is_zeroed_and_shared),
		EX_TEST("1.1", test_create_mode_0600),
		EX_TEST("1.1", test_create_existing_fails_eexist),
		EX_TEST("1.1", test_invalid_names_fail_einval),
		EX_TEST("1.3", test_open_missing_fails_enoent),
		EX_TEST("1.3", test_open_size_mismatch_fails_eproto),
		EX_TEST("1.5", test_unlink_removes_the_name),
		EX_TEST("1.5", test_unlink_missing_fails_enoent),
	};

	return cmocka_run_group_tests_name("shm_area", tests, NULL, NULL);
}
