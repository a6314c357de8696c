#!/usr/bin/env python3
"""run.py - run the grader's own tests (unittest, standard library only)
and print TAP, so that `make test` counts them with the kit's other
results: `make test-grader` (RESULTS=DIR also writes DIR/grader.tap).

Usage: run.py [--tap FILE] [unittest name patterns (-k)]...
"""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)


class TapResult(unittest.TestResult):
    def __init__(self, out):
        super().__init__()
        self.out = out
        self.n = 0

    def emit(self, line):
        for f in self.out:
            f.write(line + "\n")
            f.flush()

    def startTest(self, test):
        super().startTest(test)
        self.t0 = time.monotonic()

    def name(self, test):
        return f"grader: {test.id().split('.', 1)[-1]}"

    def addSuccess(self, test):
        self.n += 1
        self.emit(f"ok {self.n} {self.name(test)} ({time.monotonic() - self.t0:.1f} s)")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.fail_line(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self.fail_line(test, err)

    def fail_line(self, test, err):
        self.n += 1
        self.emit(f"not ok {self.n} {self.name(test)}")
        for line in self._exc_info_to_string(err, test).splitlines()[-25:]:
            self.emit(f"# {line}")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.n += 1
        self.emit(f"ok {self.n} {self.name(test)} # skip {reason}")


def main(argv):
    tap = None
    if len(argv) > 2 and argv[1] == "--tap":
        tap = argv[2]
        argv = argv[:1] + argv[3:]
    loader = unittest.TestLoader()
    if len(argv) > 1:
        loader.testNamePatterns = [f"*{p}*" for p in argv[1:]]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    outs = [sys.stdout]
    if tap:
        outs.append(open(tap, "w"))
    result = TapResult(outs)
    result.emit(f"1..{suite.countTestCases()}")
    start = time.monotonic()
    suite.run(result)
    result.emit(f"# grader tests: {result.testsRun} run in {time.monotonic() - start:.0f} s")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
