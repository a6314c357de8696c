/*
 * poll_server.c - the tutorial's multiplexing server (TD n°7, §3), in C,
 * with poll() instead of select(): the kit's next step after
 * select_server.c, given whole (d and w are built on the same loop).
 *
 * One loop watches the listening socket, every client, and the keyboard
 * (stdin): a new connection is accepted, a client's bytes are echoed back,
 * a client that closes is forgotten, and Enter on the keyboard (or the end
 * of stdin) closes every client and stops the server. Nothing blocks
 * except poll() itself, so all clients are served at once.
 *
 * Why poll() and not select()? select() takes an fd_set, a bitmap of
 * FD_SETSIZE (1024) bits: a descriptor numbered 1024 or more cannot even
 * be put in it (glibc aborts, or memory is overwritten). A server with a
 * thousand clients has such descriptors. poll() takes an array of any size.
 *
 *     poll_server [-p PORT]
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
#define MAX_CLIENTS 4096	/* any number: raise it and the open-file limit */

/* Named slots first, then one slot per client. */
enum { PFD_STDIN, PFD_LISTEN, PFD_FIRST_CLIENT };

static struct pollfd pfd[PFD_FIRST_CLIENT + MAX_CLIENTS];
static size_t nclients;	/* clients in pfd[PFD_FIRST_CLIENT...] */

/* Accept the waiting client into the next slot (close it when full). */
static void
accept_client(void)
{
	char peer[32];
	int cfd = tcp_accept(pfd[PFD_LISTEN].fd, peer, sizeof peer);

	if (cfd == -1)
		return;
	if (nclients == MAX_CLIENTS) {
		close(cfd);	/* full: the client sees its connection closed */
		return;
	}
	log_event("connected peer=%s fd=%d clients=%zu", peer, cfd, nclients + 1);
	pfd[PFD_FIRST_CLIENT + nclients++] = (struct pollfd){ cfd, POLLIN, 0 };
}

int
main(int argc, char **argv)
{
	unsigned long port = 2000;
	size_t i;
	int c, running = 1;

	log_init("poll_server");
	while ((c = getopt(argc, argv, "p:h")) != -1) {
		if (c == 'p' && parse_ulong(optarg, 0, 65535, &port) == 0)
			continue;
		fprintf(c == 'h' ? stdout : stderr, "usage: poll_server [-p PORT]\n"
		    "Enter on its terminal stops it.\n");
		exit(c == 'h' ? 0 : 2);
	}
	pfd[PFD_STDIN] = (struct pollfd){ STDIN_FILENO, POLLIN, 0 };
	pfd[PFD_LISTEN] = (struct pollfd){ tcp_listen((unsigned)port), POLLIN, 0 };

	while (running) {
		if (poll(pfd, PFD_FIRST_CLIENT + nclients, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[PFD_STDIN].revents != 0) {
			char line[256];

			/* Whatever was typed (or end of input): stop. */
			(void)read(STDIN_FILENO, line, sizeof line);
			log_event("stopping reason=stdin clients=%zu", nclients);
			running = 0;
			break;
		}
		if (pfd[PFD_LISTEN].revents != 0)
			accept_client();
		for (i = 0; i < nclients; i++) {
			struct pollfd *p = &pfd[PFD_FIRST_CLIENT + i];
			char buf[MAXBYTES];
			ssize_t n;

			if (p->revents == 0)
				continue;
			n = read(p->fd, buf, sizeof buf);
			if (n == -1 && errno == EINTR)
				continue;
			if (n > 0 && write_all(p->fd, buf, (size_t)n) == (ssize_t)n)
				continue;
			/* 0: the client closed; -1: it reset. Forget it: the
			 * last slot moves into its place (and is looked at). */
			log_event("disconnected clients=%zu", nclients - 1);
			close(p->fd);
			*p = pfd[PFD_FIRST_CLIENT + --nclients];
			i--;
		}
	}
	for (i = 0; i < nclients; i++)
		close(pfd[PFD_FIRST_CLIENT + i].fd);
	close(pfd[PFD_LISTEN].fd);
	log_event("stopped");
	return 0;
}
