/*
 * sup.h - supervision as a pure state machine: one struct per child, and
 * functions of "now". No clock, no signal, no fork in here: the watchdog
 * and d call these with log_now() and act on the answers; the unit tests
 * call them with any time they like and walk every transition.
 *
 *              started            ready             ping sent
 *   DOWN ─────────────▶ STARTING ───────▶ UP ◀──────────────▶ (ping out)
 *    ▲                     │ grace over     │ reply late         │ reply
 *    │ exited              ▼                ▼                    │
 *    └──────────────── STOPPING ◀─── killed ◀────────────────────┘
 *
 * A child that exits (or is killed and reaped) goes DOWN with a restart
 * time: the first restart is immediate, the next ones back off
 * exponentially up to a cap; more than `intensity` restarts within
 * `window` seconds means the supervisor gives up (Erlang/OTP's rule).
 */
#ifndef STEP4_SUP_H
#define STEP4_SUP_H

#include <sys/types.h>

/* Most restarts a window can remember (-R is limited to less). */
#define SUP_WINDOW_MAX 64

/* What a supervisor promises; every time is in seconds. */
struct sup_policy {
	double period;		/* P: a heartbeat every period once UP */
	double timeout;		/* T: a reply is due within timeout */
	double grace;		/* a started child must be ready within grace */
	unsigned intensity;	/* R: at most R restarts ... */
	double window;		/* ... within W seconds */
	double backoff_min;	/* the second restart waits this long */
	double backoff_max;	/* the cap of the doubling */
};

/* The restarts that happened in the last `window` seconds. */
struct sup_window {
	unsigned n;			/* how many times are held */
	double t[SUP_WINDOW_MAX];	/* oldest first */
};

enum child_state { CHILD_DOWN, CHILD_STARTING, CHILD_UP, CHILD_STOPPING };

/* No time at all: the restart time of a child this supervisor does not
 * restart, and what sup_next_event() says when nothing is due. */
#define SUP_NEVER (-1.0)

/* One supervised child. */
struct sup_child {
	enum child_state state;
	pid_t pid;		/* 0 when DOWN */
	double started;		/* when it was started */
	double restart_at;	/* DOWN: when to start it again, or SUP_NEVER */
	int ping_out;		/* UP: a SIGUSR1 waits for its reply */
	double ping_sent;	/* UP: when that SIGUSR1 was sent */
	double next_ping;	/* UP: when to send the next one */
	double deadline;	/* STARTING: ready by; UP with a ping out: reply by */
	unsigned beats;		/* the last heartbeat counter seen */
	unsigned restarts;	/* restarts so far (for the log) */
	struct sup_window recent;	/* this child's recent restarts (backoff) */
};

/* What sup_check() found. */
enum sup_verdict {
	SUP_OK,			/* nothing to do */
	SUP_NOT_READY,		/* STARTING and the grace period is over */
	SUP_MISS		/* UP and the reply to a heartbeat is late */
};

/* A child that has never run: DOWN, to be started at once. */
void sup_init(struct sup_child *c);

/* c was just started as pid: STARTING, ready due by now + grace. */
void sup_started(struct sup_child *c, pid_t pid, double now,
    const struct sup_policy *p);

/* c said it is ready: UP; its first heartbeat goes out one period later. */
void sup_ready(struct sup_child *c, double now, const struct sup_policy *p);

/* True when c is UP, has no heartbeat out, and its next one is due. */
int sup_ping_due(const struct sup_child *c, double now);

/* A SIGUSR1 was just sent to c: its reply is due by now + timeout. */
void sup_ping_sent(struct sup_child *c, double now, const struct sup_policy *p);

/*
 * c's heartbeat counter reads beats. If it moved while a heartbeat was
 * out, that is the reply: the next heartbeat is scheduled one period after
 * the last was sent, *rtt gets the time since it was sent, and 1 is
 * returned. Otherwise 0.
 */
int sup_beat(struct sup_child *c, unsigned beats, double now,
    const struct sup_policy *p, double *rtt);

/* Is c late? (Read the counters with sup_beat() first: a reply that came
 * in just now must not be taken for a miss.) */
enum sup_verdict sup_check(const struct sup_child *c, double now);

/* c was sent SIGKILL: STOPPING until it is known to be gone. */
void sup_killed(struct sup_child *c);

/*
 * The delay before restart number k within the window (k = 0: the first
 * restart): 0, then backoff_min, doubling each time, never above
 * backoff_max.
 */
double sup_backoff(unsigned k, const struct sup_policy *p);

/*
 * Add a restart at now to w, forgetting those older than the window.
 * Returns 1 when w now holds more than p->intensity restarts (give up),
 * else 0.
 */
int sup_window_add(struct sup_window *w, double now, const struct sup_policy *p);

/*
 * c has exited (or was reaped after a kill). all is the supervisor's
 * window over all its children. Returns 1 to give up (intensity
 * exceeded); else 0 with c DOWN and c->restart_at set by the backoff.
 */
int sup_exited(struct sup_child *c, struct sup_window *all, double now,
    const struct sup_policy *p);

/*
 * c has gone, or is going, and is not this supervisor's to restart: it
 * is stopping, or another restarts c (d restarts the w's the watchdog
 * watches). DOWN, with no pid and no restart time (SUP_NEVER).
 */
void sup_forget(struct sup_child *c);

/* True when c is DOWN and its restart time has come. */
int sup_restart_due(const struct sup_child *c, double now);

/*
 * The next time something is due for c (a ping, a deadline, a restart),
 * or SUP_NEVER if nothing is. The main loop sleeps until the earliest of
 * these.
 */
double sup_next_event(const struct sup_child *c);

#endif
