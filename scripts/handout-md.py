#!/usr/bin/env python3
"""handout-md.py FILE... - turn the kit's markdown files into the students'
handout's, in place: what lies between <!-- kit-only --> and
<!-- /kit-only --> goes (the instructors' material: grading, benchmarks,
the reference), and the text of a <!-- handout-only ... --> comment
becomes visible. Used by scripts/handout.sh on its copy of the kit.
"""
import re
import sys


def students(text):
    text = re.sub(r"[ \t]*<!-- kit-only -->.*?<!-- /kit-only -->[ \t]*\n?", "", text, flags=re.S)
    text = re.sub(r"<!-- handout-only\n(.*?)-->\n", r"\1", text, flags=re.S)
    return re.sub(r"\n{3,}", "\n\n", text)


def main(argv):
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
