//! Plain simulation: trajectory and event records.

use crate::engine::{run, with_stepper, NoAugment};
use crate::trajectory::Solution;
use crate::{Error, HybridSystem, SolverOptions};

/// Integrate `model` with parameters `p` from `t0` to `t_end`, locating and applying every event.
///
/// Returns the dense trajectory and one [`crate::EventRecord`] per event (time, guard, state
/// before and after, `ġ`). Errors are typed: bad input ([`Error::WrongLength`],
/// [`Error::NonFinite`], [`Error::InvalidTimeSpan`], [`Error::InvalidOption`]), Zeno behaviour
/// ([`Error::TooManyEvents`], [`Error::EventsTooClose`]), a jump that re-triggers its guard
/// ([`Error::Retrigger`]) and integrator failures.
///
/// ```
/// use hybrid_core::{simulate, Crossing, Dims, HybridSystem, Scalar, SolverOptions};
///
/// /// A ball dropped from height p[0] onto the floor; restitution 0.5, gravity 10.
/// struct Ball;
/// impl HybridSystem for Ball {
///     fn dims(&self) -> Dims { Dims { states: 2, params: 1, guards: 1 } }
///     fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) { x0[0] = p[0]; x0[1] = T::zero(); }
///     fn flow<T: Scalar>(&self, _t: T, x: &[T], _p: &[T], dx: &mut [T]) { dx[0] = x[1]; dx[1] = T::cst(-10.0); }
///     fn guard<T: Scalar>(&self, _k: usize, _t: T, x: &[T], _p: &[T]) -> T { x[0] }
///     fn direction(&self, _k: usize) -> Crossing { Crossing::Falling }
///     fn jump<T: Scalar>(&self, _k: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
///         xp[0] = x[0]; xp[1] = T::cst(-0.5) * x[1];
///     }
/// }
///
/// let sol = simulate(&Ball, &[5.0], 0.0, 1.5, &SolverOptions::default()).unwrap();
/// assert_eq!(sol.events.len(), 1);
/// assert!((sol.events[0].t - 1.0).abs() < 1e-12); // 5 = 10 t²/2
/// ```
pub fn simulate<M: HybridSystem + ?Sized>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    opts: &SolverOptions,
) -> Result<Solution, Error> {
    let mut aug = NoAugment;
    let r = with_stepper!(opts.integrator, S => run::<M, _, S>(model, p, t0, t_end, &[], opts, &mut aug, true)?);
    Ok(Solution {
        trajectory: r.trajectory.expect("simulate stores the trajectory"),
        events: r.events,
        near_misses: r.near_misses,
        x_end: r.z_end,
        mode_end: r.mode_end,
        stats: r.stats,
    })
}
