"""outputs.py - what the grader writes: the terminal table, grades.csv,
per student results.json (Gradescope's format) and report.md, summary.json
and the class statistics (statistics.md)."""
import json
import os
import statistics as stats

from . import feedback
from .kit import exercise_of
from .roster import KEY_HEADER, safe_cell, write_rows

FLAG_HELP = {"E": "could not be graded", "B": "a step did not build",
             "I": "integrity findings (review)", "T": "time limit reached",
             "L": "leftovers cleaned by the grader",
             "S": "a step is the untouched skeleton (nothing differs from the handout)",
             "D": "commits after the deadline were not graded"}


def pct(score, maximum):
    return 100.0 * score / maximum if maximum else 0.0


def flags(r):
    f = ""
    if r.get("error"):
        return "E"
    steps = r.get("steps", {}).values()
    if any(not s["build"].get("ok", True) for s in steps):
        f += "B"
    if r.get("integrity"):
        f += "I"
    if r.get("time_limit_hit"):
        f += "T"
    if any(s.get("leftovers") for s in steps):
        f += "L"
    if r.get("untouched"):
        f += "S"
    if r.get("late_commits"):
        f += "D"
    return f


def fmt(x):
    return f"{x:.1f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def progress_line(done, total, elapsed, r, step_dirs):
    parts = []
    for d in step_dirs:
        s = r.get("steps", {}).get(d)
        parts.append(f"{d.split('_')[0]} {fmt(s['score']['score'])}/{fmt(s['score']['max'])}" if s else f"{d.split('_')[0]} -")
    m, s = divmod(int(elapsed), 60)
    state = r.get("error") or "  ".join(parts)
    return (f"[{done:>3}/{total} {m:d}:{s:02d}] {r['id'][:24]:<24} {state}  "
            f"total {fmt(r.get('total', 0))}/{fmt(r.get('max', 0))}  "
            f"({r.get('elapsed', 0):.1f} s){'  ' + flags(r) if flags(r) else ''}")


def table(results, step_dirs):
    """The student x step table, as text lines."""
    heads = ["student"] + [d.split("_")[0] for d in step_dirs] + ["total", "%", "flags"]
    rows = []
    for r in results:
        row = [r["id"]]
        for d in step_dirs:
            s = r.get("steps", {}).get(d)
            row.append(fmt(s["score"]["score"]) if s else "-")
        row += [fmt(r.get("total", 0)), f"{pct(r.get('total', 0), r.get('max', 0)):.0f}", flags(r)]
        rows.append(row)
    if results:
        maxes = ["max"] + [fmt(next((r["steps"][d]["score"]["max"] for r in results
                                     if d in r.get("steps", {})), 0)) for d in step_dirs]
        maxes += [fmt(max((r.get("max", 0) for r in results), default=0)), "", ""]
        rows.append(maxes)
    widths = [max(len(str(x)) for x in col) for col in zip(heads, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    out = [line(heads), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows[:-1]]
    if rows:
        out += ["  ".join("-" * w for w in widths), line(rows[-1])]
    used = sorted({c for r in results for c in flags(r)})
    if used:
        out.append("flags: " + ", ".join(f"{c} {FLAG_HELP[c]}" for c in used))
    return out


def status_of(r):
    if r.get("status") == "missing":
        return "missing"
    return "error" if r.get("error") else ("review" if r.get("integrity") else "graded")


def write_csv(path, results, step_dirs, missing=()):
    """grades.csv: the id is the roster's key when there is one (kept
    exactly), else the student's name, else the submission's id as given; every cell is safe to
    open in a spreadsheet (roster.safe_cell)."""
    rows = [["id", "name", "email"] + step_dirs + ["total", "max", "percent", "status"]]
    for r in results:
        steps = [fmt(r["steps"][d]["score"]["score"]) if d in r.get("steps", {}) else ""
                 for d in step_dirs]
        rows.append([r.get("key") or r.get("name") or r.get("given_id") or r["id"], r.get("name", ""),
                     r.get("email", "")] + steps +
                    [fmt(r.get("total", 0)), fmt(r.get("max", 0)),
                     f"{pct(r.get('total', 0), r.get('max', 0)):.1f}", status_of(r)])
    for m in missing:
        rows.append([m.get("key") or m.get("name") or m["id"], m.get("name", ""), m.get("email", "")] +
                    [""] * len(step_dirs) + ["0", "", "0.0", "missing"])
    with open(path, "w", newline="", encoding="utf-8") as f:
        write_rows(f, rows)


def number(x, decimal="."):
    """A grade as Moodle reads it: at most two decimals, the site's mark."""
    return fmt(round(x, 2)).replace(".", decimal)


def moodle_rows(results, step_dirs, key, decimal="."):
    """The rows of Moodle's "Import grades from CSV": the key column, a
    grade per step and the total, a feedback column per step. Results
    without a key are left out (Moodle would stop at an unknown user)."""
    head = [KEY_HEADER[key]] + step_dirs + ["total"] + [f"{d} feedback" for d in step_dirs]
    rows = [head]
    for r in results:
        if not r.get("key") or r.get("error") or r.get("status") == "missing":
            continue
        grades = [number(r["steps"][d]["score"]["score"], decimal) if d in r.get("steps", {}) else ""
                  for d in step_dirs]
        notes = feedback.notes(r)
        texts = []
        for d in step_dirs:
            sr = r.get("steps", {}).get(d)
            t = feedback.step_text(sr, d in r.get("untouched", [])) if sr else ""
            if t and notes:
                t += "\n" + "\n".join(notes)
            texts.append(t)
        rows.append([r["key"]] + grades + [number(r.get("total", 0), decimal)] + texts)
    return rows


def write_moodle(path, results, step_dirs, key, delimiter=",", decimal="."):
    with open(path, "w", newline="", encoding="utf-8") as f:
        write_rows(f, moodle_rows(results, step_dirs, key, decimal), delimiter)


# -- per student ------------------------------------------------------------

OUTPUT_CAP = 10240      # bytes of one test's output (rubric: output_cap)


def test_output(t, step, hint=True, cap=OUTPUT_CAP):
    """What a student reads of failed test t: everything (detail full), its
    first message (message) or nothing (none), at most cap bytes."""
    detail = t.get("detail", "full")
    if detail == "none":
        return ""
    text = feedback.first_message(t) if detail == "message" else full_output(t, step, hint)
    if t.get("root"):
        text = t["root"] + "\n" + text
    data = text.encode("utf-8")
    if cap and len(data) > cap:
        text = data[:cap].decode("utf-8", "ignore").rsplit("\n", 1)[0]
        text += f"\n[... {len(data) - len(text.encode('utf-8'))} more bytes cut: at most {cap} per test]"
    return text


def full_output(t, step, hint=True):
    lines = list(t.get("notes", []))
    lines += [d[2:] if d.startswith("# ") else d.lstrip("#") for d in t.get("diag", [])][:25]
    for d in t.get("deaths", []):
        lines.append(f"death: {d}")
    for proc, log in t.get("logs", {}).items():
        lines.append(f"last log lines of {proc}:")
        lines += [f"    {l}" for l in log]
    ex = exercise_of(t["name"])
    info = step.exercises.get(ex) if step else None
    if hint and info and t["status"] == "fail":
        where = f" ({info['file']})" if info.get("file") else ""
        lines.append(f"exercise {ex}{where}: read the hints under \"#### {ex}\" in {step.dir}/README.md"
                     f" (or run: make hint-step{step.n} EX={ex})")
        if info.get("hints"):
            lines.append(f"  hint 1: {info['hints'][0]}")
    return "\n".join(lines)


def gradescope_json(r, steps):
    """results.json in Gradescope's autograder format. Each test carries its
    rubric visibility, which Gradescope honours (a hidden test is shown to
    the instructor only, an after_due_date one after the due date)."""
    cap = r.get("output_cap", OUTPUT_CAP)
    tests = []
    by_dir = {s.dir: s for s in steps}
    sums = {"score": 0.0, "max_score": 0.0}

    def share(key, value):
        # Points rounded test by test would drift by up to 0.01 each: each
        # test gets the step of the rounded running sum instead, so that
        # the tests add up to the rounded total.
        before = round(sums[key], 2)
        sums[key] += value
        return round(round(sums[key], 2) - before, 2)

    for d, sr in r.get("steps", {}).items():
        step = by_dir.get(d)
        b = sr["build"]
        if not b.get("ok", True) or b.get("warnings"):
            out = []
            if b.get("errors"):
                out += ["The build failed:"] + b["errors"][:30]
            if b.get("missing"):
                out.append("Not built: " + ", ".join(b["missing"]))
            if b.get("warnings"):
                out += ["Compiler warnings:"] + b["warnings"][:30]
            tests.append({"name": f"Step {sr['n']}: build", "score": 0, "max_score": 0,
                          "status": "failed" if not b.get("ok", True) else "passed",
                          "output": "\n".join(out), "visibility": "visible"})
        w = sr["score"].get("weight", 1.0)
        for s in sr["suites"]:
            for t in s["tests"]:
                tests.append({
                    "name": f"Step {sr['n']} {t['name']}", "number": exercise_of(t["name"]),
                    "score": share("score", t.get("score", 0) * w),
                    "max_score": share("max_score", t.get("max_score", 0) * w),
                    "status": "passed" if t["status"] == "pass" else "failed",
                    "output": test_output(t, step, cap=cap) if t["status"] != "pass" else "",
                    "tags": [d, s["name"]], "visibility": t.get("visibility", "visible")})
        # A step's score never goes below 0: what penalties take is at
        # most what was earned, so that the tests add up to the score.
        left = sr["score"].get("earned", 0)
        for p in sr["score"]["penalties"]:
            taken = min(p["points"], max(left, 0))
            left -= taken
            tests.append({"name": f"Step {sr['n']} penalty: {p['what']}", "score": -round(taken * w, 2),
                          "max_score": 0, "status": "failed", "visibility": "visible",
                          "output": penalty_details(sr, p)})
    summary = f"Total: {fmt(r.get('total', 0))} / {fmt(r.get('max', 0))}"
    if r.get("error"):
        summary = f"The submission could not be graded: {r['error']}"
    summary = "\n".join([summary] + [f"Note: {n}" for n in feedback.notes(r)])
    return {"score": round(r.get("total", 0), 2), "execution_time": int(r.get("elapsed", 0)),
            "output": summary, "visibility": "visible", "stdout_visibility": "hidden",
            "tests": tests}


def penalty_details(sr, p):
    if p["what"].startswith("valgrind") and sr.get("valgrind"):
        return "\n\n".join(f"{v['process']} ({v['suite']}):\n" + "\n".join(feedback.valgrind_details(v["details"]))
                           for v in sr["valgrind"]["processes"] if v["status"] == "fail")[:4000]
    if "leftover" in p["what"]:
        return "\n".join(leftover_lines(sr["leftovers"]))[:4000]
    if "warning" in p["what"]:
        return "\n".join(sr["build"]["warnings"])[:4000]
    return ""


def leftover_lines(leftovers):
    """One line per distinct leftover, with a count: "process: `sleep 300`
    (still running after step1.bats) x19"."""
    counts = {}
    for l in leftovers:
        key = (l["kind"], l["what"], l["where"], l.get("excused", ""))
        counts[key] = counts.get(key, 0) + 1
    return [f"{k}: `{w}` ({where}){' x' + str(n) if n > 1 else ''}"
            f"{'; not counted: ' + ex if ex else ''}" for (k, w, where, ex), n in counts.items()]


def report_md(r, steps, sub_summary, audience="graded"):
    """The student's report. audience: "graded" (handed out with the
    grades: after_due_date tests shown) or "early" (read at once: VPL,
    Gradescope); hidden tests' names and output never appear."""
    by_dir = {s.dir: s for s in steps}
    who = r.get("key") or r["id"]
    L = [f"# Feedback for {who}" + (f" ({r['name']})" if r.get("name") and r["name"] != who else ""), ""]
    if r.get("error"):
        L += [f"**The submission could not be graded:** {r['error']}", ""]
    L += [f"**Total: {fmt(r.get('total', 0))} / {fmt(r.get('max', 0))}** "
          f"({pct(r.get('total', 0), r.get('max', 0)):.0f}%)", ""]
    if r.get("steps"):
        L += ["## Summary", "", "```"] + feedback.summary_lines(r, audience=audience) + ["```", ""]
        L += ["## Details", ""]
        L += ["| step | score | tests passed | penalties |", "|---|---|---|---|"]
        for d, sr in r["steps"].items():
            tests = [t for s in sr["suites"] for t in s["tests"] if t["status"] != "skip"]
            npass = sum(t["status"] == "pass" for t in tests)
            w = sr["score"].get("weight", 1.0)
            pen = ", ".join(f"-{fmt(p['points'] * w)} {p['what']}" for p in sr["score"]["penalties"]) or "none"
            L.append(f"| {d} | {fmt(sr['score']['score'])} / {fmt(sr['score']['max'])} | "
                     f"{npass} / {len(tests)} | {pen} |")
        L.append("")
    L += ["## What was graded", ""]
    if r.get("commit"):
        c = r["commit"]
        L += [f"Commit {c['hash'][:12]} of {c['date']} by {c['author']}: {c['subject']}", ""]
        if r.get("late_commits"):
            L += [f"**{r['late_commits']} later commit(s), after the deadline, were not graded.**", ""]
    if r.get("stress"):
        seed = r["stress"]["seed"]
        L += [f"The process tests ran **under stress**, seed {seed} (random short delays at the "
              f"calls where races live). Replay: `make test-stepN STRESS=1 SEED={seed}`.", ""]
    if r.get("untouched"):
        L += ["**The untouched skeleton** (nothing differs from the handout): " + ", ".join(r["untouched"]), ""]
    taken = sub_summary.get("taken", [])
    L.append(f"Taken from the submission ({len(taken)} file(s)), over a pristine copy of the kit:")
    L += [f"- `{t['from']}` as `{t['to']}`" for t in taken] or ["- nothing: every step was graded as the untouched skeleton"]
    answers = sub_summary.get("answers", {})
    if answers:
        L += ["", "Answers kept for the instructor: " + ", ".join(f"`{p}`" for p in answers.values())]
    ignored = sub_summary.get("ignored", [])
    if ignored:
        L += ["", f"Ignored ({len(ignored)}): the tests, Makefiles and helpers always come from "
                  "the instructor's copy."]
        for i in ignored[:25]:
            L.append(f"- `{i['path']}`: {i['reason']}")
        if len(ignored) > 25:
            L.append(f"- ... and {len(ignored) - 25} more")
    for n in sub_summary.get("notes", []):
        L.append(f"- note: {n}")
    if r.get("integrity"):
        L += ["", "## Integrity", "", "The grader found things a submission must not do; "
              "the instructor will review them:", ""]
        L += [f"- {i}" for i in r["integrity"]]
    for d, sr in r.get("steps", {}).items():
        L += step_md(sr, by_dir.get(d), audience, r.get("output_cap", OUTPUT_CAP))
    return "\n".join(L) + "\n"


def step_md(sr, step, audience="graded", cap=OUTPUT_CAP):
    L = ["", f"## Step {sr['n']} ({sr['dir']}): {fmt(sr['score']['score'])} / {fmt(sr['score']['max'])}", ""]
    ex = feedback.exercise_rows(sr, audience)
    if ex:
        L += ["| exercise | tests passed | points |", "|---|---|---|"]
        for k, v in ex.items():
            label = {"run": "run (integration tests)", "hidden": "hidden tests"}.get(k, k)
            L.append(f"| {label} | {v['passed']} / {v['tests']} | {fmt(v['earned'])} / {fmt(v['max'])} |")
        L.append("")
        L += [f"- {text}." for text in sr["score"].get("roots", {}).values()]
        L += [""] if sr["score"].get("roots") else []
    b = sr["build"]
    if not b.get("ok", True):
        L += ["### Build: failed", "", "```"] + (b.get("errors") or b.get("log", []))[:30] + ["```", ""]
        if b.get("missing"):
            L += [f"Not built: {', '.join(b['missing'])}.", ""]
    if b.get("warnings"):
        L += [f"### Compiler warnings ({len(b['warnings'])})", "", "```"] + b["warnings"][:30] + ["```", ""]
    if sr.get("findings"):
        L += ["### Integrity findings", ""]
        L += [f"- {f['file']}{':' + str(f['line']) if f['line'] else ''}: {f['message']}" for f in sr["findings"]]
        L.append("")
    failed = [(s, t) for s in sr["suites"] for t in s["tests"] if t["status"] == "fail"]
    kept = [x for x in failed if not feedback.shown(x[1], audience)]
    failed = [x for x in failed if feedback.shown(x[1], audience)]
    if failed or kept:
        L += [f"### Failed tests ({len(failed) + len(kept)})", ""]
        for s, t in failed:
            L += [f"#### {t['name']}", "", f"In {s['source'] or s['name']}.", ""]
            out = test_output(t, step, cap=cap)
            L += ["```"] + out.splitlines() + ["```", ""] if out else []
        if kept:
            L += [f"{len(kept)} hidden test(s) failed: their names and output are kept back.", ""]
    again = [t["name"] for s in sr["suites"] for t in s["tests"] if feedback.shown(t, audience)
             and t["status"] == "pass" and any("passed when run again" in n for n in t.get("notes", []))]
    if again:
        L += ["### Passed only when run again", "",
              "These tests failed once and passed on a second run: a race in the code, "
              "or a loaded machine. Worth a look:", ""]
        L += [f"- {n}" for n in again] + [""]
    for s in sr["suites"]:
        if s.get("anomalies"):
            L += [f"### Results of {s['name']} not trusted", ""]
            L += [f"- {a}" for a in s["anomalies"][:10]]
            L.append("")
        if s.get("stray"):
            L += [f"### Printed on stdout during {s['name']} (the results channel)", "", "```"]
            L += s["stray"][:10] + ["```", ""]
    if sr.get("leftovers"):
        L += [f"### Left behind ({len(sr['leftovers'])})", ""]
        L += [f"- {line}" for line in leftover_lines(sr["leftovers"])[:30]]
        L.append("")
    vg = sr.get("valgrind")
    if vg:
        L += [f"### Valgrind: {vg['failed']} process(es) with problems out of {len(vg['processes'])}", ""]
        for v in [v for v in vg["processes"] if v["status"] == "fail"][:10]:
            L += [f"#### {v['process']} in {v['suite']}", "", "```"]
            L += feedback.valgrind_details(v["details"]) + ["```", ""]
    return L


# -- the class --------------------------------------------------------------

def class_statistics(results, steps):
    graded = [r for r in results if not r.get("error")]
    totals = [pct(r["total"], r["max"]) for r in graded if r.get("max")]
    dist = {}
    if totals:
        dist = {"students": len(totals), "mean": round(stats.mean(totals), 1),
                "median": round(stats.median(totals), 1),
                "stdev": round(stats.pstdev(totals), 1), "min": round(min(totals), 1),
                "max": round(max(totals), 1),
                "histogram": [sum(1 for t in totals if (10 * i <= t < 10 * (i + 1)) or (i == 9 and t == 100))
                              for i in range(10)]}
    per_ex, per_test = {}, {}
    for r in graded:
        for d, sr in r.get("steps", {}).items():
            for s in sr["suites"]:
                for t in s["tests"]:
                    if t["status"] == "skip":
                        continue
                    k = (d, t["name"])
                    a = per_test.setdefault(k, [0, 0])
                    a[0] += t["status"] == "pass"
                    a[1] += 1
            for ex, v in sr["score"]["exercises"].items():
                e = per_ex.setdefault((d, ex), {"students": 0, "complete": 0, "passed": 0, "tests": 0})
                e["students"] += 1
                e["complete"] += v["passed"] == v["tests"] and v["tests"] > 0
                e["passed"] += v["passed"]
                e["tests"] += v["tests"]
    exercises = [{"step": d, "exercise": ex, "pass_rate": round(pct(v["passed"], v["tests"]), 1),
                  "complete": v["complete"], "students": v["students"]}
                 for (d, ex), v in sorted(per_ex.items())]
    tests = [{"step": d, "test": n, "passed": a[0], "students": a[1],
              "pass_rate": round(pct(a[0], a[1]), 1)} for (d, n), a in sorted(per_test.items())]
    return {"distribution": dist, "exercises": exercises, "tests": tests,
            "errors": len(results) - len(graded)}


def statistics_md(st):
    L = ["# Class statistics", ""]
    d = st["distribution"]
    if d:
        L += [f"{d['students']} student(s) graded: mean {d['mean']}%, median {d['median']}%, "
              f"standard deviation {d['stdev']}, range {d['min']}% to {d['max']}%.", "",
              "| score | students | |", "|---|---|---|"]
        for i, n in enumerate(d["histogram"]):
            L.append(f"| {10 * i}-{10 * i + 9 if i < 9 else 100}% | {n} | {'#' * n} |")
        L.append("")
    if st["errors"]:
        L += [f"{st['errors']} submission(s) could not be graded.", ""]
    L += ["## Exercises", "", "| step | exercise | tests passed | students with every test passed |",
          "|---|---|---|---|"]
    for e in st["exercises"]:
        L.append(f"| {e['step']} | {e['exercise']} | {e['pass_rate']}% | {e['complete']} / {e['students']} |")
    L += ["", "## Tests, hardest first", "", "| step | test | passed |", "|---|---|---|"]
    for t in sorted(st["tests"], key=lambda t: (t["pass_rate"], t["step"], t["test"])):
        L.append(f"| {t['step']} | {t['test']} | {t['passed']} / {t['students']} |")
    return "\n".join(L) + "\n"


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)
