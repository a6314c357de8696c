/*
 * load.c - the client's load mode: N requests, C at a time, from one
 * process and one poll() loop (contract in client.h).
 *
 * Each of the C slots is a small state machine that runs one request
 * after the other: connect to d (unless -k kept the connection), send the
 * request, read the handover, connect to w, show the token, read the
 * answer. Every socket is non-blocking, so the slots advance together and
 * no slow server stalls the others. Each request ends in exactly one
 * outcome, counted: sent = ok + errors always.
 */
#include <errno.h>
#include <poll.h>
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
#include "rtt.h"

/* The line requetetype2 sends in load mode. */
#define LOAD_LINE "load test line"

enum stage {
	SL_IDLE,	/* no request: all have been started */
	SL_D_CONNECT,	/* connecting to d */
	SL_D_REPLY,	/* request sent, waiting for "<port> <token>" */
	SL_W_CONNECT,	/* connecting to w */
	SL_W_ACCEPT,	/* token sent, waiting for "ok <id> <request>" */
	SL_W_RESULT,	/* requetetype1: waiting for "result ..." */
	SL_W_ECHO,	/* requetetype2: line sent, waiting for its echo */
	SL_W_END	/* requetetype2: waiting for "end <id> 1" */
};

struct slot {
	enum stage state;
	int dfd, wfd;
	struct line_reader dlr, wlr;
	double start, deadline;
	char token[PROTO_TOKEN_LEN + 1];
};

static const struct load_opts *opt;
static unsigned long started, done, counts[OUT_COUNT];
static struct rtt_stats rtt;	/* latencies of the successful requests */

/*
 * Send a short line on a non-blocking socket, maybe still connecting.
 * Returns 1 when sent, 0 when the connection is not established yet
 * (poll for POLLOUT, then try again), -1 when it is broken. The line fits
 * in the empty socket buffer: it goes whole or not at all.
 */
static int
send_line(int fd, const char *text)
{
	char line[PROTO_BUF];
	int n = snprintf(line, sizeof line, "%s\n", text);

	if (write_all(fd, line, (size_t)n) == n)
		return 1;
	return errno == EAGAIN || errno == ENOTCONN ? 0 : -1;
}

static void start_request(struct slot *s, double now);

/* The request in slot s ended with out: count it, go on with the next. */
static void
finish(struct slot *s, enum outcome out, double now)
{
	counts[out]++;
	done++;
	if (out == OUT_OK)
		rtt_add(&rtt, now - s->start);
	if (s->wfd != -1)
		close(s->wfd);
	s->wfd = -1;
	/* Keep the d connection only when it is known to be in order. */
	if (s->dfd != -1 && (!opt->keep || (out != OUT_OK &&
	    out != (enum outcome)PERR_BUSY && out != (enum outcome)PERR_UNKNOWN))) {
		close(s->dfd);
		s->dfd = -1;
	}
	s->state = SL_IDLE;
	if (started < opt->requests)
		start_request(s, now);
}

/*
 * Send the request to d. On loopback a connection is usually established
 * as soon as connect() returns: try at once, and poll for POLLOUT only if
 * it is not (one turn of the loop saved per connection).
 */
static void
d_connected(struct slot *s, double now)
{
	switch (send_line(s->dfd, proto_req_word(opt->type))) {
	case 1:
		s->state = SL_D_REPLY;
		break;
	case 0:
		s->state = SL_D_CONNECT;
		break;
	default:
		finish(s, OUT_CLOSED, now);
	}
}

/* The same for the token, to the w. */
static void
w_connected(struct slot *s, double now)
{
	switch (send_line(s->wfd, s->token)) {
	case 1:
		s->state = SL_W_ACCEPT;
		break;
	case 0:
		s->state = SL_W_CONNECT;
		break;
	default:
		finish(s, OUT_CLOSED, now);
	}
}

static void
start_request(struct slot *s, double now)
{
	started++;
	s->start = now;
	s->deadline = now + (double)opt->timeout_ms / 1000;
	if (s->dfd != -1) {
		d_connected(s, now);	/* -k: the same connection again */
		return;
	}
	s->dfd = net_connect(&opt->d_addr, 1);
	if (s->dfd == -1) {
		finish(s, errno == ECONNREFUSED ? OUT_REFUSED : OUT_CLOSED, now);
		return;
	}
	lr_init(&s->dlr, s->dfd);
	d_connected(s, now);
}

/* Read one line from lr (non-blocking). Returns 1, 0 (not yet), or -1
 * with *out set. */
static int
read_line(struct line_reader *lr, char *line, enum outcome *out)
{
	ssize_t n;
	int got = lr_next(lr, line, PROTO_LINE_MAX + 1);

	if (got == 0) {
		n = lr_fill(lr);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0) {
			*out = n == 0 || errno != EMSGSIZE ? OUT_CLOSED : OUT_GARBLED;
			return -1;
		}
		got = lr_next(lr, line, PROTO_LINE_MAX + 1);
	}
	if (got == -1) {
		*out = OUT_GARBLED;
		return -1;
	}
	return got;
}

/* A reply line: 0 with *r, or -1 with *out (an error word, or garbled). */
static int
parse(const char *line, struct reply *r, enum outcome *out)
{
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

/* Slot s's connect() has ended: on with its request, or finish it. */
static void
connected(struct slot *s, double now)
{
	int fd = s->state == SL_D_CONNECT ? s->dfd : s->wfd;

	if (net_connect_result(fd) == -1)
		finish(s, errno == ECONNREFUSED ? OUT_REFUSED : OUT_CLOSED, now);
	else if (s->state == SL_D_CONNECT)
		d_connected(s, now);
	else
		w_connected(s, now);
}

/* d handed slot s's request over (r): connect to that w, show the token. */
static void
go_to_w(struct slot *s, const struct reply *r, double now)
{
	struct sockaddr_in w_addr = opt->d_addr;

	memcpy(s->token, r->token, sizeof s->token);
	w_addr.sin_port = htons((unsigned short)r->port);
	s->wfd = net_connect(&w_addr, 1);
	if (s->wfd == -1) {
		finish(s, errno == ECONNREFUSED ? OUT_REFUSED : OUT_CLOSED, now);
		return;
	}
	lr_init(&s->wlr, s->wfd);
	w_connected(s, now);
}

/*
 * w took slot s's token: requetetype1 waits for the result; requetetype2
 * sends its line and shuts down writing. Returns 0, or -1 once the
 * request has finished (closed).
 */
static int
accepted(struct slot *s, double now)
{
	if (opt->type == REQ_TYPE1) {
		s->state = SL_W_RESULT;
		return 0;
	}
	if (send_line(s->wfd, LOAD_LINE) != 1 || shutdown(s->wfd, SHUT_WR) == -1) {
		finish(s, OUT_CLOSED, now);
		return -1;
	}
	s->state = SL_W_ECHO;
	return 0;
}

/*
 * Slot s got line, in its state. Returns 1 when it waits for the next
 * line on the same connection, 0 when not (its request has finished, and
 * the slot may hold the next one already, or it now waits for a connect).
 */
static int
on_line(struct slot *s, const char *line, double now)
{
	struct reply r;
	enum outcome out;

	/* Every line is a reply, except requetetype2's echo. */
	if (s->state != SL_W_ECHO && parse(line, &r, &out) == -1) {
		finish(s, out, now);
		return 0;
	}
	switch (s->state) {
	case SL_D_REPLY:
		if (r.kind == REPLY_HANDOVER)
			go_to_w(s, &r, now);
		else
			finish(s, OUT_GARBLED, now);
		return 0;
	case SL_W_ACCEPT:
		if (r.kind == REPLY_ACCEPTED)
			return accepted(s, now) == 0;
		finish(s, OUT_GARBLED, now);
		return 0;
	case SL_W_RESULT:
		finish(s, r.kind == REPLY_RESULT ? OUT_OK : OUT_GARBLED, now);
		return 0;
	case SL_W_ECHO:
		if (strcmp(line, LOAD_LINE) == 0) {
			s->state = SL_W_END;
			return 1;
		}
		finish(s, parse(line, &r, &out) == -1 ? out : OUT_GARBLED, now);
		return 0;
	case SL_W_END:
		finish(s, r.kind == REPLY_END && r.count == 1 ? OUT_OK : OUT_GARBLED, now);
		return 0;
	default:
		return 0;
	}
}

/* Slot s's socket is ready: move its request on as far as it goes. */
static void
advance(struct slot *s, double now)
{
	char line[PROTO_BUF];
	enum outcome out;
	int got;

	if (s->state == SL_D_CONNECT || s->state == SL_W_CONNECT) {
		connected(s, now);
		return;
	}
	/* The other states read lines; several may be there already. */
	do {
		got = read_line(s->state == SL_D_REPLY ? &s->dlr : &s->wlr, line, &out);
		if (got == -1)
			finish(s, out, now);
	} while (got == 1 && on_line(s, line, now));
}

/*
 * Print the report: requests/s over all requests; latencies (nearest
 * rank, as common/rtt.c computes them for every benchmark of the kit) over
 * the successful ones; then rtt's own summary line, for the scripts.
 */
static void
report(void)
{
	double elapsed = rtt.end - rtt.start;
	int o;

	printf("load: requests=%lu concurrency=%lu mode=%s type=%s\n", opt->requests,
	    opt->concurrency, opt->keep ? "reuse" : "fresh", proto_req_word(opt->type));
	printf("result: sent=%lu ok=%lu errors=%lu elapsed_s=%.3f req_per_s=%.1f\n",
	    started, counts[OUT_OK], started - counts[OUT_OK], elapsed,
	    elapsed > 0 ? (double)done / elapsed : 0.0);
	printf("latency_ms: p50=%.3f p99=%.3f max=%.3f\n", rtt_percentile(&rtt, 50) * 1000,
	    rtt_percentile(&rtt, 99) * 1000, rtt_percentile(&rtt, 100) * 1000);
	printf("outcomes:");
	for (o = 0; o < OUT_COUNT; o++)
		printf(" %s=%lu", outcome_word((enum outcome)o), counts[o]);
	printf("\n");
	rtt_print(stdout, &rtt);
}

int
load_run(const struct load_opts *o)
{
	unsigned long nslots = o->concurrency < o->requests ? o->concurrency : o->requests;
	struct slot *slots = calloc(nslots, sizeof *slots);
	struct pollfd *pfd = calloc(nslots, sizeof *pfd);
	struct slot **owner = calloc(nslots, sizeof *owner);
	unsigned long i;
	double now;

	opt = o;
	if (slots == NULL || pfd == NULL || owner == NULL || rtt_init(&rtt, o->requests) == -1)
		fatal("calloc");
	rtt.start = log_now();
	for (i = 0; i < nslots; i++) {
		slots[i].dfd = slots[i].wfd = -1;
		start_request(&slots[i], log_now());
	}
	while (done < o->requests) {
		size_t n = 0;
		double next = log_now() + 1;

		for (i = 0; i < nslots; i++) {
			struct slot *s = &slots[i];

			if (s->state == SL_IDLE)
				continue;
			pfd[n].fd = s->state <= SL_D_REPLY ? s->dfd : s->wfd;
			pfd[n].events = s->state == SL_D_CONNECT ||
			    s->state == SL_W_CONNECT ? POLLOUT : POLLIN;
			pfd[n].revents = 0;
			owner[n++] = s;
			if (s->deadline < next)
				next = s->deadline;
		}
		now = log_now();
		if (poll(pfd, n, next > now ? (int)((next - now) * 1000) + 1 : 0) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		now = log_now();
		for (i = 0; i < n; i++)
			if (pfd[i].revents != 0)
				advance(owner[i], now);
		for (i = 0; i < nslots; i++)
			if (slots[i].state != SL_IDLE && slots[i].deadline <= now)
				finish(&slots[i], OUT_EXPIRED, now);
	}
	rtt.end = log_now();
	report();
	for (i = 0; i < nslots; i++)
		if (slots[i].dfd != -1)
			close(slots[i].dfd);
	free(slots);
	free(pfd);
	free(owner);
	rtt_free(&rtt);
	return counts[OUT_OK] == started ? 0 : 1;
}
