/*
 * supopt.h - the options d and the watchdog both take, with the same
 * ranges and defaults: where the tree lives (-m, -r) and how it is
 * supervised (-g -R -W -b -B), and the struct sup_policy they make; and
 * the "wI:" of a -f fault option.
 */
#ifndef STEP3_SUPOPT_H
#define STEP3_SUPOPT_H

#include <limits.h>

#include "opt.h"
#include "sup.h"

/* The options; times in milliseconds, as the command line gives them. */
struct sup_opts {
	char shm_name[256];		/* -m: d's segment, the registry's base */
	char run_dir[PATH_MAX];		/* -r: FIFOs, lock */
	unsigned long grace;		/* -g: a start must be ready within */
	unsigned long intensity;	/* -R: at most R restarts ... */
	unsigned long window;		/* -W: ... within W */
	unsigned long backoff_min;	/* -b: the second restart waits this */
	unsigned long backoff_max;	/* -B: the cap of the doubling */
};

/* Set o to the defaults: /osps-<uid>, rundir_default(), 5000, 5, 10000,
 * 100, 5000. Returns 0, or -1 with errno (no run directory). */
int supopt_defaults(struct sup_opts *o);

/*
 * If c is -m or -r, take arg into o. Returns 1 when done, 0 when c is
 * neither, -1 after a one-line error on stderr (a bad segment name).
 */
int supopt_take(struct sup_opts *o, int c, const char *arg);

/* Their entries in a program's table for opt_parse() (o: a struct
 * sup_opts), so that their ranges are written once. */
#define SUPOPT_NUMBERS(o) \
	{ 'g', 1, 600000, &(o).grace, NULL }, \
	{ 'R', 0, SUP_WINDOW_MAX - 1, &(o).intensity, NULL }, \
	{ 'W', 1, 3600000, &(o).window, NULL }, \
	{ 'b', 1, 600000, &(o).backoff_min, NULL }, \
	{ 'B', 1, 600000, &(o).backoff_max, NULL }

/*
 * The "wI:" of a fault option "-f wI:FAULT" (I from 1 to n) into *i.
 * Returns FAULT (what follows the colon), or NULL if spec is not of that
 * form.
 */
const char *supopt_fault_w(const char *spec, unsigned long n, unsigned long *i);

/* Buffers supopt_argv() writes numbers into, and arguments it adds. */
#define SUPOPT_NUMS 5
#define SUPOPT_ARGS 14

/*
 * Append to args the options that give o to another program (the
 * watchdog gives its own to d), the numbers written into num. Returns
 * how many arguments were added (SUPOPT_ARGS).
 */
int supopt_argv(const struct sup_opts *o, char *args[], char num[][24]);

/* Set p's grace, intensity, window and backoff from o, in seconds. */
void supopt_policy(const struct sup_opts *o, struct sup_policy *p);

#endif
