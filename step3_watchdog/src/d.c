/*
 * d.c - step 3's main server: started by the watchdog, it starts the
 * secondary servers w1..wn and supervises them.
 *
 * With each wi, d keeps step 2's exchange: one FIFO pair (dwtube<i> d->wi,
 * wdtube<i> wi->d) and one request/answer pair in the shared segment. d
 * writes a request, sends "ping"; wi writes its answer, sends "pong".
 * Every -i ms, each w gets a new request.
 *
 * For the watchdog, d is a server like the others: it answers SIGUSR1
 * from its main loop (server.c). For its w's, d is the supervisor
 * (question 3.a): when one exits, or is killed by the watchdog, d reaps
 * it and restarts it alone, with backoff; if they restart more than R
 * times within W, d stops everything and exits EXIT_GIVE_UP, which tells
 * the watchdog not to restart it.
 *
 * d never blocks: not in open() (the FIFOs are opened non-blocking), not
 * on a w (a frozen w simply stops answering; the watchdog deals with it).
 * A d that blocked could not answer its own heartbeats.
 *
 *     d -H FD [-w N] [-m NAME] [-r DIR] [-i MS] [-R N] [-W MS] [-b MS]
 *       [-B MS] [-K MS] [-g MS] [-f wI:FAULT]... [-F FAULT]
 *     (normally started by the watchdog)
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "fifo.h"
#include "io.h"
#include "log.h"
#include "opt.h"
#include "proc.h"
#include "proto.h"
#include "registry.h"
#include "rundir.h"
#include "selfpipe.h"
#include "server.h"
#include "shm_area.h"
#include "spawn.h"
#include "sup.h"
#include "supopt.h"
#include "util.h"

/* What the command line asked for; times in milliseconds. */
struct options {
	unsigned long n;		/* -w */
	int reg_fd;			/* -H: the registry, inherited */
	unsigned long interval;		/* -i */
	struct sup_opts sup;		/* -m -r -g -R -W -b -B */
	unsigned long stop_wait;	/* -K */
	char w_path[4096];		/* w, next to d */
	const char *wfault[W_MAX + 1];	/* -f wI:FAULT, by I */
};

/* One secondary server, as d sees it. */
struct wchild {
	char name[8];		/* "w1" */
	unsigned idx;		/* its number, 1..n: its slot and FIFOs */
	struct sup_child sup;	/* d's supervision of it */
	pid_t old;		/* the pid it replaces (for the log) */
	unsigned starts;	/* incarnations so far */
	char dw_path[4200];	/* dwtube<i> */
	char wd_path[4200];	/* wdtube<i> */
	int to_w;		/* dwtube<i>, write end, -1 until w opened it */
	int from_w;		/* wdtube<i>, read end, -1 when w is down */
	struct line_reader lr;	/* lines from w */
	int waiting;		/* a ping is out, its pong not back yet */
	double next_ping;	/* when to send the next request */
	double ping_at;		/* when the last one was sent */
	unsigned long pongs;	/* exchanges completed with this incarnation */
};

/* Seconds between two tries to open a FIFO w has not opened yet. */
#define RETRY_OPEN 0.01

/* Poll slots: the self-pipe, then one per w. */
enum { PFD_SIGNAL, PFD_FIRST_W, PFD_MAX = PFD_FIRST_W + W_MAX };

static struct options opt = { .n = 2, .interval = 1000, .stop_wait = 750 };
static struct sup_policy policy;
static struct server sv;
static struct shm_layout *shm;
static struct wchild ws[W_MAX];
static struct sup_window restarts;	/* every w's restarts, for the intensity */
static int stopping;
static int exit_code;
static int lock_fd = -1;		/* holds the lock on the run directory */
static char lock_path[4200];		/* RUN_DIR/d.pid */

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

/* Close d's ends of wc's FIFOs. */
static void
close_pipes(struct wchild *wc)
{
	if (wc->to_w != -1)
		close(wc->to_w);
	if (wc->from_w != -1)
		close(wc->from_w);
	wc->to_w = wc->from_w = -1;
	wc->waiting = 0;
}

/* Start (or restart) wc. Returns its pid, or -1 with errno. */
static pid_t
start_w(struct wchild *wc, double now)
{
	struct spawn_opts so = { opt.reg_fd, SIGKILL, 0 };
	char idx[16], fd[16], *args[16];
	const char *fault = opt.wfault[wc->idx];
	int a = 0;
	pid_t pid;

	/* Our read end first, non-blocking: it opens at once, and w's
	 * open of the write end will not block either since a reader
	 * exists. Our write end waits until w has opened its read end. */
	wc->from_w = open(wc->wd_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (wc->from_w == -1)
		return -1;
	lr_init(&wc->lr, wc->from_w);
	snprintf(idx, sizeof idx, "%u", wc->idx);
	snprintf(fd, sizeof fd, "%d", opt.reg_fd);
	args[a++] = opt.w_path;
	args[a++] = "-n"; args[a++] = idx;
	args[a++] = "-H"; args[a++] = fd;
	args[a++] = "-m"; args[a++] = opt.sup.shm_name;
	args[a++] = "-r"; args[a++] = opt.sup.run_dir;
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
	wc->pongs = 0;
	wc->next_ping = now;
	if (wc->old == 0)
		log_event("started name=%s pid=%ld", wc->name, (long)pid);
	else
		log_event("restart name=%s old=%ld new=%ld", wc->name,
		    (long)wc->old, (long)pid);
	return pid;
}

/* Stop everything and leave with code: SIGTERM, bounded wait, SIGKILL. */
static void
give_up(const char *why)
{
	log_event("give-up reason=\"%s\"", why);
	warnx("giving up: %s", why);
	exit_code = EXIT_GIVE_UP;
	stopping = 1;
}

/* wc has been reaped: restart it later, or give up. */
static void
w_exited(struct wchild *wc, double now)
{
	char why[128];

	close_pipes(wc);
	wc->old = wc->sup.pid;
	if (stopping) {
		sup_forget(&wc->sup);
		return;
	}
	/* TODO 3.10: d is wc's supervisor: ask sup_exited() what to do. To
	 * give up, call give_up() with the reason "%s: w's restarted more
	 * than %lu times in %lu ms" (wc->name, opt.sup.intensity, opt.sup.window:
	 * -R and -W), e.g. "w1: w's restarted more than 4 times in 10000
	 * ms"; otherwise log "restart-wait name=%s delay_ms=%ld" (the
	 * backoff, in ms).
	 * The main loop restarts it when sup_restart_due() says so. */
	(void)why;
	(void)now;
	(void)restarts;
	(void)give_up;
	wc->sup.state = CHILD_STOPPING;
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
 * A child has ended and proc_reap() is about to reap it. If it is one of
 * our w's, say so in the registry now. Returns its name for the log.
 */
static const char *
w_ending(pid_t pid)
{
	/* TODO 3.11: if pid is one of our w's (find_w), mark its registry
	 * slot GONE (reg_gone) and return its name; else return "?".
	 * proc_reap() calls this *before* it reaps pid: why must the slot
	 * say GONE before the pid is freed? (Think of the watchdog reading
	 * the slot at that moment.) */
	(void)pid; return "?";
}

/* pid has been reaped: if it was one of our w's, decide about its restart. */
static void
w_reaped(pid_t pid, int status, double now)
{
	struct wchild *wc = find_w(pid);

	(void)status;	/* reaped says how it ended */
	/* TODO 3.11: then, for one of our w's, call w_exited(). */
	(void)wc; (void)now; (void)w_exited;
}

/* What d does with its ended children (proc.h). */
static const struct proc_reaper reaper = { w_ending, w_reaped };

/* Send wc its next request: into the segment, then "ping". */
static void
send_ping(struct wchild *wc, double now)
{
	if (wc->to_w == -1) {
		/* Non-blocking: ENXIO while w has not opened its read end
		 * yet (it is still starting): try again shortly. A blocking
		 * open would stop d, heartbeats included, until then. */
		wc->to_w = open(wc->dw_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (wc->to_w == -1) {
			if (errno != ENXIO)
				warn("open %s", wc->dw_path);
			wc->next_ping = now + RETRY_OPEN;
			return;
		}
	}
	/* The segment's pair is d's until "ping": w touches it only after. */
	snprintf(shm->pair[wc->idx - 1].request, MSG_MAX, "request %lu for %s",
	    wc->pongs + 1, wc->name);
	shm->pair[wc->idx - 1].answer[0] = '\0';
	if (proto_send(wc->to_w, PROTO_PING) == -1) {
		/* EPIPE: w is gone (SIGPIPE is ignored); EAGAIN: w stopped
		 * reading. Either way the reaper or the watchdog acts. */
		wc->next_ping = now + opt.interval / 1000.0;
		return;
	}
	wc->ping_at = now;
	wc->waiting = 1;
}

/* Read what wc sent: pongs, or the end of file of a w that has gone. */
static void
read_w(struct wchild *wc, double now)
{
	enum proto_msg m;
	int r;

	while ((r = proto_recv(&wc->lr, &m)) == 1) {
		if (m == PROTO_PONG && wc->waiting) {
			wc->waiting = 0;
			wc->pongs++;
			log_event("recv msg=pong name=%s n=%lu answer=\"%s\" rtt_us=%.0f",
			    wc->name, wc->pongs, shm->pair[wc->idx - 1].answer,
			    (now - wc->ping_at) * 1e6);
			wc->next_ping = now + opt.interval / 1000.0;
		} else {
			log_event("unexpected name=%s msg=%s", wc->name, proto_word(m));
		}
	}
	if (r == -1 && errno == EAGAIN)
		return;		/* the rest of a line comes later */
	if (r == -1)
		log_event("unexpected name=%s error=\"%s\"", wc->name, strerror(errno));
	/* End of file (w has gone: SIGCHLD follows) or a broken stream:
	 * stop polling this w. */
	close_pipes(wc);
}

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

/* Handle SIGCHLD or SIGUSR1 (proc_drain() handles the stops). Returns
 * 0, or -1 with errno (reaping failed). */
static int
on_signal(const struct sig_event *ev, double now)
{
	if (ev->signo == SIGCHLD) {
		log_child_state(ev);
		return proc_reap(&reaper, now);
	}
	if (!stopping && server_heartbeat(&sv, ev) == -1)	/* SIGUSR1 */
		warn("kill watchdog[%ld]", (long)sv.reg->watchdog);
	return 0;
}

/* d's signals (proc.h); fd is set by proc_signals_open(). */
static struct proc_signals sig = { -1, &stopping, on_signal };

/* How many w's are still there. */
static unsigned
ws_left(void)
{
	unsigned i, left = 0;

	for (i = 0; i < opt.n; i++)
		left += ws[i].sup.state != CHILD_DOWN;
	return left;
}

/* SIGKILL the w's still there: they outlived the clean stop's wait. */
static void
kill_ws(void)
{
	unsigned i;

	for (i = 0; i < opt.n; i++)
		if (ws[i].sup.state != CHILD_DOWN) {
			log_event("kill name=%s pid=%ld signal=SIGKILL "
			    "reason=stop-timeout", ws[i].name, (long)ws[i].sup.pid);
			(void)kill(ws[i].sup.pid, SIGKILL);
		}
}

/* The clean stop, as in step 2: close our end of each w's dwtube (it
 * reads end of file and exits; SIGTERM for one that has not opened it
 * yet), wait at most -K ms, SIGKILL the rest, reap them all (proc_stop).
 * Returns 0, or -1 with errno. */
static int
stop_ws(void)
{
	struct proc_stopper s = { &sig, opt.stop_wait / 1000.0, ws_left, kill_ws };
	unsigned i;

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
	return proc_stop(&s);
}

/* Remove the FIFOs and the segment: nothing of ours is left behind. */
static void
clean_up(void)
{
	unsigned i;

	for (i = 0; i < opt.n; i++) {
		if (unlink(ws[i].dw_path) == -1 && errno != ENOENT)
			warn("unlink %s", ws[i].dw_path);
		if (unlink(ws[i].wd_path) == -1 && errno != ENOENT)
			warn("unlink %s", ws[i].wd_path);
	}
	log_event("removed fifos=%lu", 2 * opt.n);
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
}

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

static void
setup(void)
{
	char name[32];
	unsigned i;

	for (i = 0; i < opt.n; i++) {
		struct wchild *wc = &ws[i];

		wc->idx = i + 1;
		snprintf(wc->name, sizeof wc->name, "w%u", wc->idx);
		snprintf(name, sizeof name, DWTUBE_FMT, wc->idx);
		if (rundir_path(opt.sup.run_dir, name, wc->dw_path, sizeof wc->dw_path) == -1)
			fatal("%s/%s", opt.sup.run_dir, name);
		snprintf(name, sizeof name, WDTUBE_FMT, wc->idx);
		if (rundir_path(opt.sup.run_dir, name, wc->wd_path, sizeof wc->wd_path) == -1)
			fatal("%s/%s", opt.sup.run_dir, name);
		make_fifo(wc->dw_path);
		make_fifo(wc->wd_path);
		sup_init(&wc->sup);
		wc->to_w = wc->from_w = -1;
	}
}

/* The main loop, until a stop is asked for: signals, then each w in turn
 * (its pongs, its restart, its next ping). */
static void
serve(void)
{
	struct pollfd pfd[PFD_MAX];
	struct wchild *wc;
	unsigned i;
	double now;

	while (!stopping) {
		now = log_now();
		for (i = 0; i < opt.n; i++) {
			pfd[PFD_FIRST_W + i].fd = ws[i].from_w;
			pfd[PFD_FIRST_W + i].events = POLLIN;
		}
		if (proc_wait(pfd, PFD_FIRST_W + opt.n, poll_timeout(now), &sig) == -1)
			fatal("poll, signals");
		now = log_now();
		for (i = 0; i < opt.n && !stopping; i++) {
			wc = &ws[i];
			if (wc->from_w != -1 &&
			    (pfd[PFD_FIRST_W + i].revents & (POLLIN | POLLHUP)))
				read_w(wc, now);
			if (sup_restart_due(&wc->sup, now) && start_w(wc, now) == -1)
				fatal("start %s", opt.w_path);
			if (wc->sup.state != CHILD_DOWN && wc->from_w != -1 &&
			    !wc->waiting && now >= wc->next_ping)
				send_ping(wc, now);
		}
	}
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
	setup();
	log_event("ready workers=%lu segment=%s", opt.n, opt.sup.shm_name);
	if (server_ready(&sv) == -1)
		fatal("kill watchdog[%ld]", (long)sv.reg->watchdog);
	serve();
	if (stop_ws() == -1) {
		if (errno == ETIMEDOUT)
			fatalx("w survived SIGKILL");
		fatal("stop w's");
	}
	clean_up();
	server_detach(&sv);
	close(opt.reg_fd);
	selfpipe_close();
	log_event("stopped code=%d", exit_code);
	return exit_code;
}
