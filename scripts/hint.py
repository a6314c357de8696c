#!/usr/bin/env python3
"""hint.py - `make hint-stepN EX=N.M`: show an exercise's hints one level
at a time. The step's README gives level 1 under a "#### N.M" heading (a
numbered list); the step's hints.md gives the next levels, under the same
heading and in the same format.

Usage: hint.py STEP_DIR EX [LEVEL]
  Each call shows the next level (remembered in build/hints/); LEVEL=N
  shows levels 1 to N, LEVEL=all every level, LEVEL=0 starts over.
  In French (README.fr.md + hints.fr.md) when OSPS_LANG=fr or the locale
  is French (LANG=fr_FR.UTF-8...), see lang.py; in English, with a notice,
  when the step has no French edition.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from lang import edition, language   # noqa: E402

SAY = {
    "en": {"none": "hint: no hints for exercise {ex!r} in {readme}; exercises with hints: {known}",
           "nothing": "none",
           "over": "Hints for {ex} start over: the next call shows hint 1.",
           "hint": "Hint {i} of {n} for {ex}: {text}\n",
           "again": "Try it, then run 'make hint-step{n} EX={ex}' again for hint {next}.",
           "last": "That was the last hint. Still stuck? Read the test named [{ex}] that fails: "
                   "it says what is expected."},
    "fr": {"none": "hint : pas d'indice pour l'exercice {ex!r} dans {readme} ; "
                   "exercices avec indices : {known}",
           "nothing": "aucun",
           "over": "Les indices de {ex} reprennent du début : le prochain appel montre l'indice 1.",
           "hint": "Indice {i} sur {n} pour {ex} : {text}\n",
           "again": "Essayez, puis relancez 'make hint-step{n} EX={ex}' pour l'indice {next}.",
           "last": "C'était le dernier indice. Toujours bloqué ? Lisez le test nommé [{ex}] "
                   "qui échoue : il dit ce qui est attendu."},
}


def hints(path, ex):
    """The numbered hint texts under "#### ex" in path, in order."""
    levels, inside = [], False
    if not os.path.exists(path):
        return levels
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                inside = line.strip() == f"#### {ex}"
                continue
            if not inside:
                continue
            m = re.match(r"^\s*\d+\.\s+(.*)", line)
            if m:
                levels.append(m.group(1).strip())
            elif line.strip() and levels:
                levels[-1] += " " + line.strip()    # a hint continued
    return levels


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    step, ex = argv[1], argv[2]
    wanted = argv[3] if len(argv) == 4 else ""
    lang = language()
    readme, more = (edition(os.path.join(ROOT, step, f), lang) for f in ("README.md", "hints.md"))
    if not (os.path.exists(readme) and os.path.exists(more)):
        sys.stderr.write(f"(les indices de {step} n'ont pas encore d'édition française : les voici en anglais)\n")
        lang = "en"
        readme, more = (edition(os.path.join(ROOT, step, f), lang) for f in ("README.md", "hints.md"))
    say = SAY[lang]
    levels = hints(readme, ex)
    if levels:
        levels += hints(more, ex)
    if not levels:
        known = sorted(set(re.findall(r"^#### (\d+\.\d+)", open(readme, encoding="utf-8").read(), re.M)))
        sys.stderr.write(say["none"].format(ex=ex, readme=os.path.relpath(readme, ROOT),
                                            known=", ".join(known) or say["nothing"]) + "\n")
        return 2
    state = os.path.join(ROOT, "build", "hints", ex)
    try:
        with open(state) as f:
            shown = int(f.read() or 0)
    except (OSError, ValueError):
        shown = 0
    if wanted == "all":
        upto = len(levels)
    elif wanted.isdigit():
        upto = min(int(wanted), len(levels))
    else:
        upto = min(shown + 1, len(levels))
    os.makedirs(os.path.dirname(state), exist_ok=True)
    with open(state, "w") as f:
        f.write(str(upto))
    if upto == 0:
        print(say["over"].format(ex=ex))
        return 0
    for i in range(upto):
        print(say["hint"].format(i=i + 1, n=len(levels), ex=ex, text=levels[i]))
    if upto < len(levels):
        print(say["again"].format(n=step[4], ex=ex, next=upto + 1))
    else:
        print(say["last"].format(ex=ex))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
