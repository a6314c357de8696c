/*
 * registry.c - the shared registry (contracts in registry.h).
 *
 * pidfd_open() and pidfd_send_signal() are Linux calls (5.3 and later)
 * with no wrapper in older C libraries: they are made through syscall(),
 * hence _GNU_SOURCE.
 */
#define _GNU_SOURCE
#include "registry.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434	/* the same number on every architecture */
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

struct registry *
reg_create(const char *tmpname, unsigned nslots, int *fd)
{
	struct registry *reg;
	int saved;

	if (nslots == 0 || nslots > 1 + W_MAX) {
		errno = EINVAL;
		return NULL;
	}
	*fd = shm_open(tmpname, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (*fd == -1)
		return NULL;
	/* Remove the name at once: the descriptor and the mappings keep the
	 * memory alive, and it goes away with the last of them. */
	if (shm_unlink(tmpname) == -1 || ftruncate(*fd, sizeof *reg) == -1)
		goto bad;
	reg = mmap(NULL, sizeof *reg, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (reg == MAP_FAILED)
		goto bad;
	reg->magic = REG_MAGIC;
	reg->watchdog = getpid();
	reg->nslots = nslots;
	return reg;
bad:
	saved = errno;
	shm_unlink(tmpname);
	close(*fd);
	errno = saved;
	return NULL;
}

/* The identity and size of the shared memory object name; -1 on error. */
static int
shm_stat(const char *name, struct stat *st)
{
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	int r;

	if (fd == -1)
		return -1;
	r = fstat(fd, st);
	close(fd);
	return r;
}

int
reg_remove_stale(const char *tmpname)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	struct stat st, again;

	if (shm_stat(tmpname, &st) == -1)
		return errno == ENOENT ? 1 : -1;	/* gone already: free */
	if (st.st_uid != getuid() || st.st_size != 0)
		goto not_stale;
	/* reg_create() holds the name for a few microseconds: one still
	 * there 100 ms later belongs to a watchdog that died holding it. */
	while (nanosleep(&pause, &pause) == -1 && errno == EINTR)
		;
	if (shm_stat(tmpname, &again) == -1)
		return errno == ENOENT ? 1 : -1;
	if (again.st_ino != st.st_ino || again.st_size != 0)
		goto not_stale;
	if (shm_unlink(tmpname) == -1 && errno != ENOENT)
		return -1;
	return 1;
not_stale:
	errno = EEXIST;
	return 0;
}

struct registry *
reg_attach(int fd)
{
	struct registry *reg;
	struct stat st;

	if (fstat(fd, &st) == -1)
		return NULL;
	if ((size_t)st.st_size != sizeof *reg) {
		errno = EPROTO;
		return NULL;
	}
	reg = mmap(NULL, sizeof *reg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (reg == MAP_FAILED)
		return NULL;
	if (reg->magic != REG_MAGIC || reg->nslots > 1 + W_MAX) {
		munmap(reg, sizeof *reg);
		errno = EPROTO;
		return NULL;
	}
	return reg;
}

int
reg_detach(struct registry *reg)
{
	return munmap(reg, sizeof *reg);
}

void
reg_publish(struct registry *reg, unsigned i, pid_t pid)
{
	struct reg_slot *s = &reg->slot[i];
	int old = atomic_load(&s->state);

	atomic_store(&s->beats, 0);
	atomic_store(&s->pid, pid);
	/* The child runs as soon as fork() returns, and may already have
	 * marked itself READY: then leave it so (compare-and-exchange). */
	while (old != SLOT_READY &&
	    !atomic_compare_exchange_weak(&s->state, &old, SLOT_STARTING))
		;
	/* The generation last: whoever sees the new one sees the new pid. */
	atomic_fetch_add(&s->gen, 1);
}

void
reg_gone(struct registry *reg, unsigned i)
{
	atomic_store(&reg->slot[i].state, SLOT_GONE);
}

/* Does slot i still vouch for pid in generation gen? */
static int
slot_holds(struct registry *reg, unsigned i, pid_t pid, unsigned gen)
{
	struct reg_slot *s = &reg->slot[i];

	return atomic_load(&s->gen) == gen && atomic_load(&s->pid) == pid &&
	    atomic_load(&s->state) != SLOT_GONE;
}

int
reg_ref_open(struct registry *reg, unsigned i, pid_t pid, unsigned gen,
    struct reg_ref *r)
{
	r->slot = i;
	r->gen = gen;
	r->pid = 0;
	/* TODO 3.3: open a pidfd on pid: syscall(SYS_pidfd_open, pid, 0).
	 * Fail on ESRCH (nobody has that pid); on ENOSYS (no pidfds here)
	 * go on with r->pidfd = -1. Then check that the slot still vouches
	 * for pid (slot_holds): if not, close the pidfd and fail with ESRCH.
	 * Why is the check made *after* opening, and why does it prove that
	 * the pidfd is our server and not a stranger that got the same pid?
	 * (The parent marks the slot GONE before it reaps, and only reaping
	 * frees a pid.) */
	/* BEGIN SOLUTION 3.3 */
	r->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (r->pidfd == -1 && errno != ENOSYS)
		return -1;
	if (!slot_holds(reg, i, pid, gen)) {
		if (r->pidfd != -1)
			close(r->pidfd);
		r->pidfd = -1;
		errno = ESRCH;
		return -1;
	}
	/* END SOLUTION */
	/* STUB 3.3:
	r->pidfd = -1;
	*/
	r->pid = pid;
	return 0;
}

int
reg_ref_signal(struct registry *reg, const struct reg_ref *r, int sig)
{
	if (r->pid == 0) {
		errno = ESRCH;
		return -1;
	}
	if (r->pidfd != -1)
		return (int)syscall(SYS_pidfd_send_signal, r->pidfd, sig, NULL, 0);
	/* NOTE: without pidfds, a few instructions separate the check from
	 * kill(): the parent could reap the server and the pid be reused in
	 * between. Too unlikely to matter in a lab; pidfds close the gap. */
	if (!slot_holds(reg, r->slot, r->pid, r->gen)) {
		errno = ESRCH;
		return -1;
	}
	return kill(r->pid, sig);
}

void
reg_ref_close(struct reg_ref *r)
{
	if (r->pidfd != -1)
		close(r->pidfd);
	r->pidfd = -1;
	r->pid = 0;
}
