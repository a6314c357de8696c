#!/usr/bin/env python3
"""timeline.py - draw what happened in a run, from its log lines, as a
picture a teacher can show: one lane per process, its life as a bar, its
events as marks (heartbeats as ticks, kills and restarts in red, ...).

Usage: timeline.py LOG [OUT.png] [--title TITLE]
  LOG holds the kit's log lines ("<s.ms> <prog>[<pid>] <event> k=v ...",
  any other line is ignored), e.g. the stderr of a demo run.
  OUT defaults to LOG with .png. Needs gnuplot (apt-get install gnuplot-nox).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

LINE = re.compile(r"^(\d+\.\d+) ([\w.-]+)\[(\d+)\] (\S+)(.*)$")

# How each kind of event is drawn: (gnuplot point type, colour, labelled?).
STYLE = {
    "ready": (7, "#2e7d32", True),
    "started": (9, "#1565c0", False),
    "restart": (5, "#c62828", True),
    "kill": (3, "#c62828", True),
    "heartbeat-miss": (2, "#ef6c00", True),
    "give-up": (3, "#6a1b9a", True),
    "reaped": (13, "#555555", False),
    "stopped": (13, "#555555", True),
}
QUIET = ("heartbeat", "ping", "pong", "beat")     # many of them: small ticks


def parse(path):
    """[(t, lane, event, rest)] in file order; lane is "prog[pid]"."""
    events = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LINE.match(line.strip())
            if m:
                t, prog, pid, ev, rest = m.groups()
                events.append((float(t), f"{prog}[{pid}]", ev, rest.strip()))
    return events


def draw(events, out, title):
    t0 = min(e[0] for e in events)
    lanes = []
    for _, lane, _, _ in events:
        if lane not in lanes:
            lanes.append(lane)
    y = {lane: len(lanes) - i for i, lane in enumerate(lanes)}
    span = max(e[0] for e in events) - t0
    with tempfile.TemporaryDirectory(prefix="osps-timeline.") as tmp:
        bars = os.path.join(tmp, "bars.dat")
        with open(bars, "w") as f:
            for lane in lanes:
                ts = [e[0] - t0 for e in events if e[1] == lane]
                # A frozen process logs nothing, yet lives until another
                # one kills or reaps it: its bar lasts until then.
                pid = lane[lane.index("[") + 1:-1]
                ts += [e[0] - t0 for e in events
                       if e[2] in ("kill", "reaped") and f"pid={pid} " in e[3] + " "]
                f.write(f"{min(ts):.3f} {y[lane]} {max(ts) - min(ts):.3f} 0\n")
        plots = [f"'{bars}' using 1:2:3:4 with vectors nohead lw 6 lc rgb '#cfd8dc' notitle"]
        kinds = {}
        for t, lane, ev, _ in events:
            kinds.setdefault(ev, []).append((t - t0, y[lane]))
        for ev, points in sorted(kinds.items()):
            data = os.path.join(tmp, re.sub(r"\W", "_", ev) + ".dat")
            with open(data, "w") as f:
                f.writelines(f"{x:.3f} {yy}\n" for x, yy in points)
            if ev in STYLE:
                pt, colour, _ = STYLE[ev]
                plots.append(f"'{data}' using 1:2 with points pt {pt} ps 1.6 lc rgb '{colour}' title '{ev}'")
            elif any(q in ev for q in QUIET):
                plots.append(f"'{data}' using 1:2 with points pt 1 ps 0.5 lc rgb '#90a4ae' notitle")
            else:
                plots.append(f"'{data}' using 1:2 with points pt 7 ps 0.6 lc rgb '#37474f' notitle")
        labels, last = [], {}
        for t, lane, ev, rest in events:
            if STYLE.get(ev, (0, "", False))[2]:
                text = ev + (" " + rest.split()[0] if ev in ("restart", "kill") and rest else "")
                # Labels close in time on one lane alternate above and
                # below the bar, so that they do not print over each other.
                prev = last.get(lane)
                below = prev is not None and t - prev[0] < 0.04 * max(span, 0.1) and not prev[1]
                last[lane] = (t, below)
                dy = -0.32 if below else 0.28
                labels.append(f"set label \"{text}\" at {t - t0:.3f},{y[lane] + dy} "
                              f"font ',8' tc rgb '{STYLE[ev][1]}' center")
        ytics = ", ".join(f"\"{lane}\" {y[lane]}" for lane in lanes)
        script = os.path.join(tmp, "plot.gp")
        with open(script, "w") as f:
            f.write(f"""set terminal pngcairo size 1400,{160 + 46 * len(lanes)} font 'sans,10'
set output '{out}'
set title "{title}"
set xlabel 'seconds since the first log line'
set xrange [-0.02*{span:.3f}-0.01:{span:.3f}*1.04+0.01]
set yrange [0.3:{len(lanes) + 0.7}]
set ytics ({ytics})
set grid xtics lc rgb '#eeeeee'
set key outside right top
{chr(10).join(labels)}
plot {", ".join(plots)}
""")
        subprocess.run(["gnuplot", script], check=True)


def main(argv):
    args = [a for a in argv[1:]]
    title = "OSPS run"
    if "--title" in args:
        i = args.index("--title")
        title = args[i + 1]
        del args[i:i + 2]
    if len(args) not in (1, 2):
        sys.stderr.write(__doc__)
        return 2
    log = args[0]
    out = args[1] if len(args) == 2 else os.path.splitext(log)[0] + ".png"
    if shutil.which("gnuplot") is None:
        sys.stderr.write("timeline: gnuplot is not installed: apt-get install gnuplot-nox\n")
        return 1
    try:
        events = parse(log)
    except OSError as e:
        sys.stderr.write(f"timeline: {log}: {e.strerror}\n")
        return 1
    if not events:
        sys.stderr.write(f"timeline: {log}: no log line of the kit's format\n")
        return 1
    draw(events, os.path.abspath(out), title.replace('"', "'"))
    lanes = len({e[1] for e in events})
    print(f"timeline: {out} ({len(events)} events, {lanes} processes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
