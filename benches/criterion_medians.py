#!/usr/bin/env python3
"""Print the median and its 95 % confidence interval of every criterion benchmark whose id
starts with one of the given prefixes, as Markdown table rows, from the `estimates.json` files of
the last run (`<target>/criterion/**/new/`). Used to fill docs/performance.md.

Usage: benches/criterion_medians.py [--dir <criterion dir>] PREFIX...
The directory defaults to $CARGO_TARGET_DIR/criterion, else target/criterion.
With a throughput recorded (`benchmark.json`), the last columns give elements per second at the
median time and elements per call.
"""

import json
import os
import sys
from pathlib import Path


def fmt_time(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def main() -> None:
    args = sys.argv[1:]
    root = Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "criterion"
    if args[:1] == ["--dir"]:
        root, args = Path(args[1]), args[2:]
    rows = []
    for est in sorted(root.glob("**/new/estimates.json")):
        bench = json.loads((est.parent / "benchmark.json").read_text())
        full_id = bench["full_id"]
        if args and not any(full_id.startswith(p) for p in args):
            continue
        med = json.loads(est.read_text())["median"]
        lo, hi = med["confidence_interval"]["lower_bound"], med["confidence_interval"]["upper_bound"]
        m = med["point_estimate"]
        thr = bench.get("throughput") or {}
        elems = thr.get("Elements") or thr.get("Bytes")
        rate = f"{elems / (m * 1e-9):.4g}/s" if elems else ""
        rows.append(
            f"| {full_id} | {fmt_time(m)} | [{fmt_time(lo)}, {fmt_time(hi)}] | "
            f"{rate} | {elems or ''} |"
        )
    print("| benchmark | median | 95 % CI of median | elements/s at median | elements per call |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
