/*
 * echo_client.c - the tutorial's client (TD n°7, §2), in C. Given whole:
 * read it, run it, answer question 4.b.
 *
 * It connects to HOST PORT, then alternates: read a chunk from stdin,
 * send it, receive the answer, print it. At the end of stdin it calls
 * shutdown(SHUT_WR): "I will send nothing more". The server sees end of
 * file, yet the connection stays open the other way, so the client still
 * reads whatever the server sends until the server closes too.
 *
 *     printf 'hello\nworld\n' | build/step4_client/echo_client 127.0.0.1 2000
 *
 * NOTE: the client is synchronous, as the tutorial warns: after each send
 * it blocks in recv(). A server that answers nothing, or answers in two
 * pieces, leaves it stuck or one answer behind. poll() on stdin and the
 * socket together (client -i of this step) does not have that problem.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "util.h"

#define MAXBYTES 4096	/* the tutorial's: at most this much per read() */

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	unsigned long port;
	char buf[MAXBYTES];
	ssize_t n;
	int fd;

	log_init("echo_client");
	if (argc != 3 || parse_ulong(argv[2], 1, 65535, &port) == -1) {
		fprintf(stderr, "usage: echo_client HOST PORT   (HOST: a dotted IPv4 address)\n");
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
		fatalx("%s: not a dotted IPv4 address", argv[1]);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd == -1)
		fatal("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1)
		fatal("connect %s:%lu", argv[1], port);
	log_event("connected to=%s:%lu", argv[1], port);

	for (;;) {
		n = read(STDIN_FILENO, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			fatal("read stdin");
		if (n == 0)
			break;	/* end of input */
		if (write_all(fd, buf, (size_t)n) == -1)
			fatal("send");
		n = read(fd, buf, sizeof buf);	/* blocks until the server answers */
		if (n == -1)
			fatal("recv");
		if (n == 0) {
			log_event("server closed the connection");
			close(fd);
			return 0;
		}
		if (write_all(STDOUT_FILENO, buf, (size_t)n) == -1)
			fatal("write stdout");
	}
	/* No more to send: half-close, and read what is still to come. */
	if (shutdown(fd, SHUT_WR) == -1)
		fatal("shutdown");
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			fatal("recv");
		if (write_all(STDOUT_FILENO, buf, (size_t)n) == -1)
			fatal("write stdout");
	}
	close(fd);
	return 0;
}
