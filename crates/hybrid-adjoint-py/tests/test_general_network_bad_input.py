"""Bad input to `Network` raises a clear exception of the package's hierarchy naming the
population or projection at fault, before any simulation; a failed `set_weights` changes
nothing."""

import numpy as np
import pytest

import hybrid_adjoint as ha
from hybrid_adjoint import HybridAdjointError, InvalidInputError, NetworkError

POPS = [ha.Population("hidden", 4, t_ref=1.0), ha.Population("out", 2, kind="readout")]


def dense_in():
    return ha.Projection("input", "hidden", weights=np.ones((4, 3)))


def build(*projs, pops=POPS):
    return ha.Network(pops, list(projs), n_inputs=3, t_end=30.0)


def raises(cls, match, f, *args, **kwargs):
    with pytest.raises(cls, match=match) as info:
        f(*args, **kwargs)
    assert isinstance(info.value, HybridAdjointError)
    return info.value


def test_unknown_population_names_are_rejected_with_the_known_names():
    raises(InvalidInputError, r'projection 1: unknown source population "hiden" \(known: '
           r'"input" \(sources only\), "hidden", "out"\)',
           build, dense_in(), ha.Projection("hiden", "out", weights=np.ones((2, 4))))
    raises(InvalidInputError, r'projection 0: unknown target population "outt"',
           build, ha.Projection("input", "outt", weights=np.ones((2, 3))))
    raises(InvalidInputError, r"the inputs cannot be a target",
           build, ha.Projection("hidden", "input", weights=np.ones((3, 4))))
    raises(InvalidInputError, r"unknown population 'nope'", build(dense_in()).neurons, "nope")


def test_dense_weights_of_the_wrong_shape_are_rejected_with_the_expected_shape():
    raises(InvalidInputError, r"projection 1 \(hidden -> out\): dense weights have shape "
           r"\(4, 2\); expected \(n_post, n_pre\) = \(2, 4\)",
           build, dense_in(), ha.Projection("hidden", "out", weights=np.ones((4, 2))))
    raises(InvalidInputError, r"must be 2-D", build,
           ha.Projection("input", "hidden", weights=np.ones(12)))


def test_sparse_indices_out_of_range_or_of_unequal_lengths_are_rejected():
    raises(InvalidInputError, r"projection 1 \(hidden -> hidden\): synapse 1 has post index 4; "
           r"hidden has 4 neurons \(0..4\)",
           build, dense_in(),
           ha.Projection("hidden", "hidden", synapses=([0, 1], [1, 4], [0.5, 0.5])))
    raises(InvalidInputError, r"synapse 0 has pre index -1; hidden has 4 neurons",
           build, dense_in(), ha.Projection("hidden", "out", synapses=([-1], [0], [0.5])))
    raises(InvalidInputError, r"synapse 0 has pre index 3; input has 3 neurons",
           build, ha.Projection("input", "hidden", synapses=([3], [0], [0.5])))
    raises(InvalidInputError, r"one length; got 2, 2 and 1",
           build, ha.Projection("input", "hidden", synapses=([0, 1], [0, 1], [0.5])))
    raises(InvalidInputError, r"pre must be integers",
           build, ha.Projection("input", "hidden", synapses=([0.0], [0], [0.5])))


def test_nan_and_infinite_weights_are_rejected_at_construction_and_in_set_weights():
    w = np.ones((4, 3))
    w[2, 1] = np.nan
    raises(InvalidInputError, r"projection 0 \(input -> hidden\): weight \[2, 1\] is NaN: "
           r"weights must be finite", build, ha.Projection("input", "hidden", weights=w))
    raises(InvalidInputError, r"weight of synapse 1 is inf",
           build, ha.Projection("input", "hidden", synapses=([0, 1], [0, 1], [0.5, np.inf])))
    net = build(dense_in(), ha.Projection("hidden", "out", synapses=([0, 1], [0, 1], [0.5, 0.6])))
    before = net.get_weights()
    raises(InvalidInputError, r"projection 1 \(hidden -> out\): weight of synapse 0 is NaN",
           net.set_weights, [np.full((4, 3), 2.0), np.array([np.nan, 1.0])])
    raises(InvalidInputError, r"projection 1 \(hidden -> out\): 3 weights for 2 synapses",
           net.set_weights, [np.full((4, 3), 2.0), np.ones(3)])
    raises(InvalidInputError, r"weights\[1\] must be 1-D",
           net.set_weights, [np.full((4, 3), 2.0), np.ones((2, 1))])
    for x, y in zip(net.get_weights(), before):
        np.testing.assert_array_equal(x, y)


def test_self_connections_of_recurrent_projections_are_rejected():
    w = np.ones((4, 4))
    raises(InvalidInputError, r"weight \[0, 0\] is 1: a recurrent projection has no "
           r"self-connections \(set its diagonal to 0\)",
           build, ha.Projection("hidden", "hidden", weights=w))
    raises(InvalidInputError, r"synapse 1 connects neuron 2 to itself",
           build, ha.Projection("hidden", "hidden", synapses=([0, 2], [1, 2], [0.5, 0.5])))


def test_bad_populations_are_rejected_naming_the_population():
    raises(NetworkError, r"population `hidden`: invalid parameter `tau_syn` = 0",
           build, pops=[ha.Population("hidden", 4, tau_syn=0.0)])
    raises(NetworkError, r"population `hidden` is empty", build, pops=[ha.Population("hidden", 0)])
    raises(NetworkError, r"population `hidden`: invalid parameter `refractory` = -1",
           build, pops=[ha.Population("hidden", 4, t_ref=-1.0)])
    raises(InvalidInputError, r'two populations are named "hidden"',
           build, pops=[ha.Population("hidden", 4), ha.Population("hidden", 2)])
    raises(InvalidInputError, r'population "out": unknown kind "redout"',
           build, pops=[ha.Population("out", 2, kind="redout")])
    raises(InvalidInputError, r'population "out": t_ref is 2 but a readout population does '
           r"not spike", build, pops=[ha.Population("out", 2, kind="readout", t_ref=2.0)])
    raises(InvalidInputError, r'source "out" is a readout population',
           build, ha.Projection("out", "hidden", weights=np.ones((4, 2))))
    raises(InvalidInputError, r'cannot be named "input"', build, pops=[ha.Population("input", 2)])
    raises(InvalidInputError, r"exactly one", build, ha.Projection("input", "hidden"))


def test_bad_spike_trains_and_cotangents_are_rejected():
    net = build(dense_in())
    raises(InvalidInputError, r"sample 0: spike times are not sorted: spike 1 at 1 ms comes "
           r"after one at 2 ms", net.forward, [(np.array([2.0, 1.0]), np.array([0, 1]))])
    raises(InvalidInputError, r"sample 0: spike 0 has source 3, but there are 3 inputs",
           net.forward, [(np.array([1.0]), np.array([3]))])
    good = [(np.array([1.0, 2.0]), np.array([0, 1]))]
    raises(InvalidInputError, r"d_first_spike_times has shape \(1, 5\); expected \(1, 6\)",
           net.vjp, good, d_first_spike_times=np.zeros((1, 5)))
    raises(InvalidInputError, r"spike-time cotangents but the forward pass has",
           net.vjp, good, d_spike_times=[np.zeros(99)])
