"""PyTorch adapter: a network's outputs as a differentiable ``torch.autograd.Function``.

:func:`spike_outputs` returns ``(first_spike_times, max_voltage)`` (``[B, N]`` float64 tensors,
as :meth:`FeedForwardNet.forward`) for weight tensors, with a backward pass that calls
:meth:`FeedForwardNet.vjp`: any loss written in ``torch`` trains the network with EventProp's
exact gradient::

    weights = [torch.tensor(w, requires_grad=True) for w in net.get_weights()]
    opt = torch.optim.Adam(weights, lr=5e-3)
    t, _ = spike_outputs(net, inputs, weights)
    t_out = t[:, net.neuron_offsets[-2]:]
    z = torch.where(torch.isfinite(t_out), -t_out / 0.5, torch.tensor(-torch.inf))
    loss = torch.nn.functional.cross_entropy(z, torch.as_tensor(labels))
    opt.zero_grad(); loss.backward(); opt.step()

The computation runs on the CPU in float64; weights on another device or dtype are copied.
Outputs that do not depend on the weights (``+inf`` first spike times of silent neurons,
``-inf`` maxima of spiking neurons) get no gradient: their cotangents are set to zero.
"""

from __future__ import annotations

import copy
from typing import List, Sequence, Tuple, Union

import numpy as np
import torch

from .general import Network
from .network import FeedForwardNet, SpikeTrain, as_spike_trains

__all__ = ["spike_outputs"]


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(device="cpu", dtype=torch.float64).numpy()


class _SpikeOutputs(torch.autograd.Function):
    @staticmethod
    def forward(ctx, net, trains, *weights):
        net.set_weights([_numpy(w) for w in weights])
        r = net.forward(trains)
        first = torch.from_numpy(r.first_spike_times)
        maxima = torch.from_numpy(r.max_voltage)
        ctx.net, ctx.trains = net, trains
        ctx.save_for_backward(first, maxima, *weights)
        return first, maxima

    @staticmethod
    def backward(ctx, d_first, d_max):
        first, maxima, *weights = ctx.saved_tensors
        ctx.net.set_weights([_numpy(w) for w in weights])
        d_first = torch.where(torch.isfinite(first), d_first, torch.zeros_like(d_first))
        d_max = torch.where(torch.isfinite(maxima), d_max, torch.zeros_like(d_max))
        grads = ctx.net.vjp(ctx.trains, _numpy(d_first), _numpy(d_max))
        return (None, None, *[torch.from_numpy(g).to(w) for g, w in zip(grads, weights)])


def spike_outputs(
    net: Union[FeedForwardNet, Network],
    inputs: Sequence[SpikeTrain],
    weights: Sequence[torch.Tensor],
) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(first_spike_times [B, N], max_voltage [B, N])`` of ``inputs`` with the given weight
    tensors (shaped like ``net.get_weights()``), differentiable with respect to them. The
    network's structure and parameters are those of ``net`` (a :class:`FeedForwardNet` or a
    :class:`~hybrid_adjoint.Network`, copied; its weights are not used)."""
    own = copy.deepcopy(net)
    return _SpikeOutputs.apply(own, as_spike_trains(inputs), *weights)
