/*
 * opt.c - a command line from a table of numeric options (contracts in
 * opt.h).
 */
#include "opt.h"

#include <unistd.h>

#include "log.h"
#include "util.h"

int
opt_number(const struct opt_num *table, size_t n, int c, const char *arg)
{
	const struct opt_num *o;

	for (o = table; o < table + n && o->c != c; o++)
		;
	if (o == table + n)
		return 0;
	if (parse_ulong(arg, o->min, o->max, o->v) == -1) {
		warnx("-%c %s: expected a number from %lu to %lu", c, arg,
		    o->min, o->max);
		return -1;
	}
	if (o->text != NULL)
		*o->text = arg;
	return 1;
}

void
opt_parse(int argc, char **argv, const char *optstring,
    const struct opt_num *table, size_t n, int (*other)(int c, const char *arg),
    void (*usage)(int code))
{
	int c, r;

	while ((c = getopt(argc, argv, optstring)) != -1) {
		if (c == 'h')
			usage(0);
		if (c == '?')	/* getopt() has said why */
			usage(2);
		r = opt_number(table, n, c, optarg);
		if (r == -1 || (r == 0 && other(c, optarg) == -1))
			usage(2);
	}
	if (optind != argc) {
		warnx("unexpected argument \"%s\"", argv[optind]);
		usage(2);
	}
}
