#!/usr/bin/env python3
"""The 1000-neuron recurrent benchmark network in Brian2 and in lif-network's engine, in turn.

Exports the network (synapses and Poisson input, seed 1) from our example
`cargo run --release -p lif-network --example recurrent_1000 -- --export DIR`, which also times
our forward pass (exact, event-driven, one thread), then builds the same network in Brian2
(C++ standalone, one thread, 0.1 ms clock, exact linear integration between steps), runs 1 s,
and prints the synaptic events per second of each and the ratio.

Synaptic events are counted on each side from its own spikes: every spike (input or neuron) is
delivered to each of its targets. Brian2's run time is the network's run time that the
standalone binary reports (without compilation and start-up), ours the time of one forward pass;
both are the minimum over `--repeats` runs, the least disturbed by other processes. Not part of CI; see docs/performance.md for the setup (a venv with brian2 and
numpy < 2.4).

`--native` builds ours with `-C target-cpu=native` (in `target/native`), the instruction set Brian2's
standalone C++ is compiled for by default (`-march=native`); without it ours is the portable build.

Usage: python benches/peers/brian2_recurrent_1000.py [--t-ref MS] [--repeats N] [--workdir DIR] [--native]
"""

import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np


def run_ours(root, workdir, t_ref, repeats, native=False):
    env = dict(os.environ)
    if native:
        # As Brian2 builds its standalone C++ (`-march=native` by default): the host's
        # instruction set, in a target directory of its own so that the default build stays.
        env["RUSTFLAGS"] = (env.get("RUSTFLAGS", "") + " -C target-cpu=native").strip()
        env["CARGO_TARGET_DIR"] = os.path.join(root, "target", "native")
    cmd = [
        "cargo", "run", "--quiet", "--release", "-p", "lif-network", "--example",
        "recurrent_1000", "--", "--export", workdir, "--t-ref", str(t_ref),
        "--repeats", str(repeats),
    ]
    out = subprocess.run(cmd, cwd=root, env=env, check=True, capture_output=True, text=True).stdout
    print(out.strip())
    rate = float(re.search(r"ours forward: .*?, ([0-9.e+]+) events/s", out).group(1))
    events = int(re.search(r"(\d+) synaptic events", out).group(1))
    return rate, events


def run_brian2(workdir, t_ref, repeats, t_end_ms=1000.0):
    import brian2 as b2

    syn = np.loadtxt(os.path.join(workdir, "synapses.txt"))
    inp = np.loadtxt(os.path.join(workdir, "inputs.txt"))
    kind, pre, post, w = syn[:, 0], syn[:, 1].astype(int), syn[:, 2].astype(int), syn[:, 3]
    n = int(post.max()) + 1
    n_inputs = 1000
    dt_ms = 0.1
    # Brian2 refuses two spikes of one generator in one time step: keep the first.
    src, t = inp[:, 0].astype(int), inp[:, 1]
    keep = {}
    for s, tt in zip(src, t):
        keep.setdefault((s, int(tt / dt_ms)), tt)
    dropped = len(src) - len(keep)
    src = np.array([k[0] for k in keep])
    t = np.array(list(keep.values()))

    b2.set_device("cpp_standalone", directory=os.path.join(workdir, "brian2_build"), build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    b2.defaultclock.dt = dt_ms * b2.ms
    taum, taus = 20 * b2.ms, 5 * b2.ms
    eqs = """
    dv/dt = (I - v) / taum : 1 (unless refractory)
    dI/dt = -I / taus : 1
    """
    G = b2.NeuronGroup(n, eqs, threshold="v > 1", reset="v = 0",
                       refractory=t_ref * b2.ms, method="exact")
    P = b2.SpikeGeneratorGroup(n_inputs, src, t * b2.ms)
    s_in = b2.Synapses(P, G, "w : 1", on_pre="I_post += w")
    m = kind == 0
    s_in.connect(i=pre[m], j=post[m])
    s_in.w = w[m]
    s_rec = b2.Synapses(G, G, "w : 1", on_pre="I_post += w")
    m = kind == 1
    s_rec.connect(i=pre[m], j=post[m])
    s_rec.w = w[m]
    mon_g = b2.SpikeMonitor(G)
    mon_p = b2.SpikeMonitor(P)
    b2.run(t_end_ms * b2.ms)
    start = time.perf_counter()
    b2.device.build(directory=os.path.join(workdir, "brian2_build"), compile=True, run=True)
    wall = time.perf_counter() - start
    run_time = b2.device._last_run_time
    # Rerun the compiled binary: the minimum is the run least disturbed by other processes.
    for _ in range(repeats - 1):
        b2.device.run(directory=os.path.join(workdir, "brian2_build"), with_output=False)
        run_time = min(run_time, b2.device._last_run_time)
    out_in = np.bincount(pre[kind == 0], minlength=n_inputs)
    out_rec = np.bincount(pre[kind == 1], minlength=n)
    events = int(out_in[np.asarray(mon_p.i)].sum() + out_rec[np.asarray(mon_g.i)].sum())
    spikes = len(mon_g.i)
    print(f"brian2 {b2.__version__}: {spikes} spikes ({spikes / n / (t_end_ms / 1000):.2f} Hz), "
          f"{events} synaptic events, run {run_time:.4f} s (minimum of {repeats}; build+run wall {wall:.1f} s), "
          f"{dropped} input spikes dropped (same time step)")
    return events / run_time, events


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--t-ref", type=float, default=0.0)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--workdir", default="/tmp/recurrent_1000_peer")
    ap.add_argument("--native", action="store_true",
                    help="build ours with -C target-cpu=native, as Brian2 compiles with -march=native")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.makedirs(a.workdir, exist_ok=True)
    ours, _ = run_ours(root, a.workdir, a.t_ref, a.repeats, a.native)
    theirs, _ = run_brian2(a.workdir, a.t_ref, a.repeats)
    print(f"events/s: ours {ours:.3e}, brian2 {theirs:.3e}, ratio ours/brian2 {ours / theirs:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
