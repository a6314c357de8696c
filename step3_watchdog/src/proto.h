/*
 * proto.h - step 3's protocol: what the watchdog, d and every w agree on.
 *
 *   watchdog ──fork/exec──▶ d ──fork/exec──▶ w1 … wn
 *      │ SIGUSR1 ▶ each server      dwtube<i> ▶ / ◀ wdtube<i> (data, d ↔ wi)
 *      │ SIGUSR2 ◀ back (a wake-up)
 *      └── the registry: one shared memory segment with one slot per server
 *
 * The data path (FIFOs, ping/pong, the segment of step 2) is d's business
 * with its w's. The watchdog never touches it (question 3.b): it watches
 * the servers through signals and the registry only.
 *
 * The registry is the single source of truth about who is running:
 *   - the parent of a server (the watchdog for d, d for each w) writes the
 *     server's pid and a new generation number into its slot right after
 *     fork(), and marks the slot GONE *before* reaping it (so a pid read
 *     from a live slot is never a pid that was freed and reused);
 *   - each server marks its slot READY when it can serve, and adds 1 to
 *     its own heartbeat counter each time it answers a SIGUSR1.
 * A SIGUSR2 only wakes the watchdog up: it then reads every counter. Two
 * replies arriving together merge into one pending SIGUSR2 (standard
 * signals do not queue), but both counters have moved: nothing is lost.
 */
#ifndef STEP3_PROTO_H
#define STEP3_PROTO_H

#include <stdatomic.h>
#include <sys/types.h>

#include "io.h"

/* Default data segment name (step 2's); %u is the user id. */
#define SHM_NAME_FMT "/osps-%u"

/* FIFO names in the run directory, created by d, 0600; %u is the w's
 * number, 1..n. */
#define DWTUBE_FMT "dwtube%u"	/* d -> wi */
/* d's lock on the run directory, held for the whole run; it holds d's
 * pid, for the watchdog to clean up after a d that died. */
#define D_PIDFILE "d.pid"
#define WDTUBE_FMT "wdtube%u"	/* wi -> d */

/*
 * The messages on the FIFOs, as in step 2: one word, then "\n", at most
 * PROTO_LINE_MAX bytes. d stops a w by closing its end of dwtube<i>: w
 * reads end of file, and exits.
 */
#define PROTO_LINE_MAX 32	/* longest line, "\n" and NUL included */

enum proto_msg {
	PROTO_PING,	/* d to w: the request is in the segment */
	PROTO_PONG,	/* w to d: the answer is in the segment */
};

/* Longest request or answer text in the segment, NUL included. */
#define MSG_MAX 128

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
 * are messages. Returns 0, or -1 with errno EBADMSG (not a message).
 */
int proto_parse(const char *line, enum proto_msg *m);

/* Send message m on fd in one write. Returns 0, or -1 with errno (EPIPE). */
int proto_send(int fd, enum proto_msg m);

/*
 * Take the next message from lr into *m. Returns 1 (a message), 0 (end of
 * file between messages), or -1 with errno: EAGAIN (no whole message yet
 * on a non-blocking descriptor), EMSGSIZE, EBADMSG, EPROTO, or the error
 * of read().
 */
int proto_recv(struct line_reader *lr, enum proto_msg *m);

/* Most secondary servers d may run (-w N). */
#define W_MAX 8

/* Exit code of d when it gives up (its w's restart too often): the
 * watchdog must not restart it but stop everything (nginx's "fatal, do
 * not respawn" code). 0, 1 and 2 keep their usual meanings. */
#define EXIT_GIVE_UP 3

/* Exit code of d when it cannot start for a reason that a restart would
 * meet again (its run directory or its segment in use by another tree):
 * the watchdog stops at once, with the reason d left in the registry. */
#define EXIT_NO_RESTART 4

/* Written first by the watchdog: tells a registry from anything else. */
#define REG_MAGIC 0x4f535033u	/* "OSP3" */

/* The life of a slot, as its parent and its server write it. */
enum slot_state {
	SLOT_EMPTY,		/* never used */
	SLOT_STARTING,		/* forked, not ready yet (parent) */
	SLOT_READY,		/* can serve, heartbeats on (the server) */
	SLOT_GONE		/* exited, about to be reaped (parent) */
};

/*
 * One server's slot. Every field is atomic: two processes read and write
 * them at the same time, and C11 atomics on lock-free types work between
 * processes sharing the memory.
 */
struct reg_slot {
	atomic_int pid;		/* the server's pid (0: none yet) */
	atomic_uint gen;	/* generation: +1 at every (re)start */
	atomic_int state;	/* enum slot_state */
	atomic_uint beats;	/* heartbeats answered by this incarnation */
};

/* The registry: slot 0 is d, slot i (1..n) is wi. */
struct registry {
	unsigned magic;		/* REG_MAGIC */
	pid_t watchdog;		/* where servers send SIGUSR2 */
	unsigned nslots;	/* 1 + n */
	struct reg_slot slot[1 + W_MAX];
	char refusal[256];	/* why d cannot start (EXIT_NO_RESTART) */
};

/* The data segment of step 2, one request/answer pair per w. */
#define SHM_MAGIC 0x4f535032u	/* "OSP2" */
struct shm_layout {
	unsigned magic;		/* SHM_MAGIC once d has initialised it */
	pid_t owner;		/* d's pid: a segment whose owner is dead is stale */
	struct {
		char request[MSG_MAX];	/* written by d before "ping" */
		char answer[MSG_MAX];	/* written by wi before "pong" */
	} pair[W_MAX];		/* pair[i - 1] belongs to wi */
};

#endif
