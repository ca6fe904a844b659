"""Data-parallel MNIST training on Ray workers against one process: speed and bit-identity.

    python crates/hybrid-adjoint-py/examples/data_parallel_mnist.py --mnist DIR \\
        [--batches 300] [--batch-size 32] [--block 16] [--rounds 2]

Trains the paper's MNIST network (784-350-10, eq. (4) on a readout layer, Adam) for
``--batches`` minibatches in a fixed batch order, three ways, alternating over ``--rounds``:

- ``single-1``: one process, one rayon thread, :func:`hybrid_adjoint.ray.blocked_gradient`;
- ``ray-2``: :class:`hybrid_adjoint.ray.DataParallel` with 2 Ray workers (one CPU and one rayon
  thread each) on a local Ray cluster on 127.0.0.1 started here;
- ``single-2``: one process, two rayon threads (the same reduction order; for comparison).

Every run must end with bit for bit the same weights (checked). Printed per way: the time spent
in gradient calls (the Adam step and the rest of the loop excluded), samples per second, and for
Ray where the time went (``DataParallel.last_timing``): the workers' gradient work (wall and CPU
time) and the rest (weights into the object store, tasks and results through Ray, summing the
block gradients); and the CPU time of each whole run (Adam steps included): of the process, or
with Ray of the driver, Ray's daemons and the workers together (from /proc). DIR holds the four MNIST files (raw or ``.gz``). Needs Ray.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import hybrid_adjoint as ha

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def mnist_config(directory, n_train):
    def path(name):
        raw = os.path.join(directory, name)
        return raw if os.path.exists(raw) else raw + ".gz"

    config = ha.default_config("mnist")
    config["data"]["images"].update(
        train_images=path(FILES[0]), train_labels=path(FILES[1]),
        test_images=path(FILES[2]), test_labels=path(FILES[3]))
    config["limits"] = {"train": n_train, "validation": 1000, "test": 1000}
    return config


def new_net(seed):
    """Table 3's MNIST initialisation (normal weights), no input dropout."""
    rng = np.random.default_rng(seed)
    return ha.FeedForwardNet(
        [rng.normal(0.078, 0.045, (350, 784)), rng.normal(0.2, 0.37, (10, 350))],
        ["spiking", "readout"], t_end=40.0)


def batch_order(args):
    order = np.random.default_rng(args.seed).permutation(args.batches * args.batch_size)
    return order.reshape(args.batches, args.batch_size)


class Adam:
    def __init__(self, params, lr=5e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps, self.t = lr, beta1, beta2, eps, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params, grads):
        self.t += 1
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= self.lr * (m / (1 - self.b1 ** self.t)) / (
                np.sqrt(v / (1 - self.b2 ** self.t)) + self.eps)


def tree_cpu_seconds():
    """CPU time (user + system) of this process and its descendants (with Ray: its daemons and
    workers), from /proc; None where there is no /proc."""
    stats = {}
    try:
        pids = [int(d) for d in os.listdir("/proc") if d.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone
        stats[pid] = (int(fields[1]), int(fields[11]) + int(fields[12]))  # ppid, utime+stime
    tree, todo = set(), [os.getpid()]
    while todo:
        p = todo.pop()
        tree.add(p)
        todo += [c for c, (ppid, _) in stats.items() if ppid == p and c not in tree]
    return sum(stats[p][1] for p in tree if p in stats) / os.sysconf("SC_CLK_TCK")


def train(net, batches, gradient):
    """Adam over the batches; returns the final weights and per-step gradient timings."""
    weights = net.get_weights()
    adam, timings = Adam(weights), []
    for idx in batches:
        start, cpu = time.perf_counter(), time.process_time()
        g, extra = gradient(weights, idx)
        timings.append(dict(extra, wall=time.perf_counter() - start,
                            cpu=time.process_time() - cpu))
        adam.step(weights, g)
    return weights, timings


def single_process(args, out):
    """One process (RAYON_NUM_THREADS set by the caller); writes weights and timings."""
    from hybrid_adjoint.ray import blocked_gradient

    data = ha.load_data(mnist_config(args.mnist, args.batches * args.batch_size))["train"]
    net = new_net(args.seed)

    def gradient(weights, idx):
        net.set_weights(weights)
        r = blocked_gradient(net, [data["inputs"][i] for i in idx], data["labels"][idx],
                             block=args.block, loss="max_voltage")
        return r.gradient, {}

    cpu = time.process_time()
    weights, timings = train(net, batch_order(args), gradient)
    cpu = time.process_time() - cpu
    np.savez(out + ".npz", *weights)
    with open(out + ".json", "w") as f:
        json.dump({"threads": ha.rayon_threads(), "timings": timings, "run_cpu": cpu}, f)


def run_single(args, threads, tmp):
    out = os.path.join(tmp, f"single-{threads}")
    cmd = [sys.executable, __file__, "--single-to", out, "--mnist", args.mnist,
           "--batches", str(args.batches), "--batch-size", str(args.batch_size),
           "--block", str(args.block), "--seed", str(args.seed)]
    subprocess.run(cmd, check=True, env=dict(os.environ, RAYON_NUM_THREADS=str(threads)))
    with np.load(out + ".npz") as z:
        weights = [z[f"arr_{k}"] for k in range(len(z.files))]
    with open(out + ".json") as f:
        result = json.load(f)
    return weights, result["timings"], result["run_cpu"]


def run_ray(args, dp, net):
    def gradient(weights, idx):
        r = dp.loss_and_gradient(weights, idx)
        return r.gradient, dp.last_timing

    cpu = tree_cpu_seconds()
    weights, timings = train(net, batch_order(args), gradient)
    cpu = None if cpu is None else tree_cpu_seconds() - cpu
    return weights, timings, cpu


def report(name, timings, run_cpu, n_samples):
    wall = sum(t["wall"] for t in timings)
    line = f"{name:9s} gradient calls {wall:7.2f} s wall, {n_samples / wall:6.0f} samples/s"
    if run_cpu is not None:
        line += f"; whole run {run_cpu:.2f} s CPU" + (" (all Ray processes)" if name == "ray-2"
                                                       else "")
    if "worker_compute" in timings[0]:
        work = sum(max(t["worker_compute"]) for t in timings)
        cpu = [sum(t["worker_cpu"][k] for t in timings) for k in range(len(timings[0]["worker_cpu"]))]
        comm = sum(t["communication"] for t in timings)
        put = sum(t["put"] for t in timings)
        comb = sum(t["combine"] for t in timings)
        line += (f"\n          slowest worker's gradient work {work:.2f} s "
                 f"(CPU per worker {', '.join(f'{c:.2f}' for c in cpu)} s), "
                 f"Ray messaging {comm:.2f} s, put {put:.2f} s, combine {comb:.2f} s")
    else:
        line += f"\n          gradient calls' CPU {sum(t['cpu'] for t in timings):.2f} s"
    print(line, flush=True)
    return wall


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", required=True, help="directory of the MNIST files")
    ap.add_argument("--batches", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--block", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--single-to", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.single_to:
        return single_process(args, args.single_to)

    import ray
    from hybrid_adjoint.ray import DataParallel

    n = args.batches * args.batch_size
    config = mnist_config(args.mnist, n)
    data = ha.load_data(config)
    net = new_net(args.seed)
    # Ray starts its workers at niceness 15; on a shared machine they would then lose the CPU
    # to everything else while the single process (niceness 0) does not: level the field.
    os.environ.setdefault("RAY_worker_niceness", "0")
    ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False,
             log_to_driver=False, configure_logging=False)
    dp = DataParallel(net, data["train"]["inputs"], data["train"]["labels"], workers=2,
                      block=args.block, loss="max_voltage")
    dp.loss_and_gradient(net.get_weights(), np.arange(args.batch_size))  # workers up
    print(f"{args.batches} minibatches of {args.batch_size} ({n} samples), blocks of "
          f"{args.block}; seed {args.seed}", flush=True)
    totals, final = {}, {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.rounds):
                print(f"-- round {r + 1}", flush=True)
                for name in ("single-1", "ray-2", "single-2"):
                    if name == "ray-2":
                        weights, timings, cpu = run_ray(args, dp, new_net(args.seed))
                    else:
                        weights, timings, cpu = run_single(args, int(name[-1]), tmp)
                    totals.setdefault(name, []).append(report(name, timings, cpu, n))
                    final.setdefault(name, []).append(weights)
    finally:
        dp.shutdown()
        ray.shutdown()
    reference = final["single-1"][0]
    identical = all(
        np.array_equal(a.view(np.uint64), b.view(np.uint64))
        for runs in final.values() for w in runs for a, b in zip(w, reference))
    print(f"weights bit-identical across all {sum(map(len, final.values()))} runs: {identical}")
    best = {name: min(t) for name, t in totals.items()}
    print("best of rounds: " + ", ".join(f"{k} {v:.2f} s" for k, v in best.items()))
    print(f"speed-up ray-2 over single-1: {best['single-1'] / best['ray-2']:.2f}; "
          f"single-2 over single-1: {best['single-1'] / best['single-2']:.2f}")
    net.set_weights(reference)
    test = data["test"]
    _, pred = net.evaluate(test["inputs"], test["labels"], "max_voltage")
    print(f"test accuracy after training (first {len(pred)} test images): "
          f"{np.mean(pred == test['labels']):.3f}")
    if not identical:
        sys.exit("weights differ between runs")


if __name__ == "__main__":
    main()
