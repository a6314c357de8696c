#!/usr/bin/env bash
# deps.sh - make sure the kit's test dependencies are installed.
#
# usage: scripts/deps.sh           as root: install what is missing (Debian
#                                  packages); otherwise print the one command
#                                  to run and exit 1
#        scripts/deps.sh --check   only say what is missing (exit 1 if any)
# Building the programs and `make demo` need only cc and make; the tests
# need the packages below (gnuplot for `make timeline`, tmux for
# `make demo-live`, gdb for the debugging set-up, which they test;
# bubblewrap for the grader's sandbox, patch for `make check-races`).
# Optional packages (inotify-tools for `make watch`) are installed along
# as root but never required.
set -u

# package : how to tell it is installed
checks=(
	"libcmocka-dev:pkg-config --exists cmocka || test -f /usr/include/cmocka.h"
	"pkg-config:command -v pkg-config"
	"bats:command -v bats"
	"bats-support:test -f /usr/lib/bats/bats-support/load.bash"
	"bats-assert:test -f /usr/lib/bats/bats-assert/load.bash"
	"bats-file:test -f /usr/lib/bats/bats-file/load.bash"
	"valgrind:command -v valgrind"
	"gdb:command -v gdb"
	"parallel:parallel --version 2>/dev/null | grep -q 'GNU parallel'"
	"python3:command -v python3"
	"procps:command -v ps"
	"gnuplot-nox:command -v gnuplot"
	"tmux:command -v tmux"
	"bubblewrap:command -v bwrap"
	"similarity-tester:command -v sim_c"
	"patch:command -v patch"
)

optional=(
	"inotify-tools:command -v inotifywait"
)

missing=() extra=()
for c in "${checks[@]}"; do
	pkg=${c%%:*}
	bash -c "${c#*:}" >/dev/null 2>&1 || missing+=("$pkg")
done
for c in "${optional[@]}"; do
	bash -c "${c#*:}" >/dev/null 2>&1 || extra+=("${c%%:*}")
done
# As root, the optional ones come along; otherwise they only matter to
# make doctor.
[[ ${1:-} != --check && $(id -u) -eq 0 ]] && missing+=("${extra[@]}")
((${#missing[@]} == 0)) && exit 0

cmd="apt-get install -y ${missing[*]}"
if [[ ${1:-} == --check ]]; then
	echo "deps: missing: ${missing[*]}" >&2
	echo "deps: install them with: sudo $cmd   (or run 'make deps' as root)" >&2
	exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "deps: missing: ${missing[*]}" >&2
	echo "deps: run this once, then try again: sudo apt-get update && sudo $cmd" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || { echo "deps: apt-get update failed" >&2; exit 1; }
apt-get install -y -qq "${missing[@]}" >&2 || { echo "deps: apt-get install failed" >&2; exit 1; }
exec "$0" --check
