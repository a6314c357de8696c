/*
 * watchdog.c - the supervisor of the whole tree (step 3's, kept in step
 * 4): it starts first, starts d (which starts w1..wn), and makes sure
 * every server keeps answering.
 *
 * Step 4 adds one thing: the watchdog binds d's TCP port (-p, 127.0.0.1,
 * default 2222) and passes the listening socket to every d it starts
 * (-L FD). d's port thus survives d's restarts: clients that connect while
 * d is frozen or restarting wait in the kernel's backlog, and the new d
 * serves them (systemd's socket activation does the same).
 *
 * Every period P it sends SIGUSR1 to each ready server in turn; a server
 * answers from its main loop by adding 1 to its heartbeat counter in the
 * registry and sending SIGUSR2. SIGUSR2 only wakes the watchdog up: it
 * then reads every counter (two replies arriving together make a single
 * pending SIGUSR2, but two counters have moved). A server whose counter
 * has not moved T after the SIGUSR1 is frozen: SIGKILL.
 *
 * Restarts follow Erlang/OTP's rest_for_one over the order [d, w1..wn]:
 *   - a w is restarted alone, by d, its parent (question 3.a);
 *   - d is killed together with its process group (every w) and
 *     restarted by the watchdog; the new d starts every w again.
 * Restarts back off (0, then doubling up to a cap); more than R within W
 * means something is badly wrong: stop the whole tree, exit 1.
 *
 * Nothing is left behind: the watchdog is a child subreaper (w's whose d
 * died are reparented to it and reaped here), children die with their
 * parent (PR_SET_PDEATHSIG), and SIGTERM, SIGINT or Enter stop the tree
 * cleanly (TERM, bounded wait, KILL, reap).
 *
 *     watchdog [-p PORT] [-w N] [-t MS] [-I MS] [-q N] [-Q] [-P MS] [-T MS]
 *              [-g MS] [-R N] [-W MS] [-b MS] [-B MS] [-K MS] [-m NAME]
 *              [-r DIR] [-f NAME:FAULT]...
 *
 * prctl(PR_SET_CHILD_SUBREAPER) and killpg() need more than POSIX 2008
 * declares: hence _GNU_SOURCE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "opt.h"
#include "proc.h"
#include "proto.h"
#include "registry.h"
#include "rundir.h"
#include "selfpipe.h"
#include "spawn.h"
#include "sup.h"
#include "supopt.h"
#include "util.h"

/* Most -f options. */
#define FAULTS_MAX 16

/* What the command line asked for; times in milliseconds. */
struct options {
	unsigned long n;		/* -w: number of w's */
	unsigned long period, timeout;	/* -P, -T */
	struct sup_opts sup;		/* -r -g -R -W -b -B */
	unsigned long stop_wait;	/* -K: clean stop, then SIGKILL */
	unsigned long port;		/* -p: d's TCP port (0: any free one) */
	const char *delay, *idle, *queue;	/* -t, -I, -q: for d, as given */
	int quiet;			/* -Q: for d */
	char shm_name[256];		/* -m: the registry's name, for an instant */
	char d_path[4096];		/* d, next to the watchdog */
	const char *faults[FAULTS_MAX];	/* -f NAME:FAULT */
	int nfaults;
};

/* What the watchdog knows about one slot of the registry. */
struct watch {
	char name[8];		/* "d", "w1", ... */
	struct sup_child sup;	/* state, deadlines, heartbeats */
	unsigned gen;		/* the generation the state is about */
	struct reg_ref ref;	/* our handle on that server (ref.pid 0: none) */
};

/* The named poll slots. */
enum { PFD_SIGNAL, PFD_STDIN, PFD_MAX };

static struct options opt = {
	.n = 2, .period = 1000, .timeout = 3000, .stop_wait = 1500,
	.port = PROTO_DEFAULT_PORT
};
static struct sup_policy policy;
static struct registry *reg;
static int reg_fd = -1;
static int listen_fd = -1;		/* d's listening socket, kept here */
static struct watch watch[1 + W_MAX];	/* [0] is d */
static struct sup_window restarts;	/* d's restarts, for the intensity */
static unsigned nwatch;			/* 1 + n */
static int stopping;			/* a stop was asked for */
static int exit_code;			/* 0, or 1 after giving up */
static pid_t d_old;			/* the d being replaced (for the log) */
static const char *d_why = "";	/* why d is restarted */
static unsigned d_starts;		/* how many times d was started */
static unsigned long nbeats;		/* heartbeat replies seen */
static unsigned long nusr2;		/* SIGUSR2 records read */

static noreturn void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: watchdog [-p PORT] [-w N] [-t MS] [-I MS] [-q N] [-Q] [-P MS] [-T MS]\n"
	    "                [-g MS] [-R N] [-W MS] [-b MS] [-B MS] [-K MS] [-m NAME]\n"
	    "                [-r DIR] [-f NAME:FAULT]...\n"
	    "  -p PORT  d's TCP port on 127.0.0.1 (default 2222; 0: any free port)\n"
	    "  -w N     secondary servers w1..wN (default 2, at most %d)\n"
	    "  -t MS    w's processing time for requetetype1 (default 500)\n"
	    "  -I MS    idle time-out of connections, tokens, queued requests (default 10000)\n"
	    "  -q N     requests that may wait for a w (default 4096)\n"
	    "  -Q       quiet: no log line per request (benchmarks)\n"
	    "  -P MS    heartbeat period P (default 1000)\n"
	    "  -T MS    reply timeout T: no reply within T means frozen (default 3000)\n"
	    "  -g MS    grace: a (re)started server must be ready within (default 5000)\n"
	    "  -R N     restart intensity: more than N restarts ... (default 5)\n"
	    "  -W MS    ... within this window stops everything (default 10000)\n"
	    "  -b MS    backoff: the second restart waits this long, then doubling (default 100)\n"
	    "  -B MS    backoff cap (default 5000)\n"
	    "  -K MS    clean stop: wait this long before SIGKILL (default 1500)\n"
	    "  -m NAME  the registry's shared memory name (default /osps-<uid>)\n"
	    "  -r DIR   run directory for the FIFOs (default $XDG_RUNTIME_DIR/osps)\n"
	    "  -f NAME:FAULT  inject a fault, for tests and demos: NAME is d or wI,\n"
	    "           FAULT is exit (every start fails) or hang:K (the first\n"
	    "           incarnation's main loop hangs after K heartbeats)\n"
	    "  -h       show this help\n"
	    "Stop: SIGTERM, SIGINT (Ctrl-C) or Enter.\n", W_MAX);
	exit(code);
}

/* Check a -f spec: "d:FAULT" or "wI:FAULT" with I in 1..n. */
static int
fault_spec_valid(const char *spec, unsigned long n)
{
	const char *fault;
	unsigned long i;

	if (strncmp(spec, "d:", 2) == 0)
		fault = spec + 2;
	else
		fault = supopt_fault_w(spec, n, &i);
	if (fault == NULL)
		return 0;
	return strcmp(fault, "exit") == 0 ||
	    (strncmp(fault, "hang:", 5) == 0 &&
	    parse_ulong(fault + 5, 1, 1000000, &i) == 0);
}

/* The numeric options: -X N, N in [min, max] (opt_parse()). -t, -I and
 * -q are d's: checked here, passed on as given. */
static unsigned long delay_opt, idle_opt, queue_opt;
static const struct opt_num numbers[] = {
	{ 'p', 0, 65535, &opt.port, NULL },
	{ 'w', 1, W_MAX, &opt.n, NULL },
	{ 't', 0, 60000, &delay_opt, &opt.delay },
	{ 'I', 10, 3600000, &idle_opt, &opt.idle },
	{ 'q', 0, 1000000, &queue_opt, &opt.queue },
	{ 'P', 1, 600000, &opt.period, NULL },
	{ 'T', 1, 600000, &opt.timeout, NULL },
	{ 'K', 10, 600000, &opt.stop_wait, NULL },
	SUPOPT_NUMBERS(opt.sup),
};

/* Take option c, not a number (opt_parse()). Returns 0, or -1 after
 * saying why. */
static int
other_option(int c, const char *arg)
{
	switch (c) {
	case 'Q':
		opt.quiet = 1;
		return 0;
	case 'm':
		if (arg[0] != '/' || strlen(arg) > 200 ||
		    strchr(arg + 1, '/') != NULL) {
			warnx("-m %s: a segment name is \"/\" then 1 to 200 "
			    "characters other than \"/\"", arg);
			return -1;
		}
		snprintf(opt.shm_name, sizeof opt.shm_name, "%s", arg);
		return 0;
	case 'f':	/* checked once -w is known */
		if (opt.nfaults == FAULTS_MAX) {
			warnx("-f: at most %d faults", FAULTS_MAX);
			return -1;
		}
		opt.faults[opt.nfaults++] = arg;
		return 0;
	default:	/* -r */
		return supopt_take(&opt.sup, c, arg) == 1 ? 0 : -1;
	}
}

static void
parse_options(int argc, char **argv)
{
	int i;

	snprintf(opt.shm_name, sizeof opt.shm_name, SHM_NAME_FMT, (unsigned)getuid());
	if (supopt_defaults(&opt.sup) == -1)
		fatal("run directory");
	opt_parse(argc, argv, "p:w:t:I:q:QP:T:g:R:W:b:B:K:m:r:f:h", numbers,
	    OPT_N(numbers), other_option, usage);
	/* Checked once -w is known, whatever the order of the options. */
	for (i = 0; i < opt.nfaults; i++) {
		if (!fault_spec_valid(opt.faults[i], opt.n)) {
			warnx("-f %s: expected d:FAULT or wI:FAULT (I from 1 to %lu), "
			    "FAULT being exit or hang:K", opt.faults[i], opt.n);
			usage(2);
		}
	}
	policy.period = opt.period / 1000.0;
	policy.timeout = opt.timeout / 1000.0;
	supopt_policy(&opt.sup, &policy);
	if (sibling_path(argv[0], "d", opt.d_path, sizeof opt.d_path) == -1)
		fatal("program path %s", argv[0]);
}

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

/*
 * Remove what d (pid), dead without cleaning up, left behind: its FIFOs
 * and its pid file. Only if the pid file says they were that d's: a d that
 * died because another tree already uses the same run directory must not
 * take that tree's files with it.
 */
static void
clean_after_d(pid_t pid)
{
	char name[32], path[4200], text[32];
	unsigned i, removed = 0;
	ssize_t n;
	int fd;

	if (rundir_path(opt.sup.run_dir, D_PIDFILE, path, sizeof path) == -1)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return;		/* d died before making anything */
	n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return;
	text[n] = '\0';
	if (strtol(text, NULL, 10) != (long)pid)
		return;
	if (unlink(path) == 0)
		removed++;
	for (i = 1; i <= opt.n; i++) {
		snprintf(name, sizeof name, DWTUBE_FMT, i);
		if (rundir_path(opt.sup.run_dir, name, path, sizeof path) == 0 &&
		    unlink(path) == 0)
			removed++;
		snprintf(name, sizeof name, WDTUBE_FMT, i);
		if (rundir_path(opt.sup.run_dir, name, path, sizeof path) == 0 &&
		    unlink(path) == 0)
			removed++;
	}
	log_event("cleanup name=d pid=%ld removed=%u", (long)pid, removed);
}

/* Most arguments of d's command line, and numbers written for it. */
#define D_ARGS (16 + 2 * SUPOPT_ARGS + 2 * FAULTS_MAX)
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
	snprintf(num[2], sizeof num[2], "%d", listen_fd);
	snprintf(num[3], sizeof num[3], "%lu", opt.stop_wait / 2);
	/* d finds w next to itself, from its argv[0]: give it the path. */
	args[a++] = opt.d_path;
	args[a++] = "-w"; args[a++] = num[0];
	args[a++] = "-H"; args[a++] = num[1];
	args[a++] = "-L"; args[a++] = num[2];
	args[a++] = "-K"; args[a++] = num[3];
	a += supopt_argv(&opt.sup, args + a, num + 4);
	if (opt.delay != NULL) {
		args[a++] = "-t"; args[a++] = (char *)opt.delay;
	}
	if (opt.idle != NULL) {
		args[a++] = "-I"; args[a++] = (char *)opt.idle;
	}
	if (opt.queue != NULL) {
		args[a++] = "-q"; args[a++] = (char *)opt.queue;
	}
	if (opt.quiet)
		args[a++] = "-Q";
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
static pid_t
start_d(double now)
{
	/* d inherits the registry and the listening socket, nothing else. */
	struct spawn_opts so = { { reg_fd, listen_fd }, SIGTERM, 1 };
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

/* Why we gave up: said once the tree is down, as our last line. */
static char give_up_why[256];

/* Stop with exit code 1 and a clear message. */
static void
give_up(const char *why)
{
	log_event("give-up reason=\"%s\"", why);
	snprintf(give_up_why, sizeof give_up_why, "%s", why);
	exit_code = 1;
	stopping = 1;
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
 * d's reparented to us when d died (we are a subreaper). If it is d, its
 * group is killed now, while its zombie holds the group id. Returns its
 * name for the log: the registry's, "?" if no slot holds it.
 */
static const char *
child_ending(pid_t pid)
{
	unsigned i;

	if (pid == watch[0].sup.pid) {
		/* rest_for_one: no w may outlive its d. */
		(void)killpg(pid, SIGKILL);
		reg_gone(reg, 0);
	}
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
static const struct proc_reaper reaper = { child_ending, child_reaped };

/*
 * Read the registry: new incarnations of w's (started by d), servers
 * that became ready or left, and every heartbeat counter. Called after
 * every wake-up, whatever woke us: that is what makes a lost SIGUSR2
 * harmless.
 */
static void
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
static int
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
static int
all_up(void)
{
	unsigned i;

	for (i = 0; i < nwatch; i++)
		if (watch[i].sup.state != CHILD_UP)
			return 0;
	return 1;
}

/* How long poll() may sleep: until the earliest due event, in ms. */
static int
poll_timeout(double now)
{
	double next = SUP_NEVER;
	unsigned i;

	for (i = 0; i < nwatch; i++)
		next = proc_earliest(next, sup_next_event(&watch[i].sup));
	/* Rounded up: waking a little early would only loop for nothing. */
	return proc_timeout_ms(next, now);
}

/* Read the terminal: Enter asks for a clean stop. Returns 0 at end of
 * file (stop watching it), 1 otherwise. */
static int
read_stdin(void)
{
	char buf[256];
	ssize_t n;

	n = read(STDIN_FILENO, buf, sizeof buf);
	if (n == -1)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	if (memchr(buf, '\n', (size_t)n) != NULL && !stopping) {
		log_event("stop reason=enter");
		stopping = 1;
	}
	return 1;
}

/* True when stdin is worth polling for Enter. A terminal we do not own
 * (we run in the background) is left alone: reading it would stop us
 * with SIGTTIN. */
static int
stdin_usable(void)
{
	if (fcntl(STDIN_FILENO, F_GETFL) == -1)
		return 0;
	return !isatty(STDIN_FILENO) || tcgetpgrp(STDIN_FILENO) == getpgrp();
}

/* Handle SIGCHLD or SIGUSR2 (proc_drain() handles the stops). Returns
 * 0, or -1 with errno (reaping failed). */
static int
on_signal(const struct sig_event *ev, double now)
{
	if (ev->signo == SIGCHLD)
		return proc_reap(&reaper, now);
	nusr2++;	/* SIGUSR2, a wake-up: the registry says the rest */
	return 0;
}

/* The watchdog's signals (proc.h); fd is set by proc_signals_open(). */
static struct proc_signals sig = { -1, &stopping, on_signal };

/* 1 while d is there (not reaped yet), else 0. */
static unsigned
d_left(void)
{
	return watch[0].ref.pid != 0;
}

/* SIGKILL d's whole group: d outlived the clean stop's wait. */
static void
kill_d(void)
{
	log_event("kill name=d pid=%ld signal=SIGKILL reason=stop-timeout "
	    "group=yes", (long)watch[0].sup.pid);
	(void)killpg(watch[0].sup.pid, SIGKILL);
}

/*
 * The clean stop: SIGTERM to d (it stops its w's, removes its FIFOs),
 * wait at most -K ms, then SIGKILL its group (proc_stop); reap
 * everything. Returns 0, or -1 with errno.
 */
static int
stop_tree(void)
{
	struct proc_stopper s = { &sig, opt.stop_wait / 1000.0, d_left, kill_d };

	if (watch[0].ref.pid != 0 &&
	    reg_ref_signal(reg, &watch[0].ref, SIGTERM) == -1 && errno != ESRCH)
		warn("pidfd_send_signal d");
	if (proc_stop(&s) == -1)
		return -1;
	return proc_reap(&reaper, log_now());	/* any w reparented to us */
}

/* Set up the registry, the subreaper and the signals. */
static void
setup(void)
{
	char tmpname[300];
	unsigned i;

	/* The registry first: a refusal then leaves nothing open. */
	snprintf(tmpname, sizeof tmpname, "%s-reg", opt.shm_name);
	nwatch = 1 + (unsigned)opt.n;
	reg = reg_create(tmpname, nwatch, &reg_fd);
	if (reg == NULL && errno == EEXIST && reg_remove_stale(tmpname) == 1) {
		log_event("stale-segment name=%s action=replaced", tmpname);
		reg = reg_create(tmpname, nwatch, &reg_fd);
	}
	if (reg == NULL && errno == EEXIST) {
		close(listen_fd);
		fatalx("shared memory %s exists and is not a stale one of ours; "
		    "remove /dev/shm%s or choose another name with -m", tmpname, tmpname);
	}
	if (reg == NULL) {
		int err = errno;

		close(listen_fd);
		errno = err;
		fatal("shm_open %s", tmpname);
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		fatal("prctl PR_SET_CHILD_SUBREAPER");

	if (proc_signals_open(&sig, (const int[]){ SIGCHLD, SIGUSR2, 0 }) == -1)
		fatal("self-pipe and signal handlers");

	for (i = 0; i < nwatch; i++) {
		sup_init(&watch[i].sup);
		watch[i].ref.pid = 0;
		watch[i].ref.pidfd = -1;
		if (i == 0)
			snprintf(watch[i].name, sizeof watch[i].name, "d");
		else
			snprintf(watch[i].name, sizeof watch[i].name, "w%u", i);
		if (i > 0)
			sup_forget(&watch[i].sup);	/* d starts them */
	}
}

/* The main loop, until a stop is asked for: signals and the terminal,
 * then the registry, the heartbeats and d's restart. */
static void
supervise(void)
{
	struct pollfd pfd[PFD_MAX];
	int use_stdin = stdin_usable(), tree_ready = 0;
	double now;

	while (!stopping) {
		now = log_now();
		pfd[PFD_STDIN].fd = use_stdin ? STDIN_FILENO : -1;
		pfd[PFD_STDIN].events = POLLIN;
		if (proc_wait(pfd, PFD_MAX, poll_timeout(now), &sig) == -1)
			fatal("poll, signals");
		now = log_now();
		if (pfd[PFD_STDIN].revents & (POLLIN | POLLHUP))
			use_stdin = read_stdin();
		if (stopping)
			break;
		scan_registry(now);
		if (check_servers(now) == -1)
			fatal("pidfd_send_signal (heartbeat)");
		if (sup_restart_due(&watch[0].sup, now) && start_d(now) == -1)
			fatal("start %s", opt.d_path);
		if (!tree_ready && all_up()) {
			/* Every server answers: the tree can serve. */
			tree_ready = 1;
			log_event("ready servers=%u period_ms=%lu timeout_ms=%lu port=%d",
			    nwatch, opt.period, opt.timeout, net_local_port(listen_fd));
		}
	}
}

int
main(int argc, char **argv)
{
	char why[160];

	log_init("watchdog");
	parse_options(argc, argv);
	/* The port before anything else: "address in use", the likeliest
	 * refusal, then leaves nothing open and nothing behind (not even
	 * the run directory). */
	listen_fd = net_listen(NET_LOOPBACK, (unsigned)opt.port);
	if (listen_fd == -1)
		fatal("bind %s:%lu", NET_LOOPBACK, opt.port);
	if (rundir_prepare(opt.sup.run_dir, why, sizeof why) == -1) {
		close(listen_fd);
		fatalx("run directory %s: %s", opt.sup.run_dir, why);
	}
	log_event("listening port=%d", net_local_port(listen_fd));
	setup();

	supervise();
	if (stop_tree() == -1) {
		if (errno == ETIMEDOUT)
			fatalx("d[%ld] survived SIGKILL", (long)watch[0].sup.pid);
		fatal("stop the tree");
	}
	reg_detach(reg);
	close(reg_fd);
	selfpipe_close();
	/* Fewer SIGUSR2 than replies: some arrived together and merged. */
	close(listen_fd);
	log_event("stopped code=%d heartbeats=%lu sigusr2=%lu", exit_code,
	    nbeats, nusr2);
	if (give_up_why[0] != '\0')
		warnx("giving up: %s", give_up_why);
	return exit_code;
}
