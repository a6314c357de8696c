/*
 * request.c - one request of the client, on its connection to d and a
 * fresh connection to the w that d names (contract in client.h).
 *
 * The protocol from the client's side (PROTOCOL.md; roadmap §4, steps
 * 1-6): send the request to d, get "<port> <token>", connect to that w,
 * show the token, then do the exchange: requetetype1 waits for the result
 * line; requetetype2 sends lines, shuts down its write side (tutorial §2)
 * and reads the echoes and the final count. Every wait for a line is
 * bounded by the request's deadline (-T), except -i's, which waits for
 * the user. load.c does the same without blocking, many at once.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "io.h"
#include "log.h"
#include "net.h"
#include "proto.h"

/* The lines requetetype2 sends when it is not interactive. */
static const char *const sample_lines[] = {
	"first line", "second line: echo me", "third and last line"
};
#define NSAMPLES (sizeof sample_lines / sizeof sample_lines[0])

/* The errno of a failed read or connect, as an outcome. */
static enum outcome
outcome_of_errno(int err)
{
	switch (err) {
	case ETIMEDOUT:
		return OUT_EXPIRED;
	case ECONNREFUSED:
		return OUT_REFUSED;
	case EPROTO:
	case EMSGSIZE:
	case EILSEQ:	/* a NUL in the line */
		return OUT_GARBLED;
	default:
		return OUT_CLOSED;	/* EOF, ECONNRESET, EPIPE... */
	}
}

/*
 * Wait for the next line on lr until deadline (log_now() seconds).
 * Returns 1 with a line, -1 with errno: ETIMEDOUT, ECONNRESET (end of
 * file: the server closed), EMSGSIZE, EILSEQ, EPROTO or a read error.
 */
static int
get_line(struct line_reader *lr, char *line, size_t size, double deadline)
{
	for (;;) {
		struct pollfd p = { lr->fd, POLLIN, 0 };
		double left = deadline - log_now();
		int got = lr_next(lr, line, size);
		ssize_t n;

		if (got != 0)
			return got;
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (poll(&p, 1, (int)(left * 1000) + 1) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p.revents == 0)
			continue;
		n = lr_fill(lr);
		if (n == 0) {
			errno = ECONNRESET;	/* closed before the line came */
			return -1;
		}
		if (n == -1 && errno != EINTR && errno != EAGAIN)
			return -1;
	}
}

/* Write a whole line; failures become "closed". */
static int
put_line(int fd, const char *line, size_t len)
{
	return write_all(fd, line, len) == (ssize_t)len ? 0 : -1;
}

/*
 * Read a reply line and parse it. Returns 0 with *r filled, or -1 with
 * *out saying why there is none.
 */
static int
get_reply(struct line_reader *lr, double deadline, struct reply *r, enum outcome *out)
{
	char line[PROTO_BUF];

	/* A failed read leaves nothing in r either: its text is "". */
	memset(r, 0, sizeof *r);
	if (get_line(lr, line, PROTO_LINE_MAX + 1, deadline) == -1) {
		*out = outcome_of_errno(errno);
		return -1;
	}
	if (proto_parse_reply(line, r) == -1) {
		*out = OUT_GARBLED;
		return -1;
	}
	if (r->kind == REPLY_ERROR) {
		*out = (enum outcome)r->err;
		return -1;
	}
	return 0;
}

/*
 * requetetype2 without -i: send the sample lines, shut down writing,
 * check every echo and the final count.
 */
static enum outcome
echo_samples(int fd, struct line_reader *lr, double deadline, char *detail, size_t size)
{
	char line[PROTO_BUF];
	struct reply r;
	enum outcome out;
	size_t i;

	for (i = 0; i < NSAMPLES; i++) {
		snprintf(line, sizeof line, "%s\n", sample_lines[i]);
		if (put_line(fd, line, strlen(line)) == -1)
			return OUT_CLOSED;
	}
	/* "No more from me": w sees end of file, and can still answer. */
	if (shutdown(fd, SHUT_WR) == -1)
		return OUT_CLOSED;
	for (i = 0; i < NSAMPLES; i++) {
		if (get_line(lr, line, PROTO_LINE_MAX + 1, deadline) == -1)
			return outcome_of_errno(errno);
		if (strcmp(line, sample_lines[i]) != 0) {
			/* Maybe not an echo but an error line from w. */
			if (proto_parse_reply(line, &r) == 0 && r.kind == REPLY_ERROR) {
				snprintf(detail, size, "%s", r.text);
				return (enum outcome)r.err;
			}
			snprintf(detail, size, "echo %zu differs: \"%.64s\"", i + 1, line);
			return OUT_GARBLED;
		}
	}
	if (get_reply(lr, deadline, &r, &out) == -1) {
		snprintf(detail, size, "%s", r.text);
		return out;
	}
	if (r.kind != REPLY_END || r.count != NSAMPLES)
		return OUT_GARBLED;
	snprintf(detail, size, "%lu lines echoed", r.count);
	return OUT_OK;
}

/*
 * requetetype2 with -i: what is typed goes to w, what w echoes is
 * printed; end of input shuts down writing, and w's "end" line closes.
 * poll() on both: the tutorial's client alternates one read and one
 * write, and blocks for good if the server sends nothing back.
 */
static enum outcome
echo_interactive(int fd, struct line_reader *lr, char *detail, size_t size)
{
	unsigned long sent = 0, echoed = 0;
	int input_open = 1;
	char buf[PROTO_BUF], line[PROTO_BUF];
	struct reply r;

	for (;;) {
		struct pollfd p[2] = { { input_open ? 0 : -1, POLLIN, 0 }, { fd, POLLIN, 0 } };
		int got;

		if (poll(p, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return OUT_CLOSED;
		}
		if (p[0].revents != 0) {
			ssize_t n = read(0, buf, sizeof buf);
			ssize_t i;

			if (n <= 0) {
				input_open = 0;
				if (shutdown(fd, SHUT_WR) == -1)
					return OUT_CLOSED;
			} else {
				for (i = 0; i < n; i++)
					sent += buf[i] == '\n';
				if (put_line(fd, buf, (size_t)n) == -1)
					return OUT_CLOSED;
			}
		}
		if (p[1].revents == 0)
			continue;
		if (lr_fill(lr) <= 0 && errno != EAGAIN) {
			snprintf(detail, size, "w closed the connection");
			return OUT_CLOSED;
		}
		while ((got = lr_next(lr, line, PROTO_LINE_MAX + 1)) == 1) {
			if (echoed < sent) {
				/* Everything up to what we sent is an echo. */
				echoed++;
				printf("%s\n", line);
				fflush(stdout);
				continue;
			}
			if (proto_parse_reply(line, &r) == -1)
				return OUT_GARBLED;
			snprintf(detail, size, "%s", r.kind == REPLY_ERROR ? r.text : "");
			if (r.kind == REPLY_ERROR)
				return (enum outcome)r.err;
			if (r.kind != REPLY_END)
				return OUT_GARBLED;
			snprintf(detail, size, "%lu lines echoed", r.count);
			return OUT_OK;
		}
		if (got == -1)
			return OUT_GARBLED;
	}
}

/*
 * The w's half of a request: connect to the w that d named in its
 * handover h (d's host, h->port), show h->token, then do the exchange of
 * the request's type. Writes a human detail into detail.
 */
static enum outcome
visit_w(const struct session *s, enum req_type type, const struct reply *h,
    double deadline, char *detail, size_t size)
{
	/* TODO 4.9: connect to w at the same host and h->port (w_addr =
	 * s->d_addr with sin_port changed; net_connect, blocking), send the
	 * token line, read "ok <id> <request>" (get_reply), then:
	 * requetetype1 reads one more reply, a REPLY_RESULT whose text goes
	 * to detail; requetetype2 calls echo_samples() or
	 * echo_interactive(). Close the w connection in every case. */
	/* BEGIN SOLUTION 4.9 */
	struct sockaddr_in w_addr;
	struct line_reader wlr;
	struct reply r;
	enum outcome out = OUT_OK;
	char line[PROTO_BUF];
	int wfd, n;

	w_addr = s->d_addr;
	w_addr.sin_port = htons((unsigned short)h->port);
	wfd = net_connect(&w_addr, 0);
	if (wfd == -1) {
		out = outcome_of_errno(errno);
		snprintf(detail, size, "connect to w port %u: %s", h->port, strerror(errno));
		return out;
	}
	lr_init(&wlr, wfd);
	n = snprintf(line, sizeof line, "%s\n", h->token);
	if (put_line(wfd, line, (size_t)n) == -1)
		out = OUT_CLOSED;
	else if (get_reply(&wlr, deadline, &r, &out) == -1)
		snprintf(detail, size, "%s", r.text);
	else if (r.kind != REPLY_ACCEPTED || r.type != type)
		out = OUT_GARBLED;
	else if (type == REQ_TYPE2)
		out = s->interactive ? echo_interactive(wfd, &wlr, detail, size) :
		    echo_samples(wfd, &wlr, deadline, detail, size);
	else if (get_reply(&wlr, deadline, &r, &out) == 0 && r.kind != REPLY_RESULT)
		out = OUT_GARBLED;
	else
		snprintf(detail, size, "%s", r.text);	/* the result, or the error */
	close(wfd);
	return out;
	/* END SOLUTION */
	/* STUB 4.9:
	return OUT_CLOSED;
	*/
}

enum outcome
one_request(struct session *s, enum req_type type, char *detail, size_t size)
{
	double deadline = log_now() + (double)s->timeout_ms / 1000;
	struct reply r;
	enum outcome out;
	char line[PROTO_BUF];
	int n;

	detail[0] = '\0';
	/* TODO 4.9: send the request line to d (proto_req_word + "\n",
	 * put_line), read d's reply (get_reply). An error: copy r.text to
	 * detail and return the outcome. A handover: visit_w() above does
	 * the rest, with that w. Why may the client keep the d connection
	 * open across requests, but never reuse a w connection or a token? */
	/* BEGIN SOLUTION 4.9 */
	n = snprintf(line, sizeof line, "%s\n", proto_req_word(type));
	if (put_line(s->dfd, line, (size_t)n) == -1)
		return OUT_CLOSED;
	if (get_reply(&s->dlr, deadline, &r, &out) == -1) {
		snprintf(detail, size, "%s", r.text);
		return out;
	}
	if (r.kind != REPLY_HANDOVER)
		return OUT_GARBLED;
	return visit_w(s, type, &r, deadline, detail, size);
	/* END SOLUTION */
	/* STUB 4.9:
	return OUT_CLOSED;
	*/
}
