/*
 * shm_area.c - POSIX shared memory: shm_open + ftruncate + mmap.
 *
 * shm_open() gives a file descriptor for a named object in /dev/shm;
 * ftruncate() gives it a size; mmap() makes it memory. Once mapped, the
 * descriptor is no longer needed: the mapping keeps the segment alive.
 */
#include "shm_area.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int
shm_name_valid(const char *name)
{
	size_t len = strlen(name);

	/* POSIX only promises portable behaviour for "/name" without other
	 * slashes; Linux limits names to NAME_MAX (255) characters. */
	return name[0] == '/' && len >= 2 && len <= 251 &&
	    strchr(name + 1, '/') == NULL;
}

/* Close fd, keeping errno: the caller reports an earlier error. */
static void
close_keep_errno(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
}

/* Map size bytes of fd read-write and shared, then close fd. */
static void *
map_and_close(int fd, size_t size)
{
	void *addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	close_keep_errno(fd);
	return addr == MAP_FAILED ? NULL : addr;
}

void *
shm_area_create(const char *name, size_t size)
{
	if (!shm_name_valid(name)) {
		errno = EINVAL;
		return NULL;
	}
	/* O_EXCL: a segment of that name left by a run that crashed is
	 * reported (EEXIST), never silently reused. Mode 0600: ours only. */
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd == -1)
		return NULL;
	if (ftruncate(fd, (off_t)size) == -1) {
		close_keep_errno(fd);
		shm_unlink(name);	/* do not leave a half-made segment */
		return NULL;
	}
	return map_and_close(fd, size);
}

void *
shm_area_open(const char *name, size_t size)
{
	if (!shm_name_valid(name)) {
		errno = EINVAL;
		return NULL;
	}
	/* Open the existing segment and check its size before mapping it. */
	struct stat st;
	int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);

	if (fd == -1)
		return NULL;
	if (fstat(fd, &st) == -1) {
		close_keep_errno(fd);
		return NULL;
	}
	if ((size_t)st.st_size != size) {
		/* Not made by our d: mapping it would read garbage, or
		 * fault past its end if it is smaller. */
		close(fd);
		errno = EPROTO;
		return NULL;
	}
	return map_and_close(fd, size);
}

int
shm_area_close(void *addr, size_t size)
{
	return munmap(addr, size);
}

int
shm_area_unlink(const char *name)
{
	/* The memory stays mapped in whoever still has it; only the name goes. */
	return shm_unlink(name);
}
