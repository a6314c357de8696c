/*
 * fifo.c - create a FIFO, refusing whatever else holds its path
 * (contract in fifo.h).
 */
#include "fifo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fail with errno err; why gets the reason, with err's text if asked. */
static int
refuse(int err, char *why, size_t whysize, const char *reason, int say_err)
{
	if (say_err)
		snprintf(why, whysize, "%s: %s", reason, strerror(err));
	else
		snprintf(why, whysize, "%s", reason);
	errno = err;
	return -1;
}

/* Why a file of this mode cannot be used as a FIFO, in words. */
static const char *
not_a_fifo(mode_t mode)
{
	if (S_ISREG(mode))
		return "is a regular file, not a FIFO";
	if (S_ISLNK(mode))
		return "is a symbolic link, not a FIFO";
	if (S_ISDIR(mode))
		return "is a directory, not a FIFO";
	return "is not a FIFO";
}

/*
 * Whether a process has the FIFO at path open for reading: opening it for
 * writing without blocking fails with ENXIO exactly when none has.
 * Returns 1 (a reader), 0 (none), or -1 with errno.
 */
static int
has_reader(const char *path)
{
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd == -1)
		return errno == ENXIO ? 0 : -1;
	close(fd);
	return 1;
}

/*
 * A FIFO is at path already. A pair of servers using it keeps it open
 * for reading (w reads dwtube1, d reads wdtube1); one left by a run that
 * was killed has no reader: a fresh one replaces it. Returns 1
 * (replaced) or -1 with errno, as fifo_create(). Two d's starting at the
 * same instant with the same run directory could both see "no reader":
 * d's lock on the run directory, held for the whole run (lock_run_dir in
 * run.c), keeps the second away.
 */
static int
replace_if_stale(const char *path, char *why, size_t whysize)
{
	int used;

	used = has_reader(path);
	if (used == -1)
		return refuse(errno, why, whysize, "cannot be examined", 1);
	if (used == 1)
		return refuse(EBUSY, why, whysize, "is in use by another d", 0);
	if (unlink(path) == -1 || mkfifo(path, 0600) == -1)
		return refuse(errno, why, whysize, "cannot be replaced", 1);
	return 1;
}

int
fifo_create(const char *path, char *why, size_t whysize)
{
	struct stat st;

	/* TODO 2.1: create the FIFO with mkfifo(), mode 0600, and return 0.
	 * If the path exists (EEXIST), look at what is there with lstat():
	 * anything but a FIFO is refused with EEXIST and not_a_fifo()'s
	 * reason; a FIFO goes to replace_if_stale(), whose result you
	 * return. Why lstat() and not stat()? What could a symlink planted
	 * at that path make d do otherwise? */
	/* BEGIN SOLUTION 2.1 */
	if (mkfifo(path, 0600) == 0)
		return 0;
	if (errno != EEXIST)
		return refuse(errno, why, whysize, "cannot be created", 1);
	if (lstat(path, &st) == -1)
		return refuse(errno, why, whysize, "cannot be examined", 1);
	if (!S_ISFIFO(st.st_mode))
		return refuse(EEXIST, why, whysize, not_a_fifo(st.st_mode), 0);
	return replace_if_stale(path, why, whysize);
	/* END SOLUTION */
	/* STUB 2.1:
	return refuse(ENOSYS, why, whysize, "cannot be created", 1);
	*/
}
