/*
 * client.h - what the client's files share: the outcome of one request,
 * one request on a session (request.c), and the load mode's entry point
 * (load.c). client.c reads the command line and runs them.
 */
#ifndef STEP4_CLIENT_H
#define STEP4_CLIENT_H

#include <netinet/in.h>

#include "io.h"
#include "proto.h"

/*
 * How one request ended. The first values are the servers' error words
 * (enum proto_err, same numbers); the client adds its own after them.
 */
enum outcome {
	OUT_OK = PERR_NONE,
	/* PERR_UNKNOWN ... PERR_WDIED: "error <word>" from d or w */
	OUT_REFUSED = PERR_COUNT,	/* connect() failed (nobody listens) */
	OUT_CLOSED,	/* the server closed or reset before the answer was complete */
	OUT_GARBLED,	/* a line outside the grammar, or an echo that differs */
	OUT_EXPIRED,	/* no answer within the client's own time limit (-T) */
	OUT_COUNT
};

/* The outcome's word: "ok", "busy", ..., "refused", "closed", ... */
const char *outcome_word(enum outcome o);

/* The connection to d that a client's requests share, and their limits. */
struct session {
	struct sockaddr_in d_addr;	/* d's address (w's host too) */
	int dfd;			/* connection to d, -1 if none */
	struct line_reader dlr;		/* d's replies, from dfd */
	unsigned long timeout_ms;	/* per request */
	int interactive;		/* -i */
};

/*
 * One request on s's d connection, then on a fresh connection to the w
 * that d names. Returns how it ended, with a human detail in detail
 * (size bytes; "" if none).
 */
enum outcome one_request(struct session *s, enum req_type type, char *detail, size_t size);

/* What the load mode is asked to do (client -n N -c C [-k]). */
struct load_opts {
	struct sockaddr_in d_addr;	/* d's address */
	enum req_type type;		/* every request is of this type */
	unsigned long requests;		/* N */
	unsigned long concurrency;	/* C */
	int keep;			/* -k: reuse each d connection */
	unsigned long timeout_ms;	/* -T: per request */
};

/* Run the load, print its report on stdout. Returns 0 if every request
 * succeeded, 1 otherwise. */
int load_run(const struct load_opts *o);

#endif
