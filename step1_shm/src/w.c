/*
 * w.c - step 1's secondary server.
 *
 * d starts w with the name of the shared memory segment. w maps it, reads
 * the request d wrote there, simulates its processing, writes its answer
 * and exits. In race mode (-R) it adds 1 to the shared counter N times.
 *
 *     w -m NAME [-t MS]          (normally started by d)
 *     w -m NAME -R [-n N]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"
#include "shm_area.h"
#include "util.h"

/* What the command line asked for. */
struct options {
	const char *shm_name;	/* the segment d created */
	unsigned long delay_ms;	/* processing time */
	int race;		/* -R: add to the counter instead of answering */
	unsigned long count;	/* -n: increments in race mode */
};

static noreturn void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: w -m NAME [-t MS]\n"
	    "       w -m NAME -R [-n N]\n"
	    "  -m NAME  the shared memory segment d created (required)\n"
	    "  -t MS    processing time in ms (default 500)\n"
	    "  -R       race mode: add 1 to the shared counter N times\n"
	    "  -n N     increments in race mode (default 1000000)\n"
	    "  -h       show this help\n");
	exit(code);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	int c;

	o->shm_name = NULL;
	o->delay_ms = 500;
	o->race = 0;
	o->count = 1000000;
	while ((c = getopt(argc, argv, "m:t:Rn:h")) != -1) {
		switch (c) {
		case 'm':
			o->shm_name = optarg;
			break;
		case 't':
			if (parse_ulong(optarg, 0, 60000, &o->delay_ms) == -1) {
				warnx("-t %s: expected milliseconds, 0 to 60000", optarg);
				usage(2);
			}
			break;
		case 'R':
			o->race = 1;
			break;
		case 'n':
			if (parse_ulong(optarg, 1, 1000000000, &o->count) == -1) {
				warnx("-n %s: expected a count, 1 to 1000000000", optarg);
				usage(2);
			}
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (o->shm_name == NULL || optind != argc) {
		warnx(o->shm_name == NULL ? "-m NAME is required" : "unexpected argument");
		usage(2);
	}
}

/* Race mode: add 1 to the shared counter count times, as d does. */
static void
run_race(struct shm_layout *shm, unsigned long count)
{
	unsigned long i;

	for (i = 0; i < count; i++)
		shm->counter++;	/* the same unsynchronised update as d */
	log_event("race done count=%lu", count);
}

/*
 * Normal mode: read d's request, take delay_ms to process it, write the
 * answer. Returns 0, or -1 with errno if the sleep failed.
 */
static int
answer_request(struct shm_layout *shm, unsigned long delay_ms)
{
	log_event("read request=\"%s\"", shm->request);
	if (sleep_ms(delay_ms) == -1)
		return -1;
	/* %.64s: the answer quotes the request, and must fit MSG_MAX. */
	snprintf(shm->answer, sizeof shm->answer, "w[%ld] done: %.64s",
	    (long)getpid(), shm->request);
	log_event("wrote answer=\"%s\"", shm->answer);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct shm_layout *shm;

	log_init("w");
	parse_options(argc, argv, &o);
	shm = shm_area_open(o.shm_name, sizeof *shm);
	if (shm == NULL && errno == EPROTO)
		fatalx("shm_open %s: not a step-1 segment (wrong size)", o.shm_name);
	if (shm == NULL)
		fatal("shm_open %s", o.shm_name);
	log_event("ready name=%s", o.shm_name);

	if (o.race)
		run_race(shm, o.count);
	else if (answer_request(shm, o.delay_ms) == -1)
		fatal("nanosleep");
	if (shm_area_close(shm, sizeof *shm) == -1)
		fatal("munmap %s", o.shm_name);
	return 0;
}
