#!/usr/bin/env bash
# watch.sh STEP [EX] - `make watch STEP=N [EX=N.M]`: run step N's tests (or
# only exercise N.M's) now, then again after every save of the step's
# sources or tests: one line per test, then the first failure in full.
# IMPL=solution watches the reference. Needs inotifywait (inotify-tools).
# Stop it with Ctrl-C.
set -u
cd "$(dirname "$0")/.." || exit 1
step=${1:-} ex=${2:-} impl=${IMPL:-learner}
dir=$(compgen -G "step${step}_*" | head -n 1)
if [[ ! $step =~ ^[0-9]+$ || -z $dir ]]; then
	echo "usage: make watch STEP=N [EX=N.M]   (N: a step number, e.g. make watch STEP=1 EX=1.3)" >&2
	exit 2
fi
if ! command -v inotifywait >/dev/null; then
	echo "watch: inotifywait is not installed: sudo apt-get install inotify-tools" >&2
	exit 1
fi
src=$dir/src
[[ $impl == solution ]] && src=solutions/$dir/src

while :; do
	printf '\n== %s  make test-step%s%s\n' "$(date +%T)" "$step" "${ex:+ EX=$ex}"
	make -s --no-print-directory "test-step$step" ${ex:+EX="$ex"} BRIEF=1 IMPL="$impl" </dev/null
	printf '(waiting for a change in %s or %s/tests; Ctrl-C to stop)\n' "$src" "$dir"
	# Editors' swap and backup files are not a save.
	inotifywait -qq -r -e close_write,moved_to,create,delete \
		--exclude '(/\.[^/]*|~|\.swp|\.tmp)$' "$src" "$dir/tests" || exit 1
	sleep 0.3	# a save can take several writes: let them land
done
