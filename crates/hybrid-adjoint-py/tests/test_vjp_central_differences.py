"""The cotangent entry point (`vjp`) against central differences of losses written in Python:
for L(outputs(W)), vjp(dL/d outputs) must be dL/dW. Weights are moved one at a time by ±h and the
whole batch re-simulated; the spike pattern is checked to stay the same, so the loss is smooth
there."""

import numpy as np
import pytest


def central_differences(net, loss_of_forward, inputs, entries, h=1e-6):
    base = net.get_weights()
    n_spikes = [len(t) for t in net.forward(inputs).spike_times]
    out = []
    for layer, index in entries:
        vals = []
        for sign in (1.0, -1.0):
            w = [a.copy() for a in base]
            w[layer].flat[index] += sign * h
            net.set_weights(w)
            fwd = net.forward(inputs)
            assert [len(t) for t in fwd.spike_times] == n_spikes, "spike pattern changed"
            vals.append(loss_of_forward(fwd))
        out.append((vals[0] - vals[1]) / (2 * h))
    net.set_weights(base)
    return np.array(out)


def some_entries(net, rng, per_layer=8):
    return [(l, int(i)) for l, w in enumerate(net.get_weights())
            for i in rng.choice(w.size, per_layer, replace=False)]


def check(net, inputs, loss_of_forward, cotangents, seed=0):
    fwd = net.forward(inputs)
    grad = net.vjp(inputs, **cotangents(fwd))
    entries = some_entries(net, np.random.default_rng(seed))
    fd = central_differences(net, loss_of_forward, inputs, entries)
    got = np.array([grad[l].flat[i] for l, i in entries])
    scale = max(np.abs(np.concatenate([g.ravel() for g in grad])).max(), 1e-12)
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-6 * scale)
    assert np.count_nonzero(got) > len(got) // 2, "most checked entries should have a gradient"


def test_vjp_of_a_nonlinear_loss_on_first_spike_times_matches_central_differences(
    spiking_net, inputs5
):
    # L = sum over samples and spiking neurons of sin(t/7) (silent neurons left out).
    def loss(fwd):
        t = fwd.first_spike_times
        return np.sin(t[np.isfinite(t)] / 7.0).sum()

    def cot(fwd):
        t = fwd.first_spike_times
        d = np.where(np.isfinite(t), np.cos(np.where(np.isfinite(t), t, 0.0) / 7.0) / 7.0, 0.0)
        return {"d_first_spike_times": d}

    assert np.isfinite(spiking_net.forward(inputs5).first_spike_times).sum() > 20
    check(spiking_net, inputs5, loss, cot)


def test_vjp_of_a_loss_on_every_spike_time_matches_central_differences(spiking_net, inputs5):
    # L = sum of t^2/100 over all spikes of all samples.
    def loss(fwd):
        return sum((t ** 2).sum() / 100.0 for t in fwd.spike_times)

    def cot(fwd):
        return {"d_spike_times": [2.0 * t / 100.0 for t in fwd.spike_times]}

    check(spiking_net, inputs5, loss, cot, seed=1)


def test_vjp_of_a_loss_on_voltage_maxima_matches_central_differences(readout_net, inputs12):
    # L = sum over samples of log-sum-exp of the readout maxima, minus the first maximum.
    off = readout_net.neuron_offsets[-2]

    def loss(fwd):
        m = fwd.max_voltage[:, off:]
        return (np.log(np.exp(m).sum(axis=1)) - m[:, 0]).sum()

    def cot(fwd):
        m = fwd.max_voltage[:, off:]
        p = np.exp(m) / np.exp(m).sum(axis=1, keepdims=True)
        p[:, 0] -= 1.0
        d = np.zeros_like(fwd.max_voltage)
        d[:, off:] = p
        return {"d_max_voltage": d}

    check(readout_net, inputs12, loss, cot, seed=2)


@pytest.mark.parametrize("loss", ["first_spike", "max_voltage"])
def test_loss_gradient_matches_central_differences_of_the_loss_value(
    loss, spiking_net, readout_net, inputs5, inputs12
):
    net, inputs, labels = (
        (spiking_net, inputs5, [0, 1, 2, 0, 1, 2]) if loss == "first_spike"
        else (readout_net, inputs12, [0, 1, 2, 3, 0])
    )
    result = net.loss_and_gradient(inputs, labels, loss, reduction="sum")
    assert np.isfinite(result.loss).all()
    grad = result.gradient

    def total(fwd):  # the forward result is not used: the loss is re-evaluated by the library
        return net.evaluate(inputs, labels, loss)[0].sum()

    entries = some_entries(net, np.random.default_rng(3))
    fd = central_differences(net, total, inputs, entries)
    got = np.array([grad[l].flat[i] for l, i in entries])
    scale = np.abs(np.concatenate([g.ravel() for g in grad])).max()
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-6 * scale)
