/*
 * echo_iter.c - the tutorial's first server (TD n°7, §1), in C: an
 * iterative TCP echo server that survives its clients leaving.
 *
 * It accepts one client, sends back everything the client sends until the
 * client closes, then accepts the next one. Try it with three terminals:
 *
 *     build/step4_client/echo_iter -p 2000      # terminal 1
 *     nc 127.0.0.1 2000                         # terminal 2: type lines
 *     nc 127.0.0.1 2000                         # terminal 3: no echo...
 *
 * The third terminal gets no echo until the second one quits: accept()
 * and read() block, so the server is with one client at a time. And the
 * only way to stop it is a signal (Ctrl-C). select_server.c fixes both.
 *
 *     echo_iter [-p PORT] [-n N]      (-n: stop after N clients; 0: never)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp.h"
#include "io.h"
#include "log.h"
#include "util.h"

#define MAXBYTES 4096	/* the tutorial's: at most this much per read() */

/* Accept the next client: its socket, or -1 if accept() was interrupted
 * or the connection aborted before we got it (then just try again). */
static int
accept_client(int lfd, char *peer, unsigned size)
{
	int cfd = accept(lfd, NULL, NULL);	/* blocks until a client comes */

	if (cfd == -1 && (errno == EINTR || errno == ECONNABORTED))
		return -1;
	if (cfd == -1)
		fatal("accept");
	tcp_peer(cfd, peer, size);
	log_event("connected peer=%s", peer);
	return cfd;
}

/*
 * Serve max_clients clients (0: forever), one after the other: send back
 * to each everything it sends, until it leaves, then close it.
 */
static void
serve_clients(int lfd, unsigned long max_clients)
{
	unsigned long served = 0;
	char buf[MAXBYTES], peer[32];
	ssize_t n;
	int cfd;

	/* TODO 4.10: the tutorial's first server serves one client and
	 * ends. Loop: accept_client(); then read() and write_all() back until
	 * read() returns 0 (the client closed) or -1 (it reset: ECONNRESET;
	 * retry on EINTR); log "disconnected peer=...", close, count it. Why
	 * must a client that resets never stop the server? */
	/* BEGIN SOLUTION 4.10 */
	while (max_clients == 0 || served < max_clients) {
		cfd = accept_client(lfd, peer, sizeof peer);
		if (cfd == -1)
			continue;
		while ((n = read(cfd, buf, sizeof buf)) != 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 || write_all(cfd, buf, (size_t)n) == -1)
				break;	/* reset by the client: on to the next */
		}
		log_event("disconnected peer=%s", peer);
		close(cfd);
		served++;
	}
	/* END SOLUTION */
	/* STUB 4.10:
	*/
}

int
main(int argc, char **argv)
{
	unsigned long port = 2000, max_clients = 0;
	int c, lfd;

	log_init("echo_iter");
	while ((c = getopt(argc, argv, "p:n:h")) != -1) {
		if (c == 'p' && parse_ulong(optarg, 0, 65535, &port) == 0)
			continue;
		if (c == 'n' && parse_ulong(optarg, 0, 1000000, &max_clients) == 0)
			continue;
		fprintf(c == 'h' ? stdout : stderr, "usage: echo_iter [-p PORT] [-n N]\n");
		exit(c == 'h' ? 0 : 2);
	}
	lfd = tcp_listen((unsigned)port);

	serve_clients(lfd, max_clients);
	close(lfd);
	return 0;
}
