/*
 * signal_rtt.c - the raw baseline for step 3's heartbeat: two processes
 * play SIGUSR1/SIGUSR2 ping-pong with nothing else at all: no self-pipe,
 * no poll(), no registry, no logging. Both block the two signals and take
 * them with sigwaitinfo(), the shortest path the kernel offers. Whatever
 * the watchdog and a server add on top (handler, self-pipe, poll, counter
 * in shared memory, log line) costs the difference.
 *
 *     signal_rtt [-n N]      N round trips (default 100000)
 *
 * Prints the kit's summary line (common/rtt.h), measured the same way as
 * everywhere: one clock reading before each SIGUSR1, one after its SIGUSR2.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "rtt.h"
#include "util.h"

/* Wait for sig (blocked), retrying on EINTR. Returns 0 or -1. */
static int
wait_for(const sigset_t *set, int sig)
{
	int got;

	do
		got = sigwaitinfo(set, NULL);
	while (got == -1 && errno == EINTR);
	return got == sig ? 0 : -1;
}

int
main(int argc, char **argv)
{
	unsigned long n = 100000, i;
	struct rtt_stats st;
	sigset_t set;
	pid_t parent = getpid(), child;
	int c, status;
	double t;

	log_init("signal_rtt");
	while ((c = getopt(argc, argv, "n:h")) != -1) {
		if (c == 'n' && parse_ulong(optarg, 1, 100000000, &n) == 0)
			continue;
		fprintf(c == 'h' ? stdout : stderr, "usage: signal_rtt [-n N]\n");
		return c == 'h' ? 0 : 2;
	}
	if (rtt_init(&st, n) == -1)
		fatal("rtt_init");
	/* Blocked before fork: no signal can arrive unhandled in between. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		fatal("sigprocmask");
	fflush(NULL);
	child = fork();
	if (child == -1)
		fatal("fork");
	if (child == 0) {
		/* The ponger: every SIGUSR1 is answered with SIGUSR2. */
		for (i = 0; i < n; i++) {
			if (wait_for(&set, SIGUSR1) == -1)
				child_fatal(1, "sigwaitinfo");
			if (kill(parent, SIGUSR2) == -1)
				child_fatal(1, "kill");
		}
		_exit(0);
	}
	st.start = log_now();
	for (i = 0; i < n; i++) {
		t = log_now();
		if (kill(child, SIGUSR1) == -1)
			fatal("kill");
		if (wait_for(&set, SIGUSR2) == -1)
			fatal("sigwaitinfo");
		rtt_add(&st, log_now() - t);
	}
	st.end = log_now();
	while (waitpid(child, &status, 0) == -1)
		if (errno != EINTR)
			fatal("waitpid");
	rtt_print(stdout, &st);
	rtt_free(&st);
	return 0;
}
