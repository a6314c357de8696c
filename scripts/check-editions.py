#!/usr/bin/env python3
"""check-editions.py - the French edition of the kit's texts keeps up with
the English one.

Usage: check-editions.py [--root DIR]      check every pair; exit 1 on drift
       check-editions.py [--root DIR] --started
                                           exit 0 if any *.fr.md exists

The conventions. Every document a student or an instructor reads, X.md,
has its French edition X.fr.md beside it: the top README.md, each
stepN_*/README.md and hints.md, stepN_*/PROTOCOL.md, grader/README.md and
solutions/stepN_*/ANSWERS.md. Each edition links to the other within its
first 5 lines ([Version française](README.fr.md), [English](README.md)).
A missing French edition is a failure.

Two editions differ in their words only. They must have:
  - the same headings, level by level, in the same order, and the same
    label at the start of a heading that has one (#### 1.2, ## 2.b ...);
  - the same question labels (**1.a**), in the same order;
  - the same fenced code blocks, byte for byte, in the same order;
  - the same inline `make ...` commands and the same links (a link to
    Y.fr.md counts as one to Y.md), in any order;
  - the same <!-- kit-only --> / <!-- handout-only --> markers in the
    same sections (scripts/handout-md.py cuts along them);
  - the same hint levels for each exercise ("#### N.M" then a numbered
    list) in README.md and README.fr.md, and in hints.md and hints.fr.md
    (scripts/hint.py reads them in that order).
Prints one line per problem; "ok editions: N documents" when none.
"""
import collections
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ["README.md", "step[0-9]*_*/README.md", "step[0-9]*_*/hints.md", "step[0-9]*_*/PROTOCOL.md",
        "grader/README.md", "solutions/step[0-9]*_*/ANSWERS.md"]
TOP_LINES = 5
LABEL = r"\d+\.[a-z0-9]+"


def documents(root):
    """The English documents that need a French edition, relative to root."""
    found = {os.path.relpath(p, root) for pat in DOCS for p in glob.glob(os.path.join(root, pat))}
    return sorted(found)


def french(doc):
    return doc[:-len(".md")] + ".fr.md"


def started(root):
    """True when the kit has one French document or more (build/ and the
    tests' own files aside)."""
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and
                   os.path.relpath(os.path.join(dirpath, d), root) not in ("build", "tests")]
        if any(f.endswith(".fr.md") for f in files):
            return True
    return False


class Text:
    """What two editions must share, read from one markdown file."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.lines = f.read().split("\n")
        self.headings, self.blocks, self.markers = [], [], []
        prose, block, fence = [], None, None
        for line in self.lines:
            m = re.match(r"^\s*(`{3,}|~{3,})", line)
            if block is not None:
                block.append(line)
                if m and line.strip() == m.group(1) and m.group(1)[0] == fence[0] \
                        and len(m.group(1)) >= len(fence):     # a closing fence has no info
                    self.blocks.append("\n".join(block))
                    block = None
                continue
            if m:
                block, fence = [line], m.group(1)
                continue
            h = re.match(r"^(#{1,6})\s+(.*)", line)
            if h:
                lab = re.match(rf"({LABEL})\b", h.group(2))
                self.headings.append((h.group(1), lab.group(1) if lab else ""))
            for mk in re.findall(r"<!-- (/?kit-only|handout-only)", line):
                self.markers.append((mk, len(self.headings)))
            prose.append(line)
        self.prose = prose
        text = "\n".join(prose)
        self.labels = re.findall(rf"\*\*({LABEL})\*\*", text)
        self.makes = collections.Counter(re.findall(r"`(make [^`]+)`", text))
        self.links = collections.Counter(re.sub(r"\.fr\.md\b", ".md", t)
                                         for t in re.findall(r"\]\(([^)\s]+)\)", text))

    def top_links(self):
        return re.findall(r"\]\(([^)\s#]+)", "\n".join(self.lines[:TOP_LINES]))


def counted(c):
    return ", ".join(f"{k!r}" + (f" x{n}" if n > 1 else "") for k, n in sorted(c.items()))


def compare(doc, en, fr):
    """Problems between the English and French Text of doc."""
    out, fdoc = [], french(doc)
    name = os.path.basename(doc)
    if os.path.basename(fdoc) not in en.top_links():
        out.append(f"{doc}: no link to {os.path.basename(fdoc)} in its first {TOP_LINES} lines")
    if name not in fr.top_links():
        out.append(f"{fdoc}: no link to {name} in its first {TOP_LINES} lines")
    for t in (en, fr):
        t.links.pop(name, None)         # the link to the other edition
    if en.headings != fr.headings:
        for i, (a, b) in enumerate(zip(en.headings + [None] * len(fr.headings),
                                       fr.headings + [None] * len(en.headings))):
            if a != b:
                show = lambda h: "nothing" if h is None else f"'{h[0]}{(' ' + h[1]) if h[1] else ''} ...'"
                out.append(f"{fdoc}: sections differ from {name}: heading {i + 1} is "
                           f"{show(a)} in English, {show(b)} in French "
                           f"({len(en.headings)} headings in English, {len(fr.headings)} in French)")
                break
    if en.labels != fr.labels:
        out.append(f"{fdoc}: question labels {' '.join(fr.labels) or 'none'}; "
                   f"{name} has {' '.join(en.labels) or 'none'}")
    for i, (a, b) in enumerate(zip(en.blocks, fr.blocks)):
        if a != b:
            first = a.split("\n")[0].strip() + " " + (a.split("\n") + [""])[1].strip()
            out.append(f"{fdoc}: code block {i + 1} differs from {name}'s ({first[:50]!r}...): "
                       "code is the same byte for byte in both editions")
    if len(en.blocks) != len(fr.blocks):
        out.append(f"{fdoc}: {len(fr.blocks)} code blocks; {name} has {len(en.blocks)}")
    for what, a, b in (("make commands", en.makes, fr.makes), ("links", en.links, fr.links)):
        if a != b:
            out.append(f"{fdoc}: {what} differ from {name}: only in English: {counted(a - b) or 'none'}; "
                       f"only in French: {counted(b - a) or 'none'}")
    a, b = hint_levels(en), hint_levels(fr)
    for ex in sorted(set(a) | set(b)):
        if a.get(ex) != b.get(ex):
            out.append(f"{fdoc}: exercise {ex} has {b.get(ex, 0)} hint level(s) here, {a.get(ex, 0)} in {name}")
    if en.markers != fr.markers:
        out.append(f"{fdoc}: kit-only/handout-only markers differ from {name}'s "
                   f"(English: {len(en.markers)}, French: {len(fr.markers)}, or in other sections)")
    return out


def hint_levels(text):
    """{exercise: number of numbered hint items} under the "#### N.M"
    headings, as scripts/hint.py counts them."""
    levels, ex = {}, None
    for line in text.prose:
        if line.startswith("#"):
            m = re.match(rf"^#### ({LABEL})\s*$", line)
            ex = m.group(1) if m else None
            if ex:
                levels.setdefault(ex, 0)
            continue
        if ex and re.match(r"^\s*\d+\.\s+", line):
            levels[ex] += 1
    return levels


def main(argv):
    args, root = argv[1:], ROOT
    if args[:1] == ["--root"] and len(args) >= 2:
        root, args = args[1], args[2:]
    if args == ["--started"]:
        return 0 if started(root) else 1
    if args:
        sys.stderr.write(__doc__)
        return 2
    docs = documents(root)
    problems = []
    for doc in docs:
        fdoc = french(doc)
        if not os.path.exists(os.path.join(root, fdoc)):
            problems.append(f"{fdoc}: missing (the French edition of {doc})")
            continue
        en, fr = Text(os.path.join(root, doc)), Text(os.path.join(root, fdoc))
        problems += compare(doc, en, fr)
    for path in glob.glob(os.path.join(root, "**", "*.fr.md"), recursive=True):
        fdoc = os.path.relpath(path, root)
        if fdoc.split(os.sep)[0] not in ("build", "tests") and fdoc[:-len(".fr.md")] + ".md" not in docs:
            problems.append(f"{fdoc}: no English edition {fdoc[:-len('.fr.md')]}.md beside it")
    for p in problems:
        print(p)
    if problems:
        print(f"editions: {len(problems)} problem(s) between the English and French editions")
        return 1
    print(f"ok editions: {len(docs)} documents")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
