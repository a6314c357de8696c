/*
 * d.c - step 4's main server.
 *
 * d listens on TCP port 2222 (127.0.0.1) for clients, starts the secondary
 * servers w1..wn (fork + exec), each with its pair of FIFOs dwtube<i> (d to
 * w) and wdtube<i> (w to d), and hands every client's request over to an
 * idle w: it sends the w the request, an id and a one-time token over
 * dwtube<i>, and the client gets "<port> <token>": the w's port, and the
 * token to show there. The w reports debuttraitement / fintraitement /
 * errtraitement back over wdtube<i>. When every w is busy, requests wait
 * in a bounded queue; when the queue is full, the client gets "error busy".
 *
 * One poll() loop serves everything: the signal self-pipe, the listening
 * socket, every wdtube, every client. No call in the loop blocks, so one
 * slow or hostile client never stalls the others, and heartbeats from the
 * watchdog (SIGUSR1) are answered (SIGUSR2) promptly from the loop.
 *
 * d restarts a w that dies (backoff from sup.c) and tells the watchdog
 * over its status pipe which w pids to heart-beat. Run alone (no -S), it
 * is a plain server.
 *
 *     d [-p PORT | -L FD] [-S FD] [-w N] [-r DIR] [-t MS] [-I MS] [-q N] ...
 *
 * _GNU_SOURCE: accept4() (a client socket born close-on-exec and
 * non-blocking) and prctl().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "rundir.h"
#include "selfpipe.h"
#include "sup.h"
#include "util.h"

#define MAX_WORKERS 64
#define MAX_FAULTS 8
#define ACCEPT_BURST 64		/* connections taken per wake-up of the listener */
#define FD_RESERVE 64		/* descriptors kept for FIFOs, pipes, logs */

/* What the command line asked for. */
struct options {
	unsigned port;			/* -p: TCP port (0: any free one) */
	int listen_fd;			/* -L: inherited listening socket, or -1 */
	int status_fd;			/* -S: status pipe to the watchdog, or -1 */
	unsigned nworkers;		/* -w */
	char run_dir[PATH_MAX];		/* -r */
	unsigned long delay_ms;		/* -t: w's processing time */
	unsigned long idle_ms;		/* -I: idle time-out */
	unsigned long queue_max;	/* -q: longest queue */
	int quiet;			/* -Q: no per-request log lines */
	char w_path[PATH_MAX];		/* -x: the w program */
	const char *fault;		/* -F: d's own fault hook, for tests */
	const char *wfaults[MAX_FAULTS];	/* -f wI:FAULT: the w's */
	int nwfaults;
};

/* A secondary server, as d sees it. */
struct worker {
	unsigned num;			/* 1..n: its name is "w<num>" */
	struct sup_child sup;		/* pid, state, backoff (sup.c) */
	int ready;			/* it said "ready": it can take a job */
	int rfd;			/* wdtube<num>, read end; -1 when closed */
	int wfd;			/* dwtube<num>, write end; -1 until ready */
	struct line_reader lr;		/* the reports read from rfd */
	unsigned port;			/* its TCP port, from "ready <port>" */
	/* The request it serves (job.id == 0: none, the w is idle). */
	struct job job;
	int started;			/* debuttraitement seen for it */
	double since;			/* when it was handed over */
	struct client *client;		/* whose d connection asked; NULL if gone */
	pid_t old_pid;			/* the previous incarnation, for the log */
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

/* Everything d knows, in one place. */
static struct {
	struct options opt;
	int sigfd;			/* the self-pipe's read end */
	int listen_fd;
	unsigned port;
	int announced;			/* "ready" logged */
	int stopping;
	double listen_paused_until;	/* accept() ran out of descriptors */
	struct worker workers[MAX_WORKERS];
	struct sup_timing timing;
	struct client **clients;	/* every connected client */
	size_t nclients, cap_clients;
	size_t max_clients;		/* from the open-file limit */
	struct client *qhead, *qtail;	/* the queue, oldest first */
	size_t qlen;
	unsigned long next_id;		/* the last request id given */
	unsigned long heartbeats;	/* SIGUSR1 answered */
	long hang_after;		/* fault hook: hang after this many, or -1 */
	int lock_fd;
	char lock_path[PATH_MAX];
} d;

/* ---- options ------------------------------------------------------ */

static noreturn void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: d [-p PORT | -L FD] [-S FD] [-w N] [-r DIR] [-t MS] [-I MS]\n"
	    "         [-q N] [-Q] [-x PROG] [-F FAULT] [-f wI:FAULT]...\n"
	    "  -p PORT  listen on 127.0.0.1:PORT (default 2222; 0: any free port)\n"
	    "  -L FD    use the listening socket inherited on descriptor FD\n"
	    "  -S FD    write status lines for the watchdog to descriptor FD\n"
	    "  -w N     number of secondary servers w (default 2, at most 64)\n"
	    "  -r DIR   run directory for the FIFOs (default $XDG_RUNTIME_DIR/osps)\n"
	    "  -t MS    w's processing time for requetetype1 (default 500)\n"
	    "  -I MS    idle time-out of a connection, a token, a queued request\n"
	    "           (default 10000)\n"
	    "  -q N     requests that may wait for a w (default 4096; 0: none)\n"
	    "  -Q       quiet: no log line per request (benchmarks)\n"
	    "  -x PROG  the program to start as w (default: w next to d)\n"
	    "  -F FAULT fault hook for tests: exit (fail at start-up) or hang:K\n"
	    "           (the main loop hangs after K heartbeats)\n"
	    "  -f wI:FAULT  the same for w<I>: exit at every start, hang:K in\n"
	    "           its first incarnation only\n"
	    "  -h       show this help\n");
	exit(code);
}

/* Parse a number option into *out, or print why and exit 2. */
static void
number_opt(int c, const char *arg, unsigned long min, unsigned long max,
    unsigned long *out)
{
	if (parse_ulong(arg, min, max, out) == -1) {
		warnx("-%c %s: expected a number from %lu to %lu", c, arg, min, max);
		usage(2);
	}
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	unsigned long v;
	int c;

	memset(o, 0, sizeof *o);
	o->port = PROTO_DEFAULT_PORT;
	o->listen_fd = o->status_fd = -1;
	o->nworkers = 2;
	o->delay_ms = 500;
	o->idle_ms = 10000;
	o->queue_max = 4096;
	if (rundir_default(o->run_dir, sizeof o->run_dir) == -1)
		fatal("run directory");
	if (sibling_path(argv[0], "w", o->w_path, sizeof o->w_path) == -1)
		fatal("program path %s", argv[0]);
	while ((c = getopt(argc, argv, "p:L:S:w:r:t:I:q:Qx:F:f:h")) != -1) {
		switch (c) {
		case 'p':
			number_opt(c, optarg, 0, 65535, &v);
			o->port = (unsigned)v;
			break;
		case 'L':
			number_opt(c, optarg, 3, INT_MAX, &v);
			o->listen_fd = (int)v;
			break;
		case 'S':
			number_opt(c, optarg, 3, INT_MAX, &v);
			o->status_fd = (int)v;
			break;
		case 'w':
			number_opt(c, optarg, 1, MAX_WORKERS, &v);
			o->nworkers = (unsigned)v;
			break;
		case 'r':
			snprintf(o->run_dir, sizeof o->run_dir, "%s", optarg);
			break;
		case 't':
			number_opt(c, optarg, 0, 60000, &o->delay_ms);
			break;
		case 'I':
			number_opt(c, optarg, 10, 3600000, &o->idle_ms);
			break;
		case 'q':
			number_opt(c, optarg, 0, 1000000, &o->queue_max);
			break;
		case 'Q':
			o->quiet = 1;
			break;
		case 'x':
			snprintf(o->w_path, sizeof o->w_path, "%s", optarg);
			break;
		case 'F':
			o->fault = optarg;
			break;
		case 'f':
			if (o->nwfaults == MAX_FAULTS || optarg[0] != 'w' ||
			    strchr(optarg, ':') == NULL) {
				warnx("-f %s: expected wI:FAULT, at most %d of them", optarg,
				    MAX_FAULTS);
				usage(2);
			}
			o->wfaults[o->nwfaults++] = optarg;
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
}

/* The fault hook of d itself: hang after K heartbeats, or exit now. */
static void
apply_own_fault(void)
{
	const char *f = d.opt.fault;
	unsigned long k;

	d.hang_after = -1;
	if (f == NULL)
		return;
	if (strcmp(f, "exit") == 0)
		fatalx("fault hook: exit at start-up");
	if (strncmp(f, "hang:", 5) != 0 || parse_ulong(f + 5, 0, 1000000, &k) == -1) {
		warnx("-F %s: unknown fault hook", f);
		usage(2);
	}
	d.hang_after = (long)k;
}

/* ---- logging and the watchdog's status pipe ----------------------- */

/* Per-request events are skipped in quiet mode (-Q). */
#define log_request(...) do { if (!d.opt.quiet) log_event(__VA_ARGS__); } while (0)

/* Tell the watchdog something, if it is listening (-S). */
static void
status_send(enum status_kind kind, const char *name, pid_t pid)
{
	struct status st = { kind, d.port, "", (long)pid };
	char line[64];
	int n;

	if (d.opt.status_fd == -1)
		return;
	snprintf(st.name, sizeof st.name, "%s", name);
	n = proto_format_status(line, sizeof line, &st);
	/* The pipe is non-blocking: d never waits for the watchdog. A line
	 * under PIPE_BUF bytes is written whole or not at all. */
	if (n == -1 || write_all(d.opt.status_fd, line, (size_t)n) == -1)
		warn("write status pipe");
}

/* ---- clients: the queue ------------------------------------------- */

static void
queue_push(struct client *c, enum req_type type, double now)
{
	c->queued = type;
	c->deadline = now + (double)d.opt.idle_ms / 1000;
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
	for (i = 0; i < d.opt.nworkers; i++)
		if (d.workers[i].client == c)
			d.workers[i].client = NULL;
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
	c->deadline = now + (double)d.opt.idle_ms / 1000;
}

/* ---- handing a request over to a w -------------------------------- */

/* An idle, ready w, taken in turn so that the work spreads; or NULL. */
static struct worker *
idle_worker(void)
{
	static unsigned last;
	unsigned i;

	for (i = 1; i <= d.opt.nworkers; i++) {
		struct worker *w = &d.workers[(last + i) % d.opt.nworkers];

		if (w->ready && w->job.id == 0) {
			last = (unsigned)(w - d.workers);
			return w;
		}
	}
	return NULL;
}

/* Stop a w that can no longer be trusted; SIGCHLD brings the restart. */
static void
worker_kill(struct worker *w, const char *why)
{
	/* Safe: w is our child and not reaped yet, so its pid cannot have
	 * been given to another process. */
	log_event("kill name=w%u pid=%ld reason=%s", w->num, (long)w->sup.pid, why);
	if (w->sup.pid > 0 && kill(w->sup.pid, SIGKILL) == -1)
		warn("kill w%u[%ld]", w->num, (long)w->sup.pid);
	w->ready = 0;
	sup_stopping(&w->sup);
}

/*
 * Hand client c's request over to the idle w: give it a number and a
 * fresh token, send w the job, then send the client "<port> <token>".
 * Returns 0, or -1 when the w could not be told (it is then killed and
 * the caller tries another one).
 */
static int
hand_over(struct worker *w, struct client *c, enum req_type type, double now)
{
	/* TODO 4.5: fill w->job (type, id = ++d.next_id, a token from
	 * proto_token_new), send it to w over w->wfd (proto_format_job,
	 * write_all), then the handover line to the client
	 * (proto_format_handover with w->port). On a failed write to w, call
	 * worker_kill() and return -1. Why must the job reach w's FIFO
	 * BEFORE the client gets its reply, and not after? */
	(void)w;
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
	 * (queue_push) if fewer than d.opt.queue_max are waiting, else send
	 * "error busy" (client_error) and log "busy peer=...". Why does a
	 * bounded queue protect d better than an unbounded one? */
	(void)type;
	(void)now;
	(void)hand_over;
	(void)queue_push;
	client_error(c, PERR_BUSY, "dispatch is not written yet (TODO 4.4)");
}

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
		if (c->eof && c->queued == REQ_NONE)
			client_close(c, "eof");
	}
}

/* ---- clients: reading requests ------------------------------------ */

/*
 * Take every complete line client c has sent, one request after the
 * other. A queued client's next lines wait until its request is served:
 * replies come back in the order of the requests.
 */
static void
client_lines(struct client *c, double now)
{
	char line[PROTO_LINE_MAX + 1];
	enum req_type type;
	int got;

	while (c->fd != -1 && c->queued == REQ_NONE &&
	    (got = lr_next(&c->lr, line, sizeof line)) != 0) {
		if (got == -1) {
			log_request("toolong peer=%s", c->peer);
			client_error(c, PERR_TOOLONG, "a line is at most 512 bytes");
			return;
		}
		client_touch(c, now);
		type = proto_parse_request(line);
		if (type == REQ_NONE) {
			log_request("unknown peer=%s", c->peer);
			client_error(c, PERR_UNKNOWN, "expected requetetype1 or requetetype2");
			continue;
		}
		dispatch(c, type, now);
	}
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
	if (n == 0) {
		/* End of file: the client has closed, or only shut down its
		 * writing (nc -N, shutdown(SHUT_WR)). A request waiting in the
		 * queue still gets its answer, then the connection is closed. */
		if (c->queued != REQ_NONE && !lr_pending(&c->lr) &&
		    !(revents & (POLLHUP | POLLERR))) {
			c->eof = 1;
			return;
		}
		client_close(c, lr_pending(&c->lr) ? "eof-mid-line" : "eof");
		return;
	}
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
	/* TODO 4.3: accept up to ACCEPT_BURST connections with
	 * accept4(..., SOCK_CLOEXEC | SOCK_NONBLOCK), stop on EAGAIN. Over
	 * d.max_clients, answer "error busy" and close at once. On EMFILE or
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

static void
fifo_path(const char *fmt, unsigned num, char *buf, size_t size)
{
	char name[32];

	snprintf(name, sizeof name, fmt, num);
	if (rundir_path(d.opt.run_dir, name, buf, size) == -1)
		fatal("path %s/%s", d.opt.run_dir, name);
}

/* Remove w<num>'s FIFOs (at a restart, and at the end). */
static void
fifos_remove(unsigned num)
{
	char path[PATH_MAX];

	fifo_path(DWTUBE_FMT, num, path, sizeof path);
	if (unlink(path) == -1 && errno != ENOENT)
		warn("unlink %s", path);
	fifo_path(WDTUBE_FMT, num, path, sizeof path);
	if (unlink(path) == -1 && errno != ENOENT)
		warn("unlink %s", path);
}

/* Build w's command line into args (strings kept in bufs). */
static void
w_args(const struct worker *w, char bufs[4][32], char *args[16])
{
	int i = 0, f;
	size_t len;
	char prefix[16];

	snprintf(bufs[0], sizeof bufs[0], "%u", w->num);
	snprintf(bufs[1], sizeof bufs[1], "%lu", d.opt.delay_ms);
	snprintf(bufs[2], sizeof bufs[2], "%lu", d.opt.idle_ms);
	args[i++] = "w";
	args[i++] = "-n";
	args[i++] = bufs[0];
	args[i++] = "-r";
	args[i++] = d.opt.run_dir;
	args[i++] = "-t";
	args[i++] = bufs[1];
	args[i++] = "-I";
	args[i++] = bufs[2];
	if (d.opt.quiet)
		args[i++] = "-Q";
	/* "-f w2:hang:3" for d means "-F hang:3" for w2: a hang in its
	 * first incarnation only (so that its restart can be seen to work),
	 * an exit at every start (a crash loop). */
	len = (size_t)snprintf(prefix, sizeof prefix, "w%u:", w->num);
	for (f = 0; f < d.opt.nwfaults && i < 14; f++) {
		const char *spec = d.opt.wfaults[f] + len;

		if (strncmp(d.opt.wfaults[f], prefix, len) == 0 &&
		    (w->sup.restarts == 0 || strcmp(spec, "exit") == 0)) {
			args[i++] = "-F";
			args[i++] = (char *)spec;
			break;
		}
	}
	args[i] = NULL;
}

/*
 * Start w<num>: fresh FIFOs (nothing stale from a previous w can be read),
 * the read end of wdtube opened now (so that w's open for writing does not
 * block), then fork + exec. dwtube is opened when w says "ready": opening
 * a FIFO for writing with O_NONBLOCK fails until someone reads it.
 */
static void
worker_start(struct worker *w, double now)
{
	char path[PATH_MAX], bufs[4][32], *args[16];
	sigset_t all, old;
	pid_t pid;

	fifos_remove(w->num);
	fifo_path(DWTUBE_FMT, w->num, path, sizeof path);
	if (mkfifo(path, 0600) == -1)
		fatal("mkfifo %s", path);
	fifo_path(WDTUBE_FMT, w->num, path, sizeof path);
	if (mkfifo(path, 0600) == -1)
		fatal("mkfifo %s", path);
	w->rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (w->rfd == -1)
		fatal("open %s", path);
	lr_init(&w->lr, w->rfd);
	w_args(w, bufs, args);

	/* Signals are blocked across fork: the child must not run d's
	 * handlers (they would write into d's self-pipe). It restores the
	 * default actions, then the mask, then execs. */
	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, &old) == -1)
		fatal("sigprocmask");
	fflush(NULL);
	pid = fork();
	if (pid == -1)
		fatal("fork w%u", w->num);
	if (pid == 0) {
		pid_t parent = getppid();
		int sig;

		for (sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
		/* If d dies, the kernel kills w: no orphan w keeps a port. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
			child_fatal(127, "prctl");
		if (getppid() != parent)
			_exit(127);	/* d died before prctl: too late for it */
		sigprocmask(SIG_SETMASK, &old, NULL);
		execv(d.opt.w_path, args);
		child_fatal(127, "exec %s", d.opt.w_path);
	}
	if (sigprocmask(SIG_SETMASK, &old, NULL) == -1)
		fatal("sigprocmask");
	sup_started(&w->sup, pid, now);
	if (w->old_pid != 0)
		log_event("restart name=w%u old=%ld new=%ld", w->num, (long)w->old_pid,
		    (long)pid);
	log_event("started name=w%u pid=%ld", w->num, (long)pid);
}

/* True when every w has said ready. */
static int
all_ready(void)
{
	unsigned i;

	for (i = 0; i < d.opt.nworkers; i++)
		if (!d.workers[i].ready)
			return 0;
	return 1;
}

/* w said "ready <port>": open dwtube for writing, w can take jobs. */
static void
worker_ready(struct worker *w, unsigned port, double now)
{
	char path[PATH_MAX];

	fifo_path(DWTUBE_FMT, w->num, path, sizeof path);
	/* w opened its read end before saying ready: this cannot block, and
	 * O_NONBLOCK keeps a full pipe from ever stalling d. */
	w->wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (w->wfd == -1) {
		warn("open %s", path);
		worker_kill(w, "fifo-open-failed");
		return;
	}
	w->port = port;
	w->ready = 1;
	sup_ready(&w->sup, now);
	log_event("w-ready name=w%u pid=%ld port=%u", w->num, (long)w->sup.pid, port);
	status_send(ST_UP, w->sup.name, w->sup.pid);
	if (!d.announced && all_ready()) {
		/* Every w is up: now d can serve, and says so. */
		d.announced = 1;
		log_event("ready port=%u workers=%u max_clients=%zu queue=%lu", d.port,
		    d.opt.nworkers, d.max_clients, d.opt.queue_max);
		status_send(ST_READY, "d", getpid());
	}
	dispatch_queue(now);
}

/* The request w was serving is over (fin or err, or w is gone). */
static void
worker_job_done(struct worker *w)
{
	if (w->client != NULL && w->client->inflight > 0) {
		w->client->inflight--;
		if (w->client->inflight == 0)
			client_touch(w->client, log_now());
	}
	w->client = NULL;
	memset(&w->job, 0, sizeof w->job);
}

/* One report line from w. */
static void
worker_report(struct worker *w, const char *line, double now)
{
	struct report rep;

	if (proto_parse_report(line, &rep) == -1) {
		warnx("w%u: bad report \"%.64s\"", w->num, line);
		worker_kill(w, "bad-report");
		return;
	}
	if (rep.kind == REP_READY) {
		if (w->ready)
			worker_kill(w, "ready-twice");
		else
			worker_ready(w, rep.port, now);
		return;
	}
	/* TODO 4.6: debuttraitement, fintraitement and errtraitement must
	 * name the request w is serving (w->job.id, 0 when none), else w is
	 * broken: worker_kill(w, "wrong-request-id"). Log "debut id= w=",
	 * "fin id= w= ms=" (since w->since) or "failed id= w= reason=";
	 * after fin or err the w is idle again: worker_job_done(), then
	 * dispatch_queue(). Why kill a w that reports a wrong id, rather
	 * than ignore the line? */
	(void)now;
}

/* wdtube<num> is readable (or its writer has gone). */
static void
worker_read(struct worker *w, double now)
{
	char line[PROTO_LINE_MAX + 1];
	ssize_t n = lr_fill(&w->lr);
	int got;

	if (n == -1 && errno == EAGAIN)
		return;
	if (n <= 0) {
		/* w closed its end (it died, or is dying): stop polling the
		 * FIFO; SIGCHLD tells the rest. */
		close(w->rfd);
		w->rfd = -1;
		if (n == -1)
			warn("read wdtube%u", w->num);
		return;
	}
	while (w->rfd != -1 && (got = lr_next(&w->lr, line, sizeof line)) != 0) {
		if (got == -1) {
			worker_kill(w, "report-too-long");
			return;
		}
		worker_report(w, line, now);
	}
}

/* w was reaped: close its end of the FIFOs and plan its restart. */
static void
worker_exited(struct worker *w, int status, double now)
{
	char how[64];

	log_event("reaped name=w%u pid=%ld status=\"%s\"", w->num, (long)w->sup.pid,
	    status_str(status, how, sizeof how));
	if (w->job.id != 0) {
		/* Its client sees the w side close without a result line. */
		log_event("failed id=%lu w=w%u reason=%s", w->job.id, w->num,
		    proto_err_word(PERR_WDIED));
		worker_job_done(w);
	}
	status_send(ST_DOWN, w->sup.name, w->sup.pid);
	if (w->rfd != -1)
		close(w->rfd);
	if (w->wfd != -1)
		close(w->wfd);
	w->rfd = w->wfd = -1;
	w->ready = 0;
	w->old_pid = w->sup.pid;
	sup_exited(&w->sup, now, &d.timing);
	if (!d.stopping && w->sup.restart_at > now)
		log_event("backoff name=w%u delay_ms=%.0f", w->num,
		    (w->sup.restart_at - now) * 1000);
}

/* Reap every child that has ended: signals coalesce, so loop. */
static void
reap_children(double now)
{
	int status;
	pid_t pid;
	unsigned i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < d.opt.nworkers; i++)
			if (d.workers[i].sup.pid == pid)
				worker_exited(&d.workers[i], status, now);
	}
	if (pid == -1 && errno != ECHILD)
		fatal("waitpid");
}

/* ---- signals ------------------------------------------------------- */

static void
handle_signals(double now)
{
	struct sig_event ev;
	int got;

	while ((got = selfpipe_read(&ev)) == 1) {
		switch (ev.signo) {
		case SIGTERM:
		case SIGINT:
			log_event("stopping signal=%s", signal_name(ev.signo));
			d.stopping = 1;
			break;
		case SIGCHLD:
			reap_children(now);
			break;
		case SIGUSR1:
			/* The watchdog's heartbeat, answered from the loop: a
			 * reply proves the loop runs, not just the handler. */
			if (d.hang_after >= 0 && d.heartbeats >= (unsigned long)d.hang_after) {
				log_event("fault hang heartbeats=%lu", d.heartbeats);
				for (;;)
					pause();	/* handlers still run; the loop never will */
			}
			d.heartbeats++;
			if (ev.pid > 0 && kill(ev.pid, SIGUSR2) == -1)
				warn("kill SIGUSR2 %ld", (long)ev.pid);
			break;
		}
	}
	if (got == -1)
		fatal("read self-pipe");
}

/* ---- the main loop ------------------------------------------------- */

enum { PFD_SIGNAL, PFD_LISTEN, PFD_WORKERS };

/* The poll() time-out: until the nearest deadline, in ms. */
static int
poll_timeout(double now)
{
	double next = now + 1.0;	/* at least once a second, to be safe */
	size_t i;

	for (i = 0; i < d.opt.nworkers; i++) {
		struct worker *w = &d.workers[i];

		if (w->sup.state == CHILD_DOWN && w->sup.restart_at < next)
			next = w->sup.restart_at;
	}
	for (i = 0; i < d.nclients; i++)
		if (d.clients[i]->inflight == 0 && d.clients[i]->deadline < next)
			next = d.clients[i]->deadline;
	if (d.listen_paused_until > now && d.listen_paused_until < next)
		next = d.listen_paused_until;
	if (next <= now)
		return 0;
	return (int)((next - now) * 1000) + 1;
}

static void
serve(void)
{
	struct pollfd *pfd = NULL;
	size_t cap = 0, n, i, nw = d.opt.nworkers, base = PFD_WORKERS + nw;

	while (!d.stopping) {
		double now = log_now();
		int r;

		for (i = 0; i < nw; i++)
			if (sup_restart_due(&d.workers[i].sup, now))
				worker_start(&d.workers[i], now);

		/* Build the poll set: fixed slots first, then every client. */
		n = base + d.nclients;
		if (n > cap) {
			struct pollfd *p = realloc(pfd, 2 * n * sizeof *p);

			if (p == NULL)
				fatal("realloc poll set");
			pfd = p;
			cap = 2 * n;
		}
		pfd[PFD_SIGNAL].fd = d.sigfd;
		pfd[PFD_SIGNAL].events = POLLIN;
		pfd[PFD_LISTEN].fd = d.listen_paused_until > now ? -1 : d.listen_fd;
		pfd[PFD_LISTEN].events = POLLIN;
		for (i = 0; i < nw; i++) {
			pfd[PFD_WORKERS + i].fd = d.workers[i].rfd;	/* -1: ignored */
			pfd[PFD_WORKERS + i].events = POLLIN;
		}
		for (i = 0; i < d.nclients; i++) {
			struct client *c = d.clients[i];

			pfd[base + i].fd = c->fd;
			/* A queued client's buffer may fill up, or it may have
			 * said all it had to: then only its hang-up is watched
			 * (POLLHUP needs no event). */
			pfd[base + i].events = c->lr.len < sizeof c->lr.buf && !c->eof ?
			    POLLIN : 0;
		}
		r = poll(pfd, n, poll_timeout(now));
		if (r == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		now = log_now();

		/* Dispatch in a fixed order: signals, then the w's, then
		 * the clients. Reports from the w's come first so that a w
		 * that has just finished is idle before new requests. */
		if (pfd[PFD_SIGNAL].revents != 0)
			handle_signals(now);
		for (i = 0; i < nw; i++)
			if (pfd[PFD_WORKERS + i].revents != 0 && d.workers[i].rfd != -1)
				worker_read(&d.workers[i], now);
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
 * Lock the run directory: two d's sharing it would unlink each other's
 * FIFOs. The lock (fcntl) goes away with the process, even on SIGKILL, so
 * a stale file from a crash is simply locked again.
 */
static void
lock_run_dir(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char pid[32];
	int n;

	if (rundir_path(d.opt.run_dir, "d.pid", d.lock_path, sizeof d.lock_path) == -1)
		fatal("path %s/d.pid", d.opt.run_dir);
	d.lock_fd = open(d.lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d.lock_fd == -1)
		fatal("open %s", d.lock_path);
	if (fcntl(d.lock_fd, F_SETLK, &fl) == -1) {
		if (errno != EAGAIN && errno != EACCES)
			fatal("lock %s", d.lock_path);
		if (fcntl(d.lock_fd, F_GETLK, &fl) == -1)
			fatal("lock %s", d.lock_path);
		fatalx("run directory %s is in use by d[%ld]; choose another with -r",
		    d.opt.run_dir, (long)fl.l_pid);
	}
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(d.lock_fd, 0) == -1 || write_all(d.lock_fd, pid, (size_t)n) == -1)
		fatal("write %s", d.lock_path);
}

/* The listening socket: inherited from the watchdog (-L), or our own. */
static void
open_listener(void)
{
	int port;

	if (d.opt.listen_fd != -1) {
		/* dup2() in the watchdog's child cleared close-on-exec: set
		 * it again, or every w would inherit the listener. */
		d.listen_fd = d.opt.listen_fd;
		if (fcntl(d.listen_fd, F_SETFD, FD_CLOEXEC) == -1 ||
		    net_set_nonblock(d.listen_fd) == -1)
			fatal("-L %d", d.listen_fd);
	} else {
		d.listen_fd = net_listen(NET_LOOPBACK, d.opt.port);
		if (d.listen_fd == -1)
			fatal("bind %s:%u", NET_LOOPBACK, d.opt.port);
	}
	port = net_local_port(d.listen_fd);
	if (port == -1)
		fatal("-L %d: not a TCP socket", d.listen_fd);
	d.port = (unsigned)port;
}

/* Stop every w: SIGTERM, up to 2 s to exit, then SIGKILL; reap all. */
static void
stop_workers(void)
{
	double until = log_now() + 2.0;
	unsigned i, left;

	for (i = 0; i < d.opt.nworkers; i++) {
		struct worker *w = &d.workers[i];

		if (w->sup.pid > 0 && kill(w->sup.pid, SIGTERM) == -1)
			warn("kill w%u[%ld]", w->num, (long)w->sup.pid);
		if (w->sup.pid > 0)
			sup_stopping(&w->sup);
	}
	for (;;) {
		struct pollfd p = { d.sigfd, POLLIN, 0 };
		double now = log_now();
		struct sig_event ev;

		reap_children(now);
		for (i = 0, left = 0; i < d.opt.nworkers; i++)
			if (d.workers[i].sup.pid > 0)
				left++;
		if (left == 0)
			return;
		if (now >= until)
			break;
		if (poll(&p, 1, (int)((until - now) * 1000) + 1) == -1 && errno != EINTR)
			fatal("poll");
		while (selfpipe_read(&ev) == 1)
			;	/* SIGCHLD: the loop reaps; another SIGTERM: already stopping */
	}
	for (i = 0; i < d.opt.nworkers; i++) {
		struct worker *w = &d.workers[i];
		int status;

		if (w->sup.pid <= 0)
			continue;
		log_event("kill name=w%u pid=%ld reason=stop-timeout", w->num, (long)w->sup.pid);
		kill(w->sup.pid, SIGKILL);
		while (waitpid(w->sup.pid, &status, 0) == -1 && errno == EINTR)
			;
		worker_exited(w, status, log_now());
	}
}

/* Clean stop: tell the clients, stop the w's, remove what d created. */
static void
shutdown_all(void)
{
	size_t i;
	unsigned k;

	close(d.listen_fd);
	for (i = 0; i < d.nclients; i++)
		if (d.clients[i]->fd != -1)
			client_error(d.clients[i], PERR_SHUTDOWN, "d is stopping");
	clients_sweep(log_now());
	free(d.clients);
	stop_workers();
	for (k = 1; k <= d.opt.nworkers; k++)
		fifos_remove(k);
	if (unlink(d.lock_path) == -1)
		warn("unlink %s", d.lock_path);
	close(d.lock_fd);
	if (d.opt.status_fd != -1)
		close(d.opt.status_fd);
	selfpipe_close();
}

int
main(int argc, char **argv)
{
	char why[128];
	long limit;
	double now;
	unsigned i;

	log_init("d");
	parse_options(argc, argv, &d.opt);
	apply_own_fault();
	d.timing = (struct sup_timing){ .period = 1, .timeout = 3,
		.backoff_min = 0.1, .backoff_max = 2, .stable = 1 };

	/* A client that vanishes would kill d with SIGPIPE on the next
	 * write; ignored, the write fails with EPIPE and d goes on. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal SIGPIPE");
	if (rundir_prepare(d.opt.run_dir, why, sizeof why) == -1)
		fatalx("run directory %s: %s", d.opt.run_dir, why);
	/* The port first: "address in use", the likeliest failure, then
	 * leaves nothing behind in the run directory. */
	open_listener();
	lock_run_dir();

	/* One descriptor per client: with the usual soft limit of 1024, d
	 * could hold about a thousand clients, whatever poll() can do. */
	limit = net_raise_nofile();
	if (limit == -1)
		fatal("setrlimit RLIMIT_NOFILE");
	d.max_clients = limit > FD_RESERVE + 2 * MAX_WORKERS + 16 ?
	    (size_t)limit - FD_RESERVE - 2 * MAX_WORKERS : 16;

	d.sigfd = selfpipe_open();
	if (d.sigfd == -1)
		fatal("self-pipe");
	if (selfpipe_catch(SIGTERM) == -1 || selfpipe_catch(SIGINT) == -1 ||
	    selfpipe_catch(SIGCHLD) == -1 || selfpipe_catch(SIGUSR1) == -1)
		fatal("sigaction");
	if (d.opt.status_fd != -1 && (fcntl(d.opt.status_fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    net_set_nonblock(d.opt.status_fd) == -1))
		fatal("-S %d", d.opt.status_fd);
	log_event("listening port=%u", d.port);

	now = log_now();
	for (i = 0; i < d.opt.nworkers; i++) {
		struct worker *w = &d.workers[i];
		char name[16];

		w->num = i + 1;
		w->rfd = w->wfd = -1;
		snprintf(name, sizeof name, "w%u", w->num);
		sup_init(&w->sup, name, now);
	}
	serve();
	shutdown_all();
	log_event("stopped");
	return 0;
}
