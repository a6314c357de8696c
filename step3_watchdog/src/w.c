/*
 * w.c - step 3's secondary server, started by d.
 *
 * w serves d over its FIFO pair (step 2): on "ping" it reads the request
 * from its pair in the shared segment, writes its answer there, and
 * sends "pong". When d closes its end (its way to stop w, as in step 2) or
 * dies, w reads end of file and exits 0; on SIGTERM too. For the watchdog, it answers SIGUSR1 from its
 * main loop (server.c).
 *
 *     w -n I -H FD [-m NAME] [-r DIR] [-F FAULT]     (started by d)
 */
#include <errno.h>
#include <fcntl.h>
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

enum { PFD_SIGNAL, PFD_FROM_D, PFD_MAX };

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

/* Open path with flags, or exit naming it. */
static int
open_fifo(const char *dir, const char *fmt, unsigned long idx, int flags)
{
	char name[32], path[4200];
	int fd;

	snprintf(name, sizeof name, fmt, (unsigned)idx);
	if (rundir_path(dir, name, path, sizeof path) == -1)
		fatal("%s/%s", dir, name);
	fd = open(path, flags | O_CLOEXEC);
	if (fd == -1)
		fatal("open %s", path);
	return fd;
}

/* Answer d's request number in our pair of the segment. */
static void
serve(struct shm_layout *shm, unsigned long idx, int to_d)
{
	char req[MSG_MAX];

	/* A private copy: the segment is shared, read it once. */
	memcpy(req, shm->pair[idx - 1].request, sizeof req);
	req[sizeof req - 1] = '\0';
	snprintf(shm->pair[idx - 1].answer, MSG_MAX, "w%lu[%ld] done: %.64s",
	    idx, (long)getpid(), req);
	/* The answer before pong: after it, the pair is d's again. */
	if (proto_send(to_d, PROTO_PONG) == -1)
		fatal("write wdtube%lu", idx);
}

int
main(int argc, char **argv)
{
	struct pollfd pfd[PFD_MAX];
	struct line_reader lr;
	struct shm_layout *shm;
	struct server sv = { 0 };
	struct sig_event ev;
	char shm_name[256], run_dir[4096];
	unsigned long idx = 0, fd = 0, served = 0;
	int c, r, from_d, to_d, sigfd, quit = 0;
	enum proto_msg m;

	log_init("w");
	snprintf(shm_name, sizeof shm_name, SHM_NAME_FMT, (unsigned)getuid());
	if (rundir_default(run_dir, sizeof run_dir) == -1)
		fatal("run directory");
	while ((c = getopt(argc, argv, "n:H:m:r:F:h")) != -1) {
		switch (c) {
		case 'n':
			if (parse_ulong(optarg, 1, W_MAX, &idx) == -1) {
				warnx("-n %s: expected 1 to %d", optarg, W_MAX);
				usage(2);
			}
			break;
		case 'H':
			if (parse_ulong(optarg, 3, 1023, &fd) == -1) {
				warnx("-H %s: expected a descriptor number", optarg);
				usage(2);
			}
			break;
		case 'm':
			snprintf(shm_name, sizeof shm_name, "%s", optarg);
			break;
		case 'r':
			snprintf(run_dir, sizeof run_dir, "%s", optarg);
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
	if (idx == 0 || fd == 0 || optind != argc) {
		warnx(optind != argc ? "unexpected argument" :
		    "-n I and -H FD are required: w is started by d");
		usage(2);
	}

	server_fault_at_start(&sv, (int)fd);
	sigfd = selfpipe_open();
	if (sigfd == -1)
		fatal("pipe");
	if (selfpipe_catch(SIGUSR1) == -1 || selfpipe_catch(SIGTERM) == -1 ||
	    selfpipe_catch(SIGINT) == -1 || signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("sigaction");
	if (server_attach(&sv, (int)fd, (unsigned)idx) == -1)
		fatal("registry -H %lu", fd);
	close((int)fd);	/* the mapping is enough: we pass it to nobody */
	shm = shm_area_open(shm_name, sizeof *shm);
	if (shm == NULL)
		fatal("shm_open %s", shm_name);
	/* Our read end non-blocking, so that it opens without waiting for
	 * d's write end; then our write end, which opens at once because d
	 * already holds its read end. Neither side ever blocks in open(). */
	from_d = open_fifo(run_dir, DWTUBE_FMT, idx, O_RDONLY | O_NONBLOCK);
	to_d = open_fifo(run_dir, WDTUBE_FMT, idx, O_WRONLY);
	lr_init(&lr, from_d);
	log_event("ready name=w%lu", idx);
	if (server_ready(&sv) == -1)
		fatal("kill watchdog");

	while (!quit) {
		pfd[PFD_SIGNAL].fd = sigfd;
		pfd[PFD_SIGNAL].events = POLLIN;
		pfd[PFD_FROM_D].fd = from_d;
		pfd[PFD_FROM_D].events = POLLIN;
		if (poll(pfd, PFD_MAX, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[PFD_SIGNAL].revents & POLLIN) {
			while ((r = selfpipe_read(&ev)) == 1) {
				if (ev.signo == SIGUSR1) {
					if (server_heartbeat(&sv, &ev) == -1)
						warn("kill watchdog");
				} else {
					log_event("stop reason=%s served=%lu",
					    signal_name(ev.signo), served);
					quit = 1;
				}
			}
			if (r == -1)
				fatal("read self-pipe");
		}
		if (quit || !(pfd[PFD_FROM_D].revents & (POLLIN | POLLHUP)))
			continue;
		while ((r = proto_recv(&lr, &m)) == 1) {
			if (m == PROTO_PING) {
				serve(shm, idx, to_d);
				served++;
			} else {
				log_event("unexpected msg=%s", proto_word(m));
			}
		}
		if (r == 0) {
			/* d closed its end: stop (or d has gone). */
			log_event("stop reason=eof served=%lu", served);
			break;
		}
		if (errno != EAGAIN)	/* EAGAIN: the rest of a line comes later */
			fatal("read dwtube%lu", idx);
	}

	close(from_d);
	close(to_d);
	shm_area_close(shm, sizeof *shm);
	server_detach(&sv);
	selfpipe_close();
	return 0;
}
