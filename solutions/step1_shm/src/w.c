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

int
main(int argc, char **argv)
{
	const char *name = NULL;
	unsigned long delay_ms = 500, count = 1000000, i;
	struct shm_layout *shm;
	int c, race = 0;

	log_init("w");
	while ((c = getopt(argc, argv, "m:t:Rn:h")) != -1) {
		switch (c) {
		case 'm':
			name = optarg;
			break;
		case 't':
			if (parse_ulong(optarg, 0, 60000, &delay_ms) == -1) {
				warnx("-t %s: expected milliseconds, 0 to 60000", optarg);
				usage(2);
			}
			break;
		case 'R':
			race = 1;
			break;
		case 'n':
			if (parse_ulong(optarg, 1, 1000000000, &count) == -1) {
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
	if (name == NULL || optind != argc) {
		warnx(name == NULL ? "-m NAME is required" : "unexpected argument");
		usage(2);
	}

	shm = shm_area_open(name, sizeof *shm);
	if (shm == NULL && errno == EPROTO)
		fatalx("shm_open %s: not a step-1 segment (wrong size)", name);
	if (shm == NULL)
		fatal("shm_open %s", name);
	log_event("ready name=%s", name);

	if (race) {
		for (i = 0; i < count; i++)
			shm->counter++;	/* the same unsynchronised update as d */
		log_event("race done count=%lu", count);
	} else {
		log_event("read request=\"%s\"", shm->request);
		if (sleep_ms(delay_ms) == -1)
			fatal("nanosleep");
		/* %.64s: the answer quotes the request, and must fit MSG_MAX. */
		snprintf(shm->answer, sizeof shm->answer, "w[%ld] done: %.64s",
		    (long)getpid(), shm->request);
		log_event("wrote answer=\"%s\"", shm->answer);
	}
	if (shm_area_close(shm, sizeof *shm) == -1)
		fatal("munmap %s", name);
	return 0;
}
