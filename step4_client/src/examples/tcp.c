/*
 * tcp.c - the examples' listening socket (contract in tcp.h).
 */
#include "tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

/* SOCK_CLOEXEC is Linux's (and POSIX 2024's); glibc defines it here. */
#ifndef SOCK_CLOEXEC
#define SOCK_CLOEXEC 02000000
#endif

int
tcp_listen(unsigned port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int fd, one = 1;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, TCP_HOST, &sa.sin_addr) != 1)
		fatalx("inet_pton %s", TCP_HOST);
	/* Close-on-exec: rsh_server's commands must not inherit it. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		fatal("socket");
	/* Without it, restarting the server right after a client left
	 * fails for a minute: "Address already in use" (TIME_WAIT). */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1)
		fatal("setsockopt SO_REUSEADDR");
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1)
		fatal("bind %s:%u", TCP_HOST, port);
	if (listen(fd, SOMAXCONN) == -1)
		fatal("listen");
	if (getsockname(fd, (struct sockaddr *)&sa, &len) == -1)
		fatal("getsockname");
	log_event("ready port=%u", (unsigned)ntohs(sa.sin_port));
	return fd;
}

void
tcp_peer(int fd, char *buf, unsigned size)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	char ip[INET_ADDRSTRLEN];

	if (getpeername(fd, (struct sockaddr *)&sa, &len) == -1 ||
	    inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip) == NULL)
		snprintf(buf, size, "?");
	else
		snprintf(buf, size, "%s:%u", ip, (unsigned)ntohs(sa.sin_port));
}

int
tcp_accept(int lfd, char *peer, unsigned size)
{
	int cfd = accept(lfd, NULL, NULL);

	if (cfd == -1 && errno != EINTR && errno != ECONNABORTED)
		fatal("accept");
	if (cfd == -1)
		return -1;
	/* Single-threaded: nothing can fork between accept and this line,
	 * so the flag is set in time (rsh_server's commands must not
	 * inherit the other clients' sockets). */
	if (fcntl(cfd, F_SETFD, FD_CLOEXEC) == -1)
		fatal("fcntl");
	tcp_peer(cfd, peer, size);
	return cfd;
}
