//! The crate's error type: every variant carries the numbers a user needs to act.

/// Errors of simulation and gradient computation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A solver option is out of range.
    #[error("invalid option `{name}` = {value}")]
    InvalidOption {
        /// Name of the option field.
        name: &'static str,
        /// Its value.
        value: f64,
    },
    /// A slice passed in has the wrong length.
    #[error("`{what}` has length {got}, expected {expected}")]
    WrongLength {
        /// What the slice is.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// The time span is empty, reversed or not finite.
    #[error("invalid time span: t0 = {t0}, t_end = {t_end} (need finite t0 < t_end)")]
    InvalidTimeSpan {
        /// Start.
        t0: f64,
        /// End.
        t_end: f64,
    },
    /// A loss observation or scheduled event time lies outside `[t0, t_end]` or is unsorted.
    #[error("{what} time {t} is outside [{t0}, {t_end}] or out of order")]
    InvalidTime {
        /// Which kind of time.
        what: &'static str,
        /// The offending time.
        t: f64,
        /// Start of the span.
        t0: f64,
        /// End of the span.
        t_end: f64,
    },
    /// NaN or infinity in a parameter, the state, a derivative or a loss.
    #[error("non-finite {what} at t = {t}")]
    NonFinite {
        /// What was not finite (e.g. "parameter 2", "state", "flow").
        what: String,
        /// Time at which it was found.
        t: f64,
    },
    /// The step size underflowed: the flow is too stiff or singular here.
    #[error("step size {h:e} too small at t = {t}")]
    StepSizeTooSmall {
        /// Time reached.
        t: f64,
        /// Step size.
        h: f64,
    },
    /// Too many steps between two events.
    #[error("more than {steps} steps at t = {t}")]
    TooManySteps {
        /// Time reached.
        t: f64,
        /// Steps taken.
        steps: usize,
    },
    /// More events than `max_events`: likely Zeno behaviour (events accumulating).
    #[error("more than {count} events by t = {t} (Zeno behaviour? raise max_events if not)")]
    TooManyEvents {
        /// Time of the last event.
        t: f64,
        /// Number of events.
        count: usize,
    },
    /// Two events of one guard closer than `min_event_separation`: likely Zeno behaviour.
    #[error("events of guard {guard} at t = {t} only {dt:e} apart after {count} events (Zeno behaviour?)")]
    EventsTooClose {
        /// Time of the later event.
        t: f64,
        /// Guard index.
        guard: usize,
        /// Separation from the previous event of that guard.
        dt: f64,
        /// Events so far.
        count: usize,
    },
    /// A jump left its own guard at zero moving in its crossing direction: it would fire again
    /// at once, forever.
    #[error("jump of guard {guard} at t = {t} re-triggers it (guard after jump {g_after:e}, rate {gdot_after:e})")]
    Retrigger {
        /// Time of the event.
        t: f64,
        /// Guard index.
        guard: usize,
        /// Guard value after the jump.
        g_after: f64,
        /// Guard rate after the jump.
        gdot_after: f64,
    },
    /// An event is too close to grazing for its gradient to be trusted: its grazing index
    /// `κ = |g̈| σ_g / ġ²` (the relative error of `ġ` caused by the estimated state error,
    /// docs/maths.md "Grazing") exceeds `SolverOptions::grazing_limit`. At `ġ = 0` the event time
    /// is not a differentiable function of the parameters at all. When several events graze, the
    /// first in time is named.
    #[error("grazing event of guard {guard} at t = {t}: gdot = {gdot:e}, grazing index {index:e} above the limit {limit:e}")]
    GrazingEvent {
        /// Time of the event.
        t: f64,
        /// Guard index.
        guard: usize,
        /// The guard's rate of change `ġ` at the event.
        gdot: f64,
        /// The event's grazing index `κ`.
        index: f64,
        /// `SolverOptions::grazing_limit`.
        limit: f64,
    },
    /// A guard turned back short of zero by less than ten times its noise
    /// `σ_g = Σ |∂g/∂x_i| (err_i + 16 ε |x_i|)` (`err_i` the integrator's accumulated error
    /// estimate of state `i`): at these tolerances it is not resolved whether the
    /// true trajectory crosses (an event) or not, and the two give different gradients. Tighten
    /// `rtol`/`atol` or move the parameters away from the tangency.
    #[error("guard {guard} turns back at t = {t} only {g:e} from zero, within its noise {noise:e}: whether it crosses is not resolved at these tolerances")]
    NearMiss {
        /// Time of the guard's extremum.
        t: f64,
        /// Guard index.
        guard: usize,
        /// Guard value at the extremum.
        g: f64,
        /// The guard's noise `σ_g` there.
        noise: f64,
    },
    /// A guard sat on zero at a restart point (`t0`, or right after another event's jump) moving
    /// into its crossing direction, so its event fired at that instant. Simulation applies it;
    /// a gradient is refused, because an arbitrarily small change of the parameters can put the
    /// guard on the far side of zero, where it never fires.
    #[error("guard {guard} fires at t = {t} the instant it is released (guard {g:e}, gdot {gdot:e}): the loss is not differentiable there")]
    EventAtRestart {
        /// Time of the event.
        t: f64,
        /// Guard index.
        guard: usize,
        /// Guard value at the restart point.
        g: f64,
        /// Guard rate at the restart point.
        gdot: f64,
    },
    /// A guard event coincides with an observation time (within
    /// `SolverOptions::simultaneity_tolerance`): the observed state jumps there, so the loss is
    /// not differentiable. Simulation applies the event before the observation.
    #[error("guard {guard} fires at t = {t}, on observation {observation} (t = {t_observation}): the loss is not differentiable there")]
    EventAtObservation {
        /// Time of the event.
        t: f64,
        /// Guard index.
        guard: usize,
        /// Index of the observation.
        observation: usize,
        /// Its time.
        t_observation: f64,
    },
    /// The loss selects an event (e.g. "the 3rd impact") that did not happen.
    #[error("event term {index} selects {selector}, which did not happen ({available} events of that kind)")]
    MissingEvent {
        /// Index of the event-time loss term.
        index: usize,
        /// The selection, in words.
        selector: String,
        /// How many matching events happened.
        available: usize,
    },

    /// A loss declares a term (an observation time, an event selector, a running part present
    /// at `t0`) whose method returned `None`.
    #[error("the loss declares {part} {index} but its method returned None (not implemented?)")]
    MissingLossTerm {
        /// Which part: `"observation"`, `"running"` or `"event term"`.
        part: &'static str,
        /// Index of the observation or selector (0 for the running part).
        index: usize,
    },
}

impl Error {
    pub(crate) fn from_step(e: crate::ode::StepError) -> Self {
        match e {
            crate::ode::StepError::StepSizeTooSmall { t, h } => Error::StepSizeTooSmall { t, h },
            crate::ode::StepError::NonFinite { t } => Error::NonFinite {
                what: "flow".into(),
                t,
            },
            crate::ode::StepError::TooManySteps { t, steps } => Error::TooManySteps { t, steps },
        }
    }
}
