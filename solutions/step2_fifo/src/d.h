/*
 * d.h - what step 2's d shares between its files:
 *   d.c      the ping/pong: options, the main loop, the exchanges
 *   child.c  its child w: start it, open the FIFOs with it, stop it, reap it
 *   run.c    what a run holds on the system: set up, then removed
 */
#ifndef STEP2_D_H
#define STEP2_D_H

#include <limits.h>
#include <sys/types.h>

#include "io.h"
#include "proto.h"
#include "rtt.h"

/* How long d waits for w, in milliseconds. */
#define OPEN_TIMEOUT_MS 10000	/* to open its end of dwtube1 */
#define STOP_GRACE_MS 2000	/* to exit once told to stop, else SIGKILL */

/* What the command line asked for. */
struct options {
	char run_dir[PATH_MAX];	/* where the FIFOs live */
	char shm_name[256];	/* the segment's name */
	unsigned long count;	/* exchanges */
	unsigned long delay_ms;	/* w's processing time per request */
	int quiet;		/* -q: no log lines, only the figures */
	char w_path[PATH_MAX];	/* the program to start as w */
};

/* Everything d holds during a run; cleanup() releases what is set. */
struct run {
	const struct options *o;
	struct shm_layout *shm;		/* NULL until created */
	char dw_path[PATH_MAX];		/* RUN_DIR/dwtube1 */
	char wd_path[PATH_MAX];		/* RUN_DIR/wdtube1 */
	int made_dw, made_wd;		/* d created that FIFO: remove it */
	char lock_path[PATH_MAX];	/* RUN_DIR/d.pid */
	int lock_fd;			/* holds the lock on the run directory; -1 */
	int sig_fd, dw_fd, wd_fd;	/* -1 when closed */
	struct line_reader lr;		/* w's messages, from wdtube1 */
	pid_t w_pid;			/* 0: no w (not started, or reaped) */
	pid_t w_name;			/* w's pid, kept once reaped: a last
					 * pong may be read after the reaping */
	int w_status;			/* how w ended, once reaped */
	unsigned long sent, done;	/* pings sent, pongs received */
	double ping_at;			/* when the ping in flight left */
	int stopping;			/* d has told w to stop */
	double stop_by;			/* ... and w must be gone by then */
	int early;			/* w ended before d told it to stop */
	int killed;			/* d ended w with a signal itself */
	int rc;				/* exit status */
	struct rtt_stats rtt;		/* round-trip times */
};

/* d.c: wait up to timeout_ms (-1: no limit) for events, handle them. */
void wait_events(struct run *r, int timeout_ms);

/* child.c */
/* Start w with the options' arguments. Returns its pid, or -1 with errno. */
pid_t start_w(const struct options *o);
/* Tell w to stop, once; reason is logged ("done", "SIGTERM", ...). */
void stop_w(struct run *r, const char *reason);
/* w is gone (end of file, EPIPE, reaped) before d told it to stop. */
void w_left(struct run *r);
/* Reap every child that has ended, without blocking (on SIGCHLD). */
void reap_children(struct run *r);
/* Last resort: kill w and wait for it. */
void kill_w(struct run *r);
/* Open d's ends of the FIFOs. Returns 0, or -1 after saying why. */
int open_fifos(struct run *r);

/* run.c */
/* Prepare the run, w started last. Returns 0, or -1 after saying why. */
int setup(struct run *r);
/* Release what the run holds; nothing of it is left on the system. */
void cleanup(struct run *r);

#endif
