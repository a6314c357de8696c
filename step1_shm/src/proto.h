/*
 * proto.h - step 1's "protocol": the layout of the shared memory segment
 * that d creates and w maps. Both programs include this header, so they
 * agree on every byte.
 *
 * There is no synchronisation yet (roadmap, step 1): d writes the request,
 * starts w, and simply waits long enough for w to have written its answer.
 */
#ifndef STEP1_PROTO_H
#define STEP1_PROTO_H

#include <sys/types.h>

/* Default segment name; %u is the user id, so two users never collide. */
#define SHM_NAME_FMT "/osps-%u"

/* Longest request or answer text, NUL included. */
#define MSG_MAX 128

/* Written first by d: tells a segment of this step from anything else. */
#define SHM_MAGIC 0x4f535031u	/* "OSP1" */

/* The whole segment. d creates it zero-filled, so every field starts at 0. */
struct shm_layout {
	unsigned magic;		/* SHM_MAGIC once d has initialised it */
	pid_t owner;		/* d's pid: a segment whose owner is dead is stale */
	char request[MSG_MAX];	/* written by d, read by w */
	char answer[MSG_MAX];	/* written by w, read by d ("" until then) */
	/* Race mode: d and w both add 1 to this, N times each. volatile
	 * makes every increment a real load and store in memory (otherwise
	 * the compiler may add N in one go); it does NOT make it atomic. */
	volatile long counter;
};

#endif
