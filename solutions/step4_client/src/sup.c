/*
 * sup.c - supervision state machine (contracts in sup.h). No system call
 * here: every function is a function of its arguments, "now" included.
 */
#include "sup.h"

#include <stdio.h>
#include <string.h>

void
sup_init(struct sup_child *c, const char *name, double now)
{
	memset(c, 0, sizeof *c);
	snprintf(c->name, sizeof c->name, "%s", name);
	c->state = CHILD_DOWN;
	c->restart_at = now;
}

void
sup_started(struct sup_child *c, pid_t pid, double now)
{
	c->pid = pid;
	c->state = CHILD_STARTING;
	c->started = now;
	c->seen = now;
}

void
sup_ready(struct sup_child *c, double now)
{
	c->state = CHILD_UP;
	c->seen = now;
}

void
sup_seen(struct sup_child *c, double now)
{
	if (now > c->seen)
		c->seen = now;
}

int
sup_frozen(const struct sup_child *c, double now, const struct sup_timing *t)
{
	/* Frozen means no reply for T, not "one reply missed": two servers'
	 * SIGUSR2 arriving together are merged into one pending signal, so a
	 * single reply may be lost; the next period's reply makes up for it. */
	return c->state == CHILD_UP && now - c->seen > t->timeout;
}

void
sup_stopping(struct sup_child *c)
{
	c->state = CHILD_STOPPING;
}

void
sup_exited(struct sup_child *c, double now, const struct sup_timing *t)
{
	int short_life = c->restarts > 0 && now - c->started < t->stable;

	c->pid = 0;
	c->state = CHILD_DOWN;
	if (!short_life)
		c->backoff = 0;	/* it had been fine for a while: start at once */
	c->restart_at = now + c->backoff;
	c->backoff = c->backoff == 0 ? t->backoff_min : 2 * c->backoff;
	if (c->backoff > t->backoff_max)
		c->backoff = t->backoff_max;
	c->restarts++;
}

int
sup_restart_due(const struct sup_child *c, double now)
{
	return c->state == CHILD_DOWN && now >= c->restart_at;
}

void
sup_intensity_init(struct sup_intensity *in, unsigned max, double window)
{
	memset(in, 0, sizeof *in);
	in->max = max < SUP_INTENSITY_MAX ? max : SUP_INTENSITY_MAX - 1;
	in->window = window;
}

int
sup_intensity_add(struct sup_intensity *in, double now)
{
	unsigned i, kept = 0;

	/* Forget the restarts that have left the window. */
	for (i = 0; i < in->count; i++)
		if (now - in->times[i] <= in->window)
			in->times[kept++] = in->times[i];
	in->count = kept;
	if (in->count == SUP_INTENSITY_MAX) {
		memmove(in->times, in->times + 1, (in->count - 1) * sizeof in->times[0]);
		in->count--;
	}
	in->times[in->count++] = now;
	return in->count > in->max;
}
