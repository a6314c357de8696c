/*
 * d.c - step 4's main server.
 *
 * d is started by the watchdog, with the listening socket of TCP port
 * 2222 (-L) and the registry (-H) as inherited descriptors. It starts the
 * secondary servers w1..wn (fork + exec), each with its pair of FIFOs
 * dwtube<i> (d to w) and wdtube<i> (w to d), and hands every client's
 * request over to an idle w: it sends the w the request, an id and a
 * one-time token over dwtube<i>, and the client gets "<port> <token>": the
 * w's port, and the token to show there. The w reports debuttraitement /
 * fintraitement / errtraitement back over wdtube<i>. When every w is busy,
 * requests wait in a bounded queue; when the queue is full, the client
 * gets "error busy". PROTOCOL.md has every line.
 *
 * One poll() loop serves everything: the signal self-pipe, the listening
 * socket, every wdtube, every client. No call in the loop blocks, so one
 * slow or hostile client never stalls the others, and heartbeats from the
 * watchdog (SIGUSR1) are answered promptly from the loop (server.c).
 *
 * From step 3, d is its w's supervisor (question 3.a): when one exits, or
 * is killed by the watchdog, d reaps it and restarts it alone, with
 * backoff; if they restart more than R times within W, d stops everything
 * and exits EXIT_GIVE_UP, which tells the watchdog not to restart it.
 *
 *     d -H FD -L FD [-w N] [-r DIR] [-t MS] [-I MS] [-q N] [-Q] [-R N] [-W MS]
 *       [-b MS] [-B MS] [-K MS] [-g MS] [-f wI:FAULT]... [-F FAULT]
 *     (normally started by the watchdog)
 *
 * _GNU_SOURCE: accept4(), a client socket born close-on-exec and
 * non-blocking.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fifo.h"
#include "io.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "registry.h"
#include "rundir.h"
#include "selfpipe.h"
#include "server.h"
#include "spawn.h"
#include "sup.h"
#include "util.h"

#define ACCEPT_BURST 64		/* connections taken per wake-up of the listener */
#define FD_RESERVE 64		/* descriptors kept for FIFOs, pipes, logs */

/* What the command line asked for; times in milliseconds. */
struct options {
	unsigned long n;		/* -w */
	int reg_fd;			/* -H: the registry, inherited */
	int listen_fd;			/* -L: the listening socket, inherited */
	unsigned long delay_ms;		/* -t: w's processing time */
	unsigned long idle_ms;		/* -I: idle time-out */
	unsigned long queue_max;	/* -q: longest queue */
	int quiet;			/* -Q: no per-request log lines */
	unsigned long intensity, window, backoff_min, backoff_max, grace;
	unsigned long stop_wait;	/* -K */
	char run_dir[4096];		/* -r */
	char w_path[4096];		/* w, next to d */
	const char *wfault[W_MAX + 1];	/* -f wI:FAULT, by I */
};

/* One secondary server, as d sees it. */
struct wchild {
	char name[8];		/* "w1" */
	unsigned idx;		/* its number, 1..n: its slot and FIFOs */
	struct sup_child sup;	/* d's supervision of it (sup.c) */
	pid_t old;		/* the pid it replaces (for the log) */
	unsigned starts;	/* incarnations so far */
	char dw_path[4200];	/* dwtube<i> */
	char wd_path[4200];	/* wdtube<i> */
	int to_w;		/* dwtube<i>, write end, -1 until w is ready */
	int from_w;		/* wdtube<i>, read end, -1 when w is down */
	struct line_reader lr;	/* the reports read from from_w */
	int ready;		/* it said "ready <port>": it can take a job */
	unsigned port;		/* its TCP port, from "ready <port>" */
	/* The request it serves (job.id == 0: none, the w is idle). */
	struct job job;
	int started;		/* debuttraitement seen for it */
	double since;		/* when it was handed over */
	struct client *client;	/* whose d connection asked; NULL if gone */
};

/* A client connected to d. */
struct client {
	int fd;				/* -1 once closed (removed at the end of the turn) */
	char peer[32];			/* "127.0.0.1:40312", for the log */
	struct line_reader lr;
	double deadline;		/* idle or queue time-out */
	enum req_type queued;		/* REQ_NONE, or the request waiting in the queue */
	unsigned inflight;		/* its requests that a w is serving now */
	int eof;			/* it has shut down writing: close once answered */
	struct client *qprev, *qnext;	/* links in the queue while queued */
	short revents;			/* what poll() said about fd this turn */
};

static struct options opt;
static struct sup_policy policy;
static struct server sv;
static struct wchild ws[W_MAX];
static struct sup_window restarts;	/* every w's restarts, for the intensity */
static int stopping;
static int exit_code;

/* The front end: the clients, the queue, the requests. */
static struct {
	unsigned port;			/* d's TCP port */
	int announced;			/* "ready" logged */
	double listen_paused_until;	/* accept() ran out of descriptors */
	struct client **clients;	/* every connected client */
	size_t nclients, cap_clients;
	size_t max_clients;		/* from the open-file limit */
	struct client *qhead, *qtail;	/* the queue, oldest first */
	size_t qlen;
	unsigned long next_id;		/* the last request id given */
	int lock_fd;			/* holds the lock on the run directory */
	char lock_path[4200];
} d;

/* ---- options ------------------------------------------------------ */

static noreturn void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: d -H FD -L FD [-w N] [-r DIR] [-t MS] [-I MS] [-q N] [-Q] [-R N]\n"
	    "         [-W MS] [-b MS] [-B MS] [-K MS] [-g MS] [-f wI:FAULT]... [-F FAULT]\n"
	    "  -H FD    the registry descriptor (d is started by the watchdog)\n"
	    "  -L FD    the listening socket descriptor (from the watchdog)\n"
	    "  -w N     secondary servers w1..wN (default 2, at most %d)\n"
	    "  -r DIR   run directory for the FIFOs (default $XDG_RUNTIME_DIR/osps)\n"
	    "  -t MS    w's processing time for requetetype1 (default 500)\n"
	    "  -I MS    idle time-out of connections, tokens, queued requests (default 10000)\n"
	    "  -q N     requests that may wait for a w (default 4096; 0: none)\n"
	    "  -Q       quiet: no log line per request (benchmarks)\n"
	    "  -R N, -W MS  more than N restarts of w's within MS: give up (5, 10000)\n"
	    "  -b MS, -B MS backoff of restarts: first step and cap (100, 5000)\n"
	    "  -K MS    clean stop: wait this long for the w's, then SIGKILL (default 750)\n"
	    "  -g MS    grace: how long a w may take to be ready (default 5000)\n"
	    "  -f wI:FAULT  inject FAULT (exit, hang:K) into wI\n"
	    "  -F FAULT inject FAULT into d itself\n"
	    "  -h       show this help\n", W_MAX);
	exit(code);
}

static void
number_opt(int c, const char *arg, unsigned long min, unsigned long max,
    unsigned long *v)
{
	if (parse_ulong(arg, min, max, v) == -1) {
		warnx("-%c %s: expected a number from %lu to %lu", c, arg, min, max);
		usage(2);
	}
}

static void
parse_options(int argc, char **argv)
{
	unsigned long v, i;
	const char *colon;
	char num[16];
	int c;

	opt.n = 2;
	opt.reg_fd = opt.listen_fd = -1;
	opt.delay_ms = 500;
	opt.idle_ms = 10000;
	opt.queue_max = 4096;
	opt.intensity = 5;
	opt.window = 10000;
	opt.backoff_min = 100;
	opt.backoff_max = 5000;
	opt.stop_wait = 750;
	opt.grace = 5000;
	if (rundir_default(opt.run_dir, sizeof opt.run_dir) == -1)
		fatal("run directory");
	if (sibling_path(argv[0], "w", opt.w_path, sizeof opt.w_path) == -1)
		fatal("program path %s", argv[0]);
	while ((c = getopt(argc, argv, "H:L:w:r:t:I:q:QR:W:b:B:K:g:f:F:h")) != -1) {
		switch (c) {
		case 'H':
		case 'L':
			number_opt(c, optarg, 3, 1023, &v);
			*(c == 'H' ? &opt.reg_fd : &opt.listen_fd) = (int)v;
			break;
		case 'w': number_opt(c, optarg, 1, W_MAX, &opt.n); break;
		case 't': number_opt(c, optarg, 0, 60000, &opt.delay_ms); break;
		case 'I': number_opt(c, optarg, 10, 3600000, &opt.idle_ms); break;
		case 'q': number_opt(c, optarg, 0, 1000000, &opt.queue_max); break;
		case 'Q': opt.quiet = 1; break;
		case 'R': number_opt(c, optarg, 0, SUP_WINDOW_MAX - 1, &opt.intensity); break;
		case 'W': number_opt(c, optarg, 1, 3600000, &opt.window); break;
		case 'b': number_opt(c, optarg, 1, 600000, &opt.backoff_min); break;
		case 'B': number_opt(c, optarg, 1, 600000, &opt.backoff_max); break;
		case 'K': number_opt(c, optarg, 1, 600000, &opt.stop_wait); break;
		case 'g': number_opt(c, optarg, 1, 600000, &opt.grace); break;
		case 'r':
			snprintf(opt.run_dir, sizeof opt.run_dir, "%s", optarg);
			break;
		case 'f':
			colon = strchr(optarg, ':');
			if (optarg[0] != 'w' || colon == NULL ||
			    (size_t)(colon - optarg) > sizeof num - 1)
				goto badfault;
			memcpy(num, optarg + 1, (size_t)(colon - optarg - 1));
			num[colon - optarg - 1] = '\0';
			if (parse_ulong(num, 1, W_MAX, &i) == -1 ||
			    fault_parse(colon + 1, &(struct fault){ 0, 0 }) == -1)
				goto badfault;
			opt.wfault[i] = colon + 1;
			break;
		case 'F':
			if (fault_parse(optarg, &sv.fault) == -1) {
				warnx("-F %s: expected exit or hang:K", optarg);
				usage(2);
			}
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc) {
		warnx("unexpected argument \"%s\"", argv[optind]);
		usage(2);
	}
	if (opt.reg_fd == -1 || opt.listen_fd == -1) {
		warnx("-H FD and -L FD are required: d is started by the watchdog");
		usage(2);
	}
	policy.grace = opt.grace / 1000.0;
	policy.intensity = (unsigned)opt.intensity;
	policy.window = opt.window / 1000.0;
	policy.backoff_min = opt.backoff_min / 1000.0;
	policy.backoff_max = opt.backoff_max / 1000.0;
	return;
badfault:
	warnx("-f %s: expected wI:FAULT, FAULT being exit or hang:K", optarg);
	usage(2);
}

/* Per-request events are skipped in quiet mode (-Q). */
#define log_request(...) do { if (!opt.quiet) log_event(__VA_ARGS__); } while (0)

/* ---- clients: the queue ------------------------------------------- */

static void
queue_push(struct client *c, enum req_type type, double now)
{
	c->queued = type;
	c->deadline = now + (double)opt.idle_ms / 1000;
	c->qnext = NULL;
	c->qprev = d.qtail;
	if (d.qtail != NULL)
		d.qtail->qnext = c;
	else
		d.qhead = c;
	d.qtail = c;
	d.qlen++;
}

static void
queue_remove(struct client *c)
{
	if (c->queued == REQ_NONE)
		return;
	if (c->qprev != NULL)
		c->qprev->qnext = c->qnext;
	else
		d.qhead = c->qnext;
	if (c->qnext != NULL)
		c->qnext->qprev = c->qprev;
	else
		d.qtail = c->qprev;
	c->qprev = c->qnext = NULL;
	c->queued = REQ_NONE;
	d.qlen--;
}

/* ---- clients: replies and closing --------------------------------- */

/*
 * Send one line to a client. Its socket is non-blocking: a client that
 * does not read its replies would otherwise stall all of d. Replies are
 * a few bytes and the socket buffer holds hundreds of kilobytes, so a
 * full buffer means a hostile or dead client: it is closed.
 */
static int
client_send(struct client *c, const char *line, int len)
{
	if (len == -1 || write_all(c->fd, line, (size_t)len) == -1)
		return -1;
	return 0;
}

/* Close a client's connection; it leaves the table at the end of the turn. */
static void
client_close(struct client *c, const char *reason)
{
	unsigned i;

	if (c->fd == -1)
		return;
	queue_remove(c);
	for (i = 0; i < opt.n; i++)
		if (ws[i].client == c)
			ws[i].client = NULL;
	log_request("disconnect peer=%s reason=%s", c->peer, reason);
	close(c->fd);
	c->fd = -1;
}

/* Send "error <word> <text>"; the words that end a conversation close it. */
static void
client_error(struct client *c, enum proto_err err, const char *text)
{
	char line[PROTO_BUF];
	int n = proto_format_error(line, sizeof line, err, text);

	if (client_send(c, line, n) == -1) {
		client_close(c, "write-failed");
		return;
	}
	if (err == PERR_TOOLONG || err == PERR_TIMEOUT || err == PERR_SHUTDOWN)
		client_close(c, proto_err_word(err));
}

/* The client's idle clock restarts: it may now take idle_ms to speak. */
static void
client_touch(struct client *c, double now)
{
	c->deadline = now + (double)opt.idle_ms / 1000;
}

/* ---- handing a request over to a w -------------------------------- */

/* An idle, ready w, taken in turn so that the work spreads; or NULL. */
static struct wchild *
idle_worker(void)
{
	static unsigned last;
	unsigned i;

	for (i = 1; i <= opt.n; i++) {
		struct wchild *wc = &ws[(last + i) % opt.n];

		if (wc->ready && wc->job.id == 0) {
			last = (unsigned)(wc - ws);
			return wc;
		}
	}
	return NULL;
}

/* Stop a w that can no longer be trusted; SIGCHLD brings the restart. */
static void
worker_kill(struct wchild *wc, const char *why)
{
	/* Safe: w is our child and not reaped yet, so its pid cannot have
	 * been given to another process. */
	log_event("kill name=%s pid=%ld signal=SIGKILL reason=%s", wc->name,
	    (long)wc->sup.pid, why);
	if (wc->sup.pid > 0 && kill(wc->sup.pid, SIGKILL) == -1)
		warn("kill %s[%ld]", wc->name, (long)wc->sup.pid);
	wc->ready = 0;
	sup_killed(&wc->sup);
}

/*
 * Hand client c's request over to the idle w: give it a number and a
 * fresh token, send w the job, then send the client "<port> <token>".
 * Returns 0, or -1 when the w could not be told (it is then killed and
 * the caller tries another one).
 */
static int
hand_over(struct wchild *wc, struct client *c, enum req_type type, double now)
{
	/* TODO 4.5: fill wc->job (type, id = ++d.next_id, a token from
	 * proto_token_new), send it to w over wc->to_w (proto_format_job,
	 * write_all), then the handover line to the client
	 * (proto_format_handover with wc->port). On a failed write to w, call
	 * worker_kill() and return -1. Why must the job reach w's FIFO
	 * BEFORE the client gets its reply, and not after? */
	(void)wc;
	(void)type;
	(void)now;
	client_error(c, PERR_BUSY, "hand_over is not written yet (TODO 4.5)");
	return 0;
}

/* Serve a request now if a w is idle, else queue it, else refuse it. */
static void
dispatch(struct client *c, enum req_type type, double now)
{
	/* TODO 4.4: while an idle w exists (idle_worker()), try hand_over();
	 * stop at the first success. With no idle w: queue the request
	 * (queue_push) if fewer than opt.queue_max are waiting, else send
	 * "error busy" (client_error) and log "busy peer=...". Why does a
	 * bounded queue protect d better than an unbounded one? (Until you
	 * write it, the given lines serve one idle w or refuse: enough for
	 * 4.5's handover to be tried first.) */
	struct wchild *wc = idle_worker();

	(void)queue_push;
	if (wc == NULL || hand_over(wc, c, type, now) == -1)
		client_error(c, PERR_BUSY, "dispatch has no queue yet (TODO 4.4)");
}

static void client_lines(struct client *c, double now);

/* A w became idle: serve the oldest queued requests. */
static void
dispatch_queue(double now)
{
	while (d.qhead != NULL && idle_worker() != NULL) {
		struct client *c = d.qhead;
		enum req_type type = c->queued;

		queue_remove(c);
		client_touch(c, now);
		dispatch(c, type, now);
		/* Its next requests may be buffered already (pipelined). */
		client_lines(c, now);
	}
}

/* ---- clients: reading requests ------------------------------------ */

/*
 * Take every complete line client c has sent, one request after the
 * other (a client may send several without waiting: pipelining). A
 * queued client's next lines wait until its request is served: replies
 * come back in the order of the requests. A client that has shut down
 * its writing is closed once nothing of it is left to answer.
 */
static void
client_lines(struct client *c, double now)
{
	char line[PROTO_LINE_MAX + 1];
	enum req_type type;
	int got;

	while (c->fd != -1 && c->queued == REQ_NONE &&
	    (got = lr_next(&c->lr, line, sizeof line)) != 0) {
		client_touch(c, now);
		if (got == -1 && errno != EILSEQ) {
			log_request("toolong peer=%s", c->peer);
			client_error(c, PERR_TOOLONG, "a line is at most 512 bytes");
			return;
		}
		/* A line holding a NUL (EILSEQ) is no request either. */
		type = got == 1 ? proto_parse_request(line) : REQ_NONE;
		if (type == REQ_NONE) {
			log_request("unknown peer=%s", c->peer);
			client_error(c, PERR_UNKNOWN, "expected requetetype1 or requetetype2");
			continue;
		}
		dispatch(c, type, now);
	}
	if (c->fd != -1 && c->eof && c->queued == REQ_NONE)
		client_close(c, lr_pending(&c->lr) ? "eof-mid-line" : "eof");
}

/* Read what client c has sent (poll said POLLIN or POLLHUP or POLLERR). */
static void
client_read(struct client *c, short revents, double now)
{
	ssize_t n;

	if (c->lr.len == sizeof c->lr.buf) {
		/* A queued client that filled its buffer: only a hang-up
		 * is news (see the poll set). */
		if (revents & (POLLHUP | POLLERR))
			client_close(c, "hangup");
		return;
	}
	n = lr_fill(&c->lr);

	if (n == -1 && errno == EAGAIN)
		return;
	if (n == -1 && errno == EMSGSIZE) {
		/* The buffer is full and the line still has no end. */
		log_request("toolong peer=%s", c->peer);
		client_error(c, PERR_TOOLONG, "a line is at most 512 bytes");
		return;
	}
	if (n == -1) {
		client_close(c, errno == ECONNRESET ? "reset" : "read-error");
		return;
	}
	if (n == 0 && (revents & (POLLHUP | POLLERR))) {
		/* Closed both ways: nobody is left to answer. */
		client_close(c, lr_pending(&c->lr) ? "eof-mid-line" : "eof");
		return;
	}
	/* End of file: the client has closed, or only shut down its writing
	 * (nc -N, shutdown(SHUT_WR)). Every complete line it sent before
	 * still gets its answer (client_lines), then the connection closes. */
	if (n == 0)
		c->eof = 1;
	client_lines(c, now);
}

/* ---- clients: accepting ------------------------------------------- */

static struct client *
client_add(int fd, const struct sockaddr_in *sa, double now)
{
	struct client *c;

	if (d.nclients == d.cap_clients) {
		size_t cap = d.cap_clients ? 2 * d.cap_clients : 64;
		struct client **p = realloc(d.clients, cap * sizeof *p);

		if (p == NULL)
			fatal("realloc %zu clients", cap);
		d.clients = p;
		d.cap_clients = cap;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL)
		fatal("calloc client");
	c->fd = fd;
	net_addr_str(sa, c->peer, sizeof c->peer);
	lr_init(&c->lr, fd);
	client_touch(c, now);
	d.clients[d.nclients++] = c;
	log_request("connect peer=%s clients=%zu", c->peer, d.nclients);
	return c;
}

/* The listening socket is readable: take the waiting connections. */
static void
accept_clients(double now)
{
	/* TODO 4.3: accept up to ACCEPT_BURST connections on
	 * opt.listen_fd with accept4(..., SOCK_CLOEXEC | SOCK_NONBLOCK),
	 * stop on EAGAIN. Over d.max_clients, answer "error busy" and close at once. On EMFILE or
	 * ENFILE pause the listener for 100 ms (d.listen_paused_until):
	 * why would d spin at 100% CPU if it simply went back to poll()? */
	(void)client_add;
	d.listen_paused_until = now + 3600;
}

/* Send time-outs, then drop closed clients from the table. */
static void
clients_sweep(double now)
{
	size_t i, kept = 0;

	for (i = 0; i < d.nclients; i++) {
		struct client *c = d.clients[i];

		if (c->fd != -1 && c->deadline <= now && c->inflight == 0) {
			if (c->queued != REQ_NONE) {
				queue_remove(c);
				log_request("busy peer=%s reason=queued-too-long", c->peer);
				client_error(c, PERR_BUSY, "waited too long for a w");
				client_touch(c, now);
				if (c->eof)
					client_close(c, "eof");
			} else {
				log_request("timeout peer=%s", c->peer);
				client_error(c, PERR_TIMEOUT, "idle for too long");
			}
		}
		if (c->fd == -1)
			free(c);
		else
			d.clients[kept++] = c;
	}
	d.nclients = kept;
}

/* ---- the w's: starting, reports, ending ---------------------------- */

/* Create the FIFO path with fifo_create() (step 2), or exit saying why. */
static void
make_fifo(const char *path)
{
	char why[128];

	switch (fifo_create(path, why, sizeof why)) {
	case 0:
		log_event("created path=%s mode=0600", path);
		break;
	case 1:
		log_event("stale-fifo path=%s action=replaced", path);
		break;
	default:	/* in use, or not a FIFO: a restart would not help */
		server_refuse(&sv, "%s %s", path, why);
	}
}

/* Close d's ends of wc's FIFOs. Once nobody holds a FIFO open, whatever
 * was left in it is gone: the next w starts with empty pipes. */
static void
close_pipes(struct wchild *wc)
{
	if (wc->to_w != -1)
		close(wc->to_w);
	if (wc->from_w != -1)
		close(wc->from_w);
	wc->to_w = wc->from_w = -1;
	wc->ready = 0;
}

/* Start (or restart) wc. Returns its pid, or -1 with errno. */
static pid_t
start_w(struct wchild *wc, double now)
{
	/* A w inherits the registry only: not the listening socket. */
	struct spawn_opts so = { { opt.reg_fd, -1 }, SIGKILL, 0 };
	char idx[16], fd[16], delay[24], idle[24], *args[24];
	const char *fault = opt.wfault[wc->idx];
	int a = 0;
	pid_t pid;

	/* Our read end first, non-blocking: it opens at once, and w's
	 * open of the write end will not block either since a reader
	 * exists. Our write end waits until w says it is ready. */
	wc->from_w = open(wc->wd_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (wc->from_w == -1)
		return -1;
	lr_init(&wc->lr, wc->from_w);
	snprintf(idx, sizeof idx, "%u", wc->idx);
	snprintf(fd, sizeof fd, "%d", opt.reg_fd);
	snprintf(delay, sizeof delay, "%lu", opt.delay_ms);
	snprintf(idle, sizeof idle, "%lu", opt.idle_ms);
	args[a++] = opt.w_path;
	args[a++] = "-n"; args[a++] = idx;
	args[a++] = "-H"; args[a++] = fd;
	args[a++] = "-r"; args[a++] = opt.run_dir;
	args[a++] = "-t"; args[a++] = delay;
	args[a++] = "-I"; args[a++] = idle;
	if (opt.quiet)
		args[a++] = "-Q";
	/* exit: every start; hang: the first incarnation only. */
	if (fault != NULL && (strcmp(fault, "exit") == 0 || wc->starts == 0)) {
		args[a++] = "-F";
		args[a++] = (char *)fault;
	}
	args[a] = NULL;

	pid = spawn_child(opt.w_path, args, &so);
	if (pid == -1) {
		close_pipes(wc);
		return -1;
	}
	wc->starts++;
	reg_publish(sv.reg, wc->idx, pid);
	sup_started(&wc->sup, pid, now, &policy);
	if (wc->old == 0)
		log_event("started name=%s pid=%ld", wc->name, (long)pid);
	else
		log_event("restart name=%s old=%ld new=%ld", wc->name,
		    (long)wc->old, (long)pid);
	return pid;
}

/* True when every w has said ready. */
static int
all_ready(void)
{
	unsigned i;

	for (i = 0; i < opt.n; i++)
		if (!ws[i].ready)
			return 0;
	return 1;
}

/* w said "ready <port>": open dwtube for writing, w can take jobs. */
static void
worker_ready(struct wchild *wc, unsigned port, double now)
{
	/* w opened its read end before saying ready: this cannot block, and
	 * O_NONBLOCK keeps a full pipe from ever stalling d. */
	wc->to_w = open(wc->dw_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (wc->to_w == -1) {
		warn("open %s", wc->dw_path);
		worker_kill(wc, "fifo-open-failed");
		return;
	}
	wc->port = port;
	wc->ready = 1;
	log_event("w-ready name=%s pid=%ld port=%u", wc->name, (long)wc->sup.pid, port);
	if (!d.announced && all_ready()) {
		/* Every w is up: now d can serve, and says so. */
		d.announced = 1;
		log_event("ready port=%u workers=%lu max_clients=%zu queue=%lu", d.port,
		    opt.n, d.max_clients, opt.queue_max);
	}
	dispatch_queue(now);
}

/* The request wc was serving is over (fin or err, or w is gone). */
static void
worker_job_done(struct wchild *wc)
{
	if (wc->client != NULL && wc->client->inflight > 0) {
		wc->client->inflight--;
		if (wc->client->inflight == 0)
			client_touch(wc->client, log_now());
	}
	wc->client = NULL;
	memset(&wc->job, 0, sizeof wc->job);
}

/* One report line from wc. */
static void
worker_report(struct wchild *wc, const char *line, double now)
{
	struct report rep;

	if (proto_parse_report(line, &rep) == -1) {
		warnx("%s: bad report \"%.64s\"", wc->name, line);
		worker_kill(wc, "bad-report");
		return;
	}
	if (rep.kind == REP_READY) {
		if (wc->ready)
			worker_kill(wc, "ready-twice");
		else
			worker_ready(wc, rep.port, now);
		return;
	}
	/* TODO 4.6: debuttraitement, fintraitement and errtraitement must
	 * name the request w is serving (wc->job.id, 0 when none), else w is
	 * broken: worker_kill(wc, "wrong-request-id"). Log "debut id= w=",
	 * "fin id= w= ms=" (since wc->since) or "failed id= w= reason=";
	 * after fin or err the w is idle again: worker_job_done(), then
	 * dispatch_queue(). Why kill a w that reports a wrong id, rather
	 * than ignore the line? */
	(void)now;
}

/* wdtube<i> is readable (or its writer has gone). */
static void
read_w(struct wchild *wc, double now)
{
	char line[PROTO_LINE_MAX + 1];
	ssize_t n = lr_fill(&wc->lr);
	int got;

	if (n == -1 && errno == EAGAIN)
		return;
	if (n <= 0) {
		/* w closed its end (it died, or is dying): stop polling this
		 * w; SIGCHLD tells the rest. */
		if (n == -1)
			warn("read %s", wc->wd_path);
		close_pipes(wc);
		return;
	}
	while (wc->from_w != -1 && (got = lr_next(&wc->lr, line, sizeof line)) != 0) {
		if (got == -1) {
			worker_kill(wc, errno == EILSEQ ? "bad-report" : "report-too-long");
			return;
		}
		worker_report(wc, line, now);
	}
}

/* Stop everything and leave with EXIT_GIVE_UP. */
static void
give_up(const char *why)
{
	log_event("give-up reason=\"%s\"", why);
	warnx("giving up: %s", why);
	exit_code = EXIT_GIVE_UP;
	stopping = 1;
}

/* wc has been reaped: its request fails, restart it later, or give up. */
static void
w_exited(struct wchild *wc, double now)
{
	char why[128];

	if (wc->job.id != 0) {
		/* Its client sees the w side close without a result line. */
		log_event("failed id=%lu w=%s reason=%s", wc->job.id, wc->name,
		    proto_err_word(PERR_WDIED));
		worker_job_done(wc);
	}
	close_pipes(wc);
	wc->old = wc->sup.pid;
	if (stopping) {
		wc->sup.state = CHILD_DOWN;
		wc->sup.pid = 0;
		return;
	}
	if (sup_exited(&wc->sup, &restarts, now, &policy)) {
		snprintf(why, sizeof why, "%s: w's restarted more than %lu times in %lu ms",
		    wc->name, opt.intensity, opt.window);
		give_up(why);
		return;
	}
	log_event("restart-wait name=%s delay_ms=%ld", wc->name,
	    lround((wc->sup.restart_at - now) * 1000.0));
}

/* Which of our w's is pid? NULL if none. */
static struct wchild *
find_w(pid_t pid)
{
	unsigned i;

	for (i = 0; i < opt.n; i++)
		if (ws[i].sup.pid == pid && ws[i].sup.state != CHILD_DOWN)
			return &ws[i];
	return NULL;
}

/*
 * Reap every w that has ended (signals coalesce: loop). Each is looked at
 * before it is reaped: its registry slot says GONE before its pid is
 * freed, so the watchdog never signals a pid that may be a stranger's.
 */
static void
reap_ws(double now)
{
	struct wchild *wc;
	char how[64];
	siginfo_t si;
	int status;

	for (;;) {
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				return;
			fatal("waitid");
		}
		if (si.si_pid == 0)
			return;
		wc = find_w(si.si_pid);
		if (wc != NULL)
			reg_gone(sv.reg, wc->idx);
		while (waitpid(si.si_pid, &status, 0) == -1)
			if (errno != EINTR)
				fatal("waitpid %ld", (long)si.si_pid);
		log_event("reaped name=%s pid=%ld status=\"%s\"",
		    wc != NULL ? wc->name : "?", (long)si.si_pid,
		    status_str(status, how, sizeof how));
		if (wc != NULL)
			w_exited(wc, now);
	}
}

/* ---- signals, the main loop ---------------------------------------- */

/*
 * A SIGCHLD that tells of a w stopped (kill -STOP) or continued (kill
 * -CONT), not ended: there is nothing to reap, but the kernel told us all
 * the same (we did not ask it not to, with SA_NOCLDSTOP). Logged so that
 * question 3.c can be watched: "sigchld name=w1 ... code=CLD_STOPPED".
 */
static void
log_child_state(const struct sig_event *ev)
{
	struct wchild *wc;

	if (ev->code != CLD_STOPPED && ev->code != CLD_CONTINUED)
		return;
	wc = find_w(ev->pid);
	log_event("sigchld name=%s pid=%ld code=%s signal=%s", wc != NULL ? wc->name : "?",
	    (long)ev->pid, ev->code == CLD_STOPPED ? "CLD_STOPPED" : "CLD_CONTINUED",
	    signal_name(ev->status));
}

/* Handle the signals recorded since the last wake-up. */
static void
drain_signals(double now)
{
	struct sig_event ev;
	int r;

	while ((r = selfpipe_read(&ev)) == 1) {
		switch (ev.signo) {
		case SIGCHLD:
			log_child_state(&ev);
			reap_ws(now);
			break;
		case SIGUSR1:
			/* The watchdog's heartbeat, answered from the loop. */
			if (!stopping && server_heartbeat(&sv, &ev) == -1)
				warn("kill watchdog[%ld]", (long)sv.reg->watchdog);
			break;
		default:	/* SIGTERM, SIGINT */
			if (!stopping)
				log_event("stop reason=%s", signal_name(ev.signo));
			stopping = 1;
			break;
		}
	}
	if (r == -1)
		fatal("read self-pipe");
}

/* Named poll slots, then one per w, then one per client. */
enum { PFD_SIGNAL, PFD_LISTEN, PFD_FIRST_W };

/* How long poll() may sleep: until the nearest deadline, in ms. */
static int
poll_timeout(double now)
{
	double next = now + 1.0;	/* at least once a second, to be safe */
	size_t i;

	for (i = 0; i < opt.n; i++)
		if (ws[i].sup.state == CHILD_DOWN && ws[i].sup.restart_at < next)
			next = ws[i].sup.restart_at;
	for (i = 0; i < d.nclients; i++)
		if (d.clients[i]->inflight == 0 && d.clients[i]->deadline < next)
			next = d.clients[i]->deadline;
	if (d.listen_paused_until > now && d.listen_paused_until < next)
		next = d.listen_paused_until;
	/* At least 1 ms: a due event must never make the loop spin. */
	return next - now < 0.001 ? 1 : (int)ceil((next - now) * 1000.0);
}

static void
serve(int sigfd)
{
	struct pollfd *pfd = NULL;
	size_t cap = 0, n, i, nw = opt.n, base = PFD_FIRST_W + nw;

	while (!stopping) {
		double now = log_now();

		for (i = 0; i < nw; i++)
			if (sup_restart_due(&ws[i].sup, now) && start_w(&ws[i], now) == -1)
				fatal("start %s", opt.w_path);

		/* Build the poll set: fixed slots first, then every client. */
		n = base + d.nclients;
		if (n > cap) {
			struct pollfd *p = realloc(pfd, 2 * n * sizeof *p);

			if (p == NULL)
				fatal("realloc poll set");
			pfd = p;
			cap = 2 * n;
		}
		pfd[PFD_SIGNAL] = (struct pollfd){ sigfd, POLLIN, 0 };
		pfd[PFD_LISTEN] = (struct pollfd){ d.listen_paused_until > now ? -1 :
		    opt.listen_fd, POLLIN, 0 };
		for (i = 0; i < nw; i++)	/* -1: ignored by poll() */
			pfd[PFD_FIRST_W + i] = (struct pollfd){ ws[i].from_w, POLLIN, 0 };
		for (i = 0; i < d.nclients; i++) {
			struct client *c = d.clients[i];

			pfd[base + i].fd = c->fd;
			/* A queued client's buffer may fill up, or it may have
			 * said all it had to: then only its hang-up is watched
			 * (POLLHUP needs no event). */
			pfd[base + i].events = c->lr.len < sizeof c->lr.buf && !c->eof ?
			    POLLIN : 0;
			pfd[base + i].revents = 0;
		}
		if (poll(pfd, n, poll_timeout(now)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		now = log_now();

		/* Dispatch in a fixed order: signals, then the w's, then
		 * the clients. Reports from the w's come first so that a w
		 * that has just finished is idle before new requests. */
		if (pfd[PFD_SIGNAL].revents != 0)
			drain_signals(now);
		if (stopping)
			break;
		for (i = 0; i < nw; i++)
			if (pfd[PFD_FIRST_W + i].revents != 0 && ws[i].from_w != -1)
				read_w(&ws[i], now);
		for (i = 0; i < d.nclients; i++)
			d.clients[i]->revents = pfd[base + i].revents;
		/* Clients accepted below are appended: revents 0 this turn. */
		if (pfd[PFD_LISTEN].fd != -1 && pfd[PFD_LISTEN].revents != 0)
			accept_clients(now);
		for (i = 0; i < d.nclients; i++) {
			struct client *c = d.clients[i];

			if (c->fd != -1 && c->revents != 0) {
				short revents = c->revents;

				c->revents = 0;
				client_read(c, revents, now);
			}
		}
		clients_sweep(now);
	}
	free(pfd);
}

/* ---- start and stop ------------------------------------------------ */

/*
 * Lock the run directory: two d's sharing it would use each other's
 * FIFOs. The lock (fcntl) goes away with the process, even on SIGKILL, so
 * a stale file from a crash is simply locked again. The file holds d's
 * pid: the watchdog reads it to clean up after a d that died.
 */
static void
lock_run_dir(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct stat held, named;
	char pid[32];
	int n;

	if (rundir_path(opt.run_dir, D_PIDFILE, d.lock_path, sizeof d.lock_path) == -1)
		fatal("path %s/%s", opt.run_dir, D_PIDFILE);
	for (;;) {
		d.lock_fd = open(d.lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (d.lock_fd == -1)
			fatal("open %s", d.lock_path);
		if (fcntl(d.lock_fd, F_SETLK, &fl) == -1) {
			if ((errno != EAGAIN && errno != EACCES) ||
			    fcntl(d.lock_fd, F_GETLK, &fl) == -1)
				fatal("lock %s", d.lock_path);
			server_refuse(&sv, "run directory %s is in use by d[%ld]; "
			    "choose another with -r", opt.run_dir, (long)fl.l_pid);
		}
		/* The d before us may have removed the file between our open
		 * and our lock: then we would hold a lock nobody else sees. */
		if (fstat(d.lock_fd, &held) == 0 && stat(d.lock_path, &named) == 0 &&
		    held.st_ino == named.st_ino)
			break;
		close(d.lock_fd);
	}
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(d.lock_fd, 0) == -1 || write_all(d.lock_fd, pid, (size_t)n) == -1)
		fatal("write %s", d.lock_path);
}

/* The clean stop, as in step 3: close our end of each w's dwtube (it
 * reads end of file and exits; SIGTERM for one that has not opened it
 * yet), wait at most -K ms, SIGKILL the rest, reap them all. */
static void
stop_ws(int sigfd)
{
	struct pollfd pfd = { sigfd, POLLIN, 0 };
	double end = log_now() + opt.stop_wait / 1000.0;
	unsigned i, left;
	int ms, killed = 0;

	for (i = 0; i < opt.n; i++) {
		if (ws[i].sup.state == CHILD_DOWN)
			continue;
		if (ws[i].to_w != -1) {
			close(ws[i].to_w);
			ws[i].to_w = -1;
		} else {
			(void)kill(ws[i].sup.pid, SIGTERM);	/* not reaped: safe */
		}
	}
	for (;;) {
		for (i = 0, left = 0; i < opt.n; i++)
			left += ws[i].sup.state != CHILD_DOWN;
		if (left == 0)
			return;
		ms = (int)ceil((end - log_now()) * 1000.0);
		if (ms <= 0) {
			if (killed)
				fatalx("w survived SIGKILL");
			for (i = 0; i < opt.n; i++)
				if (ws[i].sup.state != CHILD_DOWN) {
					log_event("kill name=%s pid=%ld signal=SIGKILL "
					    "reason=stop-timeout", ws[i].name,
					    (long)ws[i].sup.pid);
					(void)kill(ws[i].sup.pid, SIGKILL);
				}
			killed = 1;
			end = log_now() + 1.0;
			continue;
		}
		if (poll(&pfd, 1, ms) == -1 && errno != EINTR)
			fatal("poll");
		drain_signals(log_now());
	}
}

/* Clean stop: tell the clients, stop the w's, remove what d created. */
static void
shut_down(int sigfd)
{
	size_t i;
	unsigned k;

	close(opt.listen_fd);
	for (i = 0; i < d.nclients; i++)
		if (d.clients[i]->fd != -1)
			client_error(d.clients[i], PERR_SHUTDOWN, "d is stopping");
	clients_sweep(log_now());
	free(d.clients);
	stop_ws(sigfd);
	for (k = 0; k < opt.n; k++) {
		if (unlink(ws[k].dw_path) == -1 && errno != ENOENT)
			warn("unlink %s", ws[k].dw_path);
		if (unlink(ws[k].wd_path) == -1 && errno != ENOENT)
			warn("unlink %s", ws[k].wd_path);
	}
	log_event("removed fifos=%lu", 2 * opt.n);
	if (unlink(d.lock_path) == -1)
		warn("unlink %s", d.lock_path);
	close(d.lock_fd);
}

/* The listening socket inherited from the watchdog; its port. */
static void
take_listener(void)
{
	int port;

	/* The watchdog made it non-blocking and we inherit the same open
	 * file; close-on-exec, cleared for us to inherit it, is set again so
	 * that no w inherits it in turn. */
	if (fcntl(opt.listen_fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    net_set_nonblock(opt.listen_fd) == -1)
		fatal("-L %d", opt.listen_fd);
	port = net_local_port(opt.listen_fd);
	if (port == -1)
		fatal("-L %d: not a TCP socket", opt.listen_fd);
	d.port = (unsigned)port;
}

static void
setup(void)
{
	char name[32];
	unsigned i;
	long limit;

	if (fcntl(opt.reg_fd, F_SETFD, FD_CLOEXEC) == -1)
		fatal("-H %d", opt.reg_fd);
	take_listener();
	/* One descriptor per client: with the usual soft limit of 1024, d
	 * could hold about a thousand clients, whatever poll() can do. */
	limit = net_raise_nofile();
	if (limit == -1)
		fatal("setrlimit RLIMIT_NOFILE");
	d.max_clients = limit > FD_RESERVE + 16 ? (size_t)limit - FD_RESERVE : 16;
	for (i = 0; i < opt.n; i++) {
		struct wchild *wc = &ws[i];

		wc->idx = i + 1;
		snprintf(wc->name, sizeof wc->name, "w%u", wc->idx);
		snprintf(name, sizeof name, DWTUBE_FMT, wc->idx);
		if (rundir_path(opt.run_dir, name, wc->dw_path, sizeof wc->dw_path) == -1)
			fatal("%s/%s", opt.run_dir, name);
		snprintf(name, sizeof name, WDTUBE_FMT, wc->idx);
		if (rundir_path(opt.run_dir, name, wc->wd_path, sizeof wc->wd_path) == -1)
			fatal("%s/%s", opt.run_dir, name);
		make_fifo(wc->dw_path);
		make_fifo(wc->wd_path);
		sup_init(&wc->sup);
		wc->to_w = wc->from_w = -1;
	}
}

int
main(int argc, char **argv)
{
	char why[128];
	int sigfd;

	log_init("d");
	parse_options(argc, argv);
	server_fault_at_start(&sv, opt.reg_fd);
	if (server_attach(&sv, opt.reg_fd, 0) == -1)
		fatal("registry -H %d", opt.reg_fd);
	/* A client that vanishes would kill d with SIGPIPE on the next
	 * write; ignored, the write fails with EPIPE and d goes on. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal SIGPIPE");
	if (rundir_prepare(opt.run_dir, why, sizeof why) == -1)
		server_refuse(&sv, "run directory %s: %s", opt.run_dir, why);
	lock_run_dir();
	sigfd = selfpipe_open();
	if (sigfd == -1)
		fatal("pipe");
	/* Handlers before anything can send us a signal; SIGTERM from the
	 * start, since the watchdog's death sends it (PR_SET_PDEATHSIG). */
	if (selfpipe_catch(SIGCHLD) == -1 || selfpipe_catch(SIGUSR1) == -1 ||
	    selfpipe_catch(SIGTERM) == -1 || selfpipe_catch(SIGINT) == -1)
		fatal("sigaction");
	setup();
	log_event("listening port=%u workers=%lu", d.port, opt.n);
	/* d's own loop runs from now on: the watchdog may heart-beat it
	 * while the w's start. "ready port=" comes once they all are. */
	if (server_ready(&sv) == -1)
		fatal("kill watchdog[%ld]", (long)sv.reg->watchdog);
	serve(sigfd);
	shut_down(sigfd);
	server_detach(&sv);
	close(opt.reg_fd);
	selfpipe_close();
	log_event("stopped code=%d", exit_code);
	return exit_code;
}
