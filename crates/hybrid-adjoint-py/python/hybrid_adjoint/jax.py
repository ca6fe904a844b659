"""JAX adapter: a network's outputs as a differentiable JAX function.

:func:`spike_outputs` wraps :meth:`FeedForwardNet.forward` and :meth:`FeedForwardNet.vjp` in a
``jax.custom_vjp``: ``f(weights) -> (first_spike_times, max_voltage)`` for a fixed batch of
input spike trains, so that any loss written in ``jax.numpy`` is differentiated by
``jax.grad`` with EventProp's exact gradient. Both directions run through
``jax.pure_callback``, so ``f`` also works under ``jax.jit``. Needs 64-bit JAX
(``jax.config.update("jax_enable_x64", True)``)::

    f = spike_outputs(net, inputs)
    def loss(weights):
        t, _ = f(weights)
        t_out = t[:, net.neuron_offsets[-2]:]
        z = jnp.where(jnp.isfinite(t_out), -t_out / 0.5, -jnp.inf)
        return -jnp.mean(jax.nn.log_softmax(z)[jnp.arange(len(labels)), labels])
    grads = jax.grad(loss)(weights)   # a list like net.get_weights()

Outputs that do not depend on the weights (``+inf`` first spike times of silent neurons,
``-inf`` maxima of spiking neurons) get no gradient: their cotangents are set to zero before
the Rust VJP, which also removes the NaN that ``jnp.where`` leaves in them.
"""

from __future__ import annotations

import copy
from typing import Callable, List, Sequence, Tuple, Union

import jax
import jax.numpy as jnp
import numpy as np

from .general import Network
from .network import FeedForwardNet, SpikeTrain, as_spike_trains

__all__ = ["spike_outputs"]


def spike_outputs(
    net: Union[FeedForwardNet, Network], inputs: Sequence[SpikeTrain]
) -> Callable[[Sequence[jax.Array]], Tuple[jax.Array, jax.Array]]:
    """``f(weights) -> (first_spike_times [B, N], max_voltage [B, N])`` with the exact
    vector-Jacobian product; ``weights`` is a list shaped like ``net.get_weights()``. The
    network's structure and parameters are those of ``net`` (a :class:`FeedForwardNet` or a
    :class:`~hybrid_adjoint.Network`, copied; its weights are not used)."""
    if not jax.config.jax_enable_x64:
        raise RuntimeError(
            "hybrid_adjoint.jax needs 64-bit JAX: jax.config.update('jax_enable_x64', True)"
        )
    trains = as_spike_trains(inputs)
    own = copy.deepcopy(net)
    n = net.neuron_offsets[-1]
    out_shape = (
        jax.ShapeDtypeStruct((len(trains), n), jnp.float64),
        jax.ShapeDtypeStruct((len(trains), n), jnp.float64),
    )
    w_shapes = [jax.ShapeDtypeStruct(w.shape, jnp.float64) for w in net.get_weights()]

    def _forward(*weights):
        own.set_weights([np.asarray(w) for w in weights])
        r = own.forward(trains)
        return r.first_spike_times, r.max_voltage

    def _vjp(d_first, d_max, *weights):
        own.set_weights([np.asarray(w) for w in weights])
        return tuple(own.vjp(trains, np.asarray(d_first), np.asarray(d_max)))

    @jax.custom_vjp
    def f(weights):
        return jax.pure_callback(_forward, out_shape, *weights)

    def f_fwd(weights):
        out = f(weights)
        return out, (weights, out)

    def f_bwd(res, cot):
        weights, (first, maxima) = res
        d_first = jnp.where(jnp.isfinite(first), cot[0], 0.0)
        d_max = jnp.where(jnp.isfinite(maxima), cot[1], 0.0)
        grads = jax.pure_callback(_vjp, tuple(w_shapes), d_first, d_max, *weights)
        return (type(weights)(grads) if isinstance(weights, (list, tuple)) else grads,)

    f.defvjp(f_fwd, f_bwd)
    return f
