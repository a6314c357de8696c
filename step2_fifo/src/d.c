/*
 * d.c - step 2's main server: ping/pong with w.
 *
 * d creates the shared memory segment (as in step 1) and the two named
 * pipes dwtube1 and wdtube1 in the run directory, starts w (fork + exec)
 * and opens its ends of the pipes. Then ping/pong, N times: d writes
 * request n into the segment and sends "ping"; w reads it, writes its
 * answer, sends "pong"; d reads the answer. The pipes carry the turn, the
 * segment carries the data. After N exchanges, or on SIGTERM or SIGINT,
 * d closes dwtube1: w reads end of file and exits; d reaps it, removes
 * the pipes and the segment, and exits.
 *
 *     d [-n N] [-t MS] [-q] [-r DIR] [-m NAME] [-x PROG]
 *
 * This file: the options, the main loop and the exchanges. d's side of w
 * (start, open, stop, reap) is in child.c; what the run holds on the
 * system (run directory, segment, FIFOs), in run.c. The step's demos are
 * programs of their own: race.c (step 1's race, in turns) and zombie.c.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "d.h"
#include "log.h"
#include "opt.h"
#include "rundir.h"
#include "selfpipe.h"
#include "shm_area.h"
#include "util.h"

/* The poll slots of the main loop. */
enum { PFD_SIGNAL, PFD_WD, PFD_MAX };

static noreturn void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: d [-n N] [-t MS] [-q] [-r DIR] [-m NAME] [-x PROG]\n"
	    "  -n N     ping/pong exchanges (default 5)\n"
	    "  -t MS    w's processing time per request in ms (default 0)\n"
	    "  -q       quiet: no log lines, only the figures (benchmark)\n"
	    "  -r DIR   run directory for " DW_FIFO " and " WD_FIFO
	    " (default $XDG_RUNTIME_DIR/osps, else /tmp/osps-<uid>)\n"
	    "  -m NAME  shared memory segment name (default /osps-<uid>)\n"
	    "  -x PROG  the program to start as w (default: w next to d)\n"
	    "  -h       show this help\n");
	exit(code);
}

static struct options opt;

/* The numeric options: -X N, N in [min, max] (opt_parse()). */
static const struct opt_num numbers[] = {
	{ 'n', 1, 1000000000, &opt.count, NULL },
	{ 't', 0, 60000, &opt.delay_ms, NULL },
};

/* Take the options that are not numbers. Returns 0, or -1 after saying why. */
static int
other_option(int c, const char *arg)
{
	switch (c) {
	case 'q':
		opt.quiet = 1;
		return 0;
	case 'r':
		if (snprintf(opt.run_dir, sizeof opt.run_dir, "%s", arg) <
		    (int)sizeof opt.run_dir)
			return 0;
		warnx("-r %s: path too long", arg);
		return -1;
	case 'm':
		if (!shm_name_valid(arg)) {
			warnx("-m %s: a segment name is \"/\" then 1 to 250 "
			    "characters other than \"/\"", arg);
			return -1;
		}
		snprintf(opt.shm_name, sizeof opt.shm_name, "%s", arg);
		return 0;
	default:	/* 'x' */
		snprintf(opt.w_path, sizeof opt.w_path, "%s", arg);
		return 0;
	}
}

/* Fill opt from the defaults, then the command line; exits on a bad one. */
static void
parse_options(int argc, char **argv)
{
	if (rundir_default(opt.run_dir, sizeof opt.run_dir) == -1)
		fatal("default run directory");
	snprintf(opt.shm_name, sizeof opt.shm_name, SHM_NAME_FMT, (unsigned)getuid());
	opt.count = 5;
	if (sibling_path(argv[0], "w", opt.w_path, sizeof opt.w_path) == -1)
		fatal("program path %s", argv[0]);
	opt_parse(argc, argv, "n:t:qr:m:x:h", numbers, OPT_N(numbers),
	    other_option, usage);
}

/* Handle the signals recorded in the self-pipe. */
static void
on_signals(struct run *r)
{
	struct sig_event ev;
	int got;

	while ((got = selfpipe_read(&ev)) == 1) {
		if (ev.signo == SIGCHLD) {
			reap_children(r);
		} else {
			/* SIGTERM, SIGINT: a clean stop. */
			log_event("signal name=%s from=%ld", signal_name(ev.signo), (long)ev.pid);
			stop_w(r, signal_name(ev.signo));
		}
	}
	if (got == -1)
		warn("read self-pipe");
}

/*
 * Start exchange number sent + 1: write the request into the segment,
 * then send ping. Until pong, the segment is w's: d must not touch it.
 * Returns 0, or -1 with errno (EPIPE: w has closed dwtube1).
 */
static int
send_ping(struct run *r)
{
	unsigned long n = r->sent + 1;

	/* TODO 2.4 (d's side): write "request N from d[PID]" into
	 * r->shm->request and log it ("send msg=ping n=N request=\"...\"";
	 * -q silences log_event). Then note the time in r->ping_at
	 * (log_now()), send ping with proto_send() and count it in r->sent.
	 * Why write the request before ping, not after? */
	errno = ENOSYS;
	return -1;
}

/*
 * The pong for exchange number done + 1 came: the segment is d's again.
 * Read w's answer and check it is the answer to this request.
 */
static void
on_pong(struct run *r)
{
	double now = log_now();
	char expected[MSG_MAX];

	r->done++;
	rtt_add(&r->rtt, now - r->ping_at);
	r->rtt.end = now;
	/* TODO 2.4 (d's side): build the answer w must have written,
	 * "w[W_PID] done: REQUEST" (%.64s of the request; W_PID from
	 * r->w_name: w may be reaped already), and compare it
	 * with r->shm->answer. Wrong: warnx("answer %lu is \"%s\", expected
	 * \"%s\"", ...), set r->rc to 1 and stop_w(r, "wrong-answer").
	 * Right: log "recv msg=pong n=N answer=\"...\" rtt_us=US". */
}

/* Handle every message buffered or waiting on wdtube1. */
static void
on_messages(struct run *r)
{
	enum proto_msg m;
	int got;

	/* Take messages until none is left in the reader's buffer (two can
	 * arrive in one read); a partial line waits for the next poll(). */
	do {
		got = proto_recv(&r->lr, &m);
		if (got == 1 && m == PROTO_PONG && r->sent > r->done) {
			on_pong(r);
		} else if (got == 1) {
			warnx("%s: unexpected \"%s\" from w", r->wd_path, proto_word(m));
			r->rc = 1;
			stop_w(r, "protocol-error");
		}
	} while (got == 1 && lr_pending(&r->lr));
	if (got == 1 || (got == -1 && errno == EAGAIN))
		return;
	if (got == -1) {
		warn("message on %s", r->wd_path);
		r->rc = 1;
		stop_w(r, "protocol-error");
	}
	/* End of file (w closed wdtube1: it is exiting) or a bad message:
	 * nothing more to read from this pipe. */
	close(r->wd_fd);
	r->wd_fd = -1;
	w_left(r);
}

/* Act on the deadline: a w too slow to stop is killed. */
static void
on_deadlines(struct run *r)
{
	if (r->stopping && r->w_pid > 0 && log_now() >= r->stop_by) {
		warnx("w[%ld] did not stop within %d ms: sending SIGKILL",
		    (long)r->w_pid, STOP_GRACE_MS);
		r->rc = 1;
		kill_w(r);
	}
}

/* Milliseconds until the deadline, or -1 if there is none. */
static int
next_timeout(const struct run *r)
{
	double left;

	if (!r->stopping || r->w_pid <= 0)
		return -1;
	left = (r->stop_by - log_now()) * 1000;
	return left <= 0 ? 0 : (int)left + 1;
}

/*
 * Wait up to timeout_ms (-1: no limit) for something to happen, then
 * handle it: signals first, then w's messages, then the deadline (d.h).
 */
void
wait_events(struct run *r, int timeout_ms)
{
	struct pollfd pfd[PFD_MAX];

	pfd[PFD_SIGNAL].fd = r->sig_fd;
	pfd[PFD_SIGNAL].events = POLLIN;
	pfd[PFD_WD].fd = r->wd_fd;	/* -1 (poll skips it) while closed */
	pfd[PFD_WD].events = POLLIN;
	if (poll(pfd, PFD_MAX, timeout_ms) == -1) {
		if (errno == EINTR)
			return;
		/* NOTE: cannot happen with valid arguments; end the run. */
		warn("poll");
		r->rc = 1;
		kill_w(r);
		return;
	}
	if (pfd[PFD_SIGNAL].revents != 0)
		on_signals(r);
	if (r->wd_fd != -1 && pfd[PFD_WD].revents != 0)
		on_messages(r);
	on_deadlines(r);
}

/*
 * The exchanges: ping/pong until count are done or d is told to stop,
 * then wait until w is reaped.
 */
static void
run_exchanges(struct run *r)
{
	r->rtt.start = log_now();
	while (r->w_pid > 0) {
		if (!r->stopping && r->done == r->sent) {
			if (r->done == r->o->count) {
				stop_w(r, "done");
			} else if (send_ping(r) == -1) {
				/* EPIPE: w has closed its end, it is exiting. */
				if (errno == EPIPE) {
					w_left(r);
				} else {
					warn("write %s", r->dw_path);
					r->rc = 1;
					stop_w(r, "error");
				}
			}
		}
		wait_events(r, next_timeout(r));
	}
}

/* Say how the run ended: w's fate, then the figures on stdout. */
static void
report(struct run *r)
{
	char how[64];
	int ok = WIFEXITED(r->w_status) && WEXITSTATUS(r->w_status) == 0;

	status_str(r->w_status, how, sizeof how);
	if (r->early) {
		warnx("w ended after %lu of %lu exchanges: %s", r->done,
		    r->o->count, how);
		r->rc = 1;
	} else if (!ok && !r->killed) {
		warnx("w %s", how);
		r->rc = 1;
	}
	if (r->done > 0)
		rtt_print(stdout, &r->rtt);
}

int
main(int argc, char **argv)
{
	struct run r;

	log_init("d");
	parse_options(argc, argv);
	log_set_quiet(opt.quiet);
	memset(&r, 0, sizeof r);
	r.o = &opt;
	r.sig_fd = r.dw_fd = r.wd_fd = r.lock_fd = -1;

	if (setup(&r) == -1) {
		r.rc = 1;
	} else {
		/* If open_fifos() fails, it tells w to stop: run_exchanges()
		 * then only waits until w is reaped. */
		(void)open_fifos(&r);
		run_exchanges(&r);
		report(&r);
	}
	cleanup(&r);
	return r.rc;
}
