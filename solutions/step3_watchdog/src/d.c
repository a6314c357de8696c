/*
 * d.c - step 3's main server: started by the watchdog, it starts the
 * secondary servers w1..wn and supervises them.
 *
 * With each wi, d keeps step 2's exchange: one FIFO pair (dwtube<i> d->wi,
 * wdtube<i> wi->d) and one request/answer pair in the shared segment. d
 * writes a request, sends "ping"; wi writes its answer, sends "pong".
 * Every -i ms, each w gets a new request.
 *
 * d's code is in two files, one per role: this one (the options, the
 * main loop, start and stop) and workers.c (the w's and their
 * supervision); d.h is what they share.
 *
 * d never blocks: not in open() (the FIFOs are opened non-blocking), not
 * on a w (a frozen w simply stops answering; the watchdog deals with it).
 * A d that blocked could not answer its own heartbeats.
 *
 * For the watchdog, d is a server like the others: it answers SIGUSR1
 * from its main loop (server.c). For its w's, d is the supervisor
 * (question 3.a): when one exits, or is killed by the watchdog, d reaps
 * it and restarts it alone, with backoff; if they restart more than R
 * times within W, d stops everything and exits EXIT_GIVE_UP, which tells
 * the watchdog not to restart it.
 *
 *     d -H FD [-w N] [-m NAME] [-r DIR] [-i MS] [-R N] [-W MS] [-b MS]
 *       [-B MS] [-K MS] [-g MS] [-f wI:FAULT]... [-F FAULT]
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
#include "opt.h"
#include "registry.h"
#include "rundir.h"
#include "selfpipe.h"
#include "shm_area.h"
#include "util.h"

/* What the command line asked for, times in ms; what d shares (d.h). */
struct options opt = { .n = 2, .interval = 1000, .stop_wait = 750 };
struct sup_policy policy;
struct server sv;
struct wchild ws[W_MAX];
struct sup_window restarts;	/* every w's restarts, for the intensity */
struct shm_layout *shm;
int stopping;
int exit_code;
static int lock_fd = -1;		/* holds the lock on the run directory */
static char lock_path[PATH_MAX];		/* RUN_DIR/d.pid */

/* ---- options ------------------------------------------------------ */

static noreturn void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: d -H FD [-w N] [-m NAME] [-r DIR] [-i MS] [-R N] [-W MS] [-b MS]\n"
	    "         [-B MS] [-K MS] [-g MS] [-f wI:FAULT]... [-F FAULT]\n"
	    "  -H FD    the registry descriptor (d is started by the watchdog)\n"
	    "  -w N     secondary servers w1..wN (default 2, at most %d)\n"
	    "  -m NAME  shared memory segment (default /osps-<uid>)\n"
	    "  -r DIR   run directory for the FIFOs (default $XDG_RUNTIME_DIR/osps)\n"
	    "  -i MS    a request to each w every MS (default 1000)\n"
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
static unsigned long reg_fd_opt;	/* -H, 0 until given */
static const struct opt_num numbers[] = {
	{ 'H', 3, 1023, &reg_fd_opt, NULL },
	{ 'w', 1, W_MAX, &opt.n, NULL },
	{ 'i', 1, 600000, &opt.interval, NULL },
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
	int r = supopt_take(&opt.sup, c, arg);	/* -m, -r */

	if (r != 0)
		return r == 1 ? 0 : -1;
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
	opt_parse(argc, argv, "H:w:m:r:i:R:W:b:B:K:g:f:F:h", numbers,
	    OPT_N(numbers), other_option, usage);
	if (reg_fd_opt == 0) {
		warnx("-H FD is required: d is started by the watchdog");
		usage(2);
	}
	opt.reg_fd = (int)reg_fd_opt;
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

/* Named poll slots, then one per w. */
enum { PFD_SIGNAL, PFD_FIRST_W, PFD_MAX = PFD_FIRST_W + W_MAX };

/* How long poll() may sleep: until the next ping or restart, in ms. */
static int
poll_timeout(double now)
{
	double next = SUP_NEVER;
	unsigned i;

	for (i = 0; i < opt.n; i++) {
		if (ws[i].sup.state == CHILD_DOWN)
			next = proc_earliest(next, ws[i].sup.restart_at);
		else if (ws[i].from_w != -1 && !ws[i].waiting)
			next = proc_earliest(next, ws[i].next_ping);
	}
	return proc_timeout_ms(next, now);
}

/* The main loop, until a stop is asked for: restarts due, then one
 * poll() over everything, then signals and each w in turn (its pongs,
 * its next ping). */
static void
serve(void)
{
	struct pollfd pfd[PFD_MAX];
	unsigned i, nw = (unsigned)opt.n;

	while (!stopping) {
		double now = log_now();

		for (i = 0; i < nw; i++)
			if (sup_restart_due(&ws[i].sup, now) && start_w(&ws[i], now) == -1)
				fatal("start %s", opt.w_path);
		for (i = 0; i < nw; i++)	/* -1: ignored by poll() */
			pfd[PFD_FIRST_W + i] = (struct pollfd){ ws[i].from_w, POLLIN, 0 };
		/* Signals first (proc_wait() handles them, in pfd[PFD_SIGNAL]),
		 * then the w's: a pong is read before the next ping is due. */
		if (proc_wait(pfd, PFD_FIRST_W + nw, poll_timeout(now), &sig) == -1)
			fatal("poll, signals");
		now = log_now();
		if (stopping)
			break;
		for (i = 0; i < nw; i++) {
			struct wchild *wc = &ws[i];

			if (pfd[PFD_FIRST_W + i].revents != 0 && wc->from_w != -1)
				read_w(wc, now);
			if (wc->sup.state != CHILD_DOWN && wc->from_w != -1 &&
			    !wc->waiting && now >= wc->next_ping)
				send_ping(wc, now);
		}
	}
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

/*
 * Create and map the data segment. One left by a d that died (its owner
 * is dead) is reported and replaced; one in use by a live d, or not
 * ours, is refused (server_refuse: a restart would not help): never
 * silently reused. Returns NULL after saying why on any other error.
 */
static struct shm_layout *
create_segment(const char *name)
{
	struct shm_layout *seg = shm_area_create(name, sizeof *seg);
	struct shm_layout *old;
	pid_t owner;

	if (seg != NULL || errno != EEXIST)
		goto done;
	old = shm_area_open(name, sizeof *old);
	if (old == NULL || old->magic != SHM_MAGIC) {
		if (old != NULL)
			shm_area_close(old, sizeof *old);
		server_refuse(&sv, "shared memory %s exists and is not a step-3 segment; "
		    "remove /dev/shm%s or choose another name with -m", name, name);
	}
	owner = old->owner;
	shm_area_close(old, sizeof *old);
	if (kill(owner, 0) == 0 || errno != ESRCH)
		server_refuse(&sv, "shared memory %s is in use by d[%ld]; "
		    "choose another name with -m", name, (long)owner);
	log_event("stale-segment name=%s owner=%ld action=replaced", name, (long)owner);
	if (shm_area_unlink(name) == -1) {
		warn("shm_unlink %s", name);
		return NULL;
	}
	seg = shm_area_create(name, sizeof *seg);
done:
	if (seg == NULL) {
		warn("shm_open %s", name);
		return NULL;
	}
	seg->magic = SHM_MAGIC;
	seg->owner = getpid();
	return seg;
}

/* Clean stop: stop the w's, remove what d created. Returns 0, or -1
 * with errno when the w's could not be stopped (then nothing is removed). */
static int
shut_down(void)
{
	if (stop_ws() == -1)
		return -1;
	ws_remove_fifos();
	if (shm_area_close(shm, sizeof *shm) == -1)
		warn("munmap %s", opt.sup.shm_name);
	if (shm_area_unlink(opt.sup.shm_name) == -1 && errno != ENOENT)
		warn("shm_unlink %s", opt.sup.shm_name);
	else
		log_event("removed name=%s", opt.sup.shm_name);
	/* Last: until here, another d must not take what we leave. */
	if (unlink(lock_path) == -1)
		warn("unlink %s", lock_path);
	close(lock_fd);
	return 0;
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
	shm = create_segment(opt.sup.shm_name);
	if (shm == NULL) {
		close(opt.reg_fd);
		return 1;
	}
	/* Handlers before anything can send us a signal; SIGTERM from the
	 * start, since the watchdog's death sends it (PR_SET_PDEATHSIG). */
	if (proc_signals_open(&sig, (const int[]){ SIGCHLD, SIGUSR1, 0 }) == -1)
		fatal("self-pipe and signal handlers");
	ws_setup();
	log_event("ready workers=%lu segment=%s", opt.n, opt.sup.shm_name);
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
