/*
 * w.c - step 3's secondary server, started by d.
 *
 * w serves d over its FIFO pair (step 2): on "ping" it reads the request
 * from its pair in the shared segment, writes its answer there, and
 * sends "pong". When d closes its end (its way to stop w, as in step 2)
 * or dies, w reads end of file and exits 0; on SIGTERM too. For the
 * watchdog, it answers SIGUSR1 from its main loop (server.c).
 *
 *     w -n I -H FD [-m NAME] [-r DIR] [-F FAULT]     (started by d)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "proto.h"
#include "rundir.h"
#include "selfpipe.h"
#include "server.h"
#include "shm_area.h"
#include "util.h"

/* What the command line asked for. */
struct options {
	unsigned long idx;		/* -n: w<idx>: its FIFOs, its pair, its slot */
	unsigned long reg_fd;		/* -H: the registry, inherited from d */
	char shm_name[256];		/* -m: d's segment */
	char run_dir[PATH_MAX];		/* -r: where d made the FIFOs */
	struct fault fault;		/* -F: the fault to inject, if any */
};

/* The poll slots of the main loop. */
enum { PFD_SIGNAL, PFD_DW, PFD_MAX };

/* Everything w holds; main() releases what is set. */
struct wserver {
	const struct options *o;
	struct server sv;		/* our registry slot, for the watchdog */
	struct shm_layout *shm;		/* NULL until mapped */
	char dw_path[PATH_MAX];		/* RUN_DIR/dwtube<i>: d's messages */
	char wd_path[PATH_MAX];		/* RUN_DIR/wdtube<i>: w's answers */
	int reg_fd, dw_fd, wd_fd, sig_fd;	/* -1 when closed */
	struct line_reader lr;		/* d's messages, from dwtube<i> */
	unsigned long served;		/* pings answered */
	int quit;			/* leave the main loop */
	int rc;				/* exit status */
};

static noreturn void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: w -n I -H FD [-m NAME] [-r DIR] [-F FAULT]\n"
	    "  -n I     this server's number, 1..%d (its FIFOs and its slot)\n"
	    "  -H FD    the registry descriptor (w is started by d)\n"
	    "  -m NAME  d's shared memory segment (default /osps-<uid>)\n"
	    "  -r DIR   run directory of the FIFOs (default $XDG_RUNTIME_DIR/osps)\n"
	    "  -F FAULT inject a fault: exit, or hang:K\n"
	    "  -h       show this help\n", W_MAX);
	exit(code);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	int c;

	o->idx = 0;
	o->reg_fd = 0;
	o->fault.kind = FAULT_NONE;
	snprintf(o->shm_name, sizeof o->shm_name, SHM_NAME_FMT, (unsigned)getuid());
	if (rundir_default(o->run_dir, sizeof o->run_dir) == -1)
		fatal("run directory");
	while ((c = getopt(argc, argv, "n:H:m:r:F:h")) != -1) {
		switch (c) {
		case 'n':
			if (parse_ulong(optarg, 1, W_MAX, &o->idx) == -1) {
				warnx("-n %s: expected 1 to %d", optarg, W_MAX);
				usage(2);
			}
			break;
		case 'H':
			if (parse_ulong(optarg, 3, 1023, &o->reg_fd) == -1) {
				warnx("-H %s: expected a descriptor number", optarg);
				usage(2);
			}
			break;
		case 'm':
			snprintf(o->shm_name, sizeof o->shm_name, "%s", optarg);
			break;
		case 'r':
			snprintf(o->run_dir, sizeof o->run_dir, "%s", optarg);
			break;
		case 'F':
			if (fault_parse(optarg, &o->fault) == -1) {
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
	if (o->idx == 0 || o->reg_fd == 0 || optind != argc) {
		warnx(optind != argc ? "unexpected argument" :
		    "-n I and -H FD are required: w is started by d");
		usage(2);
	}
}

/*
 * Make RUN_DIR/<fmt with our number> in path (PATH_MAX bytes).
 * Returns 0, or -1 after saying why.
 */
static int
fifo_path(const struct options *o, const char *fmt, char *path)
{
	char name[32];

	snprintf(name, sizeof name, fmt, (unsigned)o->idx);
	if (rundir_path(o->run_dir, name, path, PATH_MAX) == -1) {
		warn("%s/%s", o->run_dir, name);
		return -1;
	}
	return 0;
}

/*
 * Open w's ends of the FIFOs: dwtube<i> for reading, then wdtube<i> for
 * writing. Returns 0, or -1 after saying why.
 */
static int
open_fifos(struct wserver *s)
{
	if (fifo_path(s->o, DWTUBE_FMT, s->dw_path) == -1 ||
	    fifo_path(s->o, WDTUBE_FMT, s->wd_path) == -1)
		return -1;
	/* Our read end non-blocking, so that it opens without waiting for
	 * d's write end; then our write end, which opens at once because d
	 * already holds its read end. Neither side ever blocks in open(). */
	s->dw_fd = open(s->dw_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (s->dw_fd == -1) {
		warn("open %s", s->dw_path);
		return -1;
	}
	s->wd_fd = open(s->wd_path, O_WRONLY | O_CLOEXEC);
	if (s->wd_fd == -1) {
		warn("open %s", s->wd_path);
		return -1;
	}
	lr_init(&s->lr, s->dw_fd);
	return 0;
}

/*
 * Answer d's request in our pair of the segment. The pair is w's from
 * d's "ping" until w's "pong". Returns 0, or -1 with errno if pong could
 * not be sent (d has gone).
 */
static int
answer_ping(struct wserver *s)
{
	unsigned long i = s->o->idx - 1;	/* pair[i] is ours */
	char req[MSG_MAX];

	/* A private copy: the segment is shared, read it once. */
	memcpy(req, s->shm->pair[i].request, sizeof req);
	req[sizeof req - 1] = '\0';
	snprintf(s->shm->pair[i].answer, MSG_MAX, "w%lu[%ld] done: %.64s",
	    s->o->idx, (long)getpid(), req);
	/* The answer before pong: after it, the pair is d's again. */
	if (proto_send(s->wd_fd, PROTO_PONG) == -1)
		return -1;
	s->served++;
	return 0;
}

/* Handle every message waiting on dwtube<i>. */
static void
on_messages(struct wserver *s)
{
	enum proto_msg m;
	int got;

	while ((got = proto_recv(&s->lr, &m)) == 1) {
		if (m != PROTO_PING) {
			log_event("unexpected msg=%s", proto_word(m));
		} else if (answer_ping(s) == -1) {
			warn("write wdtube%lu", s->o->idx);
			s->rc = 1;
			s->quit = 1;
			return;
		}
	}
	if (got == 0) {
		/* d closed its end: its order to stop (or d has gone). */
		log_event("stop reason=eof served=%lu", s->served);
		s->quit = 1;
	} else if (errno != EAGAIN) {	/* EAGAIN: the rest of a line comes later */
		warn("read dwtube%lu", s->o->idx);
		s->rc = 1;
		s->quit = 1;
	}
}

/*
 * Handle the signals recorded in the self-pipe: SIGUSR1 is the watchdog's
 * heartbeat, answered here; any other stops w.
 */
static void
on_signals(struct wserver *s)
{
	struct sig_event ev;
	int got;

	while ((got = selfpipe_read(&ev)) == 1) {
		if (ev.signo == SIGUSR1) {
			if (server_heartbeat(&s->sv, &ev) == -1)
				warn("kill watchdog");
		} else {
			log_event("stop reason=%s served=%lu", signal_name(ev.signo), s->served);
			s->quit = 1;
		}
	}
	if (got == -1) {
		warn("read self-pipe");
		s->rc = 1;
		s->quit = 1;
	}
}

/* The main loop: signals first, then d's messages, until told to stop. */
static void
serve(struct wserver *s)
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
		if (pfd[PFD_SIGNAL].revents & POLLIN)
			on_signals(s);
		/* POLLHUP without POLLIN: d closed its end, read() says EOF. */
		if (!s->quit && (pfd[PFD_DW].revents & (POLLIN | POLLHUP)))
			on_messages(s);
	}
}

/*
 * Start-up: catch the signals, take our slot in the registry, map the
 * segment, open the FIFOs. Returns 0, or -1 after saying why (main
 * releases what was set).
 */
static int
setup(struct wserver *s)
{
	s->sig_fd = selfpipe_open();
	if (s->sig_fd == -1) {
		warn("pipe");
		return -1;
	}
	/* Before our slot is ours: SIGUSR1's default action would kill us.
	 * d may die while w writes to it: get EPIPE, not a silent death. */
	if (selfpipe_catch(SIGUSR1) == -1 || selfpipe_catch(SIGTERM) == -1 ||
	    selfpipe_catch(SIGINT) == -1 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		warn("sigaction");
		return -1;
	}
	if (server_attach(&s->sv, s->reg_fd, (unsigned)s->o->idx) == -1) {
		warn("registry -H %d", s->reg_fd);
		return -1;
	}
	close(s->reg_fd);	/* the mapping is enough: we pass it to nobody */
	s->reg_fd = -1;
	s->shm = shm_area_open(s->o->shm_name, sizeof *s->shm);
	if (s->shm == NULL) {
		warn("shm_open %s", s->o->shm_name);
		return -1;
	}
	return open_fifos(s);
}

int
main(int argc, char **argv)
{
	struct options o;
	struct wserver s = { .o = &o, .reg_fd = -1, .dw_fd = -1, .wd_fd = -1, .sig_fd = -1 };

	log_init("w");
	parse_options(argc, argv, &o);
	s.sv.fault = o.fault;
	s.reg_fd = (int)o.reg_fd;
	server_fault_at_start(&s.sv, s.reg_fd);

	s.rc = 1;
	if (setup(&s) == -1)
		goto done;
	log_event("ready name=w%lu", o.idx);
	if (server_ready(&s.sv) == -1) {
		warn("kill watchdog");
		goto done;
	}
	s.rc = 0;
	serve(&s);

done:
	/* Every exit after start-up comes here: nothing is left open. */
	if (s.reg_fd != -1)
		close(s.reg_fd);
	if (s.dw_fd != -1)
		close(s.dw_fd);
	if (s.wd_fd != -1)
		close(s.wd_fd);
	if (s.shm != NULL)
		shm_area_close(s.shm, sizeof *s.shm);
	server_detach(&s.sv);
	selfpipe_close();
	return s.rc;
}
