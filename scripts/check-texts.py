#!/usr/bin/env python3
"""check-texts.py - the students' texts agree with the tests and the code.

Usage: check-texts.py [--root DIR] [CHECK...] STEP_DIR...
  CHECK is one of --questions, --hints, --events, --fragments (default:
  all of them). Prints one line per problem and exits 1 if there is any,
  0 otherwise (with one "ok" line per check).

  questions  every question of a step README is labelled (**N.x**) and
             solutions/STEP/ANSWERS.md answers each label under a
             "## N.x ..." heading, and no other label.
  hints      the README gives level 1 of each exercise's hints only; the
             next levels are in STEP/hints.md, for exercises the README
             has, in the same "#### N.M" + numbered-list format.
  events     every log event and key a test waits for (` reaped name=`)
             is named in the exercise's TODO comment or in the README's
             table of log events; every message a test expects (each
             literal piece of two words or more) is in what the learner
             is given: the skeleton's code or TODO comments, the common
             library, the README or PROTOCOL.md; so is every exit code
             a test expects beyond 0, 1 and 2.
  fragments  every C fragment of a hint compiles against the skeleton's
             types, fields and functions: each `code span` that looks
             like C is compiled at the end of one of the exercise's
             solution blocks (the skeleton with the exercise done, its
             variables in scope); every identifier of a span must be
             defined by the exercise's files or their headers.
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def section(text, title):
    """The lines of the "## title" section of a markdown text."""
    m = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    return m.group(1) if m else ""


# ---------------------------------------------------------------- questions

def check_questions(root, step):
    """README question labels against ANSWERS.md's "## N.x" headings."""
    problems = []
    readme = read(os.path.join(root, step, "README.md"))
    n = step[4]
    qs = section(readme, "Questions")
    if not qs:
        return [f"{step}/README.md: no '## Questions' section"]
    asked = []
    for item in re.findall(r"^- (.*)$", qs, re.M):
        m = re.match(r"\*\*(\d+\.[a-z])\*\* ", item)
        if not m:
            problems.append(f"{step}/README.md: question without a label: {item[:60]!r}")
            continue
        asked.append(m.group(1))
        if not m.group(1).startswith(n + "."):
            problems.append(f"{step}/README.md: question {m.group(1)} is not step {n}'s")
    for lab in {x for x in asked if asked.count(x) > 1}:
        problems.append(f"{step}/README.md: label {lab} used twice")
    answers = os.path.join(root, "solutions", step, "ANSWERS.md")
    if not os.path.exists(answers):
        return problems + [f"solutions/{step}/ANSWERS.md: missing"]
    answered = re.findall(r"^## (\d+\.[a-z])\b", read(answers), re.M)
    for lab in asked:
        if lab not in answered:
            problems.append(f"solutions/{step}/ANSWERS.md: no '## {lab} ...' answer "
                            f"to README question {lab}")
    for lab in answered:
        if lab not in asked:
            problems.append(f"solutions/{step}/ANSWERS.md: answers {lab}, "
                            "which the README does not ask")
    return problems


# -------------------------------------------------------------------- hints

def hint_lists(text):
    """{exercise: [level numbers]} of the "#### N.M" lists of a text."""
    lists, ex = {}, None
    for line in text.splitlines():
        if line.startswith("#"):
            m = re.match(r"^#### (\d+\.\d+)\s*$", line)
            ex = m.group(1) if m else None
            if ex:
                lists.setdefault(ex, [])
            continue
        m = re.match(r"^\s*(\d+)\.\s", line)
        if ex and m:
            lists[ex].append(int(m.group(1)))
    return lists


def exercise_ids(root, step):
    import json
    with open(os.path.join(root, step, "exercises.json"), encoding="utf-8") as f:
        return [e["id"] for e in json.load(f)]


def check_hints(root, step):
    """Level 1 in the README, levels 2, 3, ... in hints.md."""
    problems = []
    readme = hint_lists(section(read(os.path.join(root, step, "README.md")), "Exercises"))
    for ex in exercise_ids(root, step):
        if ex not in readme:
            problems.append(f"{step}/README.md: no '#### {ex}' hint for exercise {ex}")
    for ex, levels in readme.items():
        if levels != [1]:
            problems.append(f"{step}/README.md: exercise {ex} shows hint levels {levels}; "
                            f"the README gives level 1 only, the next go to {step}/hints.md")
    path = os.path.join(root, step, "hints.md")
    more = hint_lists(read(path)) if os.path.exists(path) else {}
    for ex, levels in more.items():
        if ex not in readme:
            problems.append(f"{step}/hints.md: hints for {ex}, which has no level 1 in the README")
        elif levels != list(range(2, 2 + len(levels))):
            problems.append(f"{step}/hints.md: exercise {ex}'s levels are {levels}, "
                            "not 2, 3, ... in order")
    return problems


# ------------------------------------------------------------------- events

def bats_tests(root, step):
    """[(file, tag, name, body)] of the step's process tests; tag is the
    exercise in the name's brackets ("1.2", "run", ...)."""
    tests = []
    tdir = os.path.join(root, step, "tests")
    for f in sorted(os.listdir(tdir)):
        if not f.endswith((".bats", ".bash")):
            continue
        text = read(os.path.join(tdir, f))
        for m in re.finditer(r'^@test "((?:\\.|[^"\\])*)" \{\n(.*?)^\}$', text, re.M | re.S):
            tag = re.match(r"\[([^\]]+)\]", m.group(1))
            tests.append((f, tag.group(1) if tag else "", m.group(1), m.group(2)))
    return tests


def quoted(body):
    """The quoted strings of a shell text, '...' and "..." alike."""
    return [a or b for a, b in re.findall(r"'([^'\n]*)'|\"((?:\\.|[^\"\\\n])*)\"", body)]


# An event a test waits for: a lowercase word after a space (or at the
# start of a string, or after "prog[pid]"), then "key=".
EVENT = re.compile(r"(?:^|(?<=[ \]]))([a-z][a-z0-9]*(?:-[a-z0-9]+)*) (?=[a-z_]+=)")


def expected_events(s):
    """[(event, [keys])] a test string waits for."""
    out = []
    for m in EVENT.finditer(s):
        rest = s[m.end():]
        nxt = EVENT.search(rest)
        rest = rest[:nxt.start()] if nxt else rest
        rest = re.sub(r'\\?"[^"]*\\?"', '""', rest)    # quoted values
        keys = re.findall(r"(?:^|(?<= ))([a-z_]+)=", rest)
        out.append((m.group(1), keys))
    return out


def todo_texts(root, step):
    """{exercise: the text of its TODO comment(s)} in the reference."""
    todos = {}
    src = os.path.join(root, "solutions", step, "src")
    for dirpath, _, files in os.walk(src):
        for f in files:
            if f.endswith((".c", ".h")):
                for m in re.finditer(r"/\* TODO (\d+\.\d+):(.*?)\*/", read(os.path.join(dirpath, f)), re.S):
                    text = re.sub(r"\s*\n\s*\*?\s*", " ", m.group(2))
                    todos[m.group(1)] = todos.get(m.group(1), "") + " " + text
    return todos


def event_table(readme):
    """{event: set of keys, or None when the table allows any key}."""
    table = {}
    for row in section(readme, "Log events").splitlines():
        cells = re.split(r"(?<!\\)\|", row)         # \| is a | inside a cell
        if len(cells) < 4:
            continue
        for span in re.findall(r"`([^`]+)`", cells[2]):
            words = span.split()
            if not words or not re.fullmatch(r"[a-z][a-z0-9-]*", words[0]):
                continue
            keys = set(re.findall(r"([a-z_]+)=", span))
            prev = table.get(words[0], set())
            table[words[0]] = None if "..." in span or prev is None else prev | keys
    return table


def check_events(root, step):
    """Each (event, key) a test waits for, in its exercise's TODO (any
    TODO of the step for a [run] test) or in the README's table."""
    problems = []
    readme = read(os.path.join(root, step, "README.md"))
    table = event_table(readme)
    todos = todo_texts(root, step)
    alltodo = " ".join(todos.values())
    seen = set()
    for f, tag, name, body in bats_tests(root, step):
        todo = todos.get(tag, alltodo)
        for s in quoted(body):
            for event, keys in expected_events(s):
                for key in keys or [None]:
                    if (f, tag, event, key) in seen:
                        continue
                    seen.add((f, tag, event, key))
                    if event in table and (table[event] is None or key is None or key in table[event]):
                        continue
                    if re.search(rf"\b{re.escape(event)}\b", todo) and (key is None or f"{key}=" in todo):
                        continue
                    what = f"'{event} {key}='" if key else f"'{event}'"
                    problems.append(f"{step}/tests/{f}: [{tag}] waits for {what}, which neither "
                                    f"TODO {tag if tag in todos else step[4] + '.*'} nor the README's "
                                    "table of log events names")
    return problems


def strerrors():
    """Every strerror() text: the C library's words, not the learner's."""
    out = set()
    for e in range(1, 134):
        try:
            out.add(os.strerror(e))
        except ValueError:
            pass
    return out


def drop_subshells(line):
    """line without its $(...) command substitutions (nested too)."""
    out, depth, i = [], 0, 0
    while i < len(line):
        if line.startswith("$(", i):
            depth += 1
            i += 2
            continue
        if depth and line[i] == "(":
            depth += 1
        elif depth and line[i] == ")":
            depth -= 1
            i += 1
            continue
        if not depth:
            out.append(line[i])
        i += 1
    return "".join(out)


PROGS = r"(?:d|w|watchdog|client|giving up)"


def message_pieces(s):
    """The literal pieces of two words or more of a test's message string:
    what is left once shell expansions, regex constructs, numbers,
    key=value tokens and the programs' "prog: " prefixes are taken out,
    cut at the punctuation that separates a message's parts."""
    # An expansion and what is glued to it ($NAME-reg) are one word, not text.
    s = re.sub(r"\S*(?:\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*)\S*", "\x00", s)
    s = re.sub(r"\[[^\]]*\][+*?]?|\.\*|\.\+|\([^)]*\|[^)]*\)|[\^$]", "\x00", s)
    s = re.sub(r"\\(.)", r"\1", s)
    s = re.sub(r'[a-z_]+="([^"]*)"', "\x00\\1\x00", s)    # a quoted value is text
    s = re.sub(r"[a-z_]+=\S*", "\x00", s)
    s = re.sub(rf"(?:^|(?<=\x00)|(?<=: ))\s*{PROGS}: ", "\x00", s)
    s = re.sub(r"[0-9]+|: |; |, |[()\"]", "\x00", s)
    pieces = []
    for p in s.split("\x00"):
        p = p.strip(" :;,.[]'")
        if "{" not in p and len([w for w in p.split() if re.search("[A-Za-z]", w)]) >= 2:
            pieces.append(p)
    return pieces


def named(piece, given):
    """Is piece in the given text? A protocol line's framing ("error busy
    ...", "requetetype1 busy ...": PROTOCOL.md) may come before it, and
    a "." of the test's regex stands for any character."""
    m = re.match(r"(?:error|requetetype\d?) [a-z]+ (.*)", piece)
    for text in [piece] + ([m.group(1)] if m and len(m.group(1).split()) >= 2 else []):
        if re.search(re.escape(text).replace(r"\.", "."), given):
            return True
    return False


def given_text(root, step):
    """What the learner is given to read: the skeleton (code and TODO
    comments), the common library, the step's README and protocol."""
    parts = []
    for d in (os.path.join(root, step, "src"), os.path.join(root, "common")):
        for dirpath, _, files in os.walk(d):
            for f in files:
                if f.endswith((".c", ".h")):
                    parts.append(read(os.path.join(dirpath, f)))
    for f in ("README.md", "PROTOCOL.md"):
        path = os.path.join(root, step, f)
        if os.path.exists(path):
            parts.append(read(path))
    text = "\n".join(parts)
    text = re.sub(r"\s*\n\s*\*?\s*", " ", text)             # comments' line breaks
    return re.sub(r'"\s*"', "", text)                          # "joined " "literals"


ASSERTING = re.compile(r"assert_|refute_|wait_log|log_count|log_time")


def check_messages(root, step):
    """Each literal piece of a message a test asserts, in what the learner
    is given (or sent by the test itself, and echoed back)."""
    problems = []
    given = given_text(root, step)
    known = strerrors()
    events = event_table(read(os.path.join(root, step, "README.md")))
    seen = set()
    for f, tag, name, body in bats_tests(root, step):
        lines = body.splitlines()
        # What the test itself sends: echoed back, it is not the code's.
        sent = "\n".join(x for x in lines if not ASSERTING.search(x))
        for line in lines:
            if not ASSERTING.search(line):
                continue
            line = re.sub(r"(?:\|\||^)\s*fail\b.*", "", drop_subshells(line))   # the test's own words
            for s in quoted(line):
                for piece in message_pieces(s):
                    if (piece in known or piece in seen or piece in sent
                            or named(piece, given)
                            or all(w in events for w in piece.split())):
                        continue
                    seen.add(piece)
                    problems.append(f"{step}/tests/{f}: [{tag}] expects the text '{piece}', "
                                    "which neither the skeleton (code or TODO), nor the README, "
                                    "nor the common library contains")
    return problems


def check_exit_codes(root, step):
    """An exit code a test expects, other than 0, 1 and 2 (the kit's
    conventions), must be named with "exit" (or a child_fatal() call) in
    what the learner is given."""
    problems, given, seen = [], given_text(root, step), set()
    for f, tag, name, body in bats_tests(root, step):
        codes = re.findall(r"assert_failure (\d+)|run -(\d+)|\"\$status\" (\d+)|exited with code (\d+)", body)
        for code in {c for t in codes for c in t if c} - {"0", "1", "2"} - seen:
            seen.add(code)
            if not re.search(rf"(exit|fatal)[^.\n]{{0,20}}\b{code}\b", given):
                problems.append(f"{step}/tests/{f}: [{tag}] expects exit code {code}, which "
                                "neither the skeleton (code or TODO) nor the README names")
    return problems


def check_events_and_messages(root, step):
    return check_events(root, step) + check_messages(root, step) + check_exit_codes(root, step)


# ---------------------------------------------------------------- fragments

C_KEYWORDS = set("""auto break case char const continue default do double else enum extern
float for goto if inline int long register restrict return short signed sizeof static
struct switch typedef union unsigned void volatile while _Bool""".split())


def hint_texts(root, step):
    """{exercise: [hint texts]}: README level 1 and hints.md's levels."""
    out = {}
    for path in (os.path.join(root, step, "README.md"), os.path.join(root, step, "hints.md")):
        if not os.path.exists(path):
            continue
        ex = None
        for line in read(path).splitlines():
            if line.startswith("#"):
                m = re.match(r"^#### (\d+\.\d+)\s*$", line)
                ex = m.group(1) if m else None
                continue
            if ex and line.strip():
                out.setdefault(ex, []).append(line)
    return out


def fragment_kind(span):
    """"c" for a fragment to compile, "ids" for one whose identifiers are
    checked only (elided with ... or a bare name), None for no C at all
    (a log line, a protocol line, a command)."""
    if re.match(r"^[a-z][a-z0-9-]* [a-z_]+=", span) or re.search(r"\b[a-z_]+=[^ =]", span):
        return None                                 # a log line
    if re.search(r"<[a-z ]+>", span) or span.startswith(("make ", "-", "./", "build/")):
        return None                                 # protocol, command, option
    if not re.search(r"[A-Za-z_]", span):
        return None
    if "..." in span or "\u2026" in span:
        return "ids"
    if re.fullmatch(r"[a-z]+", span):
        return None                                 # a word: w, ok, ...
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\(\)|\[\])?", span):
        return "ids"
    if len(span.split()) >= 3 and not re.search(r"[()\[\];=&|]|->", span):
        return None                                 # a message
    if (span.count("(") != span.count(")") or span.count("{") != span.count("}")
            or span.count('"') % 2):
        return "ids"
    if re.search(r"[()\[\];&|]|->|\.[a-z_]| = ", span):
        return "c"
    return "ids"


def cc_base(root, step):
    return ["cc", "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-w", "-fmax-errors=0",
            "-I" + os.path.join(root, "solutions", step, "src"),
            "-I" + os.path.join(root, "common")]


def known_identifiers(root, step, src):
    """Every identifier the reference file src can see: its own, its
    headers' (libc and the kit's), and every macro defined there."""
    pre = subprocess.run(cc_base(root, step) + ["-I" + os.path.dirname(src), "-E", "-dD", src],
                         capture_output=True, text=True)
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", pre.stdout))


def as_statement(span):
    """A fragment as a C statement."""
    if span.rstrip().endswith((";", "}")):
        return span
    if re.match(r"(while|if|for|return|do|char|int|unsigned|long|double|struct|const)\b", span):
        return span + ";"
    return f"(void)({span});"


def check_fragments(root, step):
    """Hint fragments compiled in their exercise's blocks, and their
    identifiers looked up in the exercise's files and headers."""
    problems = []
    spans = {}                                      # exercise -> [(span, kind)]
    for ex, texts in hint_texts(root, step).items():
        for text in texts:
            for span in re.findall(r"`([^`]+)`", text):
                kind = fragment_kind(span)
                if kind and (span, kind) not in spans.get(ex, []):
                    spans.setdefault(ex, []).append((span, kind))
    srcdir = os.path.join(root, "solutions", step, "src")
    files = sorted(os.path.relpath(os.path.join(d, f), srcdir)      # examples/ too
                   for d, _, names in os.walk(srcdir) for f in names if f.endswith(".c"))
    blocks = {f: re.findall(r"/\* BEGIN SOLUTION (\d+\.\d+) \*/", read(os.path.join(srcdir, f)))
              for f in files}
    ids, failed, tried = {}, {}, {}
    for fname in files:
        src = os.path.join(srcdir, fname)
        exs = set(blocks[fname]) & set(spans)
        if not exs:
            continue
        ids[fname] = known_identifiers(root, step, src)
        # Every "c" fragment goes at the end of each block of its
        # exercise, inside "if (0) { }": the block's variables are there.
        out, at, current = [], {}, None
        for line in read(src).split("\n"):
            m = re.search(r"/\* BEGIN SOLUTION (\d+\.\d+) \*/", line)
            if m:
                current = m.group(1)
            if "/* END SOLUTION */" in line and current:
                for span, kind in spans.get(current, []):
                    if kind == "c":
                        out.append("\tif (0) { " + as_statement(span) + " }")
                        at[len(out)] = (current, span)
                        tried[(current, span)] = tried.get((current, span), 0) + 1
                current = None
            out.append(line)
        if not at:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            test = os.path.join(tmp, os.path.basename(fname))
            with open(test, "w", encoding="utf-8") as f:
                f.write("\n".join(out))
            r = subprocess.run(cc_base(root, step) + ["-I" + os.path.dirname(src), "-fsyntax-only", test],
                               capture_output=True, text=True)
        bad_lines = {}
        for m in re.finditer(rf"^{re.escape(test)}:(\d+):\d+: error: (.*)$", r.stderr, re.M):
            bad_lines.setdefault(int(m.group(1)), f"{fname}: {m.group(2)}")
        for n, key in at.items():
            if n in bad_lines:
                failed.setdefault(key, []).append(bad_lines[n])
    # A fragment must compile in one block of its exercise at least.
    for key, whys in failed.items():
        if len(whys) == tried[key]:
            ex, span = key
            problems.append(f"{step} hint {ex}: `{span}` does not compile in exercise "
                            f"{ex}'s code: {whys[0]}")
    # Every identifier must exist in one of the exercise's files.
    for ex, lst in spans.items():
        seen = set().union(*[ids[f] for f in ids if ex in blocks[f]] or [set()])
        if not seen:
            problems.append(f"{step} hint {ex}: no solution block for exercise {ex}")
            continue
        for span, kind in lst:
            names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", re.sub(r'"[^"]*"', "", span))
            unknown = sorted({i for i in names if i not in seen and i not in C_KEYWORDS})
            if unknown:
                problems.append(f"{step} hint {ex}: `{span}` names {', '.join(unknown)}, "
                                "which the exercise's files and their headers do not define")
    return problems


CHECKS = {"questions": check_questions, "hints": check_hints, "events": check_events_and_messages,
          "fragments": check_fragments}


def main(argv):
    root, wanted, steps = ROOT, [], []
    args = iter(argv[1:])
    for a in args:
        if a == "--root":
            root = next(args)
        elif a.startswith("--") and a[2:] in CHECKS:
            wanted.append(a[2:])
        elif a.startswith("-"):
            sys.stderr.write(__doc__)
            return 2
        else:
            steps.append(a.rstrip("/"))
    if not steps:
        sys.stderr.write(__doc__)
        return 2
    bad = 0
    for name in wanted or list(CHECKS):
        problems = []
        for step in steps:
            problems += CHECKS[name](root, step)
        for p in problems:
            print(f"{name}: {p}")
        if not problems:
            print(f"ok {name}: {' '.join(steps)}")
        bad += len(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
