/*
 * child.c - d's side of its child w: start it (fork + exec), open the
 * FIFOs with it, tell it to stop (2.a), and reap it (2.b). Until d reaps
 * it, a w that has exited stays in the process table as a zombie.
 * Shared state and contracts: d.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "d.h"
#include "log.h"
#include "util.h"

/*
 * Seconds between two tries to open a FIFO w has not opened yet (as in
 * steps 3 and 4).
 */
#define RETRY_OPEN 0.01

/* Build w's command line into args (room for 10 pointers). */
static void
w_args(const struct options *o, char *delay, size_t size, char *args[10])
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
	if (o->quiet)
		args[i++] = "-q";
	args[i] = NULL;
}

/* Start w as a child process running o->w_path (d.h). */
pid_t
start_w(const struct options *o)
{
	char delay[32], *args[10];
	pid_t pid;

	w_args(o, delay, sizeof delay, args);
	/* Text still in d's stdout buffer would be copied into the child. */
	fflush(NULL);
	pid = fork();
	if (pid == -1)
		return -1;
	if (pid == 0) {
		execv(o->w_path, args);
		child_fatal(127, "exec %s", o->w_path);
	}
	log_event("started name=w pid=%ld", (long)pid);
	return pid;
}

/*
 * Tell w to stop (2.a), once; w must then be gone within STOP_GRACE_MS.
 * reason is logged: "done", "SIGTERM", "w-gone", ...
 */
void
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
void
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
void
reap_children(struct run *r)
{
	/* TODO 2.6: call waitpid(-1, &status, WNOHANG) in a loop while it
	 * returns a pid, and call w_reaped() when that pid is w's. It
	 * returns 0 when the children left are all running, -1 with ECHILD
	 * when there is none: anything else deserves a warn("waitpid").
	 * Why loop, when d has a single child? (Hint: two SIGCHLD sent
	 * close together may be delivered as one.) */
}

/*
 * Last resort: kill w and wait for it, blocking. SIGKILL can be neither
 * caught nor ignored, so this wait ends.
 */
void
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
 * Open path (dwtube1) for writing, once w has opened it for reading.
 * A plain open() would wait until then, and forever if w died first.
 * With O_NONBLOCK it fails at once (ENXIO) while there is no reader, so
 * d tries again every RETRY_OPEN s and handles its signals in between.
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
		wait_events(r, (int)(RETRY_OPEN * 1000));
	}
	return fd;
}

/*
 * Open d's ends of the FIFOs, in the order w opens them: dwtube1 for
 * writing, then wdtube1 for reading. Returns 0, or -1 after saying why.
 * w opens both with plain blocking open()s, each waiting for d's end:
 * the order that keeps them from deadlocking is this step's lesson
 * (question 2.c). From step 3 on, d opens its read end before starting
 * w, and no open() ever waits.
 */
int
open_fifos(struct run *r)
{
	/* TODO 2.2: open dwtube1 with open_writer() (it waits for w to open
	 * the other end), then wdtube1 for reading, non-blocking and
	 * close-on-exec (O_NONBLOCK: this open returns at once, and reads
	 * never block the main loop). If either fails, leave r->wd_fd at -1,
	 * errno set: the code after your block says why.
	 * w opens them in the same order: what would happen if it did not? */
	errno = ENOSYS;
	if (r->wd_fd != -1) {
		lr_init(&r->lr, r->wd_fd);
		log_event("connected name=w pid=%ld", (long)r->w_pid);
		return 0;
	}
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

