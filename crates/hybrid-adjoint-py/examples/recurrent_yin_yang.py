"""Train a recurrent spiking network on Yin-Yang from Python with ``hybrid_adjoint.Network``.

    python crates/hybrid-adjoint-py/examples/recurrent_yin_yang.py [--epochs 2] [--train-samples 5000]

The network: the 5 Yin-Yang inputs -> 100 LIF neurons with a 1 ms refractory period and sparse
recurrent synapses (10 % of the pairs) -> 3 non-spiking readouts. The loss, written in NumPy, is
eq. (4) of the EventProp paper, the cross-entropy of ``softmax(max_t V)`` over the readouts; its
gradient comes from the cotangent entry point ``Network.vjp`` (exact, EventProp), one array per
projection (the recurrent one per synapse). Adam as in ``yin_yang.py``.
"""

import argparse
import time

import numpy as np

import hybrid_adjoint as ha
from yin_yang import Adam, batches


def new_net(rng, n_hidden=100, density=0.1):
    pairs = rng.random((n_hidden, n_hidden)) < density
    np.fill_diagonal(pairs, False)  # a recurrent projection has no self-connections
    pre, post = np.nonzero(pairs)
    return ha.Network(
        [ha.Population("hidden", n_hidden, t_ref=1.0),
         ha.Population("out", 3, kind="readout")],
        [ha.Projection("input", "hidden", weights=rng.normal(1.5, 0.78, (n_hidden, 5))),
         ha.Projection("hidden", "hidden", synapses=(pre, post, rng.normal(0.0, 0.1, pre.size))),
         ha.Projection("hidden", "out", weights=rng.normal(0.2, 0.37, (3, n_hidden)))],
        n_inputs=5, t_end=60.0,
    )


def loss_and_cotangent(net, fwd, labels):
    """Batch mean of -log softmax(max V)[label] over the readouts, and its cotangent on
    ``max_voltage``."""
    out = net.neurons("out")
    m = fwd.max_voltage[:, out]
    z = m - m.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    onehot = np.eye(m.shape[1])[labels]
    loss = float(-(np.log(p) * onehot).sum(axis=1).mean())
    d = np.zeros_like(fwd.max_voltage)
    d[:, out] = (p - onehot) / len(labels)
    return loss, d, m.argmax(axis=1)


def accuracy(net, split):
    fwd = net.forward(split["inputs"])
    pred = fwd.max_voltage[:, net.neurons("out")].argmax(axis=1)
    return float(np.mean(pred == split["labels"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--train-samples", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    config = ha.default_config("yin_yang")
    config["limits"]["train"] = args.train_samples
    data = ha.load_data(config)
    rng = np.random.default_rng(args.seed)
    net = new_net(rng)
    print(f"hybrid_adjoint {ha.__version__}, {ha.rayon_threads()} threads; {net!r}")
    weights = net.get_weights()
    adam = Adam(weights)
    train = data["train"]
    print(f"initial validation acc {accuracy(net, data['validation']):.3f}")
    for epoch in range(1, args.epochs + 1):
        start, losses = time.perf_counter(), []
        for idx in batches(len(train["inputs"]), 32, rng):
            inputs = [train["inputs"][i] for i in idx]
            fwd = net.forward(inputs)
            loss, d_max, _ = loss_and_cotangent(net, fwd, train["labels"][idx])
            losses.append(loss)
            adam.step(weights, net.vjp(inputs, d_max_voltage=d_max))
            net.set_weights(weights)
        seconds = time.perf_counter() - start
        print(f"epoch {epoch}: train loss {np.mean(losses):.3f}, validation acc "
              f"{accuracy(net, data['validation']):.3f} ({len(train['inputs']) / seconds:.0f} "
              f"samples/s)")


if __name__ == "__main__":
    main()
