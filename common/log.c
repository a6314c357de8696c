/*
 * log.c - log lines and error reporters (see log.h for the formats).
 *
 * Every line is built in a local buffer and handed to write_all() in one
 * call: stdio's buffering could split a line into several write()s, and two
 * processes writing to the same stderr would then interleave their pieces.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

static const char *log_name = "?";
static int log_quiet;

void
log_init(const char *prog)
{
	const char *slash = strrchr(prog, '/');

	log_name = slash != NULL ? slash + 1 : prog;
}

void
log_set_quiet(int quiet)
{
	log_quiet = quiet;
}

const char *
log_prog(void)
{
	return log_name;
}

double
log_now(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC never jumps when the wall clock is set. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0.0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Append "\n" and write buf (holding len bytes) to stderr in one call. */
static void
emit(char *buf, size_t len)
{
	if (len >= LOG_LINE_MAX) {
		/* The line was cut: say so rather than end it silently. */
		len = LOG_LINE_MAX - 5;
		memcpy(buf + len, "...", 3);
		len += 3;
	}
	buf[len++] = '\n';
	/* NOTE: nothing sensible can be done if stderr itself fails. */
	(void)write_all(STDERR_FILENO, buf, len);
}

/* Format into buf after its first len bytes; return the new length. */
static size_t
append(char *buf, size_t len, const char *fmt, va_list ap)
{
	int n;

	if (len >= LOG_LINE_MAX)
		return len;
	n = vsnprintf(buf + len, LOG_LINE_MAX - len, fmt, ap);
	if (n < 0)
		return len;
	len += (size_t)n;
	return len < LOG_LINE_MAX ? len : LOG_LINE_MAX;
}

void
log_event(const char *fmt, ...)
{
	char buf[LOG_LINE_MAX + 1];
	size_t len;
	int saved = errno;
	va_list ap;

	if (log_quiet)
		return;
	len = (size_t)snprintf(buf, sizeof buf, "%.3f %s[%ld] ", log_now(),
	    log_name, (long)getpid());
	va_start(ap, fmt);
	len = append(buf, len, fmt, ap);
	va_end(ap);
	emit(buf, len);
	errno = saved;
}

/* The common body of the reporters: "prog: message[: strerror(err)]". */
static void
report(int err, const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX + 1];
	size_t len;

	len = (size_t)snprintf(buf, sizeof buf, "%s: ", log_name);
	len = append(buf, len, fmt, ap);
	if (err != 0 && len < LOG_LINE_MAX) {
		int n = snprintf(buf + len, LOG_LINE_MAX - len, ": %s",
		    strerror(err));
		if (n > 0)
			len += (size_t)n;
		if (len > LOG_LINE_MAX)
			len = LOG_LINE_MAX;
	}
	emit(buf, len);
}

void
warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	report(saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
warnx(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	report(0, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(errno, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(0, fmt, ap);
	va_end(ap);
	exit(1);
}

void
child_fatal(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(errno, fmt, ap);
	va_end(ap);
	_exit(code);
}
