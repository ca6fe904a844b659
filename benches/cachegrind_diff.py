#!/usr/bin/env python3
"""Marginal instructions per function between two cachegrind runs of the same binary.

Run a driver twice with different repeat counts (e.g. 1000 and 2000 ball gradients, or 1 and 3
rounds of samples) under `valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=F`;
the difference of the two profiles, divided by the extra repeats, is the cost of one repeat
with start-up and first-call allocations cancelled.

usage: cachegrind_diff.py SMALL.cg LARGE.cg DIVISOR [TOP]
"""
import collections
import re
import sys


def per_function(path):
    """Instructions (the first event column) summed per function name."""
    counts = collections.Counter()
    function = None
    with open(path) as f:
        for line in f:
            if line.startswith("fn="):
                function = line[3:].strip()
            elif line[:1].isdigit():
                fields = line.split()
                if len(fields) >= 2:
                    counts[function] += int(fields[1])
    return counts


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    small, large = per_function(sys.argv[1]), per_function(sys.argv[2])
    divisor = float(sys.argv[3])
    top = int(sys.argv[4]) if len(sys.argv) == 5 else 40
    marginal = collections.Counter(
        {name: (large[name] - small.get(name, 0)) / divisor for name in large}
    )
    total = sum(marginal.values())
    print(f"total {total:.0f}")
    for name, count in marginal.most_common(top):
        short = re.sub(r"<impl [^>]*>", "", name)[:150]
        print(f"{count:10.0f} {100 * count / total:5.1f}%  {short}")


if __name__ == "__main__":
    main()
