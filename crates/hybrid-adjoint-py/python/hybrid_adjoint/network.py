"""Layered spiking networks: forward passes, the paper's losses and their exact gradients.

A :class:`FeedForwardNet` is a stack of populations of leaky integrate-and-fire neurons
(``layer 0``, ``layer 1``, ...), each fed by a dense projection from the one below (the first
from the inputs), simulated event by event on the ``lif-network`` engine. Gradients are exact
(EventProp: the adjoint with jumps at spikes), computed in Rust without the GIL, samples in
parallel.

Input spike trains are given per sample as a pair ``(times, sources)`` of 1-D arrays: spike
times in ms (finite, ``>= 0``, sorted) and the index of the input neuron of each spike.
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from .errors import InvalidInputError

ArrayLike = Union[np.ndarray, Sequence[float]]
SpikeTrain = Tuple[ArrayLike, ArrayLike]

__all__ = ["FeedForwardNet", "ForwardResult", "LossResult", "as_spike_trains"]


class ForwardResult(NamedTuple):
    """What a forward pass of a batch of ``B`` samples records (``N`` neurons in all layers,
    numbered globally: layer ``l`` holds ``neuron_offsets[l]:neuron_offsets[l+1]``)."""

    first_spike_times: np.ndarray
    """``[B, N]`` first spike time of every neuron in ms, ``+inf`` if it stays silent."""
    max_voltage: np.ndarray
    """``[B, N]`` membrane maximum over ``[0, t_end]`` of every readout neuron, ``-inf`` for
    spiking neurons (not tracked)."""
    spike_times: List[np.ndarray]
    """Per sample, the times of all network spikes in the order of the simulation."""
    spike_neurons: List[np.ndarray]
    """Per sample, the global neuron index of each spike (int64)."""


class LossResult(NamedTuple):
    """Loss, prediction and gradient of a batch."""

    loss: np.ndarray
    """``[B]`` loss per sample (``+inf`` for the first-spike loss when the label neuron is
    silent; never NaN)."""
    prediction: np.ndarray
    """``[B]`` predicted class per sample (int64), ``-1`` when the network gives no answer."""
    gradient: List[np.ndarray]
    """``dL/dW`` per layer, shape ``[n_out, n_in]``, of the batch mean (or sum) of the loss."""


def _spike_train(sample: int, train: SpikeTrain) -> Tuple[np.ndarray, np.ndarray]:
    try:
        times, sources = train
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"sample {sample}: expected a pair (times, sources) of 1-D arrays, "
            f"got {type(train).__name__}"
        ) from None
    try:
        t = np.ascontiguousarray(times, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"sample {sample}: spike times are not numbers: {e}") from None
    s = np.asarray(sources)
    if s.size == 0:
        s = s.astype(np.int64)
    if not np.issubdtype(s.dtype, np.integer):
        raise InvalidInputError(
            f"sample {sample}: spike sources must be integers, got dtype {s.dtype}"
        )
    s = np.ascontiguousarray(s, dtype=np.int64)
    if t.ndim != 1 or s.ndim != 1:
        raise InvalidInputError(
            f"sample {sample}: times and sources must be 1-D, got shapes {t.shape} and {s.shape}"
        )
    return t, s


def as_spike_trains(inputs: Sequence[SpikeTrain]) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Converts a batch of ``(times, sources)`` pairs to contiguous float64 / int64 arrays
    (no copy when they already are), checking dimensions and dtypes; the values (finite,
    sorted, in range) are checked by the library."""
    if isinstance(inputs, tuple) and len(inputs) == 2 and np.ndim(inputs[0]) == 1:
        raise InvalidInputError(
            "inputs must be a batch: a list of (times, sources) pairs, e.g. [(times, sources)]"
        )
    return [_spike_train(b, train) for b, train in enumerate(inputs)]


def _weights(weights: Sequence[ArrayLike]) -> List[np.ndarray]:
    out = []
    for l, w in enumerate(weights):
        try:
            a = np.ascontiguousarray(w, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise InvalidInputError(f"weights[{l}] is not numeric: {e}") from None
        if a.ndim != 2:
            raise InvalidInputError(
                f"weights[{l}] must be 2-D [n_out, n_in], got shape {a.shape}"
            )
        out.append(a)
    return out


def _labels(labels: ArrayLike) -> np.ndarray:
    a = np.asarray(labels)
    if a.ndim != 1 or not (np.issubdtype(a.dtype, np.integer) or a.size == 0):
        raise InvalidInputError(
            f"labels must be a 1-D integer array, got shape {a.shape} and dtype {a.dtype}"
        )
    return np.ascontiguousarray(a, dtype=np.int64)


def _cotangent(name: str, a: Optional[ArrayLike]) -> Optional[np.ndarray]:
    if a is None:
        return None
    c = np.ascontiguousarray(a, dtype=np.float64)
    if c.ndim != 2:
        raise InvalidInputError(f"{name} must be 2-D [samples, neurons], got shape {c.shape}")
    return c


class FeedForwardNet:
    """A layered network of LIF neurons (the paper's Table 1 dynamics).

    Args:
        weights: one matrix per layer, shape ``[n_out, n_in]``: entry ``[post, pre]`` is added
            to the synaptic current of ``post`` when ``pre`` spikes. ``n_in`` of the first layer
            is the number of inputs; each next layer's ``n_in`` is the size of the one below.
        kinds: ``"spiking"`` (LIF: threshold, spike, reset) or ``"readout"`` (a leaky
            integrator whose voltage maximum is recorded; last layer only) per layer. Default:
            all spiking.
        tau_mem, tau_syn: membrane and synaptic time constants in ms (Table 3: 20 and 5).
        threshold: firing threshold (1).
        t_end: end of each simulation in ms.

    Raises:
        InvalidInputError: malformed or non-finite weights, unknown kinds.
        NetworkError: sizes or parameters the network cannot have.
    """

    def __init__(
        self,
        weights: Sequence[ArrayLike],
        kinds: Optional[Sequence[str]] = None,
        *,
        tau_mem: float = 20.0,
        tau_syn: float = 5.0,
        threshold: float = 1.0,
        t_end: float,
    ) -> None:
        w = _weights(weights)
        kinds = list(kinds) if kinds is not None else ["spiking"] * len(w)
        self._net = _native.FeedForwardNet(
            w, kinds, float(tau_mem), float(tau_syn), float(threshold), float(t_end)
        )

    # -- structure -------------------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        """Number of input neurons."""
        return self._net.n_inputs

    @property
    def layer_sizes(self) -> List[int]:
        """Neurons per layer."""
        return self._net.layer_sizes

    @property
    def kinds(self) -> List[str]:
        """``"spiking"`` or ``"readout"`` per layer."""
        return self._net.layer_kinds

    @property
    def neuron_offsets(self) -> List[int]:
        """Global index of each layer's first neuron, then the total number of neurons."""
        return self._net.neuron_offsets

    @property
    def params(self) -> dict:
        """``tau_mem``, ``tau_syn``, ``threshold`` and ``t_end``."""
        tau_mem, tau_syn, threshold, t_end = self._net.params
        return dict(tau_mem=tau_mem, tau_syn=tau_syn, threshold=threshold, t_end=t_end)

    def get_weights(self) -> List[np.ndarray]:
        """Copies of the weight matrices, ``[n_out, n_in]`` per layer."""
        return self._net.get_weights()

    def set_weights(self, weights: Sequence[ArrayLike]) -> None:
        """Replaces the weights (same shapes; finite)."""
        self._net.set_weights(_weights(weights))

    def __reduce__(self):
        return (_rebuild, (self.get_weights(), self.kinds, self.params))

    def __repr__(self) -> str:
        layers = ", ".join(f"{n} {k}" for n, k in zip(self.layer_sizes, self.kinds))
        return f"FeedForwardNet({self.n_inputs} inputs -> {layers}, {self.params})"

    # -- computations ----------------------------------------------------------------------
    def forward(self, inputs: Sequence[SpikeTrain]) -> ForwardResult:
        """Simulates a batch of samples.

        Args:
            inputs: one ``(times, sources)`` pair per sample.

        Returns:
            :class:`ForwardResult` with first spike times and voltage maxima ``[B, N]`` and
            every spike.
        """
        first, maxima, times, neurons = self._net.forward(as_spike_trains(inputs))
        return ForwardResult(first, maxima, times, neurons)

    def loss_and_gradient(
        self,
        inputs: Sequence[SpikeTrain],
        labels: ArrayLike,
        loss: str = "first_spike",
        *,
        tau0: float = 0.5,
        tau1: float = 6.4,
        alpha: float = 3e-3,
        kappa: Optional[float] = None,
        reduction: str = "mean",
    ) -> LossResult:
        """Loss per sample and the exact gradient of the batch loss.

        Args:
            inputs: one ``(times, sources)`` pair per sample.
            labels: the class of each sample (an output neuron).
            loss: ``"first_spike"``, eq. (3) of the EventProp paper (spiking output layer):
                ``-log softmax(-t/tau0)[label] + alpha (exp(t_label/tau1) - 1)`` on the first
                output spike times; or ``"max_voltage"``, eq. (4) (readout output layer):
                ``-log softmax(max_t V)[label]``.
            tau0, tau1, alpha: eq. (3)'s constants (Table 3: 0.5 ms, 6.4 ms, 3e-3).
            kappa: with the first-spike loss, the opt-in remedy for silent output neurons: a
                silent neuron gets the pseudo time ``t_end + kappa (threshold - max_t V)``.
            reduction: ``"mean"`` (the paper's batch mean) or ``"sum"``. Per-sample gradients
                are summed in sample order, whatever the number of threads.
        """
        values, predictions, grad = self._net.loss_and_gradient(
            as_spike_trains(inputs),
            _labels(labels),
            loss,
            float(tau0),
            float(tau1),
            float(alpha),
            None if kappa is None else float(kappa),
            reduction,
        )
        return LossResult(values, predictions, grad)

    def evaluate(
        self,
        inputs: Sequence[SpikeTrain],
        labels: ArrayLike,
        loss: str = "first_spike",
        *,
        tau0: float = 0.5,
        tau1: float = 6.4,
        alpha: float = 3e-3,
        kappa: Optional[float] = None,
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Loss and prediction per sample, forward passes only (see
        :meth:`loss_and_gradient` for the arguments)."""
        return self._net.evaluate(
            as_spike_trains(inputs),
            _labels(labels),
            loss,
            float(tau0),
            float(tau1),
            float(alpha),
            None if kappa is None else float(kappa),
        )

    def vjp(
        self,
        inputs: Sequence[SpikeTrain],
        d_first_spike_times: Optional[ArrayLike] = None,
        d_max_voltage: Optional[ArrayLike] = None,
        d_spike_times: Optional[Sequence[ArrayLike]] = None,
    ) -> List[np.ndarray]:
        """Vector-Jacobian product: the gradient with respect to the weights of
        ``sum(d_first_spike_times * first_spike_times) + sum(d_max_voltage * max_voltage)
        + sum_b dot(d_spike_times[b], spike_times[b])`` for the outputs of :meth:`forward`.

        With the cotangents ``dL/d(output)`` of any loss ``L`` written in Python, this is
        ``dL/dW``: train with any loss. Cotangents of silent neurons (first spike time
        ``+inf``) and of spiking neurons' maxima (``-inf``) are ignored: those outputs do not
        depend on the weights. Per-sample gradients are summed in sample order.

        Args:
            inputs: the batch given to :meth:`forward`.
            d_first_spike_times: ``[B, N]`` or None.
            d_max_voltage: ``[B, N]`` or None.
            d_spike_times: per sample, one value per spike of :meth:`forward`'s
                ``spike_times``, or None.

        Returns:
            ``dL/dW`` per layer, ``[n_out, n_in]``.
        """
        ds = None
        if d_spike_times is not None:
            ds = [np.ascontiguousarray(d, dtype=np.float64).reshape(-1) for d in d_spike_times]
        return self._net.vjp(
            as_spike_trains(inputs),
            _cotangent("d_first_spike_times", d_first_spike_times),
            _cotangent("d_max_voltage", d_max_voltage),
            ds,
        )


def _rebuild(weights, kinds, params) -> FeedForwardNet:
    return FeedForwardNet(weights, kinds, **params)
