/*
 * race.c - step 1's race, in turns (question 2.d).
 *
 * In step 1, d and w added 1 to a shared counter at the same time, and
 * updates were lost: counter++ is a load, an add and a store, and two
 * processes interleave them. Here a parent and its child make the same
 * increments, RACE_BATCH at a time, but in turns, as d and w pass "ping"
 * and "pong": the turn is one byte, sent through a pipe each way. Whoever
 * holds the turn is the only one to touch the counter, so no update is
 * lost, although each increment is still a plain, non-atomic counter++.
 *
 *     race [-n TURNS] [-m NAME]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "opt.h"
#include "proto.h"
#include "shm_area.h"
#include "util.h"

static unsigned long turns = 10000;	/* -n: as many increments as step 1 */
static char shm_name[256];		/* -m */

static noreturn void
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: race [-n TURNS] [-m NAME]\n"
	    "  -n TURNS each turn, the parent then the child add 1 to a shared\n"
	    "           counter %d times (default 10000 turns)\n"
	    "  -m NAME  shared memory segment name (default /osps-race-<uid>)\n"
	    "  -h       show this help\n", RACE_BATCH);
	exit(code);
}

/* The numeric options: -X N, N in [min, max] (opt_parse()). */
static const struct opt_num numbers[] = {
	{ 'n', 1, 1000000000, &turns, NULL },
};

/* Take -m NAME. Returns 0, or -1 after saying why. */
static int
other_option(int c, const char *arg)
{
	(void)c;	/* only 'm' is not a number */
	if (!shm_name_valid(arg)) {
		warnx("-m %s: a segment name is \"/\" then 1 to 250 "
		    "characters other than \"/\"", arg);
		return -1;
	}
	snprintf(shm_name, sizeof shm_name, "%s", arg);
	return 0;
}

/* Add 1 to the counter RACE_BATCH times, one at a time. */
static void
add_batch(struct shm_layout *shm)
{
	int i;

	for (i = 0; i < RACE_BATCH; i++)
		shm->counter++;	/* safe: the other process waits for the turn */
}

/* Hand the turn over: one byte on fd. Returns 0, or -1 with errno. */
static int
give_turn(int fd)
{
	return write(fd, "t", 1) == 1 ? 0 : -1;
}

/* Wait for the turn: one byte on fd. Returns 0, or -1 (end of file: the
 * other process has gone; or an error, errno set). */
static int
take_turn(int fd)
{
	char c;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n == -1 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

/* The child: a batch for each turn it gets, until the parent closes the pipe. */
static noreturn void
child(struct shm_layout *shm, int from_parent, int to_parent)
{
	while (take_turn(from_parent) == 0) {
		add_batch(shm);
		if (give_turn(to_parent) == -1)
			child_fatal(1, "write pipe");
	}
	_exit(0);
}

/* Say what the counter holds against what it should. */
static void
report(const struct shm_layout *shm)
{
	long expected = 2L * RACE_BATCH * (long)turns, actual = shm->counter;

	log_event("race expected=%ld actual=%ld lost=%ld", expected, actual,
	    expected - actual);
	printf("race: expected %ld, actual %ld, lost %ld updates (%.1f%%)\n",
	    expected, actual, expected - actual,
	    100.0 * (double)(expected - actual) / (double)expected);
}

int
main(int argc, char **argv)
{
	struct shm_layout *shm;
	int to_child[2], to_parent[2], status;
	unsigned long i;
	pid_t pid;

	log_init("race");
	snprintf(shm_name, sizeof shm_name, "/osps-race-%u", (unsigned)getuid());
	opt_parse(argc, argv, "n:m:h", numbers, OPT_N(numbers), other_option, usage);
	/* A child that dies makes our write fail with EPIPE, not kill us. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal SIGPIPE");
	shm = shm_area_create(shm_name, sizeof *shm);
	if (shm == NULL)
		fatal("shm_open %s", shm_name);
	/* fork() hands the mapping to the child: the name is no longer
	 * needed, and removing it now leaves nothing behind, come what may. */
	if (shm_area_unlink(shm_name) == -1)
		fatal("shm_unlink %s", shm_name);
	if (pipe(to_child) == -1 || pipe(to_parent) == -1)
		fatal("pipe");
	fflush(NULL);	/* text in our stdout buffer would be copied */
	pid = fork();
	if (pid == -1)
		fatal("fork");
	if (pid == 0) {
		close(to_child[1]);
		close(to_parent[0]);
		child(shm, to_child[0], to_parent[1]);
	}
	close(to_child[0]);
	close(to_parent[1]);
	for (i = 0; i < turns; i++) {
		add_batch(shm);
		if (give_turn(to_child[1]) == -1 || take_turn(to_parent[0]) == -1)
			fatalx("turn %lu: the child has gone", i + 1);
	}
	close(to_child[1]);	/* end of file: the child's order to stop */
	if (waitpid(pid, &status, 0) == -1)
		fatal("waitpid");
	close(to_parent[0]);
	report(shm);
	if (shm_area_close(shm, sizeof *shm) == -1)
		fatal("munmap %s", shm_name);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
