/*
 * rundir.h - the run directory: where a step's FIFOs, lock and pid files
 * live (`-r DIR`; default $XDG_RUNTIME_DIR/osps, else /tmp/osps-<uid>).
 *
 * /tmp is shared by every user: a directory there that another user made,
 * or a symlink planted to point elsewhere, would let them read or redirect
 * our FIFOs. So the directory is created 0700, and an existing one is
 * accepted only if it is a real directory, ours, closed to group and others.
 */
#ifndef OSPS_RUNDIR_H
#define OSPS_RUNDIR_H

#include <stddef.h>

/* Write the default run directory's path into buf. Returns 0 or -1 (ENAMETOOLONG). */
int rundir_default(char *buf, size_t size);

/*
 * Create path (mode 0700) if it does not exist, or check the existing one.
 * Returns 0, or -1 with errno set and a reason in why (e.g. "is a symbolic
 * link", "is accessible by group or others (mode 0755)"), to be printed as
 * "run directory PATH: WHY".
 */
int rundir_prepare(const char *path, char *why, size_t whysize);

/*
 * Build "DIR/NAME" into buf. Returns 0, or -1 with errno ENAMETOOLONG
 * (a FIFO path must fit in PATH_MAX and in a struct sockaddr_un's 108).
 */
int rundir_path(const char *dir, const char *name, char *buf, size_t size);

#endif
