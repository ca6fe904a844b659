"""Train Yin-Yang with a loss written in JAX, through the ``jax.custom_vjp`` adapter.

    python crates/hybrid-adjoint-py/examples/jax_yin_yang.py [--epochs 5] [--train-samples 5000]

The network (5-200-3, all spiking, Table 3's initialisation) runs in Rust; the loss, eq. (3) of
the EventProp paper on the output neurons' first spike times, is written in ``jax.numpy`` and
``jax.grad`` differentiates it with the exact EventProp gradient (``hybrid_adjoint.jax``). Adam
is written in JAX too. Needs JAX with 64-bit floats.
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

import hybrid_adjoint as ha  # noqa: E402
from hybrid_adjoint.jax import spike_outputs  # noqa: E402

T_END = 60.0


def eq3_loss(f, labels, out, tau0=0.5, tau1=6.4, alpha=3e-3):
    """Eq. (3) on the first spike times of the output neurons ``out``: the cross-entropy of
    softmax(-t/tau0) plus alpha (exp(t_label/tau1) - 1). A silent neuron counts as spiking at
    the end of the simulation (no gradient flows through it)."""

    def loss(weights):
        t, _ = f(weights)
        t = jnp.where(jnp.isfinite(t[:, out]), t[:, out], T_END)
        rows = jnp.arange(len(labels))
        ce = -jax.nn.log_softmax(-t / tau0)[rows, labels]
        return jnp.mean(ce + alpha * (jnp.exp(t[rows, labels] / tau1) - 1.0))

    return loss


def adam(lr=5e-3, b1=0.9, b2=0.999, eps=1e-8):
    def init(params):
        return [jnp.zeros_like(p) for p in params], [jnp.zeros_like(p) for p in params], 0

    def update(params, grads, state, lr=lr):
        m, v, t = state
        t += 1
        m = [b1 * a + (1 - b1) * g for a, g in zip(m, grads)]
        v = [b2 * a + (1 - b2) * g * g for a, g in zip(v, grads)]
        params = [p - lr * (a / (1 - b1**t)) / (jnp.sqrt(b / (1 - b2**t)) + eps)
                  for p, a, b in zip(params, m, v)]
        return params, (m, v, t)

    return init, update


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--train-samples", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    config = ha.default_config("yin_yang")
    config["limits"]["train"] = args.train_samples
    data = ha.load_data(config)
    train, val = data["train"], data["validation"]

    rng = np.random.default_rng(args.seed)
    net = ha.FeedForwardNet([rng.normal(1.5, 0.78, (200, 5)), rng.normal(0.93, 0.1, (3, 200))],
                            t_end=T_END)
    out = slice(net.neuron_offsets[-2], None)
    weights = [jnp.asarray(w) for w in net.get_weights()]
    init, update = adam()
    state, lr = init(weights), 5e-3

    def accuracy(split):
        net.set_weights([np.asarray(w) for w in weights])
        _, pred = net.evaluate(split["inputs"], split["labels"])
        return float(np.mean(pred == split["labels"]))

    print(f"jax {jax.__version__}; initial validation accuracy {accuracy(val):.3f}")
    for epoch in range(1, args.epochs + 1):
        start, losses = time.perf_counter(), []
        for idx in np.split(rng.permutation(len(train["labels"])),
                            range(32, len(train["labels"]), 32)):
            f = spike_outputs(net, [train["inputs"][i] for i in idx])
            value, grads = jax.value_and_grad(eq3_loss(f, train["labels"][idx], out))(weights)
            weights, state = update(weights, grads, state, lr)
            losses.append(float(value))
        lr *= 0.95
        print(f"epoch {epoch}: train loss {np.mean(losses):.4f}, validation accuracy "
              f"{accuracy(val):.3f} ({time.perf_counter() - start:.1f} s)", flush=True)
    print(f"test accuracy {accuracy(data['test']):.3f}")


if __name__ == "__main__":
    main()
