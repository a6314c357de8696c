/*
 * client.c - step 4's client: its command line, and its requests run in
 * order on one connection to d.
 *
 * For each request, one_request() (request.c) sends it to d, gets
 * "<port> <token>", connects to that w, shows the token and does the
 * exchange: requetetype1 waits for the result line; requetetype2 sends
 * lines, shuts down its write side (tutorial §2) and reads the echoes and
 * the final count. Then it closes the w connection and goes on with the
 * next request on the same d connection. One line per request on stdout:
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "util.h"

/* What the command line asked for. */
struct options {
	const char *host;		/* -H: d's host */
	unsigned long port;		/* -p: d's port */
	unsigned long timeout_ms;	/* -T: per request */
	int interactive;		/* -i */
	unsigned long requests;		/* -n: load mode when not 0 */
	unsigned long concurrency;	/* -c */
	int keep;			/* -k */
	char **reqs;			/* the REQUEST arguments ... */
	int nreqs;			/* ... and how many */
};

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

/* -c ARG, a number from min to max, into *v; else what was expected and
 * the usage. */
static void
number_arg(int c, const char *arg, unsigned long min, unsigned long max,
    unsigned long *v, const char *expected)
{
	if (parse_ulong(arg, min, max, v) == -1) {
		warnx("-%c %s: expected %s", c, arg, expected);
		usage(2);
	}
}

/* The REQUEST arguments: each one known, and as many as the mode takes. */
static void
check_requests(const struct options *o)
{
	int i;

	for (i = 0; i < o->nreqs; i++)
		if (proto_parse_request(o->reqs[i]) == REQ_NONE) {
			warnx("unknown request \"%s\": requetetype1 or requetetype2", o->reqs[i]);
			usage(2);
		}
	if (o->requests == 0 && o->nreqs == 0) {
		warnx("no request given");
		usage(2);
	}
	if (o->requests > 0 && (o->interactive || o->nreqs > 1)) {
		warnx("load mode (-n) takes at most one REQUEST and no -i");
		usage(2);
	}
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	int c;

	*o = (struct options){ .host = NET_LOOPBACK, .port = PROTO_DEFAULT_PORT,
	    .timeout_ms = 30000, .concurrency = 1 };
	while ((c = getopt(argc, argv, "H:p:T:in:c:kh")) != -1) {
		switch (c) {
		case 'H':
			o->host = optarg;
			break;
		case 'p':
			number_arg(c, optarg, 1, 65535, &o->port, "a port, 1 to 65535");
			break;
		case 'T':
			number_arg(c, optarg, 1, 3600000, &o->timeout_ms, "milliseconds");
			break;
		case 'i':
			o->interactive = 1;
			break;
		case 'n':
			number_arg(c, optarg, 1, 100000000, &o->requests,
			    "a count, 1 to 100000000");
			break;
		case 'c':
			number_arg(c, optarg, 1, 100000, &o->concurrency,
			    "a count, 1 to 100000");
			break;
		case 'k':
			o->keep = 1;
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	o->reqs = argv + optind;
	o->nreqs = argc - optind;
	check_requests(o);
}

/*
 * Whether the d connection is in doubt after a request that ended with
 * out: d may have closed it, or a late answer may still come on it.
 */
static int
d_in_doubt(enum outcome out)
{
	return out == OUT_CLOSED || out == OUT_EXPIRED || out == OUT_GARBLED ||
	    out == (enum outcome)PERR_TIMEOUT || out == (enum outcome)PERR_TOOLONG ||
	    out == (enum outcome)PERR_SHUTDOWN;
}

/*
 * Run o's requests in order on one connection to d (a new one after a
 * request that left it in doubt), one line each on stdout. Returns 0 if
 * every request succeeded, 1 otherwise.
 */
static int
run_requests(const struct options *o, struct session *s)
{
	int failed = 0, i;

	s->dfd = net_connect(&s->d_addr, 0);
	if (s->dfd == -1)
		fatal("connect %s:%lu", o->host, o->port);
	lr_init(&s->dlr, s->dfd);
	for (i = 0; i < o->nreqs; i++) {
		char detail[PROTO_BUF];
		enum outcome out = one_request(s, proto_parse_request(o->reqs[i]), detail,
		    sizeof detail);

		printf("%s %s%s%s\n", o->reqs[i], outcome_word(out), detail[0] ? " " : "",
		    detail);
		fflush(stdout);
		if (out != OUT_OK)
			failed = 1;
		if (d_in_doubt(out)) {
			close(s->dfd);
			s->dfd = net_connect(&s->d_addr, 0);
			if (s->dfd == -1 && i + 1 < o->nreqs)
				fatal("connect %s:%lu", o->host, o->port);
			lr_init(&s->dlr, s->dfd);
		}
	}
	if (s->dfd != -1)
		close(s->dfd);
	return failed;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct session s;

	log_init("client");
	parse_options(argc, argv, &o);
	/* A server that vanishes must not kill us with SIGPIPE. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal SIGPIPE");
	memset(&s, 0, sizeof s);
	if (net_resolve(o.host, (unsigned)o.port, &s.d_addr) == -1)
		fatalx("unknown host %s", o.host);
	s.timeout_ms = o.timeout_ms;
	s.interactive = o.interactive;
	if (o.requests > 0) {
		struct load_opts lo = { s.d_addr, o.nreqs > 0 ?
		    proto_parse_request(o.reqs[0]) : REQ_TYPE1, o.requests,
		    o.concurrency, o.keep, o.timeout_ms };

		/* Two descriptors per concurrent request. */
		if (net_raise_nofile() == -1)
			warn("setrlimit RLIMIT_NOFILE");
		return load_run(&lo);
	}
	return run_requests(&o, &s);
}
