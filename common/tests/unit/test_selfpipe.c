/*
 * test_selfpipe.c - signals become records in the pipe, with their sender;
 * the pipe is non-blocking and close-on-exec; poll() wakes on a signal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "selfpipe.h"

static int fd;

static int
open_pipe(void **state)
{
	(void)state;
	fd = selfpipe_open();
	return fd == -1 ? -1 : 0;
}

static int
close_pipe(void **state)
{
	(void)state;
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	selfpipe_close();
	return 0;
}

static void
test_signal_is_recorded_with_sender(void **state)
{
	struct sig_event ev;

	(void)state;
	assert_int_equal(selfpipe_catch(SIGUSR1), 0);
	assert_int_equal(selfpipe_read(&ev), 0);	/* empty: no block */
	assert_int_equal(kill(getpid(), SIGUSR1), 0);
	assert_int_equal(selfpipe_read(&ev), 1);
	assert_int_equal(ev.signo, SIGUSR1);
	assert_int_equal(ev.pid, getpid());
	assert_int_equal(selfpipe_read(&ev), 0);
}

static void
test_records_keep_their_order(void **state)
{
	struct sig_event ev;

	(void)state;
	assert_int_equal(selfpipe_catch(SIGUSR1), 0);
	assert_int_equal(selfpipe_catch(SIGUSR2), 0);
	raise(SIGUSR2);
	raise(SIGUSR1);
	assert_int_equal(selfpipe_read(&ev), 1);
	assert_int_equal(ev.signo, SIGUSR2);
	assert_int_equal(selfpipe_read(&ev), 1);
	assert_int_equal(ev.signo, SIGUSR1);
}

static void
test_poll_wakes_on_signal(void **state)
{
	struct pollfd pfd;

	(void)state;
	assert_int_equal(selfpipe_catch(SIGUSR1), 0);
	pfd.fd = fd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 0), 0);
	raise(SIGUSR1);
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	assert_true(pfd.revents & POLLIN);
}

static void
test_flags(void **state)
{
	(void)state;
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_signal_is_recorded_with_sender, open_pipe, close_pipe),
		cmocka_unit_test_setup_teardown(test_records_keep_their_order, open_pipe, close_pipe),
		cmocka_unit_test_setup_teardown(test_poll_wakes_on_signal, open_pipe, close_pipe),
		cmocka_unit_test_setup_teardown(test_flags, open_pipe, close_pipe),
	};

	return cmocka_run_group_tests_name("selfpipe", tests, NULL, NULL);
}
