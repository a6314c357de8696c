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
 * d's code is in three files, one per role: this one (the options, the
 * main loop, start and stop), front.c (the clients and their queue) and
 * workers.c (the w's and their supervision); d.h is what they share.
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
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "d.h"
#include "log.h"
#include "net.h"
#include "opt.h"
#include "registry.h"
#include "rundir.h"
#include "selfpipe.h"
#include "util.h"

#define FD_RESERVE 64		/* descriptors kept for FIFOs, pipes, logs */

/* What the command line asked for, times in ms; what d shares (d.h). */
struct options opt = {
	.n = 2, .delay_ms = 500, .idle_ms = 10000, .queue_max = 4096, .stop_wait = 750
};
struct sup_policy policy;
struct server sv;
struct wchild ws[W_MAX];
struct sup_window restarts;	/* every w's restarts, for the intensity */
int stopping;
int exit_code;
struct front d;
static int lock_fd = -1;		/* holds the lock on the run directory */
static char lock_path[PATH_MAX];		/* RUN_DIR/d.pid */

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

/* The numeric options: -X N, N in [min, max] (opt_parse()). */
static unsigned long reg_fd_opt, listen_fd_opt;	/* -H, -L: 0 until given */
static const struct opt_num numbers[] = {
	{ 'H', 3, 1023, &reg_fd_opt, NULL },
	{ 'L', 3, 1023, &listen_fd_opt, NULL },
	{ 'w', 1, W_MAX, &opt.n, NULL },
	{ 't', 0, 60000, &opt.delay_ms, NULL },
	{ 'I', 10, 3600000, &opt.idle_ms, NULL },
	{ 'q', 0, 1000000, &opt.queue_max, NULL },
	{ 'K', 1, 600000, &opt.stop_wait, NULL },
	SUPOPT_NUMBERS(opt.sup),
};

/* Take -f wI:FAULT: w number I is started with -F FAULT. */
static int
fault_option(const char *arg)
{
	const char *fault;
	unsigned long i;

	fault = supopt_fault_w(arg, W_MAX, &i);
	if (fault == NULL || fault_parse(fault, &(struct fault){ 0, 0 }) == -1) {
		warnx("-f %s: expected wI:FAULT, FAULT being exit or hang:K", arg);
		return -1;
	}
	opt.wfault[i] = fault;
	return 0;
}

/* Take option c, not a number (opt_parse()). Returns 0, or -1 after
 * saying why. */
static int
other_option(int c, const char *arg)
{
	if (supopt_take(&opt.sup, c, arg) == 1)	/* -r */
		return 0;
	if (c == 'Q') {
		opt.quiet = 1;
		return 0;
	}
	if (c == 'f')
		return fault_option(arg);
	if (fault_parse(arg, &sv.fault) == -1) {	/* -F */
		warnx("-F %s: expected exit or hang:K", arg);
		return -1;
	}
	return 0;
}

static void
parse_options(int argc, char **argv)
{
	if (supopt_defaults(&opt.sup) == -1)
		fatal("run directory");
	opt_parse(argc, argv, "H:L:w:r:t:I:q:QR:W:b:B:K:g:f:F:h", numbers,
	    OPT_N(numbers), other_option, usage);
	if (reg_fd_opt == 0 || listen_fd_opt == 0) {
		warnx("-H FD and -L FD are required: d is started by the watchdog");
		usage(2);
	}
	opt.reg_fd = (int)reg_fd_opt;
	opt.listen_fd = (int)listen_fd_opt;
	supopt_policy(&opt.sup, &policy);
	if (sibling_path(argv[0], "w", opt.w_path, sizeof opt.w_path) == -1)
		fatal("program path %s", argv[0]);
}

/* ---- signals, the main loop ---------------------------------------- */

/* Handle SIGCHLD or SIGUSR1 (proc_drain() handles the stops). Returns
 * 0, or -1 with errno (reaping failed). */
static int
on_signal(const struct sig_event *ev, double now)
{
	if (ev->signo == SIGCHLD) {
		log_child_state(ev);
		return proc_reap(&reaper, now);
	}
	/* SIGUSR1: the watchdog's heartbeat, answered from the loop. */
	if (!stopping && server_heartbeat(&sv, ev) == -1)
		warn("kill watchdog[%ld]", (long)sv.reg->watchdog);
	return 0;
}

/* d's signals (proc.h); fd is set by proc_signals_open(). */
struct proc_signals sig = { -1, &stopping, on_signal };

/* Named poll slots, then one per w, then one per client. */
enum { PFD_SIGNAL, PFD_LISTEN, PFD_FIRST_W };

/* How long poll() may sleep: until the nearest deadline, in ms. */
static int
poll_timeout(double now)
{
	double next = now + 1.0;	/* at least once a second, to be safe */
	size_t i;

	for (i = 0; i < opt.n; i++)
		if (ws[i].sup.state == CHILD_DOWN)
			next = proc_earliest(next, ws[i].sup.restart_at);
	for (i = 0; i < d.nclients; i++)
		if (d.clients[i]->inflight == 0 && d.clients[i]->deadline < next)
			next = d.clients[i]->deadline;
	if (d.listen_paused_until > now && d.listen_paused_until < next)
		next = d.listen_paused_until;
	return proc_timeout_ms(next, now);
}

/*
 * Fill the poll set *pfd (*cap slots, grown as needed): the fixed slots
 * first (the self-pipe's is proc_wait()'s), then every client. Returns
 * how many slots are used, or 0 with errno (out of memory).
 */
static size_t
pollset_build(struct pollfd **pfd, size_t *cap, double now)
{
	size_t i, base = PFD_FIRST_W + opt.n, n = base + d.nclients;
	struct pollfd *p = *pfd;

	if (n > *cap) {
		p = realloc(*pfd, 2 * n * sizeof *p);
		if (p == NULL)
			return 0;
		*pfd = p;
		*cap = 2 * n;
	}
	p[PFD_LISTEN] = (struct pollfd){ d.listen_paused_until > now ? -1 :
	    opt.listen_fd, POLLIN, 0 };
	for (i = 0; i < opt.n; i++)	/* -1: ignored by poll() */
		p[PFD_FIRST_W + i] = (struct pollfd){ ws[i].from_w, POLLIN, 0 };
	for (i = 0; i < d.nclients; i++) {
		struct client *c = d.clients[i];

		p[base + i].fd = c->fd;
		/* A queued client's buffer may fill up, or it may have said
		 * all it had to: then only its hang-up is watched (POLLHUP
		 * needs no event). */
		p[base + i].events = c->lr.len < sizeof c->lr.buf && !c->eof ?
		    POLLIN : 0;
		p[base + i].revents = 0;
	}
	return n;
}

/* The main loop, until a stop is asked for: restarts due, then one
 * poll() over everything, then signals, w's and clients in turn. */
static void
serve(void)
{
	struct pollfd *pfd = NULL;
	size_t cap = 0, n, i, nw = opt.n, base = PFD_FIRST_W + nw;

	while (!stopping) {
		double now = log_now();

		for (i = 0; i < nw; i++)
			if (sup_restart_due(&ws[i].sup, now) && start_w(&ws[i], now) == -1)
				fatal("start %s", opt.w_path);
		n = pollset_build(&pfd, &cap, now);
		if (n == 0)
			fatal("realloc poll set");
		/* Dispatch in a fixed order: signals (proc_wait() handles
		 * them, in pfd[PFD_SIGNAL]), then the w's, then the clients.
		 * Reports from the w's come first so that a w that has just
		 * finished is idle before new requests. */
		if (proc_wait(pfd, n, poll_timeout(now), &sig) == -1)
			fatal("poll, signals");
		now = log_now();
		if (stopping)
			break;
		for (i = 0; i < nw; i++)
			if (pfd[PFD_FIRST_W + i].revents != 0 && ws[i].from_w != -1)
				read_w(&ws[i], now);
		for (i = 0; i < d.nclients; i++)
			d.clients[i]->revents = pfd[base + i].revents;
		/* Clients accepted below are appended: revents 0 this turn. */
		if (pfd[PFD_LISTEN].fd != -1 && pfd[PFD_LISTEN].revents != 0 &&
		    accept_clients(now) == -1)
			fatal("accept port %u", d.port);
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
 * Lock the run directory for the whole run: two d's sharing it would use
 * each other's FIFOs, and two starting at the same instant could both
 * take them for stale. The lock (fcntl) goes away with the process, even
 * on SIGKILL, so a stale file from a crash is simply locked again. The
 * file holds d's pid: the watchdog reads it to clean up after a d that
 * died. A directory in use is refused (server_refuse): a restart would
 * meet the same lock.
 */
static void
lock_run_dir(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct stat held, named;
	char pid[32];
	int n;

	if (rundir_path(opt.sup.run_dir, D_PIDFILE, lock_path, sizeof lock_path) == -1)
		fatal("path %s/%s", opt.sup.run_dir, D_PIDFILE);
	for (;;) {
		lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (lock_fd == -1)
			fatal("open %s", lock_path);
		if (fcntl(lock_fd, F_SETLK, &fl) == -1) {
			if ((errno != EAGAIN && errno != EACCES) ||
			    fcntl(lock_fd, F_GETLK, &fl) == -1)
				fatal("lock %s", lock_path);
			server_refuse(&sv, "run directory %s is in use by d[%ld]; "
			    "choose another with -r", opt.sup.run_dir, (long)fl.l_pid);
		}
		/* The d before us may have removed the file between our open
		 * and our lock: then we would hold a lock nobody else sees. */
		if (fstat(lock_fd, &held) == 0 && stat(lock_path, &named) == 0 &&
		    held.st_ino == named.st_ino)
			break;
		close(lock_fd);
	}
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(lock_fd, 0) == -1 || write_all(lock_fd, pid, (size_t)n) == -1)
		fatal("write %s", lock_path);
}

/* Clean stop: tell the clients, stop the w's, remove what d created.
 * Returns 0, or -1 with errno when the w's could not be stopped (then
 * nothing is removed). */
static int
shut_down(void)
{
	size_t i;

	close(opt.listen_fd);
	for (i = 0; i < d.nclients; i++)
		if (d.clients[i]->fd != -1)
			client_error(d.clients[i], PERR_SHUTDOWN, "d is stopping");
	clients_sweep(log_now());
	free(d.clients);
	if (stop_ws() == -1)
		return -1;
	ws_remove_fifos();
	/* Last: until here, another d must not take what we leave. */
	if (unlink(lock_path) == -1)
		warn("unlink %s", lock_path);
	close(lock_fd);
	return 0;
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
	ws_setup();
}

int
main(int argc, char **argv)
{
	char why[128];

	log_init("d");
	parse_options(argc, argv);
	server_fault_at_start(&sv, opt.reg_fd);
	if (server_attach(&sv, opt.reg_fd, 0) == -1)
		fatal("registry -H %d", opt.reg_fd);
	/* What may be refused comes first, while only the registry is
	 * open: a refusal leaves nothing behind. */
	if (rundir_prepare(opt.sup.run_dir, why, sizeof why) == -1)
		server_refuse(&sv, "run directory %s: %s", opt.sup.run_dir, why);
	lock_run_dir();
	/* Handlers before anything can send us a signal; SIGTERM from the
	 * start, since the watchdog's death sends it (PR_SET_PDEATHSIG). A
	 * client that vanishes would kill d with SIGPIPE on the next write;
	 * ignored (proc_signals_open), the write fails with EPIPE and d goes
	 * on. */
	if (proc_signals_open(&sig, (const int[]){ SIGCHLD, SIGUSR1, 0 }) == -1)
		fatal("self-pipe and signal handlers");
	setup();
	log_event("listening port=%u workers=%lu", d.port, opt.n);
	/* d's own loop runs from now on: the watchdog may heart-beat it
	 * while the w's start. "ready port=" comes once they all are. */
	if (server_ready(&sv) == -1)
		fatal("kill watchdog[%ld]", (long)sv.reg->watchdog);
	serve();
	if (shut_down() == -1) {
		if (errno == ETIMEDOUT)
			fatalx("w survived SIGKILL");
		fatal("stop w's");
	}
	server_detach(&sv);
	close(opt.reg_fd);
	selfpipe_close();
	log_event("stopped code=%d", exit_code);
	return exit_code;
}
