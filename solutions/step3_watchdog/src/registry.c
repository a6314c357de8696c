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

int
reg_pidfd(struct registry *reg, unsigned i, pid_t pid, unsigned gen)
{
	struct reg_slot *s = &reg->slot[i];

	/* TODO 3.3: open a pidfd on pid (syscall(SYS_pidfd_open, pid, 0)),
	 * then read the slot again: if its generation changed or it is
	 * GONE, close the pidfd and fail with ESRCH. Why is the check made
	 * *after* opening, and why does it prove that the pidfd is our
	 * server and not a stranger that got the same pid? (The parent marks
	 * the slot GONE before it reaps, and only reaping frees a pid.) */
	/* BEGIN SOLUTION 3.3 */
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd == -1)
		return -1;
	if (atomic_load(&s->gen) != gen || atomic_load(&s->state) == SLOT_GONE ||
	    atomic_load(&s->pid) != pid) {
		close(fd);
		errno = ESRCH;
		return -1;
	}
	/* pidfds are close-on-exec from birth. */
	return fd;
	/* END SOLUTION */
	/* STUB 3.3:
	(void)s;
	(void)gen;
	return (int)syscall(SYS_pidfd_open, pid, 0);
	*/
}

int
pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}
