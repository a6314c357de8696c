#!/usr/bin/env python3
"""tapsum.py - read TAP results (cmocka, bats, the kit's own checks) and
print the failures and one summary line: "N passed, N failed[, N skipped]".

Usage: tapsum.py [--quiet] FILE.tap...
Exit status: 0 when nothing failed, 1 otherwise.

Both producers' dialects are read: cmocka's "ok 1 - name", "not ok 5 # SKIP
name", "not ok 0 ... GROUP SETUP"; bats' "ok 1 name", "ok 7 name # skip
reason", "not ok 6 name # timeout after 2s". A test that a plan announced
but that never reported (the program crashed or called exit midway) counts
as failed, and so does a file with no result at all.

The grader imports parse() from here: one TAP reader for the whole kit.
"""
import re
import sys

PLAN = re.compile(r"^1\.\.(\d+)")
RESULT = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*(?:-\s+)?(.*)$")
SKIP = re.compile(r"#\s*skip\b", re.IGNORECASE)


class Test:
    def __init__(self, suite, name, status):
        self.suite = suite      # the TAP file's stem, e.g. "unit_test_io"
        self.name = name        # the test's name as the producer printed it
        self.status = status    # "pass", "fail" or "skip"
        self.diag = []          # the "# ..." lines that followed it
        self.num = None         # its number in the stream ("0": a setup failure)

    def __repr__(self):
        return f"Test({self.suite!r}, {self.name!r}, {self.status!r})"


def parse(text, suite):
    """Return the list of Tests in one TAP stream, counting missing ones."""
    tests, planned, last = [], 0, None
    for line in text.splitlines():
        m = PLAN.match(line)
        if m:
            planned += int(m.group(1))
            continue
        m = RESULT.match(line)
        if m:
            ok, num, rest = m.groups()
            if SKIP.search(rest):
                status = "skip"
                rest = SKIP.split(rest)[0].strip() or SKIP.split(rest)[-1].strip()
            elif ok == "ok":
                status = "pass"
            else:
                status = "fail"
            last = Test(suite, rest.strip(), status)
            last.num = num
            tests.append(last)
            continue
        if line.startswith("#") and last is not None and last.status == "fail":
            last.diag.append(line)
    # cmocka reports a failed group setup as "not ok 0": a failure, but not
    # one of the planned tests.
    counted = [t for t in tests if t.num != "0"]
    missing = planned - len(counted)
    for i in range(missing):
        tests.append(Test(suite, f"(planned test {len(counted) + i + 1} never reported)", "fail"))
    if not tests:
        tests.append(Test(suite, "(no test result at all: the suite did not run)", "fail"))
    return tests


def suite_name(path):
    name = path.rsplit("/", 1)[-1]
    return name[:-4] if name.endswith(".tap") else name


def main(argv):
    quiet = "--quiet" in argv
    files = [a for a in argv[1:] if a != "--quiet"]
    tests = []
    for path in files:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                tests += parse(f.read(), suite_name(path))
        except OSError as e:
            tests.append(Test(suite_name(path), f"(cannot read results: {e})", "fail"))
    failed = [t for t in tests if t.status == "fail"]
    if failed and not quiet:
        print("\nFailed tests:")
        for t in failed:
            print(f"  FAIL {t.suite}: {t.name}")
            # The start says what failed; the end of a process test's
            # report holds the program's last log lines, its error.
            diag = t.diag if len(t.diag) <= 16 else \
                t.diag[:8] + [f"# ... ({len(t.diag) - 16} lines left out)"] + t.diag[-8:]
            for d in diag:
                print(f"       {d}")
    npass = sum(t.status == "pass" for t in tests)
    nskip = sum(t.status == "skip" for t in tests)
    line = f"{npass} passed, {len(failed)} failed"
    if nskip:
        line += f", {nskip} skipped"
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
