/*
 * sup.h - supervision as pure functions of "now": one child's state,
 * its heartbeat deadlines, its restart backoff, and the restart intensity
 * window (OTP's "more than R restarts in W seconds: give up").
 *
 * Nothing here sends a signal or reads a clock: the caller passes the
 * time, so the cmocka tests drive every transition with a fake clock, and
 * the watchdog and d only act on what these functions decide.
 */
#ifndef STEP4_SUP_H
#define STEP4_SUP_H

#include <sys/types.h>

enum child_state {
	CHILD_DOWN,	/* not running; restart_at says when to start it */
	CHILD_STARTING,	/* started, not ready yet: not heart-beaten (grace) */
	CHILD_UP,	/* ready: heart-beaten every period */
	CHILD_STOPPING	/* asked to stop (or killed): waiting to reap it */
};

/* Timings, in seconds. */
struct sup_timing {
	double period;		/* P: a heartbeat every period */
	double timeout;		/* T: no reply for this long means frozen */
	double backoff_min;	/* the second restart in a row waits this long */
	double backoff_max;	/* ... doubling each time, up to this */
	double stable;		/* up this long: the next restart is immediate again */
};

struct sup_child {
	char name[16];		/* "d", "w1", ... as in the log */
	pid_t pid;		/* 0 when down */
	enum child_state state;
	double started;		/* when it was last started */
	double seen;		/* its last sign of life (ready, heartbeat reply) */
	double restart_at;	/* CHILD_DOWN: when to start it again */
	double backoff;		/* the delay the next restart will wait */
	unsigned restarts;	/* how many times it was restarted */
};

/* A child that is down and due to start at once. */
void sup_init(struct sup_child *c, const char *name, double now);

/* It was started as pid at now: CHILD_STARTING (no heartbeat yet). */
void sup_started(struct sup_child *c, pid_t pid, double now);

/* It said it is ready: CHILD_UP, heart-beaten from now on. */
void sup_ready(struct sup_child *c, double now);

/* It answered a heartbeat (or showed any other sign of life). */
void sup_seen(struct sup_child *c, double now);

/* True when an UP child has shown no sign of life for longer than T. */
int sup_frozen(const struct sup_child *c, double now, const struct sup_timing *t);

/* It is being stopped or killed: CHILD_STOPPING until it is reaped. */
void sup_stopping(struct sup_child *c);

/*
 * It was reaped at now: CHILD_DOWN, restart_at set. The first restart is
 * immediate; one that follows a short life (less than t->stable) waits
 * the backoff, which doubles each time up to t->backoff_max.
 */
void sup_exited(struct sup_child *c, double now, const struct sup_timing *t);

/* True when a CHILD_DOWN child is due to be started again. */
int sup_restart_due(const struct sup_child *c, double now);

/* Restart intensity: at most max restarts within window seconds. */
#define SUP_INTENSITY_MAX 64
struct sup_intensity {
	unsigned max;		/* R */
	double window;		/* W */
	unsigned count;		/* restarts recorded in times[] */
	double times[SUP_INTENSITY_MAX];	/* the most recent ones, oldest first */
};

/* max (at most SUP_INTENSITY_MAX - 1) restarts in window seconds. */
void sup_intensity_init(struct sup_intensity *in, unsigned max, double window);

/*
 * Record a restart at now. Returns 1 when this one is more than max
 * restarts within the window (give up), 0 otherwise.
 */
int sup_intensity_add(struct sup_intensity *in, double now);

#endif
