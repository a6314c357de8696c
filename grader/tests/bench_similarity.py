#!/usr/bin/env python3
"""bench_similarity.py - how long grader/similar takes on a class.

Makes N submissions of a step (default 40 of step 4): each is the
reference with one exercise left as its stub, then disguised (a share of
its identifiers renamed, its functions shuffled; similar_fixtures.py), so
that every pair shares much of its code: the slowest case for sim_c. Then
times grader/similar on them and prints one line:

  similar: 40 submissions of step4_client, 780 pairs sharing code, 779 flagged: 2.0 s (-j 2); similarity.md 950 KB

Usage: grader/tests/bench_similarity.py [-n N] [--step N] [-j JOBS]
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fixtures  # noqa: E402
import similar_fixtures  # noqa: E402


def main(argv):
    p = argparse.ArgumentParser(prog="bench_similarity.py")
    p.add_argument("-n", type=int, default=40, help="submissions (default: %(default)s)")
    p.add_argument("--step", type=int, default=4, help="the step (default: %(default)s)")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    a = p.parse_args(argv)
    step_dir = next(d for d in os.listdir(fixtures.KIT) if d.startswith(f"step{a.step}_"))
    exs = sorted({line.split()[0] for line in subprocess.run(
        [sys.executable, os.path.join(fixtures.KIT, "scripts", "skel.py"), "list",
         os.path.join(fixtures.KIT, "solutions", step_dir, "src")],
        capture_output=True, text=True, check=True).stdout.splitlines()})
    rnd = random.Random(4)
    with tempfile.TemporaryDirectory(prefix="osps-bench-similar.") as tmp:
        subs = []
        for k in range(a.n):
            stubbed = os.path.join(tmp, "stubbed", str(k))
            fixtures.stubbed_src(step_dir, rnd.choice(exs), stubbed)
            sub = os.path.join(tmp, "class", f"student{k:02d}")
            similar_fixtures.disguised_copy(stubbed, os.path.join(sub, step_dir, "src"),
                                            seed=k + 2, rename_share=rnd.random())
            subs.append(sub)
        out = os.path.join(tmp, "out")
        t0 = time.monotonic()
        r = subprocess.run([os.path.join(fixtures.GRADER, "similar"), "--steps", str(a.step),
                            "-j", str(a.jobs), "-o", out, *subs], capture_output=True, text=True)
        elapsed = time.monotonic() - t0
        if r.returncode != 0:
            sys.stderr.write(r.stdout + r.stderr)
            return 1
        with open(os.path.join(out, "similarity.csv"), encoding="utf-8") as f:
            rows = f.read().splitlines()[1:]
        flagged = sum(1 for row in rows if ",yes," in row)
        md = os.path.getsize(os.path.join(out, "similarity.md")) // 1024
        print(f"similar: {a.n} submissions of {step_dir}, {len(rows)} pairs sharing code, "
              f"{flagged} flagged: {elapsed:.1f} s (-j {a.jobs}); similarity.md {md} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
