/*
 * w.c - step 2's secondary server.
 *
 * d starts w with the run directory and the segment's name. w maps the
 * segment, opens the two named pipes in the same order as d, and serves:
 * for each "ping" on dwtube1 it reads the request from the segment,
 * simulates its processing, writes its answer there, and sends "pong" on
 * wdtube1. End of file on dwtube1 is d's order to stop (d closed its end,
 * or d died): w then exits 0. SIGTERM and SIGINT stop it the same way.
 *
 *     w -r DIR -m NAME [-t MS] [-q]       (normally started by d)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"
#include "rundir.h"
#include "selfpipe.h"
#include "shm_area.h"
#include "util.h"

/* What the command line asked for. */
struct options {
	const char *run_dir;	/* where d made the FIFOs */
	const char *shm_name;	/* the segment d created */
	unsigned long delay_ms;	/* processing time per request */
	int quiet;		/* -q: no log lines */
};

/* The poll slots of the main loop. */
enum { PFD_SIGNAL, PFD_DW, PFD_MAX };

/* Everything w holds; main() releases what is set. */
struct server {
	const struct options *o;
	struct shm_layout *shm;		/* NULL until mapped */
	char dw_path[PATH_MAX];		/* RUN_DIR/dwtube1: d's messages */
	char wd_path[PATH_MAX];		/* RUN_DIR/wdtube1: w's answers */
	int dw_fd, wd_fd, sig_fd;	/* -1 when closed */
	struct line_reader lr;		/* d's messages, from dwtube1 */
	unsigned long served;		/* pings answered */
	int quit;			/* leave the main loop */
	int rc;				/* exit status */
};

static noreturn void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: w -r DIR -m NAME [-t MS] [-q]\n"
	    "  -r DIR   the run directory holding " DW_FIFO " and " WD_FIFO " (required)\n"
	    "  -m NAME  the shared memory segment d created (required)\n"
	    "  -t MS    processing time per request in ms (default 0)\n"
	    "  -q       quiet: no log lines\n"
	    "  -h       show this help\n");
	exit(code);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	int c;

	o->run_dir = NULL;
	o->shm_name = NULL;
	o->delay_ms = 0;
	o->quiet = 0;
	while ((c = getopt(argc, argv, "r:m:t:qh")) != -1) {
		switch (c) {
		case 'r':
			o->run_dir = optarg;
			break;
		case 'm':
			o->shm_name = optarg;
			break;
		case 't':
			if (parse_ulong(optarg, 0, 60000, &o->delay_ms) == -1) {
				warnx("-t %s: expected milliseconds, 0 to 60000", optarg);
				usage(2);
			}
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (o->run_dir == NULL || o->shm_name == NULL) {
		warnx("-r DIR and -m NAME are required");
		usage(2);
	}
	if (optind != argc) {
		warnx("unexpected argument \"%s\"", argv[optind]);
		usage(2);
	}
}

/* Add O_NONBLOCK to fd's flags. Returns 0 or -1 with errno. */
static int
set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags == -1)
		return -1;
	return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/*
 * Open w's ends of the FIFOs: dwtube1 for reading, then wdtube1 for
 * writing. Returns 0, or -1 after saying why.
 */
static int
open_fifos(struct server *s)
{
	/* TODO 2.2 (w's side): open dwtube1 for reading, then wdtube1 for
	 * writing, both blocking and close-on-exec. If either fails, leave
	 * s->wd_fd at -1, errno set: the code after your block says which.
	 * Each open waits until d has opened the other end of that FIFO.
	 * d opens them in the same order: what would happen if w opened
	 * wdtube1 first? */
	errno = ENOSYS;
	if (s->wd_fd == -1) {
		warn("open %s", s->dw_fd == -1 ? s->dw_path : s->wd_path);
		return -1;
	}

	/* The main loop reads whatever poll() announced, then goes back to
	 * poll(): a read must never block it, or w would stop seeing its
	 * signals while it waits for the end of a line. */
	if (set_nonblocking(s->dw_fd) == -1) {
		warn("fcntl %s", s->dw_path);
		return -1;
	}
	lr_init(&s->lr, s->dw_fd);
	return 0;
}

/*
 * Serve one request. The segment is w's from d's "ping" until w's
 * "pong": no other process touches it meanwhile.
 * Returns 0, or -1 after saying why.
 */
static int
answer_ping(struct server *s)
{
	struct shm_layout *shm = s->shm;

	/* TODO 2.4 (w's side): log the request (event "recv msg=ping
	 * request=..."), sleep delay_ms (skip the call when it is 0), write
	 * the answer "w[PID] done: REQUEST" (%.64s of the request) into the
	 * segment, log it ("send msg=pong answer=..."). Then send pong and
	 * count the request in s->served. Why must the answer be written
	 * before pong, never after? */
	errno = ENOSYS;
	warn("answer ping");
	return -1;
}

/* Handle every message buffered or waiting on dwtube1. */
static void
on_messages(struct server *s)
{
	enum proto_msg m;
	int got;

	/* Take messages until none is left in the reader's buffer (two can
	 * arrive in one read); a partial line waits for the next poll(). */
	do {
		got = proto_recv(&s->lr, &m);
		if (got == 1 && m != PROTO_PING) {
			warnx("%s: unexpected \"%s\" from d", s->dw_path, proto_word(m));
			s->rc = 1;
			s->quit = 1;
			return;
		}
		if (got == 1 && answer_ping(s) == -1) {
			s->rc = 1;
			s->quit = 1;
			return;
		}
	} while (got == 1 && lr_pending(&s->lr));
	if (got == 0) {
		/* d closed dwtube1 (2.a): its order to stop. A d that died
		 * closes it too, so w never outlives its d for long. */
		log_event("stop reason=eof served=%lu", s->served);
		s->quit = 1;
	} else if (got == -1 && errno != EAGAIN) {
		warn("message on %s", s->dw_path);
		s->rc = 1;
		s->quit = 1;
	}
}

/* Handle the signals recorded in the self-pipe: each one stops w. */
static void
on_signals(struct server *s)
{
	struct sig_event ev;
	int got;

	while ((got = selfpipe_read(&ev)) == 1) {
		log_event("stop reason=%s served=%lu", signal_name(ev.signo), s->served);
		s->quit = 1;
	}
	if (got == -1) {
		warn("read self-pipe");
		s->rc = 1;
		s->quit = 1;
	}
}

/* The main loop: signals first, then d's messages, until told to stop. */
static void
serve(struct server *s)
{
	struct pollfd pfd[PFD_MAX];

	while (!s->quit) {
		pfd[PFD_SIGNAL].fd = s->sig_fd;
		pfd[PFD_SIGNAL].events = POLLIN;
		pfd[PFD_DW].fd = s->dw_fd;
		pfd[PFD_DW].events = POLLIN;
		if (poll(pfd, PFD_MAX, -1) == -1) {
			if (errno == EINTR)
				continue;
			warn("poll");
			s->rc = 1;
			return;
		}
		if (pfd[PFD_SIGNAL].revents != 0)
			on_signals(s);
		/* POLLHUP without POLLIN: d closed its end, read() says EOF. */
		if (!s->quit && pfd[PFD_DW].revents != 0)
			on_messages(s);
	}
}

int
main(int argc, char **argv)
{
	struct options o;
	struct server s = { .o = &o, .dw_fd = -1, .wd_fd = -1, .sig_fd = -1 };

	log_init("w");
	parse_options(argc, argv, &o);
	log_set_quiet(o.quiet);
	/* d may die while w writes to it: get EPIPE, not a silent death. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal SIGPIPE");
	if (rundir_path(o.run_dir, DW_FIFO, s.dw_path, sizeof s.dw_path) == -1 ||
	    rundir_path(o.run_dir, WD_FIFO, s.wd_path, sizeof s.wd_path) == -1)
		fatal("run directory %s", o.run_dir);
	s.shm = shm_area_open(o.shm_name, sizeof *s.shm);
	if (s.shm == NULL && errno == EPROTO)
		fatalx("shm_open %s: not a step-2 segment (wrong size)", o.shm_name);
	if (s.shm == NULL)
		fatal("shm_open %s", o.shm_name);

	s.rc = 1;
	if (open_fifos(&s) == -1)
		goto done;
	/* Signals are caught only now: until both FIFOs are open, w holds
	 * nothing worth a clean stop, and SIGTERM may simply kill it. */
	s.sig_fd = selfpipe_open();
	if (s.sig_fd == -1) {
		warn("pipe");
		goto done;
	}
	if (selfpipe_catch(SIGTERM) == -1 || selfpipe_catch(SIGINT) == -1) {
		warn("sigaction");
		goto done;
	}
	log_event("ready dw=%s wd=%s name=%s", s.dw_path, s.wd_path, o.shm_name);
	s.rc = 0;
	serve(&s);

done:
	if (s.dw_fd != -1)
		close(s.dw_fd);
	if (s.wd_fd != -1)
		close(s.wd_fd);
	selfpipe_close();
	if (shm_area_close(s.shm, sizeof *s.shm) == -1)
		fatal("munmap %s", o.shm_name);
	return s.rc;
}
