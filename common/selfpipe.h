/*
 * selfpipe.h - deliver signals to a poll() loop: the self-pipe trick.
 *
 * A signal handler may run between any two instructions of the program,
 * so it must do almost nothing: here it writes one small record (which
 * signal, and which process sent it) into a non-blocking pipe, and returns.
 * The main loop polls the pipe's read end with its other descriptors and
 * handles each signal in normal context, where any call is safe. No
 * "check a flag, then block" race: a signal arriving just before poll()
 * leaves a record in the pipe, and poll() returns at once.
 */
#ifndef OSPS_SELFPIPE_H
#define OSPS_SELFPIPE_H

#include <sys/types.h>

/* One caught signal, as the handler recorded it. */
struct sig_event {
	int signo;	/* the signal number */
	pid_t pid;	/* the sender (si_pid), 0 if the kernel sent it */
	int code;	/* why (si_code): for SIGCHLD, CLD_EXITED, CLD_STOPPED... */
	int status;	/* SIGCHLD: exit code, or the signal that ended,
			 * stopped or continued the child (si_status) */
};

/*
 * Create the self-pipe (both ends non-blocking and close-on-exec).
 * Returns its read end, to poll for POLLIN; -1 with errno on failure.
 */
int selfpipe_open(void);

/*
 * Catch sig: its handler writes a struct sig_event to the pipe.
 * SA_RESTART is not set: a blocking call in the main loop returns EINTR.
 * Returns 0 or -1 with errno.
 */
int selfpipe_catch(int sig);

/*
 * Take the next recorded signal into *ev. Returns 1 when one was taken,
 * 0 when the pipe is empty, -1 with errno on error.
 */
int selfpipe_read(struct sig_event *ev);

/* Close both ends (in a child after fork, before exec, or at exit). */
void selfpipe_close(void);

#endif
