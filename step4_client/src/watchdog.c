/*
 * watchdog.c - the supervisor of the whole tree (roadmap §3, kept in step 4).
 *
 * The watchdog starts first. It binds d's TCP port itself, then starts d
 * (fork + exec) with the listening socket and a status pipe as inherited
 * descriptors; d starts w1..wn and tells the watchdog their pids over the
 * status pipe. Every period P the watchdog sends SIGUSR1 to each server;
 * each answers SIGUSR2 from its main loop. A server silent for longer than
 * T is frozen: SIGKILL. A frozen w is killed alone (d, its parent, restarts
 * it); a frozen or dead d is killed with its whole process group (every w)
 * and restarted, and the new d starts new w's (OTP's rest_for_one).
 *
 * Because the watchdog keeps the listening socket, d's port survives d's
 * restarts: clients connecting meanwhile wait in the kernel's backlog and
 * are served by the new d (systemd's socket activation does the same).
 *
 * More than R restarts within W seconds: the whole tree is stopped and the
 * watchdog exits 1. SIGTERM, SIGINT or Enter on its terminal: clean stop.
 *
 *     watchdog [-p PORT] [-w N] [-t MS] [-I MS] [-q N] [-Q] [-P MS] [-T MS]
 *              [-R N] [-W MS] [-r DIR] [-x PROG] [-f NAME:FAULT]...
 *
 * _GNU_SOURCE: prctl(), pidfd_open() and pidfd_send_signal() (Linux 5.3).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "rundir.h"
#include "selfpipe.h"
#include "sup.h"
#include "util.h"

#define MAX_W 64
#define MAX_D_ARGS 64
#define MAX_FAULTS 16

/* The descriptors d finds its listening socket and status pipe on. */
enum { D_LISTEN_FD = 3, D_STATUS_FD = 4 };

/* A w, as the watchdog knows it: from d's status lines only. */
struct wslot {
	struct sup_child sup;	/* state CHILD_UP while d says it is up */
	int pidfd;		/* refers to that very process, never to a reused pid */
};

static struct {
	unsigned port;
	char run_dir[PATH_MAX];
	char d_path[PATH_MAX];
	char *d_args[MAX_D_ARGS];	/* options passed on to d */
	int nd_args;
	const char *d_fault;		/* -f d:FAULT */
	struct sup_timing timing;
	struct sup_intensity intensity;
	int sigfd, listen_fd;
	int status_fd;			/* read end of the current d's status pipe */
	struct line_reader status;
	struct sup_child d;
	const char *restart_reason;	/* why d is down, for the restart line */
	pid_t old_pid;
	struct wslot ws[MAX_W];
	int stopping, give_up, use_stdin;
} wd;

static noreturn void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: watchdog [-p PORT] [-w N] [-t MS] [-I MS] [-q N] [-Q] [-P MS] [-T MS]\n"
	    "                [-R N] [-W MS] [-r DIR] [-x PROG] [-f NAME:FAULT]...\n"
	    "  -p PORT  d's TCP port on 127.0.0.1 (default 2222; 0: any free port)\n"
	    "  -w N     secondary servers w1..wN (default 2, at most %d)\n"
	    "  -t MS    w's processing time for requetetype1 (default 500)\n"
	    "  -I MS    idle time-out of client connections and tokens (default 10000)\n"
	    "  -q N     requests that may wait for a w (default 4096)\n"
	    "  -Q       quiet: no log line per request (benchmarks)\n"
	    "  -P MS    heartbeat period P (default 1000)\n"
	    "  -T MS    a server silent this long is frozen (default 3000)\n"
	    "  -R N     more than N restarts ... (default 5)\n"
	    "  -W MS    ... within this window stop everything (default 30000)\n"
	    "  -r DIR   run directory (default $XDG_RUNTIME_DIR/osps)\n"
	    "  -x PROG  the program to start as d (default: d next to watchdog)\n"
	    "  -f NAME:FAULT  inject a fault, for tests and demos: NAME is d or wI,\n"
	    "           FAULT is exit (every start fails) or hang:K (the first\n"
	    "           incarnation's main loop hangs after K heartbeats)\n"
	    "  -h       show this help\n"
	    "Stop: SIGTERM, SIGINT (Ctrl-C) or Enter.\n", MAX_W);
	exit(code);
}

/* Add one word to d's command line. */
static void
d_arg(const char *word)
{
	if (wd.nd_args == MAX_D_ARGS) {
		warnx("too many options");
		usage(2);
	}
	wd.d_args[wd.nd_args++] = (char *)word;
}

/* Check option c's number and pass "-c value" on to d. */
static void
d_option(int c, const char *arg, unsigned long min, unsigned long max)
{
	static char flags[MAX_D_ARGS][3];
	unsigned long v;

	if (parse_ulong(arg, min, max, &v) == -1) {
		warnx("-%c %s: expected a number from %lu to %lu", c, arg, min, max);
		usage(2);
	}
	snprintf(flags[wd.nd_args], sizeof flags[0], "-%c", c);
	d_arg(flags[wd.nd_args]);
	d_arg(arg);
}

static void
parse_options(int argc, char **argv)
{
	unsigned long period = 1000, timeout = 3000, rmax = 5, window = 30000, v;
	int c, nfaults = 0;

	wd.port = PROTO_DEFAULT_PORT;
	if (rundir_default(wd.run_dir, sizeof wd.run_dir) == -1)
		fatal("run directory");
	if (sibling_path(argv[0], "d", wd.d_path, sizeof wd.d_path) == -1)
		fatal("program path %s", argv[0]);
	while ((c = getopt(argc, argv, "p:w:t:I:q:QP:T:R:W:r:x:f:h")) != -1) {
		switch (c) {
		case 'p':
			if (parse_ulong(optarg, 0, 65535, &v) == -1) {
				warnx("-p %s: expected a port, 0 to 65535", optarg);
				usage(2);
			}
			wd.port = (unsigned)v;
			break;
		case 'w':
			d_option(c, optarg, 1, MAX_W);
			break;
		case 't':
			d_option(c, optarg, 0, 60000);
			break;
		case 'I':
			d_option(c, optarg, 10, 3600000);
			break;
		case 'q':
			d_option(c, optarg, 0, 1000000);
			break;
		case 'Q':
			d_arg("-Q");
			break;
		case 'P':
		case 'T':
			if (parse_ulong(optarg, 10, 600000, &v) == -1) {
				warnx("-%c %s: expected milliseconds, 10 to 600000", c, optarg);
				usage(2);
			}
			*(c == 'P' ? &period : &timeout) = v;
			break;
		case 'R':
			if (parse_ulong(optarg, 0, SUP_INTENSITY_MAX - 1, &rmax) == -1) {
				warnx("-R %s: expected 0 to %d", optarg, SUP_INTENSITY_MAX - 1);
				usage(2);
			}
			break;
		case 'W':
			if (parse_ulong(optarg, 10, 86400000, &window) == -1) {
				warnx("-W %s: expected milliseconds", optarg);
				usage(2);
			}
			break;
		case 'r':
			snprintf(wd.run_dir, sizeof wd.run_dir, "%s", optarg);
			break;
		case 'x':
			snprintf(wd.d_path, sizeof wd.d_path, "%s", optarg);
			break;
		case 'f':
			if (++nfaults > MAX_FAULTS) {
				warnx("-f: at most %d faults", MAX_FAULTS);
				usage(2);
			}
			if (strncmp(optarg, "d:", 2) == 0) {
				wd.d_fault = optarg + 2;
			} else if (optarg[0] == 'w' && strchr(optarg, ':') != NULL) {
				d_arg("-f");
				d_arg(optarg);
			} else {
				warnx("-f %s: expected d:FAULT or wI:FAULT", optarg);
				usage(2);
			}
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc) {
		warnx("unexpected argument \"%s\"", argv[optind]);
		usage(2);
	}
	wd.timing = (struct sup_timing){ .period = (double)period / 1000,
		.timeout = (double)timeout / 1000, .backoff_min = 0.1,
		.backoff_max = 2, .stable = 1 };
	sup_intensity_init(&wd.intensity, (unsigned)rmax, (double)window / 1000);
}

/* ---- d's life ------------------------------------------------------ */

/* Forget every w: d is gone, and they went with it. */
static void
forget_ws(void)
{
	int i;

	for (i = 0; i < MAX_W; i++) {
		if (wd.ws[i].pidfd != -1)
			close(wd.ws[i].pidfd);
		wd.ws[i].pidfd = -1;
		wd.ws[i].sup.state = CHILD_DOWN;
		wd.ws[i].sup.pid = 0;
	}
}

/*
 * Move fd to descriptor target in the child (dup2 clears close-on-exec:
 * exactly what is wanted for the one descriptor d must inherit).
 */
static void
child_move_fd(int fd, int target)
{
	if (fd != target && dup2(fd, target) == -1)
		child_fatal(127, "dup2 %d", target);
	if (fd == target && fcntl(fd, F_SETFD, 0) == -1)
		child_fatal(127, "fcntl %d", target);
}

static void
start_d(double now)
{
	char fdl[8], fds[8], *args[MAX_D_ARGS + 12];
	int pipefd[2], i = 0, k, hi_l, hi_s;
	sigset_t all, old;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) == -1)
		fatal("pipe2");
	snprintf(fdl, sizeof fdl, "%d", D_LISTEN_FD);
	snprintf(fds, sizeof fds, "%d", D_STATUS_FD);
	args[i++] = wd.d_path;	/* d finds w next to itself from argv[0] */
	args[i++] = "-L";
	args[i++] = fdl;
	args[i++] = "-S";
	args[i++] = fds;
	args[i++] = "-r";
	args[i++] = wd.run_dir;
	for (k = 0; k < wd.nd_args; k++)
		args[i++] = wd.d_args[k];
	/* d's own fault: exit at every start, a hang in the first one only. */
	if (wd.d_fault != NULL && (wd.d.restarts == 0 || strcmp(wd.d_fault, "exit") == 0)) {
		args[i++] = "-F";
		args[i++] = (char *)wd.d_fault;
	}
	args[i] = NULL;

	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, &old) == -1)
		fatal("sigprocmask");
	fflush(NULL);
	pid = fork();
	if (pid == -1)
		fatal("fork d");
	if (pid == 0) {
		pid_t parent = getppid();

		for (k = 1; k < NSIG; k++)
			if (k != SIGKILL && k != SIGSTOP)
				signal(k, SIG_DFL);
		/* Its own process group: one killpg() stops d and every w. */
		if (setpgid(0, 0) == -1)
			child_fatal(127, "setpgid");
		/* The watchdog dies: d is told (SIGTERM) and stops its tree. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
			child_fatal(127, "prctl");
		if (getppid() != parent)
			_exit(127);
		/* Out of the way of 3 and 4 first, then into place. */
		hi_l = fcntl(wd.listen_fd, F_DUPFD_CLOEXEC, 10);
		hi_s = fcntl(pipefd[1], F_DUPFD_CLOEXEC, 10);
		if (hi_l == -1 || hi_s == -1)
			child_fatal(127, "fcntl F_DUPFD");
		child_move_fd(hi_l, D_LISTEN_FD);
		child_move_fd(hi_s, D_STATUS_FD);
		sigprocmask(SIG_SETMASK, &old, NULL);
		execv(wd.d_path, args);
		child_fatal(127, "exec %s", wd.d_path);
	}
	/* Also here: whichever of parent and child runs first, the group
	 * exists before the watchdog may signal it. */
	if (setpgid(pid, pid) == -1 && errno != EACCES && errno != ESRCH)
		warn("setpgid d");
	if (sigprocmask(SIG_SETMASK, &old, NULL) == -1)
		fatal("sigprocmask");
	close(pipefd[1]);	/* d holds the only write end: EOF when it dies */
	wd.status_fd = pipefd[0];
	if (fcntl(wd.status_fd, F_SETFL, O_NONBLOCK) == -1)
		fatal("fcntl status pipe");
	lr_init(&wd.status, wd.status_fd);
	if (wd.old_pid != 0)
		log_event("restart name=d old=%ld new=%ld reason=%s", (long)wd.old_pid,
		    (long)pid, wd.restart_reason);
	log_event("started name=d pid=%ld", (long)pid);
	sup_started(&wd.d, pid, now);
}

/* d was reaped (its group killed first): plan its restart, or give up. */
static void
d_exited(int status, double now)
{
	char how[64];

	log_event("reaped name=d pid=%ld status=\"%s\"", (long)wd.d.pid,
	    status_str(status, how, sizeof how));
	wd.old_pid = wd.d.pid;
	if (wd.restart_reason == NULL)
		wd.restart_reason = "exited";
	forget_ws();
	if (wd.status_fd != -1)
		close(wd.status_fd);
	wd.status_fd = -1;
	sup_exited(&wd.d, now, &wd.timing);
	if (wd.stopping)
		return;
	if (sup_intensity_add(&wd.intensity, now)) {
		wd.give_up = 1;
		return;
	}
	if (wd.d.restart_at > now)
		log_event("backoff name=d delay_ms=%.0f", (wd.d.restart_at - now) * 1000);
}

/*
 * Reap what has ended. d is looked at before it is reaped (WNOWAIT):
 * while it is a zombie its pid, which is also its group's id, cannot be
 * reused, so killpg() reaches its w's and nobody else.
 */
static void
reap(double now)
{
	for (;;) {
		siginfo_t si;
		int status;

		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				fatal("waitid");
			return;
		}
		if (si.si_pid == 0)
			return;
		if (si.si_pid == wd.d.pid && killpg(wd.d.pid, SIGKILL) == -1 && errno != ESRCH)
			warn("killpg %ld", (long)wd.d.pid);
		while (waitpid(si.si_pid, &status, 0) == -1)
			if (errno != EINTR)
				fatal("waitpid %ld", (long)si.si_pid);
		if (si.si_pid == wd.d.pid)
			d_exited(status, now);
		/* Anything else is a w orphaned by d's death: we are the
		 * subreaper, reaping it keeps the table free of zombies. */
	}
}

/* ---- the status pipe ----------------------------------------------- */

static struct wslot *
wslot_of(const char *name)
{
	unsigned long i;

	if (name[0] != 'w' || parse_ulong(name + 1, 1, MAX_W, &i) == -1)
		return NULL;
	return &wd.ws[i - 1];
}

static void
status_line(const char *line, double now)
{
	struct status st;
	struct wslot *s;

	if (proto_parse_status(line, &st) == -1) {
		warnx("bad status line from d: \"%.64s\"", line);
		return;
	}
	if (st.kind == ST_READY) {
		sup_ready(&wd.d, now);
		log_event("ready port=%u d=%ld", st.port, (long)wd.d.pid);
		return;
	}
	s = wslot_of(st.name);
	if (s == NULL) {
		warnx("status line from d names \"%s\"", st.name);
		return;
	}
	if (s->pidfd != -1)
		close(s->pidfd);
	s->pidfd = -1;
	s->sup.state = CHILD_DOWN;
	if (st.kind == ST_DOWN) {
		/* d has reaped it and restarts it; count the restart. */
		if (sup_intensity_add(&wd.intensity, now))
			wd.give_up = 1;
		return;
	}
	/* A pidfd pins the process: if the pid is recycled later, signals
	 * sent through it fail instead of reaching a stranger. The pid could
	 * already have been recycled before pidfd_open: check its parent. */
	s->pidfd = pidfd_open((pid_t)st.pid, 0);
	if (s->pidfd == -1) {
		if (errno != ESRCH)
			warn("pidfd_open %ld", st.pid);
		return;
	}
	{
		char path[64], buf[512], *p;
		long ppid = 0;
		FILE *f;

		snprintf(path, sizeof path, "/proc/%ld/stat", st.pid);
		f = fopen(path, "re");
		if (f != NULL && fgets(buf, sizeof buf, f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL)
			sscanf(p + 2, "%*c %ld", &ppid);
		if (f != NULL)
			fclose(f);
		if (ppid != (long)wd.d.pid) {
			close(s->pidfd);
			s->pidfd = -1;
			return;
		}
	}
	sup_init(&s->sup, st.name, now);
	sup_started(&s->sup, (pid_t)st.pid, now);
	sup_ready(&s->sup, now);
	log_event("supervising name=%s pid=%ld", st.name, st.pid);
}

static void
status_read(double now)
{
	char line[PROTO_LINE_MAX + 1];
	ssize_t n = lr_fill(&wd.status);
	int got;

	if (n == -1 && errno == EAGAIN)
		return;
	if (n <= 0) {
		/* d has gone: SIGCHLD tells the rest. */
		close(wd.status_fd);
		wd.status_fd = -1;
		return;
	}
	while ((got = lr_next(&wd.status, line, sizeof line)) == 1)
		status_line(line, now);
}

/* ---- heartbeats ---------------------------------------------------- */

/*
 * SIGUSR2 is a standard signal: while one is pending, another one sent to
 * the watchdog is simply lost, whoever sent it. Pinging every server at
 * once would make the replies arrive together, and all but one vanish:
 * under load, the same server would lose every time and be killed though
 * it is fine. So the servers are pinged one at a time, in turn: the next
 * SIGUSR1 goes out when the previous server has answered, or after its
 * slot (a quarter period). At most one reply is in flight.
 *
 * Server 0 is d, server i >= 1 is w<i>.
 */
static struct {
	int next;		/* the server to ping next in this round */
	int waiting;		/* the server whose reply is awaited, or -1 */
	double slot_end;	/* ... until then */
	double round_at;	/* when the next round starts */
} hb = { 0, -1, 0, 0 };

static struct sup_child *
server(int i)
{
	return i == 0 ? &wd.d : &wd.ws[i - 1].sup;
}

/* Send SIGUSR1 to server i. */
static void
ping(int i)
{
	int r = i == 0 ? kill(wd.d.pid, SIGUSR1) :
	    pidfd_send_signal(wd.ws[i - 1].pidfd, SIGUSR1, NULL, 0);

	if (r == -1 && errno != ESRCH)
		warn("SIGUSR1 to %s", server(i)->name);
}

/* Kill the servers silent for longer than T, then ping the next one due. */
static void
heartbeats(double now)
{
	int i;

	if (sup_frozen(&wd.d, now, &wd.timing)) {
		log_event("heartbeat-miss name=d pid=%ld silent_ms=%.0f", (long)wd.d.pid,
		    (now - wd.d.seen) * 1000);
		log_event("kill name=d pid=%ld reason=frozen group=yes", (long)wd.d.pid);
		/* d and every w: killpg on d's group, d not reaped yet. */
		if (killpg(wd.d.pid, SIGKILL) == -1)
			warn("killpg %ld", (long)wd.d.pid);
		sup_stopping(&wd.d);
		wd.restart_reason = "frozen";
		return;
	}
	for (i = 1; i <= MAX_W; i++) {
		struct wslot *s = &wd.ws[i - 1];

		if (!sup_frozen(&s->sup, now, &wd.timing))
			continue;
		log_event("heartbeat-miss name=%s pid=%ld silent_ms=%.0f", s->sup.name,
		    (long)s->sup.pid, (now - s->sup.seen) * 1000);
		log_event("kill name=%s pid=%ld reason=frozen", s->sup.name,
		    (long)s->sup.pid);
		/* Through the pidfd: it reaches that process or nobody. */
		if (pidfd_send_signal(s->pidfd, SIGKILL, NULL, 0) == -1 && errno != ESRCH)
			warn("kill %s", s->sup.name);
		sup_stopping(&s->sup);	/* d reaps it, starts another, says so */
	}
	if (hb.waiting != -1 && now < hb.slot_end)
		return;
	hb.waiting = -1;
	for (;;) {
		if (hb.next > MAX_W) {
			/* Round over: the next one a period after this one began. */
			hb.next = 0;
			hb.round_at += wd.timing.period;
			if (hb.round_at < now)
				hb.round_at = now;
		}
		if (hb.next == 0 && now < hb.round_at)
			return;
		i = hb.next++;
		if (server(i)->state != CHILD_UP)
			continue;
		ping(i);
		hb.waiting = i;
		hb.slot_end = now + wd.timing.period / 4;
		return;
	}
}

/* SIGUSR2 from pid: a heartbeat reply. */
static void
heartbeat_reply(pid_t pid, double now)
{
	int i;

	for (i = 0; i <= MAX_W; i++) {
		struct sup_child *c = server(i);

		if (c->state == CHILD_UP && c->pid == pid) {
			sup_seen(c, now);
			if (hb.waiting == i)
				hb.waiting = -1;	/* the next one may go now */
			return;
		}
	}
}

static void
handle_signals(double now)
{
	struct sig_event ev;
	int got;

	while ((got = selfpipe_read(&ev)) == 1) {
		switch (ev.signo) {
		case SIGTERM:
		case SIGINT:
			log_event("stopping signal=%s", signal_name(ev.signo));
			wd.stopping = 1;
			break;
		case SIGCHLD:
			reap(now);
			break;
		case SIGUSR2:
			heartbeat_reply(ev.pid, now);
			break;
		}
	}
	if (got == -1)
		fatal("read self-pipe");
}

/* ---- main loop, stop ---------------------------------------------- */

enum { PFD_SIGNAL, PFD_STATUS, PFD_STDIN, PFD_MAX };

static int
poll_timeout(double now)
{
	double next = now + 1.0, t;
	int i;

	if (wd.d.state == CHILD_DOWN && wd.d.restart_at < next)
		next = wd.d.restart_at;
	for (i = 0; i <= MAX_W; i++) {
		t = server(i)->seen + wd.timing.timeout;
		if (server(i)->state == CHILD_UP && t < next)
			next = t;
	}
	t = hb.waiting != -1 ? hb.slot_end : hb.next == 0 ? hb.round_at : now;
	if (t < next)
		next = t;
	return next <= now ? 0 : (int)((next - now) * 1000) + 1;
}

static void
supervise(void)
{
	struct pollfd pfd[PFD_MAX];

	while (!wd.stopping && !wd.give_up) {
		double now = log_now();

		if (sup_restart_due(&wd.d, now))
			start_d(now);
		heartbeats(now);
		pfd[PFD_SIGNAL] = (struct pollfd){ wd.sigfd, POLLIN, 0 };
		pfd[PFD_STATUS] = (struct pollfd){ wd.status_fd, POLLIN, 0 };
		pfd[PFD_STDIN] = (struct pollfd){ wd.use_stdin ? 0 : -1, POLLIN, 0 };
		if (poll(pfd, PFD_MAX, poll_timeout(now)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		now = log_now();
		if (pfd[PFD_SIGNAL].revents != 0)
			handle_signals(now);
		if (pfd[PFD_STATUS].revents != 0 && wd.status_fd != -1)
			status_read(now);
		if (pfd[PFD_STDIN].revents != 0) {
			/* Enter on the terminal (tutorial §3): a clean stop. */
			log_event("stopping reason=stdin");
			wd.stopping = 1;
		}
	}
}

/* Stop the tree: SIGTERM to d (it stops its w's), 3 s, then SIGKILL. */
static void
stop_tree(void)
{
	double until = log_now() + 3.0;
	int k;

	if (wd.d.pid > 0 && kill(wd.d.pid, SIGTERM) == -1)
		warn("kill d[%ld]", (long)wd.d.pid);
	while (wd.d.pid > 0) {
		struct pollfd p = { wd.sigfd, POLLIN, 0 };
		double now = log_now();

		if (now >= until) {
			log_event("kill name=d pid=%ld reason=stop-timeout group=yes",
			    (long)wd.d.pid);
			killpg(wd.d.pid, SIGKILL);
			until = now + 5.0;
		}
		if (poll(&p, 1, (int)((until - now) * 1000) + 1) == -1 && errno != EINTR)
			fatal("poll");
		handle_signals(log_now());
	}
	/* Orphans, if any: we are their subreaper. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	/* A d killed with SIGKILL could not remove its files. */
	for (k = 1; k <= MAX_W; k++) {
		char name[32], path[PATH_MAX];

		snprintf(name, sizeof name, DWTUBE_FMT, k);
		if (rundir_path(wd.run_dir, name, path, sizeof path) == 0)
			(void)unlink(path);
		snprintf(name, sizeof name, WDTUBE_FMT, k);
		if (rundir_path(wd.run_dir, name, path, sizeof path) == 0)
			(void)unlink(path);
	}
	{
		char path[PATH_MAX];

		if (rundir_path(wd.run_dir, "d.pid", path, sizeof path) == 0)
			(void)unlink(path);
	}
	forget_ws();
	close(wd.listen_fd);
	if (wd.status_fd != -1)
		close(wd.status_fd);
	selfpipe_close();
}

int
main(int argc, char **argv)
{
	char why[128];
	int i;

	log_init("watchdog");
	parse_options(argc, argv);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal SIGPIPE");
	if (rundir_prepare(wd.run_dir, why, sizeof why) == -1)
		fatalx("run directory %s: %s", wd.run_dir, why);
	/* Orphaned w's (d died first) are re-parented to us, not to init:
	 * we reap them, and nothing of the tree escapes. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		fatal("prctl PR_SET_CHILD_SUBREAPER");
	/* The port first: "address in use" is the likeliest failure. */
	wd.listen_fd = net_listen(NET_LOOPBACK, wd.port);
	if (wd.listen_fd == -1)
		fatal("bind %s:%u", NET_LOOPBACK, wd.port);
	wd.sigfd = selfpipe_open();
	if (wd.sigfd == -1)
		fatal("self-pipe");
	if (selfpipe_catch(SIGTERM) == -1 || selfpipe_catch(SIGINT) == -1 ||
	    selfpipe_catch(SIGCHLD) == -1 || selfpipe_catch(SIGUSR2) == -1)
		fatal("sigaction");
	wd.use_stdin = isatty(0);
	wd.status_fd = -1;
	for (i = 0; i < MAX_W; i++)
		wd.ws[i].pidfd = -1;
	sup_init(&wd.d, "d", log_now());
	log_event("listening port=%d period_ms=%.0f timeout_ms=%.0f", net_local_port(wd.listen_fd),
	    wd.timing.period * 1000, wd.timing.timeout * 1000);
	supervise();
	if (wd.give_up)
		log_event("give-up restarts=%u window_s=%.0f", wd.intensity.count,
		    wd.intensity.window);
	stop_tree();
	log_event("stopped");
	if (wd.give_up)
		fatalx("more than %u restarts within %.0f s: gave up",
		    wd.intensity.max, wd.intensity.window);
	return 0;
}
