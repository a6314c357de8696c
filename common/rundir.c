/*
 * rundir.c - create or check the run directory (contracts in rundir.h).
 */
#include "rundir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
rundir_default(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	/* $XDG_RUNTIME_DIR (/run/user/<uid>) is private to the user already. */
	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(buf, size, "%s/osps", xdg);
	else
		n = snprintf(buf, size, "/tmp/osps-%u", (unsigned)getuid());
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Fail with errno err and the reason fmt (one %o or %u argument). */
static int
refuse(int err, char *why, size_t whysize, const char *reason, unsigned arg)
{
	snprintf(why, whysize, reason, arg);
	errno = err;
	return -1;
}

int
rundir_prepare(const char *path, char *why, size_t whysize)
{
	struct stat st;

	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		int err = errno;

		/* mkdir makes one level only: say so when that is the cause. */
		snprintf(why, whysize, "cannot be created: %s%s", strerror(err),
		    err == ENOENT ? " (its parent directory does not exist)" : "");
		errno = err;
		return -1;
	}
	/* lstat, not stat: stat would follow a symlink to its target. */
	if (lstat(path, &st) == -1)
		return refuse(errno, why, whysize, "cannot be examined", 0);
	if (S_ISLNK(st.st_mode))
		return refuse(ENOTDIR, why, whysize, "is a symbolic link, not a directory", 0);
	if (!S_ISDIR(st.st_mode))
		return refuse(ENOTDIR, why, whysize, "is not a directory", 0);
	if (st.st_uid != getuid())
		return refuse(EPERM, why, whysize, "belongs to another user (uid %u)",
		    (unsigned)st.st_uid);
	if ((st.st_mode & 077) != 0)
		return refuse(EPERM, why, whysize,
		    "is accessible by group or others (mode %04o; chmod 700 it)",
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

int
rundir_path(const char *dir, const char *name, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}
