"""runner.py - grade one submission: build each step, run its tests, look
for what it left behind.

The tests run as scripts/run-tests.sh runs them (same environment: KIT_ROOT,
BIN, TIMEOUT_SCALE, BATS_TEST_TIMEOUT, CMOCKA_MESSAGE_OUTPUT=TAP, one bats
file per call, tests/bats-jobs, "timing" tests left out under valgrind, the
same valgrind options), with three differences a grader needs: every
command runs in the jail (limits, its own user, everything killed at the
end); results are read from a pipe, never from a file the learner's code
could rewrite, and checked against the instructor's test list
(results.py); bats keeps each test's directory so that the report can show
the programs' last log lines.
"""
import hashlib
import os
import re
import shutil
import signal
import stat
import time

from . import checks, feedback
from .results import TestResult, check_stream, check_unit, fail_all, stray_output

RESULT_LINE = re.compile(r"^(not )?ok \d")
WARNING = re.compile(r"^(.*?):(\d+):(?:(\d+):)? warning: (.*)$")
ERROR = re.compile(r"^(.*?):(\d+):(?:(\d+):)? (?:fatal )?error: (.*)$|undefined reference to|ld returned")
LOGLINE = re.compile(r"^\s*[\d.]+\s+([\w.-]+)\[(\d+)\]\s")
FATAL = re.compile(r"^([\w.-]+): ")
VG_CMD = ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite", "--track-fds=yes"]


# Signals a resource limit ends a process with (RLIMIT_CPU, memory, pids).
LIMIT_SIGNALS = (signal.SIGXCPU, signal.SIGKILL)


def signame(n):
    try:
        return signal.Signals(n).name
    except ValueError:
        return f"signal {n}"


class Context:
    """What every submission of a run shares."""

    def __init__(self, kit, steps, options, kit_copy, work_root):
        self.kit = kit                  # the instructor's Kit (its readers)
        self.steps = steps
        self.o = options
        self.kit_copy = kit_copy        # the pristine copy the tests run from
        self.work_root = work_root


def copy_kit(kit_root, dest):
    """A pristine, read-only copy of the kit (no build/, .git, solutions/,
    grader/): what every submission is built and tested against. It also
    protects a run from edits made to the kit while it goes on."""
    shutil.copytree(kit_root, dest, symlinks=True, ignore=shutil.ignore_patterns(
        "build", ".git", "solutions", "grader", "__pycache__", "*.tmp", "*.pyc"))
    for dirpath, dirnames, filenames in os.walk(dest):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                os.chmod(p, 0o755 if os.access(p, os.X_OK) else 0o644)
    os.chmod(dest, 0o755)
    return dest


class SubmissionRun:
    def __init__(self, sub, ctx, box):
        self.sub = sub
        self.ctx = ctx
        self.o = ctx.o
        self.box = box
        self.work = os.path.join(ctx.work_root, work_name(sub.id))
        self.start = time.monotonic()
        self.deadline = self.start + self.o.submission_timeout
        self.result = {"id": sub.id, "steps": {}, "integrity": [], "notes": list(sub.notes),
                       "time_limit_hit": False}
        self.cpu_used = 0.0     # CPU seconds of the step's commands so far (limits.cpu_total)

    # -- setup ------------------------------------------------------------

    def setup(self):
        os.makedirs(self.work)
        if self.box.uid is not None:
            os.chown(self.work, 0, self.box.uid)
            os.chmod(self.work, 0o750)
        self.private = os.path.join(self.work, "grader")     # the grader's own files
        os.makedirs(self.private, mode=0o700)
        for d in ("home", "run", "tmp"):
            self.box.own(os.path.join(self.work, d))
        # The grader's: each step's build directory is lent to the
        # sandbox while it builds (any slot may retry it later).
        os.makedirs(os.path.join(self.work, "build"), mode=0o755)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "dumb", "NO_COLOR": "1",
            "HOME": os.path.join(self.work, "home"),
            "XDG_RUNTIME_DIR": os.path.join(self.work, "run"),
            "TMPDIR": os.path.join(self.work, "tmp"),
            "KIT_ROOT": self.ctx.kit_copy,
            "TIMEOUT_SCALE": f"{self.o.timeout_scale:g}",
            "OSPS_GRADE_TAG": f"osps-grade-{os.getpid()}-{os.path.basename(self.work)}",
        }
        self.snapshot = set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()
        self.snapshot = {os.path.join("/dev/shm", n) for n in self.snapshot}

    def src_dir(self, step):
        """The step's sources: the skeleton, with the learner's files over it."""
        d = os.path.join(self.work, "src", step.dir)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        # The whole skeleton (its subdirectories too: step 4's examples/
        # are given programs, built and tested like the rest).
        shutil.copytree(os.path.join(self.ctx.kit_copy, step.dir, "src"), d, symlinks=False)
        for name, data in self.sub.files.get(step.dir, {}).items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        for dirpath, _, files in os.walk(os.path.join(self.work, "src")):
            os.chmod(dirpath, 0o755)
            for f in files:
                os.chmod(os.path.join(dirpath, f), 0o644)
        return d

    def remaining(self):
        return self.deadline - time.monotonic()

    def mounts(self, building=None):
        """What the sandbox sees of the host, besides the system (read-only):
        the pristine kit and the submission's sources and builds, read-only,
        and its own home, run and temporary directories. building: the
        one build directory it may write (the build of a step)."""
        m = [("ro", self.ctx.kit_copy), ("ro", os.path.join(self.work, "src")),
             ("ro", os.path.join(self.work, "build"))]
        if building:
            m.append(("rw", building))
        return m + [("rw", os.path.join(self.work, d)) for d in ("home", "run", "tmp")]

    def run(self, argv, name, timeout, cwd=None, env=None, merge=False, valgrind=False, watch=(),
            building=None, pass_fds=()):
        timeout = min(timeout, max(self.remaining(), 0.1))
        # Under valgrind, programs need ten times the CPU (as per process).
        cpu_total = self.o.limits.cpu_total * (10 if valgrind else 1)
        res = self.box.run(
            argv, env or self.env, cwd or self.ctx.kit_copy,
            report=os.path.join(self.private, f"{name}.jail.json"),
            stderr_path=None if merge else os.path.join(self.private, f"{name}.stderr"),
            merge_stderr=merge, timeout=timeout, valgrind=valgrind,
            watch=list(watch) + [os.path.join(self.work, d) for d in ("tmp", "home", "run")],
            mounts=self.mounts(building), pass_fds=pass_fds,
            cpu_total=cpu_total, cpu_before=self.cpu_used)
        self.cpu_used += res.cpu or 0.0
        if res.timed_out and self.remaining() <= 0.2:
            self.result["time_limit_hit"] = True
        for f in res.private_files:
            self.found.append({"kind": private_kind(f), "what": f["path"],
                               "where": f"left in the sandbox by {name.split('.', 1)[-1]}"})
        return res

    def stderr_tail(self, name, lines=15):
        return tail_lines(os.path.join(self.private, f"{name}.stderr"), lines)

    # -- the whole submission ---------------------------------------------

    def grade(self):
        self.setup()
        self.result["isolation"] = "sandbox" if self.box.sandboxed else "jail only"
        if self.o.stress:
            self.result["stress"] = {"seed": self.o.stress_seed}
        for step in self.ctx.steps:
            self.result["steps"][step.dir] = self.grade_step(step)
        self.result["elapsed"] = round(time.monotonic() - self.start, 2)
        return self.result

    def cleanup(self):
        self.box.kill_all()
        self.box.sweep_files(since=None)
        if not self.o.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    # -- one step ---------------------------------------------------------

    def grade_step(self, step):
        sr = {"n": step.n, "dir": step.dir, "build": {}, "suites": [], "findings": [],
              "leftovers": [], "valgrind": None, "notes": []}
        self.found = sr["leftovers"]
        self.cpu_used = 0.0
        if self.remaining() <= 0:
            sr["build"] = {"ok": False, "warnings": [], "errors": ["not built: the submission's time limit was reached"]}
            for suite in step.suites:
                sr["suites"].append(self.not_run(suite, "not run: the submission's time limit was reached"))
            return sr
        src = self.src_dir(step)
        out = os.path.join(self.work, "build", step.dir)
        self.box.own(out, private=False)
        files = self.sub.files.get(step.dir, {})
        sr["findings"] = [f.as_dict() for f in self.static_checks(step, files, src)]
        build = self.build(step, src, out)
        sr["build"] = build
        self.box.seal(out)
        # The learner's objects linked into unit tests, checked once built.
        objs = {}
        for suite in step.suites:
            if suite.kind == "unit":
                for o in step.unit_objs_from_src(suite):
                    name = o[:-2] + ".c"
                    if name in files:
                        objs[name] = os.path.join(out, "obj", o)
        sr["findings"] += [f.as_dict() for f in checks.scan_objects(step, objs)]
        untrusted = [f for f in sr["findings"] if f["kind"] == "untrusted"]
        for f in sr["findings"]:
            if f["kind"] == "warning":
                build["warnings"].append(f"{f['file']}:{f['line']}: {f['message']}")
        for suite in step.suites:
            if self.remaining() <= 0:
                sr["suites"].append(self.not_run(suite, "not run: the submission's time limit was reached"))
                continue
            before = len(sr["leftovers"])
            if suite.kind == "unit":
                if untrusted:
                    sr["suites"].append(self.not_run(
                        suite, "not run: the learner's code could alter this test program "
                               "(see the integrity section)"))
                    continue
                sr["suites"].append(self.unit_suite(step, suite, out))
            else:
                sr["suites"].append(self.bats_suite(step, suite, out))
            for p in sr["suites"][-1].get("escaped", []):
                sr["leftovers"].insert(before, {"kind": "process", "what": p["cmd"],
                                                "where": f"still running after {suite.name}"})
            self.sweep(sr, suite.name)
            last = sr["suites"][-1]
            if last.get("stopped") or last.get("signal") or last.get("limit_killed"):
                # The grader (a time limit) or a resource limit stopped these
                # tests midway (the whole program, or one unit test's process
                # killed by the CPU time limit's SIGXCPU or a SIGKILL), so they
                # could not clean up: what they leave is cleaned and listed,
                # not held against the submission.
                for l in sr["leftovers"][before:]:
                    l["excused"] = "the tests were stopped midway"
        if self.o.valgrind and not untrusted and self.remaining() > 0:
            sr["valgrind"] = self.valgrind(step, out)
        # Whatever is still there belongs to nobody: stop it and count it.
        for p in self.box.kill_all():
            sr["leftovers"].append({"kind": "process", "what": p["cmd"], "where": "after the tests"})
        self.sweep(sr, "after the tests")
        sr["cpu_seconds"] = round(self.cpu_used, 1)
        return sr

    def sweep(self, sr, where):
        """Count and remove what the submission left in shared places
        (/dev/shm, /tmp, ...) and FIFOs or sockets in its home and default
        run directory."""
        for kind, path in self.box.sweep_files(since=self.start_time_epoch(), claimed=self.snapshot):
            sr["leftovers"].append({"kind": kind, "what": path, "where": where})
        self.snapshot |= set(os.path.join("/dev/shm", n) for n in os.listdir("/dev/shm")) \
            if os.path.isdir("/dev/shm") else set()
        for kind, path in special_files_outside_tests(self.work):
            sr["leftovers"].append({"kind": kind, "what": os.path.relpath(path, self.work), "where": where})
            os.unlink(path)

    def start_time_epoch(self):
        return time.time() - (time.monotonic() - self.start)

    def not_run(self, suite, note):
        return {"kind": suite.kind, "name": suite.name, "source": suite.source,
                "tests": [t.as_dict() for t in fail_all(suite.expected(), suite.name, note)],
                "anomalies": [], "exit": None, "stopped": None, "elapsed": 0, "stray": []}

    def static_checks(self, step, files, src):
        """checks.scan_sources on what the compiler sees of the learner's
        files, preprocessed in the sandbox (the compiler reads whatever
        they include)."""
        if not checks.changed(step, files, self.ctx.kit_copy):
            return []
        script = checks.preprocess_script(step, files, src, self.ctx.kit_copy)
        res = self.run(["sh", "-c", script], f"{step.dir}.cpp", self.o.build_timeout)
        return checks.scan_sources(step, files, self.ctx.kit_copy, src, res.stdout)

    def build(self, step, src, out):
        argv = ["make", "-k", "-s", "--no-print-directory", "-f", "mk/step.mk",
                f"STEP={step.dir}", f"SRC={src}", f"OUT={out}", "NO_WERROR=1", "V=",
                "all", "unit"]
        res = self.run(argv, f"{step.dir}.build", self.o.build_timeout, merge=True, building=out)
        lines = res.stdout.splitlines()
        warnings = sorted({l for l in lines if WARNING.match(l)}, key=lines.index)
        errors = [l for l in lines if ERROR.search(l)]
        missing = [p for p in step.progs + [s.name for s in step.suites if s.kind == "unit"]
                   if not os.path.exists(os.path.join(out, p))]
        # Paths shown to students are relative to the kit ("step1_shm/src/d.c").
        shown = lambda l: l.replace(src, f"{step.dir}/src").replace(out, f"build/{step.dir}")
        b = {"ok": not missing and not res.timed_out, "warnings": [shown(w) for w in warnings],
             "errors": [shown(e) for e in errors][:40], "missing": missing,
             "log": [shown(l) for l in lines[-60:]], "elapsed": round(res.elapsed, 2)}
        if res.stopped:
            b["errors"].insert(0, f"build {res.stopped}")
        return b

    def suite_record(self, suite, res, results, anomalies, stray=()):
        return {"kind": suite.kind, "name": suite.name, "source": suite.source,
                "tests": [r.as_dict() for r in results], "anomalies": anomalies,
                # unit tests stopped midway by a limit, each in its own process
                "limit_killed": sum(1 for r in results if r.killed in LIMIT_SIGNALS),
                "exit": res.exit, "signal": res.signal, "stopped": res.stopped,
                "elapsed": round(res.elapsed, 2), "stray": list(stray),
                "escaped": [{"pid": p["pid"], "cmd": p["cmd"]} for p in res.leftovers],
                "limits": list(res.limits_hit), "stream": res.stdout[-20000:],
                # every result line, even where the stream's end above has
                # lost them behind the failures' long reports
                "result_lines": [l for l in res.stdout.splitlines() if RESULT_LINE.match(l)]}

    def unit_suite(self, step, suite, out, valgrind_dir=None):
        expected = suite.expected(valgrind=valgrind_dir is not None)
        binary = os.path.join(out, suite.name)
        if not os.path.exists(binary):
            return self.not_run(suite, "not run: the test program did not build (see the build section)")
        label = f"{step.dir}.{suite.name}" + (".vg" if valgrind_dir else "")
        res, results, anomalies = self.run_unit(suite, out, binary, expected, label, valgrind_dir)
        return self.suite_record(suite, res, results, anomalies, stray_output(res.stdout))

    def run_unit(self, suite, out, binary, expected, label, valgrind_dir):
        env = dict(self.env, CMOCKA_MESSAGE_OUTPUT="TAP", BIN=out)
        argv = [binary]
        tools = self.box.tools
        shim = tools is not None and not valgrind_dir
        if valgrind_dir:
            argv = VG_CMD + [f"--log-file={valgrind_dir}/vg.%p.log", binary]
        # Line-buffered stdout: a test that hangs or kills the program
        # loses its own result, not those of the tests before it (a pipe
        # is block-buffered, and a killed program never flushes).
        if shutil.which("stdbuf"):
            argv = ["stdbuf", "-oL"] + argv
        fds, secret, verdict_r = (), None, None
        if shim:
            # Each test in a child, its verdict on a pipe of ours, signed
            # with a secret the learner's code never sees (unit_shim.c).
            secret = os.urandom(16).hex()
            sr, sw = os.pipe()
            os.write(sw, secret.encode() + b"\n")
            os.close(sw)
            verdict_r, vw = os.pipe()
            fds = ((high_fd(sr), 7), (high_fd(vw), 8))
            env.update(OSPS_SECRET_FD="7", OSPS_VERDICT_FD="8")
            # Preloaded in the test program only (env, inside the sandbox).
            argv = ["env", f"LD_PRELOAD={self.box.shim_path()}"] + argv
        try:
            res = self.run(argv, label, self.o.unit_timeout * self.o.timeout_scale *
                           (10 if valgrind_dir else 1), cwd=self.env["TMPDIR"],
                           env=env, valgrind=bool(valgrind_dir), pass_fds=fds)
        finally:
            for fd, _ in fds:
                os.close(fd)
        if shim:
            verdicts = read_all(verdict_r)
            results, anomalies = check_unit(self.ctx.kit.tapsum, res.stdout, verdicts, secret,
                                            suite.name, expected)
        else:
            results, anomalies = check_stream(self.ctx.kit.tapsum, res.stdout, suite.name, expected)
        anomalies += self.abnormal_end(res, "the test program", split=shim)
        if res.flood:
            anomalies.append("more output than the grader reads (4 MiB): the rest was dropped")
        err = self.stderr_tail(label)
        for r in results:
            if r.killed:
                r.deaths.append(f"the test's process was killed by {signame(r.killed)}")
            if r.status == "fail":
                if res.stopped:
                    r.notes.append(f"stopped by the grader: {res.stopped}")
                elif res.signal:
                    r.deaths.append(f"{suite.name} was killed by {signame(res.signal)}")
                r.notes += res.limits_hit
                for d in r.diag:
                    m = re.search(r"exception: (.*?)\((\d+)\)", d)
                    if m:
                        r.deaths.append(f"the test crashed in the code under test: "
                                        f"{signame(int(m.group(2)))} ({m.group(1).strip()})")
                if err:
                    r.logs = {"stderr of the test program": err[-6:]}
        return res, results, anomalies

    def abnormal_end(self, res, what, split=False):
        """Anomalies of a run that did not end as its harness ends: the
        sandbox's supervisor killed from inside, or (bats) the harness
        killed or ended with a status it never uses."""
        out = []
        if res.stopped:
            return out
        if res.supervisor_killed:
            out.append("the sandbox's supervisor never reported (killed from inside, or the "
                       "sandbox could not start): the run cannot be trusted")
        if split and res.signal:
            # Each test runs in a child: the program itself, which runs no
            # test, is killed only by something aimed at it.
            out.append(f"the test program was killed by {signame(res.signal)} between its tests: "
                       "no result of this suite is trusted")
        if what == "bats" and (res.signal or res.exit not in (0, 1)):
            how = f"killed by {signame(res.signal)}" if res.signal else f"exit status {res.exit}"
            out.append(f"bats ended abnormally ({how}): something in the sandbox stopped the "
                       "test harness, so no result of this suite is trusted")
        return out

    # -- retries ------------------------------------------------------------

    def retry_candidates(self):
        """[(step, suite, [test names])]: the failed tests worth running
        again. Only suites with few failures (retry_max_tests) whose run
        went normally; never a test that hit a time limit, never reported
        or was tampered with (those have notes)."""
        if not self.o.retries:
            return []
        out = []
        for step in self.ctx.steps:
            sr = self.result["steps"].get(step.dir)
            if not sr or not sr["build"].get("ok"):
                continue        # a program that did not build fails again
            for suite, rec in zip(step.suites, sr["suites"]):
                if rec.get("anomalies") or rec.get("stopped") or rec.get("signal"):
                    continue
                failed = [t["name"] for t in rec["tests"] if t["status"] == "fail" and not t["notes"]
                          and not any("timeout after" in d for d in t["diag"])
                          and not any("time limit" in d for d in t["deaths"])]
                if failed and len(failed) <= self.o.retry_max_tests:
                    out.append((step, suite, failed))
        return out

    def retry(self, box, candidates):
        """Run the candidates again, once the class is done (the machine is
        quiet then: a timing test that failed under load gets a fair
        second run). A test that passes counts as passed, with a note."""
        self.box = box
        if box.uid is not None:
            os.chown(self.work, 0, box.uid)
        shutil.rmtree(os.path.join(self.work, "tmp"), ignore_errors=True)
        box.own(os.path.join(self.work, "tmp"))
        for d in ("home", "run"):
            box.own_tree(os.path.join(self.work, d))
        self.deadline = time.monotonic() + max(60, self.o.submission_timeout / 4)
        self.cpu_used = 0.0     # the retried tests get a CPU budget of their own
        for n in range(1, int(self.o.retries) + 1):
            for step, suite, names in candidates:
                sr = self.result["steps"][step.dir]
                rec = sr["suites"][step.suites.index(suite)]
                still = [t["name"] for t in rec["tests"] if t["name"] in names and t["status"] == "fail"]
                if not still or self.remaining() <= 0:
                    continue
                out = os.path.join(self.work, "build", step.dir)
                label = f"{step.dir}.{suite.name}.retry{n}"
                self.found = []
                if suite.kind == "unit":
                    res, again, _ = self.run_unit(suite, out, os.path.join(out, suite.name),
                                                  suite.expected(), label, None)
                else:
                    want = [e for e in suite.expected() if e in still]
                    res, again, _ = self.run_bats(step, suite, out, want, label, None, only=want)
                passed = {r.name for r in again if r.status == "pass"}
                for t in rec["tests"]:
                    if t["name"] in still and t["name"] in passed:
                        t["status"] = "pass"
                        t["notes"].append(f"failed on the first run, passed when run again "
                                          f"(retry {n}, after the class); the first failure was:")
                        t["diag"] = t["diag"][:12]
                for p in res.leftovers:
                    sr["leftovers"].append({"kind": "process", "what": p["cmd"],
                                            "where": f"still running after a retry of {suite.name}"})
                sr["leftovers"] += self.found
                self.sweep(sr, f"a retry of {suite.name}")
        return self.result

    def bats_suite(self, step, suite, out, valgrind_dir=None):
        expected = suite.expected(valgrind=valgrind_dir is not None)
        label = f"{step.dir}.{suite.name}" + (".vg" if valgrind_dir else "")
        res, results, anomalies = self.run_bats(step, suite, out, expected, label, valgrind_dir)
        return self.suite_record(suite, res, results, anomalies)

    def run_bats(self, step, suite, out, expected, label, valgrind_dir, only=None):
        tmp = os.path.join(self.work, "tmp", label)
        self.box.own(tmp)
        env = dict(self.env, BIN=out, TMPDIR=tmp,
                   BATS_TEST_TIMEOUT=str(max(1, int(self.o.test_timeout * self.o.timeout_scale))))
        argv = ["bats", "--formatter", "tap", "--no-tempdir-cleanup"]
        if step.bats_jobs > 1 and not only:
            argv += ["--jobs", str(step.bats_jobs)]
        if valgrind_dir:
            scale = self.o.timeout_scale * 10
            env.update(VALGRIND="1", VG_LOGDIR=valgrind_dir, TIMEOUT_SCALE=f"{scale:g}",
                       BATS_TEST_TIMEOUT=str(int(60 * scale)))
            argv += ["--filter-tags", "!timing"]
        elif self.o.stress:
            env.update(STRESS="1", OSPS_STRESS_SEED=str(self.o.stress_seed),
                       OSPS_STRESS_LIB=self.box.stress_path())
        if only:
            argv += ["--filter", "^(" + "|".join(ere_escape(n) for n in only) + ")$"]
        argv.append(os.path.join(self.ctx.kit_copy, suite.source))
        per_test = int(env["BATS_TEST_TIMEOUT"])
        res = self.run(argv, label, per_test * max(1, len(expected)) + 30, env=env,
                       valgrind=bool(valgrind_dir))
        results, anomalies = check_stream(self.ctx.kit.tapsum, res.stdout, suite.name, expected,
                                          ordered=step.bats_jobs == 1 or bool(only))
        anomalies += self.abnormal_end(res, "bats")
        if anomalies:
            for r in results:
                if r.status != "fail":
                    r.status = "fail"
                    r.notes.insert(0, "results not trusted: see the integrity section")
        if res.flood:
            anomalies.append("more output than the grader reads (4 MiB): the rest was dropped")
        runs = [os.path.join(tmp, d) for d in os.listdir(tmp) if d.startswith("bats-run-")] \
            if os.path.isdir(tmp) else []
        for r in results:
            if r.status != "fail":
                continue
            if res.stopped:
                r.notes.append(f"stopped by the grader: {res.stopped}")
            elif res.signal:
                r.notes.append(f"bats was killed by {signame(res.signal)}: a program killed its "
                               "parent, or every process of its user")
            r.notes += res.limits_hit
            r.deaths += deaths_in_diag(r.diag)
            if runs:
                r.logs = test_logs(os.path.join(runs[0], "test", str(r.number)))
                for lines in r.logs.values():
                    r.deaths += deaths_in_log(lines)
            r.deaths = list(dict.fromkeys(r.deaths))
        if not valgrind_dir:
            # FIFOs and sockets a program left in its TMPDIR. The tests' own
            # directories (bats-run-*) are left out: the tests make FIFOs
            # there, and their teardown already fails a test whose run
            # directory is not empty.
            from .sandbox import special_files
            for kind, path in special_files(tmp, skip=("bats-run-",)):
                self.found.append({"kind": kind, "what": os.path.relpath(path, self.work),
                                   "where": suite.name})
            if not self.o.keep:
                shutil.rmtree(tmp, ignore_errors=True)
        return res, results, anomalies

    def valgrind(self, step, out):
        """The step's tests again, every program under valgrind; each
        process whose log shows errors, definite leaks or descriptors left
        open is one finding (vgcheck.py, the kit's own reader)."""
        procs = []
        for suite in step.suites:
            if self.remaining() <= 0:
                break
            if self.o.valgrind == "unit" and suite.kind != "unit":
                continue
            logs = os.path.join(self.work, "tmp", f"vg-{step.dir}-{suite.name}")
            self.box.own(logs)
            if suite.kind == "unit":
                if os.path.exists(os.path.join(out, suite.name)):
                    self.unit_suite(step, suite, out, valgrind_dir=logs)
            else:
                self.bats_suite(step, suite, out, valgrind_dir=logs)
            for name in sorted(os.listdir(logs)):
                if name.startswith("vg.") and name.endswith(".log") and \
                        stat.S_ISREG(os.lstat(os.path.join(logs, name)).st_mode):
                    status, pname, details = self.ctx.kit.vgcheck.check(os.path.join(logs, name))
                    procs.append({"suite": suite.name, "process": pname, "status": status,
                                  "details": feedback.valgrind_details(details)})
            shutil.rmtree(logs, ignore_errors=True)
        return {"processes": procs, "failed": sum(p["status"] == "fail" for p in procs)}


def ere_escape(text):
    """text as a literal in a POSIX extended regular expression (bats --filter)."""
    return re.sub(r"([\\.\[\](){}*+?|^$])", r"\\\1", text)


def open_regular(path):
    """path opened for reading if it is a regular file, never through a
    link: the submission writes in the directories the grader reads its
    logs from (a link to /etc/shadow must not land in a report)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path}: not a regular file")
    return os.fdopen(fd, "rb")


def tail_lines(path, n, limit=65536):
    try:
        with open_regular(path) as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [l for l in data.splitlines() if l.strip()][-n:]


def test_logs(test_dir, per_process=4, processes=8):
    """The last log lines of each process a test started, grouped by
    "prog[pid]" (the kit's log format), from the test's kept directory."""
    groups = {}
    if not os.path.isdir(test_dir):
        return groups
    files = []
    for dirpath, _, names in os.walk(test_dir):
        for n in sorted(names):
            if n.endswith(".log") or n.startswith("separate-stderr"):
                files.append(os.path.join(dirpath, n))
    for path in files:
        for line in tail_lines(path, 200):
            m = LOGLINE.match(line)
            if m:
                key = f"{m.group(1)}[{m.group(2)}]"
            else:
                m = FATAL.match(line)
                key = m.group(1) if m else os.path.basename(path)
            groups.setdefault(key, []).append(line[:300])
    keys = list(groups)[-processes:]
    return {k: groups[k][-per_process:] for k in keys}


def deaths_in_diag(diag):
    out = []
    for d in diag:
        m = re.search(r"\bstatus\s*:\s*(\d+)", d)
        if m:
            n = int(m.group(1))
            if n == 124:
                out.append("a program was stopped by the test's time limit (exit status 124)")
            elif 128 < n < 128 + 65:
                out.append(f"a program was killed by {signame(n - 128)} (exit status {n})")
    return out


def deaths_in_log(lines):
    out = []
    for l in lines:
        m = re.search(r"name=([\w.-]+)\b.*?status=\"killed by (SIG\w+|signal \d+)", l)
        if m:
            out.append(f"{m.group(1)} was killed by {m.group(2)}")
            continue
        m = re.search(r"\b([\w.-]+)\[\d+\].*\bkilled by (SIG\w+)", l)
        if m:
            out.append(f"{m.group(1)} was killed by {m.group(2)}")
    return out


def special_files_outside_tests(work):
    """FIFOs and sockets left in the submission's home and default run
    directory (the tests' own run directories are checked by their
    teardown)."""
    from .sandbox import special_files
    found = []
    for d in ("home", "run"):
        found += special_files(os.path.join(work, d))
    return found


def work_name(sid):
    """A submission's work directory name: its id made safe for a path
    (any printable id is fine: "+1+1", "a,b", "=cmd", "élève"), and a hash
    of the id so that two ids never share one."""
    slug = re.sub(r"[^A-Za-z0-9_-]", "_", sid)[:40] or "student"
    return f"{slug}-{hashlib.sha1(sid.encode('utf-8', 'surrogateescape')).hexdigest()[:8]}"


def high_fd(fd):
    """fd moved above 99 (the jail maps it to its number in the sandbox)."""
    import fcntl
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100)
    os.close(fd)
    return new


def read_all(fd, limit=1 << 20):
    """Everything on a pipe whose writers are gone, then close it."""
    chunks = []
    os.set_blocking(fd, False)
    try:
        while sum(map(len, chunks)) < limit:
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


def private_kind(f):
    import stat as st
    p, mode = f["path"], f["mode"]
    if p.startswith("System V"):
        return "System V IPC object"
    if p.startswith("/dev/shm/"):
        return "shared memory segment"
    if p.startswith("/dev/mqueue/"):
        return "message queue"
    if st.S_ISFIFO(mode):
        return "FIFO"
    if st.S_ISSOCK(mode):
        return "socket"
    return "directory" if st.S_ISDIR(mode) else "file"
