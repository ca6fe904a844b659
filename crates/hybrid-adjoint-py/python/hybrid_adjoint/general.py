"""General spiking networks: populations, dense or sparse projections, recurrence, refractoriness.

A :class:`Network` is a set of named populations of leaky integrate-and-fire neurons, each with
its own parameters (``tau_mem``, ``tau_syn``, ``threshold``, an absolute refractory period
``t_ref``), spiking or non-spiking readouts, connected by projections from the inputs
(``"input"``) or from populations, feed-forward or recurrent, each dense (a weight matrix
``[n_post, n_pre]``) or sparse (synapses ``(pre, post, weight)``). It runs on the same exact
event-driven engine as :class:`~hybrid_adjoint.FeedForwardNet`; :meth:`Network.vjp` gives exact
gradients (EventProp) of any loss written in Python on the outputs of :meth:`Network.forward`,
computed in Rust without the GIL, samples in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from .errors import InvalidInputError
from .network import ArrayLike, ForwardResult, SpikeTrain, _cotangent, as_spike_trains

__all__ = ["Network", "Population", "Projection"]

Synapses = Tuple[ArrayLike, ArrayLike, ArrayLike]


@dataclass(frozen=True)
class Population:
    """A group of LIF neurons sharing their parameters (the paper's Table 1 dynamics:
    ``tau_mem dV/dt = -V + I``, ``tau_syn dI/dt = -I``, spike and reset to 0 at ``threshold``).

    Args:
        name: unique name (not ``"input"``), used by projections and in error messages.
        size: number of neurons (> 0).
        tau_mem, tau_syn: membrane and synaptic time constants in ms (Table 3: 20 and 5).
        threshold: firing threshold (1).
        kind: ``"spiking"`` (LIF: threshold, spike, reset) or ``"readout"`` (a leaky
            integrator that never spikes, whose membrane maximum over ``[0, t_end]`` is
            recorded).
        t_ref: absolute refractory period in ms (spiking populations; 0 = none): after a spike
            the membrane is held at 0 for ``t_ref`` while the synaptic current keeps
            integrating.
    """

    name: str
    size: int
    tau_mem: float = 20.0
    tau_syn: float = 5.0
    threshold: float = 1.0
    kind: str = "spiking"
    t_ref: float = 0.0


@dataclass(frozen=True)
class Projection:
    """Synapses from ``source`` (``"input"`` or a population name) onto population ``target``.

    Give exactly one of:

    - ``weights``: a dense matrix ``[n_post, n_pre]``; entry ``[post, pre]`` is added to the
      synaptic current of ``post`` when ``pre`` spikes. A recurrent projection (a population
      onto itself) has no self-connections: its diagonal must be 0.
    - ``synapses``: a triple ``(pre, post, weight)`` of 1-D arrays (integer, integer, float), one
      entry per synapse, in any order; duplicates are separate synapses. Weights and gradients of
      a sparse projection are 1-D, one per synapse in this order.
    """

    source: str
    target: str
    weights: Optional[ArrayLike] = None
    synapses: Optional[Synapses] = None


def _population(i: int, p: Union[Population, Mapping[str, Any]]) -> tuple:
    if isinstance(p, Mapping):
        try:
            p = Population(**p)
        except TypeError as e:
            raise InvalidInputError(f"populations[{i}]: {e}") from None
    if not isinstance(p, Population):
        raise InvalidInputError(
            f"populations[{i}] must be a Population or a dict, got {type(p).__name__}"
        )
    size = int(p.size)
    if size < 0:
        raise InvalidInputError(f"population {p.name!r}: size is {size} (must be > 0)")
    return (
        str(p.name),
        size,
        float(p.tau_mem),
        float(p.tau_syn),
        float(p.threshold),
        str(p.kind),
        float(p.t_ref),
    )


def _indices(what: str, a: ArrayLike) -> np.ndarray:
    x = np.asarray(a)
    if x.size == 0:
        x = x.astype(np.int64)
    if not np.issubdtype(x.dtype, np.integer):
        raise InvalidInputError(f"{what} must be integers, got dtype {x.dtype}")
    if x.ndim != 1:
        raise InvalidInputError(f"{what} must be 1-D, got shape {x.shape}")
    return np.ascontiguousarray(x, dtype=np.int64)


def _floats(what: str, a: ArrayLike, ndim: int) -> np.ndarray:
    try:
        x = np.ascontiguousarray(a, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"{what} is not numeric: {e}") from None
    if x.ndim != ndim:
        raise InvalidInputError(f"{what} must be {ndim}-D, got shape {x.shape}")
    return x


def _projection(i: int, p: Union[Projection, Mapping[str, Any]]) -> tuple:
    if isinstance(p, Mapping):
        try:
            p = Projection(**p)
        except TypeError as e:
            raise InvalidInputError(f"projections[{i}]: {e}") from None
    if not isinstance(p, Projection):
        raise InvalidInputError(
            f"projections[{i}] must be a Projection or a dict, got {type(p).__name__}"
        )
    what = f"projection {i} ({p.source} -> {p.target})"
    dense = None if p.weights is None else _floats(f"{what}: weights", p.weights, 2)
    sparse = None
    if p.synapses is not None:
        try:
            pre, post, w = p.synapses
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"{what}: synapses must be a triple (pre, post, weight) of 1-D arrays"
            ) from None
        sparse = (
            _indices(f"{what}: pre", pre),
            _indices(f"{what}: post", post),
            _floats(f"{what}: synapse weights", w, 1),
        )
    return (str(p.source), str(p.target), dense, sparse)


class Network:
    """A general network of LIF populations and projections, simulated on ``[0, t_end]``.

    Neurons are numbered globally in the order of the populations: population ``p`` holds
    ``neuron_offsets[p]:neuron_offsets[p+1]`` of every ``[B, N]`` output.

    Args:
        populations: :class:`Population` objects (or dicts of their fields).
        projections: :class:`Projection` objects (or dicts of their fields).
        n_inputs: number of input neurons (sources of the input spike trains).
        t_end: end of each simulation in ms.

    Raises:
        InvalidInputError: unknown population names, weights of the wrong shape or not finite,
            sparse indices out of range, self-connections.
        NetworkError: sizes or parameters the network cannot have (naming the population).
    """

    def __init__(
        self,
        populations: Sequence[Union[Population, Mapping[str, Any]]],
        projections: Sequence[Union[Projection, Mapping[str, Any]]] = (),
        *,
        n_inputs: int,
        t_end: float,
    ) -> None:
        n_inputs = int(n_inputs)
        if n_inputs < 0:
            raise InvalidInputError(f"n_inputs is {n_inputs} (must be >= 0)")
        self._net = _native.Network(
            n_inputs,
            [_population(i, p) for i, p in enumerate(populations)],
            [_projection(i, p) for i, p in enumerate(projections)],
            float(t_end),
        )

    # -- structure -------------------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        """Number of input neurons."""
        return self._net.n_inputs

    @property
    def t_end(self) -> float:
        """End of each simulation (ms)."""
        return self._net.t_end

    @property
    def populations(self) -> List[Population]:
        """The populations, in order."""
        return [Population(*p) for p in self._net.populations]

    @property
    def projections(self) -> List[Tuple[str, str, str]]:
        """``(source, target, "dense" or "sparse")`` per projection, in order."""
        return self._net.projections

    @property
    def neuron_offsets(self) -> List[int]:
        """Global index of each population's first neuron, then the total number of neurons."""
        return self._net.neuron_offsets

    def neurons(self, population: str) -> slice:
        """The global indices of the neurons of ``population`` (a column slice of
        :meth:`forward`'s ``[B, N]`` outputs)."""
        names = [p[0] for p in self._net.populations]
        if population not in names:
            raise InvalidInputError(f"unknown population {population!r} (known: {names})")
        p = names.index(population)
        off = self.neuron_offsets
        return slice(off[p], off[p + 1])

    def synapses(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        """``(pre, post)`` of sparse projection ``index``, in the order given."""
        return self._net.synapses(int(index))

    def get_weights(self) -> List[np.ndarray]:
        """Copies of the weights: ``[n_post, n_pre]`` per dense projection (0 where there is
        no synapse), one per synapse in the order given per sparse projection."""
        return self._net.get_weights()

    def set_weights(self, weights: Sequence[ArrayLike]) -> None:
        """Replaces the weights (layouts of :meth:`get_weights`; finite). On error nothing
        changes."""
        kinds = [k for _, _, k in self.projections]
        if len(weights) != len(kinds):
            raise InvalidInputError(
                f"{len(weights)} weight arrays for {len(kinds)} projections"
            )
        self._net.set_weights(
            [
                _floats(f"weights[{i}]", w, 2 if k == "dense" else 1)
                for i, (w, k) in enumerate(zip(weights, kinds))
            ]
        )

    def __reduce__(self):
        projections = []
        for i, ((source, target, kind), w) in enumerate(
            zip(self.projections, self.get_weights())
        ):
            if kind == "dense":
                projections.append(Projection(source, target, weights=w))
            else:
                pre, post = self.synapses(i)
                projections.append(Projection(source, target, synapses=(pre, post, w)))
        return (
            _rebuild,
            (self.populations, projections, self.n_inputs, self.t_end),
        )

    def __repr__(self) -> str:
        pops = ", ".join(f"{p.name}: {p.size} {p.kind}" for p in self.populations)
        projs = ", ".join(f"{s} -> {t} ({k})" for s, t, k in self.projections)
        return (
            f"Network({self.n_inputs} inputs; populations {pops}; projections {projs}; "
            f"t_end={self.t_end})"
        )

    # -- computations ----------------------------------------------------------------------
    def forward(self, inputs: Sequence[SpikeTrain]) -> ForwardResult:
        """Simulates a batch of samples.

        Args:
            inputs: one ``(times, sources)`` pair per sample (times in ms, sorted, finite,
                ``>= 0``; sources in ``0..n_inputs``).

        Returns:
            :class:`~hybrid_adjoint.ForwardResult`: first spike times (``+inf``: silent) and
            membrane maxima (readouts; ``-inf`` for spiking neurons) ``[B, N]``, and every
            spike per sample.
        """
        first, maxima, times, neurons = self._net.forward(as_spike_trains(inputs))
        return ForwardResult(first, maxima, times, neurons)

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
        ``dL/dW``. Cotangents of silent neurons (first spike time ``+inf``) and of untracked
        maxima (``-inf``) are ignored. Per-sample gradients are summed in sample order.

        Args:
            inputs: the batch given to :meth:`forward`.
            d_first_spike_times: ``[B, N]`` or None.
            d_max_voltage: ``[B, N]`` or None.
            d_spike_times: per sample, one value per spike of :meth:`forward`'s
                ``spike_times``, or None.

        Returns:
            ``dL/dW`` per projection in the layout of :meth:`get_weights`.
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


def _rebuild(populations, projections, n_inputs, t_end) -> Network:
    return Network(populations, projections, n_inputs=n_inputs, t_end=t_end)
