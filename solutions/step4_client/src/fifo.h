/*
 * fifo.h - create a named pipe (FIFO) safely in the run directory.
 *
 * A FIFO is a pipe with a name in the file system: two processes that are
 * not parent and child (or were restarted separately) can both open it by
 * that name. Nothing written to it ever reaches the disk.
 */
#ifndef STEP4_FIFO_H
#define STEP4_FIFO_H

#include <stddef.h>

/*
 * Create the FIFO path, mode 0600. A FIFO already there is left by a run
 * that was killed (nobody has it open for reading: it is replaced) or in
 * use by another pair of servers (refused). Anything else at path, a
 * regular file or a symbolic link for instance, is refused and left alone.
 * Returns 0 (created), 1 (a stale FIFO was replaced), or -1 with errno and
 * a reason in why ("is a regular file, not a FIFO"): EEXIST (not a FIFO),
 * EBUSY (in use), or the error of mkfifo.
 */
int fifo_create(const char *path, char *why, size_t whysize);

#endif
