/*
 * wconn.c - w's TCP side: the connections to its port, the client being
 * served and strangers who have not shown a token yet. Each has a buffer
 * of what w could not send yet, polled for POLLOUT; the listener takes
 * one connection per turn and makes room when descriptors run out.
 *
 * _GNU_SOURCE: accept4().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "proto.h"
#include "w.h"

/*
 * Send what is pending on c; close it once all is sent if asked to. Called
 * at the end of each turn of the loop, and when poll says c is writable.
 * The client sizes what w sends (requetetype2 echoes every line), so a
 * full socket buffer is no fault: the rest waits here, and c is polled
 * for POLLOUT, not read, until it has drained (the kit's rule for output
 * the peer sizes, CONTRIBUTING.md; d's bounded replies: client_send()).
 */
void
conn_flush(struct conn *c)
{
	while (c->outlen > 0) {
		ssize_t n = write(c->fd, c->out, c->outlen);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;	/* the client reads slowly: poll says when to go on */
		if (n == -1) {
			c->outlen = 0;
			c->close_after = 1;	/* the client has gone */
			break;
		}
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
	if (c->close_after) {
		close(c->fd);
		c->fd = -1;
	}
}

/*
 * Queue a line for c; it is sent at the end of the turn, with whatever
 * else c gets in the same turn ("ok" and requetetype1's result, when the
 * processing time is 0, go out in one segment). It always fits: w takes
 * no new line from c unless there is room for its echo.
 */
void
conn_send(struct conn *c, const char *line, int len)
{
	if (c->fd == -1 || len == -1 || c->outlen + (size_t)len > sizeof c->out)
		return;
	memcpy(c->out + c->outlen, line, (size_t)len);
	c->outlen += (size_t)len;
}

/* Send "error <word> <text>" to c, then close it. */
void
conn_error(struct conn *c, enum proto_err err, const char *text)
{
	char line[PROTO_BUF];

	conn_send(c, line, proto_format_error(line, sizeof line, err, text));
	c->close_after = 1;
}

/* c is readable, writable or hung up. */
void
conn_event(struct conn *c, short revents, double now)
{
	char line[PROTO_LINE_MAX + 1];
	ssize_t n;
	int got;

	if (c->outlen > 0) {
		/* It was polled for POLLOUT only: its reader has caught up. */
		conn_flush(c);
		if (c->fd != -1 && c->outlen == 0 && c->serving && w.job.type == REQ_TYPE2)
			serve_lines(c, now);	/* lines waiting behind the echoes */
		return;
	}
	if (c->close_after || c->eof) {
		/* Nothing more to read: only a hang-up can be news (a reset:
		 * the peer has gone, the sweep tells d if it was served). */
		if (revents & (POLLHUP | POLLERR)) {
			close(c->fd);
			c->fd = -1;
		}
		return;
	}
	n = lr_fill(&c->lr);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n == -1 && errno != EMSGSIZE) {
		/* Reset by the peer: it has gone (the sweep tells d). */
		close(c->fd);
		c->fd = -1;
		return;
	}
	c->eof = n == 0;
	if (c->serving && w.job.type == REQ_TYPE2) {
		serve_lines(c, now);
		return;
	}
	if (c->serving) {
		/* requetetype1 expects nothing more: anything sent is dropped.
		 * End of file is no reason to stop: the client may only have
		 * shut down its writing (nc -N); if it has really gone, a
		 * reset or a failed write will say so. */
		c->lr.len = 0;
		return;
	}
	/* Not the job's client (yet): its first line must be a token. */
	got = lr_next(&c->lr, line, sizeof line);
	if (got == 1 || (got == -1 && errno == EILSEQ)) {
		/* A line holding a NUL is no token either. */
		check_token(c, got == 1 ? line : "", now);
		/* requetetype2's first lines may have come with the token. */
		if (c->serving && w.job.type == REQ_TYPE2)
			serve_lines(c, now);
	} else if (got == -1 || n == -1)
		conn_error(c, PERR_TOOLONG, "a line is at most 512 bytes");
	else if (c->eof) {
		log_request("disconnect peer=%s reason=eof-before-token", c->peer);
		close(c->fd);
		c->fd = -1;
	}
}

/* True when accept() failed for want of a descriptor or of memory. */
static int
out_of_fds(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/*
 * Warn that accept() ran out of descriptors, at most once a second: the
 * condition lasts, and a line per failed accept() would flood the log
 * (and the disk) while saying nothing new. errno is accept()'s.
 */
static void
warn_out_of_fds(double now)
{
	static double next;
	static unsigned long missed;

	if (now < next) {
		missed++;
		return;
	}
	if (missed == 0)
		warn("accept port %u", w.port);
	else
		warn("accept port %u (%lu more times since the last warning)", w.port,
		    missed);
	missed = 0;
	next = now + 1.0;
}

/*
 * The table is full: make room by dropping the connection that has
 * waited longest without showing a token (64 strangers holding their
 * connections open must not lock the real client out). Returns 0 when a
 * slot was freed, -1 when every connection is busy being served.
 */
static int
evict_one(void)
{
	size_t i, oldest = MAX_CONNS;

	for (i = 0; i < w.nconns; i++)
		if (!w.conns[i]->serving && !w.conns[i]->close_after &&
		    (oldest == MAX_CONNS || w.conns[i]->deadline < w.conns[oldest]->deadline))
			oldest = i;
	if (oldest == MAX_CONNS)
		return -1;
	log_request("evicted peer=%s", w.conns[oldest]->peer);
	close(w.conns[oldest]->fd);
	free(w.conns[oldest]);
	w.conns[oldest] = w.conns[--w.nconns];
	return 0;
}

/*
 * Take one waiting connection. One per turn of the loop: a w expects one
 * client at a time, so a second accept4() would almost always fail with
 * EAGAIN; if more are waiting, the listener is still readable and the
 * next poll() returns at once.
 */
void
accept_conn(double now)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	struct conn *c;
	int fd;

	fd = accept4(w.listen_fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd == -1 && out_of_fds(errno)) {
		/* Strangers hold every descriptor: the oldest one makes room,
		 * as when the table is full, and we try once more. */
		warn_out_of_fds(now);
		len = sizeof sa;
		if (evict_one() == 0)
			fd = accept4(w.listen_fd, (struct sockaddr *)&sa, &len,
			    SOCK_CLOEXEC | SOCK_NONBLOCK);
	}
	if (fd == -1) {
		if (out_of_fds(errno)) {
			/* Nobody to evict. The connection stays in the backlog
			 * and the listener stays readable: polling it would
			 * spin. Rest until a connection closes (conns_sweep),
			 * 100 ms at most. */
			w.listen_paused_until = now + 0.1;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED) {
			warn("accept");
		}
		return;
	}
	if (w.nconns == MAX_CONNS && evict_one() == -1) {
		static const char msg[] = "error busy too many connections\n";

		(void)write(fd, msg, sizeof msg - 1);	/* best effort */
		close(fd);
		return;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL) {	/* out of memory: this one only */
		warn("accept port %u", w.port);
		close(fd);
		return;
	}
	c->fd = fd;
	net_addr_str(&sa, c->peer, sizeof c->peer);
	lr_init(&c->lr, fd);
	c->deadline = now + (double)w.idle_ms / 1000;
	w.conns[w.nconns++] = c;
	/* A client sends its token right after connecting: it is often
	 * there already, and that saves a turn of the loop. */
	conn_event(c, POLLIN, now);
}

/* Drop the closed connections from the table. */
void
conns_sweep(void)
{
	size_t i, kept = 0;

	for (i = 0; i < w.nconns; i++) {
		struct conn *c = w.conns[i];

		if (c->fd != -1) {
			w.conns[kept++] = c;
			continue;
		}
		/* The client being served is gone without a word. */
		if (w.client == c && w.state == JOB_RUNNING)
			job_fail(PERR_CLIENTGONE, NULL);
		free(c);
		w.listen_paused_until = 0;	/* a descriptor is free again */
	}
	w.nconns = kept;
}
