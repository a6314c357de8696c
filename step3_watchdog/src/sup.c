/*
 * sup.c - the supervision state machine (contracts in sup.h).
 *
 * Every function takes "now" as an argument and touches nothing but the
 * structs it is given: the whole policy (grace, heartbeats, backoff,
 * intensity) can be tested by driving a fake clock.
 */
#include "sup.h"

#include <string.h>

void
sup_init(struct sup_child *c)
{
	memset(c, 0, sizeof *c);
	c->state = CHILD_DOWN;
	c->restart_at = 0.0;	/* start at once */
}

void
sup_started(struct sup_child *c, pid_t pid, double now,
    const struct sup_policy *p)
{
	c->state = CHILD_STARTING;
	c->pid = pid;
	c->started = now;
	c->ping_out = 0;
	c->beats = 0;		/* a new incarnation counts from 0 */
	/* The grace period: no heartbeat before `ready`, so a slow start is
	 * not taken for a freeze; but a start that never ends is one. */
	c->deadline = now + p->grace;
}

void
sup_ready(struct sup_child *c, double now, const struct sup_policy *p)
{
	c->state = CHILD_UP;
	c->ping_out = 0;
	c->next_ping = now + p->period;
}

int
sup_ping_due(const struct sup_child *c, double now)
{
	return c->state == CHILD_UP && !c->ping_out && now >= c->next_ping;
}

void
sup_ping_sent(struct sup_child *c, double now, const struct sup_policy *p)
{
	c->ping_out = 1;
	c->ping_sent = now;
	c->deadline = now + p->timeout;
}

int
sup_beat(struct sup_child *c, unsigned beats, double now,
    const struct sup_policy *p, double *rtt)
{
	/* TODO 3.4: the reply to a heartbeat is a counter that moved, not a
	 * signal: standard signals do not queue, two SIGUSR2 arriving
	 * together are one. If c's counter moved while a ping is out, take
	 * it as the reply: remember the new count, clear ping_out, schedule
	 * the next ping one period after the last was *sent* (so a late
	 * reply does not stretch the period), give the round trip in *rtt
	 * and return 1. Otherwise only remember the count and return 0. */
	return 0;
}

enum sup_verdict
sup_check(const struct sup_child *c, double now)
{
	/* TODO 3.4: a STARTING child whose grace period is over is
	 * SUP_NOT_READY; an UP child with a ping out past its deadline is
	 * SUP_MISS; anything else is SUP_OK. */
	return SUP_OK;
}

void
sup_killed(struct sup_child *c)
{
	c->state = CHILD_STOPPING;
	c->ping_out = 0;
}

double
sup_backoff(unsigned k, const struct sup_policy *p)
{
	/* TODO 3.5: 0 for k = 0 (the first restart is immediate), then
	 * backoff_min * 2^(k-1), capped at backoff_max. Why back off at all,
	 * rather than restart a crashing child at once, every time? */
	return 0.0;
}

/* Forget the times of w that are older than the window. */
static void
window_prune(struct sup_window *w, double now, const struct sup_policy *p)
{
	unsigned i = 0;

	while (i < w->n && w->t[i] <= now - p->window)
		i++;
	memmove(w->t, w->t + i, (w->n - i) * sizeof w->t[0]);
	w->n -= i;
}

int
sup_window_add(struct sup_window *w, double now, const struct sup_policy *p)
{
	/* TODO 3.6: forget the restarts older than the window
	 * (window_prune), add this one, and say whether there are now more
	 * than p->intensity. If the window is full, drop the oldest time to
	 * make room (it can only be full when giving up anyway). */
	return 0;
}

int
sup_exited(struct sup_child *c, struct sup_window *all, double now,
    const struct sup_policy *p)
{
	unsigned earlier;

	c->state = CHILD_DOWN;
	c->pid = 0;
	c->ping_out = 0;
	if (sup_window_add(all, now, p))
		return 1;
	/* The child's own recent restarts set its backoff: one crash now
	 * and then restarts at once, a crash loop slows down. */
	window_prune(&c->recent, now, p);
	earlier = c->recent.n;
	(void)sup_window_add(&c->recent, now, p);
	c->restart_at = now + sup_backoff(earlier, p);
	c->restarts++;
	return 0;
}

void
sup_forget(struct sup_child *c)
{
	c->state = CHILD_DOWN;
	c->pid = 0;
	c->ping_out = 0;
	c->restart_at = SUP_NEVER;
}

int
sup_restart_due(const struct sup_child *c, double now)
{
	return c->state == CHILD_DOWN && c->restart_at != SUP_NEVER &&
	    now >= c->restart_at;
}

double
sup_next_event(const struct sup_child *c)
{
	switch (c->state) {
	case CHILD_DOWN:
		return c->restart_at;
	case CHILD_STARTING:
		return c->deadline;
	case CHILD_UP:
		return c->ping_out ? c->deadline : c->next_ping;
	case CHILD_STOPPING:
		break;
	}
	return SUP_NEVER;
}
