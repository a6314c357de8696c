/*
 * teardown.c - the end of a d and of the tree: what a d that died
 * without cleaning up left behind (its lock file, FIFOs and segment) is
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
#include "shm_area.h"
#include "watchdog.h"

/* Remove d's lock file if it holds pid (a dead d's); 1 if removed. */
static unsigned
remove_pidfile(pid_t pid)
{
	char path[PATH_MAX], text[32];
	ssize_t n;
	int fd;

	if (rundir_path(opt.sup.run_dir, D_PIDFILE, path, sizeof path) == -1)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return 0;
	n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	return strtol(text, NULL, 10) == (long)pid && unlink(path) == 0;
}

/*
 * Remove what d (pid), dead without cleaning up, left behind: its lock
 * file, its FIFOs and its data segment (a new d would find them stale).
 * Only if the segment says it was that d's: a d that died because another
 * tree already uses the same names must not take that tree's files with
 * it.
 */
void
clean_after_d(pid_t pid)
{
	struct shm_layout *seg;
	char name[32], path[PATH_MAX];
	unsigned i, removed = remove_pidfile(pid);
	int ours;

	seg = shm_area_open(opt.sup.shm_name, sizeof *seg);
	if (seg == NULL) {
		if (removed > 0)	/* d died before making its segment */
			log_event("cleanup name=d pid=%ld removed=%u", (long)pid, removed);
		return;
	}
	ours = seg->magic == SHM_MAGIC && seg->owner == pid;
	shm_area_close(seg, sizeof *seg);
	if (!ours)
		return;
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
	if (shm_area_unlink(opt.sup.shm_name) == 0)
		removed++;
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
 * The clean stop: SIGTERM to d (it stops its w's, removes its FIFOs and
 * its segment), wait at most -K ms, then SIGKILL its group (proc_stop);
 * reap everything. Returns 0, or -1 with errno.
 */
int
stop_tree(void)
{
	struct proc_stopper s = { &sig, opt.stop_wait / 1000.0, d_left, kill_d };

	/* TODO 3.8: if d runs, send it SIGTERM (reg_ref_signal); a d that
	 * is already gone (ESRCH) is no error. Then proc_stop() waits. */
	if (proc_stop(&s) == -1)
		return -1;
	return proc_reap(&reaper, log_now());	/* any w reparented to us */
}
