/*
 * test_log.c - the log line format, the error line format, truncation,
 * and fatal()'s exit code. stderr is redirected to a pipe and read back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* Run fn with stderr sent to a pipe; return what it wrote (NUL-ended). */
static void
capture(void (*fn)(void), char *out, size_t size)
{
	int p[2], saved;
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	saved = dup(STDERR_FILENO);
	assert_int_not_equal(saved, -1);
	assert_int_not_equal(dup2(p[1], STDERR_FILENO), -1);
	fn();
	assert_int_not_equal(dup2(saved, STDERR_FILENO), -1);
	close(saved);
	close(p[1]);
	n = read(p[0], out, size - 1);
	assert_true(n >= 0);
	out[n] = '\0';
	close(p[0]);
}

static void
assert_matches(const char *text, const char *ere)
{
	regex_t re;
	int rc;

	assert_int_equal(regcomp(&re, ere, REG_EXTENDED | REG_NOSUB), 0);
	rc = regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	if (rc != 0)
		fail_msg("\"%s\" does not match /%s/", text, ere);
}

static void
emit_event(void)
{
	log_event("restart name=%s old=%d new=%d", "w1", 815, 822);
}

static void
test_event_line_format(void **state)
{
	char out[1024];

	(void)state;
	log_init("/some/dir/watchdog");
	capture(emit_event, out, sizeof out);
	assert_matches(out, "^[0-9]+\\.[0-9]{3} watchdog\\[[0-9]+\\] "
	    "restart name=w1 old=815 new=822\n$");
}

static void
emit_quiet(void)
{
	log_set_quiet(1);
	log_event("ready");
	log_set_quiet(0);
}

static void
test_quiet_silences_events(void **state)
{
	char out[64];

	(void)state;
	capture(emit_quiet, out, sizeof out);
	assert_string_equal(out, "");
}

static void
emit_warn(void)
{
	errno = EADDRINUSE;
	warn("bind %s:%d", "127.0.0.1", 2222);
}

static void
test_warn_names_call_and_error(void **state)
{
	char out[256];

	(void)state;
	log_init("d");
	capture(emit_warn, out, sizeof out);
	assert_string_equal(out, "d: bind 127.0.0.1:2222: Address already in use\n");
}

static void
emit_warnx(void)
{
	errno = ENOENT;
	warnx("unknown request \"%s\"", "x");
}

static void
test_warnx_has_no_strerror(void **state)
{
	char out[256];

	(void)state;
	log_init("d");
	capture(emit_warnx, out, sizeof out);
	assert_string_equal(out, "d: unknown request \"x\"\n");
}

static void
emit_long(void)
{
	char big[LOG_LINE_MAX * 2];

	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	log_event("big text=%s", big);
}

static void
test_long_line_is_cut_in_one_line(void **state)
{
	char out[LOG_LINE_MAX * 4];
	size_t len;

	(void)state;
	capture(emit_long, out, sizeof out);
	len = strlen(out);
	assert_true(len <= LOG_LINE_MAX);
	assert_memory_equal(out + len - 4, "...\n", 4);
	assert_null(memchr(out, '\n', len - 1));
}

static void
test_fatal_exits_1(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_int_not_equal(pid, -1);
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, STDERR_FILENO);
		errno = ENOENT;
		fatal("shm_open %s", "/x");
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_line_format),
		cmocka_unit_test(test_quiet_silences_events),
		cmocka_unit_test(test_warn_names_call_and_error),
		cmocka_unit_test(test_warnx_has_no_strerror),
		cmocka_unit_test(test_long_line_is_cut_in_one_line),
		cmocka_unit_test(test_fatal_exits_1),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
