/*
 * proc.c - reap children, and wait for them to stop (contracts in
 * proc.h). Used by d for its w's and by the watchdog for d.
 */
#include "proc.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "log.h"
#include "util.h"

int
proc_signals_open(struct proc_signals *s, const int *more)
{
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return -1;
	s->fd = selfpipe_open();
	if (s->fd == -1 || selfpipe_catch(SIGTERM) == -1 ||
	    selfpipe_catch(SIGINT) == -1)
		return -1;
	for (; *more != 0; more++)
		if (selfpipe_catch(*more) == -1)
			return -1;
	return 0;
}

int
proc_drain(const struct proc_signals *s, double now)
{
	struct sig_event ev;
	int r;

	while ((r = selfpipe_read(&ev)) == 1) {
		if (ev.signo != SIGTERM && ev.signo != SIGINT) {
			if (s->on_signal(&ev, now) == -1)
				return -1;
			continue;
		}
		if (!*s->stopping)
			log_event("stop reason=%s", signal_name(ev.signo));
		*s->stopping = 1;
	}
	return r;
}

int
proc_wait(struct pollfd *pfd, nfds_t n, int timeout,
    const struct proc_signals *s)
{
	nfds_t i;

	pfd[0].fd = s->fd;
	pfd[0].events = POLLIN;
	if (poll(pfd, n, timeout) == -1) {
		if (errno != EINTR)
			return -1;
		for (i = 0; i < n; i++)
			pfd[i].revents = 0;
	}
	if (pfd[0].revents & POLLIN)
		return proc_drain(s, log_now());
	return 0;
}

double
proc_earliest(double a, double b)
{
	if (a < 0.0)
		return b;
	return b < 0.0 || a < b ? a : b;
}

int
proc_timeout_ms(double next, double now)
{
	if (next < 0.0)
		return -1;
	return next - now < 0.001 ? 1 : (int)ceil((next - now) * 1000.0);
}

int
proc_reap(const struct proc_reaper *r, double now)
{
	/* TODO 3.7: loop: peek at an ended child without reaping it
	 * (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT), retry on
	 * EINTR); return 0 when there is none (si.si_pid == 0) or no child
	 * at all (ECHILD). Call r->ending() while its zombie still holds
	 * the pid; *then* reap it with waitpid(), log
	 * "reaped name=%s pid=%ld status=\"%s\"" (the name ending() gave,
	 * status_str) and call r->reaped().
	 * Why a loop, and not one waitpid() per SIGCHLD? */
	return 0;
}

int
proc_stop(const struct proc_stopper *s)
{
	/* TODO 3.8: wait until s->left() is 0, at most s->wait seconds:
	 * poll() s->sig->fd with the time left, and when it wakes, handle
	 * the signals with proc_drain() (SIGCHLD reaps). If some are still there then, s->kill() them and
	 * wait again, at most 1 s: one still there after that is an error
	 * (errno ETIMEDOUT). Why must this wait be bounded? */
	return 0;
}
