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
 * The work is split by role: this file holds the options, the start-up,
 * the main loop and the stop; wjob.c what passes between w and d (the
 * job, its token, the reports), wconn.c the TCP connections.
 *
 *     w -n I -H FD [-r DIR] [-t MS] [-I MS] [-Q] [-F FAULT]     (started by d)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "rundir.h"
#include "selfpipe.h"
#include "server.h"
#include "util.h"
#include "w.h"

struct wserver w = { .reg_fd = -1, .sigfd = -1, .listen_fd = -1, .rfd = -1, .wfd = -1 };

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

/*
 * Make RUN_DIR/<fmt with our number> in path (PATH_MAX bytes).
 * Returns 0, or -1 after saying why.
 */
static int
fifo_path(const char *fmt, char *path)
{
	char name[32];

	snprintf(name, sizeof name, fmt, w.num);
	if (rundir_path(w.run_dir, name, path, PATH_MAX) == -1) {
		warn("path %s/%s", w.run_dir, name);
		return -1;
	}
	return 0;
}

/*
 * Open the FIFOs d made: dwtube to read, then wdtube to write.
 * Returns 0, or -1 after saying why.
 */
static int
open_fifos(void)
{
	char dw_path[PATH_MAX], wd_path[PATH_MAX];

	if (fifo_path(DWTUBE_FMT, dw_path) == -1 || fifo_path(WDTUBE_FMT, wd_path) == -1)
		return -1;
	/* dwtube first, without waiting for a writer: d opens its end only
	 * once we have said "ready", and that needs wdtube. */
	w.rfd = open(dw_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (w.rfd == -1) {
		warn("open %s", dw_path);
		return -1;
	}
	lr_init(&w.fifo, w.rfd);
	/* d holds wdtube's read end open already: this does not block. */
	w.wfd = open(wd_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (w.wfd == -1) {
		warn("open %s", wd_path);
		return -1;
	}
	return 0;
}

/*
 * Handle the signals recorded in the self-pipe: SIGUSR1 is the watchdog's
 * heartbeat, answered here; any other stops w.
 */
static void
on_signals(void)
{
	struct sig_event ev;
	int got;

	while ((got = selfpipe_read(&ev)) == 1) {
		if (ev.signo == SIGUSR1) {
			if (server_heartbeat(&w.sv, &ev) == -1)
				warn("kill watchdog");
		} else if (!w.stopping) {
			log_event("stop reason=%s served=%lu", signal_name(ev.signo),
			    w.served);
			w.stopping = 1;
		}
	}
	if (got == -1) {
		warn("read self-pipe");
		w.rc = 1;
		w.stopping = 1;
	}
}

/* The poll slots of the main loop: one per connection from PFD_CONNS. */
enum { PFD_SIGNAL, PFD_FIFO, PFD_LISTEN, PFD_CONNS };

/* How long poll() may sleep: until the next deadline, a second at most. */
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

/*
 * The main loop: signals, d's jobs, the connections, the listener, the
 * deadlines; then what the turn queued goes out.
 */
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
			warn("poll");
			w.rc = 1;
			return;
		}
		now = log_now();
		if (pfd[PFD_SIGNAL].revents != 0)
			on_signals();
		/* d's jobs before the clients' tokens: a token must find its job. */
		if (pfd[PFD_FIFO].revents != 0)
			on_messages();
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
		if (reports_flush() == -1) {
			/* d has gone or is stuck: w has no reason to live (d,
			 * if alive, restarts it). main cleans up. */
			warn("write wdtube%u", w.num);
			w.rc = 1;
			return;
		}
	}
}

/*
 * Start-up: catch the signals, take our slot in the registry, listen on a
 * port of our own, open the FIFOs. Returns 0, or -1 after saying why
 * (main releases what was set).
 */
static int
setup(void)
{
	int port;

	w.sigfd = selfpipe_open();
	if (w.sigfd == -1) {
		warn("self-pipe");
		return -1;
	}
	if (selfpipe_catch(SIGUSR1) == -1 || selfpipe_catch(SIGTERM) == -1 ||
	    selfpipe_catch(SIGINT) == -1 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		warn("sigaction");
		return -1;
	}
	if (server_attach(&w.sv, w.reg_fd, w.num) == -1) {
		warn("registry -H %d", w.reg_fd);
		return -1;
	}
	close(w.reg_fd);	/* the mapping is enough: we pass it to nobody */
	w.reg_fd = -1;
	/* Port 0: the kernel picks a free port (above 2222: 32768 and up on
	 * Linux), so a restarted w never fights over its old one. */
	w.listen_fd = net_listen(NET_LOOPBACK, 0);
	if (w.listen_fd == -1) {
		warn("listen %s:0", NET_LOOPBACK);
		return -1;
	}
	port = net_local_port(w.listen_fd);
	if (port == -1) {
		warn("getsockname");
		return -1;
	}
	w.port = (unsigned)port;
	return open_fifos();
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
	/* Start-up may have stopped half-way: close what was opened. */
	if (w.reg_fd != -1)
		close(w.reg_fd);
	if (w.listen_fd != -1)
		close(w.listen_fd);
	if (w.rfd != -1)
		close(w.rfd);
	if (w.wfd != -1)
		close(w.wfd);
	selfpipe_close();
}

int
main(int argc, char **argv)
{
	char name[16];

	log_init("w");
	w.reg_fd = parse_options(argc, argv);
	snprintf(name, sizeof name, "w%u", w.num);
	log_init(name);	/* log lines say "w1[pid]": which w, at a glance */
	server_fault_at_start(&w.sv, w.reg_fd);

	w.rc = 1;
	if (setup() == -1)
		goto done;
	report(REP_READY, 0, PERR_NONE);
	if (reports_flush() == -1) {
		warn("write wdtube%u", w.num);
		goto done;
	}
	log_event("ready port=%u", w.port);
	if (server_ready(&w.sv) == -1) {
		warn("kill watchdog");
		goto done;
	}
	w.rc = 0;
	serve();

done:
	/* Every exit after start-up comes here: nothing is left open. */
	shutdown_all();
	server_detach(&w.sv);
	if (w.rc == 0)
		log_event("stopped served=%lu", w.served);
	return w.rc;
}
