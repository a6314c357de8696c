/*
 * test_registry.c - the registry in shared memory and the servers' side
 * of the heartbeat: the segment has no name, a descriptor that is not a
 * registry is refused, a pidfd is only handed out for the server the
 * slot vouches for (never for a pid that may have been reused), a
 * heartbeat is answered only to the watchdog, by the counter first.
 * Each test's name starts with the exercise it checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "registry.h"
#include "server.h"
#include "tests/check.h"	/* assertions that speak: errno names, exercises */

#define EX_TEST(ex, f) { "[" ex "] " #f, f, make_reg, drop_reg, NULL }

static struct registry *reg;
static int fd = -1;
static char name[64];
static volatile sig_atomic_t got_usr2;

static void
on_usr2(int sig)
{
	(void)sig;
	got_usr2++;
}

static int
make_reg(void **state)
{
	static int n;
	struct sigaction sa;

	(void)state;
	snprintf(name, sizeof name, "/osps-unit-reg-%ld-%d", (long)getpid(), ++n);
	reg = reg_create(name, 3, &fd);
	got_usr2 = 0;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr2;	/* sigaction: the handler stays */
	sigaction(SIGUSR2, &sa, NULL);
	return reg == NULL ? -1 : 0;
}

static int
drop_reg(void **state)
{
	(void)state;
	signal(SIGUSR2, SIG_DFL);
	if (reg != NULL)
		reg_detach(reg);
	if (fd != -1)
		close(fd);
	reg = NULL;
	fd = -1;
	return 0;
}

static void
test_create_has_no_name_and_is_cloexec(void **state)
{
	(void)state;
	errno = 0;
	assert_int_equal(shm_open(name, O_RDONLY, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(reg->magic, REG_MAGIC);
	assert_int_equal(reg->watchdog, getpid());
	assert_int_equal(reg->nslots, 3);
}

static void
test_attach_sees_the_same_memory(void **state)
{
	struct registry *other;

	(void)state;
	other = reg_attach(fd);
	assert_non_null(other);
	reg_publish(reg, 1, 1234);
	assert_int_equal(atomic_load(&other->slot[1].pid), 1234);
	assert_int_equal(atomic_load(&other->slot[1].gen), 1);
	assert_int_equal(atomic_load(&other->slot[1].state), SLOT_STARTING);
	reg_detach(other);
}

static void
test_attach_refuses_other_files(void **state)
{
	int devnull = open("/dev/null", O_RDONLY);

	(void)state;
	errno = 0;
	assert_null(reg_attach(devnull));
	assert_int_equal(errno, EPROTO);
	close(devnull);
}

static void
test_publish_keeps_a_quick_ready(void **state)
{
	(void)state;
	/* The child said READY before its parent published it. */
	atomic_store(&reg->slot[2].state, SLOT_READY);
	reg_publish(reg, 2, 99);
	assert_int_equal(atomic_load(&reg->slot[2].state), SLOT_READY);
	reg_gone(reg, 2);
	reg_publish(reg, 2, 100);
	assert_int_equal(atomic_load(&reg->slot[2].state), SLOT_STARTING);
	assert_int_equal(atomic_load(&reg->slot[2].gen), 2);
}

static void
test_ref_for_the_published_server(void **state)
{
	struct reg_ref r;

	(void)state;
	reg_publish(reg, 1, getpid());
	assert_int_equal(reg_ref_open(reg, 1, getpid(),
	    atomic_load(&reg->slot[1].gen), &r), 0);
	assert_int_equal(r.pid, getpid());
	if (r.pidfd != -1)	/* -1: no pidfds here (valgrind) */
		assert_true(fcntl(r.pidfd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(reg_ref_signal(reg, &r, 0), 0);
	reg_ref_close(&r);
	assert_int_equal(r.pid, 0);
}

static void
test_ref_refused_once_gone(void **state)
{
	struct reg_ref r;
	unsigned gen;

	(void)state;
	reg_publish(reg, 1, getpid());
	gen = atomic_load(&reg->slot[1].gen);
	reg_gone(reg, 1);
	/* The pid is alive, but the slot no longer vouches for it: it may
	 * be reaped, then reused by anyone. */
	errno = 0;
	assert_int_equal(reg_ref_open(reg, 1, getpid(), gen, &r), -1);
	assert_int_equal(errno, ESRCH);
}

static void
test_ref_refused_for_an_old_generation(void **state)
{
	struct reg_ref r;
	unsigned gen;

	(void)state;
	reg_publish(reg, 1, getpid());
	gen = atomic_load(&reg->slot[1].gen);
	reg_publish(reg, 1, getpid());	/* restarted since */
	errno = 0;
	assert_int_equal(reg_ref_open(reg, 1, getpid(), gen, &r), -1);
	assert_int_equal(errno, ESRCH);
}

static void
test_ref_refused_for_another_pid(void **state)
{
	struct reg_ref r;

	(void)state;
	reg_publish(reg, 1, getpid());
	errno = 0;
	assert_int_equal(reg_ref_open(reg, 1, getppid(),
	    atomic_load(&reg->slot[1].gen), &r), -1);
	assert_int_equal(errno, ESRCH);
}

static void
test_signal_never_reaches_a_reaped_server(void **state)
{
	struct reg_ref r;
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	reg_publish(reg, 1, pid);
	assert_int_equal(reg_ref_open(reg, 1, pid,
	    atomic_load(&reg->slot[1].gen), &r), 0);
	assert_int_equal(reg_ref_signal(reg, &r, SIGKILL), 0);
	/* The parent's protocol: GONE first, then reap. */
	reg_gone(reg, 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* Whatever gets that pid next, the handle does not reach it. */
	errno = 0;
	assert_int_equal(reg_ref_signal(reg, &r, SIGKILL), -1);
	assert_int_equal(errno, ESRCH);
	reg_ref_close(&r);
}

static void
test_heartbeat_counts_then_wakes_the_watchdog(void **state)
{
	struct server sv = { reg, 1, 0, { FAULT_NONE, 0 } };
	struct sig_event ev = { .signo = SIGUSR1, .pid = 0 };

	(void)state;
	ev.pid = reg->watchdog;
	assert_int_equal(server_heartbeat(&sv, &ev), 1);
	assert_int_equal(server_heartbeat(&sv, &ev), 1);
	assert_int_equal(atomic_load(&reg->slot[1].beats), 2);
	assert_int_equal(sv.answered, 2);
	assert_true(got_usr2 >= 1);	/* two SIGUSR2 may make one */
}

static void
test_heartbeat_from_a_stranger_is_ignored(void **state)
{
	struct server sv = { reg, 1, 0, { FAULT_NONE, 0 } };
	struct sig_event ev = { .signo = SIGUSR1, .pid = 1 };	/* init is not our watchdog */

	(void)state;
	assert_int_equal(server_heartbeat(&sv, &ev), 0);
	assert_int_equal(atomic_load(&reg->slot[1].beats), 0);
	assert_int_equal(got_usr2, 0);
}

static void
test_ready_marks_the_slot_and_wakes(void **state)
{
	struct server sv = { reg, 2, 0, { FAULT_NONE, 0 } };

	(void)state;
	assert_int_equal(server_ready(&sv), 0);
	assert_int_equal(atomic_load(&reg->slot[2].state), SLOT_READY);
	assert_int_equal(got_usr2, 1);
}

static void
test_fault_specs(void **state)
{
	struct fault f;

	(void)state;
	assert_int_equal(fault_parse("exit", &f), 0);
	assert_int_equal(f.kind, FAULT_EXIT);
	assert_int_equal(fault_parse("hang:3", &f), 0);
	assert_int_equal(f.kind, FAULT_HANG);
	assert_int_equal(f.after, 3);
	assert_int_equal(fault_parse("hang:0", &f), -1);
	assert_int_equal(fault_parse("hang", &f), -1);
	assert_int_equal(fault_parse("boom", &f), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_exit_fault_exits_1_at_start(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct server sv = { NULL, 0, 0, { FAULT_EXIT, 0 } };

		drop_reg(NULL);	/* nothing open but the descriptor it closes */
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		server_fault_at_start(&sv, fd);
		_exit(0);	/* the fault did not fire */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		EX_TEST("run", test_create_has_no_name_and_is_cloexec),
		EX_TEST("run", test_attach_sees_the_same_memory),
		EX_TEST("run", test_attach_refuses_other_files),
		EX_TEST("run", test_publish_keeps_a_quick_ready),
		EX_TEST("run", test_ref_for_the_published_server),
		EX_TEST("run", test_ref_refused_once_gone),
		EX_TEST("run", test_ref_refused_for_an_old_generation),
		EX_TEST("run", test_ref_refused_for_another_pid),
		EX_TEST("run", test_signal_never_reaches_a_reaped_server),
		EX_TEST("run", test_heartbeat_counts_then_wakes_the_watchdog),
		EX_TEST("run", test_heartbeat_from_a_stranger_is_ignored),
		EX_TEST("run", test_ready_marks_the_slot_and_wakes),
		EX_TEST("run", test_fault_specs),
		EX_TEST("run", test_exit_fault_exits_1_at_start),
	};

	return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
