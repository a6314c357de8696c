/*
 * watchdog.h - what the three files of the watchdog share: watchdog.c
 * (options, set-up, the main loop), watch.c (d's start and restart, the
 * heartbeats, killing the frozen) and teardown.c (cleaning after a dead
 * d, the clean stop). Nothing here is for another program.
 */
#ifndef STEP3_WATCHDOG_H
#define STEP3_WATCHDOG_H

#include <limits.h>
#include <sys/types.h>

#include "proc.h"
#include "proto.h"
#include "registry.h"
#include "sup.h"
#include "supopt.h"

/* Most -f options. */
#define FAULTS_MAX 16

/* What the command line asked for; times in milliseconds. */
struct options {
	unsigned long n;		/* -w: number of w's */
	unsigned long period, timeout;	/* -P, -T */
	struct sup_opts sup;		/* -m -r -g -R -W -b -B */
	unsigned long stop_wait;	/* -K: clean stop, then SIGKILL */
	unsigned long interval;		/* -i: d's ping interval to each w */
	char d_path[PATH_MAX];		/* d, next to the watchdog */
	const char *faults[FAULTS_MAX];	/* -f NAME:FAULT */
	int nfaults;
};

/* What the watchdog knows about one slot of the registry. */
struct watch {
	char name[8];		/* "d", "w1", ... */
	struct sup_child sup;	/* state, deadlines, heartbeats */
	unsigned gen;		/* the generation the state is about */
	struct reg_ref ref;	/* our handle on that server (ref.pid 0: none) */
};

extern struct options opt;		/* the command line */
extern struct sup_policy policy;	/* heartbeats, grace, restarts */
extern struct registry *reg;		/* the servers' pids, states, heartbeats */
extern int reg_fd;			/* reg's descriptor, inherited by d */
extern struct watch watch[1 + W_MAX];	/* [0] is d */
extern unsigned nwatch;			/* 1 + n */
extern int stopping;			/* a stop was asked for */
extern unsigned long nbeats;		/* heartbeat replies seen */
extern struct proc_signals sig;		/* the watchdog's signals (watchdog.c) */
extern const struct proc_reaper reaper;	/* its ended children (watch.c) */

/* watchdog.c: stop with exit code 1, saying why once the tree is down. */
void give_up(const char *why);

/* watch.c: d and the heartbeats (contracts above each function there). */
pid_t start_d(double now);
int d_restart_due(double now);
void scan_registry(double now);
int check_servers(double now);
int all_up(void);
int poll_timeout(double now);

/* teardown.c: the end of a d, the end of the tree. */
void clean_after_d(pid_t pid);
int stop_tree(void);

#endif
