//! Adaptive explicit Runge-Kutta integrators with dense output.
//!
//! The event loop (see [`crate::simulate()`]) drives a [`Stepper`] one accepted step at a time,
//! inspects the step's dense output for guard crossings, and restarts the stepper in place after a
//! jump. Nothing here allocates after construction.

pub(crate) mod dense;
mod dim;
mod dop853;
mod dop853_tableau;
mod dopri5;
mod explicit_rk;
mod step_control;

pub use dense::{DenseSegment, Method};
pub use dop853::Dop853;
pub use dopri5::Dopri5;
pub use explicit_rk::MAX_POLYNOMIAL_DEGREE;

/// Why a step could not be taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StepError {
    /// The step size fell below `16 ε |t|` (what `f64` resolves at `t`) while the error test
    /// kept failing.
    StepSizeTooSmall {
        /// Time at which the stepper gave up.
        t: f64,
        /// The step size that was too small.
        h: f64,
    },
    /// The right-hand side returned NaN or infinity.
    NonFinite {
        /// Time of the evaluation that was not finite.
        t: f64,
    },
    /// More than `max_steps` steps were attempted since the last reset.
    TooManySteps {
        /// Time reached.
        t: f64,
        /// Steps attempted.
        steps: usize,
    },
}

impl StepError {
    /// The error of a stepper run in `s = −t` (the adjoint's backward pass), with its times
    /// (and step size) in `t`.
    pub(crate) fn in_reversed_time(self) -> Self {
        match self {
            StepError::StepSizeTooSmall { t, h } => StepError::StepSizeTooSmall { t: -t, h: -h },
            StepError::NonFinite { t } => StepError::NonFinite { t: -t },
            StepError::TooManySteps { t, steps } => StepError::TooManySteps { t: -t, steps },
        }
    }
}

/// Counters of the work a stepper did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepStats {
    /// Accepted steps.
    pub accepted: usize,
    /// Rejected steps.
    pub rejected: usize,
    /// Right-hand-side evaluations.
    pub rhs_evals: usize,
}

/// Tolerances and limits of a stepper (validated by the caller).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepperOptions {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Largest step size magnitude (`f64::INFINITY` for none).
    pub max_step: f64,
    /// First step size magnitude; `0.0` chooses it automatically.
    pub first_step: f64,
    /// Steps allowed between two resets.
    pub max_steps: usize,
}

/// A one-step adaptive integrator of `ẋ = f(t, x)` that exposes its dense output.
///
/// The right-hand side is passed to every call (not stored), so the event loop can borrow the
/// model and parameters freely. Integration may run forwards or backwards in time: the direction
/// is the sign of `t_bound - t()` in [`Stepper::step`].
pub trait Stepper {
    /// Dense-output method of this stepper.
    const METHOD: Method;

    /// A stepper for `n` states.
    fn new(n: usize, options: StepperOptions) -> Self;

    /// Restart at `(t, x)`, e.g. at the start or after a jump: discards the previous step, and
    /// evaluates `f(t, x)`. `direction` (`+1.0` or `-1.0`) is the direction of the coming steps,
    /// used to choose the first step size. A non-finite `f(t, x)` is reported by the next
    /// [`Stepper::step`] as [`StepError::NonFinite`].
    fn reset<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        rhs: &mut F,
        t: f64,
        x: &[f64],
        direction: f64,
    );

    /// [`Stepper::reset`] trying `first` (a magnitude) as the first step instead of the
    /// heuristic, e.g. the step the controller proposed before a jump ([`Stepper::next_step`]);
    /// `0` (or a non-finite value) falls back to the heuristic. The error control accepts or
    /// shrinks it like any other step.
    fn reset_with_step<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        rhs: &mut F,
        t: f64,
        x: &[f64],
        direction: f64,
        first: f64,
    );

    /// From the next [`Stepper::reset`] on (until changed), move the first `ns` components by
    /// the exact flow of `ẋ = A x + b` for an `A` with `A^D = 0`: `flow = (a, D)`, `a` the rows of
    /// `A` (`ns²` numbers, `a[i ns + j] = a_ij`), `1 ≤ D ≤` [`MAX_POLYNOMIAL_DEGREE`]; `None`: by
    /// the pair's stages. The caller vouches that those components obey such a flow, reading
    /// nothing else (docs/maths.md, "Exact polynomial flow"). Across a step the state is then its
    /// Taylor polynomial of degree `D` (from `f` at the step's start), the step size the one the
    /// pair's controller chooses after a zero error estimate, the dense output and
    /// [`Stepper::step_from_prev_to`] of those components the polynomial; the remaining
    /// components ride along by the pair's formula on the state's exact values, their dense
    /// output the cubic Hermite interpolant of the step's ends.
    fn set_polynomial_flow(&mut self, flow: Option<(&[f64], usize)>);

    /// The Taylor coefficients `c_1 .. c_D` of the last accepted step when the state crossed it
    /// by its exact polynomial (see [`Stepper::set_polynomial_flow`]): `(c, D)` with
    /// `x(t_prev + s) = x_prev + Σ_k s^k c[(k − 1) ns .. k ns]`, `ns = c.len() / D`. `None` when
    /// the step was taken by the pair's stages (or there is no step yet). Default: `None`.
    fn polynomial_step(&self) -> Option<(&[f64], usize)> {
        None
    }

    /// Magnitude of the step the controller would try next (`0` before any).
    fn next_step(&self) -> f64;

    /// Take one accepted step towards `t_bound` without passing it (the step ends exactly on
    /// `t_bound` when it would pass it). Rejected attempts are retried internally. A `t_bound`
    /// equal to [`Stepper::t`] is a no-op.
    fn step<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        rhs: &mut F,
        t_bound: f64,
    ) -> Result<(), StepError>;

    /// Current time (end of the last accepted step).
    fn t(&self) -> f64;
    /// Current state.
    fn x(&self) -> &[f64];
    /// Start time of the last accepted step.
    fn t_prev(&self) -> f64;
    /// State at the start of the last accepted step.
    fn x_prev(&self) -> &[f64];
    /// `f(t, x)` at the current point (first stage of the next step).
    fn dx(&self) -> &[f64];

    /// Dense output of the last accepted step at `t` in `[t_prev, t]` (extrapolates outside),
    /// of the first `out.len()` components (at most `n`): a caller that reads only the leading
    /// components, such as the state without what rides along with it, pays for those alone.
    /// A stepper may build the step's dense-output coefficients on the first call after the
    /// step rather than in every step (Dopri5 does, keeping what they are made of until the
    /// next accepted step or reset); the values are the same either way.
    fn interpolate(&self, t: f64, out: &mut [f64]);

    /// The last accepted step's dense output as a segment that can be stored (built now if
    /// the stepper builds it on first use, see [`Stepper::interpolate`]).
    fn segment(&mut self) -> DenseSegment<'_>;

    /// One step of the underlying Runge-Kutta formula from `(t_prev, x_prev)` to `t_target`,
    /// without error control: accurate to the method's full order, used to polish event times
    /// independently of the interpolant's lower order. Uses internal scratch space.
    ///
    /// Steps the first `out.len()` components (at most `n`) as a system of their own: `rhs` is
    /// called with slices of that length. With `out.len() < n` this is the same step for those
    /// components, bit for bit, when their rates do not read the others (the state, without
    /// the sensitivities or quadratures that ride along with it).
    fn step_from_prev_to<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        rhs: &mut F,
        t_target: f64,
        out: &mut [f64],
    );

    /// Counters since construction.
    fn stats(&self) -> StepStats;

    /// Per component, the sum of the error estimates of the accepted steps since construction:
    /// an estimate of the global error (it ignores how the flow amplifies or damps earlier
    /// errors, and is zero for components the pair integrates exactly, such as polynomials of
    /// low degree). Components outside the error norm carry zero.
    fn error_bound(&self) -> &[f64];

    /// Let only the first `count` components steer the step size (error norm and first-step
    /// heuristic); the others are integrated on the steps those choose. Default: all. This is how
    /// sensitivities and loss quadratures ride along a primal trajectory without changing it.
    fn set_error_components(&mut self, count: usize);

    /// Start a new solve with the same sizes: zero [`Stepper::stats`] and
    /// [`Stepper::error_bound`], as after [`Stepper::new`] (no allocation). The next call must
    /// be [`Stepper::reset`].
    fn clear_accounting(&mut self);
}
