/*
 * w.h - what the three files of w share: w.c (options, start-up, the main
 * loop, the stop), wjob.c (d's side: the job d gives, its client's token,
 * serving it, the reports to d) and wconn.c (the TCP connections: their
 * buffers, POLLOUT, the listener). Nothing here is for another program.
 */
#ifndef STEP4_W_H
#define STEP4_W_H

#include <limits.h>
#include <stddef.h>

#include "io.h"
#include "log.h"
#include "proto.h"
#include "server.h"

/* Connections w holds at once: the client it serves and a few others that
 * have not shown a token yet. More are refused: a flood on w's port must
 * not eat its descriptors. */
#define MAX_CONNS 64

/* A TCP connection to w. */
struct conn {
	int fd;				/* -1 once closed (removed at the end of the turn) */
	char peer[32];
	struct line_reader lr;
	double deadline;		/* idle time-out */
	int serving;			/* it showed the right token: the job's client */
	unsigned long echoed;		/* requetetype2: lines echoed back */
	char out[2 * PROTO_BUF];	/* bytes accepted for sending, not sent yet */
	size_t outlen;
	int close_after;		/* close once out is sent */
	int eof;			/* the peer has shut down its write side */
};

/* The request w has been given. */
enum job_state {
	JOB_NONE,	/* idle: a token shown now is wrong, whatever it is */
	JOB_WAITING,	/* d gave a job: waiting for its client and token */
	JOB_RUNNING	/* the client is here: being served */
};

/* Everything w holds; main() releases what is set. */
struct wserver {
	unsigned num;			/* -n: this is w<num> */
	char run_dir[PATH_MAX];		/* -r */
	unsigned long delay_ms;		/* -t */
	unsigned long idle_ms;		/* -I */
	int quiet;			/* -Q */
	struct server sv;		/* the registry slot, the fault hook */
	int reg_fd;			/* -H: the registry, until mapped; then -1 */
	int sigfd, listen_fd, rfd, wfd;	/* self-pipe, TCP listener, dwtube, wdtube; -1 when closed */
	unsigned port;
	struct line_reader fifo;	/* what d sent over dwtube */
	struct conn *conns[MAX_CONNS];
	size_t nconns;
	struct job job;
	enum job_state state;
	double job_deadline;		/* WAITING: token expiry; RUNNING type 1: result due */
	double listen_paused_until;	/* accept() ran out of descriptors */
	struct conn *client;		/* RUNNING: the client served */
	unsigned long served;		/* requests served */
	int stopping;			/* leave the main loop */
	int rc;				/* exit status */
	char reports[256];		/* reports for d, sent at the end of the turn */
	size_t reportlen;
	int reports_lost;		/* a report did not fit in reports[] */
};

extern struct wserver w;		/* w's state (w.c) */

#define log_request(...) do { if (!w.quiet) log_event(__VA_ARGS__); } while (0)

/* wjob.c: d's side (contracts above each function there). */
void report(enum report_kind kind, unsigned long id, enum proto_err err);
int reports_flush(void);
void job_fail(enum proto_err err, const char *text);
void on_messages(void);
void check_token(struct conn *c, const char *line, double now);
void serve_lines(struct conn *c, double now);
void timers(double now);

/* wconn.c: the connections (contracts above each function there). */
void conn_send(struct conn *c, const char *line, int len);
void conn_error(struct conn *c, enum proto_err err, const char *text);
void conn_flush(struct conn *c);
void conn_event(struct conn *c, short revents, double now);
void accept_conn(double now);
void conns_sweep(void);

#endif
