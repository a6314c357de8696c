/*
 * w.c - step 4's secondary server.
 *
 * d starts w<i> (fork + exec). w listens on a TCP port of its own (any
 * free one: the kernel picks it), opens its FIFOs dwtube<i> (from d) and
 * wdtube<i> (to d), and tells d "ready <port>". Then, one request at a time:
 *
 *   1. d sends "<request> <id> <token>" over dwtube<i>;
 *   2. the client connects to w's port and shows the token; a missing,
 *      wrong or already used token gets "error badtoken" and is closed;
 *   3. w answers "ok <id> <request>" and tells d "debuttraitement <id>";
 *   4. requetetype1: w "processes" (a delay, -t) then sends one result
 *      line; requetetype2: w echoes each line until the client shuts down
 *      its write side, then sends "end <id> <count>" (tutorial §1-2);
 *   5. w closes and tells d "fintraitement <id>", or "errtraitement <id>
 *      <word>" if the request could not be served.
 *
 * Like d, w runs one poll() loop and never blocks: the processing delay is
 * a deadline, not a sleep, so heartbeats (SIGUSR1 from the watchdog) are
 * answered at once (server.c, from step 3), and strangers knocking on w's
 * port (without a token) are dealt with while a client is served. When d
 * closes its end of dwtube<i> (its way to stop w, as in step 2) or dies, w
 * reads end of file and stops; on SIGTERM too.
 *
 *     w -n I -H FD [-r DIR] [-t MS] [-I MS] [-Q] [-F FAULT]     (started by d)
 *
 * _GNU_SOURCE: accept4().
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
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "rundir.h"
#include "selfpipe.h"
#include "server.h"
#include "util.h"

/* Connections w holds at once: the client it serves and a few others that
 * have not shown a token yet. More are refused: a flood on w's port must
 * not eat its descriptors. */
#define MAX_CONNS 64

/* A TCP connection to w. */
struct conn {
	int fd;				/* -1 once closed (removed at the end of the turn) */
	char peer[32];
	struct line_reader lr;
	double deadline;		/* idle time-out */
	int serving;			/* it showed the right token: the job's client */
	unsigned long echoed;		/* requetetype2: lines echoed back */
	char out[2 * PROTO_BUF];	/* bytes accepted for sending, not sent yet */
	size_t outlen;
	int close_after;		/* close once out is sent */
	int eof;			/* the peer has shut down its write side */
};

/* The request w has been given. */
enum job_state {
	JOB_NONE,	/* idle: a token shown now is wrong, whatever it is */
	JOB_WAITING,	/* d gave a job: waiting for its client and token */
	JOB_RUNNING	/* the client is here: being served */
};

static struct {
	unsigned num;			/* -n: this is w<num> */
	char run_dir[PATH_MAX];		/* -r */
	unsigned long delay_ms;		/* -t */
	unsigned long idle_ms;		/* -I */
	int quiet;			/* -Q */
	struct server sv;		/* the registry slot, the fault hook */
	int sigfd, listen_fd, rfd, wfd;	/* self-pipe, TCP listener, dwtube, wdtube */
	unsigned port;
	struct line_reader fifo;	/* what d sent over dwtube */
	struct conn *conns[MAX_CONNS];
	size_t nconns;
	struct job job;
	enum job_state state;
	double job_deadline;		/* WAITING: token expiry; RUNNING type 1: result due */
	double listen_paused_until;	/* accept() ran out of descriptors */
	struct conn *client;		/* RUNNING: the client served */
	unsigned long served;		/* requests served */
	int stopping;
	char reports[256];		/* reports for d, sent at the end of the turn */
	size_t reportlen;
} w;

#define log_request(...) do { if (!w.quiet) log_event(__VA_ARGS__); } while (0)

static noreturn void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: w -n I -H FD [-r DIR] [-t MS] [-I MS] [-Q] [-F FAULT]\n"
	    "  -n I     this server's number, 1..%d (its FIFOs and its slot)\n"
	    "  -H FD    the registry descriptor (w is started by d)\n"
	    "  -r DIR   run directory of the FIFOs (default $XDG_RUNTIME_DIR/osps)\n"
	    "  -t MS    processing time of requetetype1 (default 500)\n"
	    "  -I MS    idle time-out of a connection, and of a token (default 10000)\n"
	    "  -Q       quiet: no log line per request\n"
	    "  -F FAULT inject a fault: exit, or hang:K\n"
	    "  -h       show this help\n"
	    "w is started by d; PROTOCOL.md says how to speak to it by hand.\n", W_MAX);
	exit(code);
}

/* Parse the command line; returns the registry's descriptor. */
static int
parse_options(int argc, char **argv)
{
	unsigned long v, fd = 0;
	int c;

	w.delay_ms = 500;
	w.idle_ms = 10000;
	if (rundir_default(w.run_dir, sizeof w.run_dir) == -1)
		fatal("run directory");
	while ((c = getopt(argc, argv, "n:H:r:t:I:QF:h")) != -1) {
		switch (c) {
		case 'n':
			if (parse_ulong(optarg, 1, W_MAX, &v) == -1) {
				warnx("-n %s: expected 1 to %d", optarg, W_MAX);
				usage(2);
			}
			w.num = (unsigned)v;
			break;
		case 'H':
			if (parse_ulong(optarg, 3, 1023, &fd) == -1) {
				warnx("-H %s: expected a descriptor number", optarg);
				usage(2);
			}
			break;
		case 'r':
			snprintf(w.run_dir, sizeof w.run_dir, "%s", optarg);
			break;
		case 't':
		case 'I':
			if (parse_ulong(optarg, c == 't' ? 0 : 10, 3600000, &v) == -1) {
				warnx("-%c %s: expected milliseconds", c, optarg);
				usage(2);
			}
			*(c == 't' ? &w.delay_ms : &w.idle_ms) = v;
			break;
		case 'Q':
			w.quiet = 1;
			break;
		case 'F':
			if (fault_parse(optarg, &w.sv.fault) == -1) {
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
	if (w.num == 0 || fd == 0 || optind != argc) {
		warnx(optind != argc ? "unexpected argument" :
		    "-n I and -H FD are required: w is started by d");
		usage(2);
	}
	return (int)fd;
}

/* ---- talking to d -------------------------------------------------- */

/*
 * Queue a report for d. Reports go out together at the end of the loop's
 * turn (reports_flush): debuttraitement and fintraitement of a request
 * served at once then cost d one wake-up, not two.
 */
static void
report(enum report_kind kind, unsigned long id, enum proto_err err)
{
	struct report rep = { kind, w.port, id, err };
	int n = proto_format_report(w.reports + w.reportlen,
	    sizeof w.reports - w.reportlen, &rep);

	if (n == -1)
		fatalx("too many reports for d at once");
	w.reportlen += (size_t)n;
}

/* Send the queued reports. d gone or stuck: w has no reason to live. */
static void
reports_flush(void)
{
	/* Less than PIPE_BUF bytes: one write, all or nothing, never mixed. */
	if (w.reportlen > 0 && write_all(w.wfd, w.reports, w.reportlen) == -1)
		fatal("write wdtube%u", w.num);
	w.reportlen = 0;
}

/* ---- connections --------------------------------------------------- */

/*
 * Send what is pending on c; close it once all is sent if asked to. Called
 * at the end of each turn of the loop, and when poll says c is writable.
 * The client sizes what w sends (requetetype2 echoes every line), so a
 * full socket buffer is no fault: the rest waits here, and c is polled
 * for POLLOUT, not read, until it has drained (the kit's rule for output
 * the peer sizes, CONTRIBUTING.md; d's bounded replies: client_send()).
 */
static void
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
static void
conn_send(struct conn *c, const char *line, int len)
{
	if (c->fd == -1 || len == -1 || c->outlen + (size_t)len > sizeof c->out)
		return;
	memcpy(c->out + c->outlen, line, (size_t)len);
	c->outlen += (size_t)len;
}

/* Send "error <word> <text>" to c, then close it. */
static void
conn_error(struct conn *c, enum proto_err err, const char *text)
{
	char line[PROTO_BUF];

	conn_send(c, line, proto_format_error(line, sizeof line, err, text));
	c->close_after = 1;
}

/* The job is over (its report sent): w is idle, its token is spent. */
static void
job_clear(void)
{
	if (w.client != NULL)
		w.client->serving = 0;
	w.client = NULL;
	w.state = JOB_NONE;
	memset(&w.job, 0, sizeof w.job);
}

/* The job failed: tell the client (if it is still there) and d. */
static void
job_fail(enum proto_err err, const char *text)
{
	log_request("failed id=%lu reason=%s", w.job.id, proto_err_word(err));
	if (w.client != NULL && err != PERR_CLIENTGONE)
		conn_error(w.client, err, text);
	else if (w.client != NULL)
		w.client->close_after = 1;
	report(REP_ERR, w.job.id, err);
	job_clear();
}

/* ---- the handover: d's job, then the client's token ------------------ */

/* Read what d sent; take a job line. */
static void
fifo_read(void)
{
	char line[PROTO_LINE_MAX + 1];
	ssize_t n = lr_fill(&w.fifo);
	int got;

	if (n == -1 && errno == EAGAIN)
		return;
	if (n == 0) {
		/* d closed its end: its way to stop us (or it has died). */
		log_event("stop reason=eof served=%lu", w.served);
		w.stopping = 1;
		return;
	}
	if (n == -1)
		fatal("read dwtube%u", w.num);
	while ((got = lr_next(&w.fifo, line, sizeof line)) == 1) {
		struct job job;

		if (proto_parse_job(line, &job) == -1)
			fatalx("bad job from d: \"%.64s\"", line);
		if (w.state != JOB_NONE)
			fatalx("d sent job %lu while job %lu is not over", job.id, w.job.id);
		w.job = job;
		w.state = JOB_WAITING;
		w.job_deadline = log_now() + (double)w.idle_ms / 1000;
		log_request("job id=%lu type=%s", job.id, proto_req_word(job.type));
	}
	if (got == -1)
		fatalx("line from d too long");
}

/*
 * Read dwtube now if d has written something there. (A plain read would
 * take "no writer yet" for "d has gone": both read as end of file.)
 */
static void
fifo_read_pending(void)
{
	struct pollfd p = { w.rfd, POLLIN, 0 };

	if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
		fifo_read();
}

/*
 * A connection that has not shown a token yet sent line. Is it the
 * token of the job d gave? Then c is the job's client: serve it.
 */
static void
check_token(struct conn *c, const char *line, double now)
{
	char text[PROTO_BUF];
	int n;

	/* TODO 4.7: if no job is waiting, read dwtube once more
	 * (fifo_read_pending): d wrote the job before it answered the
	 * client, so it is there. Then accept c only if w.state is
	 * JOB_WAITING and the line is the job's token (proto_token_equal):
	 * c->serving = 1, w.client = c, JOB_RUNNING, log "serving id=%lu
	 * type=%s peer=%s" (the job's id, proto_req_word() of its type,
	 * c->peer), send "ok <id> <request>" (proto_format_accepted),
	 * report REP_DEBUT to d, and set the deadline: processing time for
	 * requetetype1 (w.job_deadline), idle time for requetetype2
	 * (c->deadline). Anything else: log "badtoken peer=%s" and answer
	 * "error badtoken no request of yours is waiting here" (conn_error
	 * sends it and closes). What makes a token "one-time" here? */
	(void)line;
	(void)now;
	(void)text;
	(void)n;
	(void)fifo_read_pending;
	log_request("badtoken peer=%s", c->peer);
	conn_error(c, PERR_BADTOKEN, "not implemented");
}

/* ---- serving ------------------------------------------------------- */

/* requetetype1's processing time is over: the result, then "fin". */
static void
finish_type1(void)
{
	char text[128], line[PROTO_BUF];
	struct conn *c = w.client;
	int n;

	/* TODO 4.8: send the result line (proto_format_result, with a text
	 * such as "requetetype1 done by w1 in 500 ms"), close the client once
	 * it is sent (c->close_after), report REP_FIN to d, log "fin", and
	 * job_clear(). Why does w report to d only after the result line is
	 * on its way, and never before? */
	(void)text;
	(void)line;
	(void)c;
	(void)n;
	job_fail(PERR_SHUTDOWN, "finish_type1 is not written yet (TODO 4.8)");
}

static void client_eof(struct conn *c);

/*
 * requetetype2: echo each complete line. Once the client has shut down
 * its write side and every line is echoed, the request is over.
 */
static void
serve_lines(struct conn *c, double now)
{
	char line[PROTO_LINE_MAX + 2];
	size_t len;
	int got = 0;

	/* Flow control: a new line only if its echo fits in the output
	 * buffer. A client that writes without reading stalls itself, not w. */
	while (c->outlen + sizeof line <= sizeof c->out &&
	    (got = lr_next(&c->lr, line, PROTO_LINE_MAX + 1)) == 1) {
		if (!proto_text_valid(line))
			break;
		c->deadline = now + (double)w.idle_ms / 1000;
		len = strlen(line);
		line[len++] = '\n';
		c->echoed++;
		conn_send(c, line, (int)len);
	}
	/* A NUL (EILSEQ) or a control byte: echoing it would pass on bytes
	 * the protocol does not allow, and a NUL would cut the line short. */
	if ((got == -1 && errno == EILSEQ) || (got == 1 && !proto_text_valid(line)))
		job_fail(PERR_BADBYTE, "a line holds a byte that is not text");
	else if (got == -1)
		job_fail(PERR_TOOLONG, "a line is at most 512 bytes");
	else if (got == 0 && c->eof)
		client_eof(c);
}

/* requetetype2's client has shut down writing and every line is echoed. */
static void
client_eof(struct conn *c)
{
	char line[PROTO_BUF];

	if (lr_pending(&c->lr)) {
		/* An unfinished line: the client left mid-request. */
		job_fail(PERR_CLIENTGONE, NULL);
		return;
	}
	/* The count tells the client that no line was lost. */
	conn_send(c, line, proto_format_end(line, sizeof line, w.job.id, c->echoed));
	c->close_after = 1;
	report(REP_FIN, w.job.id, PERR_NONE);
	log_request("fin id=%lu lines=%lu", w.job.id, c->echoed);
	w.served++;
	job_clear();
}

/* c is readable, writable or hung up. */
static void
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
static void
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
	if (c == NULL)
		fatal("calloc");
	c->fd = fd;
	net_addr_str(&sa, c->peer, sizeof c->peer);
	lr_init(&c->lr, fd);
	c->deadline = now + (double)w.idle_ms / 1000;
	w.conns[w.nconns++] = c;
	/* A client sends its token right after connecting: it is often
	 * there already, and that saves a turn of the loop. */
	conn_event(c, POLLIN, now);
}

/* Deadlines: token expiry, type 1's result, idle connections. */
static void
timers(double now)
{
	size_t i;

	if (w.state == JOB_WAITING && now >= w.job_deadline) {
		/* The client never came: the token is spent, w is free. */
		log_request("token-expired id=%lu", w.job.id);
		report(REP_ERR, w.job.id, PERR_TIMEOUT);
		job_clear();
	}
	if (w.state == JOB_RUNNING && w.job.type == REQ_TYPE1 && now >= w.job_deadline)
		finish_type1();
	for (i = 0; i < w.nconns; i++) {
		struct conn *c = w.conns[i];

		if (c->fd == -1 || c->deadline > now ||
		    (c->serving && w.job.type == REQ_TYPE1))
			continue;
		if (c->outlen > 0) {
			/* It does not even read what it was sent: give up on it
			 * (the sweep tells d if it was being served). */
			close(c->fd);
			c->fd = -1;
			continue;
		}
		log_request("timeout peer=%s", c->peer);
		if (c->serving)
			job_fail(PERR_TIMEOUT, "idle for too long");
		else
			conn_error(c, PERR_TIMEOUT, "idle for too long");
	}
}

/* Drop the closed connections from the table. */
static void
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

/* ---- signals and the main loop ------------------------------------- */

static void
handle_signals(void)
{
	struct sig_event ev;
	int got;

	while ((got = selfpipe_read(&ev)) == 1) {
		if (ev.signo == SIGUSR1) {
			/* The watchdog's heartbeat, answered from the loop. */
			if (server_heartbeat(&w.sv, &ev) == -1)
				warn("kill watchdog");
		} else if (!w.stopping) {
			log_event("stop reason=%s served=%lu", signal_name(ev.signo),
			    w.served);
			w.stopping = 1;
		}
	}
	if (got == -1)
		fatal("read self-pipe");
}

enum { PFD_SIGNAL, PFD_FIFO, PFD_LISTEN, PFD_CONNS };

static int
poll_timeout(double now)
{
	double next = now + 1.0;
	size_t i;

	if (w.state == JOB_WAITING || (w.state == JOB_RUNNING && w.job.type == REQ_TYPE1))
		next = w.job_deadline < next ? w.job_deadline : next;
	if (w.listen_paused_until > now && w.listen_paused_until < next)
		next = w.listen_paused_until;
	for (i = 0; i < w.nconns; i++)
		if (w.conns[i]->deadline < next)
			next = w.conns[i]->deadline;
	return next <= now ? 0 : (int)((next - now) * 1000) + 1;
}

static void
serve(void)
{
	struct pollfd pfd[PFD_CONNS + MAX_CONNS];
	size_t i, n;

	while (!w.stopping) {
		double now = log_now();

		pfd[PFD_SIGNAL] = (struct pollfd){ w.sigfd, POLLIN, 0 };
		pfd[PFD_FIFO] = (struct pollfd){ w.rfd, POLLIN, 0 };
		pfd[PFD_LISTEN] = (struct pollfd){ w.listen_paused_until > now ? -1 :
		    w.listen_fd, POLLIN, 0 };
		for (i = 0; i < w.nconns; i++) {
			struct conn *c = w.conns[i];

			pfd[PFD_CONNS + i].fd = c->fd;
			/* Output pending: wait until it can go (and read
			 * nothing meanwhile). Else read, unless it is done. */
			pfd[PFD_CONNS + i].events = c->outlen > 0 ? POLLOUT :
			    c->eof || c->close_after ? 0 : POLLIN;
			pfd[PFD_CONNS + i].revents = 0;
		}
		n = PFD_CONNS + w.nconns;
		if (poll(pfd, n, poll_timeout(now)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		now = log_now();
		if (pfd[PFD_SIGNAL].revents != 0)
			handle_signals();
		/* d's jobs before the clients' tokens: a token must find its job. */
		if (pfd[PFD_FIFO].revents != 0)
			fifo_read();
		for (i = 0; i < w.nconns; i++)
			if (pfd[PFD_CONNS + i].revents != 0 && w.conns[i]->fd != -1)
				conn_event(w.conns[i], pfd[PFD_CONNS + i].revents, now);
		/* New connections last: accepting may move the table around. */
		if (pfd[PFD_LISTEN].fd != -1 && pfd[PFD_LISTEN].revents != 0)
			accept_conn(now);
		timers(now);
		/* The end of the turn: what was queued goes out. */
		for (i = 0; i < w.nconns; i++)
			if (w.conns[i]->fd != -1 && (w.conns[i]->outlen > 0 || w.conns[i]->close_after))
				conn_flush(w.conns[i]);
		conns_sweep();
		reports_flush();
	}
}

/* Open the FIFOs d made: dwtube to read, then wdtube to write. */
static void
open_fifos(void)
{
	char name[32], path[PATH_MAX];

	/* dwtube first, without waiting for a writer: d opens its end only
	 * once we have said "ready", and that needs wdtube. */
	snprintf(name, sizeof name, DWTUBE_FMT, w.num);
	if (rundir_path(w.run_dir, name, path, sizeof path) == -1)
		fatal("path %s/%s", w.run_dir, name);
	w.rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (w.rfd == -1)
		fatal("open %s", path);
	lr_init(&w.fifo, w.rfd);
	/* d holds wdtube's read end open already: this does not block. */
	snprintf(name, sizeof name, WDTUBE_FMT, w.num);
	if (rundir_path(w.run_dir, name, path, sizeof path) == -1)
		fatal("path %s/%s", w.run_dir, name);
	w.wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (w.wfd == -1)
		fatal("open %s", path);
}

/* Clean stop: tell whoever is connected, report the job, close all. */
static void
shutdown_all(void)
{
	size_t i;

	if (w.state != JOB_NONE) {
		/* d may be stopping too and never read this: best effort. */
		struct report rep = { REP_ERR, 0, w.job.id, PERR_SHUTDOWN };
		char line[64];
		int n = proto_format_report(line, sizeof line, &rep);

		(void)write(w.wfd, line, (size_t)n);
	}
	for (i = 0; i < w.nconns; i++) {
		struct conn *c = w.conns[i];

		if (c->fd != -1 && c->outlen == 0 && !c->close_after) {
			char line[PROTO_BUF];
			int n = proto_format_error(line, sizeof line, PERR_SHUTDOWN,
			    "w is stopping");

			(void)write(c->fd, line, (size_t)n);	/* best effort */
		}
		if (c->fd != -1)
			close(c->fd);
		free(c);
	}
	w.nconns = 0;
	close(w.listen_fd);
	close(w.rfd);
	close(w.wfd);
	selfpipe_close();
}

int
main(int argc, char **argv)
{
	char name[16];
	int port, fd;

	log_init("w");
	fd = parse_options(argc, argv);
	snprintf(name, sizeof name, "w%u", w.num);
	log_init(name);	/* log lines say "w1[pid]": which w, at a glance */
	server_fault_at_start(&w.sv, fd);
	w.sigfd = selfpipe_open();
	if (w.sigfd == -1)
		fatal("self-pipe");
	if (selfpipe_catch(SIGUSR1) == -1 || selfpipe_catch(SIGTERM) == -1 ||
	    selfpipe_catch(SIGINT) == -1 || signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("sigaction");
	if (server_attach(&w.sv, fd, w.num) == -1)
		fatal("registry -H %d", fd);
	close(fd);	/* the mapping is enough: we pass it to nobody */
	/* Port 0: the kernel picks a free port (above 2222: 32768 and up on
	 * Linux), so a restarted w never fights over its old one. */
	w.listen_fd = net_listen(NET_LOOPBACK, 0);
	if (w.listen_fd == -1)
		fatal("listen %s:0", NET_LOOPBACK);
	port = net_local_port(w.listen_fd);
	if (port == -1)
		fatal("getsockname");
	w.port = (unsigned)port;
	open_fifos();
	report(REP_READY, 0, PERR_NONE);
	reports_flush();
	log_event("ready port=%u", w.port);
	if (server_ready(&w.sv) == -1)
		fatal("kill watchdog");
	serve();
	shutdown_all();
	server_detach(&w.sv);
	log_event("stopped served=%lu", w.served);
	return 0;
}
