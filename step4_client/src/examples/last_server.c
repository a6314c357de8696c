/*
 * last_server.c - the tutorial's second server (TD n°7, §4), in C: it
 * prints what its clients send, and stops once its last client has gone.
 *
 * It counts open connections: +1 at accept, -1 when a client closes.
 * Once at least one client came and the count is back to 0, it says bye.
 *
 *     last_server [-p PORT]
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "tcp.h"
#include "util.h"

#define MAXBYTES 4096	/* the tutorial's: at most this much per read() */
#define MAX_CLIENTS 1000

enum { PFD_LISTEN, PFD_FIRST_CLIENT };

/*
 * Whether the server goes on: anyone_came says a client has connected at
 * least once, nopen how many are connected now.
 */
static int
still_serving(int anyone_came, size_t nopen)
{
	/* TODO 4.13: the tutorial's "while first or nb_open > 0": go on
	 * until a first client came, then as long as one is connected. Why
	 * is the count alone (nopen > 0) not enough? */
	return 1;
}

int
main(int argc, char **argv)
{
	static struct pollfd pfd[PFD_FIRST_CLIENT + MAX_CLIENTS];
	unsigned long port = 2000;
	size_t nopen = 0, i;
	int c, anyone_came = 0;

	log_init("last_server");
	while ((c = getopt(argc, argv, "p:h")) != -1) {
		if (c == 'p' && parse_ulong(optarg, 0, 65535, &port) == 0)
			continue;
		fprintf(c == 'h' ? stdout : stderr, "usage: last_server [-p PORT]\n");
		exit(c == 'h' ? 0 : 2);
	}
	pfd[PFD_LISTEN] = (struct pollfd){ tcp_listen((unsigned)port), POLLIN, 0 };

	while (still_serving(anyone_came, nopen)) {
		if (poll(pfd, PFD_FIRST_CLIENT + nopen, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[PFD_LISTEN].revents != 0 && nopen < MAX_CLIENTS) {
			char peer[32];
			int cfd = tcp_accept(pfd[PFD_LISTEN].fd, peer, sizeof peer);

			if (cfd != -1) {
				anyone_came = 1;
				log_event("connected peer=%s open=%zu", peer, nopen + 1);
				pfd[PFD_FIRST_CLIENT + nopen++] = (struct pollfd){ cfd, POLLIN, 0 };
			}
		}
		for (i = 0; i < nopen; i++) {
			struct pollfd *p = &pfd[PFD_FIRST_CLIENT + i];
			char buf[MAXBYTES];
			ssize_t n;

			if (p->revents == 0)
				continue;
			n = read(p->fd, buf, sizeof buf);
			if (n == -1 && errno == EINTR)
				continue;
			if (n > 0) {
				if (write_all(STDOUT_FILENO, buf, (size_t)n) == -1)
					fatal("write stdout");
				continue;
			}
			log_event("closed open=%zu", nopen - 1);
			close(p->fd);
			*p = pfd[PFD_FIRST_CLIENT + --nopen];
			i--;
		}
	}
	close(pfd[PFD_LISTEN].fd);
	log_event("last connection closed, bye");
	return 0;
}
