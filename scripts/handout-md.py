#!/usr/bin/env python3
"""handout-md.py FILE... - turn the kit's markdown files into the students'
handout's, in place: what lies between <!-- kit-only --> and
<!-- /kit-only --> goes (the instructors' material: grading, benchmarks,
the reference), and the text of a <!-- handout-only ... --> comment
becomes visible. Both editions (X.md and X.fr.md) are processed alike.

handout-md.py --french-first DIR - in the handout DIR, make the French
edition the default: X.fr.md becomes X.md and the English X.md becomes
X.en.md, and every relative link between markdown files follows (a
French student opens README.md and reads French; scripts/lang.py finds
the editions either way). Prints the documents that have no French edition.
Used by scripts/handout.sh on its copy of the kit.
"""
import os
import re
import sys


def students(text):
    text = re.sub(r"[ \t]*<!-- kit-only -->.*?<!-- /kit-only -->[ \t]*\n?", "", text, flags=re.S)
    text = re.sub(r"<!-- handout-only\n(.*?)-->\n", r"\1", text, flags=re.S)
    return re.sub(r"\n{3,}", "\n\n", text)


def french_first(top):
    """Swap the editions under top and fix the links; the English
    documents left without a French edition, relative to top."""
    mds = sorted(os.path.relpath(os.path.join(d, f), top) for d, _, fs in os.walk(top)
                 for f in fs if f.endswith(".md"))
    moves = {}
    for fr in (m for m in mds if m.endswith(".fr.md")):
        en = fr[:-len(".fr.md")] + ".md"
        if en in mds:
            moves[en], moves[fr] = en[:-len(".md")] + ".en.md", en
    for path in mds:
        here = os.path.dirname(path)

        def relink(m):
            target = os.path.normpath(os.path.join(here, m.group(2)))
            if m.group(2).startswith(("http:", "https:", "/")) or target not in moves:
                return m.group(0)
            new = os.path.relpath(moves[target], os.path.dirname(moves.get(path, path)))
            return f"{m.group(1)}{new}{m.group(3)}"
        full = os.path.join(top, path)
        with open(full, encoding="utf-8") as f:
            text = f.read()
        new = re.sub(r"(\]\()([^)#\s]+\.md)((?:#[^)\s]*)?\))", relink, text)
        if new != text:
            with open(full, "w", encoding="utf-8") as f:
                f.write(new)
    for en in [m for m in moves if not m.endswith(".fr.md")]:
        os.rename(os.path.join(top, en), os.path.join(top, en + ".tmp"))
    for fr in [m for m in moves if m.endswith(".fr.md")]:
        os.rename(os.path.join(top, fr), os.path.join(top, moves[fr]))
    for en in [m for m in moves if not m.endswith(".fr.md")]:
        os.rename(os.path.join(top, en + ".tmp"), os.path.join(top, moves[en]))
    return [m for m in mds if m not in moves and
            re.match(r"^(README|step\d+_[^/]+/(README|hints|PROTOCOL))\.md$", m)]


def main(argv):
    if argv[1:2] == ["--french-first"] and len(argv) == 3:
        left = french_first(argv[2])
        if left:
            print(" ".join(left))
        return 0
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    for path in argv[1:]:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        new = students(text)
        if "<!-- kit-only" in new or "<!-- handout-only" in new:
            sys.stderr.write(f"handout-md: {path}: an unbalanced kit-only/handout-only marker\n")
            return 1
        if new != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
