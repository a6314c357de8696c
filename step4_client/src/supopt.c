/*
 * supopt.c - the options d and the watchdog share (contracts in
 * supopt.h).
 */
#include "supopt.h"

#include <stdio.h>
#include <string.h>

#include "rundir.h"
#include "util.h"

int
supopt_defaults(struct sup_opts *o)
{
	o->grace = 5000;
	o->intensity = 5;
	o->window = 10000;
	o->backoff_min = 100;
	o->backoff_max = 5000;
	return rundir_default(o->run_dir, sizeof o->run_dir);
}

int
supopt_take(struct sup_opts *o, int c, const char *arg)
{
	if (c != 'r')
		return 0;
	snprintf(o->run_dir, sizeof o->run_dir, "%s", arg);
	return 1;
}

const char *
supopt_fault_w(const char *spec, unsigned long n, unsigned long *i)
{
	const char *colon = strchr(spec, ':');
	char num[16];

	if (spec[0] != 'w' || colon == NULL || (size_t)(colon - spec - 1) >= sizeof num)
		return NULL;
	memcpy(num, spec + 1, (size_t)(colon - spec - 1));
	num[colon - spec - 1] = '\0';
	return parse_ulong(num, 1, n, i) == 0 ? colon + 1 : NULL;
}

int
supopt_argv(const struct sup_opts *o, char *args[], char num[][24])
{
	const unsigned long *v[SUPOPT_NUMS] = { &o->grace, &o->intensity,
	    &o->window, &o->backoff_min, &o->backoff_max };
	static char flag[SUPOPT_NUMS][3] = { "-g", "-R", "-W", "-b", "-B" };
	int a = 0, i;

	for (i = 0; i < SUPOPT_NUMS; i++) {
		snprintf(num[i], 24, "%lu", *v[i]);
		args[a++] = flag[i];
		args[a++] = num[i];
	}
	args[a++] = "-r";
	args[a++] = (char *)o->run_dir;
	return a;
}

void
supopt_policy(const struct sup_opts *o, struct sup_policy *p)
{
	p->grace = o->grace / 1000.0;
	p->intensity = (unsigned)o->intensity;
	p->window = o->window / 1000.0;
	p->backoff_min = o->backoff_min / 1000.0;
	p->backoff_max = o->backoff_max / 1000.0;
}
