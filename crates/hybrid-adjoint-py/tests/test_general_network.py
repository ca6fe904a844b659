"""`Network`, the general network: its vector-Jacobian product against central differences of a
loss written in Python on a recurrent, sparse network with refractory periods, and layered
networks built with it against `FeedForwardNet` bit for bit; a short training run of the
recurrent Yin-Yang example gains accuracy."""

import importlib
import pickle
import sys

import numpy as np
import pytest

import hybrid_adjoint as ha
from conftest import REPO


def sparse(rng, n_pre, n_post, k, mean, sd, recurrent=False):
    """`k` distinct random synapses (no self-connections if `recurrent`), in random order."""
    pairs = [(a, b) for a in range(n_pre) for b in range(n_post) if not (recurrent and a == b)]
    idx = rng.choice(len(pairs), k, replace=False)
    pre = np.array([pairs[i][0] for i in idx])
    post = np.array([pairs[i][1] for i in idx])
    return pre, post, rng.normal(mean, sd, k)


def recurrent_net():
    """5 inputs -> h1 (8, t_ref 3 ms) <-> h2 (5, own parameters, t_ref 1.5 ms) -> readout (3):
    dense input and readout projections, sparse recurrent h1 -> h1 (with a duplicated synapse)
    and h2 -> h1, sparse h1 -> h2; synapses listed in random order."""
    rng = np.random.default_rng(1)
    pops = [
        ha.Population("h1", 8, t_ref=3.0),
        ha.Population("h2", 5, tau_mem=15.0, tau_syn=4.0, threshold=0.8, t_ref=1.5),
        ha.Population("out", 3, tau_mem=10.0, tau_syn=5.0, kind="readout"),
    ]
    rec = sparse(rng, 8, 8, 14, 0.4, 0.3, recurrent=True)
    rec = tuple(np.append(a, a[0]) for a in rec[:2]) + (np.append(rec[2], 0.25),)
    projs = [
        ha.Projection("input", "h1", weights=rng.normal(1.6, 0.6, (8, 5))),
        ha.Projection("h1", "h1", synapses=rec),
        ha.Projection("h1", "h2", synapses=sparse(rng, 8, 5, 16, 1.0, 0.3)),
        ha.Projection("h2", "h1", synapses=sparse(rng, 5, 8, 8, 0.3, 0.3)),
        ha.Projection("h1", "out", weights=rng.normal(0.3, 0.3, (3, 8))),
        ha.Projection("h2", "out", weights=rng.normal(0.3, 0.3, (3, 5))),
    ]
    return ha.Network(pops, projs, n_inputs=5, t_end=50.0)


def two_spikes_per_input(seed, n_samples, n_inputs=5, t_max=25.0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_samples):
        s = np.repeat(np.arange(n_inputs), 2)
        t = rng.uniform(0.0, t_max, s.size)
        o = np.argsort(t, kind="stable")
        out.append((t[o], s[o].astype(np.int64)))
    return out


C = np.random.default_rng(9).normal(size=16)


def loss(fwd):
    """Σ c_j sin(t_j/7) over first spikes + ½ Σ (max V)² over readouts + 0.01 Σ t_k² over all
    spikes, summed over the batch."""
    t = fwd.first_spike_times
    fin = np.isfinite(t)
    m = fwd.max_voltage
    tracked = np.isfinite(m)
    return ((np.sin(np.where(fin, t, 0.0) / 7.0) * C)[fin].sum()
            + 0.5 * (m[tracked] ** 2).sum()
            + sum(0.01 * (s ** 2).sum() for s in fwd.spike_times))


def loss_cotangents(fwd):
    t = fwd.first_spike_times
    fin = np.isfinite(t)
    m = fwd.max_voltage
    return dict(
        d_first_spike_times=np.where(fin, C * np.cos(np.where(fin, t, 0.0) / 7.0) / 7.0, 0.0),
        d_max_voltage=np.where(np.isfinite(m), m, 0.0),
        d_spike_times=[0.02 * s for s in fwd.spike_times],
    )


def test_vjp_of_a_python_loss_on_a_recurrent_sparse_refractory_network_matches_central_differences():
    net = recurrent_net()
    inputs = two_spikes_per_input(2, 3)
    fwd = net.forward(inputs)
    pattern = fwd.spike_neurons
    h2 = net.neurons("h2")
    # The case exercises what it claims: h2 fires (its projections to h1 and to the readout
    # carry spikes), and most h1 neurons fire twice (a release from refractoriness between).
    assert all(np.isin(np.arange(h2.start, h2.stop), n).any() for n in pattern)
    assert all((np.bincount(n, minlength=8)[:8] >= 2).sum() >= 6 for n in pattern)
    grad = net.vjp(inputs, **loss_cotangents(fwd))
    base = net.get_weights()
    assert [g.shape for g in grad] == [w.shape for w in base]

    # Every weight moved by ±h, the batch re-simulated; the spike pattern (which neuron fires,
    # in which order) must not change, so L is smooth there. Central differences err by
    # (h²/6)|L'''| plus rounding (~ δL/h): measured on this case (max |g| = 14.1), max |FD - vjp|
    # is 1.4e-8 at h = 1e-5, 4.1e-8 at h = 1e-6 and 3.9e-7 at h = 1e-7 (rounding, the 1/h law).
    # The tolerance at h = 1e-5, 1e-8 max|g| + 1e-7 |g| (>= 1.4e-7), is 10x that FD error.
    h = 1e-5
    fd = []
    for p, w in enumerate(base):
        fd_p = np.zeros(w.size)
        for i in range(w.size):
            vals = []
            for sign in (1.0, -1.0):
                moved = [a.copy() for a in base]
                moved[p].flat[i] += sign * h
                net.set_weights(moved)
                f = net.forward(inputs)
                assert all(np.array_equal(a, b) for a, b in zip(f.spike_neurons, pattern)), \
                    f"spike pattern changed moving weight {i} of projection {p}"
                vals.append(loss(f))
            fd_p[i] = (vals[0] - vals[1]) / (2 * h)
        fd.append(fd_p.reshape(w.shape))
    net.set_weights(base)
    scale = max(np.abs(g).max() for g in grad)
    for p, (g, d) in enumerate(zip(grad, fd)):
        np.testing.assert_allclose(g, d, rtol=1e-7, atol=1e-8 * scale, err_msg=f"projection {p}")
    # The recurrent and sparse projections carry gradient (not a vacuous comparison).
    for p in (1, 2, 3):
        assert np.count_nonzero(grad[p]) >= 3, f"projection {p}: {grad[p]}"
    # Duplicated synapses (the last one repeats the first) have the same gradient.
    assert grad[1][-1] == grad[1][0] != 0.0


def layered_as_general(ff):
    """The layered network `ff` built with the general API: populations "layer l", dense
    projections from the inputs and from each layer to the next."""
    p = ff.params
    pops = [ha.Population(f"layer {l}", n, tau_mem=p["tau_mem"], tau_syn=p["tau_syn"],
                          threshold=p["threshold"], kind=k)
            for l, (n, k) in enumerate(zip(ff.layer_sizes, ff.kinds))]
    projs = [ha.Projection("input" if l == 0 else f"layer {l - 1}", f"layer {l}", weights=w)
             for l, w in enumerate(ff.get_weights())]
    return ha.Network(pops, projs, n_inputs=ff.n_inputs, t_end=p["t_end"])


def assert_bits_equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("which", ["spiking_net", "readout_net"])
def test_a_layered_network_built_with_the_general_api_equals_feed_forward_net_bit_for_bit(
    which, request, inputs5, inputs12
):
    ff = request.getfixturevalue(which)
    inputs = inputs5 if which == "spiking_net" else inputs12
    net = layered_as_general(ff)
    assert net.neuron_offsets == ff.neuron_offsets
    a, b = ff.forward(inputs), net.forward(inputs)
    for x, y in zip(a, b):
        if isinstance(x, list):
            assert len(x) == len(y)
            for u, v in zip(x, y):
                assert_bits_equal(u, v)
        else:
            assert_bits_equal(x, y)
    assert sum(len(t) for t in a.spike_times) > 10
    rng = np.random.default_rng(4)
    cot = dict(
        d_first_spike_times=rng.normal(size=a.first_spike_times.shape),
        d_max_voltage=rng.normal(size=a.max_voltage.shape),
        d_spike_times=[rng.normal(size=t.size) for t in a.spike_times],
    )
    ga, gb = ff.vjp(inputs, **cot), net.vjp(inputs, **cot)
    assert len(ga) == len(gb)
    for x, y in zip(ga, gb):
        assert_bits_equal(x, y)
        assert np.count_nonzero(x) > x.size // 2


def test_weights_round_trip_through_get_set_and_pickle_in_the_callers_layout():
    net = recurrent_net()
    w = net.get_weights()
    pre, post = net.synapses(1)
    assert w[1].shape == pre.shape == post.shape
    moved = [a * 1.5 for a in w]
    net.set_weights(moved)
    for x, y in zip(net.get_weights(), moved):
        assert_bits_equal(x, y)
    clone = pickle.loads(pickle.dumps(net))
    assert repr(clone) == repr(net)
    inputs = two_spikes_per_input(5, 2)
    for x, y in zip(clone.forward(inputs).spike_times, net.forward(inputs).spike_times):
        assert_bits_equal(x, y)


def test_a_dense_recurrent_projection_has_no_diagonal_and_its_gradient_there_is_zero():
    rng = np.random.default_rng(3)
    w_rec = rng.normal(0.3, 0.2, (6, 6))
    np.fill_diagonal(w_rec, 0.0)
    net = ha.Network(
        [ha.Population("h", 6, t_ref=1.0)],
        [ha.Projection("input", "h", weights=rng.normal(1.5, 0.5, (6, 4))),
         ha.Projection("h", "h", weights=w_rec)],
        n_inputs=4, t_end=40.0,
    )
    inputs = two_spikes_per_input(6, 3, n_inputs=4)
    fwd = net.forward(inputs)
    g = net.vjp(inputs, d_spike_times=[np.ones(t.size) for t in fwd.spike_times])
    assert_bits_equal(net.get_weights()[1], w_rec)
    assert np.all(np.diag(g[1]) == 0.0)
    assert np.count_nonzero(g[1]) > 6


def test_a_recurrent_network_trained_through_vjp_by_the_example_gains_yin_yang_accuracy():
    examples = REPO / "crates" / "hybrid-adjoint-py" / "examples"
    if not (examples / "recurrent_yin_yang.py").is_file():
        pytest.skip("needs the repository checkout (examples/recurrent_yin_yang.py)")
    sys.path.insert(0, str(examples))
    try:
        ex = importlib.import_module("recurrent_yin_yang")
    finally:
        sys.path.remove(str(examples))
    config = ha.default_config("yin_yang")
    config["limits"]["train"] = 1000
    data = ha.load_data(config)
    rng = np.random.default_rng(0)
    net = ex.new_net(rng)
    before = ex.accuracy(net, data["validation"])
    weights = net.get_weights()
    adam = ex.Adam(weights)
    train = data["train"]
    for idx in ex.batches(len(train["inputs"]), 32, rng):
        inputs = [train["inputs"][i] for i in idx]
        _, d_max, _ = ex.loss_and_cotangent(net, net.forward(inputs), train["labels"][idx])
        g = net.vjp(inputs, d_max_voltage=d_max)
        assert np.count_nonzero(g[1]) > 0  # the recurrent synapses learn too
        adam.step(weights, g)
        net.set_weights(weights)
    after = ex.accuracy(net, data["validation"])
    assert after >= before + 0.2, (before, after)
