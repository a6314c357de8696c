/*
 * watch.c - the watchdog's watch over the tree: it starts d with our
 * options, reads every server's heartbeat counter in the registry, kills
 * the frozen ones (d with its whole group), and when d has been reaped
 * restarts it after a backoff, or gives up. Shared state and contracts:
 * watchdog.h.
 *
 * killpg() needs more than POSIX 2008 declares: hence _GNU_SOURCE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "log.h"
#include "spawn.h"
#include "watchdog.h"

static struct sup_window restarts;	/* d's restarts, for the intensity */
static pid_t d_old;			/* the d being replaced (for the log) */
static const char *d_why = "";	/* why d is restarted */
static unsigned d_starts;		/* how many times d was started */

/* Milliseconds, rounded, for the log. */
static long
ms(double seconds)
{
	return lround(seconds * 1000.0);
}

/* Forget slot i's server: close our handle on it. */
static void
drop_ref(struct watch *wt)
{
	reg_ref_close(&wt->ref);
}

/* Most arguments of d's command line, and numbers written for it. */
#define D_ARGS (9 + 2 * SUPOPT_ARGS + 2 * FAULTS_MAX)
#define D_NUMS (4 + SUPOPT_NUMS)

/*
 * d's command line into args, numbers written into num: our options and
 * the faults meant for d or its w's. Returns args, NULL-terminated.
 */
static char **
d_argv(char *args[], char num[][24])
{
	int a = 0, i;

	snprintf(num[0], sizeof num[0], "%lu", opt.n);
	snprintf(num[1], sizeof num[1], "%d", reg_fd);
	snprintf(num[2], sizeof num[2], "%lu", opt.stop_wait / 2);
	snprintf(num[3], sizeof num[3], "%lu", opt.interval);
	/* d finds w next to itself, from its argv[0]: give it the path. */
	args[a++] = opt.d_path;
	args[a++] = "-w"; args[a++] = num[0];
	args[a++] = "-H"; args[a++] = num[1];
	args[a++] = "-K"; args[a++] = num[2];
	args[a++] = "-i"; args[a++] = num[3];
	a += supopt_argv(&opt.sup, args + a, num + 4);
	for (i = 0; i < opt.nfaults; i++) {
		const char *f = opt.faults[i];

		if (f[0] == 'w') {		/* d injects it into that w */
			args[a++] = "-f";
			args[a++] = (char *)f;
		} else if (strcmp(f + 2, "exit") == 0 || d_starts == 0) {
			/* exit: every start; hang: the first incarnation. */
			args[a++] = "-F";
			args[a++] = (char *)f + 2;
		}
	}
	args[a] = NULL;
	return args;
}

/* Start d (slot 0) with our options. Returns its pid, or -1 with errno
 * (fork failed, or no handle on it). */
pid_t
start_d(double now)
{
	struct spawn_opts so = { reg_fd, SIGTERM, 1 };
	char num[D_NUMS][24], *args[D_ARGS];
	pid_t pid;

	pid = spawn_child(opt.d_path, d_argv(args, num), &so);
	if (pid == -1)
		return -1;
	d_starts++;
	reg_publish(reg, 0, pid);
	watch[0].gen = atomic_load(&reg->slot[0].gen);
	/* No handle, no heartbeat: a d we cannot watch is no use. It dies
	 * with us (PR_SET_PDEATHSIG) when main gives up. */
	if (reg_ref_open(reg, 0, pid, watch[0].gen, &watch[0].ref) == -1)
		return -1;
	sup_started(&watch[0].sup, pid, now, &policy);
	if (d_old == 0)
		log_event("started name=d pid=%ld", (long)pid);
	else
		log_event("restart name=d old=%ld new=%ld reason=%s", (long)d_old,
		    (long)pid, d_why);
	return pid;
}

/* d has gone: its w's went with it; stop watching them. */
static void
forget_ws(void)
{
	unsigned i;

	for (i = 1; i < nwatch; i++) {
		drop_ref(&watch[i]);
		sup_forget(&watch[i].sup);	/* d restarts them, not us */
	}
}

/*
 * Kill the server of slot i, frozen or never ready. A w is killed alone
 * (d will restart it); d is killed with its whole process group, every w
 * with it (rest_for_one). d is our child and not reaped yet, so its pid,
 * and its group's id, cannot have been reused.
 */
static void
kill_server(unsigned i, const char *reason)
{
	struct watch *wt = &watch[i];

	if (i == 0) {
		if (killpg(wt->sup.pid, SIGKILL) == -1 && errno != ESRCH)
			warn("killpg %ld", (long)wt->sup.pid);
		d_why = reason;
		forget_ws();
	} else if (reg_ref_signal(reg, &wt->ref, SIGKILL) == -1 && errno != ESRCH) {
		warn("pidfd_send_signal %s", wt->name);
	}
	log_event("kill name=%s pid=%ld signal=SIGKILL reason=%s%s", wt->name,
	    (long)wt->sup.pid, reason, i == 0 ? " group=yes" : "");
	sup_killed(&wt->sup);
}

/* d (pid) has been reaped with status: restart it, or give up. */
static void
d_exited(pid_t pid, int status, double now)
{
	char why[160];

	drop_ref(&watch[0]);
	forget_ws();
	clean_after_d(pid);
	if (stopping)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_GIVE_UP) {
		give_up("d gave up: a w was restarted too often");
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_NO_RESTART) {
		/* A restart would meet the same refusal: stop now, and say
		 * why in d's words. */
		reg->refusal[sizeof reg->refusal - 1] = '\0';
		give_up(reg->refusal[0] != '\0' ? reg->refusal : "d cannot start");
		return;
	}
	/* Killed by us (STOPPING), kill_server() said why; else it died. */
	if (watch[0].sup.state != CHILD_STOPPING)
		d_why = WIFSIGNALED(status) ? "died" : "exited";
	if (sup_exited(&watch[0].sup, &restarts, now, &policy)) {
		snprintf(why, sizeof why, "d restarted more than %lu times in %lu ms",
		    opt.sup.intensity, opt.sup.window);
		give_up(why);
		return;
	}
	d_old = pid;
	log_event("restart-wait name=d delay_ms=%ld",
	    ms(watch[0].sup.restart_at - now));
}

/* The registry slot that names pid (d's, or a w's), nwatch if none. */
static unsigned
slot_of(pid_t pid)
{
	unsigned i;

	for (i = 0; i < nwatch && atomic_load(&reg->slot[i].pid) != pid; i++)
		;
	return i;
}

/*
 * A child has ended and proc_reap() is about to reap it: d, or a w of
 * d's reparented to us when d died (we are a subreaper). Returns its
 * name for the log: the registry's, "?" if no slot holds it.
 */
static const char *
child_ending(pid_t pid)
{
	unsigned i;

	/* TODO 3.7: if pid is d, SIGKILL its process group *before* it is
	 * reaped (while its zombie holds the pid, the group id cannot be
	 * reused), and mark its registry slot GONE. */
	/* BEGIN SOLUTION 3.7 */
	if (pid == watch[0].sup.pid) {
		/* rest_for_one: no w may outlive its d. */
		(void)killpg(pid, SIGKILL);
		reg_gone(reg, 0);
	}
	/* END SOLUTION */
	i = slot_of(pid);
	return i < nwatch ? watch[i].name : "?";
}

/* pid has been reaped with status: if it was d, restart it or give up. */
static void
child_reaped(pid_t pid, int status, double now)
{
	if (slot_of(pid) == 0)
		d_exited(pid, status, now);
}

/* What the watchdog does with its ended children (proc.h). */
const struct proc_reaper reaper = { child_ending, child_reaped };

/*
 * Read the registry: new incarnations of w's (started by d), servers
 * that became ready or left, and every heartbeat counter. Called after
 * every wake-up, whatever woke us: that is what makes a lost SIGUSR2
 * harmless.
 */
void
scan_registry(double now)
{
	struct reg_slot *s;
	struct watch *wt;
	unsigned i, gen, beats;
	double rtt;
	int state;
	pid_t pid;

	for (i = 0; i < nwatch; i++) {
		s = &reg->slot[i];
		wt = &watch[i];
		gen = atomic_load(&s->gen);
		if (i > 0 && gen != wt->gen && watch[0].sup.state != CHILD_DOWN) {
			/* A new w, started by d: take a handle on it now, while
			 * the registry vouches for its pid. */
			drop_ref(wt);
			wt->gen = gen;
			pid = atomic_load(&s->pid);
			if (reg_ref_open(reg, i, pid, gen, &wt->ref) == 0) {
				sup_started(&wt->sup, pid, now, &policy);
				log_event("watch name=%s pid=%ld", wt->name, (long)pid);
			} else {
				sup_forget(&wt->sup);	/* gone already */
			}
		}
		if (gen != wt->gen)
			continue;
		state = atomic_load(&s->state);
		if (wt->sup.state == CHILD_STARTING && state == SLOT_READY) {
			sup_ready(&wt->sup, now, &policy);
			log_event("up name=%s pid=%ld after_ms=%ld", wt->name,
			    (long)wt->sup.pid, ms(now - wt->sup.started));
		} else if (i > 0 && state == SLOT_GONE && wt->sup.state != CHILD_DOWN) {
			/* d is about to reap it (and will restart it). */
			drop_ref(wt);
			sup_forget(&wt->sup);
			continue;
		}
		beats = atomic_load(&s->beats);
		if (sup_beat(&wt->sup, beats, now, &policy, &rtt)) {
			nbeats++;
			log_event("heartbeat name=%s pid=%ld rtt_us=%ld", wt->name,
			    (long)wt->sup.pid, lround(rtt * 1e6));
		}
	}
}

/* Send the heartbeats that are due; kill the servers that are late.
 * Returns 0, or -1 with errno (a heartbeat could not be sent). */
int
check_servers(double now)
{
	struct watch *wt;
	double sent;
	unsigned i;

	for (i = 0; i < nwatch; i++) {
		wt = &watch[i];
		switch (sup_check(&wt->sup, now)) {
		case SUP_MISS:
			log_event("heartbeat-miss name=%s pid=%ld waited_ms=%ld",
			    wt->name, (long)wt->sup.pid, ms(now - wt->sup.ping_sent));
			kill_server(i, "heartbeat-miss");
			continue;
		case SUP_NOT_READY:
			log_event("not-ready name=%s pid=%ld grace_ms=%lu", wt->name,
			    (long)wt->sup.pid, opt.sup.grace);
			kill_server(i, "not-ready");
			continue;
		case SUP_OK:
			break;
		}
		if (sup_ping_due(&wt->sup, now)) {
			/* A fresh clock reading: the round trip in the log
			 * starts at the signal, not at the wake-up. */
			sent = log_now();
			if (reg_ref_signal(reg, &wt->ref, SIGUSR1) == 0)
				sup_ping_sent(&wt->sup, sent, &policy);
			else if (errno != ESRCH)	/* ESRCH: gone, reaped soon */
				return -1;
		}
	}
	return 0;
}

/* True when every server is UP. */
int
all_up(void)
{
	unsigned i;

	for (i = 0; i < nwatch; i++)
		if (watch[i].sup.state != CHILD_UP)
			return 0;
	return 1;
}

/*
 * 1 while we still have a child. Once d is reaped, every child left is
 * one of its w's, reparented to us (we are a subreaper): SIGKILLed with
 * d's group, but a process dies only when it next runs, which on a busy
 * machine can be after d is reaped.
 */
static int
children_left(void)
{
	siginfo_t si;	/* not read: the return value says it all */

	/* WNOWAIT: only look. ECHILD is the one answer that says "none". */
	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 ||
	    errno != ECHILD;
}

/*
 * 1 when d's restart is due. It waits for the old tree to be gone: a
 * restart replaces the whole tree (rest_for_one), and each old w is
 * reaped under its name while the registry, which the new d's w's
 * overwrite, still holds it.
 */
int
d_restart_due(double now)
{
	return sup_restart_due(&watch[0].sup, now) && !children_left();
}

/* How long poll() may sleep: until the earliest due event, in ms. */
int
poll_timeout(double now)
{
	double next = SUP_NEVER;
	unsigned i;

	for (i = 0; i < nwatch; i++) {
		/* d's restart waits for its old w's: their SIGCHLD wakes us. */
		if (i == 0 && watch[0].sup.state == CHILD_DOWN && children_left())
			continue;
		next = proc_earliest(next, sup_next_event(&watch[i].sup));
	}
	/* Rounded up: waking a little early would only loop for nothing. */
	return proc_timeout_ms(next, now);
}
