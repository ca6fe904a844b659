"""The JAX and PyTorch adapters: gradients of a loss written in the framework equal the
library's gradient of the same loss (eq. 4 on a readout layer, eq. 3's cross-entropy part on a
spiking one), and a few training steps lower the loss; through a general `Network` (recurrent,
sparse) the JAX gradient equals the network's own vjp. Skipped, with a message, where the
framework is not installed (CI does not install them)."""

import numpy as np
import pytest


def eq4_reference(net, inputs, labels):
    return net.loss_and_gradient(inputs, labels, "max_voltage", reduction="mean")


def test_jax_gradient_equals_the_librarys(readout_net, inputs12):
    jax = pytest.importorskip("jax", reason="JAX is not installed: the JAX adapter is not tested")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from hybrid_adjoint.jax import spike_outputs

    labels = np.array([0, 1, 2, 3, 0])
    off = readout_net.neuron_offsets[-2]
    f = spike_outputs(readout_net, inputs12)

    def loss(weights):
        _, m = f(weights)
        logp = jax.nn.log_softmax(m[:, off:])
        return -jnp.mean(logp[jnp.arange(len(labels)), labels])

    weights = [jnp.asarray(w) for w in readout_net.get_weights()]
    value, grads = jax.value_and_grad(loss)(weights)
    ref = eq4_reference(readout_net, inputs12, labels)
    np.testing.assert_allclose(float(value), ref.loss.mean(), rtol=1e-13)
    for g, r in zip(grads, ref.gradient):
        np.testing.assert_allclose(np.asarray(g), r, rtol=1e-10, atol=1e-13 * np.abs(r).max())
    # Under jit too, and a few gradient steps lower the loss.
    step = jax.jit(lambda w: [x - 0.5 * g for x, g in zip(w, jax.grad(loss)(w))])
    w = weights
    for _ in range(5):
        w = step(w)
    assert float(loss(w)) < float(value)


def test_jax_silent_neurons_give_no_nan(spiking_net, inputs5):
    jax = pytest.importorskip("jax", reason="JAX is not installed: the JAX adapter is not tested")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from hybrid_adjoint.jax import spike_outputs

    f = spike_outputs(spiking_net, inputs5)

    def loss(weights):
        t, _ = f(weights)
        return jnp.sum(jnp.where(jnp.isfinite(t), jnp.sin(t / 7.0), 0.0))

    weights = [jnp.asarray(w) for w in spiking_net.get_weights()]
    assert not np.isfinite(spiking_net.forward(inputs5).first_spike_times).all()
    grads = jax.grad(loss)(weights)
    t = spiking_net.forward(inputs5).first_spike_times
    d = np.where(np.isfinite(t), np.cos(np.where(np.isfinite(t), t, 0.0) / 7.0) / 7.0, 0.0)
    for g, r in zip(grads, spiking_net.vjp(inputs5, d_first_spike_times=d)):
        assert np.isfinite(np.asarray(g)).all()
        np.testing.assert_allclose(np.asarray(g), r, rtol=1e-12, atol=1e-14)


def test_torch_gradient_equals_the_librarys(readout_net, inputs12):
    torch = pytest.importorskip(
        "torch", reason="PyTorch is not installed: the PyTorch adapter is not tested")
    from hybrid_adjoint.torch import spike_outputs

    labels = np.array([0, 1, 2, 3, 0])
    off = readout_net.neuron_offsets[-2]
    weights = [torch.tensor(w, requires_grad=True) for w in readout_net.get_weights()]
    _, m = spike_outputs(readout_net, inputs12, weights)
    loss = torch.nn.functional.cross_entropy(m[:, off:], torch.as_tensor(labels))
    loss.backward()
    ref = eq4_reference(readout_net, inputs12, labels)
    np.testing.assert_allclose(loss.item(), ref.loss.mean(), rtol=1e-13)
    for w, r in zip(weights, ref.gradient):
        np.testing.assert_allclose(w.grad.numpy(), r, rtol=1e-10, atol=1e-13 * np.abs(r).max())


def test_jax_gradient_through_a_recurrent_sparse_network_equals_its_vjp():
    jax = pytest.importorskip("jax", reason="JAX is not installed: the JAX adapter is not tested")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from hybrid_adjoint.jax import spike_outputs
    from test_general_network import C, recurrent_net, two_spikes_per_input

    net = recurrent_net()
    inputs = two_spikes_per_input(2, 3)
    f = spike_outputs(net, inputs)

    def loss(weights):
        t, m = f(weights)
        fin = jnp.isfinite(t)
        first = jnp.sum(jnp.where(fin, jnp.sin(jnp.where(fin, t, 0.0) / 7.0) * C, 0.0))
        return first + 0.5 * jnp.sum(jnp.where(jnp.isfinite(m), m, 0.0) ** 2)

    weights = [jnp.asarray(w) for w in net.get_weights()]
    grads = jax.grad(loss)(weights)
    fwd = net.forward(inputs)
    t, m = fwd.first_spike_times, fwd.max_voltage
    fin = np.isfinite(t)
    ref = net.vjp(
        inputs,
        d_first_spike_times=np.where(fin, C * np.cos(np.where(fin, t, 0.0) / 7.0) / 7.0, 0.0),
        d_max_voltage=np.where(np.isfinite(m), m, 0.0),
    )
    assert [np.shape(g) for g in grads] == [r.shape for r in ref]
    for g, r in zip(grads, ref):
        np.testing.assert_allclose(np.asarray(g), r, rtol=1e-12, atol=1e-14)
    assert np.count_nonzero(np.asarray(grads[1])) > 0
