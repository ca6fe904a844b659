#!/usr/bin/env python3
"""Test accuracy per epoch of our runs against a reference curve (mean, sd, min, max), as SVG.

Standard library only, so it runs wherever Python 3 does. Used for the MNIST figure of
docs/results.md:

    python3 scripts/plot_test_curves.py \
        --reference docs/results/original-code-mnist-test-accuracy.csv \
        --run "seed 0=docs/results/mnist-seed0-100epochs-metrics.csv,docs/results/mnist-seed0-snapshot-test-accuracy.csv" \
        --run "seed 1=docs/results/mnist-seed1-100epochs-metrics.csv" \
        --y-min 95 --y-max 98.5 --out docs/results/mnist-test-accuracy-vs-original.svg

For Yin-Yang, the 30 seeds of one build as a band from the per-epoch summary file:

    python3 scripts/plot_test_curves.py \
        --reference docs/results/original-code-yinyang-test-accuracy.csv \
        --band "ours, 30 seeds=docs/results/yinyang-test-accuracy-per-epoch.csv:main_2db830e_seeds0_29" \
        --y-min 94 --y-max 99 --out docs/results/yinyang-test-accuracy-vs-original.svg

A reference file has the columns `epoch,mean,sd,min,max` in per cent (row e = after e epochs).
A run file is a `metrics.csv` written by `snn-train` (or any CSV with `epoch` and
`test_accuracy` as a fraction); rows without a test score are skipped. `LABEL=A,B` draws the
epochs of several files as one run (a later file's score wins on an epoch both have).
"""

import argparse
import csv
import math
import sys

W, H = 760, 440
LEFT, RIGHT, TOP, BOTTOM = 60, 170, 20, 45
COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def read_reference(path):
    out = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            out.append(tuple(float(r[k]) for k in ("epoch", "mean", "sd", "min", "max")))
    return out


def read_run(path):
    out = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            try:
                e, a = int(r["epoch"]), r.get("test_accuracy", "")
            except (KeyError, ValueError):
                continue
            if a not in ("", None) and math.isfinite(float(a)):
                out.append((e, 100.0 * float(a)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", required=True)
    ap.add_argument("--reference-label", default="original code, 10 seeds")
    ap.add_argument("--run", action="append", default=[], help="LABEL=metrics.csv[,more.csv]")
    ap.add_argument("--band", action="append", default=[],
                    help="LABEL=PATH:PREFIX, a mean ± sd band from columns PREFIX_mean, PREFIX_sd (per cent)")
    ap.add_argument("--y-min", type=float, default=95.0)
    ap.add_argument("--y-max", type=float, default=98.5)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    ref = [r for r in read_reference(a.reference) if r[0] >= 1]
    runs = []
    for spec in a.run:
        if "=" not in spec:
            sys.exit(f"--run expects LABEL=PATH, got {spec!r}")
        label, paths = spec.split("=", 1)
        pts = {}
        for path in paths.split(","):
            pts.update(read_run(path))
        runs.append((label, sorted(pts.items())))
    bands = []
    for spec in a.band:
        label, rest = spec.split("=", 1)
        path, prefix = rest.rsplit(":", 1)
        with open(path, newline="") as f:
            pts = [(int(r["epoch"]), float(r[prefix + "_mean"]), float(r[prefix + "_sd"]))
                   for r in csv.DictReader(f) if r.get(prefix + "_mean", "") != ""]
        bands.append((label, pts))
    x_max = int(max([r[0] for r in ref] + [e for _, pts in runs for e, _ in pts]
                    + [p[0] for _, pts in bands for p in pts]))

    def px(e):
        return LEFT + (W - LEFT - RIGHT) * (e - 1) / max(x_max - 1, 1)

    def py(v):
        v = min(max(v, a.y_min), a.y_max)
        return TOP + (H - TOP - BOTTOM) * (a.y_max - v) / (a.y_max - a.y_min)

    def band(lo, hi):
        up = [f"{px(r[0]):.1f},{py(hi(r)):.1f}" for r in ref]
        down = [f"{px(r[0]):.1f},{py(lo(r)):.1f}" for r in reversed(ref)]
        return " ".join(up + down)

    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
         f'font-family="sans-serif" font-size="11">', f'<rect width="{W}" height="{H}" fill="white"/>']
    # Grid and axes.
    step = 0.5
    v = math.ceil(a.y_min / step) * step
    while v <= a.y_max + 1e-9:
        s.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#ddd"/>')
        s.append(f'<text x="{LEFT - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{v:.1f}</text>')
        v += step
    for e in range(10, x_max + 1, 10):
        s.append(f'<line x1="{px(e):.1f}" x2="{px(e):.1f}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#eee"/>')
        s.append(f'<text x="{px(e):.1f}" y="{H - BOTTOM + 15}" text-anchor="middle">{e}</text>')
    s.append(f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" height="{H - TOP - BOTTOM}" '
             'fill="none" stroke="black"/>')
    s.append(f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 8}" text-anchor="middle">epochs trained</text>')
    s.append(f'<text x="14" y="{(TOP + H - BOTTOM) / 2}" text-anchor="middle" '
             f'transform="rotate(-90 14 {(TOP + H - BOTTOM) / 2})">test accuracy (%)</text>')
    # Reference: min-max band, mean ± sd band, mean line.
    s.append(f'<polygon points="{band(lambda r: r[3], lambda r: r[4])}" fill="#bbb" fill-opacity="0.35"/>')
    s.append(f'<polygon points="{band(lambda r: r[1] - r[2], lambda r: r[1] + r[2])}" '
             'fill="#777" fill-opacity="0.35"/>')
    mean = " ".join(f"{px(r[0]):.1f},{py(r[1]):.1f}" for r in ref)
    s.append(f'<polyline points="{mean}" fill="none" stroke="black" stroke-width="1.5"/>')
    legend = [("#bbb", f"{a.reference_label}: min-max", "band"),
              ("#777", f"{a.reference_label}: mean ± sd", "band"),
              ("black", f"{a.reference_label}: mean", "line")]
    for i, (label, pts) in enumerate(bands):
        c = COLOURS[(len(COLOURS) - 1 - i) % len(COLOURS)]
        up = [f"{px(e):.1f},{py(m + d):.1f}" for e, m, d in pts]
        down = [f"{px(e):.1f},{py(m - d):.1f}" for e, m, d in reversed(pts)]
        s.append(f'<polygon points="{" ".join(up + down)}" fill="{c}" fill-opacity="0.25"/>')
        line = " ".join(f"{px(e):.1f},{py(m):.1f}" for e, m, _ in pts)
        s.append(f'<polyline points="{line}" fill="none" stroke="{c}" stroke-width="1.5"/>')
        legend.append((c, f"{label}: mean ± sd", "line"))
    for i, (label, pts) in enumerate(runs):
        c = COLOURS[i % len(COLOURS)]
        # A line through consecutive epochs, a dot where the neighbours are missing.
        seg = []
        for j, (e, acc) in enumerate(pts):
            seg.append(f"{px(e):.1f},{py(acc):.1f}")
            last = j + 1 == len(pts) or pts[j + 1][0] != e + 1
            if last:
                if len(seg) > 1:
                    s.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{c}" stroke-width="1.2"/>')
                else:
                    x, y = seg[0].split(",")
                    s.append(f'<circle cx="{x}" cy="{y}" r="1.8" fill="{c}"/>')
                seg = []
        legend.append((c, label, "line"))
    y = TOP + 14
    for c, label, kind in legend:
        x = W - RIGHT + 10
        if kind == "band":
            s.append(f'<rect x="{x}" y="{y - 6}" width="18" height="10" fill="{c}" fill-opacity="0.5"/>')
        else:
            s.append(f'<line x1="{x}" x2="{x + 18}" y1="{y}" y2="{y}" stroke="{c}" stroke-width="2"/>')
        line = ""
        for w in label.split():  # wrapped at about 22 characters
            if len(line) + len(w) > 22 and line:
                s.append(f'<text x="{x + 24}" y="{y + 4}">{line}</text>')
                line, y = w, y + 12
            else:
                line = f"{line} {w}".strip()
        s.append(f'<text x="{x + 24}" y="{y + 4}">{line}</text>')
        y += 20
    s.append("</svg>")
    with open(a.out, "w") as f:
        f.write("\n".join(s) + "\n")


if __name__ == "__main__":
    main()
