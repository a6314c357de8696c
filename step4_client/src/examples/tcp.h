/*
 * tcp.h - what the tutorial's examples share: a listening TCP socket on
 * the loopback interface, and accepting a client on it (the step's own
 * net.c and front.c do the same for d and w, as exercises; the examples
 * must work without them).
 */
#ifndef EXAMPLES_TCP_H
#define EXAMPLES_TCP_H

/* The tutorial's HOST: loopback, so no other machine can connect. */
#define TCP_HOST "127.0.0.1"

/*
 * Listen on 127.0.0.1:port (0: any free port), close-on-exec, SO_REUSEADDR.
 * Logs "ready port=N" (the port really bound) and returns the socket;
 * exits with one line on failure ("bind 127.0.0.1:2000: Address already
 * in use"): for these small programs, that is the right decision.
 */
int tcp_listen(unsigned port);

/*
 * Accept a client waiting on lfd: its socket, close-on-exec, with its
 * address in peer (tcp_peer). -1 when there was no client after all (a
 * signal, or a client that left first); exits on any other error.
 */
int tcp_accept(int lfd, char *peer, unsigned size);

/* "127.0.0.1:40312", the peer of a connected socket, into buf. */
void tcp_peer(int fd, char *buf, unsigned size);

#endif
