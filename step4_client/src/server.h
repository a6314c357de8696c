/*
 * server.h - what every server (d and each w) does for the
 * watchdog: find its slot in the registry, say when it is ready, answer
 * heartbeats from its main loop, and the fault hooks used by the tests
 * and the classroom demo.
 */
#ifndef STEP4_SERVER_H
#define STEP4_SERVER_H

#include <stdnoreturn.h>
#include <sys/types.h>

#include "proto.h"
#include "selfpipe.h"

/* A fault to inject (-F): none on the normal path. */
enum fault_kind {
	FAULT_NONE,
	FAULT_EXIT,		/* exit 1 at start-up, before `ready` */
	FAULT_HANG		/* after `after` heartbeats, the main loop hangs */
};

struct fault {
	enum fault_kind kind;
	unsigned long after;	/* FAULT_HANG: heartbeats answered first */
};

/* A server's link to the watchdog. */
struct server {
	struct registry *reg;	/* the registry, mapped */
	unsigned slot;		/* our slot: 0 for d, i for wi */
	unsigned long answered;	/* heartbeats answered so far */
	struct fault fault;	/* the fault to inject, if any */
};

/*
 * Parse a fault spec: "exit" or "hang:K" (K >= 1: answer K heartbeats, then
 * hang). Returns 0, or -1 with errno
 * EINVAL.
 */
int fault_parse(const char *spec, struct fault *f);

/* If sv->fault is FAULT_EXIT, close fd and exit 1 (a crash at start-up,
 * before anything else is opened). Otherwise return. */
void server_fault_at_start(const struct server *sv, int fd);

/*
 * Map the registry inherited as fd (the caller may close fd afterwards:
 * the mapping is enough, unless fd is to be passed on) and check that slot
 * exists. Returns 0, or -1 with errno (EPROTO: not a registry, or no such
 * slot).
 */
int server_attach(struct server *sv, int fd, unsigned slot);

/*
 * Refuse to start, for a reason a restart would meet again: print it,
 * leave it in the registry for the watchdog to give, and exit
 * EXIT_NO_RESTART. sv must be attached.
 */
noreturn void server_refuse(struct server *sv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Mark our slot READY and wake the watchdog up so that it sees it. */
int server_ready(struct server *sv);

/*
 * Handle one SIGUSR1 record from the self-pipe, in the main loop: if the
 * watchdog sent it, count the heartbeat in our slot, then send SIGUSR2 to
 * the watchdog. Returns 1 when answered, 0 when ignored (not from the
 * watchdog), -1 with errno if the reply could not be sent.
 */
int server_heartbeat(struct server *sv, const struct sig_event *ev);

/* Unmap the registry. */
void server_detach(struct server *sv);

#endif
