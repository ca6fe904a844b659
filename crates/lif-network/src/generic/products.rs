//! The LIF network's derivative products, written by hand and sparse: a spike touches its
//! neuron and its targets, not the whole network. `tests/generic_model.rs` runs the test kit's
//! check of each against the dual-number defaults.

use super::LifNetwork;
use hybrid_core::{At, Derivatives, Duals, HybridSystem};

/// Sparse products: a spike touches its neuron and its targets, not the whole network.
impl Derivatives for LifNetwork {
    /// The weights enter the jumps only (Table 1): the adjoint needs no `μ` quadrature.
    fn flow_depends_on_parameters(&self) -> bool {
        false
    }

    /// The flow is linear in the state (Table 1): `f_x` depends on the mode alone.
    fn flow_jacobian_depends_on_state(&self) -> bool {
        false
    }

    /// The guards are thresholds on the state (Table 1): `g_p = 0`.
    fn guard_depends_on_parameters(&self) -> bool {
        false
    }

    /// `x(0) = 0` whatever the weights: `λᵀ ∂x0/∂p = 0`.
    fn initial_state_vjp(&self, _p: &[f64], _lambda: &[f64], out: &mut [f64], _: &mut Duals) {
        out.fill(0.0);
    }

    /// Guard `k` reads one state component (`V_k`, or the clock `c_{k-N}`): `g_x` is that unit
    /// vector, `g_t = 0`, `g_p = 0`. `O(n + m)` stores, not `2 + n + m` dual evaluations.
    fn guard_gradient(
        &self,
        k: usize,
        at: At<'_>,
        g_x: &mut [f64],
        g_p: &mut [f64],
        _: &mut Duals,
    ) -> (f64, f64) {
        let n = self.neurons();
        let i = if k < n { k } else { self.c_index(k - n) };
        g_x.fill(0.0);
        g_x[i] = 1.0;
        g_p.fill(0.0);
        (self.guard(at.q, k, at.t, at.x, at.p), 0.0)
    }

    /// `Ṡ = f_x S` (`f_p = 0`): per neuron and column, `Ṡ_V = (S_I - S_V)/τ_mem`,
    /// `Ṡ_I = -S_I/τ_syn`.
    fn flow_jvp(&self, at: At<'_>, s: &[f64], out: &mut [f64], _: &mut Duals) {
        let (n, q) = (self.neurons(), at.q);
        let (inv_mem, inv_syn) = (1.0 / self.params.tau_mem, 1.0 / self.params.tau_syn);
        let states = self.dims().states;
        for (sc, oc) in s.chunks_exact(states).zip(out.chunks_exact_mut(states)) {
            for k in 0..n {
                oc[k] = if self.is_refractory(k, q) {
                    0.0
                } else {
                    (sc[n + k] - sc[k]) * inv_mem
                };
                oc[n + k] = -sc[n + k] * inv_syn;
            }
            oc[2 * n..].fill(0.0);
        }
    }

    /// `λᵀ f_x` per neuron: `(-λ_V/τ_mem, λ_V/τ_mem - λ_I/τ_syn)`; `λᵀ f_p = 0`.
    fn flow_vjp(
        &self,
        at: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        out_p: &mut [f64],
        _: &mut Duals,
    ) {
        let (n, q) = (self.neurons(), at.q);
        let (inv_mem, inv_syn) = (1.0 / self.params.tau_mem, 1.0 / self.params.tau_syn);
        for k in 0..n {
            let lv = if self.is_refractory(k, q) {
                0.0
            } else {
                lambda[k]
            };
            out_x[k] = -lv * inv_mem;
            out_x[n + k] = lv * inv_mem - lambda[n + k] * inv_syn;
        }
        out_x[2 * n..].fill(0.0);
        out_p.fill(0.0);
    }

    /// `h_x S + h_p`: `S` with the firing neuron's `V` (and clock) rows zeroed (its reset), plus
    /// `1` at `(I_target, w)` for each synapse `w` of the spiking neuron. `O(n m)`, the size of
    /// `S`, not the dense `O(n² m)`.
    fn jump_jvp(&self, k: usize, _: At<'_>, s: &[f64], out: &mut [f64], _: &mut Duals) {
        let (n, states) = (self.neurons(), self.dims().states);
        out.copy_from_slice(s);
        if k >= n {
            return;
        }
        for col in out.chunks_exact_mut(states) {
            col[k] = 0.0;
            if self.clock {
                col[2 * n + k] = 0.0;
            }
        }
        for &(target, j) in &self.neuron_fan_out[k] {
            out[n + target + states * j] += 1.0;
        }
    }

    /// Input spike `i`: `h_x S + h_p` is `S` plus `1` at `(I_target, w)` for each synapse `w` of
    /// the source.
    fn scheduled_jump_jvp(&self, i: usize, _: At<'_>, s: &[f64], out: &mut [f64], _: &mut Duals) {
        let (n, states) = (self.neurons(), self.dims().states);
        out.copy_from_slice(s);
        for &(target, j) in &self.input_fan_out[self.input_sources[i]] {
            out[n + target + states * j] += 1.0;
        }
    }

    /// `λᵀ h_x`: `λ` with the firing neuron's `V` entry zeroed (its reset); `λᵀ h_p`: `λ_I` of
    /// each target on the spiking neuron's synapses, zero elsewhere. `O(n + m)`, not the dense
    /// `O(n (n + m))` default.
    fn jump_vjp(
        &self,
        k: usize,
        _: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        out_p: &mut [f64],
        _: &mut Duals,
    ) {
        let n = self.neurons();
        out_x.copy_from_slice(lambda);
        out_p.fill(0.0);
        if k >= n {
            return;
        }
        out_x[k] = 0.0;
        if self.clock {
            out_x[2 * n + k] = 0.0;
        }
        for &(target, j) in &self.neuron_fan_out[k] {
            out_p[j] = lambda[n + target];
        }
    }

    /// [`Self::jump_vjp`] with `λᵀ h_p` added to `acc_p`: `λ_I` of each target to the spiking
    /// neuron's synapses, `O(n + fan-out)`, not `O(n + m)`.
    fn jump_vjp_add(
        &self,
        k: usize,
        _: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        acc_p: &mut [f64],
        _: &mut [f64],
        _: &mut Duals,
    ) {
        let n = self.neurons();
        out_x.copy_from_slice(lambda);
        if k >= n {
            return;
        }
        out_x[k] = 0.0;
        if self.clock {
            out_x[2 * n + k] = 0.0;
        }
        for &(target, j) in &self.neuron_fan_out[k] {
            acc_p[j] += lambda[n + target];
        }
    }

    /// Input spike `i`: `λᵀ h_x = λ`; `λᵀ h_p` is `λ_I` of each target on the source's synapses
    /// (eq. 56).
    fn scheduled_jump_vjp(
        &self,
        i: usize,
        _: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        out_p: &mut [f64],
        _: &mut Duals,
    ) {
        let n = self.neurons();
        out_x.copy_from_slice(lambda);
        out_p.fill(0.0);
        for &(target, j) in &self.input_fan_out[self.input_sources[i]] {
            out_p[j] = lambda[n + target];
        }
    }

    /// [`Self::scheduled_jump_vjp`] with `λᵀ h_p` added to `acc_p`: `λ_I` of each target to the
    /// source's synapses alone.
    fn scheduled_jump_vjp_add(
        &self,
        i: usize,
        _: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        acc_p: &mut [f64],
        _: &mut [f64],
        _: &mut Duals,
    ) {
        let n = self.neurons();
        out_x.copy_from_slice(lambda);
        for &(target, j) in &self.input_fan_out[self.input_sources[i]] {
            acc_p[j] += lambda[n + target];
        }
    }
}
