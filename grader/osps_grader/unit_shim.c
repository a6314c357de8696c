/*
 * unit_shim.c - each cmocka test in a process of its own, its verdict
 * taken by a process that never ran the learner's code.
 *
 * The grader preloads this library into a unit test program
 * (LD_PRELOAD) with two descriptors: OSPS_SECRET_FD, a pipe holding the
 * run's secret, and OSPS_VERDICT_FD, the pipe the grader reads verdicts
 * from. It replaces cmocka's _cmocka_run_group_tests(), which main()
 * calls before any code of the learner has run (the static checks refuse
 * constructors):
 *
 *   - the secret is read and its descriptor closed, the process made
 *     non-dumpable (no other process of its uid can trace it nor open
 *     its descriptors through /proc);
 *   - each test runs in a forked child with a fresh random token; the
 *     child closes the verdict pipe, runs the test with cmocka, and only
 *     when cmocka says it passed writes the token to its parent;
 *   - the parent, which runs no test, writes "SECRET N pass|fail" on the
 *     verdict pipe once the child has ended ("SECRET N fail SIG" when a
 *     signal ended it).
 *
 * A test passes only if the child's token came back and the child exited
 * with status 0: printing "ok" lines and calling _exit(0) no longer makes
 * a pass. Without the two variables the library does nothing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

typedef int (*run_group_fn)(const char *, const struct CMUnitTest *const, const size_t,
			    CMFixtureFunction, CMFixtureFunction);

static char secret[65];

/* The secret from its pipe, at most 64 characters; 0 on success. */
static int
read_secret(int fd)
{
	ssize_t n = read(fd, secret, sizeof secret - 1);

	close(fd);
	if (n <= 0)
		return -1;
	secret[n] = '\0';
	secret[strcspn(secret, "\n")] = '\0';
	return 0;
}

static int
env_fd(const char *name)
{
	const char *v = getenv(name);

	return v ? atoi(v) : -1;
}

/* Run tests[i] alone in a child; 1 if it passed. *sig is the signal that
 * ended the child, 0 if none (a limit's SIGXCPU or SIGKILL stops a test
 * midway, and the grader does not charge what it leaves behind). */
static int
run_one(run_group_fn real, const char *group, const struct CMUnitTest *tests, size_t i,
	CMFixtureFunction setup, CMFixtureFunction teardown, int verdict_fd, int *sig)
{
	unsigned char token[16], back[16];
	int p[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	*sig = 0;
	if (getrandom(token, sizeof token, 0) != (ssize_t)sizeof token || pipe(p) == -1)
		return 0;
	printf("# osps-test %zu\n", i + 1);
	fflush(stdout);
	pid = fork();
	if (pid == -1)
		return 0;
	if (pid == 0) {
		close(verdict_fd);
		close(p[0]);
		if (real(group, &tests[i], 1, setup, teardown) == 0 &&
		    write(p[1], token, sizeof token) == (ssize_t)sizeof token) {
			fflush(stdout);
			_exit(0);
		}
		fflush(stdout);
		_exit(1);
	}
	close(p[1]);
	while (got < sizeof back && (n = read(p[0], back + got, sizeof back - got)) > 0)
		got += (size_t)n;
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1)
		;
	if (WIFSIGNALED(status))
		*sig = WTERMSIG(status);
	return got == sizeof token && memcmp(back, token, sizeof token) == 0 &&
	       WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int
_cmocka_run_group_tests(const char *group, const struct CMUnitTest *const tests,
			const size_t n, CMFixtureFunction setup, CMFixtureFunction teardown)
{
	run_group_fn real = (run_group_fn)dlsym(RTLD_NEXT, "_cmocka_run_group_tests");
	int secret_fd = env_fd("OSPS_SECRET_FD"), verdict_fd = env_fd("OSPS_VERDICT_FD");
	char line[160];
	int failed = 0, ok, sig;
	size_t i;

	if (real == NULL)
		return 1;
	if (secret_fd < 0 || verdict_fd < 0 || read_secret(secret_fd) != 0)
		return real(group, tests, n, setup, teardown);
	unsetenv("OSPS_SECRET_FD");
	unsetenv("OSPS_VERDICT_FD");
	prctl(PR_SET_DUMPABLE, 0);
	for (i = 0; i < n; i++) {
		ok = run_one(real, group, tests, i, setup, teardown, verdict_fd, &sig);
		failed += !ok;
		if (ok)
			snprintf(line, sizeof line, "%s %zu pass\n", secret, i + 1);
		else if (sig != 0)
			snprintf(line, sizeof line, "%s %zu fail %d\n", secret, i + 1, sig);
		else
			snprintf(line, sizeof line, "%s %zu fail\n", secret, i + 1);
		if (write(verdict_fd, line, strlen(line)) != (ssize_t)strlen(line))
			return 1;
	}
	memset(secret, 0, sizeof secret);
	return failed;
}
