"""The overhead of the Python boundary: Yin-Yang training samples per second from Python
against the snn-train program, on the same configuration (Table 3, full training set).

    cargo build --release -p snn-train
    python crates/hybrid-adjoint-py/examples/boundary_overhead.py [--epochs 3] [--rounds 2]

Runs alternate (CLI, Python trainer, Python NumPy loop, ...) so that a changing machine load
hits all of them alike. The trainer's rate is training examples per second of epoch time
(training pass and validation scoring, from metrics.json, as both write it); the NumPy loop's is
training examples per second of its loop (loss_and_gradient per minibatch of 32, Adam in NumPy,
set_weights).
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import hybrid_adjoint as ha

REPO = Path(__file__).resolve().parents[3]


def epoch_rates(run_dir, n_train):
    metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    return [n_train / m["seconds"] for m in metrics]


def cli(epochs, out):
    exe = REPO / "target" / "release" / "snn-train"
    subprocess.run([str(exe), "yin-yang", "--epochs", str(epochs), "--out", str(out), "--force"],
                   check=True, capture_output=True)


def python_trainer(epochs, out):
    c = ha.default_config("yin_yang")
    c["train"]["epochs"] = epochs
    ha.train(c, out, mode="force")


def numpy_loop(data, epochs):
    rng = np.random.default_rng(0)
    net = ha.FeedForwardNet([rng.normal(1.5, 0.78, (200, 5)), rng.normal(0.93, 0.1, (3, 200))],
                            t_end=60.0)
    w = net.get_weights()
    m = [np.zeros_like(x) for x in w]
    v = [np.zeros_like(x) for x in w]
    train, rates, step = data["train"], [], 0
    for _ in range(epochs):
        start = time.perf_counter()
        order = rng.permutation(len(train["inputs"]))
        for s in range(0, len(order), 32):
            idx = order[s:s + 32]
            g = net.loss_and_gradient([train["inputs"][i] for i in idx], train["labels"][idx])
            step += 1
            for k in range(len(w)):
                m[k] = 0.9 * m[k] + 0.1 * g.gradient[k]
                v[k] = 0.999 * v[k] + 0.001 * g.gradient[k] ** 2
                w[k] -= 5e-3 * (m[k] / (1 - 0.9 ** step)) / (
                    np.sqrt(v[k] / (1 - 0.999 ** step)) + 1e-8)
            net.set_weights(w)
        rates.append(len(order) / (time.perf_counter() - start))
    return rates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    n_train = 5000
    data = ha.load_data(ha.default_config("yin_yang"))
    rates = {"cli": [], "python trainer": [], "numpy loop": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            cli(args.epochs, Path(tmp) / "cli")
            rates["cli"] += epoch_rates(Path(tmp) / "cli", n_train)
            python_trainer(args.epochs, Path(tmp) / "py")
            rates["python trainer"] += epoch_rates(Path(tmp) / "py", n_train)
            rates["numpy loop"] += numpy_loop(data, args.epochs)
    print(f"threads {ha.rayon_threads()}, load {os.getloadavg()}")
    for k, r in rates.items():
        print(f"{k:15s} median {statistics.median(r):7.0f} samples/s  "
              f"(epochs: {', '.join(f'{x:.0f}' for x in r)})")
    c, p = statistics.median(rates["cli"]), statistics.median(rates["python trainer"])
    print(f"python trainer / cli = {p / c:.3f}")


if __name__ == "__main__":
    main()
