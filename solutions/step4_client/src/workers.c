/*
 * workers.c - d's w's: starting each one with its pair of FIFOs, reading
 * its reports (ready, debuttraitement, fintraitement, errtraitement), and
 * supervising it (question 3.a): one that exits, or is killed by the
 * watchdog, is reaped and restarted alone, with backoff; more than R
 * restarts within W and d gives up. Shared state and contracts: d.h.
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

/* ---- the w's: starting, reports, ending --------------------------- */

/* Stop a w that can no longer be trusted; SIGCHLD brings the restart. */
void
worker_kill(struct wchild *wc, const char *why)
{
	/* Safe: w is our child and not reaped yet, so its pid cannot have
	 * been given to another process. */
	log_event("kill name=%s pid=%ld signal=SIGKILL reason=%s", wc->name,
	    (long)wc->sup.pid, why);
	if (wc->sup.pid > 0 && kill(wc->sup.pid, SIGKILL) == -1)
		warn("kill %s[%ld]", wc->name, (long)wc->sup.pid);
	wc->ready = 0;
	sup_killed(&wc->sup);
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
	wc->ready = 0;
}

/* Start (or restart) wc. Returns its pid, or -1 with errno. */
pid_t
start_w(struct wchild *wc, double now)
{
	/* A w inherits the registry only: not the listening socket. */
	struct spawn_opts so = { { opt.reg_fd, -1 }, SIGKILL, 0 };
	char idx[16], fd[16], delay[24], idle[24], *args[24];
	const char *fault = opt.wfault[wc->idx];
	int a = 0;
	pid_t pid;

	/* Our read end first, non-blocking: it opens at once, and w's
	 * open of the write end will not block either since a reader
	 * exists. Our write end waits until w says it is ready. */
	wc->from_w = open(wc->wd_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (wc->from_w == -1)
		return -1;
	lr_init(&wc->lr, wc->from_w);
	snprintf(idx, sizeof idx, "%u", wc->idx);
	snprintf(fd, sizeof fd, "%d", opt.reg_fd);
	snprintf(delay, sizeof delay, "%lu", opt.delay_ms);
	snprintf(idle, sizeof idle, "%lu", opt.idle_ms);
	args[a++] = opt.w_path;
	args[a++] = "-n"; args[a++] = idx;
	args[a++] = "-H"; args[a++] = fd;
	args[a++] = "-r"; args[a++] = opt.sup.run_dir;
	args[a++] = "-t"; args[a++] = delay;
	args[a++] = "-I"; args[a++] = idle;
	if (opt.quiet)
		args[a++] = "-Q";
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
	if (wc->old == 0)
		log_event("started name=%s pid=%ld", wc->name, (long)pid);
	else
		log_event("restart name=%s old=%ld new=%ld", wc->name,
		    (long)wc->old, (long)pid);
	return pid;
}

/* True when every w has said ready. */
static int
all_ready(void)
{
	unsigned i;

	for (i = 0; i < opt.n; i++)
		if (!ws[i].ready)
			return 0;
	return 1;
}

/* w said "ready <port>": open dwtube for writing, w can take jobs. */
static void
worker_ready(struct wchild *wc, unsigned port, double now)
{
	/* w opened its read end before saying ready: this cannot block, and
	 * O_NONBLOCK keeps a full pipe from ever stalling d. */
	wc->to_w = open(wc->dw_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (wc->to_w == -1) {
		warn("open %s", wc->dw_path);
		worker_kill(wc, "fifo-open-failed");
		return;
	}
	wc->port = port;
	wc->ready = 1;
	log_event("w-ready name=%s pid=%ld port=%u", wc->name, (long)wc->sup.pid, port);
	if (!d.announced && all_ready()) {
		/* Every w is up: now d can serve, and says so. */
		d.announced = 1;
		log_event("ready port=%u workers=%lu max_clients=%zu queue=%lu", d.port,
		    opt.n, d.max_clients, opt.queue_max);
	}
	dispatch_queue(now);
}

/* The request wc was serving is over (fin or err, or w is gone). */
static void
worker_job_done(struct wchild *wc)
{
	if (wc->client != NULL && wc->client->inflight > 0) {
		wc->client->inflight--;
		if (wc->client->inflight == 0)
			client_touch(wc->client, log_now());
	}
	wc->client = NULL;
	memset(&wc->job, 0, sizeof wc->job);
}

/* One report line from wc. */
static void
worker_report(struct wchild *wc, const char *line, double now)
{
	struct report rep;

	if (proto_parse_report(line, &rep) == -1) {
		warnx("%s: bad report \"%.64s\"", wc->name, line);
		worker_kill(wc, "bad-report");
		return;
	}
	if (rep.kind == REP_READY) {
		if (wc->ready)
			worker_kill(wc, "ready-twice");
		else
			worker_ready(wc, rep.port, now);
		return;
	}
	/* TODO 4.6: debuttraitement, fintraitement and errtraitement must
	 * name the request w is serving (wc->job.id, 0 when none), else w is
	 * broken: worker_kill(wc, "wrong-request-id"). Log "debut id= w=",
	 * "fin id= w= ms=" (since wc->since) or "failed id= w= reason=";
	 * after fin or err the w is idle again: worker_job_done(), then
	 * dispatch_queue(). Why kill a w that reports a wrong id, rather
	 * than ignore the line? */
	/* BEGIN SOLUTION 4.6 */
	if (wc->job.id == 0 || rep.id != wc->job.id) {
		/* d and w disagree on what w is doing: neither can be trusted
		 * to serve the next client correctly. */
		warnx("%s: report for request %lu, serving %lu", wc->name, rep.id,
		    wc->job.id);
		worker_kill(wc, "wrong-request-id");
		return;
	}
	switch (rep.kind) {
	case REP_DEBUT:
		wc->started = 1;
		log_request("debut id=%lu w=%s", rep.id, wc->name);
		return;
	case REP_FIN:
		log_request("fin id=%lu w=%s ms=%.0f", rep.id, wc->name,
		    (now - wc->since) * 1000);
		break;
	default:
		log_request("failed id=%lu w=%s reason=%s", rep.id, wc->name,
		    proto_err_word(rep.err));
		break;
	}
	worker_job_done(wc);
	dispatch_queue(now);
	/* END SOLUTION */
	/* STUB 4.6:
	*/
}

/* wdtube<i> is readable (or its writer has gone). */
void
read_w(struct wchild *wc, double now)
{
	char line[PROTO_LINE_MAX + 1];
	ssize_t n = lr_fill(&wc->lr);
	int got;

	if (n == -1 && errno == EAGAIN)
		return;
	if (n <= 0) {
		/* w closed its end (it died, or is dying): stop polling this
		 * w; SIGCHLD tells the rest. */
		if (n == -1)
			warn("read %s", wc->wd_path);
		close_pipes(wc);
		return;
	}
	while (wc->from_w != -1 && (got = lr_next(&wc->lr, line, sizeof line)) != 0) {
		if (got == -1) {
			worker_kill(wc, errno == EILSEQ ? "bad-report" : "report-too-long");
			return;
		}
		worker_report(wc, line, now);
	}
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

/* wc has been reaped: its request fails, restart it later, or give up. */
static void
w_exited(struct wchild *wc, double now)
{
	char why[128];

	if (wc->job.id != 0) {
		/* Its client sees the w side close without a result line. */
		log_event("failed id=%lu w=%s reason=%s", wc->job.id, wc->name,
		    proto_err_word(PERR_WDIED));
		worker_job_done(wc);
	}
	close_pipes(wc);
	wc->old = wc->sup.pid;
	if (stopping) {
		sup_forget(&wc->sup);
		return;
	}
	if (sup_exited(&wc->sup, &restarts, now, &policy)) {
		snprintf(why, sizeof why, "%s: w's restarted more than %lu times in %lu ms",
		    wc->name, opt.sup.intensity, opt.sup.window);
		give_up(why);
		return;
	}
	log_event("restart-wait name=%s delay_ms=%ld", wc->name,
	    lround((wc->sup.restart_at - now) * 1000.0));
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
 * our w's, its registry slot says GONE now, before its pid is freed, so
 * the watchdog never signals a pid that may be a stranger's. Returns its
 * name for the log.
 */
static const char *
w_ending(pid_t pid)
{
	struct wchild *wc = find_w(pid);

	if (wc == NULL)
		return "?";
	reg_gone(sv.reg, wc->idx);
	return wc->name;
}

/* pid has been reaped: if it was one of our w's, decide about its restart. */
static void
w_reaped(pid_t pid, int status, double now)
{
	struct wchild *wc = find_w(pid);

	(void)status;	/* reaped says how it ended */
	if (wc != NULL)
		w_exited(wc, now);
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

/* The clean stop, as in step 3: close our end of each w's dwtube (it
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
