/*
 * registry.h - the registry of running servers, in shared memory (its
 * layout is in proto.h): who runs in each slot, in which generation,
 * whether it is ready, how many heartbeats it has answered.
 *
 * The watchdog creates it without a name (shm_open, then shm_unlink at
 * once): it can never be left behind in /dev/shm, and no stranger can
 * open it. Children reach it through a descriptor they inherit (-H FD).
 * Every function returns NULL or -1 with errno set and never exits.
 */
#ifndef STEP3_REGISTRY_H
#define STEP3_REGISTRY_H

#include <sys/types.h>

#include "proto.h"

/*
 * Create a zero-filled registry of nslots slots owned by the calling
 * process (the watchdog). tmpname is a free shared memory name used for
 * an instant. Returns the mapping and its descriptor in *fd
 * (close-on-exec), or NULL with errno.
 */
struct registry *reg_create(const char *tmpname, unsigned nslots, int *fd);

/*
 * reg_create() failed with EEXIST: is tmpname a stale name, left by a
 * watchdog killed in the instant it held it? Such a name is ours, empty,
 * and still there 100 ms later: it is removed and 1 returned. 0 (errno
 * EEXIST) when it is not stale (not ours, holding data, or replaced in
 * the meantime): the caller refuses to start. -1 with errno on error.
 */
int reg_remove_stale(const char *tmpname);

/*
 * Map the registry behind fd (inherited from the parent). Returns it, or
 * NULL with errno: EPROTO when fd is not a registry.
 */
struct registry *reg_attach(int fd);

/* Unmap a registry. */
int reg_detach(struct registry *reg);

/* Parent, right after fork(): slot i now runs pid, a new generation,
 * STARTING (unless the child was quick enough to say READY already). */
void reg_publish(struct registry *reg, unsigned i, pid_t pid);

/* Parent, before reaping slot i's server: it is gone, its pid is not
 * to be signalled any more. */
void reg_gone(struct registry *reg, unsigned i);

/*
 * A handle on the server of one slot, to signal it safely. Where the
 * kernel has pidfds (Linux 5.3 and later) it holds one: it designates that
 * very process forever. Where it has none (valgrind 3.19 does not know
 * pidfd_open either) the registry is checked again before every signal.
 */
struct reg_ref {
	unsigned slot;		/* the slot */
	unsigned gen;		/* the generation it was opened for */
	pid_t pid;		/* the server's pid; 0: no handle */
	int pidfd;		/* its pidfd, -1 if pidfds are not available */
};

/*
 * Take a handle on the server of slot i, seen running pid in generation
 * gen. Returns 0, or -1 with errno ESRCH when that server is gone (what
 * runs as pid now may be a stranger, or nobody).
 */
int reg_ref_open(struct registry *reg, unsigned i, pid_t pid, unsigned gen,
    struct reg_ref *r);

/*
 * Send sig to the server behind r. Returns 0, or -1 with errno ESRCH once
 * it has gone: never reaches another process that got the same pid.
 */
int reg_ref_signal(struct registry *reg, const struct reg_ref *r, int sig);

/* Release a handle (r->pid becomes 0). */
void reg_ref_close(struct reg_ref *r);

#endif
