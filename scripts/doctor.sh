#!/usr/bin/env bash
# doctor.sh - `make doctor`: check that this machine can build and test the
# kit, and print the fix for each problem found.
#
# Exit status: 0 when everything required is there (optional tools may be
# missing), 1 otherwise. BATS_LIB_PATH is honoured as bats honours it.
# In French when OSPS_LANG=fr, or when the first of LC_ALL, LC_MESSAGES,
# LANG that is set starts with fr (as scripts/lang.py decides); command
# lines and program names stay as they are.
set -u
cd "$(dirname "$0")/.." || exit 1

fr=0
case ${OSPS_LANG:-} in
fr) fr=1 ;;
en) ;;
*) [[ ${LC_ALL:-${LC_MESSAGES:-${LANG:-}}} == fr* ]] && fr=1 ;;
esac
# L ENGLISH FRENCH: the text in the user's language.
L() { if ((fr)); then printf '%s' "$2"; else printf '%s' "$1"; fi; }

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
	printf '  %s✗ %s%s\n      %s %s\n' "$R" "$1" "$N" "$(L fix: 'pour corriger :')" "$2"
	problems=$((problems + 1))
	[[ -n ${3:-} ]] && packages+=("$3")
}
# maybe WHAT WHY: an optional tool is missing.
maybe() { printf '  %s- %s%s (%s %s)\n' "$Y" "$1" "$N" "$(L optional: 'facultatif :')" "$2"; }

L $'Building:\n' $'Compilation :\n'
if command -v cc >/dev/null; then
	printf '#include <stdio.h>\nint main(void) { return puts("ok") == EOF; }\n' >"$tmp/t.c"
	if cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic -Werror \
		"$tmp/t.c" -o "$tmp/t" 2>"$tmp/cc.log"; then
		ok "$(L 'C compiler:' 'compilateur C :') $(cc --version | head -1)"
	else
		bad "$(L 'the C compiler cannot build a C11 program:' 'le compilateur C ne compile pas un programme C11 :') $(head -1 "$tmp/cc.log")" \
			"apt-get install build-essential" build-essential
	fi
else
	bad "$(L 'no C compiler (cc)' 'pas de compilateur C (cc)')" "apt-get install build-essential" build-essential
fi
make_version=$(make --version 2>/dev/null | sed -n '1s/.* \([0-9][0-9.]*\)$/\1/p')
if [[ ${make_version%%.*} -ge 4 ]] 2>/dev/null; then
	ok "GNU make $make_version"
else
	bad "$(L "GNU make 4 or later is needed (found: ${make_version:-none})" "GNU make 4 ou plus récent est nécessaire (trouvé : ${make_version:-aucun})")" "apt-get install make" make
fi

L $'Testing:\n' $'Tests :\n'
printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <stdint.h>\n#include <cmocka.h>\nstatic void t(void **s) { (void)s; }\nint main(void) { const struct CMUnitTest ts[] = { cmocka_unit_test(t) }; return cmocka_run_group_tests(ts, NULL, NULL); }\n' >"$tmp/c.c"
if cc "$tmp/c.c" -o "$tmp/c" $(pkg-config --cflags --libs cmocka 2>/dev/null || echo -lcmocka) 2>/dev/null; then
	ok "cmocka ($(L 'unit tests' 'tests unitaires'))"
else
	bad "$(L 'cmocka is missing: unit tests cannot be built' 'cmocka manque : les tests unitaires ne peuvent pas être compilés')" "apt-get install libcmocka-dev pkg-config" libcmocka-dev
fi
if command -v bats >/dev/null; then
	v=$(bats --version | sed 's/[^0-9.]//g')
	if [[ $(printf '%s\n1.5.0\n' "$v" | sort -V | head -1) == 1.5.0 ]]; then
		ok "bats $v ($(L 'process tests' 'tests des processus'))"
	else
		bad "$(L "bats $v is too old (1.5 or later)" "bats $v est trop ancien (1.5 ou plus récent)")" "apt-get install bats (Debian 12 / Ubuntu 22.04 $(L 'or later' 'ou plus récent'))" bats
	fi
else
	bad "$(L 'bats is missing: process tests cannot run' 'bats manque : les tests des processus ne peuvent pas tourner')" "apt-get install bats" bats
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
		bad "$(L "$lib is missing (looked in ${BATS_LIB_PATH-/usr/lib/bats})" "$lib manque (cherché dans ${BATS_LIB_PATH-/usr/lib/bats})")" "apt-get install $lib" "$lib"
	fi
done
if command -v valgrind >/dev/null; then
	ok "valgrind $(valgrind --version | sed 's/valgrind-//')"
else
	bad "$(L 'valgrind is missing: make valgrind-stepN cannot run' 'valgrind manque : make valgrind-stepN ne peut pas tourner')" "apt-get install valgrind" valgrind
fi
if command -v python3 >/dev/null && python3 -c 'import sys; sys.exit(sys.version_info < (3, 7))'; then
	ok "python3 $(python3 -c 'import platform; print(platform.python_version())') ($(L 'skeletons, test summaries, grader' 'squelettes, bilans des tests, correcteur'))"
else
	bad "$(L 'python3 3.7 or later is missing' 'python3 3.7 ou plus récent manque')" "apt-get install python3" python3
fi
for c in ps:procps setsid:util-linux timeout:coreutils; do
	if command -v "${c%%:*}" >/dev/null; then
		ok "${c%%:*}"
	else
		bad "${c%%:*} $(L 'is missing' manque)" "apt-get install ${c#*:}" "${c#*:}"
	fi
done

L $'System:\n' $'Système :\n'
if [[ -d /dev/shm && -w /dev/shm ]]; then
	ok "/dev/shm $(L 'is writable' 'est accessible en écriture') ($(stat -f -c %T /dev/shm 2>/dev/null))"
else
	bad "$(L '/dev/shm is missing or not writable: shm_open will fail' "/dev/shm manque ou n'est pas accessible en écriture : shm_open échouera")" \
		"mount -t tmpfs -o mode=1777 tmpfs /dev/shm ($(L 'as root' 'en root'))"
fi
if grep -qi microsoft /proc/version 2>/dev/null && [[ $PWD == /mnt/[a-z]/* ]]; then
	bad "$(L "the kit is on a Windows drive ($PWD): FIFOs and Unix permissions do not work there" "le kit est sur un disque Windows ($PWD) : les tubes nommés et les droits Unix n'y fonctionnent pas")" \
		"$(L 'copy it into your Linux home:' 'copiez-le dans votre répertoire Linux :') cp -r '$PWD' ~/ && cd ~/$(basename "$PWD")"
elif grep -qi microsoft /proc/version 2>/dev/null; then
	ok "WSL, $(L 'with the kit in the Linux file system' 'avec le kit dans le système de fichiers Linux')"
fi
soft=$(ulimit -Sn) hard=$(ulimit -Hn)
if [[ $hard == unlimited || $hard -ge 1200 ]]; then
	ok "$(L "open-file limit: $soft (servers raise it up to $hard)" "limite de fichiers ouverts : $soft (les serveurs la montent jusqu'à $hard)")"
else
	bad "$(L "open-file limit is $hard at most: step 4's test of 1,100 clients needs 1,200" "la limite de fichiers ouverts est au plus $hard : le test de l'étape 4 à 1 100 clients en demande 1 200")" \
		"$(L "raise the hard limit in /etc/security/limits.conf ('* hard nofile 4096'), log in again" "relevez la limite dure dans /etc/security/limits.conf ('* hard nofile 4096'), puis reconnectez-vous")"
fi

L $'Optional:\n' $'Facultatif :\n'
for c in "tmux:make demo-live" "gnuplot:$(L 'the timeline picture of a demo run' "l'image chronologique d'une démo")" \
	"nc:$(L 'talking to the servers by hand' 'parler aux serveurs à la main') (netcat-openbsd)" "bear:make compile_commands.json" \
	"parallel:BATS_JOBS=N ($(L 'parallel process tests' 'tests des processus en parallèle'))" \
	"inotifywait:make watch, $(L 'tests again on every save' 'tests relancés à chaque enregistrement') (inotify-tools)"; do
	if command -v "${c%%:*}" >/dev/null; then
		ok "${c%%:*}"
	else
		maybe "${c%%:*} $(L 'is not installed' "n'est pas installé")" "${c#*:}"
	fi
done

echo
if ((problems == 0)); then
	printf '%s%s make step1 && make test-step1%s\n' "$G" "$(L 'All set:' 'Tout est prêt :')" "$N"
	exit 0
fi
printf '%s%d %s%s' "$R" "$problems" "$(L 'problem(s).' 'problème(s).')" "$N"
if ((${#packages[@]})); then
	printf ' %s\n    sudo apt-get install %s\n' "$(L 'Install what is missing in one go:' "Installez d'un coup ce qui manque :")" "$(printf '%s\n' "${packages[@]}" | sort -u | paste -sd ' ')"
else
	echo
fi
exit 1
