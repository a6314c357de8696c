/*
 * stress.c - the kit's stress shim: random short delays around the calls
 * where races live, in the programs under test (make test-stepN STRESS=1).
 *
 * Loaded with LD_PRELOAD by tests/helpers.bash, never linked with the
 * student's code. It defines fork, execve, execv, execvp, kill, killpg,
 * sigprocmask, open and openat (of a FIFO), read, write, poll, waitpid,
 * waitid, accept, accept4 and connect: each may sleep before and after
 * calling the real one (found with dlsym(RTLD_NEXT)), and returns what
 * the real one returned, errno included. A race that passes by luck on an idle machine (a window
 * of a few microseconds between two calls) then loses most runs.
 *
 * Environment:
 *   OSPS_STRESS_SEED    the run's seed (decimal); unset = no delay at all
 *   OSPS_STRESS_SALT    mixed with the seed (the test's name: each test of a
 *                       run gets delays of its own)
 *   OSPS_STRESS_BIN     only programs whose executable is in this directory
 *                       are delayed (not the shell, ps, valgrind, nc...)
 *   OSPS_STRESS_MAX_US  the longest single delay (default 4000; after
 *                       fork, 1 to FORK_TIMES times it)
 *   OSPS_STRESS_BUDGET_US  a process's total delay; past it, delays become
 *                       rare (default 100000): a server stays within its
 *                       heartbeat time-out, long tests stay short
 *   OSPS_STRESS_TRACE   set: at exit, "stress: N delays, US us" on stderr
 *                       (the kit's own tests check the shim with it)
 *
 * Reproducible: the delay of a call depends only on the seed, the salt, the program,
 * the call site (its return address, relative to the executable) and how
 * many times that site ran before in this process. Async-signal-safe: a
 * signal handler calls write() (the self-pipe), so the wrappers use only
 * atomics and clock_nanosleep(), and keep errno.
 */
#define _GNU_SOURCE	/* dlsym(RTLD_NEXT), accept4, dl_iterate_phdr */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A call sleeps before it one time in CHANCE, and after it one time in
 * CHANCE (one in RARE past the budget). A write or a kill sleeps after it
 * one time in SENT: a message or a signal sent before the state it
 * announces is ready is a classic race, and the receiver must get the
 * time to run into it. fork is special: one of the two processes always
 * sleeps after it, 1 to FORK_TIMES times max_us, since "who runs first
 * after fork" is the race behind most start-up bugs. */
#define CHANCE	3
#define SENT	2
#define RARE	1024
#define FORK_TIMES 3
#define SITES	512	/* call sites remembered per process (a power of 2) */

static int active;		/* 1 in a program under test with a seed */
static uint64_t key;		/* seed and program; changes in a forked child */
static uintptr_t exe_base, exe_end;	/* where the executable is loaded */
static long max_us = 4000, budget_us = 100000;
static long slept_us;		/* this process's total, updated atomically */
static long delays;		/* how many delays, likewise */
static unsigned long forks;	/* children forked by this process */
static uintptr_t site_addr[SITES];	/* open addressing, CAS-inserted */
static unsigned long site_count[SITES];

/* splitmix64: a good 64-bit mix, pure arithmetic (signal-safe). */
static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* FNV-1a of a string, to tell programs apart under the same seed. */
static uint64_t
hash_str(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n-- > 0)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

/* The first object dl_iterate_phdr lists is the executable: note where
 * it is, to name call sites by their offset in it (the same in every run
 * despite address randomisation). */
static int
first_object(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t end;
	int i;

	(void)size;
	(void)data;
	exe_base = info->dlpi_addr;
	for (i = 0; i < info->dlpi_phnum; i++) {
		end = info->dlpi_phdr[i].p_vaddr + info->dlpi_phdr[i].p_memsz;
		if (info->dlpi_phdr[i].p_type == PT_LOAD && end > exe_end)
			exe_end = end;
	}
	exe_end += exe_base;
	return 1;
}

/* Is the running executable inside the directory dir? */
static int
exe_in(const char *dir)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	size_t len = strlen(dir);

	if (n <= 0 || len == 0)
		return 0;
	exe[n] = '\0';
	while (len > 1 && dir[len - 1] == '/')
		len--;
	return strncmp(exe, dir, len) == 0 && exe[len] == '/';
}

/* Decide once, before main(), whether this process is stressed. */
__attribute__((constructor)) static void
stress_init(void)
{
	const char *seed = getenv("OSPS_STRESS_SEED");
	const char *bin = getenv("OSPS_STRESS_BIN");
	const char *salt = getenv("OSPS_STRESS_SALT");
	const char *v;
	char exe[4096];
	ssize_t n;

	if (seed == NULL || *seed == '\0' || bin == NULL || !exe_in(bin))
		return;
	if ((v = getenv("OSPS_STRESS_MAX_US")) != NULL)
		max_us = strtol(v, NULL, 10);
	if ((v = getenv("OSPS_STRESS_BUDGET_US")) != NULL)
		budget_us = strtol(v, NULL, 10);
	n = readlink("/proc/self/exe", exe, sizeof exe);
	key = mix(strtoull(seed, NULL, 10) ^ hash_str(exe, n > 0 ? (size_t)n : 0));
	if (salt != NULL)
		key = mix(key ^ hash_str(salt, strlen(salt)));
	dl_iterate_phdr(first_object, NULL);
	active = max_us > 0;
}

/* OSPS_STRESS_TRACE: the process's delays, at exit (stdio is fine here). */
__attribute__((destructor)) static void
stress_trace(void)
{
	if (active && getenv("OSPS_STRESS_TRACE") != NULL)
		fprintf(stderr, "stress: %ld delays, %ld us\n", delays, slept_us);
}

/*
 * The random number of the call from return address ret: it depends on
 * the seed, the program, the call site and the site's count of calls.
 */
static uint64_t
draw(const void *ret)
{
	uintptr_t site = (uintptr_t)ret, cur;
	unsigned long slot, count = 0, i;

	/* A call from a library (stdio...) is named by its offset in its page. */
	site = site >= exe_base && site < exe_end ? site - exe_base + 1 :
	    (site & 0xfff) | (uintptr_t)1 << (sizeof site * 8 - 1);
	slot = mix(site) & (SITES - 1);
	/* Find the site's slot, or claim an empty one (a handler may be
	 * doing the same: compare-and-swap, never a lock). */
	for (i = 0; i < SITES; i++, slot = (slot + 1) & (SITES - 1)) {
		cur = __atomic_load_n(&site_addr[slot], __ATOMIC_RELAXED);
		if (cur == 0 && __atomic_compare_exchange_n(&site_addr[slot],
		    &cur, site, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			cur = site;
		if (cur == site) {
			count = __atomic_fetch_add(&site_count[slot], 1, __ATOMIC_RELAXED);
			break;
		}
	}
	return mix(key ^ mix(site ^ ((uint64_t)count << 40)));
}

/* Take a delay out of r (bits 0-15 decide, the rest sizes): 0 or 1..max
 * us, one time in often (in RARE past the budget). */
static long
delay_of(uint64_t r, long often)
{
	long chance = __atomic_load_n(&slept_us, __ATOMIC_RELAXED) < budget_us ?
	    often : RARE;

	if ((r & 0xffff) % chance != 0)
		return 0;
	return 1 + (long)((r >> 16) % (unsigned long)max_us);
}

/* Sleep us microseconds; keeps errno (clock_nanosleep returns its error). */
static void
pause_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	__atomic_fetch_add(&slept_us, us, __ATOMIC_RELAXED);
	__atomic_fetch_add(&delays, 1, __ATOMIC_RELAXED);
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

/* The real functions, looked up before main() (dlsym is not signal-safe). */
#define FUNCS(X) X(read) X(write) X(poll) X(waitpid) X(waitid) X(kill) \
	X(sigprocmask) X(accept) X(accept4) X(connect) X(execve) X(fork) \
	X(open) X(openat) X(execv) X(execvp) X(killpg)
#define DECLARE(name) static __typeof__(name) *real_##name;
FUNCS(DECLARE)
/* Through a void **: ISO C has no cast from dlsym's void * to a function. */
#define RESOLVE(name) *(void **)&real_##name = dlsym(RTLD_NEXT, #name);

/* Here, not in stress_init: the shim must work in every process, stressed or not. */
__attribute__((constructor)) static void
stress_resolve(void)
{
	FUNCS(RESOLVE)
}

/* Lazily too, in case a call comes before the constructors ran. */
#define REAL(name) \
	if (real_##name == NULL) \
		RESOLVE(name)

/* Run call with the delays drawn for its caller, before it and after it
 * (one time in often). */
#define AROUND_OFTEN(type, call, often) do { \
	uint64_t r_; \
	long before_, after_; \
	type rv_; \
	int e_; \
	if (!active) \
		return (call); \
	r_ = draw(__builtin_return_address(0)); \
	before_ = delay_of(r_, CHANCE); \
	after_ = delay_of(mix(r_), often); \
	if (before_ > 0) \
		pause_us(before_); \
	rv_ = (call); \
	e_ = errno; \
	if (after_ > 0) \
		pause_us(after_); \
	errno = e_; \
	return rv_; \
} while (0)
#define AROUND(type, call) AROUND_OFTEN(type, call, CHANCE)

ssize_t
read(int fd, void *buf, size_t n)
{
	REAL(read);
	AROUND(ssize_t, real_read(fd, buf, n));
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	REAL(write);
	AROUND_OFTEN(ssize_t, real_write(fd, buf, n), SENT);
}

int
poll(struct pollfd *fds, nfds_t n, int timeout)
{
	REAL(poll);
	AROUND(int, real_poll(fds, n, timeout));
}

pid_t
waitpid(pid_t pid, int *status, int options)
{
	REAL(waitpid);
	AROUND(pid_t, real_waitpid(pid, status, options));
}

int
waitid(idtype_t type, id_t id, siginfo_t *info, int options)
{
	REAL(waitid);
	AROUND(int, real_waitid(type, id, info, options));
}

int
kill(pid_t pid, int sig)
{
	REAL(kill);
	AROUND_OFTEN(int, real_kill(pid, sig), SENT);
}

int
sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	REAL(sigprocmask);
	AROUND(int, real_sigprocmask(how, set, old));
}

/* _GNU_SOURCE declares the sockaddr arguments as glibc's transparent unions. */
int
accept(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
	REAL(accept);
	AROUND(int, real_accept(fd, addr, len));
}

int
accept4(int fd, __SOCKADDR_ARG addr, socklen_t *len, int flags)
{
	REAL(accept4);
	AROUND(int, real_accept4(fd, addr, len, flags));
}

int
connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	REAL(connect);
	AROUND(int, real_connect(fd, addr, len));
}

int
execve(const char *path, char *const argv[], char *const envp[])
{
	REAL(execve);
	AROUND(int, real_execve(path, argv, envp));
}

/* execv and execvp call glibc's execve from inside, not through us. */
int
execv(const char *path, char *const argv[])
{
	REAL(execv);
	AROUND(int, real_execv(path, argv));
}

int
execvp(const char *file, char *const argv[])
{
	REAL(execvp);
	AROUND(int, real_execvp(file, argv));
}

int
killpg(pid_t pgrp, int sig)
{
	REAL(killpg);
	AROUND_OFTEN(int, real_killpg(pgrp, sig), SENT);
}

/* fork: the child gets a key of its own, so that two children of the
 * same parent do not sleep in step. */
pid_t
fork(void)
{
	REAL(fork);
	uint64_t r = active ? draw(__builtin_return_address(0)) : 0;
	/* At least max_us: long enough for the other one to exec and start. */
	long us = active ? max_us + 1 +
	    (long)((r >> 3) % (unsigned long)((FORK_TIMES - 1) * max_us)) : 0;
	unsigned long nth = __atomic_add_fetch(&forks, 1, __ATOMIC_RELAXED);
	pid_t pid;
	int e;

	pid = real_fork();
	e = errno;
	if (pid == 0) {
		key = mix(key ^ nth);
		forks = 0;
		slept_us = delays = 0;
	}
	/* Linux usually runs the parent first: seven times in eight, the
	 * parent sleeps and the child runs first (bits 0-2 of r). */
	if (pid != -1 && (pid == 0) == ((r & 7) == 0))
		pause_us(us);
	errno = e;
	return pid;
}

/* Only the opens of a FIFO are delayed: the rendezvous of two processes. */
static int
is_fifo(int dirfd, const char *path)
{
	struct stat st;
	int e = errno, fifo;

	fifo = fstatat(dirfd, path, &st, 0) == 0 && S_ISFIFO(st.st_mode);
	errno = e;
	return fifo;
}

int
open(const char *path, int flags, ...)
{
	REAL(open);
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (!active || !is_fifo(AT_FDCWD, path))
		return real_open(path, flags, mode);
	AROUND(int, real_open(path, flags, mode));
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	REAL(openat);
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (!active || !is_fifo(dirfd, path))
		return real_openat(dirfd, path, flags, mode);
	AROUND(int, real_openat(dirfd, path, flags, mode));
}
