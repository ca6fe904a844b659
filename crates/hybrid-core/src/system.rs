//! The trait a user implements to define a hybrid system (docs/maths.md §1).

use crate::Scalar;

/// Sizes of a hybrid system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Number of continuous states `n`.
    pub states: usize,
    /// Number of parameters `m`.
    pub params: usize,
    /// Number of guards `K` (transition conditions found by root finding).
    pub guards: usize,
}

/// The direction in which a guard must cross zero to trigger its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossing {
    /// From negative to positive.
    Rising,
    /// From positive to negative.
    Falling,
    /// Either way.
    Either,
}

impl Crossing {
    /// Whether going from `before` to `after` crosses zero in this direction.
    ///
    /// A crossing needs a strict sign on the side it starts from, so a guard that sits at zero
    /// right after its own jump does not fire again at the same instant.
    pub fn crosses(self, before: f64, after: f64) -> bool {
        let rising = before < 0.0 && after >= 0.0;
        let falling = before > 0.0 && after <= 0.0;
        match self {
            Crossing::Rising => rising,
            Crossing::Falling => falling,
            Crossing::Either => rising || falling,
        }
    }
}

/// A hybrid dynamical system: flow `ẋ = f(t, x, p)`, guards `g_k(t, x, p)` with their crossing
/// directions, and jump maps `x⁺ = h_k(t, x⁻, p)` (docs/maths.md §1).
///
/// Every model method is written once, generic over the [`Scalar`] type; the framework evaluates
/// it in `f64` to simulate and in dual numbers to obtain every partial derivative it needs
/// (see [`crate::derivatives`]). Model methods are infallible: they write into the output slice
/// they are given (its length is the one [`HybridSystem::dims`] declares).
///
/// Optional capabilities have defaults:
/// - a discrete mode `q` (`*_in_mode` methods, [`HybridSystem::guard_active`],
///   [`HybridSystem::next_mode`]): for models whose flow, guards or jumps change at events;
/// - scheduled events at known times ([`HybridSystem::scheduled_times`],
///   [`HybridSystem::scheduled_jump`]): jumps that need no root finding, such as input spikes
///   arriving at a neuron; their jumps may depend on the parameters.
pub trait HybridSystem {
    /// Sizes of the system.
    fn dims(&self) -> Dims;

    /// Initial state `x0(p)`.
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]);

    /// Free dynamics `f(t, x, p)` written into `dx` (of mode 0 for a modal system).
    fn flow<T: Scalar>(&self, t: T, x: &[T], p: &[T], dx: &mut [T]);

    /// Guard `g_k(t, x, p)`; event `k` happens where it crosses zero in [`Self::direction`].
    fn guard<T: Scalar>(&self, k: usize, t: T, x: &[T], p: &[T]) -> T;

    /// Crossing direction of guard `k`. Default: [`Crossing::Either`].
    fn direction(&self, _k: usize) -> Crossing {
        Crossing::Either
    }

    /// Jump map `h_k(t, x⁻, p)` written into `xp`.
    fn jump<T: Scalar>(&self, k: usize, t: T, x: &[T], p: &[T], xp: &mut [T]);

    /// Mode at `t0`. Default: 0.
    fn initial_mode(&self) -> usize {
        0
    }

    /// Mode after event `k` fired in mode `q`. Default: unchanged.
    fn next_mode(&self, _k: usize, q: usize) -> usize {
        q
    }

    /// Whether guard `k` is watched in mode `q`. Default: always.
    fn guard_active(&self, _k: usize, _q: usize) -> bool {
        true
    }

    /// Flow in mode `q`. Default: [`Self::flow`].
    fn flow_in_mode<T: Scalar>(&self, _q: usize, t: T, x: &[T], p: &[T], dx: &mut [T]) {
        self.flow(t, x, p, dx)
    }

    /// Guard `k` in mode `q`. Default: [`Self::guard`].
    fn guard_in_mode<T: Scalar>(&self, _q: usize, k: usize, t: T, x: &[T], p: &[T]) -> T {
        self.guard(k, t, x, p)
    }

    /// Jump `k` in mode `q`. Default: [`Self::jump`].
    fn jump_in_mode<T: Scalar>(&self, _q: usize, k: usize, t: T, x: &[T], p: &[T], xp: &mut [T]) {
        self.jump(k, t, x, p, xp)
    }

    /// Times of scheduled events (known in advance, independent of the parameters), sorted.
    /// Default: none.
    fn scheduled_times(&self) -> &[f64] {
        &[]
    }

    /// Jump of scheduled event `i` (at `scheduled_times()[i]`). Default: identity.
    fn scheduled_jump<T: Scalar>(&self, _i: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
        xp.copy_from_slice(x)
    }

    /// Forward-sensitivity right-hand side `f_x S + f_p` in mode `q` (docs/maths.md §2), with `s`
    /// and `out` the `n × m` matrices in column-major order. Default: dual numbers
    /// ([`crate::derivatives::ad_flow_sensitivity`]). Override with a sparse product for large
    /// models; the test kit checks the override against the default.
    fn flow_sensitivity(&self, q: usize, t: f64, x: &[f64], p: &[f64], s: &[f64], out: &mut [f64]) {
        crate::derivatives::ad_flow_sensitivity(self, q, t, x, p, s, out)
    }

    /// Vector-Jacobian products `λᵀ f_x` (into `out_x`, length `n`) and `λᵀ f_p` (into `out_p`,
    /// length `m`) in mode `q`, as the adjoint needs them (docs/maths.md §3). Default: dual numbers
    /// ([`crate::derivatives::ad_flow_vjp`]). Override with a sparse product for large models; the
    /// test kit checks the override against the default.
    fn flow_vjp(
        &self,
        q: usize,
        t: f64,
        x: &[f64],
        p: &[f64],
        lambda: &[f64],
        out_x: &mut [f64],
        out_p: &mut [f64],
    ) {
        crate::derivatives::ad_flow_vjp(self, q, t, x, p, lambda, out_x, out_p)
    }

    /// Vector-Jacobian products of jump `k` in mode `q` at `(t, x⁻)`: `λᵀ h_x` into `out_x`
    /// (length `n`) and `λᵀ h_p` into `out_p` (length `m`), as the adjoint jump needs them
    /// (docs/maths.md §3). Default: the dense dual-number Jacobian
    /// ([`crate::derivatives::ad_jump_vjp`]), `O(n (n + m))` per event; a large model whose jumps
    /// touch few components overrides it, and the test kit checks the override.
    fn jump_vjp(
        &self,
        q: usize,
        k: usize,
        t: f64,
        x: &[f64],
        p: &[f64],
        lambda: &[f64],
        out_x: &mut [f64],
        out_p: &mut [f64],
    ) {
        crate::derivatives::ad_jump_vjp(self, q, k, t, x, p, lambda, out_x, out_p)
    }

    /// [`Self::jump_vjp`] for scheduled event `i`. Default: the dense dual-number Jacobian
    /// ([`crate::derivatives::ad_scheduled_jump_vjp`]).
    fn scheduled_jump_vjp(
        &self,
        i: usize,
        t: f64,
        x: &[f64],
        p: &[f64],
        lambda: &[f64],
        out_x: &mut [f64],
        out_p: &mut [f64],
    ) {
        crate::derivatives::ad_scheduled_jump_vjp(self, i, t, x, p, lambda, out_x, out_p)
    }
}
