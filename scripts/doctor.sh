#!/usr/bin/env bash
# doctor.sh - `make doctor`: check that this machine can build and test the
# kit, and print the fix for each problem found.
#
# Exit status: 0 when everything required is there (optional tools may be
# missing), 1 otherwise. BATS_LIB_PATH is honoured as bats honours it.
set -u
cd "$(dirname "$0")/.." || exit 1

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
	G=$'\e[32m' R=$'\e[31m' Y=$'\e[33m' N=$'\e[0m'
else
	G= R= Y= N=
fi
problems=0 packages=()
tmp=$(mktemp -d "${TMPDIR:-/tmp}/osps-doctor.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

ok()   { printf '  %s✓%s %s\n' "$G" "$N" "$*"; }
# bad WHAT FIX [PACKAGE]: a required piece is missing or broken.
bad() {
	printf '  %s✗ %s%s\n      fix: %s\n' "$R" "$1" "$N" "$2"
	problems=$((problems + 1))
	[[ -n ${3:-} ]] && packages+=("$3")
}
# maybe WHAT WHY: an optional tool is missing.
maybe() { printf '  %s- %s%s (optional: %s)\n' "$Y" "$1" "$N" "$2"; }

echo "Building:"
if command -v cc >/dev/null; then
	printf '#include <stdio.h>\nint main(void) { return puts("ok") == EOF; }\n' >"$tmp/t.c"
	if cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic -Werror \
		"$tmp/t.c" -o "$tmp/t" 2>"$tmp/cc.log"; then
		ok "C compiler: $(cc --version | head -1)"
	else
		bad "the C compiler cannot build a C11 program: $(head -1 "$tmp/cc.log")" \
			"apt-get install build-essential" build-essential
	fi
else
	bad "no C compiler (cc)" "apt-get install build-essential" build-essential
fi
make_version=$(make --version 2>/dev/null | sed -n '1s/.* \([0-9][0-9.]*\)$/\1/p')
if [[ ${make_version%%.*} -ge 4 ]] 2>/dev/null; then
	ok "GNU make $make_version"
else
	bad "GNU make 4 or later is needed (found: ${make_version:-none})" "apt-get install make" make
fi

echo "Testing:"
printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <stdint.h>\n#include <cmocka.h>\nstatic void t(void **s) { (void)s; }\nint main(void) { const struct CMUnitTest ts[] = { cmocka_unit_test(t) }; return cmocka_run_group_tests(ts, NULL, NULL); }\n' >"$tmp/c.c"
if cc "$tmp/c.c" -o "$tmp/c" $(pkg-config --cflags --libs cmocka 2>/dev/null || echo -lcmocka) 2>/dev/null; then
	ok "cmocka (unit tests)"
else
	bad "cmocka is missing: unit tests cannot be built" "apt-get install libcmocka-dev pkg-config" libcmocka-dev
fi
if command -v bats >/dev/null; then
	v=$(bats --version | sed 's/[^0-9.]//g')
	if [[ $(printf '%s\n1.5.0\n' "$v" | sort -V | head -1) == 1.5.0 ]]; then
		ok "bats $v (process tests)"
	else
		bad "bats $v is too old (1.5 or later)" "apt-get install bats (Debian 12 / Ubuntu 22.04 or later)" bats
	fi
else
	bad "bats is missing: process tests cannot run" "apt-get install bats" bats
fi
for lib in bats-support bats-assert bats-file; do
	found=
	IFS=: read -ra dirs <<<"${BATS_LIB_PATH-/usr/lib/bats}"
	for d in "${dirs[@]}"; do
		[[ -f $d/$lib/load.bash ]] && found=$d/$lib
	done
	if [[ -n $found ]]; then
		ok "$lib ($found)"
	else
		bad "$lib is missing (looked in ${BATS_LIB_PATH-/usr/lib/bats})" "apt-get install $lib" "$lib"
	fi
done
if command -v valgrind >/dev/null; then
	ok "valgrind $(valgrind --version | sed 's/valgrind-//')"
else
	bad "valgrind is missing: make valgrind-stepN cannot run" "apt-get install valgrind" valgrind
fi
if command -v python3 >/dev/null && python3 -c 'import sys; sys.exit(sys.version_info < (3, 7))'; then
	ok "python3 $(python3 -c 'import platform; print(platform.python_version())') (skeletons, test summaries, grader)"
else
	bad "python3 3.7 or later is missing" "apt-get install python3" python3
fi
for c in ps:procps setsid:util-linux timeout:coreutils; do
	if command -v "${c%%:*}" >/dev/null; then
		ok "${c%%:*}"
	else
		bad "${c%%:*} is missing" "apt-get install ${c#*:}" "${c#*:}"
	fi
done

echo "System:"
if [[ -d /dev/shm && -w /dev/shm ]]; then
	ok "/dev/shm is writable ($(stat -f -c %T /dev/shm 2>/dev/null))"
else
	bad "/dev/shm is missing or not writable: shm_open will fail" \
		"mount -t tmpfs -o mode=1777 tmpfs /dev/shm (as root)"
fi
if grep -qi microsoft /proc/version 2>/dev/null && [[ $PWD == /mnt/[a-z]/* ]]; then
	bad "the kit is on a Windows drive ($PWD): FIFOs and Unix permissions do not work there" \
		"copy it into your Linux home: cp -r '$PWD' ~/ && cd ~/$(basename "$PWD")"
elif grep -qi microsoft /proc/version 2>/dev/null; then
	ok "WSL, with the kit in the Linux file system"
fi
soft=$(ulimit -Sn) hard=$(ulimit -Hn)
if [[ $hard == unlimited || $hard -ge 1200 ]]; then
	ok "open-file limit: $soft (servers raise it up to $hard)"
else
	bad "open-file limit is $hard at most: step 4's test of 1,100 clients needs 1,200" \
		"raise the hard limit in /etc/security/limits.conf ('* hard nofile 4096'), log in again"
fi

echo "Optional:"
for c in "tmux:make demo-live" "gnuplot:the timeline picture of a demo run" \
	"nc:talking to the servers by hand (netcat-openbsd)" "bear:make compile_commands.json" \
	"parallel:BATS_JOBS=N (parallel process tests)" \
	"inotifywait:make watch, tests again on every save (inotify-tools)"; do
	if command -v "${c%%:*}" >/dev/null; then
		ok "${c%%:*}"
	else
		maybe "${c%%:*} is not installed" "${c#*:}"
	fi
done

echo
if ((problems == 0)); then
	printf '%sAll set: make step1 && make test-step1%s\n' "$G" "$N"
	exit 0
fi
printf '%s%d problem(s).%s' "$R" "$problems" "$N"
if ((${#packages[@]})); then
	printf ' Install what is missing in one go:\n    sudo apt-get install %s\n' "$(printf '%s\n' "${packages[@]}" | sort -u | paste -sd ' ')"
else
	echo
fi
exit 1
