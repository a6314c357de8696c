/*
 * watchdog.c - step 3's supervisor: it starts first, starts d (which
 * starts w1..wn), and makes sure every server keeps answering.
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
 * This file holds the options, the set-up and the main loop; watch.c
 * starts d and watches every server, teardown.c cleans up after a dead d
 * and stops the tree (what they share: watchdog.h).
 *
 *     watchdog [-w N] [-P MS] [-T MS] [-g MS] [-R N] [-W MS] [-b MS] [-B MS]
 *              [-K MS] [-i MS] [-m NAME] [-r DIR] [-f NAME:FAULT]...
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "opt.h"
#include "rundir.h"
#include "selfpipe.h"
#include "util.h"
#include "watchdog.h"

/* The named poll slots. */
enum { PFD_SIGNAL, PFD_STDIN, PFD_MAX };

/* What the command line asked for, times in ms; what the three files
 * share (watchdog.h). */
struct options opt = {
	.n = 2, .period = 1000, .timeout = 3000, .stop_wait = 1500, .interval = 1000
};
struct sup_policy policy;
struct registry *reg;
int reg_fd = -1;
struct watch watch[1 + W_MAX];
unsigned nwatch;
int stopping;
unsigned long nbeats;
static int exit_code;			/* 0, or 1 after giving up */
static unsigned long nusr2;		/* SIGUSR2 records read */

static noreturn void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: watchdog [-w N] [-P MS] [-T MS] [-g MS] [-R N] [-W MS] [-b MS] [-B MS]\n"
	    "                [-K MS] [-i MS] [-m NAME] [-r DIR] [-f NAME:FAULT]...\n"
	    "  -w N     secondary servers w1..wN (default 2, at most %d)\n"
	    "  -P MS    heartbeat period P (default 1000)\n"
	    "  -T MS    reply timeout T: no reply within T means frozen (default 3000)\n"
	    "  -g MS    grace: a (re)started server must be ready within (default 5000)\n"
	    "  -R N     restart intensity: more than N restarts ... (default 5)\n"
	    "  -W MS    ... within this window stops everything (default 10000)\n"
	    "  -b MS    backoff: the second restart waits this long, then doubling (default 100)\n"
	    "  -B MS    backoff cap (default 5000)\n"
	    "  -K MS    clean stop: wait this long before SIGKILL (default 1500)\n"
	    "  -i MS    d pings each w every MS (default 1000)\n"
	    "  -m NAME  d's shared memory segment (default /osps-<uid>)\n"
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

/* The numeric options: -X N, N in [min, max] (opt_parse()). */
static const struct opt_num numbers[] = {
	{ 'w', 1, W_MAX, &opt.n, NULL },
	{ 'P', 1, 600000, &opt.period, NULL },
	{ 'T', 1, 600000, &opt.timeout, NULL },
	{ 'K', 10, 600000, &opt.stop_wait, NULL },
	{ 'i', 1, 600000, &opt.interval, NULL },
	SUPOPT_NUMBERS(opt.sup),
};

/* Take option c, not a number (opt_parse()). Returns 0, or -1 after
 * saying why. */
static int
other_option(int c, const char *arg)
{
	int r = supopt_take(&opt.sup, c, arg);	/* -m, -r */

	if (r != 0)
		return r == 1 ? 0 : -1;
	if (opt.nfaults == FAULTS_MAX) {	/* -f, checked once -w is known */
		warnx("-f: at most %d faults", FAULTS_MAX);
		return -1;
	}
	opt.faults[opt.nfaults++] = arg;
	return 0;
}

static void
parse_options(int argc, char **argv)
{
	int i;

	if (supopt_defaults(&opt.sup) == -1)
		fatal("run directory");
	opt_parse(argc, argv, "w:P:T:g:R:W:b:B:K:i:m:r:f:h", numbers,
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

/* Why we gave up: said once the tree is down, as our last line. */
static char give_up_why[256];

/* Stop with exit code 1 and a clear message (watchdog.h). */
void
give_up(const char *why)
{
	log_event("give-up reason=\"%s\"", why);
	snprintf(give_up_why, sizeof give_up_why, "%s", why);
	exit_code = 1;
	stopping = 1;
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
struct proc_signals sig = { -1, &stopping, on_signal };

/* Set up the registry, the subreaper and the signals. */
static void
setup(void)
{
	char tmpname[300];
	unsigned i;

	/* The registry first: a refusal then leaves nothing open. */
	snprintf(tmpname, sizeof tmpname, "%s-reg", opt.sup.shm_name);
	nwatch = 1 + (unsigned)opt.n;
	reg = reg_create(tmpname, nwatch, &reg_fd);
	if (reg == NULL && errno == EEXIST && reg_remove_stale(tmpname) == 1) {
		log_event("stale-segment name=%s action=replaced", tmpname);
		reg = reg_create(tmpname, nwatch, &reg_fd);
	}
	if (reg == NULL && errno == EEXIST)
		fatalx("shared memory %s exists and is not a stale one of ours; "
		    "remove /dev/shm%s or choose another name with -m", tmpname, tmpname);
	if (reg == NULL)
		fatal("shm_open %s", tmpname);

	/* TODO 3.9: become a child subreaper (prctl
	 * PR_SET_CHILD_SUBREAPER): when d dies, its w's are reparented to
	 * us instead of init, so that we reap them (no zombie left to a
	 * slow init) and see them go. */
	/* BEGIN SOLUTION 3.9 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		fatal("prctl PR_SET_CHILD_SUBREAPER");
	/* END SOLUTION */

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
		if (d_restart_due(now) && start_d(now) == -1)
			fatal("start %s", opt.d_path);
		if (!tree_ready && all_up()) {
			/* Every server answers: the tree can serve. */
			tree_ready = 1;
			log_event("ready servers=%u period_ms=%lu timeout_ms=%lu",
			    nwatch, opt.period, opt.timeout);
		}
	}
}

int
main(int argc, char **argv)
{
	char why[160];

	log_init("watchdog");
	parse_options(argc, argv);
	if (rundir_prepare(opt.sup.run_dir, why, sizeof why) == -1)
		fatalx("run directory %s: %s", opt.sup.run_dir, why);
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
	log_event("stopped code=%d heartbeats=%lu sigusr2=%lu", exit_code,
	    nbeats, nusr2);
	if (give_up_why[0] != '\0')
		warnx("giving up: %s", give_up_why);
	return exit_code;
}
