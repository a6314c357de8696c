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

#define MAXBYTES 4096

/*
 * Send back to cfd everything it sends, until it closes (read() returns
 * 0) or resets (-1). Returns in both cases: a client that leaves, however
 * it leaves, must never stop the server.
 */
static void
echo_until_gone(int cfd)
{
	char buf[MAXBYTES];
	ssize_t n;

	/* TODO 4.10: read from cfd and write_all() it back, until read()
	 * returns 0 (the client closed) or -1 (reset: ECONNRESET). Retry on
	 * EINTR. Never exit here: why must a reset not stop the server? */
	/* BEGIN SOLUTION 4.10 */
	while ((n = read(cfd, buf, sizeof buf)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || write_all(cfd, buf, (size_t)n) == -1)
			return;	/* reset by the client: on to the next */
	}
	/* END SOLUTION */
	/* STUB 4.10:
	(void)cfd;
	(void)buf;
	(void)n;
	*/
}

/* Accept one client, echo it until it leaves, close it. 0, or -1 if
 * accept() was interrupted or the connection aborted before we got it. */
static int
serve_one(int lfd)
{
	char peer[32];
	int cfd = accept(lfd, NULL, NULL);	/* blocks until a client comes */

	if (cfd == -1 && (errno == EINTR || errno == ECONNABORTED))
		return -1;
	if (cfd == -1)
		fatal("accept");
	tcp_peer(cfd, peer, sizeof peer);
	log_event("connected peer=%s", peer);
	echo_until_gone(cfd);
	log_event("disconnected peer=%s", peer);
	close(cfd);
	return 0;
}

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

	/* TODO 4.10: the tutorial's first server serves one client and
	 * ends. Loop instead: serve_one() again and again, counting the
	 * clients served, until max_clients (0: forever). */
	/* BEGIN SOLUTION 4.10 */
	while (max_clients == 0 || served < max_clients)
		if (serve_one(lfd) == 0)
			served++;
	/* END SOLUTION */
	/* STUB 4.10:
	(void)max_clients;
	(void)served;
	(void)serve_one(lfd);
	*/
	close(lfd);
	return 0;
}
