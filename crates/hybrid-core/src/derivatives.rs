//! Derivative products of a model: the [`Derivatives`] trait, its dual-number defaults, and the
//! partials the jump conditions need (docs/maths.md §2-§3).
//!
//! Every product is obtained by evaluating the model's own generic methods on forward-mode dual
//! numbers: the flow's and the jumps' products of small models (up to 4 states and 8 seed
//! directions) by one evaluation on [`WideDual`]s carrying every direction at once, each lane
//! bit for bit the `num_dual::Dual64` evaluation of its direction; the others by `Dual64`, one
//! seed direction per evaluation, in scratch lent by the caller ([`Duals`]). Nothing here
//! allocates once the scratch has grown to the model's size. Matrices
//! are dense and column-major: entry `(i, j)` of an `r × c` matrix is at `i + r * j`.
//!
//! The trait and the evaluation point [`At`] are here; the rest is in `derivatives/`: the
//! `Dual64` scratch and its kernels (`duals.rs`), the maps a product differentiates (`maps.rs`),
//! the wide-dual kernels (`wide.rs`), the dual-number defaults `ad_*` (`defaults.rs`), and a
//! guard's partials and a jump's rate at an event (`guard_and_rate.rs`).

use crate::HybridSystem;
#[cfg(doc)]
use wide_dual::WideDual;

mod defaults;
mod duals;
mod guard_and_rate;
mod maps;
mod wide;

pub use defaults::{
    ad_flow_jvp, ad_flow_vjp, ad_initial_state_vjp, ad_jump_jvp, ad_jump_vjp,
    initial_state_jacobian,
};
pub use duals::Duals;
pub(crate) use guard_and_rate::RateDuals;
pub use guard_and_rate::{guard_partials, jump_rate};
pub use maps::Jump;

/// Where a derivative product is evaluated: mode `q`, time `t`, state `x`, parameters `p`.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    /// Discrete mode.
    pub q: usize,
    /// Time.
    pub t: f64,
    /// State (length `n`).
    pub x: &'a [f64],
    /// Parameters (length `m`).
    pub p: &'a [f64],
}

/// Jacobian-vector and vector-Jacobian products of the flow and the jumps, as the forward
/// sensitivities (`*_jvp`, docs/maths.md §2) and the adjoint (`*_vjp`, §3) use them.
///
/// Every method has a dual-number default ([`ad_flow_jvp`], …): `impl Derivatives for MyModel {}`
/// is all a model needs. A large model overrides the products its structure makes cheap (a jump
/// that touches two components of a thousand); the test kit (`hybrid_testkit::check_derivatives`)
/// checks every override against the default. Wrappers forward to the wrapped model's
/// implementation, so overrides are kept.
pub trait Derivatives: HybridSystem + Sized {
    /// Whether the flow depends on the parameters at all (`f_p ≢ 0`). Default: `true`. A model
    /// whose parameters enter only its jumps and initial state (spiking networks: the weights)
    /// returns `false`, and the adjoint skips the quadrature `μ = ∫ λᵀ f_p dt` (docs/maths.md
    /// §3), integrating `n` components backwards instead of `n + m`. The test kit checks the
    /// claim (`f_p = 0`).
    fn flow_depends_on_parameters(&self) -> bool {
        true
    }

    /// Whether the flow's Jacobians `f_x` and `f_p` depend on the state at all. Default: `true`.
    /// A model whose flow is affine in the state in every mode, with a state coefficient free of
    /// the parameters (`f = A(q, t) x + b(q, t, p)`: the LIF neuron between spikes, the bouncing
    /// ball's `[v, −g]`), returns `false`, and the adjoint's backward pass (docs/maths.md §3,
    /// `λ̇ = −f_xᵀλ`, `μ̇ = −λᵀf_p`) evaluates [`Self::flow_vjp`] at one state of each interval
    /// instead of reading the stored trajectory at every stage (unless a running loss needs the
    /// state). `f_p` counts only when the flow depends on the parameters: `f = −p x` is affine
    /// in `x` but its `f_p = −x` is not state-free. The test kit checks the claim: `λᵀ f_x` and
    /// `λᵀ f_p`, by the model's `flow_vjp` and by the dual default, the same bits at two
    /// different states.
    fn flow_jacobian_depends_on_state(&self) -> bool {
        true
    }

    /// Whether the flow's Jacobians `f_x` and `f_p` depend on time. Default: `true`. A model
    /// whose `f_x` and `f_p` are the same at every time of a mode returns `false`: the bouncing
    /// ball's `[v, −g]`, or any `f = A(q, p) x + b(q, p) + c(q, t)` (a forcing `c` free of the
    /// state and the parameters may depend on time; `f = −g t` may not, its `f_g = −t` does).
    /// Together with
    /// [`Self::flow_jacobian_depends_on_state`]` = false` (and no running loss) the Jacobians are
    /// one fixed matrix per mode and parameter vector: the adjoint's backward pass forms
    /// `[f_x, f_p]` once per mode by `n` calls of [`Self::flow_vjp`] (unit `λ`), and since
    /// `[λ, μ]` then obeys a linear system with constant coefficients, moves it across each
    /// interval between breakpoints by the exact propagator (a Taylor series of the matrix
    /// exponential's action, to rounding) instead of Runge-Kutta steps (docs/maths.md §3); the
    /// result differs from the stepped one by rounding and by the steps' own error (below the
    /// tolerances). Alone (with a state-dependent Jacobian) the claim is not used. The test kit
    /// checks it: `λᵀ f_x` and `λᵀ f_p`, by the model's `flow_vjp` and by the dual default, the
    /// same bits at a second time (and a second state when the Jacobians are declared
    /// state-free).
    fn flow_jacobian_depends_on_time(&self) -> bool {
        true
    }

    /// Whether the flow depends on time explicitly. Default: `true`. A model whose flow reads
    /// the time in no mode (`f = f(q, x, p)`: the bouncing ball's `[v, −g]`) returns `false`.
    /// Together with [`Self::flow_jacobian_depends_on_state`]` = false` and
    /// [`Self::flow_jacobian_depends_on_time`]` = false` the flow of each mode is then
    /// `f = A(q) x + b(q, p)`, affine with constant coefficients and no forcing `c(q, t)`, and in
    /// a mode whose `A` is nilpotent of a low order (the ball's `[[0, 1], [0, 0]]`) every pass
    /// moves the state across a step by its exact Taylor polynomial
    /// `x(t0 + s) = x0 + Σ_k s^k/k! A^{k−1} f(x0)` instead of Runge-Kutta stages (docs/maths.md,
    /// "Exact polynomial flow"). Alone the claim is not used. The test kit checks it: the flow
    /// at a second time, the same bits.
    fn flow_depends_on_time(&self) -> bool {
        true
    }

    /// `f_x S + f_p` (`n × m`, column-major, into `out`) for the `n × m` sensitivity `s`.
    /// Default: [`ad_flow_jvp`], one wide-dual flow evaluation (`n ≤ 4`, `m ≤ 8`) or `m`.
    fn flow_jvp(&self, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        ad_flow_jvp(self, at, s, out, ad)
    }

    /// `λᵀ f_x` (into `out_x`, length `n`) and `λᵀ f_p` (into `out_p`, length `m`, or empty).
    /// `out_p` is empty when the caller does not need `λᵀ f_p`: the backward pass of a model
    /// whose [`Self::flow_depends_on_parameters`] is `false`. An implementation writes
    /// `out_p.len()` entries. Default: [`ad_flow_vjp`], one wide-dual flow evaluation
    /// (`n ≤ 4`, `n + out_p.len() ≤ 8`) or `n + out_p.len()`.
    fn flow_vjp(
        &self,
        at: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        out_p: &mut [f64],
        ad: &mut Duals,
    ) {
        ad_flow_vjp(self, at, lambda, out_x, out_p, ad)
    }

    /// Whether the guards depend on the parameters at all (`g_p ≢ 0`). Default: `true`. A model
    /// whose guards are thresholds on the state returns `false`, and the passes ask
    /// [`Self::guard_gradient`] for no `g_p` (they take it as zero). The test kit checks the claim
    /// (`g_p = 0` for every guard).
    fn guard_depends_on_parameters(&self) -> bool {
        true
    }

    /// Whether the guards' state gradient `g_x` depends on the state. Default: `true`. A model
    /// whose guards are affine in the state in every mode, `g = c(q, k, t, p) · x + g₀(q, k, t, p)`
    /// (a threshold on one component: the bouncing ball's `y`, a neuron's `v − ϑ`), returns
    /// `false`. Together with [`Self::guard_depends_on_time`]` = false`, on a step that moves the
    /// state by its exact polynomial `x(s) = x0 + Σ_k s^k c_k` (see
    /// [`Self::flow_depends_on_time`]) the guard is the polynomial
    /// `g(s) = g(x0) + Σ_k s^k (c · c_k)` with `c = g_x` formed once per run and mode: for a
    /// degree `D ≤ 2` the detector samples each guard where `|g|` turns (its closed-form extremum)
    /// instead of at `SolverOptions::guard_samples` points, so no double crossing inside a step
    /// is missed, and the crossing time is the closed-form root of the quadratic (docs/maths.md,
    /// "Event location"). Alone the claim is not used. The test kit checks it: `g_x` by dual
    /// numbers, the same bits at a second state.
    fn guard_gradient_depends_on_state(&self) -> bool {
        true
    }

    /// Whether the guards depend on time explicitly. Default: `true`. A model whose guards read
    /// the time in no mode (`g = g(q, k, x, p)`: the bouncing ball's `y`) returns `false`; see
    /// [`Self::guard_gradient_depends_on_state`] for what the two claims together allow. The test
    /// kit checks it: every guard at a second time, the same bits.
    fn guard_depends_on_time(&self) -> bool {
        true
    }

    /// Value and time partial `(g, g_t)` of guard `k` at `at` (returned), with `∂g/∂x` (into
    /// `g_x`, length `n`) and `∂g/∂p` (into `g_p`, length `m`, or empty when the caller does not
    /// need it: a model whose [`Self::guard_depends_on_parameters`] is `false`): what every guard
    /// event needs. An implementation writes `g_p.len()` entries. Default: [`guard_partials`],
    /// `2 + n + g_p.len()` guard evaluations. A guard that reads one state component (a
    /// threshold) overrides it with the unit vector.
    fn guard_gradient(
        &self,
        k: usize,
        at: At<'_>,
        g_x: &mut [f64],
        g_p: &mut [f64],
        ad: &mut Duals,
    ) -> (f64, f64) {
        guard_partials(self, k, at, g_x, g_p, ad)
    }

    /// `h_x S + h_p` of guard jump `k` at `x⁻` (`n × m` into `out`). Default: [`ad_jump_jvp`],
    /// one wide-dual jump evaluation (`n ≤ 4`, `m ≤ 8`) or `m`.
    fn jump_jvp(&self, k: usize, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        ad_jump_jvp(self, Jump::Guard(k), at, s, out, ad)
    }

    /// `λᵀ h_x` (into `out_x`) and `λᵀ h_p` (into `out_p`) of guard jump `k` at `x⁻`. Default:
    /// [`ad_jump_vjp`], one wide-dual jump evaluation (`n ≤ 4`, `n + m ≤ 8`) or `n + m`.
    fn jump_vjp(
        &self,
        k: usize,
        at: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        out_p: &mut [f64],
        ad: &mut Duals,
    ) {
        ad_jump_vjp(self, Jump::Guard(k), at, lambda, out_x, out_p, ad)
    }

    /// [`Self::jump_vjp`] with `λᵀ h_p` added to `acc_p` (length `m`) instead of written out:
    /// `λᵀ h_x` into `out_x`, `acc_p += λᵀ h_p`, the adjoint's event update of the gradient when
    /// the guards do not depend on the parameters (docs/maths.md §3). `scratch_p` (length `m`)
    /// is room for the default: [`Self::jump_vjp`] into `scratch_p`, then the sum, `O(m)` per
    /// event. A jump that touches few parameters (a spike: the synapses of one neuron)
    /// overrides it to add those alone. The test kit checks an override against the default.
    fn jump_vjp_add(
        &self,
        k: usize,
        at: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        acc_p: &mut [f64],
        scratch_p: &mut [f64],
        ad: &mut Duals,
    ) {
        self.jump_vjp(k, at, lambda, out_x, scratch_p, ad);
        add_into(acc_p, scratch_p);
    }

    /// `λᵀ ∂x0/∂p` (into `out`, length `m`): the adjoint's last term. Default:
    /// [`ad_initial_state_vjp`], `m` evaluations of the initial state.
    fn initial_state_vjp(&self, p: &[f64], lambda: &[f64], out: &mut [f64], ad: &mut Duals) {
        ad_initial_state_vjp(self, p, lambda, out, ad)
    }

    /// [`Self::jump_jvp`] of scheduled jump `i`.
    fn scheduled_jump_jvp(&self, i: usize, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        ad_jump_jvp(self, Jump::Scheduled(i), at, s, out, ad)
    }

    /// [`Self::jump_vjp`] of scheduled jump `i`.
    fn scheduled_jump_vjp(
        &self,
        i: usize,
        at: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        out_p: &mut [f64],
        ad: &mut Duals,
    ) {
        ad_jump_vjp(self, Jump::Scheduled(i), at, lambda, out_x, out_p, ad)
    }

    /// [`Self::jump_vjp_add`] of scheduled jump `i`.
    fn scheduled_jump_vjp_add(
        &self,
        i: usize,
        at: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        acc_p: &mut [f64],
        scratch_p: &mut [f64],
        ad: &mut Duals,
    ) {
        self.scheduled_jump_vjp(i, at, lambda, out_x, scratch_p, ad);
        add_into(acc_p, scratch_p);
    }
}

/// `acc += d`, entry by entry.
fn add_into(acc: &mut [f64], d: &[f64]) {
    acc.iter_mut().zip(d).for_each(|(a, d)| *a += d);
}

impl<M: Derivatives> Derivatives for &M {
    fn flow_depends_on_parameters(&self) -> bool {
        (**self).flow_depends_on_parameters()
    }
    fn flow_jacobian_depends_on_state(&self) -> bool {
        (**self).flow_jacobian_depends_on_state()
    }
    fn flow_jacobian_depends_on_time(&self) -> bool {
        (**self).flow_jacobian_depends_on_time()
    }
    fn flow_depends_on_time(&self) -> bool {
        (**self).flow_depends_on_time()
    }
    fn flow_jvp(&self, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        (**self).flow_jvp(at, s, out, ad)
    }
    fn flow_vjp(&self, at: At<'_>, l: &[f64], ox: &mut [f64], op: &mut [f64], ad: &mut Duals) {
        (**self).flow_vjp(at, l, ox, op, ad)
    }
    fn guard_depends_on_parameters(&self) -> bool {
        (**self).guard_depends_on_parameters()
    }
    fn guard_gradient_depends_on_state(&self) -> bool {
        (**self).guard_gradient_depends_on_state()
    }
    fn guard_depends_on_time(&self) -> bool {
        (**self).guard_depends_on_time()
    }
    fn guard_gradient(
        &self,
        k: usize,
        at: At<'_>,
        g_x: &mut [f64],
        g_p: &mut [f64],
        ad: &mut Duals,
    ) -> (f64, f64) {
        (**self).guard_gradient(k, at, g_x, g_p, ad)
    }
    fn initial_state_vjp(&self, p: &[f64], lambda: &[f64], out: &mut [f64], ad: &mut Duals) {
        (**self).initial_state_vjp(p, lambda, out, ad)
    }
    fn jump_jvp(&self, k: usize, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        (**self).jump_jvp(k, at, s, out, ad)
    }
    fn jump_vjp(
        &self,
        k: usize,
        at: At<'_>,
        l: &[f64],
        ox: &mut [f64],
        op: &mut [f64],
        ad: &mut Duals,
    ) {
        (**self).jump_vjp(k, at, l, ox, op, ad)
    }
    fn jump_vjp_add(
        &self,
        k: usize,
        at: At<'_>,
        l: &[f64],
        ox: &mut [f64],
        acc: &mut [f64],
        scratch: &mut [f64],
        ad: &mut Duals,
    ) {
        (**self).jump_vjp_add(k, at, l, ox, acc, scratch, ad)
    }
    fn scheduled_jump_jvp(&self, i: usize, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        (**self).scheduled_jump_jvp(i, at, s, out, ad)
    }
    fn scheduled_jump_vjp(
        &self,
        i: usize,
        at: At<'_>,
        l: &[f64],
        ox: &mut [f64],
        op: &mut [f64],
        ad: &mut Duals,
    ) {
        (**self).scheduled_jump_vjp(i, at, l, ox, op, ad)
    }
    fn scheduled_jump_vjp_add(
        &self,
        i: usize,
        at: At<'_>,
        l: &[f64],
        ox: &mut [f64],
        acc: &mut [f64],
        scratch: &mut [f64],
        ad: &mut Duals,
    ) {
        (**self).scheduled_jump_vjp_add(i, at, l, ox, acc, scratch, ad)
    }
}
