/*
 * d.h - what the three files of d share: d.c (options, the main loop,
 * start and stop), front.c (the clients, their queue, handing their
 * requests over) and workers.c (the w's: starting them, their reports,
 * their supervision). Nothing here is for another program.
 */
#ifndef STEP4_D_H
#define STEP4_D_H

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
	int listen_fd;			/* -L: the listening socket, inherited */
	unsigned long delay_ms;		/* -t: w's processing time */
	unsigned long idle_ms;		/* -I: idle time-out */
	unsigned long queue_max;	/* -q: longest queue */
	int quiet;			/* -Q: no per-request log lines */
	struct sup_opts sup;		/* -r -g -R -W -b -B */
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
	int to_w;		/* dwtube<i>, write end, -1 until w is ready */
	int from_w;		/* wdtube<i>, read end, -1 when w is down */
	struct line_reader lr;	/* the reports read from from_w */
	int ready;		/* it said "ready <port>": it can take a job */
	unsigned port;		/* its TCP port, from "ready <port>" */
	/* The request it serves (job.id == 0: none, the w is idle). */
	struct job job;
	int started;		/* debuttraitement seen for it */
	double since;		/* when it was handed over */
	struct client *client;	/* whose d connection asked; NULL if gone */
};

/* A client connected to d. */
struct client {
	int fd;				/* -1 once closed (removed at the end of the turn) */
	char peer[32];			/* "127.0.0.1:40312", for the log */
	struct line_reader lr;
	double deadline;		/* idle or queue time-out */
	enum req_type queued;		/* REQ_NONE, or the request waiting in the queue */
	unsigned inflight;		/* its requests that a w is serving now */
	int eof;			/* it has shut down writing: close once answered */
	struct client *qprev, *qnext;	/* links in the queue while queued */
	short revents;			/* what poll() said about fd this turn */
};

/* The front end: the clients, the queue, the requests. */
struct front {
	unsigned port;			/* d's TCP port */
	int announced;			/* "ready" logged */
	double listen_paused_until;	/* accept() failed: rest until then */
	struct client **clients;	/* every connected client */
	size_t nclients, cap_clients;
	size_t max_clients;		/* from the open-file limit */
	struct client *qhead, *qtail;	/* the queue, oldest first */
	size_t qlen;
	unsigned long next_id;		/* the last request id given */
};

extern struct options opt;		/* the command line */
extern struct sup_policy policy;	/* d's supervision of its w's */
extern struct server sv;		/* d as a server the watchdog watches */
extern struct wchild ws[W_MAX];		/* the w's, opt.n of them */
extern struct sup_window restarts;	/* every w's restarts, for the intensity */
extern struct front d;			/* the clients and their queue */
extern int stopping;			/* a stop was asked for */
extern int exit_code;			/* d's exit code */
extern struct proc_signals sig;		/* d's signals (d.c) */
extern const struct proc_reaper reaper;	/* d's ended children (workers.c) */

/* Per-request events are skipped in quiet mode (-Q). */
#define log_request(...) do { if (!opt.quiet) log_event(__VA_ARGS__); } while (0)

/* front.c: the clients (contracts above each function there). */
void client_error(struct client *c, enum proto_err err, const char *text);
void client_touch(struct client *c, double now);
void dispatch_queue(double now);
void client_read(struct client *c, short revents, double now);
int accept_clients(double now);
void clients_sweep(double now);

/* workers.c: the w's (contracts above each function there). */
void worker_kill(struct wchild *wc, const char *why);
pid_t start_w(struct wchild *wc, double now);
void read_w(struct wchild *wc, double now);
void log_child_state(const struct sig_event *ev);
int stop_ws(void);
void ws_setup(void);
void ws_remove_fifos(void);

#endif
