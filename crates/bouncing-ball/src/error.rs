//! The crate's error type: the core's errors, plus the ball's own (Zeno time, parameters, fit).

/// Errors of the bouncing-ball entry points and of the parameter fit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BallError {
    /// The horizon reaches the Zeno time `t_Z`, where infinitely many impacts accumulate
    /// (`docs/bouncing-ball.md` §"The Zeno time"): no simulation can get past it.
    #[error(
        "horizon t_end = {t_end} is at or past the Zeno time t_Z = {t_zeno}: with restitution \
         e = {e} the impacts accumulate at t_Z and the ball rests on the floor from then on; \
         choose t_end < t_Z"
    )]
    PastZenoTime {
        /// Requested end time.
        t_end: f64,
        /// Predicted accumulation time `t_Z = t1 + 2 e u / (g (1 − e))`.
        t_zeno: f64,
        /// Restitution coefficient.
        e: f64,
    },
    /// The solver gave up on impacts accumulating (too many events, events too close together or
    /// a vanishing step) before `t_end`, which lies just before the Zeno time.
    #[error(
        "impacts accumulate towards the Zeno time t_Z = {t_zeno} and the solver stopped before \
         t_end = {t_end}: {source}"
    )]
    ZenoAccumulation {
        /// Requested end time.
        t_end: f64,
        /// Predicted accumulation time.
        t_zeno: f64,
        /// What the solver reported.
        source: hybrid_core::Error,
    },
    /// A parameter outside the model's domain.
    #[error("parameter {name} = {value} is invalid: need {requirement}")]
    InvalidParameter {
        /// Parameter name (`y0`, `v0`, `e`, `g`).
        name: &'static str,
        /// Its value.
        value: f64,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// Observation times and heights of different lengths, or no observation at all.
    #[error("{times} observation times but {heights} heights (need the same, at least one)")]
    ObservationMismatch {
        /// Number of times.
        times: usize,
        /// Number of heights.
        heights: usize,
    },
    /// An observation with a non-finite height, or a time that is not finite, positive and at
    /// least the previous one.
    #[error(
        "observation {index} (t = {time}, height {height}) is invalid: need finite heights and \
         finite, positive, non-decreasing times"
    )]
    InvalidObservation {
        /// Position of the observation.
        index: usize,
        /// Its time.
        time: f64,
        /// Its height.
        height: f64,
    },
    /// The fit did not reach its gradient tolerance.
    #[error(
        "fit stopped after {iterations} iterations without converging: loss {loss:e}, \
         gradient norm {gradient_norm:e} (tolerance {tolerance:e}); {reason}"
    )]
    FitNotConverged {
        /// Iterations done.
        iterations: usize,
        /// Loss at the last iterate.
        loss: f64,
        /// Largest gradient component at the last iterate.
        gradient_norm: f64,
        /// The gradient tolerance.
        tolerance: f64,
        /// Why it stopped.
        reason: &'static str,
    },
    /// A negative or NaN time given to the closed form (time starts at `t = 0`).
    #[error("time t = {t} is invalid: the closed form needs t ≥ 0 (time starts at 0)")]
    InvalidTime {
        /// The time given.
        t: f64,
    },
    /// More impacts than the closed form can count or list (see
    /// [`crate::closed_form::MAX_IMPACTS`] and [`crate::closed_form::MAX_LISTED_IMPACTS`]).
    #[error(
        "{impacts:e} impacts requested or before t, more than the closed form's limit {limit:e}"
    )]
    TooManyImpacts {
        /// Impacts asked for (a list length) or counted before the time given.
        impacts: f64,
        /// The limit.
        limit: f64,
    },
    /// With `e ≥ 1`, a time so large that its `f64` spacing is a noticeable part of a bounce
    /// (see [`crate::closed_form::PHASE_RESOLUTION`]): the state there is not determined.
    #[error(
        "time t = {t:e} has a spacing of {resolution:e}, too coarse for bounces lasting {bounce:e}: \
         the ball's place within its bounce is not determined at that time"
    )]
    TimeTooCoarse {
        /// The time given.
        t: f64,
        /// The spacing of `f64` values near `t`, `t · 2⁻⁵²`.
        resolution: f64,
        /// Duration of the bounce the ball is in at `t`.
        bounce: f64,
    },
    /// An error of the framework.
    #[error(transparent)]
    Core(#[from] hybrid_core::Error),
}
