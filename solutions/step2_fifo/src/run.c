/*
 * run.c - what a run of d holds on the system: the lock on the run
 * directory, the segment, the two FIFOs, and w. setup() takes them in
 * that order; cleanup() gives back whatever was taken, so that nothing is
 * left behind, whichever way the run ends. Shared state and contracts:
 * d.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "d.h"
#include "fifo.h"
#include "io.h"
#include "log.h"
#include "rundir.h"
#include "selfpipe.h"
#include "shm_area.h"
#include "util.h"

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

/* Prepare the run: run directory, segment, signals, FIFOs, then w (d.h). */
int
setup(struct run *r)
{
	const struct options *o = r->o;
	char why[256];

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
	r->w_pid = start_w(o);
	if (r->w_pid == -1) {
		warn("fork");
		r->w_pid = 0;
		return -1;
	}
	r->w_name = r->w_pid;
	return 0;
}

/* Release what the run holds; nothing of it is left on the system. */
void
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
