"""results.py - turn one suite's TAP stream into trusted test results.

The stream is read with the kit's own reader (scripts/tapsum.py parse())
and then checked against the tests the instructor's copy of the suite
defines, in order. The rules, and why:

  - every expected test must be reported exactly once, with its number;
    one that never is (a crash, a hang, an exit() in the middle) fails;
  - a result line that names no expected test, a second line for the same
    test, a line out of order, or a second plan is something the
    producer (cmocka, bats) never writes: text put there by the learner's
    code. The whole suite then fails ("tampered"), so that printing fake
    results can never raise a grade, even by accident;
  - "not ok 0" (cmocka's failed group setup) is a failure, not tampering;
  - a skipped test neither gains nor loses points (the kit only skips a
    test the machine cannot run).
"""
import re

DIRECTIVE = re.compile(r"\s+#\s*(timeout after \d+s|TODO\b.*|skip\b.*)$", re.I)


class TestResult:
    def __init__(self, name, suite, status, diag=None):
        self.name = name
        self.suite = suite          # "test_shm_area" or "step1.bats"
        self.status = status        # "pass", "fail" or "skip"
        self.diag = diag or []      # the producer's "# ..." lines
        self.notes = []             # what the grader adds (why it failed)
        self.logs = {}              # process -> its last log lines
        self.deaths = []            # "w was killed by SIGSEGV"
        self.killed = 0             # the signal that ended a unit test's process
        self.number = 0

    def as_dict(self):
        return {"name": self.name, "suite": self.suite, "status": self.status,
                "diag": self.diag, "notes": self.notes, "logs": self.logs,
                "deaths": self.deaths}


def check_stream(tapsum, text, suite, expected, ordered=True):
    """Return (results, anomalies): one TestResult per expected name, in
    order, and the lines that prove the stream was written into."""
    parsed = tapsum.parse(text, suite)
    plans = [l for l in text.splitlines() if tapsum.PLAN.match(l)]
    real = [t for t in parsed if not (t.num is None and t.name.startswith("("))]
    index = {name: i for i, name in enumerate(expected)}
    anomalies = []
    if len(plans) > 1:
        anomalies.append(f"{len(plans)} plan lines ({', '.join(plans[:3])})")
    if plans and plans[0].strip() != f"1..{len(expected)}" and len(plans) == 1:
        anomalies.append(f"plan {plans[0].strip()!r}, the suite has {len(expected)} tests")
    got = {}
    setup_failures = []
    last = -1
    for t in real:
        if t.num == "0" and t.status == "fail":
            setup_failures.append(t)
            continue
        name = t.name
        if name not in index:
            m = DIRECTIVE.search(name)
            if m and name[:m.start()] in index:
                t.diag.insert(0, "# " + m.group(1))
                name = name[:m.start()]
        if name not in index:
            anomalies.append(f"a result for no test of this suite: {t.status} {t.num} {t.name[:80]!r}")
            continue
        i = index[name]
        if name in got:
            anomalies.append(f"test {name!r} reported twice")
            continue
        if t.num is not None and t.num != str(i + 1):
            anomalies.append(f"test {name!r} reported as number {t.num}, it is {i + 1}")
            continue
        if ordered and i < last:
            anomalies.append(f"test {name!r} reported out of order")
            continue
        last = max(last, i)
        got[name] = t
    results = []
    for i, name in enumerate(expected):
        t = got.get(name)
        if t is None:
            r = TestResult(name, suite, "fail")
            r.notes.append("never reported: the test program crashed, hung, was killed "
                           "or exited before this test ran")
            for s in setup_failures:
                r.diag += [f"# {s.name}"] + s.diag
        else:
            # cmocka's closing "# not ok - GROUP" is not this test's.
            r = TestResult(name, suite, t.status,
                           [d for d in t.diag if not re.match(r"^#\s*(not )?ok - ", d)])
        r.number = i + 1
        results.append(r)
    if anomalies:
        distrust(results)
    return results, anomalies


def fail_all(expected, suite, note, diag=()):
    out = []
    for i, name in enumerate(expected):
        r = TestResult(name, suite, "fail", list(diag))
        r.notes.append(note)
        r.number = i + 1
        out.append(r)
    return out


def stray_output(text):
    """Lines on the results channel that are neither TAP nor comments:
    what the learner's code printed on stdout during the unit tests."""
    return [l for l in text.splitlines()
            if l.strip() and not re.match(r"^(ok|not ok|1\.\.\d+|#)", l)][:20]


MARKER = re.compile(r"^# osps-test (\d+)$")


def check_unit(tapsum, text, verdict_text, secret, suite, expected):
    """Results of a unit test program run test by test (unit_shim.c):
    the verdicts come from the verdict pipe, written by a process that ran
    no test and signed with the run's secret; the program's output only
    gives each test's messages. Returns (results, anomalies): a verdict
    line without the secret, or an output that claims a pass the verdict
    denies, or result lines for other tests, make the suite untrusted."""
    anomalies = []
    verdicts, killed = {}, {}
    for line in verdict_text.splitlines():
        parts, sig = line.split(), 0
        # "SECRET N fail SIG": a signal ended that test's process.
        if len(parts) == 4 and parts[2] == "fail" and parts[3].isdigit():
            parts, sig = parts[:3], int(parts[3])
        if len(parts) == 3 and parts[0] == secret and parts[1].isdigit() and \
                parts[2] in ("pass", "fail") and int(parts[1]) not in verdicts:
            verdicts[int(parts[1])] = parts[2]
            killed[int(parts[1])] = sig
        else:
            anomalies.append(f"a verdict line not written by the grader's harness: {line[:80]!r}")
    chunks, current = {}, None
    for line in text.splitlines():
        m = MARKER.match(line)
        if m:
            current = int(m.group(1))
            chunks.setdefault(current, [])
        elif current is not None:
            chunks[current].append(line)
    results = []
    for i, name in enumerate(expected, 1):
        rs, an = check_stream(tapsum, "\n".join(chunks.get(i, [])) + "\n", suite, [name])
        r = rs[0]
        anomalies += an
        said = r.status
        r.status = verdicts.get(i, "fail")
        r.killed = killed.get(i, 0) if r.status == "fail" else 0
        if i not in verdicts:
            r.notes = ["never reported: the test program crashed, hung, was killed "
                       "or exited before this test ran"]
        elif r.status == "fail" and said == "pass":
            anomalies.append(f"test {name!r} printed a passing result but did not pass "
                             "(its process ended before the test's own checks were done)")
        elif r.status == "pass":
            r.notes = []
            if said == "skip":
                r.status = "skip"
        r.number = i
        results.append(r)
    if anomalies:
        distrust(results)
    return results, anomalies


def distrust(results):
    """Fail every result of a stream that held forged lines, saying why."""
    for r in results:
        r.status = "fail"
        r.notes.insert(0, "results not trusted: the test output holds lines its test "
                          "program never writes (see the integrity section)")
