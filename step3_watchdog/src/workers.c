/*
 * workers.c - d's w's: starting each one with its pair of FIFOs, the
 * exchange with it (a request in the segment, "ping"; its answer,
 * "pong"), and supervising it (question 3.a): one that exits, or is
 * killed by the watchdog, is reaped and restarted alone, with backoff;
 * more than R restarts within W and d gives up. Shared state and
 * contracts: d.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "d.h"
#include "fifo.h"
#include "log.h"
#include "registry.h"
#include "rundir.h"
#include "spawn.h"
#include "util.h"

/* Seconds between two tries to open a FIFO w has not opened yet. */
#define RETRY_OPEN 0.01

/* ---- the w's: starting, pings and pongs, ending -------------------- */

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

/* Close d's ends of wc's FIFOs. Once nobody holds a FIFO open, whatever
 * was left in it is gone: the next w starts with empty pipes. */
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
pid_t
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

/* Send wc its next request: into the segment, then "ping". */
void
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
void
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

/* Stop everything and leave with EXIT_GIVE_UP. */
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
	sup_forget(&wc->sup);
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
	return "?";
}

/* pid has been reaped: if it was one of our w's, decide about its restart. */
static void
w_reaped(pid_t pid, int status, double now)
{
	struct wchild *wc = find_w(pid);

	(void)status;	/* reaped says how it ended */
	/* TODO 3.11: then, for one of our w's, call w_exited(). */
}

/* What d does with its ended children (proc.h). */
const struct proc_reaper reaper = { w_ending, w_reaped };

/*
 * A SIGCHLD that tells of a w stopped (kill -STOP) or continued (kill
 * -CONT), not ended: there is nothing to reap, but the kernel told us all
 * the same (we did not ask it not to, with SA_NOCLDSTOP). Logged so that
 * question 3.c can be watched: "sigchld name=w1 ... code=CLD_STOPPED".
 */
void
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
int
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

/* Start-up: name every w, make its FIFOs (or exit saying why); none runs
 * yet, each is DOWN and due at once. */
void
ws_setup(void)
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

/* The clean stop, once the w's have gone: remove their FIFOs. */
void
ws_remove_fifos(void)
{
	unsigned i;

	for (i = 0; i < opt.n; i++) {
		if (unlink(ws[i].dw_path) == -1 && errno != ENOENT)
			warn("unlink %s", ws[i].dw_path);
		if (unlink(ws[i].wd_path) == -1 && errno != ENOENT)
			warn("unlink %s", ws[i].wd_path);
	}
	log_event("removed fifos=%lu", 2 * opt.n);
}
