/*
 * fifo_pingpong.c - the raw baseline for step 2's benchmark: two processes
 * play ping/pong over a pair of FIFOs with nothing else at all: no shared
 * segment, no poll(), no framing, no logging, blocking reads of the exact
 * message size. Whatever d and w add on top costs the difference.
 *
 *     fifo_pingpong [-n N]      N round trips (default 100000)
 *
 * Prints the same summary line as `d -n N -q` (common/rtt.h), measured the
 * same way: one clock reading before each ping, one after each pong.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "rtt.h"
#include "util.h"

#define PING "ping\n"
#define PONG "pong\n"
#define MSG_LEN 5	/* both messages */

/* Read exactly MSG_LEN bytes; returns 1, 0 at end of file, -1 on error. */
static int
read_msg(int fd, char *buf)
{
	size_t got = 0;

	while (got < MSG_LEN) {
		ssize_t n = read(fd, buf + got, MSG_LEN - got);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		got += (size_t)n;
	}
	return 1;
}

/* The child: answer each ping with pong until end of file. */
static noreturn void
ponger(const char *dw, const char *wd)
{
	char buf[MSG_LEN];
	int in = open(dw, O_RDONLY | O_CLOEXEC);
	int out = in == -1 ? -1 : open(wd, O_WRONLY | O_CLOEXEC);
	int got;

	if (in == -1 || out == -1)
		child_fatal(1, "open %s", in == -1 ? dw : wd);
	while ((got = read_msg(in, buf)) == 1) {
		if (write(out, PONG, MSG_LEN) != MSG_LEN)
			child_fatal(1, "write %s", wd);
	}
	if (got == -1)
		child_fatal(1, "read %s", dw);
	_exit(0);
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/osps-baseline.XXXXXX", dw[PATH_MAX], wd[PATH_MAX];
	char buf[MSG_LEN];
	unsigned long n = 100000, i;
	struct rtt_stats rtt;
	int c, out, in, status, rc = 0;
	double t0;
	pid_t pid;

	log_init("fifo_pingpong");
	while ((c = getopt(argc, argv, "n:h")) != -1) {
		if (c == 'n' && parse_ulong(optarg, 1, 1000000000, &n) == 0)
			continue;
		fprintf(c == 'h' ? stdout : stderr, "usage: fifo_pingpong [-n N]\n");
		return c == 'h' ? 0 : 2;
	}
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal SIGPIPE");
	if (rtt_init(&rtt, n) == -1)
		fatal("malloc");
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp %s", dir);
	snprintf(dw, sizeof dw, "%s/dwtube1", dir);
	snprintf(wd, sizeof wd, "%s/wdtube1", dir);
	if (mkfifo(dw, 0600) == -1 || mkfifo(wd, 0600) == -1)
		fatal("mkfifo in %s", dir);

	fflush(NULL);
	pid = fork();
	if (pid == -1)
		fatal("fork");
	if (pid == 0)
		ponger(dw, wd);
	out = open(dw, O_WRONLY | O_CLOEXEC);
	in = out == -1 ? -1 : open(wd, O_RDONLY | O_CLOEXEC);
	if (in == -1)
		fatal("open %s", out == -1 ? dw : wd);

	rtt.start = log_now();
	for (i = 0; i < n && rc == 0; i++) {
		t0 = log_now();
		if (write(out, PING, MSG_LEN) != MSG_LEN || read_msg(in, buf) != 1) {
			warn("ping/pong %lu", i + 1);
			rc = 1;
			break;
		}
		rtt.end = log_now();
		rtt_add(&rtt, rtt.end - t0);
	}
	close(out);	/* the child reads end of file and exits */
	close(in);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		continue;
	unlink(dw);
	unlink(wd);
	rmdir(dir);
	if (rc == 0)
		rtt_print(stdout, &rtt);
	rtt_free(&rtt);
	return rc;
}
