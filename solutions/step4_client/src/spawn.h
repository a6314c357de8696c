/*
 * spawn.h - start a child process (fork + exec) that cannot outlive its
 * parent, with exactly the descriptors it needs.
 */
#ifndef STEP4_SPAWN_H
#define STEP4_SPAWN_H

#include <sys/types.h>

/* The most descriptors a child may inherit (d: the registry and the
 * listening socket). */
#define SPAWN_KEEP_MAX 2

struct spawn_opts {
	int keep_fd[SPAWN_KEEP_MAX];	/* descriptors the child inherits (-1: none) */
	int deathsig;		/* signal the child gets when its parent dies */
	int new_group;		/* put the child in a process group of its own */
};

/*
 * Start path with argv (argv[0] is the program's name) as a child. Every
 * descriptor of ours is close-on-exec: the child keeps 0, 1, 2 and
 * o->keep_fd[] only, under the same numbers. Returns the child's pid, or -1 with errno (fork
 * failed). A child that cannot exec leaves with _exit(127) after saying
 * why.
 */
pid_t spawn_child(const char *path, char *const argv[], const struct spawn_opts *o);

#endif
