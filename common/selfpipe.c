/*
 * selfpipe.c - the self-pipe trick (see selfpipe.h), as TLPI's
 * altio/self_pipe.c does it: pipe made before any handler, non-blocking
 * ends, errno saved in the handler, pipe drained until EAGAIN.
 */
#define _GNU_SOURCE	/* pipe2() */
#include "selfpipe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int pipe_fds[2] = { -1, -1 };

int
selfpipe_open(void)
{
	/* Non-blocking write end: a handler must never block, even if the
	 * loop has fallen behind and the pipe is full (the record is then
	 * dropped, and the loop, which has plenty to read, wakes anyway). */
	if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	return pipe_fds[0];
}

static void
handler(int sig, siginfo_t *info, void *context)
{
	struct sig_event ev = { sig, 0, 0, 0 };
	int saved = errno;	/* write() may change errno under main's feet */
	ssize_t n;

	(void)context;
	if (info != NULL) {
		ev.pid = info->si_pid;
		ev.code = info->si_code;
		ev.status = sig == SIGCHLD ? info->si_status : 0;
	}
	/* Records are smaller than PIPE_BUF: each write is atomic, so
	 * records from several signals never mix. */
	n = write(pipe_fds[1], &ev, sizeof ev);
	(void)n;	/* nothing safe to do about a failure in a handler */
	errno = saved;
}

int
selfpipe_catch(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

int
selfpipe_read(struct sig_event *ev)
{
	ssize_t n;

	do
		n = read(pipe_fds[0], ev, sizeof *ev);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EAGAIN ? 0 : -1;
	if (n != (ssize_t)sizeof *ev) {
		errno = EPROTO;	/* cannot happen: writes are atomic */
		return -1;
	}
	return 1;
}

void
selfpipe_close(void)
{
	if (pipe_fds[0] != -1)
		close(pipe_fds[0]);
	if (pipe_fds[1] != -1)
		close(pipe_fds[1]);
	pipe_fds[0] = pipe_fds[1] = -1;
}
