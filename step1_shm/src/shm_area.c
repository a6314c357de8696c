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
	/* TODO 1.1: create the segment (it must not exist yet, mode 0600),
	 * give it its size, and map it with map_and_close().
	 * Why O_EXCL? What would happen without it if a segment of that
	 * name was left behind by a run that crashed? */
	errno = ENOSYS;
	return NULL;
}

void *
shm_area_open(const char *name, size_t size)
{
	if (!shm_name_valid(name)) {
		errno = EINVAL;
		return NULL;
	}
	/* TODO 1.3: open the existing segment read-write, check with fstat()
	 * that it has exactly the expected size (else EPROTO), and map it. */
	errno = ENOSYS;
	return NULL;
}

int
shm_area_close(void *addr, size_t size)
{
	return munmap(addr, size);
}

int
shm_area_unlink(const char *name)
{
	/* TODO 1.5: remove the segment's name. */
	return 0;
}
