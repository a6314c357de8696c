/*
 * shm_area.h - create, map and remove a POSIX shared memory segment.
 *
 * A segment has a name ("/osps-1000") that any process of the same user
 * can open: that is what lets w, or a restarted server, find it again.
 * Every function returns NULL or -1 with errno set and never exits.
 */
#ifndef STEP2_SHM_AREA_H
#define STEP2_SHM_AREA_H

#include <stddef.h>

/*
 * True when name is a portable segment name: "/" then 1 to 250
 * characters, none of them "/".
 */
int shm_name_valid(const char *name);

/*
 * Create segment name, size bytes, mode 0600, failing if it already
 * exists; map it read-write. The memory starts zero-filled.
 * Returns its address, or NULL with errno: EINVAL (bad name), EEXIST
 * (already there: a stale one from a crashed run, or another d), or the
 * error of shm_open, ftruncate or mmap.
 */
void *shm_area_create(const char *name, size_t size);

/*
 * Map the existing segment name, which must be exactly size bytes.
 * Returns its address, or NULL with errno: EINVAL (bad name), ENOENT (no
 * such segment), EPROTO (wrong size: not a segment of this layout).
 */
void *shm_area_open(const char *name, size_t size);

/* Unmap a segment mapped by shm_area_create() or shm_area_open(). */
int shm_area_close(void *addr, size_t size);

/*
 * Remove the name. Processes that mapped the segment keep it until they
 * unmap it. Returns 0, or -1 with errno (ENOENT: no such segment).
 */
int shm_area_unlink(const char *name);

#endif
