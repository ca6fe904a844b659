"""Train the EventProp paper's Yin-Yang network from Python, three ways.

    python crates/hybrid-adjoint-py/examples/yin_yang.py [--epochs 5] [--train-samples 5000]

1. The trainer of snn-train (``hybrid_adjoint.train``): the paper's Table 3 settings, a run
   directory with checkpoints, a callback printing every epoch.
2. A training loop in NumPy: the paper's loss (eq. 3) and its exact gradient from
   ``FeedForwardNet.loss_and_gradient``, Adam written out.
3. A loss written in Python (a softmax cross-entropy on first spike times with a different
   temperature schedule) trained through the cotangent entry point ``FeedForwardNet.vjp``.
"""

import argparse
import tempfile
import time

import numpy as np

import hybrid_adjoint as ha


class Adam:
    """Adam (Kingma & Ba) on a list of arrays, Table 3's settings."""

    def __init__(self, params, lr=5e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, beta1, beta2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, params, grads):
        self.t += 1
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            mh = m / (1 - self.b1 ** self.t)
            vh = v / (1 - self.b2 ** self.t)
            p -= self.lr * mh / (np.sqrt(vh) + self.eps)


def accuracy(net, data):
    _, pred = net.evaluate(data["inputs"], data["labels"])
    return float(np.mean(pred == data["labels"]))


def batches(n, size, rng):
    order = rng.permutation(n)
    for start in range(0, n, size):
        yield order[start:start + size]


def with_trainer(config, epochs):
    print("== 1. the snn-train trainer")
    config = dict(config, train=dict(config["train"], epochs=epochs))
    with tempfile.TemporaryDirectory() as out:
        result = ha.train(
            config, out,
            callback=lambda m: print(
                f"epoch {m['epoch']}: train acc {m['train_accuracy']:.3f}, "
                f"validation acc {m['validation_accuracy']:.3f} ({m['seconds']:.2f} s)"),
        )
    print(f"test accuracy {result.summary['test']['accuracy']:.3f}")


def new_net(seed):
    rng = np.random.default_rng(seed)
    return ha.FeedForwardNet(
        [rng.normal(1.5, 0.78, (200, 5)), rng.normal(0.93, 0.1, (3, 200))], t_end=60.0)


def with_numpy_loop(data, epochs, seed=0):
    print("== 2. NumPy loop on the paper's loss (eq. 3)")
    net, rng = new_net(seed), np.random.default_rng(seed)
    weights = net.get_weights()
    adam = Adam(weights)
    train = data["train"]
    print(f"initial validation acc {accuracy(net, data['validation']):.3f}")
    for epoch in range(1, epochs + 1):
        start, n = time.perf_counter(), 0
        for idx in batches(len(train["inputs"]), 32, rng):
            r = net.loss_and_gradient([train["inputs"][i] for i in idx], train["labels"][idx])
            adam.step(weights, r.gradient)
            net.set_weights(weights)
            n += len(idx)
        rate = n / (time.perf_counter() - start)
        adam.lr *= 0.95
        print(f"epoch {epoch}: validation acc {accuracy(net, data['validation']):.3f} "
              f"({rate:.0f} samples/s)")


def with_custom_loss(data, epochs, seed=1):
    print("== 3. a loss written in Python, through vjp")
    net, rng = new_net(seed), np.random.default_rng(seed)
    weights = net.get_weights()
    adam = Adam(weights)
    train, out = data["train"], slice(net.neuron_offsets[-2], None)
    for epoch in range(1, epochs + 1):
        tau = 1.0 / epoch  # a softmax temperature that sharpens with the epochs
        for idx in batches(len(train["inputs"]), 32, rng):
            inputs = [train["inputs"][i] for i in idx]
            labels = train["labels"][idx]
            t = net.forward(inputs).first_spike_times
            # Cross-entropy of softmax(-t/tau) over the output neurons; silent ones drop out.
            z = np.where(np.isfinite(t[:, out]), -t[:, out] / tau, -np.inf)
            zmax = np.max(np.where(np.isfinite(z), z, -1e300), axis=1, keepdims=True)
            p = np.exp(z - zmax)
            p /= np.maximum(p.sum(axis=1, keepdims=True), 1e-300)
            d = np.zeros_like(t)
            onehot = np.eye(t[:, out].shape[1])[labels]
            # d/dt of -log p_label = (onehot - p) / tau, for the batch mean.
            d[:, out] = np.where(np.isfinite(t[:, out]), (onehot - p) / tau, 0.0) / len(idx)
            adam.step(weights, net.vjp(inputs, d_first_spike_times=d))
            net.set_weights(weights)
        print(f"epoch {epoch}: validation acc {accuracy(net, data['validation']):.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--train-samples", type=int, default=5000)
    args = ap.parse_args()
    config = ha.default_config("yin_yang")
    config["limits"]["train"] = args.train_samples
    print(f"hybrid_adjoint {ha.__version__}, {ha.rayon_threads()} threads")
    with_trainer(config, args.epochs)
    data = ha.load_data(config)
    with_numpy_loop(data, args.epochs)
    with_custom_loss(data, args.epochs)


if __name__ == "__main__":
    main()
