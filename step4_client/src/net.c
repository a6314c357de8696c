/*
 * net.c - TCP helpers (contracts in net.h).
 *
 * _GNU_SOURCE: SOCK_NONBLOCK and SOCK_CLOEXEC in socket()'s type, so that
 * a socket is never, even for an instant, inheritable by a child that
 * another part of the program forks at the wrong moment.
 */
#define _GNU_SOURCE
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

int
net_listen(const char *addr, unsigned port)
{
	/* TODO 4.2: make a listening TCP socket on addr:port. socket() with
	 * SOCK_CLOEXEC | SOCK_NONBLOCK, SO_REUSEADDR, bind, listen(SOMAXCONN).
	 * On failure close it, keep errno, return -1. Why SO_REUSEADDR for a
	 * server that the watchdog may restart at any moment? */
	errno = ENOSYS;
	return -1;
}

int
net_local_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;

	if (getsockname(fd, (struct sockaddr *)&sa, &len) == -1)
		return -1;
	if (sa.sin_family != AF_INET) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return ntohs(sa.sin_port);
}

int
net_resolve(const char *host, unsigned port, struct sockaddr_in *sa)
{
	struct addrinfo hints, *res;

	memset(sa, 0, sizeof *sa);
	if (port == 0 || port > 65535) {
		errno = EINVAL;
		return -1;
	}
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) == 1)
		return 0;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0) {
		errno = EINVAL;
		return -1;
	}
	sa->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
	freeaddrinfo(res);
	return 0;
}

int
net_connect(const struct sockaddr_in *sa, int nonblock)
{
	int fd, saved;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd == -1)
		return -1;
	while (connect(fd, (const struct sockaddr *)sa, sizeof *sa) == -1) {
		if (errno == EINTR && !nonblock)
			continue;	/* NOTE: Linux carries on in the background */
		if (nonblock && (errno == EINPROGRESS || errno == EINTR))
			return fd;
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
net_connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof err;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

int
net_set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags == -1)
		return -1;
	return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

void
net_addr_str(const struct sockaddr_in *sa, char *buf, size_t size)
{
	char ip[INET_ADDRSTRLEN];

	if (sa->sin_family != AF_INET ||
	    inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof ip) == NULL) {
		snprintf(buf, size, "?");
		return;
	}
	snprintf(buf, size, "%s:%u", ip, (unsigned)ntohs(sa->sin_port));
}

long
net_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			return -1;
	}
	return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}
