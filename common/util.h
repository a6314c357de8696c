/*
 * util.h - small helpers every program of the kit needs: parsing numbers
 * from the command line, sleeping, finding a sibling program.
 * They return -1 with errno set and never exit.
 */
#ifndef OSPS_UTIL_H
#define OSPS_UTIL_H

#include <stddef.h>

/*
 * Parse s as a decimal number in [min, max] into *out.
 * Returns 0, or -1 with errno EINVAL (not a number, trailing junk) or
 * ERANGE (outside [min, max]).
 */
int parse_ulong(const char *s, unsigned long min, unsigned long max,
    unsigned long *out);

/* Sleep ms milliseconds, resuming after signals. Returns 0 or -1. */
int sleep_ms(unsigned long ms);

/*
 * Build in buf the path of program name in the same directory as argv0
 * ("build/step1_shm/d" + "w" -> "build/step1_shm/w"; "d" -> "./w").
 * Returns 0, or -1 with errno ENAMETOOLONG.
 */
int sibling_path(const char *argv0, const char *name, char *buf, size_t size);

/* The name of signal sig ("SIGKILL"), or "signal N" for an unusual one. */
const char *signal_name(int sig);

/*
 * Describe a wait status in words into buf: "exited with code 0",
 * "killed by SIGKILL", "stopped by SIGSTOP". Returns buf.
 */
char *status_str(int status, char *buf, size_t size);

#endif
