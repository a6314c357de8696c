/*
 * net.h - the TCP calls every program of step 4 shares: a listening
 * socket on the loopback interface, a connection, the open-file limit.
 *
 * Like redis's anet.c, each helper returns -1 with errno set and never
 * exits: the program decides what a failure means (d exits with one line,
 * the load client counts it and goes on).
 */
#ifndef STEP4_NET_H
#define STEP4_NET_H

#include <netinet/in.h>
#include <stddef.h>

/* Where every server of the kit listens unless told otherwise. */
#define NET_LOOPBACK "127.0.0.1"

/*
 * Listen on TCP addr:port (addr a dotted IPv4 address; port 0 lets the
 * kernel choose a free one). The socket is close-on-exec and non-blocking,
 * SO_REUSEADDR is set (a restarted server can bind again at once, despite
 * connections of the previous one in TIME_WAIT), the backlog is SOMAXCONN.
 * Returns the socket, or -1 with errno (EADDRINUSE: the port is taken).
 */
int net_listen(const char *addr, unsigned port);

/* The local port socket fd is bound to, or -1 with errno. */
int net_local_port(int fd);

/*
 * Fill *sa with host:port. host is a dotted IPv4 address or a name
 * ("localhost"). Returns 0, or -1 with errno (EINVAL: no such host).
 */
int net_resolve(const char *host, unsigned port, struct sockaddr_in *sa);

/*
 * Connect a new close-on-exec TCP socket to *sa. With nonblock set, the
 * socket is non-blocking and the connection may still be in progress
 * (errno EINPROGRESS is not an error then: poll for POLLOUT and read
 * SO_ERROR, see net_connect_result()). Returns the socket or -1 with errno.
 */
int net_connect(const struct sockaddr_in *sa, int nonblock);

/* The outcome of a non-blocking connect: 0, or -1 with errno (SO_ERROR). */
int net_connect_result(int fd);

/* Make fd non-blocking. Returns 0 or -1 with errno. */
int net_set_nonblock(int fd);

/* "127.0.0.1:40312" into buf: an address as accept() gives it. */
void net_addr_str(const struct sockaddr_in *sa, char *buf, size_t size);

/*
 * Raise this process's open-file limit (RLIMIT_NOFILE) as far as allowed:
 * the soft limit up to the hard one. A server with the usual soft limit
 * of 1024 could otherwise hold only about a thousand clients.
 * Returns the new soft limit, or -1 with errno.
 */
long net_raise_nofile(void);

#endif
