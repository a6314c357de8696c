/*
 * mock_read.h - a read() replaced by a queue of answers, for cmocka tests
 * linked with -Wl,--wrap=read. Include it in one test file of the binary,
 * after cmocka.h.
 *
 *     will_read("pi"); will_read("ng\n");   two short reads make one line
 *     will_fail_read(EINTR);                one read fails with EINTR
 *     will_read("");                        end of file
 *     will_read_bytes("a\0b\n", 4);          bytes a string cannot hold
 *     __real_read(fd, buf, n)               the real read(), unmocked
 *
 * A read the test did not queue fails the test ("Could not get value to
 * mock function").
 */
#ifndef OSPS_MOCK_READ_H
#define OSPS_MOCK_READ_H

#include <errno.h>
#include <string.h>
#include <sys/types.h>

ssize_t __wrap_read(int fd, void *buf, size_t count);
ssize_t __real_read(int fd, void *buf, size_t count);	/* the real one */

ssize_t
__wrap_read(int fd, void *buf, size_t count)
{
	int err = mock_type(int);
	const char *chunk = mock_ptr_type(const char *);
	size_t len = mock_type(size_t);

	(void)fd;
	if (chunk == NULL) {
		errno = err;
		return -1;
	}
	assert_true(len <= count);
	memcpy(buf, chunk, len);
	return (ssize_t)len;
}

/* Queue a read() that returns the len bytes at chunk (NULs included). */
static void
will_read_bytes(const char *chunk, size_t len)
{
	will_return(__wrap_read, 0);
	will_return(__wrap_read, chunk);
	will_return(__wrap_read, len);
}

/* Queue a read() that returns chunk ("" is end of file). */
static void
will_read(const char *chunk)
{
	will_read_bytes(chunk, strlen(chunk));
}

/* Queue a read() that fails with errno err. */
static void
will_fail_read(int err)
{
	will_return(__wrap_read, err);
	will_return(__wrap_read, NULL);
	will_return(__wrap_read, 0);
}

#endif
