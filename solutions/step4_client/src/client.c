/*
 * client.c - step 4's client.
 *
 * Runs its requests in order on one connection to d (roadmap §4, steps
 * 1-6): for each, it sends the request, gets "<port> <token>" from d,
 * connects to that w, shows the token and does the exchange: requetetype1
 * waits for the result line; requetetype2 sends lines, shuts down its
 * write side (tutorial §2) and reads the echoes and the final count. Then
 * it closes the w connection and goes on with the next request on the
 * same d connection. One line per request on stdout:
 *
 *     requetetype1 ok requetetype1 done by w1 in 500 ms
 *     requetetype2 busy every w is busy and the queue is full
 *
 * Exit 0 only if every request succeeded.
 *
 *     client [-H HOST] [-p PORT] [-T MS] [-i] REQUEST...
 *     client [-H HOST] [-p PORT] [-T MS] -n N -c C [-k] [REQUEST]   (load)
 *
 * -i types requetetype2's lines from stdin and prints the echoes. The
 * load mode (load.c) runs N requests, C at a time, and reports requests/s,
 * latencies and how many requests ended in each way.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "io.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "util.h"

/* The lines requetetype2 sends when it is not interactive. */
static const char *const sample_lines[] = {
	"first line", "second line: echo me", "third and last line"
};
#define NSAMPLES (sizeof sample_lines / sizeof sample_lines[0])

static const char *const client_words[] = { "refused", "closed", "garbled", "expired" };

const char *
outcome_word(enum outcome o)
{
	if (o == OUT_OK)
		return "ok";
	if ((int)o < PERR_COUNT)
		return proto_err_word((enum proto_err)o);
	if (o < OUT_COUNT)
		return client_words[o - OUT_REFUSED];
	return "?";
}

/* What one request needs to know. */
struct session {
	struct sockaddr_in d_addr;
	int dfd;			/* connection to d, -1 if none */
	struct line_reader dlr;
	unsigned long timeout_ms;	/* per request */
	int interactive;		/* -i */
};

static noreturn void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: client [-H HOST] [-p PORT] [-T MS] [-i] REQUEST...\n"
	    "       client [-H HOST] [-p PORT] [-T MS] -n N -c C [-k] [REQUEST]\n"
	    "  REQUEST  requetetype1 or requetetype2, run in order on one d connection\n"
	    "  -H HOST  d's host (default 127.0.0.1)\n"
	    "  -p PORT  d's port (default 2222)\n"
	    "  -T MS    give up on a request after MS ms (default 30000)\n"
	    "  -i       requetetype2 sends stdin's lines and prints the echoes\n"
	    "  -n N     load mode: N requests (default type requetetype1) ...\n"
	    "  -c C     ... C at a time (default 1)\n"
	    "  -k       load mode: reuse each d connection (default: a fresh one\n"
	    "           per request)\n"
	    "  -h       show this help\n"
	    "Exit status: 0 if every request succeeded, 1 otherwise, 2 bad usage.\n");
	exit(code);
}

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
 * One request on the session's d connection, then on a fresh connection
 * to the w that d names. Writes a human detail into detail.
 */
static enum outcome
one_request(struct session *s, enum req_type type, char *detail, size_t size)
{
	double deadline = log_now() + (double)s->timeout_ms / 1000;
	struct sockaddr_in w_addr;
	struct line_reader wlr;
	struct reply r;
	enum outcome out;
	char line[PROTO_BUF];
	int wfd = -1, n;

	detail[0] = '\0';
	/* TODO 4.9: send the request line to d (proto_req_word + "\n",
	 * put_line), read d's reply (get_reply). An error: copy r.text to
	 * detail and return the outcome. A handover: connect to w at the
	 * same host and r.port (w_addr = s->d_addr with sin_port changed;
	 * net_connect, blocking), send the token line, read "ok <id> <request>"
	 * (get_reply), then: requetetype1 reads one more reply, a
	 * REPLY_RESULT whose text goes to detail; requetetype2 calls
	 * echo_samples() or echo_interactive(). Close the w connection in
	 * every case. Why may the client keep the d connection open across
	 * requests, but never reuse a w connection or a token? */
	/* BEGIN SOLUTION 4.9 */
	n = snprintf(line, sizeof line, "%s\n", proto_req_word(type));
	if (put_line(s->dfd, line, (size_t)n) == -1)
		return OUT_CLOSED;
	if (get_reply(&s->dlr, deadline, &r, &out) == -1)
		goto done;
	if (r.kind != REPLY_HANDOVER) {
		out = OUT_GARBLED;
		goto done;
	}
	w_addr = s->d_addr;
	w_addr.sin_port = htons((unsigned short)r.port);
	wfd = net_connect(&w_addr, 0);
	if (wfd == -1) {
		out = outcome_of_errno(errno);
		snprintf(detail, size, "connect to w port %u: %s", r.port, strerror(errno));
		return out;
	}
	lr_init(&wlr, wfd);
	n = snprintf(line, sizeof line, "%s\n", r.token);
	if (put_line(wfd, line, (size_t)n) == -1) {
		out = OUT_CLOSED;
		goto done;
	}
	if (get_reply(&wlr, deadline, &r, &out) == -1)
		goto done;
	if (r.kind != REPLY_ACCEPTED || r.type != type) {
		out = OUT_GARBLED;
		goto done;
	}
	if (type == REQ_TYPE2) {
		out = s->interactive ? echo_interactive(wfd, &wlr, detail, size) :
		    echo_samples(wfd, &wlr, deadline, detail, size);
		close(wfd);
		return out;
	}
	if (get_reply(&wlr, deadline, &r, &out) == -1)
		goto done;
	out = r.kind == REPLY_RESULT ? OUT_OK : OUT_GARBLED;
done:
	if (out != OUT_GARBLED && detail[0] == '\0')
		snprintf(detail, size, "%s", r.text);
	if (wfd != -1)
		close(wfd);
	return out;
	/* END SOLUTION */
	/* STUB 4.9:
	(void)s;
	(void)type;
	(void)size;
	(void)echo_samples;
	(void)echo_interactive;
	(void)deadline;
	(void)w_addr;
	(void)wlr;
	(void)r;
	(void)out;
	(void)line;
	(void)wfd;
	(void)n;
	return OUT_CLOSED;
	*/
}

int
main(int argc, char **argv)
{
	const char *host = NET_LOOPBACK;
	unsigned long port = PROTO_DEFAULT_PORT, timeout_ms = 30000;
	unsigned long requests = 0, concurrency = 1;
	int c, keep = 0, interactive = 0, failed = 0, i;
	struct session s;

	log_init("client");
	while ((c = getopt(argc, argv, "H:p:T:in:c:kh")) != -1) {
		switch (c) {
		case 'H':
			host = optarg;
			break;
		case 'p':
			if (parse_ulong(optarg, 1, 65535, &port) == -1) {
				warnx("-p %s: expected a port, 1 to 65535", optarg);
				usage(2);
			}
			break;
		case 'T':
			if (parse_ulong(optarg, 1, 3600000, &timeout_ms) == -1) {
				warnx("-T %s: expected milliseconds", optarg);
				usage(2);
			}
			break;
		case 'i':
			interactive = 1;
			break;
		case 'n':
			if (parse_ulong(optarg, 1, 100000000, &requests) == -1) {
				warnx("-n %s: expected a count, 1 to 100000000", optarg);
				usage(2);
			}
			break;
		case 'c':
			if (parse_ulong(optarg, 1, 100000, &concurrency) == -1) {
				warnx("-c %s: expected a count, 1 to 100000", optarg);
				usage(2);
			}
			break;
		case 'k':
			keep = 1;
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	for (i = optind; i < argc; i++)
		if (proto_parse_request(argv[i]) == REQ_NONE) {
			warnx("unknown request \"%s\": requetetype1 or requetetype2", argv[i]);
			usage(2);
		}
	if (requests == 0 && optind == argc) {
		warnx("no request given");
		usage(2);
	}
	if (requests > 0 && (interactive || argc - optind > 1)) {
		warnx("load mode (-n) takes at most one REQUEST and no -i");
		usage(2);
	}
	/* A server that vanishes must not kill us with SIGPIPE. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal SIGPIPE");
	memset(&s, 0, sizeof s);
	if (net_resolve(host, (unsigned)port, &s.d_addr) == -1)
		fatalx("unknown host %s", host);
	s.timeout_ms = timeout_ms;
	s.interactive = interactive;

	if (requests > 0) {
		struct load_opts lo = { s.d_addr, optind < argc ?
		    proto_parse_request(argv[optind]) : REQ_TYPE1, requests,
		    concurrency, keep, timeout_ms };

		/* Two descriptors per concurrent request. */
		if (net_raise_nofile() == -1)
			warn("setrlimit RLIMIT_NOFILE");
		return load_run(&lo);
	}

	s.dfd = net_connect(&s.d_addr, 0);
	if (s.dfd == -1)
		fatal("connect %s:%lu", host, port);
	lr_init(&s.dlr, s.dfd);
	for (i = optind; i < argc; i++) {
		enum req_type type = proto_parse_request(argv[i]);
		char detail[PROTO_BUF];
		enum outcome out = one_request(&s, type, detail, sizeof detail);

		printf("%s %s%s%s\n", argv[i], outcome_word(out), detail[0] ? " " : "",
		    detail);
		fflush(stdout);
		if (out != OUT_OK)
			failed = 1;
		if (out == OUT_CLOSED || out == OUT_EXPIRED || out == OUT_GARBLED ||
		    out == (enum outcome)PERR_TIMEOUT || out == (enum outcome)PERR_TOOLONG ||
		    out == (enum outcome)PERR_SHUTDOWN) {
			/* d may have closed the connection, or a late answer
			 * may still come on it: a new one for the next request. */
			close(s.dfd);
			s.dfd = net_connect(&s.d_addr, 0);
			if (s.dfd == -1 && i + 1 < argc)
				fatal("connect %s:%lu", host, port);
			lr_init(&s.dlr, s.dfd);
		}
	}
	if (s.dfd != -1)
		close(s.dfd);
	return failed;
}
