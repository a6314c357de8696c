#!/usr/bin/env bats
# The stress shim (tests/stress/stress.c) that make test-stepN STRESS=1
# preloads into the programs under test: reproducible delays, errno kept,
# signal handlers that write, and nobody else delayed.

bats_require_minimum_version 1.5.0

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	cd "$KIT_ROOT" || return 1
	make --no-print-directory stress-shim >/dev/null || return 1
	SHIM=$KIT_ROOT/build/stress/libstress.so
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	# A program under test: 40 failing writes (errno must stay EBADF);
	# with an argument, a timer's handler writes to a pipe meanwhile,
	# every millisecond, as a self-pipe handler does. Prints how many
	# writes went wrong.
	cat >"$BATS_TEST_TMPDIR/t.c" <<-'C'
	#define _DEFAULT_SOURCE
	#include <errno.h>
	#include <signal.h>
	#include <stdio.h>
	#include <sys/time.h>
	#include <unistd.h>
	static int p[2];
	static volatile sig_atomic_t ticks;
	static void on_alarm(int sig) { (void)sig; if (write(p[1], "x", 1) == 1) ticks++; }
	int main(int argc, char **argv) {
		struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
		int i, bad = 0;
		(void)argv;
		if (argc > 1 && (pipe(p) == -1 || signal(SIGALRM, on_alarm) == SIG_ERR ||
		    setitimer(ITIMER_REAL, &it, NULL) == -1))
			return 2;
		for (i = 0; i < 40; i++) {
			errno = 0;
			if (write(-1, "x", 1) != -1 || errno != EBADF)
				bad++;
		}
		printf("%d bad\n", bad);
		return 0;
	}
	C
	cc -o "$BATS_TEST_TMPDIR/bin/t" "$BATS_TEST_TMPDIR/t.c"
}

# shimmed SEED DIR [timer]: run the fixture with the shim, seed SEED, DIR
# as the directory of the programs under test.
shimmed() {
	OSPS_STRESS_TRACE=1 LD_PRELOAD=$SHIM OSPS_STRESS_SEED=$1 OSPS_STRESS_BIN=$2 \
		timeout 20 "$BATS_TEST_TMPDIR/bin/t" "${@:3}"
}

@test "[run] STRESS: the same seed gives the same delays, another seed others; errno is kept" {
	run -0 --separate-stderr shimmed 7 "$BATS_TEST_TMPDIR/bin"
	assert_output "0 bad"
	assert_regex "$stderr" '^stress: [1-9][0-9]* delays, [0-9]+ us$'
	first=$stderr
	run -0 --separate-stderr shimmed 7 "$BATS_TEST_TMPDIR/bin"
	assert_equal "$stderr" "$first"
	run -0 --separate-stderr shimmed 8 "$BATS_TEST_TMPDIR/bin"
	[[ $stderr != "$first" ]] || fail "seeds 7 and 8 gave the same delays: $first"
}

@test "[run] STRESS: a signal handler that writes (a self-pipe) while the program is delayed: no hang, errno kept" {
	run -0 --separate-stderr shimmed 7 "$BATS_TEST_TMPDIR/bin" timer
	assert_output "0 bad"
	assert_regex "$stderr" '^stress: [1-9][0-9]* delays, [0-9]+ us$'
}

@test "[run] STRESS: a program outside the directory under test is not delayed" {
	run -0 --separate-stderr shimmed 7 "$BATS_TEST_TMPDIR/elsewhere"
	assert_output "0 bad"
	assert_equal "$stderr" ""
}

@test "[run] STRESS=1 does not combine with valgrind: make says so" {
	run -2 make --no-print-directory valgrind-step1 STRESS=1
	assert_output --partial "STRESS=1 does not combine with valgrind"
}
