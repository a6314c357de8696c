#!/usr/bin/env bats
# The French edition (X.fr.md beside each X.md) keeps up with the English
# one (scripts/check-editions.py), the learner's tools follow the locale
# (make hint, make progress, make doctor), and make handout ships both
# editions, French first with HANDOUT_LANG=fr (or LANG=fr).

bats_require_minimum_version 1.5.0

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	cd "$KIT_ROOT" || return 1
	export HINTS_SAVED=$BATS_TEST_TMPDIR/hints
	[[ -d build/hints ]] && mv build/hints "$HINTS_SAVED"
	unset OSPS_LANG LC_ALL LC_MESSAGES
	export LANG=C.UTF-8
	return 0
}
teardown() {
	rm -rf build/hints
	[[ -d $HINTS_SAVED ]] && mv "$HINTS_SAVED" build/hints
	return 0
}

# pair: a tiny kit in $BATS_TEST_TMPDIR/kit with one step, its English
# texts and a faithful French edition of each; $K names it.
pair() {
	K=$BATS_TEST_TMPDIR/kit
	mkdir -p "$K/step1_x" "$K/solutions/step1_x"
	cat >"$K/README.md" <<'EOF'
# The kit

[Version française](README.fr.md)

Start with [step 1](step1_x/README.md), then run `make test-step1`.
<!-- kit-only -->
## For instructors

See [the answers](solutions/step1_x/ANSWERS.md).
<!-- /kit-only -->
EOF
	cat >"$K/step1_x/README.md" <<'EOF'
# Step 1: shared memory

[Version française](README.fr.md)

## Exercises

```sh
make step1 && make test-step1
```

### Hints

#### 1.1

1. Call `shm_open`.

#### 1.2

1. Then `mmap`.

## Questions

- **1.a** Why a segment?
- **1.b** Who unlinks it?
EOF
	cat >"$K/step1_x/hints.md" <<'EOF'
# Step 1: the next hints

[Version française](hints.fr.md)

#### 1.1

2. `O_CREAT | O_EXCL`.
3. Check every return code.

#### 1.2

2. `MAP_SHARED`.
EOF
	cat >"$K/solutions/step1_x/ANSWERS.md" <<'EOF'
# Step 1: answers

[Version française](ANSWERS.fr.md)

## 1.a Why a segment

Because.

## 1.b Who unlinks

`d`.
EOF
	local f
	for f in README.md step1_x/README.md step1_x/hints.md solutions/step1_x/ANSWERS.md; do
		sed -e 's/\[Version française\](\([a-zA-Z]*\)\.fr\.md)/[English](\1.md)/' \
			-e 's/^# Step 1/# Étape 1/; s/Start with/Commencez par/; s/Why a segment/Pourquoi un segment/' \
			-e 's/Call /Appelez /; s/Then /Puis /; s/## Questions/## Questions/; s/Because/Parce que/' \
			-e 's|(step1_x/README.md)|(step1_x/README.fr.md)|' \
			"$K/$f" >"$K/${f%.md}.fr.md"
	done
}

@test "[run] the editions check passes on two faithful editions, and reports each missing one" {
	pair
	run -0 scripts/check-editions.py --root "$K"
	assert_output "ok editions: 4 documents"
	run -0 scripts/check-editions.py --root "$K" --started
	rm "$K/step1_x/hints.fr.md"
	echo '# x' >"$K/step1_x/NOTES.fr.md"
	run -1 scripts/check-editions.py --root "$K"
	assert_line "step1_x/hints.fr.md: missing (the French edition of step1_x/hints.md)"
	assert_line "step1_x/NOTES.fr.md: no English edition step1_x/NOTES.md beside it"
	rm "$K"/*.fr.md "$K"/*/*.fr.md "$K"/*/*/*.fr.md
	run -1 scripts/check-editions.py --root "$K" --started
}

@test "[run] the editions check catches each kind of drift" {
	pair
	local fr=$K/step1_x/README.fr.md
	# Sections: one heading level changed, one exercise id changed.
	sed -i 's/^### Hints/## Indices/' "$fr"
	run -1 scripts/check-editions.py --root "$K"
	assert_line "step1_x/README.fr.md: sections differ from README.md: heading 3 is '### ...' in English, '## ...' in French (6 headings in English, 6 in French)"
	pair
	sed -i 's/^#### 1\.2$/#### 1.3/' "$fr"
	run -1 scripts/check-editions.py --root "$K"
	assert_line --partial "heading 5 is '#### 1.2 ...' in English, '#### 1.3 ...' in French"
	# Question labels.
	pair
	sed -i 's/\*\*1\.b\*\*/**1.c**/' "$fr"
	run -1 scripts/check-editions.py --root "$K"
	assert_line "step1_x/README.fr.md: question labels 1.a 1.c; README.md has 1.a 1.b"
	# Code blocks, byte for byte.
	pair
	sed -i 's/^make step1 && make test-step1$/make step1 \&\&  make test-step1/' "$fr"
	run -1 scripts/check-editions.py --root "$K"
	assert_line --partial "step1_x/README.fr.md: code block 1 differs from README.md's"
	# Inline make commands.
	pair
	sed -i 's/`make test-step1`/`make test-step2`/' "$K/README.fr.md"
	run -1 scripts/check-editions.py --root "$K"
	assert_line "README.fr.md: make commands differ from README.md: only in English: 'make test-step1'; only in French: 'make test-step2'"
	# Links: README.md and README.fr.md are one target; another is not.
	pair
	sed -i 's|(solutions/step1_x/ANSWERS.md)|(solutions/step1_x/ANSWER.md)|' "$K/README.fr.md"
	run -1 scripts/check-editions.py --root "$K"
	assert_line --partial "README.fr.md: links differ from README.md: only in English: 'solutions/step1_x/ANSWERS.md'"
	# The link to the other edition, at the top.
	pair
	sed -i '/\[English\]/d' "$K/solutions/step1_x/ANSWERS.fr.md"
	run -1 scripts/check-editions.py --root "$K"
	assert_line "solutions/step1_x/ANSWERS.fr.md: no link to ANSWERS.md in its first 5 lines"
	# kit-only markers.
	pair
	sed -i '/kit-only/d' "$K/README.fr.md"
	run -1 scripts/check-editions.py --root "$K"
	assert_line --partial "README.fr.md: kit-only/handout-only markers differ from README.md's"
	# Hint levels: one level missing in French.
	pair
	sed -i '/^3\. /d' "$K/step1_x/hints.fr.md"
	run -1 scripts/check-editions.py --root "$K"
	assert_line "step1_x/hints.fr.md: exercise 1.1 has 1 hint level(s) here, 2 in hints.md"
	# ... or a level moved from hints.fr.md into README.fr.md.
	pair
	sed -i '/^2\. `MAP_SHARED`/d' "$K/step1_x/hints.fr.md"
	sed -i 's/^1\. Puis `mmap`\./&\n2. `MAP_SHARED`./' "$K/step1_x/README.fr.md"
	run -1 scripts/check-editions.py --root "$K"
	assert_line "step1_x/README.fr.md: exercise 1.2 has 2 hint level(s) here, 1 in README.md"
	assert_line "step1_x/hints.fr.md: exercise 1.2 has 0 hint level(s) here, 1 in hints.md"
}

@test "[run] the kit's French edition is complete and keeps up with the English one" {
	scripts/check-editions.py --started ||
		skip "no French edition in the kit yet (no *.fr.md): this check starts with the first one"
	run -0 scripts/check-editions.py
	assert_line --regexp '^ok editions: [0-9]+ documents$'
}

# kit_tools: the learner's tools in the tiny kit of pair, to run them on
# its French texts.
kit_tools() {
	mkdir -p "$K/scripts"
	cp scripts/hint.py scripts/lang.py "$K/scripts/"
}

@test "[run] make hint follows the locale: French with OSPS_LANG=fr or LANG=fr_FR.UTF-8, English with OSPS_LANG=en" {
	pair
	kit_tools
	OSPS_LANG=fr run -0 python3 "$K/scripts/hint.py" step1_x 1.1 all
	assert_line "Indice 1 sur 3 pour 1.1 : Appelez \`shm_open\`."
	assert_line "Indice 3 sur 3 pour 1.1 : Check every return code."
	assert_line --partial "C'était le dernier indice."
	LANG=fr_FR.UTF-8 run -0 python3 "$K/scripts/hint.py" step1_x 1.2 1
	assert_line "Indice 1 sur 2 pour 1.2 : Puis \`mmap\`."
	assert_line "Essayez, puis relancez 'make hint-step1 EX=1.2' pour l'indice 2."
	LANG=fr_FR.UTF-8 OSPS_LANG=en run -0 python3 "$K/scripts/hint.py" step1_x 1.2 1
	assert_line "Hint 1 of 2 for 1.2: Then \`mmap\`."
	LC_ALL=C LANG=fr_FR.UTF-8 run -0 python3 "$K/scripts/hint.py" step1_x 1.2 1
	assert_line "Hint 1 of 2 for 1.2: Then \`mmap\`."
	# No French hints for a step: English, said in one line.
	rm "$K/step1_x/hints.fr.md"
	OSPS_LANG=fr run -0 --separate-stderr python3 "$K/scripts/hint.py" step1_x 1.2 1
	assert_line "Hint 1 of 2 for 1.2: Then \`mmap\`."
	[[ $stderr == "(les indices de step1_x n'ont pas encore d'édition française : les voici en anglais)" ]] ||
		fail "notice: $stderr"
	# Through make, in the kit.
	LANG=fr_FR.UTF-8 run -0 make -s hint-step1 EX=1.1 LEVEL=1
	assert_line --regexp '^(Indice 1 sur [0-9]+ pour 1\.1 : |Hint 1 of [0-9]+ for 1\.1: )'
}

@test "[run] make progress speaks French with OSPS_LANG=fr or LANG=fr_FR.UTF-8, commands unchanged" {
	OSPS_LANG=fr run -0 python3 scripts/progress.py step1_shm
	assert_line --regexp '^étape +exercice +fichier +tests +état$'
	assert_line --regexp '^step1_shm +1\.1 +shm_area\.c +- +· pas commencé$'
	assert_line "Exercices réussis : 0 sur 5."
	assert_line "Prochain exercice : 1.1, dans step1_shm/src/shm_area.c (cherchez 'TODO 1.1') ; 'make test-step1 EX=1.1' pour le vérifier, 'make hint-step1 EX=1.1' si vous bloquez."
	LANG=fr_FR.UTF-8 run -0 python3 scripts/progress.py --impl solution step1_shm
	assert_line --regexp '^step1_shm +1\.1 +shm_area\.c +[0-9]+/[0-9]+ +✓ réussi$'
	assert_line "Tout passe. Bravo !"
	OSPS_LANG=en LANG=fr_FR.UTF-8 run -0 python3 scripts/progress.py step1_shm
	assert_line "0 of 5 exercises passed."
}

@test "[run] make doctor speaks French with OSPS_LANG=fr or LANG=fr_FR.UTF-8, commands unchanged" {
	OSPS_LANG=fr run -0 scripts/doctor.sh
	assert_line "Compilation :"
	assert_line --partial "Tout est prêt : make step1 && make test-step1"
	mkdir "$BATS_TEST_TMPDIR/empty"
	LANG=fr_FR.UTF-8 BATS_LIB_PATH=$BATS_TEST_TMPDIR/empty run -1 scripts/doctor.sh
	assert_line --partial "✗ bats-assert manque (cherché dans $BATS_TEST_TMPDIR/empty)"
	assert_line --partial "pour corriger : apt-get install bats-assert"
	assert_line --partial "3 problème(s). Installez d'un coup ce qui manque :"
	assert_line --regexp "sudo apt-get install bats-assert bats-file bats-support$"
	OSPS_LANG=en LANG=fr_FR.UTF-8 run -0 scripts/doctor.sh
	assert_line --partial "All set: make step1 && make test-step1"
}

# kit_with_french: a copy of the kit's files (no git) in $BATS_TEST_TMPDIR/k,
# with a French edition (a stand-in: the English text retitled) of the top
# README and of step 1's README and hints; $C names it.
kit_with_french() {
	C=$BATS_TEST_TMPDIR/k
	mkdir -p "$C"
	git ls-files -z | tar -cf - --null -T - | tar -xf - -C "$C" || return 1
	# Start from an English-only kit: the kit's own French editions go.
	find "$C" -name '*.fr.md' -delete
	local f b
	while IFS= read -r f; do
		sed -i '1{/^\[Version française\](/{N;d}}' "$f"
	done < <(find "$C" -name '*.md')
	for f in README.md step1_shm/README.md step1_shm/hints.md; do
		b=$(basename "$f" .md)
		sed -e "1a\\
\\
[English]($b.md)" -e '1s/^# .*/# Édition française/' \
			-e 's|(step1_shm/README\.md)|(step1_shm/README.fr.md)|g' \
			-e 's/^1\. /1. En français : /' "$C/$f" >"$C/${f%.md}.fr.md"
		sed -i "1a\\
\\
[Version française]($b.fr.md)" "$C/$f"
	done
}

@test "[run] make handout ships both editions, the French one cut along its kit-only markers" {
	kit_with_french
	run -0 --separate-stderr env -u HANDOUT_LANG make -C "$C" -s handout 3>&-
	mkdir "$BATS_TEST_TMPDIR/h" && tar -xzf "$C/build/osps-kit.tar.gz" -C "$BATS_TEST_TMPDIR/h"
	local h=$BATS_TEST_TMPDIR/h/osps-kit
	run -0 head -3 "$h/README.md"
	assert_line "[Version française](README.fr.md)"
	run -0 head -3 "$h/README.fr.md"
	assert_line "# Édition française"
	assert_line "[English](README.md)"
	[[ -f $h/step1_shm/hints.fr.md && ! -e $h/README.en.md ]] || fail "$(ls "$h" "$h/step1_shm")"
	grep -q 'For instructors' "$C/README.fr.md" || fail "the stand-in lost its kit-only part"
	run -1 grep -lE 'kit-only|## For instructors' "$h/README.fr.md" "$h/step1_shm/README.fr.md"
	run -0 grep -c 'README.fr.md' "$h/.handout-files"
	# make hint reads the French edition in the handout.
	OSPS_LANG=fr run -0 make -C "$h" -s hint-step1 EX=1.1 LEVEL=2
	assert_line --regexp '^Indice 1 sur [0-9]+ pour 1\.1 : En français : '
	assert_line --regexp '^Indice 2 sur [0-9]+ pour 1\.1 : '
}

@test "[run] make handout LANG=fr: README.md is the French edition, README.en.md the English one, links and hints follow" {
	kit_with_french
	run -0 make -C "$C" -s handout LANG=fr 3>&-
	assert_line "handout: French first: README.md is the French edition, README.en.md the English one"
	assert_line --regexp '^handout: warning: no French edition of .*step2_fifo/README\.md.*: English only$'
	mkdir "$BATS_TEST_TMPDIR/h" && tar -xzf "$C/build/osps-kit.tar.gz" -C "$BATS_TEST_TMPDIR/h"
	local h=$BATS_TEST_TMPDIR/h/osps-kit
	run -0 head -3 "$h/README.md"
	assert_line "# Édition française"
	assert_line "[English](README.en.md)"
	run -0 head -3 "$h/README.en.md"
	assert_line "[Version française](README.md)"
	[[ ! -e $h/README.fr.md && -f $h/step1_shm/hints.en.md && -f $h/step2_fifo/README.md ]] || fail "$(ls "$h" "$h/step1_shm")"
	# Every relative link between markdown files lands on a file.
	local f t
	for f in "$h"/README.md "$h"/README.en.md "$h"/step1_shm/*.md; do
		for t in $(grep -oE '\]\([^)#[:space:]]+\.md' "$f" | sed 's/^](//' | grep -v '^http'); do
			[[ -f $(dirname "$f")/$t ]] || fail "$f links to $t, which is not in the handout"
		done
	done
	grep -q '(step1_shm/README.md)' "$h/README.md" || fail "the French README does not link to step 1's French README"
	grep -q '(step1_shm/README.en.md)' "$h/README.en.md" || fail "the English README does not link to step 1's English README"
	run -0 grep -E '^[0-9a-f]+  README.en.md$' "$h/.handout-files"
	# make hint: French by default there when asked, English with OSPS_LANG=en.
	OSPS_LANG=fr run -0 make -C "$h" -s hint-step1 EX=1.1 LEVEL=1
	assert_line --regexp '^Indice 1 sur [0-9]+ pour 1\.1 : En français : '
	OSPS_LANG=en run -0 make -C "$h" -s hint-step1 EX=1.1 LEVEL=1
	assert_line --regexp '^Hint 1 of [0-9]+ for 1\.1: [^E]'
	run -2 make -C "$C" -s handout HANDOUT_LANG=de
	assert_output --partial "HANDOUT_LANG=de: the editions are en (the default) and fr"
}

@test "[run] make handout LANG=fr refuses a kit with no French edition at all, in one line" {
	C=$BATS_TEST_TMPDIR/k
	mkdir -p "$C"
	git ls-files -z | tar -cf - --null -T - | tar -xf - -C "$C"
	find "$C" -name '*.fr.md' -delete
	run -2 make -C "$C" -s handout LANG=fr 3>&-
	assert_line "handout: HANDOUT_LANG=fr, but the kit has no French edition (no *.fr.md)"
	[[ ! -e $C/build/osps-kit.tar.gz ]] || fail "a tarball was written"
}
