/*
 * proto.h - step 4's two mini-protocols, in one header that every program
 * of the step includes (d, w, client, watchdog): the words, the limits,
 * the names of the FIFOs, and the functions that parse and format every
 * line; and, at the end, step 3's registry, through which the watchdog
 * watches d and the w's. PROTOCOL.md describes it all for humans.
 *
 * Every message is one line of text ending in "\n" (a "\r\n" is accepted
 * too): nc, socat or telnet can speak both protocols by hand. A peer may
 * send several lines at once, without waiting for the answers: each is
 * answered, in order.
 *
 *   client -> d (TCP, port 2222)      "requetetype1" | "requetetype2"
 *   d -> client                       "<port> <token>" | "error <word> [text]"
 *   d -> w (FIFO dwtube<i>)           "<request> <id> <token>"
 *   w -> d (FIFO wdtube<i>)           "ready <port>" | "debuttraitement <id>"
 *                                     | "fintraitement <id>"
 *                                     | "errtraitement <id> <word>"
 *   client -> w (TCP, <port>)         "<token>", then for requetetype2 any lines
 *   w -> client                       "ok <id> <request>", then
 *                                     "result <id> <text>" (requetetype1) or
 *                                     each line echoed, then "end <id> <count>"
 *                                     (requetetype2), or "error <word> [text]"
 *
 * The parse functions take a line without its "\n" and never trust it:
 * they check every field and return -1 with errno EPROTO when the line does
 * not follow the grammar. The format functions return the length written
 * (newline included, NUL not counted) or -1 with errno EMSGSIZE.
 */
#ifndef STEP4_PROTO_H
#define STEP4_PROTO_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

/* d's port when -p is not given (roadmap, step 4). */
#define PROTO_DEFAULT_PORT 2222

/* The registry's shared memory name, for the instant the watchdog needs
 * one to create it (-m); %u is the user id. */
#define SHM_NAME_FMT "/osps-%u"

/* d's pid file in the run directory: it holds d's lock on the directory,
 * and tells the watchdog whose FIFOs are there after d died. */
#define D_PIDFILE "d.pid"

/* The FIFOs between d and w<i>, in the run directory ("dwtube1"...). */
#define DWTUBE_FMT "dwtube%u"
#define WDTUBE_FMT "wdtube%u"

/*
 * Longest line a peer may send, "\n" not included. Anything longer is
 * refused with "error toolong" and the connection is closed: a server
 * never buffers more than this for one peer, whatever the peer sends.
 */
#define PROTO_LINE_MAX 512

/* A buffer that holds any line of the protocols, its NUL included. */
#define PROTO_BUF (PROTO_LINE_MAX + 2)

/* A one-time token: 16 lowercase hexadecimal digits (64 random bits). */
#define PROTO_TOKEN_LEN 16

/* The requests a client may make (the roadmap's words, kept verbatim). */
enum req_type {
	REQ_NONE = 0,
	REQ_TYPE1,	/* "requetetype1": w processes, then one result line */
	REQ_TYPE2	/* "requetetype2": w echoes each line until the client's EOF */
};

/*
 * The error words. A server sends "error <word> [text]": programs look at
 * the word, people read the text. PROTOCOL.md says who sends which.
 */
enum proto_err {
	PERR_NONE = 0,
	PERR_UNKNOWN,	/* d: the line is not a request (an empty line included) */
	PERR_TOOLONG,	/* d, w: a line over PROTO_LINE_MAX; the connection is closed */
	PERR_TIMEOUT,	/* d, w: silent for longer than the idle time-out; closed */
	PERR_BUSY,	/* d: every w busy and the queue full, or queued too long */
	PERR_BADTOKEN,	/* w: a missing, wrong or already used token; closed */
	PERR_SHUTDOWN,	/* d, w: the server is stopping; closed */
	PERR_CLIENTGONE,	/* w -> d only: the client left mid-request */
	PERR_WDIED,	/* d's log only: the w serving the request died */
	PERR_BADBYTE,	/* w: a requetetype2 line holds a byte outside the text
			 * bytes (proto_text_valid); closed */
	PERR_COUNT
};

/* The word of an error ("busy"); "?" for a value outside the enum. */
const char *proto_err_word(enum proto_err err);

/* The error whose word is word, or PERR_NONE when there is none. */
enum proto_err proto_err_from_word(const char *word);

/*
 * True when every byte of line is allowed in a protocol line: printable
 * ASCII (0x20 to 0x7e) and bytes from 0x80 on (UTF-8 text, "é"). NUL,
 * the other control bytes (tab included) and DEL are not: a line holding
 * one is refused, never passed on or cut short.
 */
int proto_text_valid(const char *line);

/* The request's word ("requetetype1"); "?" for REQ_NONE. */
const char *proto_req_word(enum req_type type);

/* ---- client -> d ---------------------------------------------------- */

/*
 * Parse a request line. Returns its type, or REQ_NONE when the line is
 * not exactly a request word (d answers "error unknown").
 */
enum req_type proto_parse_request(const char *line);

/* ---- d -> client, w -> client --------------------------------------- */

/* "<port> <token>\n": where to go and what to show there. */
int proto_format_handover(char *buf, size_t size, unsigned port,
    const char *token);

/* "error <word>\n", or "error <word> <text>\n" when text is not NULL. */
int proto_format_error(char *buf, size_t size, enum proto_err err,
    const char *text);

/* w: "ok <id> <request>\n", the token was accepted. */
int proto_format_accepted(char *buf, size_t size, unsigned long id,
    enum req_type type);

/* w: "result <id> <text>\n", requetetype1's answer. */
int proto_format_result(char *buf, size_t size, unsigned long id,
    const char *text);

/* w: "end <id> <count>\n", requetetype2 is over after count echoed lines. */
int proto_format_end(char *buf, size_t size, unsigned long id,
    unsigned long count);

/* A line a server sent to a client, as the client understands it. */
enum reply_kind {
	REPLY_HANDOVER,	/* port, token */
	REPLY_ERROR,	/* err, text */
	REPLY_ACCEPTED,	/* id, type */
	REPLY_RESULT,	/* id, text */
	REPLY_END	/* id, count */
};

struct reply {
	enum reply_kind kind;
	unsigned port;				/* HANDOVER: w's TCP port */
	char token[PROTO_TOKEN_LEN + 1];	/* HANDOVER: the one-time token */
	unsigned long id;			/* ACCEPTED, RESULT, END: request id */
	enum req_type type;			/* ACCEPTED: the request */
	unsigned long count;			/* END: lines echoed */
	enum proto_err err;			/* ERROR: the word */
	char text[PROTO_BUF];			/* ERROR, RESULT: the rest ("" if none) */
};

/*
 * Parse a server's line into *r. Returns 0, or -1 with errno EPROTO when
 * it is none of the lines above (an unknown error word included).
 * Echoed lines of requetetype2 are not replies: the client counts them.
 */
int proto_parse_reply(const char *line, struct reply *r);

/* ---- d -> w (dwtube<i>) --------------------------------------------- */

/* A request d hands over to a w: what w needs to accept its client. */
struct job {
	enum req_type type;			/* what the client asked for */
	unsigned long id;			/* d's number for the request (>= 1) */
	char token[PROTO_TOKEN_LEN + 1];	/* the client must show it to w */
};

/* "<request> <id> <token>\n". */
int proto_format_job(char *buf, size_t size, const struct job *job);

/* Parse a job line into *job. Returns 0, or -1 with errno EPROTO. */
int proto_parse_job(const char *line, struct job *job);

/* ---- w -> d (wdtube<i>) --------------------------------------------- */

enum report_kind {
	REP_READY,	/* "ready <port>": w listens on port and can take a job */
	REP_DEBUT,	/* "debuttraitement <id>": the client showed the token */
	REP_FIN,	/* "fintraitement <id>": the request was served */
	REP_ERR		/* "errtraitement <id> <word>": it was not, and why */
};

struct report {
	enum report_kind kind;
	unsigned port;		/* READY */
	unsigned long id;	/* DEBUT, FIN, ERR */
	enum proto_err err;	/* ERR: the reason, one of the error words */
};

/* Format a report line. */
int proto_format_report(char *buf, size_t size, const struct report *rep);

/* Parse a report line into *rep. Returns 0, or -1 with errno EPROTO. */
int proto_parse_report(const char *line, struct report *rep);

/* ---- tokens --------------------------------------------------------- */

/*
 * Make a fresh token: PROTO_TOKEN_LEN hex digits of the kernel's random
 * generator (getrandom), NUL-terminated. Returns 0 or -1 with errno.
 */
int proto_token_new(char token[PROTO_TOKEN_LEN + 1]);

/* True when s is a well-formed token (PROTO_TOKEN_LEN lowercase hex digits). */
int proto_token_valid(const char *s);

/*
 * True when a and b are the same token. Takes the same time whatever the
 * first differing digit: a client timing the answers learns nothing.
 */
int proto_token_equal(const char *a, const char *b);

/* ---- the registry (step 3): who runs, for the watchdog ---------------- */

/*
 * The registry is one shared memory segment with one slot per server
 * (slot 0 is d, slot i is w<i>), created by the watchdog and inherited by
 * every server (-H FD). It is the single source of truth about who is
 * running:
 *   - the parent of a server (the watchdog for d, d for each w) writes the
 *     server's pid and a new generation number into its slot right after
 *     fork(), and marks the slot GONE *before* reaping it (so a pid read
 *     from a live slot is never a pid that was freed and reused);
 *   - each server marks its slot READY when it can serve, and adds 1 to
 *     its own heartbeat counter each time it answers a SIGUSR1.
 * A SIGUSR2 only wakes the watchdog up: it then reads every counter. Two
 * replies arriving together merge into one pending SIGUSR2 (standard
 * signals do not queue), but both counters have moved: nothing is lost.
 * The data path (the FIFOs, the client protocols) is d's business with its
 * w's: the watchdog never touches it (question 3.b).
 */

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
#define REG_MAGIC 0x4f535034u	/* "OSP4" */

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

#endif
