/*
 * teardown.c - the end of a d and of the tree: what a d that died
 * without cleaning up left behind (its pid file and FIFOs) is
 * removed before the next d starts, and the clean stop takes the whole
 * tree down (TERM, bounded wait, KILL, reap). Shared state and
 * contracts: watchdog.h.
 *
 * killpg() needs more than POSIX 2008 declares: hence _GNU_SOURCE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "rundir.h"
#include "watchdog.h"

/*
 * Remove what d (pid), dead without cleaning up, left behind: its FIFOs
 * and its pid file. Only if the pid file says they were that d's: a d that
 * died because another tree already uses the same run directory must not
 * take that tree's files with it.
 */
void
clean_after_d(pid_t pid)
{
	char name[32], path[PATH_MAX], text[32];
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
int
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
