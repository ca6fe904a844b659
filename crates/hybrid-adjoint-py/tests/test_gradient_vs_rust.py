"""The gradient from Python equals the Rust library's bit for bit.

The reference is `lif-network`'s example `eventprop_reference`, a separate Rust program that
reads the case as text, calls `FeedForwardNet::loss_and_gradient` one sample at a time on one
thread and sums the per-sample gradients in sample order. The Python side goes through
everything the package adds: NumPy conversion and checks, the parallel batch (rayon, blocks),
the reduction, the arrays returned. Floats cross as shortest round-trip decimal text (Python's
`repr`, Rust's `{:?}`), which parses back to the same bits.
"""

import subprocess

import numpy as np
import pytest

from conftest import REPO, cargo


def case_text(net, inputs, labels, loss, tau0=0.5, tau1=6.4, alpha=3e-3):
    p = net.params
    lines = [f"{net.n_inputs} {len(net.layer_sizes)}"]
    lines += [f"{k} {n}" for k, n in zip(net.kinds, net.layer_sizes)]
    lines.append(" ".join(repr(float(p[k])) for k in ("tau_mem", "tau_syn", "threshold", "t_end")))
    lines.append(f"{loss} {tau0!r} {tau1!r} {alpha!r}")
    for w in net.get_weights():
        lines.append(" ".join(repr(float(x)) for x in w.ravel()))
    lines.append(str(len(inputs)))
    for (t, s), label in zip(inputs, labels):
        pairs = " ".join(f"{float(a)!r} {int(b)}" for a, b in zip(t, s))
        lines.append(f"{int(label)} {len(t)} {pairs}")
    return "\n".join(lines) + "\n"


def rust_reference(net, inputs, labels, loss):
    out = subprocess.run(
        [cargo(), "run", "--quiet", "--profile", "test", "-p", "lif-network",
         "--example", "eventprop_reference"],
        input=case_text(net, inputs, labels, loss),
        capture_output=True, text=True, cwd=REPO, check=False,
    )
    assert out.returncode == 0, out.stderr
    losses = {}
    grads = {"sum": [np.zeros_like(w) for w in net.get_weights()],
             "mean": [np.zeros_like(w) for w in net.get_weights()]}
    for line in out.stdout.splitlines():
        f = line.split()
        if f[0] == "loss":
            losses[int(f[1])] = float(f[2])
        else:
            g = grads[f[0]][int(f[1])]
            g.flat[int(f[2])] = float(f[3])
    return np.array([losses[b] for b in range(len(inputs))]), grads


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)


@pytest.mark.parametrize("which", ["first_spike", "max_voltage"])
def test_batch_gradient_equals_the_rust_librarys_bit_for_bit(
    which, spiking_net, readout_net, inputs5, inputs12
):
    net, inputs, labels = (
        (spiking_net, inputs5, [0, 1, 2, 0, 1, 2]) if which == "first_spike"
        else (readout_net, inputs12, [0, 1, 2, 3, 0])
    )
    ref_loss, ref = rust_reference(net, inputs, labels, which)
    for reduction in ("sum", "mean"):
        got = net.loss_and_gradient(inputs, labels, which, reduction=reduction)
        assert np.array_equal(bits(got.loss), bits(ref_loss))
        for g, r in zip(got.gradient, ref[reduction]):
            assert g.shape == r.shape
            assert np.array_equal(bits(g), bits(r)), f"{reduction}: max |diff| {np.abs(g - r).max()}"
    # Not a vacuous comparison: every layer receives gradient.
    assert all(np.count_nonzero(g) > 0 for g in ref["sum"])


def test_vjp_of_the_papers_loss_cotangents_equals_the_loss_gradient_bit_for_bit(
    readout_net, inputs12
):
    # Eq. (4)'s cotangents written in NumPy: d/dm (-log softmax(m)[label]) = softmax(m) - onehot.
    labels = np.array([0, 1, 2, 3, 0])
    fwd = readout_net.forward(inputs12)
    off = readout_net.neuron_offsets[-2]
    m = fwd.max_voltage[:, off:]
    e = np.exp(m - m.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1.0
    d_max = np.zeros_like(fwd.max_voltage)
    d_max[:, off:] = p
    ref_loss, ref = rust_reference(readout_net, inputs12, labels, "max_voltage")
    got = readout_net.vjp(inputs12, d_max_voltage=d_max)
    # The cotangents are computed in NumPy (another exp and sum order), so agreement is to
    # rounding, not bits.
    for g, r in zip(got, ref["sum"]):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12 * np.abs(r).max())
