/*
 * opt.h - a program's command line, from a table of its numeric options.
 *
 * Every server of steps 3 and 4 takes a dozen options of the form -X N
 * with a range each. Rather than one parse-and-check per option, a
 * program lists them in a table; opt_parse() runs getopt() and fills the
 * table, and hands every other option to a function of the program's.
 * The program's usage() says how to call it, and exits.
 */
#ifndef OSPS_OPT_H
#define OSPS_OPT_H

#include <stddef.h>

/* One numeric option: -c N, with N in [min, max]. */
struct opt_num {
	int c;			/* the option's letter */
	unsigned long min, max;	/* the accepted range */
	unsigned long *v;	/* where the number goes */
	const char **text;	/* if not NULL, also the argument as given */
};

/* How many entries table has (an array, not a pointer). */
#define OPT_N(table) (sizeof (table) / sizeof (table)[0])

/*
 * If c is one of the n options of table, parse arg into its *v (and its
 * *text). Returns 1 when done, 0 when c is not in the table, and -1 after
 * a one-line error on stderr ("-w 0: expected a number from 1 to 16").
 */
int opt_number(const struct opt_num *table, size_t n, int c, const char *arg);

/*
 * Parse argv with getopt(optstring): the options of table (n entries)
 * with opt_number(), any other with other(c, optarg), which returns 0,
 * or -1 after saying why on stderr. -h calls usage(0); a bad option, or
 * an argument that is not an option, a one-line error on stderr then
 * usage(2). usage() prints the program's usage and exits with its code:
 * this is start-up code, the one place that may exit.
 */
void opt_parse(int argc, char **argv, const char *optstring,
    const struct opt_num *table, size_t n, int (*other)(int c, const char *arg),
    void (*usage)(int code));

#endif
