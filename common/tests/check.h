/*
 * check.h - assertions on what an exercise's functions return, whose
 * failures speak to the student: the call, what it returned, errno by
 * name and meaning, and which exercise is not done yet, e.g.
 *
 *   shm_area_create(name, SIZE) returned NULL, errno ENOSYS (Function not
 *   implemented): exercise 1.1 is not done yet (its stub is still there)
 *
 * instead of cmocka's "0x26 != 0x2". Include it after <cmocka.h>.
 *
 * It also honours OSPS_UNIT_FILTER (a cmocka pattern, e.g. "[1.1] *"):
 * `make test-stepN EX=N.M` sets it to run one exercise's tests only.
 */
#ifndef OSPS_TESTS_CHECK_H
#define OSPS_TESTS_CHECK_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* errno_name(e): the symbolic name of e ("ENOENT"), or "?" if unknown. */
static inline const char *
errno_name(int e)
{
	switch (e) {
#define CHECK_NAME(x) case x: return #x;
	CHECK_NAME(EPERM) CHECK_NAME(ENOENT) CHECK_NAME(ESRCH) CHECK_NAME(EINTR)
	CHECK_NAME(EIO) CHECK_NAME(ENXIO) CHECK_NAME(E2BIG) CHECK_NAME(EBADF)
	CHECK_NAME(ECHILD) CHECK_NAME(EAGAIN) CHECK_NAME(ENOMEM)
	CHECK_NAME(EACCES) CHECK_NAME(EFAULT) CHECK_NAME(EBUSY)
	CHECK_NAME(EEXIST) CHECK_NAME(ENOTDIR) CHECK_NAME(EISDIR)
	CHECK_NAME(EINVAL) CHECK_NAME(EMFILE) CHECK_NAME(ENOSPC)
	CHECK_NAME(ESPIPE) CHECK_NAME(EPIPE) CHECK_NAME(ERANGE)
	CHECK_NAME(ENAMETOOLONG) CHECK_NAME(ENOSYS) CHECK_NAME(ELOOP)
	CHECK_NAME(EPROTO) CHECK_NAME(EMSGSIZE) CHECK_NAME(EBADMSG)
	CHECK_NAME(EOVERFLOW) CHECK_NAME(ETIMEDOUT) CHECK_NAME(ECONNREFUSED)
	CHECK_NAME(ECONNRESET) CHECK_NAME(EADDRINUSE) CHECK_NAME(ENOTCONN)
	CHECK_NAME(ENOBUFS) CHECK_NAME(ENOTSOCK) CHECK_NAME(EADDRNOTAVAIL)
	CHECK_NAME(ENETUNREACH) CHECK_NAME(EHOSTUNREACH) CHECK_NAME(ECANCELED)
	CHECK_NAME(EROFS) CHECK_NAME(ENOTEMPTY) CHECK_NAME(EDEADLK)
#undef CHECK_NAME
	case 0: return "0";
	default: return "?";
	}
}

/* check_errno_words(buf, n, ex, e): "errno ENOSYS (Function not
 * implemented): exercise 1.1 is not done yet ..." or "errno EPROTO
 * (Protocol error), in exercise 4.1" into buf; with e == 0 only "in
 * exercise 4.1". */
static inline const char *
check_errno_words(char *buf, size_t n, const char *ex, int e)
{
	if (e == 0)	/* no errno to show: name the exercise at least */
		snprintf(buf, n, "in exercise %s", ex);
	else if (e == ENOSYS)	/* every exercise's stub sets ENOSYS */
		snprintf(buf, n, "errno ENOSYS (%s): exercise %s is not done yet "
		    "(its stub is still there: look for 'TODO %s')",
		    strerror(e), ex, ex);
	else
		snprintf(buf, n, "errno %s (%s), in exercise %s", errno_name(e), strerror(e), ex);
	return buf;
}

/* check_call_text(call): the call without an assignment in front
 * ("a = f(x)" -> "f(x)"), as the student knows it. */
static inline const char *
check_call_text(const char *call)
{
	const char *eq = strstr(call, " = ");

	return eq != NULL && strcspn(call, "(") > (size_t)(eq - call) ? eq + 3 : call;
}

/* check_fail(FILE, LINE, FMT, ...): fail the test with a message that
 * goes into the test's own report (cmocka's fail_msg() prints it apart,
 * on stderr, where a TAP reader never sees it). */
static inline void
check_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	_assert_true(0, msg, file, line);
}

/* assert_call_equal(EX, CALL, WANT): CALL, an integer expression calling
 * exercise EX's code, must give WANT; errno is shown when it failed. */
#define assert_call_equal(ex, call, want) do { \
	long long got_ = ((errno = 0), (long long)(call)); \
	int err_ = errno; \
	long long want_ = (long long)(want); \
	char words_[256]; \
	if (got_ != want_) \
		check_fail(__FILE__, __LINE__, "%s returned %lld, expected %lld, %s", \
		    check_call_text(#call), got_, want_, \
		    check_errno_words(words_, sizeof words_, ex, got_ == -1 ? err_ : 0)); \
} while (0)

/* assert_call_ok(EX, CALL): CALL must succeed (not return -1). */
#define assert_call_ok(ex, call) do { \
	long long got_ = ((errno = 0), (long long)(call)); \
	int err_ = errno; \
	char words_[256]; \
	if (got_ == -1) \
		check_fail(__FILE__, __LINE__, "%s returned -1, %s", \
		    check_call_text(#call), \
		    check_errno_words(words_, sizeof words_, ex, err_)); \
} while (0)

/* assert_call_nonnull(EX, CALL): CALL, returning a pointer, must succeed. */
#define assert_call_nonnull(ex, call) do { \
	const void *got_ = ((errno = 0), (const void *)(call)); \
	int err_ = errno; \
	char words_[256]; \
	if (got_ == NULL) \
		check_fail(__FILE__, __LINE__, "%s returned NULL, %s", \
		    check_call_text(#call), \
		    check_errno_words(words_, sizeof words_, ex, err_)); \
} while (0)

/* assert_errno(EX, WANT): the failure just checked set errno to WANT. */
#define assert_errno(ex, want) do { \
	int err_ = errno; \
	char words_[256]; \
	if (err_ != (want)) \
		check_fail(__FILE__, __LINE__, "expected errno %s (%s), got %s", \
		    errno_name(want), strerror(want), \
		    check_errno_words(words_, sizeof words_, ex, err_)); \
} while (0)

/* Before main(): keep only the tests matching OSPS_UNIT_FILTER. */
__attribute__((constructor)) static void
check_filter_from_env(void)
{
	const char *pattern = getenv("OSPS_UNIT_FILTER");

	if (pattern != NULL && *pattern != '\0')
		cmocka_set_test_filter(pattern);
}

#endif
