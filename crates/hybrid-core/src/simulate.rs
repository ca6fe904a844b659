//! The one-call conveniences: each builds a [`Problem`] and a [`crate::Solver`] for one call.
//! In a loop over parameters, build the solver once instead (it reuses its buffers).

use crate::forward::Sensitivities;
use crate::trajectory::Solution;
use crate::{Derivatives, Error, Gradient, Loss, Problem, SolverOptions};

/// Integrate `model` with parameters `p` from `t0` to `t_end`, locating and applying every event.
///
/// Returns the dense trajectory and one [`crate::EventRecord`] per event (time, guard, state
/// before and after, `ġ`). Errors are typed: bad input ([`Error::WrongLength`],
/// [`Error::NonFinite`], [`Error::InvalidTimeSpan`], [`Error::InvalidOption`]), Zeno behaviour
/// ([`Error::TooManyEvents`], [`Error::EventsTooClose`]), a jump that re-triggers its guard
/// ([`Error::Retrigger`]) and integrator failures.
///
/// ```
/// use hybrid_core::{simulate, Crossing, Derivatives, Dims, HybridSystem, Scalar, SolverOptions};
///
/// /// A ball dropped from height p[0] onto the floor; restitution 0.5, gravity 10.
/// struct Ball;
/// impl HybridSystem for Ball {
///     fn dims(&self) -> Dims { Dims { states: 2, params: 1, guards: 1 } }
///     fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) { x0[0] = p[0]; x0[1] = T::zero(); }
///     fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], _p: &[T], dx: &mut [T]) {
///         dx[0] = x[1];
///         dx[1] = T::cst(-10.0);
///     }
///     fn guard<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T]) -> T { x[0] }
///     fn direction(&self, _q: usize, _k: usize) -> Crossing { Crossing::Falling }
///     fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
///         xp[0] = x[0];
///         xp[1] = T::cst(-0.5) * x[1];
///     }
/// }
/// impl Derivatives for Ball {} // dual-number products
///
/// let sol = simulate(&Ball, &[5.0], 0.0, 1.5, &SolverOptions::default()).unwrap();
/// assert_eq!(sol.events.len(), 1);
/// assert!((sol.events[0].t - 1.0).abs() < 1e-12); // 5 = 10 t²/2
/// ```
pub fn simulate<M: Derivatives>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    opts: &SolverOptions,
) -> Result<Solution, Error> {
    Problem::new(model, t0, t_end)?
        .with_options(*opts)?
        .solver()
        .simulate(p)
}

/// The loss `L(p)` by one simulation, without gradient (e.g. for finite differences).
pub fn loss_value<M: Derivatives, L: Loss>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    loss: &L,
    opts: &SolverOptions,
) -> Result<f64, Error> {
    Problem::new(model, t0, t_end)?
        .with_loss(loss)?
        .with_options(*opts)?
        .solver()
        .loss(p)
}

/// `dL/dp` by the adjoint method (docs/maths.md §3); see [`crate::Solver::adjoint_gradient`].
pub fn adjoint_gradient<M: Derivatives, L: Loss>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    loss: &L,
    opts: &SolverOptions,
) -> Result<Gradient, Error> {
    let problem = Problem::new(model, t0, t_end)?
        .with_loss(loss)?
        .with_options(*opts)?;
    let mut solver = problem.solver();
    solver.adjoint_gradient(p).cloned()
}

/// `dL/dp` from forward sensitivities (docs/maths.md §2); see
/// [`crate::Solver::forward_gradient`].
pub fn forward_gradient<M: Derivatives, L: Loss>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    loss: &L,
    opts: &SolverOptions,
) -> Result<Gradient, Error> {
    let problem = Problem::new(model, t0, t_end)?
        .with_loss(loss)?
        .with_options(*opts)?;
    let mut solver = problem.solver();
    solver.forward_gradient(p).cloned()
}

/// `x` and `S = ∂x/∂p` at `sample_times` (sorted, within the span), with the jump rule at every
/// event (docs/maths.md §2); see [`crate::Solver::forward_sensitivities`].
///
/// Fails with [`Error::GrazingEvent`] when an event's grazing index exceeds
/// `opts.grazing_limit`, and with [`Error::EventAtRestart`] for an event that fired the instant
/// its guard was released: the sensitivities are not defined there. A sample time that coincides
/// with an event sees the state and sensitivities after the jump.
pub fn forward_sensitivities<M: Derivatives>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    sample_times: &[f64],
    opts: &SolverOptions,
) -> Result<Sensitivities, Error> {
    Problem::new(model, t0, t_end)?
        .with_options(*opts)?
        .solver()
        .forward_sensitivities(p, sample_times)
}
