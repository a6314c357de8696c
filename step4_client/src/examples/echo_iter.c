/*
 * echo_iter.c - the tutorial's first server (seed 000, §1), in C: an
 * iterative TCP echo server. A worked example, given whole.
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
 * only way to stop it is a signal (Ctrl-C). poll_server.c fixes both.
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

#define MAXBYTES 4096

int
main(int argc, char **argv)
{
	unsigned long port = 2000, max_clients = 0, served = 0;
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

	while (max_clients == 0 || served < max_clients) {
		char buf[MAXBYTES], peer[32];
		ssize_t n;
		int cfd = accept(lfd, NULL, NULL);	/* blocks until a client comes */

		if (cfd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fatal("accept");
		}
		tcp_peer(cfd, peer, sizeof peer);
		log_event("connected peer=%s", peer);
		/* read() returns 0 when the client has closed: then we do too. */
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
	close(lfd);
	return 0;
}
