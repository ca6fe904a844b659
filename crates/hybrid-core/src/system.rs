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

/// A hybrid dynamical system: flow `ẋ = f_q(t, x, p)` in the discrete mode `q`, guards
/// `g_{q,k}(t, x, p)` with their crossing directions, and jump maps `x⁺ = h_{q,k}(t, x⁻, p)`
/// (docs/maths.md §1).
///
/// Every model method is written once, generic over the [`Scalar`] type; the framework evaluates
/// it in `f64` to simulate and in dual numbers to obtain every partial derivative it needs.
/// Model methods are infallible: they write into the output slice they are given (its length is
/// the one [`HybridSystem::dims`] declares). The mode `q` is an argument of `flow`, `guard`,
/// `jump` and `direction`; a model with one mode ignores it.
///
/// Required: [`dims`](Self::dims), [`initial_state`](Self::initial_state) and
/// [`flow`](Self::flow). A model with guards (`Dims::guards > 0`) implements
/// [`guard`](Self::guard) too (the default is `NaN`, which the event loop refuses with
/// [`crate::Error::NonFinite`] naming the guard); [`jump`](Self::jump) defaults to the identity
/// (an event that only switches the mode). Scheduled events at known times
/// ([`scheduled_times`](Self::scheduled_times), [`scheduled_jump`](Self::scheduled_jump)) need
/// no root finding, such as input spikes arriving at a neuron; their jumps may depend on the
/// parameters.
///
/// The derivative products the gradients use live in [`crate::Derivatives`]; an empty
/// `impl Derivatives for MyModel {}` gives their dual-number defaults.
pub trait HybridSystem {
    /// Sizes of the system.
    fn dims(&self) -> Dims;

    /// Initial state `x0(p)`.
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]);

    /// Free dynamics `f_q(t, x, p)` of mode `q`, written into `dx`.
    fn flow<T: Scalar>(&self, q: usize, t: T, x: &[T], p: &[T], dx: &mut [T]);

    /// Guard `g_{q,k}(t, x, p)`; event `k` happens where it crosses zero in
    /// [`Self::direction`]. Default: `NaN` (a model without guards never has it called).
    fn guard<T: Scalar>(&self, _q: usize, _k: usize, _t: T, _x: &[T], _p: &[T]) -> T {
        T::cst(f64::NAN)
    }

    /// Crossing direction of guard `k` in mode `q`. Default: [`Crossing::Either`].
    fn direction(&self, _q: usize, _k: usize) -> Crossing {
        Crossing::Either
    }

    /// Jump map `h_{q,k}(t, x⁻, p)` written into `xp`. Default: the identity.
    fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
        xp.copy_from_slice(x)
    }

    /// Mode at `t0`. Default: 0.
    fn initial_mode(&self) -> usize {
        0
    }

    /// Mode after event `k` fired in mode `q`. Default: unchanged.
    fn next_mode(&self, q: usize, _k: usize) -> usize {
        q
    }

    /// Whether guard `k` is watched in mode `q`. Default: always.
    fn guard_active(&self, _q: usize, _k: usize) -> bool {
        true
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
}

/// A model behind a shared reference is the model itself (so a [`crate::Problem`] can borrow
/// it).
impl<M: HybridSystem> HybridSystem for &M {
    fn dims(&self) -> Dims {
        (**self).dims()
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        (**self).initial_state(p, x0)
    }
    fn flow<T: Scalar>(&self, q: usize, t: T, x: &[T], p: &[T], dx: &mut [T]) {
        (**self).flow(q, t, x, p, dx)
    }
    fn guard<T: Scalar>(&self, q: usize, k: usize, t: T, x: &[T], p: &[T]) -> T {
        (**self).guard(q, k, t, x, p)
    }
    fn direction(&self, q: usize, k: usize) -> Crossing {
        (**self).direction(q, k)
    }
    fn jump<T: Scalar>(&self, q: usize, k: usize, t: T, x: &[T], p: &[T], xp: &mut [T]) {
        (**self).jump(q, k, t, x, p, xp)
    }
    fn initial_mode(&self) -> usize {
        (**self).initial_mode()
    }
    fn next_mode(&self, q: usize, k: usize) -> usize {
        (**self).next_mode(q, k)
    }
    fn guard_active(&self, q: usize, k: usize) -> bool {
        (**self).guard_active(q, k)
    }
    fn scheduled_times(&self) -> &[f64] {
        (**self).scheduled_times()
    }
    fn scheduled_jump<T: Scalar>(&self, i: usize, t: T, x: &[T], p: &[T], xp: &mut [T]) {
        (**self).scheduled_jump(i, t, x, p, xp)
    }
}
