/*
 * zombie.c - see a zombie with your own eyes (question 2.b).
 *
 * A process that exits does not vanish at once: the kernel keeps its
 * entry in the process table (its pid, how it ended) until its parent
 * asks with waitpid(). Until then it is a zombie, "Z" in ps. This program
 * forks a child that exits at once, then waits MS ms before reaping it:
 * look at the child with the ps command it logs. SIGTERM or SIGINT ends
 * the wait early. d reaps its w as soon as SIGCHLD says it has exited
 * (reap_children() in child.c): that is what this program does not do.
 *
 *     zombie [-t MS]
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "opt.h"
#include "selfpipe.h"
#include "util.h"

static unsigned long hold_ms = 10000;	/* -t: how long the child stays a zombie */

static noreturn void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: zombie [-t MS]\n"
	    "  -t MS    leave the child a zombie for MS ms before reaping it\n"
	    "           (default 10000; SIGTERM or SIGINT: at once)\n"
	    "  -h       show this help\n");
	exit(code);
}

/* The numeric options: -X N, N in [min, max] (opt_parse()). */
static const struct opt_num numbers[] = {
	{ 't', 1, 600000, &hold_ms, NULL },
};

/* Every option is a number: getopt() has refused the others already. */
static int
other_option(int c, const char *arg)
{
	(void)c;
	(void)arg;
	return -1;
}

/*
 * Wait until the child pid has exited, without reaping it: waitid() with
 * WNOWAIT leaves it a zombie. Returns 0, or -1 with errno (EINTR: a
 * signal came first).
 */
static int
wait_exited(pid_t pid)
{
	siginfo_t info;

	memset(&info, 0, sizeof info);
	return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT);
}

/*
 * Wait hold_ms, or less if SIGTERM or SIGINT comes (logged).
 * Returns 0, or -1 with errno (poll() failed).
 */
static int
hold(int sig_fd)
{
	struct pollfd pfd = { .fd = sig_fd, .events = POLLIN };
	struct sig_event ev;

	if (poll(&pfd, 1, (int)hold_ms) == -1 && errno != EINTR)
		return -1;
	while (selfpipe_read(&ev) == 1)
		log_event("signal name=%s from=%ld", signal_name(ev.signo), (long)ev.pid);
	return 0;
}

int
main(int argc, char **argv)
{
	char how[64];
	int sig_fd, status;
	pid_t pid, got;

	log_init("zombie");
	opt_parse(argc, argv, "t:h", numbers, OPT_N(numbers), other_option, usage);
	sig_fd = selfpipe_open();
	if (sig_fd == -1)
		fatal("pipe");
	if (selfpipe_catch(SIGTERM) == -1 || selfpipe_catch(SIGINT) == -1)
		fatal("sigaction");
	fflush(NULL);	/* text in our stdout buffer would be copied */
	pid = fork();
	if (pid == -1)
		fatal("fork");
	if (pid == 0)
		_exit(0);
	log_event("started name=child pid=%ld", (long)pid);
	if (wait_exited(pid) == 0) {
		log_event("zombie name=child pid=%ld ms=%lu see=\"ps -o pid,stat,comm --ppid %ld\"",
		    (long)pid, hold_ms, (long)getpid());
		if (hold(sig_fd) == -1)
			fatal("poll");
	} else if (errno != EINTR) {
		fatal("waitid");
	}
	do
		got = waitpid(pid, &status, 0);
	while (got == -1 && errno == EINTR);
	if (got == -1)
		fatal("waitpid");
	log_event("reaped name=child pid=%ld status=\"%s\"", (long)pid,
	    status_str(status, how, sizeof how));
	selfpipe_close();
	return 0;
}
