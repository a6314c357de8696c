#!/usr/bin/env python3
"""timeline.py - draw what happened in a run, from its log lines, as a
picture a teacher can show: one lane per process, its life as a bar, its
events as marks, one kind of mark per kind of event, every kind in the
legend. A process that was killed has its lane end in a red cross. Labels
never overlap: each one takes the first free place near its mark (above,
below, further out, then further right, with a leader line).

Usage: timeline.py LOG [OUT.png] [--title TITLE] [--boxes FILE.json]
  LOG holds the kit's log lines ("<s.ms> <prog>[<pid>] <event> k=v ...",
  any other line is ignored), e.g. the stderr of a demo run.
  OUT defaults to LOG with .png. Needs gnuplot (apt-get install gnuplot-nox).
  --boxes writes where each label was put (pixels, origin top left) and
  the legend's entries: the kit's tests check that no two labels overlap.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

LINE = re.compile(r"^(\d+\.\d+) ([\w.-]+)\[(\d+)\] (\S+)(.*)$")

# How each kind of event is drawn: gnuplot point type (7 filled circle,
# 8 open triangle, 5 filled square, 3 star, 11 filled triangle down,
# 13 filled diamond, 6 open circle, 4 open square, 2 cross, 1 plus),
# colour, size, and whether it gets a label.
STYLE = {
    "ready": (7, "#2e7d32", 1.6, True),
    "started": (8, "#1565c0", 1.8, False),
    "restart": (5, "#c62828", 1.5, True),
    "kill": (3, "#c62828", 2.0, True),
    "heartbeat-miss": (11, "#ef6c00", 1.7, True),
    "give-up": (13, "#6a1b9a", 1.8, True),
    "reaped": (6, "#555555", 1.6, False),
    "stopped": (4, "#000000", 1.6, True),
}
KILLED = (2, "#c62828", 2.4)        # where a killed process's lane ends
HEARTBEAT = (1, "#90a4ae", 0.6)     # many of them: small plus signs
OTHER = (7, "#37474f", 0.5)         # every other event: small dots
QUIET = ("heartbeat", "ping", "pong", "beat")

# The picture's geometry, in pixels: fixed margins, so that the script
# knows where each label lands (and can keep them apart).
WIDTH, LANE_PX, LEFT, RIGHT_KEY, TOP, BOTTOM = 1400, 72, 170, 250, 48, 60
CHAR_W, CHAR_H = 6.5, 13            # font 'sans,8': an upper bound
LEVELS = (0.24, -0.26, 0.42, -0.44)  # label rows around a lane (lane units)


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


def lane_ends(events, lanes):
    """{lane: (end time, killed?)}: a process lives until its last line,
    or until another process kills or reaps it (a frozen one logs
    nothing); killed if a kill names it, or its reaped status says so."""
    ends = {}
    for lane in lanes:
        pid = lane[lane.index("[") + 1:-1]
        own = [e[0] for e in events if e[1] == lane]
        end, killed = max(own), None
        for t, _, ev, rest in events:
            if f"pid={pid} " not in rest + " ":
                continue
            if ev == "kill" and killed is None:
                killed = t
            elif ev == "reaped":
                end = max(end, t)
                if "killed by" in rest and killed is None:
                    killed = t
        ends[lane] = (killed if killed is not None else end, killed is not None)
    return ends


def label_text(ev, rest):
    """A label's words: the event, and for kill/restart whom it names."""
    if ev in ("restart", "kill") and rest:
        return f"{ev} {rest.split()[0]}"
    return ev


class Placer:
    """Puts label boxes where no other box is (pixels, origin top left),
    inside the plot's left and right edges."""

    def __init__(self, to_px, left, right):
        self.to_px, self.left, self.right = to_px, left, right
        self.boxes, self.left_out = [], []

    def free(self, box):
        x0, y0, x1, y1 = box
        return (x0 >= self.left and x1 <= self.right and
                all(x1 <= a or x0 >= c or y1 <= b or y0 >= d for a, b, c, d, _ in self.boxes))

    def place(self, text, x, lane_y):
        """(label x, label y, moved?) in pixels, the box recorded; or None
        when there is no free place near the mark (the label is left out:
        the mark and the legend still say what happened)."""
        w, h = len(text) * CHAR_W + 4, CHAR_H
        for step in range(0, 161):      # 0, +8, -8, +16, -16 ... pixels
            shift = (step + 1) // 2 * 8 * (1 if step % 2 else -1)
            for level in LEVELS:
                px, py = self.to_px(x, lane_y + level)
                px += shift
                box = (px - w / 2, py - h / 2, px + w / 2, py + h / 2)
                if self.free(box):
                    self.boxes.append(box + (text,))
                    return px, py, shift != 0 or level not in LEVELS[:2]
        self.left_out.append(text)
        return None


def draw(events, out, title, boxes_out=None):
    t0 = min(e[0] for e in events)
    lanes = []
    for _, lane, _, _ in events:
        if lane not in lanes:
            lanes.append(lane)
    y = {lane: len(lanes) - i for i, lane in enumerate(lanes)}
    ends = lane_ends(events, lanes)
    span = max(max(e[0] for e in events), max(v[0] for v in ends.values())) - t0
    xmin, xmax = -0.02 * span - 0.01, span * 1.04 + 0.01
    ymin, ymax = 0.3, len(lanes) + 0.7
    height = TOP + BOTTOM + LANE_PX * len(lanes)
    right = WIDTH - RIGHT_KEY

    def to_px(x, yy):
        return (LEFT + (x - xmin) / (xmax - xmin) * (right - LEFT),
                height - BOTTOM - (yy - ymin) / (ymax - ymin) * (height - BOTTOM - TOP))

    def to_data(px, py):
        return (xmin + (px - LEFT) / (right - LEFT) * (xmax - xmin),
                ymin + (height - BOTTOM - py) / (height - BOTTOM - TOP) * (ymax - ymin))

    with tempfile.TemporaryDirectory(prefix="osps-timeline.") as tmp:
        bars = os.path.join(tmp, "bars.dat")
        with open(bars, "w") as f:
            for lane in lanes:
                start = min(e[0] for e in events if e[1] == lane) - t0
                f.write(f"{start:.3f} {y[lane]} {ends[lane][0] - t0 - start:.3f} 0\n")
        plots = [f"'{bars}' using 1:2:3:4 with vectors nohead lw 6 lc rgb '#cfd8dc' title 'a process alive'"]
        legend = ["a process alive"]

        def points(name, pts, style, label):
            data = os.path.join(tmp, re.sub(r"\W", "_", name) + ".dat")
            with open(data, "w") as f:
                f.writelines(f"{x:.3f} {yy}\n" for x, yy in pts)
            pt, colour, size = style
            plots.append(f"'{data}' using 1:2 with points pt {pt} ps {size} lc rgb '{colour}' title '{label}'")
            legend.append(label)

        kinds, quiet, other = {}, [], []
        for t, lane, ev, _ in events:
            if ev in STYLE:
                kinds.setdefault(ev, []).append((t - t0, y[lane]))
            elif any(q in ev for q in QUIET):
                quiet.append((t - t0, y[lane]))
            else:
                other.append((t - t0, y[lane]))
        for ev in STYLE:        # the legend in a fixed, meaningful order
            if ev in kinds:
                points(ev, kinds[ev], STYLE[ev][:3], ev)
        killed = [(ends[l][0] - t0, y[l]) for l in lanes if ends[l][1]]
        if killed:
            points("killed", killed, KILLED, "killed (its lane ends)")
        if quiet:
            points("heartbeat", quiet, HEARTBEAT, "heartbeat")
        if other:
            points("other", other, OTHER, "any other event")

        placer, labels = Placer(to_px, LEFT, right), []
        for t, lane, ev, rest in sorted(events, key=lambda e: e[0]):
            if not STYLE.get(ev, (0, "", 0, False))[3]:
                continue
            text = label_text(ev, rest)
            spot = placer.place(text, t - t0, y[lane])
            if spot is None:
                continue
            px, py, moved = spot
            lx, ly = to_data(px, py)
            labels.append(f"set label \"{text}\" at {lx:.4f},{ly:.4f} "
                          f"font ',8' tc rgb '{STYLE[ev][1]}' center front")
            if moved:   # a leader line from the mark to its label
                labels.append(f"set arrow from {t - t0:.4f},{y[lane]} to {lx:.4f},{ly:.4f} "
                              f"nohead lc rgb '#b0bec5' lw 0.8 back")
        ytics = ", ".join(f"\"{lane}\" {y[lane]}" for lane in lanes)
        script = os.path.join(tmp, "plot.gp")
        with open(script, "w") as f:
            f.write(f"""set terminal pngcairo size {WIDTH},{height} font 'sans,10'
set output '{out}'
set title "{title}"
set xlabel 'seconds since the first log line'
set lmargin at screen {LEFT / WIDTH:.5f}
set rmargin at screen {right / WIDTH:.5f}
set tmargin at screen {1 - TOP / height:.5f}
set bmargin at screen {BOTTOM / height:.5f}
set xrange [{xmin:.4f}:{xmax:.4f}]
set yrange [{ymin}:{ymax}]
set ytics ({ytics})
set grid xtics lc rgb '#eeeeee'
set key at screen {(right + 15) / WIDTH:.5f}, screen {1 - TOP / height:.5f} left top Left reverse samplen 1.5
{chr(10).join(labels)}
plot {", ".join(plots)}
""")
        subprocess.run(["gnuplot", script], check=True)
    if boxes_out:
        with open(boxes_out, "w") as f:
            markers = {ev: list(st[:2]) for ev, st in STYLE.items()}
            markers.update({"killed": list(KILLED[:2]), "heartbeat": list(HEARTBEAT[:2]),
                            "other": list(OTHER[:2])})
            json.dump({"width": WIDTH, "height": height, "legend": legend,
                       "kinds": sorted(set(e[2] for e in events)), "markers": markers,
                       "lanes": {l: {"end": round(ends[l][0] - t0, 3), "killed": ends[l][1]}
                                 for l in lanes},
                       "labels": [{"text": b[4], "box": [round(v, 1) for v in b[:4]]}
                                  for b in placer.boxes],
                       "left_out": placer.left_out}, f, indent=1)
    return placer.left_out


def main(argv):
    args = argv[1:]
    opts = {"--title": "OSPS run", "--boxes": None}
    for opt in opts:
        if opt in args:
            i = args.index(opt)
            if i + 1 >= len(args):
                sys.stderr.write(__doc__)
                return 2
            opts[opt] = args[i + 1]
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
    left_out = draw(events, os.path.abspath(out), opts["--title"].replace('"', "'"), opts["--boxes"])
    lanes = len({e[1] for e in events})
    print(f"timeline: {out} ({len(events)} events, {lanes} processes)")
    if left_out:
        print(f"timeline: {len(left_out)} labels left out, no room near their marks "
              f"(zoom in: cut the log to the seconds that matter)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
