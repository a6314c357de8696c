/*
 * d.c - step 1's main server.
 *
 * d creates a shared memory segment, writes a request into it, starts the
 * secondary server w (fork + exec, passing the segment's name), simulates
 * its own processing, then reads w's answer from the segment, reaps w,
 * removes the segment and prints what it read.
 *
 * There is no synchronisation yet: d only waits "long enough" (twice w's
 * processing time). Race mode (-R) shows what that costs when both
 * processes update the same memory at once. Step 2 fixes it.
 *
 *     d [-m NAME] [-t MS] [-x PROG]        one request
 *     d -R [-n N] [-m NAME] [-x PROG]      the race
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"
#include "shm_area.h"
#include "util.h"

/* What the command line asked for. */
struct options {
	char shm_name[256];	/* the segment's name */
	unsigned long delay_ms;	/* w's processing time; d waits twice as long */
	int race;		/* -R: race mode */
	unsigned long count;	/* -n: increments per process in race mode */
	/* PATH_MAX (limits.h): the longest path exec() takes; step 2
	 * sizes its paths the same way. */
	char w_path[PATH_MAX];	/* the program to start as w */
};

static noreturn void
usage(int code)
{
	FILE *f = code == 0 ? stdout : stderr;

	fprintf(f,
	    "usage: d [-m NAME] [-t MS] [-x PROG]\n"
	    "       d -R [-n N] [-m NAME] [-x PROG]\n"
	    "  -m NAME  shared memory segment name (default /osps-<uid>)\n"
	    "  -t MS    w's processing time in ms (default 500); d waits twice as long\n"
	    "  -R       race mode: d and w each add 1 to a shared counter N times\n"
	    "  -n N     increments per process in race mode (default 10000000)\n"
	    "  -x PROG  the program to start as w (default: w next to d)\n"
	    "  -h       show this help\n");
	exit(code);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	int c;

	snprintf(o->shm_name, sizeof o->shm_name, SHM_NAME_FMT, (unsigned)getuid());
	o->delay_ms = 500;
	o->race = 0;
	o->count = 10000000;
	if (sibling_path(argv[0], "w", o->w_path, sizeof o->w_path) == -1)
		fatal("program path %s", argv[0]);
	while ((c = getopt(argc, argv, "m:t:Rn:x:h")) != -1) {
		switch (c) {
		case 'm':
			if (!shm_name_valid(optarg)) {
				warnx("-m %s: a segment name is \"/\" then 1 to 250 "
				    "characters other than \"/\"", optarg);
				usage(2);
			}
			snprintf(o->shm_name, sizeof o->shm_name, "%s", optarg);
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
		case 'x':
			snprintf(o->w_path, sizeof o->w_path, "%s", optarg);
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc) {
		warnx("unexpected argument \"%s\"", argv[optind]);
		usage(2);
	}
}

/*
 * Create and map the segment. A segment of that name left by a d that
 * crashed (its owner is dead) is reported and replaced; one in use by a
 * live d, or one that is not ours, is refused: never silently reused.
 * Returns the segment, or NULL after saying why.
 */
static struct shm_layout *
create_segment(const char *name)
{
	struct shm_layout *shm = shm_area_create(name, sizeof *shm);
	struct shm_layout *old;
	pid_t owner;

	if (shm != NULL || errno != EEXIST)
		goto done;
	old = shm_area_open(name, sizeof *old);
	if (old == NULL || old->magic != SHM_MAGIC) {
		if (old != NULL)
			shm_area_close(old, sizeof *old);
		warnx("shared memory %s exists and is not a step-1 segment; "
		    "remove /dev/shm%s or choose another name with -m", name, name);
		return NULL;
	}
	owner = old->owner;
	shm_area_close(old, sizeof *old);
	/* kill(pid, 0) sends nothing: it only asks whether pid exists. */
	if (kill(owner, 0) == 0 || errno != ESRCH) {
		warnx("shared memory %s is in use by d[%ld]; "
		    "choose another name with -m", name, (long)owner);
		return NULL;
	}
	log_event("stale-segment name=%s owner=%ld action=replaced", name, (long)owner);
	if (shm_area_unlink(name) == -1) {
		warn("shm_unlink %s", name);
		return NULL;
	}
	shm = shm_area_create(name, sizeof *shm);
done:
	if (shm == NULL) {
		warn("shm_open %s", name);
		return NULL;
	}
	shm->magic = SHM_MAGIC;
	shm->owner = getpid();
	log_event("created name=%s size=%zu", name, sizeof *shm);
	return shm;
}

/*
 * Start w as a child process running w_path with args (a NULL-terminated
 * argv, args[0] being the program name). Returns w's pid, or -1 with errno.
 */
static pid_t
start_w(const char *w_path, char *const args[])
{
	/* TODO 1.2: start w with fork() then execv(). The child must leave
	 * with _exit(127) if execv fails (after saying why), never return.
	 * Flush stdio first: why would a buffered line be printed twice? */
	errno = ENOSYS;
	return -1;
}

/*
 * Reap w if it has ended: flags 0 waits for it, WNOHANG only checks.
 * Returns 1 when reaped (its wait status in *status), 0 when w is still
 * running, -1 on error.
 */
static int
reap_w(pid_t pid, int flags, int *status)
{
	/* TODO 1.4: reap w with waitpid() (retry on EINTR), and log how it
	 * ended with status_str(). Until it is reaped, a w that has exited
	 * stays in the process table as a zombie. */
	errno = ENOSYS;
	return -1;
}

/*
 * Simulate processing for ms milliseconds. A server never blocks on one
 * child: every 10 ms it checks whether w has ended, so that w is reaped
 * as soon as it exits instead of lingering as a zombie. Sets *w_pid to 0
 * once w is reaped. Returns 0, or -1 with errno if a sleep failed.
 */
static int
process(unsigned long ms, pid_t *w_pid, int *status)
{
	unsigned long done;

	for (done = 0; done < ms; done += 10) {
		if (sleep_ms(10) == -1)
			return -1;
		if (*w_pid > 0 && reap_w(*w_pid, WNOHANG, status) == 1)
			*w_pid = 0;
	}
	return 0;
}

/* Build w's command line: w -m NAME then the mode's own options. */
static void
w_args(const struct options *o, char *buf, size_t size, char *args[8])
{
	int i = 0;

	args[i++] = "w";
	args[i++] = "-m";
	args[i++] = (char *)o->shm_name;
	if (o->race) {
		snprintf(buf, size, "%lu", o->count);
		args[i++] = "-R";
		args[i++] = "-n";
	} else {
		snprintf(buf, size, "%lu", o->delay_ms);
		args[i++] = "-t";
	}
	args[i++] = buf;
	args[i] = NULL;
}

/* Race mode: d and w add 1 to the counter N times each, unsynchronised. */
static int
run_race(const struct options *o, struct shm_layout *shm, pid_t w_pid)
{
	int status;
	long expected = 2 * (long)o->count, actual;
	unsigned long i;

	for (i = 0; i < o->count; i++)
		shm->counter++;	/* load, add, store: w may store in between */
	if (reap_w(w_pid, 0, &status) != 1) {
		warn("waitpid w[%ld]", (long)w_pid);	/* main still removes the segment */
		return 1;
	}
	actual = shm->counter;
	log_event("race expected=%ld actual=%ld lost=%ld", expected, actual,
	    expected - actual);
	printf("race: expected %ld, actual %ld, lost %ld updates (%.1f%%)\n",
	    expected, actual, expected - actual,
	    100.0 * (double)(expected - actual) / (double)expected);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/* Normal mode: one request, processed by w, answer read after a delay. */
static int
run_request(const struct options *o, struct shm_layout *shm, pid_t w_pid)
{
	char how[64];
	int status = 0, answered;

	if (process(2 * o->delay_ms, &w_pid, &status) == -1)
		fatal("nanosleep");
	/* Decided now, at the deadline: w may still write its answer while
	 * we reap it below, but that answer came too late. */
	answered = shm->answer[0] != '\0';
	if (!answered && w_pid == 0) {
		warnx("no answer from w: it ended before answering (%s)",
		    status_str(status, how, sizeof how));
	} else if (!answered) {
		warnx("no answer from w in the segment after %lu ms "
		    "(step 1 has no synchronisation: d can only wait and hope)",
		    2 * o->delay_ms);
	} else {
		log_event("read answer=\"%s\"", shm->answer);
		printf("d read: %s\n", shm->answer);
	}
	if (w_pid > 0 && reap_w(w_pid, 0, &status) != 1) {
		warn("waitpid w[%ld]", (long)w_pid);	/* main still removes the segment */
		return 1;
	}
	if (!answered)
		return 1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct shm_layout *shm;
	char arg[32], *args[8];
	pid_t w_pid;
	int rc;

	log_init("d");
	parse_options(argc, argv, &o);
	shm = create_segment(o.shm_name);
	if (shm == NULL)
		return 1;
	snprintf(shm->request, sizeof shm->request, "request 1 from d[%ld]",
	    (long)getpid());
	log_event("wrote request=\"%s\"", shm->request);

	w_args(&o, arg, sizeof arg, args);
	w_pid = start_w(o.w_path, args);
	if (w_pid == -1) {
		warn("fork %s", o.w_path);
		rc = 1;
	} else {
		rc = o.race ? run_race(&o, shm, w_pid) : run_request(&o, shm, w_pid);
	}

	/* TODO 1.5 (in shm_area.c): the segment outlives every process that
	 * maps it until its name is removed. */
	if (shm_area_close(shm, sizeof *shm) == -1)
		fatal("munmap %s", o.shm_name);
	if (shm_area_unlink(o.shm_name) == -1)
		fatal("shm_unlink %s", o.shm_name);
	log_event("removed name=%s", o.shm_name);
	return rc;
}
