/*
 * util.c - number parsing, sleeping, sibling paths (contracts in util.h).
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

int
parse_ulong(const char *s, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long v;
	char *end;

	/* strtoul accepts "-1" (and wraps it) and leading blanks: refuse both. */
	if (s == NULL || !isdigit((unsigned char)s[0])) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}

int
sleep_ms(unsigned long ms)
{
	struct timespec left = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	/* nanosleep stores what is left when a signal interrupts it. */
	while (nanosleep(&left, &left) == -1) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

int
sibling_path(const char *argv0, const char *name, char *buf, size_t size)
{
	const char *slash = strrchr(argv0, '/');
	int dirlen = slash != NULL ? (int)(slash - argv0) : 1;
	const char *dir = slash != NULL ? argv0 : ".";
	int n = snprintf(buf, size, "%.*s/%s", dirlen, dir, name);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

const char *
signal_name(int sig)
{
	/* The signals a student meets in this course; strsignal() would
	 * give "Killed" where the course and ps(1) say SIGKILL. */
	static const struct { int sig; const char *name; } names[] = {
		{ SIGHUP, "SIGHUP" }, { SIGINT, "SIGINT" }, { SIGQUIT, "SIGQUIT" },
		{ SIGILL, "SIGILL" }, { SIGABRT, "SIGABRT" }, { SIGBUS, "SIGBUS" },
		{ SIGFPE, "SIGFPE" }, { SIGKILL, "SIGKILL" }, { SIGUSR1, "SIGUSR1" },
		{ SIGSEGV, "SIGSEGV" }, { SIGUSR2, "SIGUSR2" }, { SIGPIPE, "SIGPIPE" },
		{ SIGALRM, "SIGALRM" }, { SIGTERM, "SIGTERM" }, { SIGCHLD, "SIGCHLD" },
		{ SIGCONT, "SIGCONT" }, { SIGSTOP, "SIGSTOP" }, { SIGTSTP, "SIGTSTP" },
		{ SIGXCPU, "SIGXCPU" }, { SIGXFSZ, "SIGXFSZ" }, { SIGSYS, "SIGSYS" },
	};
	static char other[32];
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].sig == sig)
			return names[i].name;
	snprintf(other, sizeof other, "signal %d", sig);
	return other;
}

char *
status_str(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exited with code %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by %s", signal_name(WTERMSIG(status)));
	else if (WIFSTOPPED(status))
		snprintf(buf, size, "stopped by %s", signal_name(WSTOPSIG(status)));
	else
		snprintf(buf, size, "status 0x%x", (unsigned)status);
	return buf;
}
