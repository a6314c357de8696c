/*
 * select_server.c - the tutorial's multiplexing server (TD n°7, §3), in C,
 * with select() as in the tutorial: an echo server for many clients at
 * once, which stops when Enter is pressed on its terminal.
 *
 * One loop asks select() which descriptors are ready to be read: the
 * listening socket (a client is waiting: accept it), a client (it sent
 * bytes: echo them; or it closed: forget it), the keyboard (Enter: close
 * every client and stop). Nothing blocks except select() itself.
 *
 *     select_server [-p PORT]          Enter (or end of stdin) stops it
 *
 * The limit: select() takes fd_set bitmaps of FD_SETSIZE (1024) bits,
 * one bit per descriptor number. A descriptor numbered 1024 or more has
 * no bit: FD_SET() on it writes past the end of the set (memory
 * corruption, or an abort with _FORTIFY_SOURCE). So a client whose
 * descriptor is too big is refused here, and the server keeps serving
 * the others. poll_server.c has no such limit: poll() takes an array.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "tcp.h"
#include "util.h"

#define MAXBYTES 4096	/* the tutorial's: at most this much per read() */
#define MAX_CLIENTS FD_SETSIZE	/* more could not fit in an fd_set anyway */

static int clients[MAX_CLIENTS];	/* the clients' sockets, in any order */
static size_t nclients;

/*
 * Fill set with the sockets the loop waits for: the listening socket lfd
 * and every client. Returns the highest descriptor in the set.
 */
static int
watch_set(fd_set *set, int lfd)
{
	int maxfd = lfd;
	size_t i;

	FD_ZERO(set);
	FD_SET(lfd, set);
	for (i = 0; i < nclients; i++) {
		FD_SET(clients[i], set);
		if (clients[i] > maxfd)
			maxfd = clients[i];
	}
	return maxfd;
}

/*
 * Wait until a descriptor of set (none above maxfd) can be read; set is
 * left holding only those. -1 if a signal interrupted the wait.
 */
static int
wait_ready(fd_set *set, int maxfd)
{
	/* select() looks at descriptors 0 to maxfd, hence the + 1. */
	if (select(maxfd + 1, set, NULL, NULL, NULL) == -1) {
		if (errno == EINTR)
			return -1;
		fatal("select");
	}
	return 0;
}

/* The waiting client's socket (close-on-exec), or -1 if it went away. */
static int
accept_client(int lfd)
{
	int cfd = accept(lfd, NULL, NULL);

	if (cfd == -1 && (errno == EINTR || errno == ECONNABORTED))
		return -1;
	if (cfd == -1)
		fatal("accept");
	/* Single-threaded: nothing can fork between accept and this line. */
	if (fcntl(cfd, F_SETFD, FD_CLOEXEC) == -1)
		fatal("fcntl");
	return cfd;
}

/* Add cfd to clients[] (or close it if the array is full). */
static void
add_client(int cfd)
{
	char peer[32];

	if (nclients == MAX_CLIENTS) {
		close(cfd);	/* full: the client sees its connection closed */
		return;
	}
	tcp_peer(cfd, peer, sizeof peer);
	clients[nclients++] = cfd;
	log_event("connected peer=%s fd=%d clients=%zu", peer, cfd, nclients);
}

/* Read what client i sent and send it back. -1 once it has closed or
 * reset. (It may block on a client that never reads: see question 4.c.) */
static int
echo_once(size_t i)
{
	char buf[MAXBYTES];
	ssize_t n = read(clients[i], buf, sizeof buf);

	if (n == -1 && errno == EINTR)
		return 0;
	if (n > 0 && write_all(clients[i], buf, (size_t)n) == (ssize_t)n)
		return 0;
	return -1;
}

/* Close client i; the last one moves into its slot. */
static void
forget(size_t i)
{
	close(clients[i]);
	clients[i] = clients[--nclients];
	log_event("disconnected clients=%zu", nclients);
}

/* Serve what select() said is readable (in ready): the listening socket
 * lfd (a client is waiting), and the clients. */
static void
serve_ready(fd_set *ready, int lfd)
{
	size_t i;
	int cfd;

	/* TODO 4.11: if lfd is in ready (FD_ISSET), accept_client(); a
	 * descriptor >= FD_SETSIZE has no bit in an fd_set: log "refused
	 * fd=N reason=FD_SETSIZE limit=1024" and close it, else
	 * add_client(). Then each client in ready: echo_once(), and on -1
	 * forget() it (the last client then moves into slot i: look at it
	 * too). What would FD_SET() do with descriptor 1024? */
	if (FD_ISSET(lfd, ready) && (cfd = accept_client(lfd)) != -1)
		close(cfd);
}

int
main(int argc, char **argv)
{
	unsigned long port = 2000;
	int c, lfd, maxfd, running = 1;
	fd_set ready;

	log_init("select_server");
	while ((c = getopt(argc, argv, "p:h")) != -1) {
		if (c == 'p' && parse_ulong(optarg, 0, 65535, &port) == 0)
			continue;
		fprintf(c == 'h' ? stdout : stderr, "usage: select_server [-p PORT]\n"
		    "Enter on its terminal (or the end of its input) stops it.\n");
		exit(c == 'h' ? 0 : 2);
	}
	lfd = tcp_listen((unsigned)port);

	while (running) {
		/* select() changes the set it is given: rebuild it each turn. */
		maxfd = watch_set(&ready, lfd);
		/* TODO 4.12: watch the keyboard too: FD_SET(STDIN_FILENO, ...)
		 * before waiting; after, if it is readable, read what was typed
		 * (or the end of input), log "stopping reason=stdin clients=N"
		 * and leave the loop. Why must it be the same select() as the
		 * sockets'? */
		if (wait_ready(&ready, maxfd) == -1)
			continue;
		serve_ready(&ready, lfd);
	}
	/* As the tutorial says: once out of the loop, close every client
	 * (each sees end of file) and the listening socket. */
	while (nclients > 0)
		close(clients[--nclients]);
	close(lfd);
	log_event("stopped");
	return 0;
}
