/*
 * proto.h - step 2's protocol between d and w: the two named pipes, the
 * messages that travel on them, and the shared memory segment those
 * messages synchronise. Both programs include this header, so they agree
 * on every name, word and byte.
 *
 *     d ── dwtube1 ──▶ w    "ping\n"  the request in the segment is ready: your turn
 *     d ◀── wdtube1 ── w    "pong\n"  the answer in the segment is ready: your turn
 *
 * The segment is step 1's. Whoever holds the turn is the only one to touch
 * it: d writes the request, sends ping, and leaves the segment alone until
 * pong; w reads the request, writes its answer, sends pong. So the two
 * never access it at the same time, and nothing is ever lost.
 *
 * Messages are lines: one word, then "\n", at most PROTO_LINE_MAX bytes.
 * d stops w by closing its end of dwtube1: w reads end of file, and exits.
 */
#ifndef STEP2_PROTO_H
#define STEP2_PROTO_H

#include <sys/types.h>

#include "io.h"

/* The named pipes, inside the run directory (-r DIR), created by d, 0600. */
#define DW_FIFO "dwtube1"	/* d writes, w reads */
#define WD_FIFO "wdtube1"	/* w writes, d reads */

/* d's lock on the run directory, held for the whole run; it holds d's pid. */
#define D_PIDFILE "d.pid"

/* Longest message line, "\n" and the terminating NUL included. */
#define PROTO_LINE_MAX 32

/* The messages. */
enum proto_msg {
	PROTO_PING,	/* d to w: the request is in the segment */
	PROTO_PONG,	/* w to d: the answer is in the segment */
};

/* Default segment name; %u is the user id, so two users never collide. */
#define SHM_NAME_FMT "/osps-%u"

/* Longest request or answer text, NUL included. */
#define MSG_MAX 128

/* Written first by d: tells a segment of this step from anything else. */
#define SHM_MAGIC 0x4f535032u	/* "OSP2" */

/* race.c: increments each side makes per turn, one at a time. */
#define RACE_BATCH 1000

/* The whole segment, as in step 1. d creates it zero-filled. */
struct shm_layout {
	unsigned magic;		/* SHM_MAGIC once d has initialised it */
	pid_t owner;		/* d's pid: a segment whose owner is dead is stale */
	char request[MSG_MAX];	/* written by d before ping, read by w */
	char answer[MSG_MAX];	/* written by w before pong, read by d */
	/* race.c: two processes add 1 to this, RACE_BATCH times per turn.
	 * volatile: every increment is a real load and store in memory.
	 * Still not atomic: the turns are what keeps updates from clashing. */
	volatile long counter;
};

/* The word of message m ("ping"), or "?" if m is not a message. */
const char *proto_word(enum proto_msg m);

/*
 * Write message m as a line ("ping\n") into buf, NUL-terminated.
 * Returns the line's length, or -1 with errno EINVAL (m is not a message)
 * or ENOBUFS (buf is too small).
 */
int proto_format(enum proto_msg m, char *buf, size_t size);

/*
 * Parse line (one line, without its "\n") into *m. Only the exact words
 * are messages: no argument, no blank, no other case.
 * Returns 0, or -1 with errno EBADMSG (not a message).
 */
int proto_parse(const char *line, enum proto_msg *m);

/* Send message m on fd in one write. Returns 0, or -1 with errno (EPIPE). */
int proto_send(int fd, enum proto_msg m);

/*
 * Take the next message from lr into *m, reading lr's descriptor only when
 * no whole line is buffered (lr_getline() does the framing).
 * Returns 1 (a message), 0 (end of file between messages: the peer closed
 * its end), or -1 with errno: EAGAIN (a non-blocking descriptor has no
 * whole message yet: poll and call again), EMSGSIZE (line too long),
 * EBADMSG (not a message), EPROTO (end of file in the middle of a line),
 * or the error of read().
 */
int proto_recv(struct line_reader *lr, enum proto_msg *m);

#endif
