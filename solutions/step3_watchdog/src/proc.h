/*
 * proc.h - the process plumbing d and the watchdog share: reap every
 * child that has ended, and wait, bounded, for children asked to stop.
 * Each program says what is its own (which child is which, how to kill
 * the ones left) through a few functions of its own; the loops, and their
 * traps, are written once, here.
 */
#ifndef STEP3_PROC_H
#define STEP3_PROC_H

#include <poll.h>
#include <sys/types.h>

#include "selfpipe.h"

/* A supervisor's signals, caught through the self-pipe. */
struct proc_signals {
	int fd;			/* the self-pipe's read end */
	int *stopping;		/* set when SIGTERM or SIGINT asks for a stop */
	/* What to do with any other signal: returns 0, or -1 with errno. */
	int (*on_signal)(const struct sig_event *ev, double now);
};

/*
 * Ignore SIGPIPE (a write to a peer that has gone fails with EPIPE
 * instead), open the self-pipe into s->fd, and catch with it SIGTERM,
 * SIGINT and every signal of more, a list ending with 0. Returns 0, or
 * -1 with errno.
 */
int proc_signals_open(struct proc_signals *s, const int *more);

/*
 * Handle every signal recorded on the self-pipe, in the order they came:
 * SIGTERM and SIGINT log "stop reason=SIG..." (the first time) and set
 * *s->stopping; any other goes to s->on_signal(). Returns 0, or -1 with
 * errno (from the self-pipe, or on_signal()).
 */
int proc_drain(const struct proc_signals *s, double now);

/*
 * One wake-up of a main loop: poll() the n slots of pfd at most timeout
 * ms, then handle the signals that came (proc_drain()) before the caller
 * reads the other slots. pfd[0] is the self-pipe's: filled in here. A
 * signal that interrupts poll() (EINTR) is a wake-up with nothing else
 * ready. Returns 0, or -1 with errno.
 */
int proc_wait(struct pollfd *pfd, nfds_t n, int timeout,
    const struct proc_signals *s);

/* The earlier of two times, where a negative one (SUP_NEVER) is no time. */
double proc_earliest(double a, double b);

/* The timeout for poll() to wake up at next (negative: never, -1): in ms,
 * rounded up, and at least 1 ms, so that an event that is due already
 * never makes the loop spin. */
int proc_timeout_ms(double next, double now);

/* What a supervisor does with each ended child, told by proc_reap(). */
struct proc_reaper {
	/* pid has ended but is not reaped yet: until it is, its pid (and
	 * its group id) cannot be reused. Returns its name for the log. */
	const char *(*ending)(pid_t pid);
	/* pid has been reaped; status is its wait status. */
	void (*reaped)(pid_t pid, int status, double now);
};

/*
 * Reap every child that has ended: for each, r->ending(), then
 * waitpid(), the log line "reaped name=... pid=... status=...", then
 * r->reaped(). Returns 0 once none is left, or -1 with errno (waitid or
 * waitpid failed).
 */
int proc_reap(const struct proc_reaper *r, double now);

/* How a supervisor waits for its children to stop, for proc_stop(). */
struct proc_stopper {
	const struct proc_signals *sig;	/* SIGCHLD wakes us, and reaps */
	double wait;		/* seconds they have before SIGKILL */
	unsigned (*left)(void);	/* how many of them are still there */
	void (*kill)(void);	/* SIGKILL those left (and log it) */
};

/*
 * The end of a clean stop, once the children were asked to stop: wait
 * until s->left() is 0, at most s->wait seconds, then s->kill() them and
 * wait again, at most 1 s. Returns 0, or -1 with errno: ETIMEDOUT when a
 * child outlived SIGKILL, else poll's or proc_drain()'s.
 */
int proc_stop(const struct proc_stopper *s);

#endif
