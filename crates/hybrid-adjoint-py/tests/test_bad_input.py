"""Bad input raises a clear exception of the package's hierarchy (with the Rust library's
message where the library found the problem), before any simulation."""

import numpy as np
import pytest

import hybrid_adjoint as ha
from hybrid_adjoint import (
    BallError, GradientCheckError, HybridAdjointError, InvalidInputError, NetworkError,
)

T = np.array([1.0, 2.0, 3.0])
S = np.array([0, 1, 2])


def raises(cls, match, f, *args, **kwargs):
    with pytest.raises(cls, match=match) as info:
        f(*args, **kwargs)
    assert isinstance(info.value, HybridAdjointError)
    return info.value


def test_every_exception_derives_from_the_base_and_input_errors_are_value_errors():
    for cls in (InvalidInputError, NetworkError, BallError):
        assert issubclass(cls, HybridAdjointError) and issubclass(cls, ValueError)
    assert issubclass(ha.SimulationError, HybridAdjointError)
    assert issubclass(ha.TrainingError, HybridAdjointError)
    assert issubclass(ha.InternalError, HybridAdjointError)


def test_unsorted_spikes_are_rejected_with_the_offending_spike(spiking_net):
    raises(InvalidInputError, r"sample 1: spike times are not sorted: spike 2 at 1 ms comes after one at 3 ms",
           spiking_net.forward, [(T, S), (np.array([2.0, 3.0, 1.0]), S)])


def test_nan_infinite_and_negative_spike_times_are_rejected(spiking_net):
    for bad, shown in ((np.nan, "NaN"), (np.inf, "inf"), (-1.0, "-1")):
        t = np.array([0.5, bad, 3.0]) if bad != -1.0 else np.array([-1.0, 2.0, 3.0])
        raises(InvalidInputError, rf"spike \d has time {shown} \(must be finite and >= 0\)",
               spiking_net.forward, [(t, S)])


def test_wrong_shapes_and_dtypes_are_rejected(spiking_net):
    raises(InvalidInputError, "3 spike times but 2 sources", spiking_net.forward, [(T, S[:2])])
    raises(InvalidInputError, "must be 1-D", spiking_net.forward, [(T.reshape(3, 1), S)])
    raises(InvalidInputError, "sources must be integers", spiking_net.forward, [(T, S + 0.5)])
    raises(InvalidInputError, "must be a batch", spiking_net.forward, (T, S))
    raises(InvalidInputError, "source 9, but there are 5 inputs", spiking_net.forward,
           [(T, np.array([0, 9, 1]))])
    raises(InvalidInputError, "2 labels for 1 samples", spiking_net.loss_and_gradient,
           [(T, S)], [0, 1])
    raises(InvalidInputError, r"d_first_spike_times has shape \(1, 3\); expected \(1, 19\)",
           spiking_net.vjp, [(T, S)], np.zeros((1, 3)))


def test_bad_weights_are_rejected():
    raises(InvalidInputError, r"weights\[1\] has shape \(3, 7\); expected \(n_out, 4\)",
           ha.FeedForwardNet, [np.ones((4, 5)), np.ones((3, 7))], t_end=10.0)
    w = np.ones((4, 5))
    w[2, 3] = np.nan
    raises(InvalidInputError, r"weights\[0\] entry \(2, 3\) is NaN", ha.FeedForwardNet, [w],
           t_end=10.0)
    raises(InvalidInputError, "must be 2-D", ha.FeedForwardNet, [np.ones(5)], t_end=10.0)
    raises(InvalidInputError, "unknown layer kind", ha.FeedForwardNet, [np.ones((4, 5))], ["lif"],
           t_end=10.0)


def test_network_errors_carry_the_librarys_message():
    # lif-network's own messages, unchanged.
    raises(NetworkError, r"^invalid parameter `tau_mem` = -1: finite and > 0$",
           ha.FeedForwardNet, [np.ones((2, 2))], tau_mem=-1.0, t_end=10.0)
    raises(NetworkError, r"^readout layer 0 is not the last of 2 layers$", ha.FeedForwardNet,
           [np.ones((2, 2)), np.ones((2, 2))], ["readout", "spiking"], t_end=10.0)


def test_loss_errors(spiking_net, readout_net):
    raises(InvalidInputError, r"^label 5 is out of range for 3 output neurons$",
           spiking_net.loss_and_gradient, [(T, S)], [5])
    raises(NetworkError, r"loss `MaxVoltage` needs a Readout output layer",
           spiking_net.loss_and_gradient, [(T, S)], [0], "max_voltage")
    raises(InvalidInputError, "unknown loss", spiking_net.loss_and_gradient, [(T, S)], [0], "mse")
    raises(InvalidInputError, "unknown reduction", spiking_net.loss_and_gradient, [(T, S)], [0],
           reduction="max")
    raises(InvalidInputError, r"label 0 is -1", spiking_net.loss_and_gradient, [(T, S)], [-1])


def test_nan_cotangents_are_rejected(spiking_net):
    fwd = spiking_net.forward([(T, S)])
    d = np.zeros_like(fwd.first_spike_times)
    d[0, 0] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        spiking_net.vjp([(T, S)], d_first_spike_times=d)
    n = len(fwd.spike_times[0])
    raises(InvalidInputError, f"{n + 1} spike-time cotangents but the forward pass has {n} spikes",
           spiking_net.vjp, [(T, S)], d_spike_times=[np.zeros(n + 1)])


def test_ball_errors_carry_the_librarys_message():
    raises(BallError, r"horizon t_end = 4 is at or past the Zeno time t_Z = 3", ha.ball.simulate,
           [5.0, 0.0, 0.5, 10.0], 4.0)
    raises(BallError, r"parameter g = -1 is invalid", ha.ball.simulate, [1.0, 0.0, 0.8, -1.0], 1.0)
    raises(BallError, r"observation 1 \(t = 0.5, height NaN\) is invalid", ha.ball.gradient,
           [1.0, 0.0, 0.8, 9.81], [0.2, 0.5], [0.1, np.nan])
    raises(BallError, "parameters", ha.ball.simulate, [1.0, 0.0, 0.8], 1.0)


def test_a_failing_gradient_check_raises_gradient_check_error():
    # Adjoint and forward sensitivities agree to ~1e-12, not to 1e-300.
    err = raises(GradientCheckError, r"adjoint vs forward\[\d\]: relative deviation",
                 ha.ball.check_gradients, [1.0, 0.0, 0.8, 9.81], [0.5, 1.0, 1.5], [0.3, 0.2, 0.1],
                 methods=1e-300)
    assert isinstance(err, AssertionError)
