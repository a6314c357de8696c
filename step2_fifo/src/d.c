/*
 * d.c - step 2's main server.
 *
 * d creates the shared memory segment (as in step 1) and the two named
 * pipes dwtube1 and wdtube1 in the run directory, starts w (fork + exec)
 * and opens its ends of the pipes. Then ping/pong, N times: d writes
 * request n into the segment and sends "ping"; w reads it, writes its
 * answer, sends "pong"; d reads the answer. The pipes carry the turn, the
 * segment carries the data. After N exchanges, or on SIGTERM or SIGINT,
 * d closes dwtube1: w reads end of file and exits; d reaps it, removes
 * the pipes and the segment, and exits.
 *
 *     d [-n N] [-t MS] [-r DIR] [-m NAME] [-x PROG]   N exchanges, logged
 *     d -n N -q                                        benchmark: figures only
 *     d -R [-n N]                                      step 1's race, in turns
 *     d -Z MS                                          see w as a zombie
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fifo.h"
#include "io.h"
#include "log.h"
#include "proto.h"
#include "rtt.h"
#include "rundir.h"
#include "selfpipe.h"
#include "shm_area.h"
#include "util.h"

/* How long d waits for w, in milliseconds. */
#define OPEN_TIMEOUT_MS 10000	/* to open its end of dwtube1 */
#define OPEN_RETRY_MS 2		/* between two tries to open dwtube1 */
#define STOP_GRACE_MS 2000	/* to exit once told to stop, else SIGKILL */

/* What the command line asked for. */
struct options {
	char run_dir[PATH_MAX];	/* where the FIFOs live */
	char shm_name[256];	/* the segment's name */
	unsigned long count;	/* exchanges */
	unsigned long delay_ms;	/* w's processing time per request */
	unsigned long zombie_ms; /* -Z: how long w stays a zombie (0: never) */
	int race;		/* -R: the race of step 1, in turns */
	int quiet;		/* -q: no log lines, only the figures */
	char w_path[PATH_MAX];	/* the program to start as w */
};

/* The poll slots of the main loop. */
enum { PFD_SIGNAL, PFD_WD, PFD_MAX };

/* Everything d holds during a run; cleanup() releases what is set. */
struct run {
	const struct options *o;
	struct shm_layout *shm;		/* NULL until created */
	char dw_path[PATH_MAX];		/* RUN_DIR/dwtube1 */
	char wd_path[PATH_MAX];		/* RUN_DIR/wdtube1 */
	int made_dw, made_wd;		/* d created that FIFO: remove it */
	char lock_path[PATH_MAX];	/* RUN_DIR/d.pid */
	int lock_fd;			/* holds the lock on the run directory; -1 */
	int sig_fd, dw_fd, wd_fd;	/* -1 when closed */
	struct line_reader lr;		/* w's messages, from wdtube1 */
	pid_t w_pid;			/* 0: no w (not started, or reaped) */
	pid_t w_name;			/* w's pid, kept once reaped: a last
					 * pong may be read after the reaping */
	int w_status;			/* how w ended, once reaped */
	unsigned long sent, done;	/* pings sent, pongs received */
	double ping_at;			/* when the ping in flight left */
	int stopping;			/* d has told w to stop */
	double stop_by;			/* ... and w must be gone by then */
	double reap_at;			/* -Z: when to reap w (0: not a zombie) */
	int early;			/* w ended before d told it to stop */
	int killed;			/* d ended w with a signal itself */
	int rc;				/* exit status */
	struct rtt_stats rtt;		/* round-trip times */
};

static noreturn void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: d [-n N] [-t MS] [-q] [-r DIR] [-m NAME] [-x PROG]\n"
	    "       d -R [-n N] [-r DIR] [-m NAME] [-x PROG]\n"
	    "       d -Z MS [-n N] [-t MS] [-r DIR] [-m NAME] [-x PROG]\n"
	    "  -n N     ping/pong exchanges (default 5; race mode 10000)\n"
	    "  -t MS    w's processing time per request in ms (default 0)\n"
	    "  -q       quiet: no log lines, only the figures (benchmark)\n"
	    "  -R       race mode: each turn, d then w add 1 to a shared counter %d times\n"
	    "  -Z MS    zombie demo: leave w a zombie for MS ms before reaping it\n"
	    "  -r DIR   run directory for " DW_FIFO " and " WD_FIFO
	    " (default $XDG_RUNTIME_DIR/osps, else /tmp/osps-<uid>)\n"
	    "  -m NAME  shared memory segment name (default /osps-<uid>)\n"
	    "  -x PROG  the program to start as w (default: w next to d)\n"
	    "  -h       show this help\n", RACE_BATCH);
	exit(code);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	int c, count_given = 0;

	if (rundir_default(o->run_dir, sizeof o->run_dir) == -1)
		fatal("default run directory");
	snprintf(o->shm_name, sizeof o->shm_name, SHM_NAME_FMT, (unsigned)getuid());
	o->count = 5;
	o->delay_ms = 0;
	o->zombie_ms = 0;
	o->race = 0;
	o->quiet = 0;
	if (sibling_path(argv[0], "w", o->w_path, sizeof o->w_path) == -1)
		fatal("program path %s", argv[0]);
	while ((c = getopt(argc, argv, "n:t:qRZ:r:m:x:h")) != -1) {
		switch (c) {
		case 'n':
			if (parse_ulong(optarg, 1, 1000000000, &o->count) == -1) {
				warnx("-n %s: expected a count, 1 to 1000000000", optarg);
				usage(2);
			}
			count_given = 1;
			break;
		case 't':
			if (parse_ulong(optarg, 0, 60000, &o->delay_ms) == -1) {
				warnx("-t %s: expected milliseconds, 0 to 60000", optarg);
				usage(2);
			}
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'R':
			o->race = 1;
			break;
		case 'Z':
			if (parse_ulong(optarg, 1, 600000, &o->zombie_ms) == -1) {
				warnx("-Z %s: expected milliseconds, 1 to 600000", optarg);
				usage(2);
			}
			break;
		case 'r':
			if (snprintf(o->run_dir, sizeof o->run_dir, "%s", optarg) >=
			    (int)sizeof o->run_dir) {
				warnx("-r %s: path too long", optarg);
				usage(2);
			}
			break;
		case 'm':
			if (!shm_name_valid(optarg)) {
				warnx("-m %s: a segment name is \"/\" then 1 to 250 "
				    "characters other than \"/\"", optarg);
				usage(2);
			}
			snprintf(o->shm_name, sizeof o->shm_name, "%s", optarg);
			break;
		case 'x':
			snprintf(o->w_path, sizeof o->w_path, "%s", optarg);
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
	/* As many increments as step 1's race (2 x 10 million), in turns. */
	if (o->race && !count_given)
		o->count = 10000;
}

/*
 * Create and map the segment. A segment of that name left by a d that
 * crashed (its owner is dead) is reported and replaced; one in use by a
 * live d, or one that is not ours, is refused: never silently reused.
 * Returns the segment, or NULL after saying why.
 */
static struct shm_layout *
create_segment(const char *name)
{
	struct shm_layout *shm = shm_area_create(name, sizeof *shm);
	struct shm_layout *old;
	pid_t owner;

	if (shm != NULL || errno != EEXIST)
		goto done;
	old = shm_area_open(name, sizeof *old);
	if (old == NULL || old->magic != SHM_MAGIC) {
		if (old != NULL)
			shm_area_close(old, sizeof *old);
		warnx("shared memory %s exists and is not a step-2 segment; "
		    "remove /dev/shm%s or choose another name with -m", name, name);
		return NULL;
	}
	owner = old->owner;
	shm_area_close(old, sizeof *old);
	/* kill(pid, 0) sends nothing: it only asks whether pid exists. */
	if (kill(owner, 0) == 0 || errno != ESRCH) {
		warnx("shared memory %s is in use by d[%ld]; "
		    "choose another name with -m", name, (long)owner);
		return NULL;
	}
	log_event("stale-segment name=%s owner=%ld action=replaced", name, (long)owner);
	if (shm_area_unlink(name) == -1) {
		warn("shm_unlink %s", name);
		return NULL;
	}
	shm = shm_area_create(name, sizeof *shm);
done:
	if (shm == NULL) {
		warn("shm_open %s", name);
		return NULL;
	}
	shm->magic = SHM_MAGIC;
	shm->owner = getpid();
	log_event("created name=%s size=%zu", name, sizeof *shm);
	return shm;
}

/* Create one FIFO of the pair; *made records that d must remove it. */
static int
make_fifo(const char *path, int *made)
{
	char why[256];

	switch (fifo_create(path, why, sizeof why)) {
	case 0:
		log_event("created path=%s mode=0600", path);
		break;
	case 1:
		log_event("stale-fifo path=%s action=replaced", path);
		break;
	default:
		warnx("FIFO %s: %s", path, why);
		return -1;
	}
	*made = 1;
	return 0;
}

/*
 * Start w as a child process running w_path with args (a NULL-terminated
 * argv, args[0] being the program name). Returns w's pid, or -1 with errno.
 */
static pid_t
start_w(const char *w_path, char *const args[])
{
	pid_t pid;

	/* Text still in d's stdout buffer would be copied into the child. */
	fflush(NULL);
	pid = fork();
	if (pid == -1)
		return -1;
	if (pid == 0) {
		execv(w_path, args);
		child_fatal(127, "exec %s", w_path);
	}
	log_event("started name=w pid=%ld", (long)pid);
	return pid;
}

/*
 * Tell w to stop (2.a), once; w must then be gone within STOP_GRACE_MS.
 * reason is logged: "done", "SIGTERM", "w-gone", ...
 */
static void
stop_w(struct run *r, const char *reason)
{
	if (r->stopping)
		return;
	r->stopping = 1;
	r->stop_by = log_now() + STOP_GRACE_MS / 1000.0;
	log_event("stop reason=%s exchanges=%lu", reason, r->done);
	/* TODO 2.5: the stop protocol. If d's end of dwtube1 is open, close
	 * it (and set dw_fd to -1): w reads end of file after the messages
	 * already sent, and exits. If w has not connected yet (dw_fd is -1
	 * and w_pid > 0), no pipe can carry the order: send it SIGTERM and
	 * set r->killed. Why is closing the pipe a better order than a
	 * "stop" message? What does w see if d dies instead? */
}

/* w is gone (end of file, EPIPE, reaped) before d told it to stop. */
static void
w_left(struct run *r)
{
	if (r->stopping)
		return;
	r->early = 1;
	stop_w(r, "w-gone");
}

/* w was reaped with status: log how it ended, forget its pid. */
static void
w_reaped(struct run *r, int status)
{
	char how[64];

	log_event("reaped name=w pid=%ld status=\"%s\"", (long)r->w_pid,
	    status_str(status, how, sizeof how));
	r->w_pid = 0;
	r->w_status = status;
	w_left(r);
}

/*
 * Reap every child that has ended, without blocking (on SIGCHLD).
 * Until a child is reaped, it stays in the process table as a zombie.
 */
static void
reap_children(struct run *r)
{
	/* TODO 2.6: call waitpid(-1, &status, WNOHANG) in a loop while it
	 * returns a pid, and call w_reaped() when that pid is w's. It
	 * returns 0 when the children left are all running, -1 with ECHILD
	 * when there is none: anything else deserves a warn("waitpid").
	 * Why loop, when d has a single child? (Hint: two SIGCHLD sent
	 * close together may be delivered as one.) */
	(void)r;
}

/*
 * Last resort: kill w and wait for it, blocking. SIGKILL can be neither
 * caught nor ignored, so this wait ends.
 */
static void
kill_w(struct run *r)
{
	int status;
	pid_t pid;

	if (r->w_pid <= 0)
		return;	/* kill(0, ...) would hit d's whole process group */
	if (kill(r->w_pid, SIGKILL) == -1)
		warn("kill w[%ld]", (long)r->w_pid);
	r->killed = 1;
	do
		pid = waitpid(r->w_pid, &status, 0);
	while (pid == -1 && errno == EINTR);
	if (pid == -1) {
		warn("waitpid w[%ld]", (long)r->w_pid);
		r->w_pid = 0;
		return;
	}
	w_reaped(r, status);
}

/*
 * -Z: w has sent SIGCHLD, but d does not reap it yet: for zombie_ms it
 * stays a zombie, "Z" in ps. waitid() with WNOWAIT tells whether w has
 * exited without reaping it (SIGCHLD also comes when a child is stopped).
 */
static void
zombie_demo(struct run *r)
{
	siginfo_t info;

	if (r->reap_at != 0 || r->w_pid <= 0)
		return;
	memset(&info, 0, sizeof info);
	if (waitid(P_PID, (id_t)r->w_pid, &info, WEXITED | WNOHANG | WNOWAIT) == -1) {
		warn("waitid w[%ld]", (long)r->w_pid);
		return;
	}
	if (info.si_pid != r->w_pid)
		return;
	r->reap_at = log_now() + r->o->zombie_ms / 1000.0;
	log_event("zombie name=w pid=%ld ms=%lu see=\"ps -o pid,stat,comm --ppid %ld\"",
	    (long)r->w_pid, r->o->zombie_ms, (long)getpid());
}

/* Handle the signals recorded in the self-pipe. */
static void
on_signals(struct run *r)
{
	struct sig_event ev;
	int got;

	while ((got = selfpipe_read(&ev)) == 1) {
		if (ev.signo == SIGCHLD && r->o->zombie_ms > 0) {
			zombie_demo(r);
		} else if (ev.signo == SIGCHLD) {
			reap_children(r);
		} else {
			/* SIGTERM, SIGINT: a clean stop, and no more zombie show. */
			log_event("signal name=%s from=%ld", signal_name(ev.signo), (long)ev.pid);
			stop_w(r, signal_name(ev.signo));
			if (r->reap_at != 0)
				r->reap_at = log_now();
		}
	}
	if (got == -1)
		warn("read self-pipe");
}

/* Race mode: add 1 to the counter RACE_BATCH times, one at a time. */
static void
race_turn(struct shm_layout *shm)
{
	int i;

	for (i = 0; i < RACE_BATCH; i++)
		shm->counter++;	/* safe: w does not touch it now */
}

/*
 * Start exchange number sent + 1: write the request into the segment,
 * then send ping. Until pong, the segment is w's: d must not touch it.
 * Returns 0, or -1 with errno (EPIPE: w has closed dwtube1).
 */
static int
send_ping(struct run *r)
{
	unsigned long n = r->sent + 1;

	/* TODO 2.4 (d's side): in race mode, race_turn(); otherwise write
	 * "request N from d[PID]" into r->shm->request and log it ("send
	 * msg=ping n=N request=\"...\""; -q silences log_event). Then
	 * note the time in r->ping_at (log_now()), send ping with
	 * proto_send() and count it in r->sent. Why write the request
	 * before ping, not after? */
	(void)n;
	(void)race_turn;
	errno = ENOSYS;
	return -1;
}

/*
 * The pong for exchange number done + 1 came: the segment is d's again.
 * Read w's answer and check it is the answer to this request.
 */
static void
on_pong(struct run *r)
{
	double now = log_now();
	char expected[MSG_MAX];

	r->done++;
	rtt_add(&r->rtt, now - r->ping_at);
	r->rtt.end = now;
	if (r->o->race)
		return;
	/* TODO 2.4 (d's side): build the answer w must have written,
	 * "w[W_PID] done: REQUEST" (%.64s of the request; W_PID from
	 * r->w_name: w may be reaped already), and compare it
	 * with r->shm->answer. Wrong: warnx("answer %lu is \"%s\", expected
	 * \"%s\"", ...), set r->rc to 1 and stop_w(r, "wrong-answer").
	 * Right: log "recv msg=pong n=N answer=\"...\" rtt_us=US". */
	(void)expected;
}

/* Handle every message buffered or waiting on wdtube1. */
static void
on_messages(struct run *r)
{
	enum proto_msg m;
	int got;

	/* Take messages until none is left in the reader's buffer (two can
	 * arrive in one read); a partial line waits for the next poll(). */
	do {
		got = proto_recv(&r->lr, &m);
		if (got == 1 && m == PROTO_PONG && r->sent > r->done) {
			on_pong(r);
		} else if (got == 1) {
			warnx("%s: unexpected \"%s\" from w", r->wd_path, proto_word(m));
			r->rc = 1;
			stop_w(r, "protocol-error");
		}
	} while (got == 1 && lr_pending(&r->lr));
	if (got == 1 || (got == -1 && errno == EAGAIN))
		return;
	if (got == -1) {
		warn("message on %s", r->wd_path);
		r->rc = 1;
		stop_w(r, "protocol-error");
	}
	/* End of file (w closed wdtube1: it is exiting) or a bad message:
	 * nothing more to read from this pipe. */
	close(r->wd_fd);
	r->wd_fd = -1;
	w_left(r);
}

/* Act on deadlines: a zombie to reap (-Z), a w too slow to stop. */
static void
on_deadlines(struct run *r)
{
	double now = log_now();

	if (r->reap_at != 0 && now >= r->reap_at) {
		r->reap_at = 0;
		reap_children(r);
	} else if (r->reap_at == 0 && r->stopping && r->w_pid > 0 &&
	    now >= r->stop_by) {
		warnx("w[%ld] did not stop within %d ms: sending SIGKILL",
		    (long)r->w_pid, STOP_GRACE_MS);
		r->rc = 1;
		kill_w(r);
	}
}

/* Milliseconds until the next deadline, or -1 if there is none. */
static int
next_timeout(const struct run *r)
{
	double at, left;

	if (r->reap_at != 0)
		at = r->reap_at;
	else if (r->stopping && r->w_pid > 0)
		at = r->stop_by;
	else
		return -1;
	left = (at - log_now()) * 1000;
	return left <= 0 ? 0 : (int)left + 1;
}

/*
 * Wait up to timeout_ms (-1: no limit) for something to happen, then
 * handle it: signals first, then w's messages, then deadlines.
 */
static void
wait_events(struct run *r, int timeout_ms)
{
	struct pollfd pfd[PFD_MAX];

	pfd[PFD_SIGNAL].fd = r->sig_fd;
	pfd[PFD_SIGNAL].events = POLLIN;
	pfd[PFD_WD].fd = r->wd_fd;	/* -1 (poll skips it) while closed */
	pfd[PFD_WD].events = POLLIN;
	if (poll(pfd, PFD_MAX, timeout_ms) == -1) {
		if (errno == EINTR)
			return;
		/* NOTE: cannot happen with valid arguments; end the run. */
		warn("poll");
		r->rc = 1;
		kill_w(r);
		return;
	}
	if (pfd[PFD_SIGNAL].revents != 0)
		on_signals(r);
	if (r->wd_fd != -1 && pfd[PFD_WD].revents != 0)
		on_messages(r);
	on_deadlines(r);
}

/*
 * Open path (dwtube1) for writing, once w has opened it for reading.
 * A plain open() would wait until then, and forever if w died first.
 * With O_NONBLOCK it fails at once (ENXIO) while there is no reader, so
 * d tries again every OPEN_RETRY_MS and handles its signals in between.
 * The descriptor stays non-blocking: at most one message is in the pipe,
 * so a write never finds it full (it would fail with EAGAIN, not freeze).
 * Returns the descriptor, or -1 with errno: ECHILD (w ended), EINTR (d
 * was told to stop), ETIMEDOUT, or the error of open().
 */
static int
open_writer(struct run *r, const char *path)
{
	double give_up = log_now() + OPEN_TIMEOUT_MS / 1000.0;
	int fd;

	while ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		if (errno != ENXIO)
			return -1;
		if (r->w_pid <= 0 || r->stopping) {
			errno = r->w_pid <= 0 ? ECHILD : EINTR;
			return -1;
		}
		if (log_now() >= give_up) {
			errno = ETIMEDOUT;
			return -1;
		}
		wait_events(r, OPEN_RETRY_MS);
	}
	return fd;
}

/*
 * Open d's ends of the FIFOs, in the order w opens them: dwtube1 for
 * writing, then wdtube1 for reading. Returns 0, or -1 after saying why.
 */
static int
open_fifos(struct run *r)
{
	/* TODO 2.2: open dwtube1 with open_writer() (it waits for w to open
	 * the other end), then wdtube1 for reading, non-blocking and
	 * close-on-exec (O_NONBLOCK: this open returns at once, and reads
	 * never block the main loop). Return -1 if either fails, errno set.
	 * w opens them in the same order: what would happen if it did not? */
	(void)open_writer;
	errno = ENOSYS;
	goto fail;
	lr_init(&r->lr, r->wd_fd);
	log_event("connected name=w pid=%ld", (long)r->w_pid);
	return 0;

fail:
	/* ECHILD and EINTR: w ended, or d was told to stop; said elsewhere. */
	if (errno == ETIMEDOUT) {
		warnx("w has not opened %s within %d ms", r->dw_path, OPEN_TIMEOUT_MS);
		r->rc = 1;
	} else if (errno != ECHILD && errno != EINTR) {
		warn("open %s", r->dw_fd == -1 ? r->dw_path : r->wd_path);
		r->rc = 1;
	}
	stop_w(r, "error");
	return -1;
}

/*
 * The exchanges: ping/pong until count are done or d is told to stop,
 * then wait until w is reaped.
 */
static void
run_exchanges(struct run *r)
{
	r->rtt.start = log_now();
	while (r->w_pid > 0) {
		if (!r->stopping && r->done == r->sent) {
			if (r->done == r->o->count) {
				stop_w(r, "done");
			} else if (send_ping(r) == -1) {
				/* EPIPE: w has closed its end, it is exiting. */
				if (errno == EPIPE) {
					w_left(r);
				} else {
					warn("write %s", r->dw_path);
					r->rc = 1;
					stop_w(r, "error");
				}
			}
		}
		wait_events(r, next_timeout(r));
	}
}

/* Say how the run ended: w's fate, then the figures on stdout. */
static void
report(struct run *r)
{
	char how[64];
	int ok = WIFEXITED(r->w_status) && WEXITSTATUS(r->w_status) == 0;
	long expected, actual;

	status_str(r->w_status, how, sizeof how);
	if (r->early) {
		warnx("w ended after %lu of %lu exchanges: %s", r->done,
		    r->o->count, how);
		r->rc = 1;
	} else if (!ok && !r->killed) {
		warnx("w %s", how);
		r->rc = 1;
	}
	if (r->o->race && r->done > 0) {
		expected = 2L * RACE_BATCH * (long)r->done;
		actual = r->shm->counter;
		log_event("race expected=%ld actual=%ld lost=%ld", expected,
		    actual, expected - actual);
		printf("race: expected %ld, actual %ld, lost %ld updates (%.1f%%)\n",
		    expected, actual, expected - actual,
		    100.0 * (double)(expected - actual) / (double)expected);
	} else if (r->done > 0) {
		rtt_print(stdout, &r->rtt);
	}
}

/* Build w's command line into args (room for 11 pointers). */
static void
w_args(const struct options *o, char *delay, size_t size, char *args[11])
{
	int i = 0;

	snprintf(delay, size, "%lu", o->delay_ms);
	args[i++] = "w";
	args[i++] = "-r";
	args[i++] = (char *)o->run_dir;
	args[i++] = "-m";
	args[i++] = (char *)o->shm_name;
	args[i++] = "-t";
	args[i++] = delay;
	if (o->race)
		args[i++] = "-R";
	if (o->quiet)
		args[i++] = "-q";
	args[i] = NULL;
}

/*
 * Lock the run directory for the whole run: a second d on the same
 * directory (even one starting at the same instant) is refused before it
 * looks at the FIFOs, so two d's never both take them for stale. The lock
 * (fcntl) goes away with the process, even on SIGKILL: a file left by a
 * crash is simply locked again. Returns 0, or -1 after saying why.
 */
static int
lock_run_dir(struct run *r)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct stat held, named;
	char pid[32];
	int n;

	for (;;) {
		r->lock_fd = open(r->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (r->lock_fd == -1) {
			warn("open %s", r->lock_path);
			return -1;
		}
		if (fcntl(r->lock_fd, F_SETLK, &fl) == -1) {
			if ((errno == EAGAIN || errno == EACCES) &&
			    fcntl(r->lock_fd, F_GETLK, &fl) == 0)
				warnx("run directory %s is in use by d[%ld]; choose another with -r",
				    r->o->run_dir, (long)fl.l_pid);
			else
				warn("lock %s", r->lock_path);
			close(r->lock_fd);
			r->lock_fd = -1;
			return -1;
		}
		/* The d before us may have removed the file between our open
		 * and our lock: then we hold a lock nobody else can see. */
		if (fstat(r->lock_fd, &held) == 0 && stat(r->lock_path, &named) == 0 &&
		    held.st_ino == named.st_ino)
			break;
		close(r->lock_fd);
	}
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(r->lock_fd, 0) == -1 || write_all(r->lock_fd, pid, (size_t)n) == -1) {
		warn("write %s", r->lock_path);
		return -1;
	}
	return 0;
}

/*
 * Prepare the run: run directory, segment, signals, FIFOs, then w.
 * Returns 0, or -1 after saying why.
 */
static int
setup(struct run *r)
{
	const struct options *o = r->o;
	char why[256], delay[32], *args[11];

	/* w may die while d writes to it: get EPIPE, not a silent death. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		warn("signal SIGPIPE");
		return -1;
	}
	if (rundir_prepare(o->run_dir, why, sizeof why) == -1) {
		warnx("run directory %s: %s", o->run_dir, why);
		return -1;
	}
	if (rundir_path(o->run_dir, DW_FIFO, r->dw_path, sizeof r->dw_path) == -1 ||
	    rundir_path(o->run_dir, WD_FIFO, r->wd_path, sizeof r->wd_path) == -1 ||
	    rundir_path(o->run_dir, D_PIDFILE, r->lock_path, sizeof r->lock_path) == -1) {
		warn("run directory %s", o->run_dir);
		return -1;
	}
	if (lock_run_dir(r) == -1)
		return -1;
	r->shm = create_segment(o->shm_name);
	if (r->shm == NULL)
		return -1;
	/* SIGCHLD is caught before w exists, so that its end is never missed. */
	r->sig_fd = selfpipe_open();
	if (r->sig_fd == -1) {
		warn("pipe");
		return -1;
	}
	if (selfpipe_catch(SIGCHLD) == -1 || selfpipe_catch(SIGTERM) == -1 ||
	    selfpipe_catch(SIGINT) == -1) {
		warn("sigaction");
		return -1;
	}
	if (make_fifo(r->dw_path, &r->made_dw) == -1 ||
	    make_fifo(r->wd_path, &r->made_wd) == -1)
		return -1;
	if (rtt_init(&r->rtt, o->count) == -1) {
		warn("malloc");
		return -1;
	}
	w_args(o, delay, sizeof delay, args);
	r->w_pid = start_w(o->w_path, args);
	if (r->w_pid == -1) {
		warn("fork");
		r->w_pid = 0;
		return -1;
	}
	r->w_name = r->w_pid;
	return 0;
}

/* Release what the run holds; nothing of it is left on the system. */
static void
cleanup(struct run *r)
{
	if (r->w_pid > 0)
		kill_w(r);
	if (r->dw_fd != -1)
		close(r->dw_fd);
	if (r->wd_fd != -1)
		close(r->wd_fd);
	selfpipe_close();
	if (r->made_dw && unlink(r->dw_path) == 0)
		log_event("removed path=%s", r->dw_path);
	if (r->made_wd && unlink(r->wd_path) == 0)
		log_event("removed path=%s", r->wd_path);
	if (r->shm != NULL) {
		if (shm_area_close(r->shm, sizeof *r->shm) == -1)
			warn("munmap %s", r->o->shm_name);
		if (shm_area_unlink(r->o->shm_name) == -1)
			warn("shm_unlink %s", r->o->shm_name);
		else
			log_event("removed name=%s", r->o->shm_name);
	}
	/* Last: until here, another d must not take what we leave. */
	if (r->lock_fd != -1) {
		if (unlink(r->lock_path) == -1)
			warn("unlink %s", r->lock_path);
		close(r->lock_fd);
	}
	rtt_free(&r->rtt);
}

int
main(int argc, char **argv)
{
	struct options o;
	struct run r;

	log_init("d");
	parse_options(argc, argv, &o);
	log_set_quiet(o.quiet);
	memset(&r, 0, sizeof r);
	r.o = &o;
	r.sig_fd = r.dw_fd = r.wd_fd = r.lock_fd = -1;

	if (setup(&r) == -1) {
		r.rc = 1;
	} else {
		/* If open_fifos() fails, it tells w to stop: run_exchanges()
		 * then only waits until w is reaped. */
		(void)open_fifos(&r);
		run_exchanges(&r);
		report(&r);
	}
	cleanup(&r);
	return r.rc;
}
