/*
 * log.h - one log line per event, and the error reporters every program uses.
 *
 * Log lines go to stderr, each written with a single write() so that the
 * lines of several processes sharing a terminal or a file never interleave:
 *
 *     <monotonic s.ms> <prog>[<pid>] <event> key=value ...
 *     152.304 watchdog[812] restart name=w1 old=815 new=822 reason=timeout
 *
 * Tests, the demo and the grader read these lines, so event names are stable
 * and documented in each step's README.
 *
 * Error lines are plain sentences naming the call and its object:
 *
 *     d: bind 127.0.0.1:2222: Address already in use
 *
 * fatal() and fatalx() print one and exit 1; warn() and warnx() print one and
 * return. The "x" variants do not append strerror(errno) (OpenBSD's style).
 */
#ifndef OSPS_LOG_H
#define OSPS_LOG_H

#include <stdarg.h>
#include <stdnoreturn.h>

/* Longest log or error line; longer ones are cut and end with "...". */
#define LOG_LINE_MAX 512

/* Set the program name used in every line (call first thing in main). */
void log_init(const char *prog);

/* Silence log_event() (benchmark modes); errors are still printed. */
void log_set_quiet(int quiet);

/* The program name given to log_init(). */
const char *log_prog(void);

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC), as in the log. */
double log_now(void);

/* Write one event line: fmt starts with the event name, then key=value pairs. */
void log_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog: <message>: <strerror(errno)>" on stderr; errno is preserved. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog: <message>" on stderr; errno is preserved. */
void warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* warn(), then exit(1). */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* warnx(), then exit(1). */
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * For a child between fork() and exec(): warn(), then _exit(code).
 * _exit, not exit: the child must not flush stdio buffers it shares
 * with its parent, nor run the parent's atexit handlers.
 */
noreturn void child_fatal(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
