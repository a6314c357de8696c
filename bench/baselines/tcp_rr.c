/*
 * tcp_rr.c - the raw baseline for step 4's benchmark: loopback TCP with
 * nothing else, one request/response per connection, as a step-4 client
 * does with d: connect, send one request line, read one answer line,
 * close. Whatever d, the w's and the second connection add on top costs
 * the difference. With -k, the other raw baseline: C connections opened
 * once, each carrying request after request (as `client -k` keeps its d
 * connections), so that no connection is set up in the measured loop.
 *
 *     tcp_rr [-n N] [-c C] [-k]   N connections (default 20000), C at a time (50);
 *                                 -k: N requests over C kept connections
 *
 * A server process (forked here: one poll() loop, non-blocking sockets,
 * accept4) answers each request line with one line the size of d's
 * handover; the client side keeps C connections going at once from one
 * poll() loop, as `client -n N -c C` does. It prints the summary line of
 * common/rtt.h, one round trip being one connection, from its connect()
 * to the answer (with -k: one request, from its write() to the answer):
 *
 *     20000 round trips in 1.402 s: 14265 round trips/s, p50 2871.0 us, p99 6012.3 us
 *
 * _GNU_SOURCE: accept4().
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "rtt.h"
#include "util.h"

#define REQUEST "requetetype1\n"
#define ANSWER "40000 0123456789abcdef\n"	/* the size of d's handover line */
#define MAX_CONC 20000

/* The server: accept, read a line, answer a line, close when the client
 * does. Runs until killed. */
static noreturn void
serve(int lfd)
{
	static struct pollfd pfd[1 + MAX_CONC];
	size_t n = 1, i;

	pfd[0] = (struct pollfd){ lfd, POLLIN, 0 };
	for (;;) {
		if (poll(pfd, n, -1) == -1) {
			if (errno == EINTR)
				continue;
			child_fatal(1, "poll");
		}
		if (pfd[0].revents != 0) {
			int fd;

			while (n < 1 + MAX_CONC &&
			    (fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1)
				pfd[n++] = (struct pollfd){ fd, POLLIN, 0 };
		}
		for (i = 1; i < n; i++) {
			char buf[256];
			ssize_t r;

			if (pfd[i].revents == 0)
				continue;
			r = read(pfd[i].fd, buf, sizeof buf);
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r > 0 && memchr(buf, '\n', (size_t)r) != NULL &&
			    write(pfd[i].fd, ANSWER, sizeof ANSWER - 1) == sizeof ANSWER - 1)
				continue;	/* answered: the client closes first */
			close(pfd[i].fd);
			pfd[i--] = pfd[--n];
		}
	}
}

/* One connection of the client side. */
struct conn {
	int fd;		/* -1: free */
	int answered;	/* 0: connecting or waiting, 1: done */
	int sent;	/* the request is sent */
	double start;
};

int
main(int argc, char **argv)
{
	unsigned long total = 20000, conc = 50, started = 0, done = 0, errors = 0, i;
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	struct rtt_stats rtt;
	struct rlimit rl;
	struct conn *cs;
	struct pollfd *pfd;
	int c, lfd, one = 1, status, keep = 0;
	pid_t server;

	log_init("tcp_rr");
	while ((c = getopt(argc, argv, "n:c:kh")) != -1) {
		if (c == 'n' && parse_ulong(optarg, 1, 100000000, &total) == 0)
			continue;
		if (c == 'c' && parse_ulong(optarg, 1, MAX_CONC, &conc) == 0)
			continue;
		if (c == 'k') {
			keep = 1;
			continue;
		}
		fprintf(c == 'h' ? stdout : stderr,
		    "usage: tcp_rr [-n CONNECTIONS] [-c CONCURRENCY] [-k]\n");
		return c == 'h' ? 0 : 2;
	}
	if (conc > total)
		conc = total;
	/* Two descriptors per connection (ours and the server's). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			warn("setrlimit");
	}
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal SIGPIPE");
	if (rtt_init(&rtt, total) == -1)
		fatal("malloc");

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd == -1 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof sa) == -1 ||
	    listen(lfd, SOMAXCONN) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) == -1)
		fatal("listen 127.0.0.1:0");
	fflush(NULL);
	server = fork();
	if (server == -1)
		fatal("fork");
	if (server == 0)
		serve(lfd);
	close(lfd);

	cs = calloc(conc, sizeof *cs);
	pfd = calloc(conc, sizeof *pfd);
	if (cs == NULL || pfd == NULL)
		fatal("calloc");
	for (i = 0; i < conc; i++)
		cs[i].fd = -1;
	rtt.start = log_now();
	while (done < total) {
		for (i = 0; i < conc; i++) {
			if (cs[i].fd != -1 || started == total)
				continue;
			/* A new connection in this free slot. */
			cs[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (cs[i].fd == -1)
				fatal("socket");
			cs[i].start = log_now();
			cs[i].sent = 0;
			started++;
			if (connect(cs[i].fd, (struct sockaddr *)&sa, sizeof sa) == -1 &&
			    errno != EINPROGRESS)
				fatal("connect");
			/* On loopback the connection is usually established
			 * already: send at once, as `client -n` does. */
			if (write(cs[i].fd, REQUEST, sizeof REQUEST - 1) == sizeof REQUEST - 1)
				cs[i].sent = 1;
		}
		for (i = 0; i < conc; i++) {
			pfd[i].fd = cs[i].fd;
			pfd[i].events = cs[i].sent ? POLLIN : POLLOUT;
			pfd[i].revents = 0;
		}
		if (poll(pfd, conc, 10000) <= 0)
			fatal("poll (no progress in 10 s)");
		for (i = 0; i < conc; i++) {
			char buf[256];
			ssize_t r;

			if (pfd[i].revents == 0 || cs[i].fd == -1)
				continue;
			if (!cs[i].sent) {
				/* Connected: one request line. With -k, the
				 * connection's set-up is not part of a request. */
				if (keep)
					cs[i].start = log_now();
				if (write(cs[i].fd, REQUEST, sizeof REQUEST - 1) == sizeof REQUEST - 1) {
					cs[i].sent = 1;
					continue;
				}
				errors++;
			} else {
				r = read(cs[i].fd, buf, sizeof buf);
				if (r == -1 && (errno == EAGAIN || errno == EINTR))
					continue;
				if (r > 0 && memchr(buf, '\n', (size_t)r) != NULL) {
					rtt_add(&rtt, log_now() - cs[i].start);
					if (keep && started < total) {
						/* -k: the next request goes on this
						 * connection (sent when it is writable). */
						done++;
						started++;
						cs[i].sent = 0;
						continue;
					}
				} else {
					errors++;
				}
			}
			close(cs[i].fd);
			cs[i].fd = -1;
			done++;
		}
	}
	rtt.end = log_now();
	if (kill(server, SIGTERM) == -1)
		warn("kill server");
	while (waitpid(server, &status, 0) == -1 && errno == EINTR)
		;
	rtt_print(stdout, &rtt);
	if (errors > 0)
		printf("tcp_rr: %lu connections failed\n", errors);
	rtt_free(&rtt);
	free(cs);
	free(pfd);
	return errors == 0 ? 0 : 1;
}
