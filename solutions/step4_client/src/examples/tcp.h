/*
 * tcp.h - the one helper the tutorial's examples share: a listening TCP
 * socket on the loopback interface (the step's own net.c does the same
 * for d and w, as an exercise; the examples must work without it).
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

/* "127.0.0.1:40312", the peer of a connected socket, into buf. */
void tcp_peer(int fd, char *buf, unsigned size);

#endif
