/*
 * d.h - what the two files of d share: d.c (options, the main loop,
 * start and stop) and workers.c (the w's: starting them, their pings
 * and pongs, their supervision). Nothing here is for another program.
 */
#ifndef STEP3_D_H
#define STEP3_D_H

#include <limits.h>
#include <sys/types.h>

#include "io.h"
#include "proc.h"
#include "proto.h"
#include "server.h"
#include "sup.h"
#include "supopt.h"

/* What the command line asked for; times in milliseconds. */
struct options {
	unsigned long n;		/* -w */
	int reg_fd;			/* -H: the registry, inherited */
	unsigned long interval;		/* -i */
	struct sup_opts sup;		/* -m -r -g -R -W -b -B */
	unsigned long stop_wait;	/* -K */
	char w_path[PATH_MAX];		/* w, next to d */
	const char *wfault[W_MAX + 1];	/* -f wI:FAULT, by I */
};

/* One secondary server, as d sees it. */
struct wchild {
	char name[8];		/* "w1" */
	unsigned idx;		/* its number, 1..n: its slot and FIFOs */
	struct sup_child sup;	/* d's supervision of it (sup.c) */
	pid_t old;		/* the pid it replaces (for the log) */
	unsigned starts;	/* incarnations so far */
	char dw_path[PATH_MAX];	/* dwtube<i> */
	char wd_path[PATH_MAX];	/* wdtube<i> */
	int to_w;		/* dwtube<i>, write end, -1 until w opened it */
	int from_w;		/* wdtube<i>, read end, -1 when w is down */
	struct line_reader lr;	/* the lines read from from_w */
	int waiting;		/* a ping is out, its pong not back yet */
	double next_ping;	/* when to send the next request */
	double ping_at;		/* when the last one was sent */
	unsigned long pongs;	/* exchanges completed with this incarnation */
};

extern struct options opt;		/* the command line */
extern struct sup_policy policy;	/* d's supervision of its w's */
extern struct server sv;		/* d as a server the watchdog watches */
extern struct wchild ws[W_MAX];		/* the w's, opt.n of them */
extern struct sup_window restarts;	/* every w's restarts, for the intensity */
extern struct shm_layout *shm;		/* the segment: one request/answer pair per w */
extern int stopping;			/* a stop was asked for */
extern int exit_code;			/* d's exit code */
extern struct proc_signals sig;		/* d's signals (d.c) */
extern const struct proc_reaper reaper;	/* d's ended children (workers.c) */

/* workers.c: the w's (contracts above each function there). */
pid_t start_w(struct wchild *wc, double now);
void send_ping(struct wchild *wc, double now);
void read_w(struct wchild *wc, double now);
void log_child_state(const struct sig_event *ev);
int stop_ws(void);
void ws_setup(void);
void ws_remove_fifos(void);

#endif
