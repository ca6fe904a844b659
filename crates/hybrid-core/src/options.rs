//! Solver options: a plain struct with documented defaults, validated on entry.

use crate::Error;

/// Which Runge-Kutta pair integrates the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Integrator {
    /// Dormand-Prince 5(4) with 4th-order dense output. The default: cheapest per step.
    #[default]
    Dopri5,
    /// Dormand-Prince 8(5,3) with 7th-order dense output: fewer steps at tight tolerances.
    Dop853,
}

/// Options of [`crate::simulate`], [`crate::forward_gradient`] and [`crate::adjoint_gradient`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolverOptions {
    /// Relative tolerance of the step-size control. Default `1e-10`.
    pub rtol: f64,
    /// Absolute tolerance of the step-size control. Default `1e-10`.
    pub atol: f64,
    /// Runge-Kutta pair. Default [`Integrator::Dopri5`].
    pub integrator: Integrator,
    /// Largest step size; `f64::INFINITY` for none. Default `f64::INFINITY`.
    pub max_step: f64,
    /// Interior points per step at which guards are sampled on the dense output, so a guard that
    /// crosses zero and comes back inside one step is still seen (between samples, a guard that
    /// turns once is found by its rate, docs/maths.md §9; one that turns twice needs more
    /// samples or a smaller `max_step`). Default `4`. Not used for
    /// guards declared affine in the state and free of time on steps that move the state by its
    /// polynomial of degree ≤ 2: those are sampled where they turn (docs/maths.md §9).
    pub guard_samples: usize,
    /// Events allowed in one simulation before [`Error::TooManyEvents`] (Zeno protection).
    /// Default `100_000`.
    pub max_events: usize,
    /// Smallest time between two consecutive located events of the same guard, relative to
    /// `max(1, |t|)`; closer events give [`Error::EventsTooClose`] (Zeno protection).
    /// Default `1e-9`.
    pub min_event_separation: f64,
    /// Accepted steps allowed between two events before [`Error::TooManySteps`]. Default `10^7`.
    pub max_steps: usize,
    /// Whether forward sensitivities and loss quadratures enter the step-size control, as
    /// CVODES' `errconS` and diffsol's `include_in_error_control` offer. Default `false`: only the
    /// state steers the steps, so [`crate::simulate`], [`crate::forward_gradient`] and
    /// [`crate::adjoint_gradient`] take bit-identical steps and see bit-identical events, and the
    /// sensitivities ride along at the state's accuracy (in tests they match the adjoint to
    /// ~1e-9 at the default tolerances). `true` controls their error too, at the price of extra
    /// steps and a primal trajectory that differs from the other passes by round-off, enough to
    /// change the event set when an event sits exactly on the end time or on a tangency.
    pub sensitivities_in_error_control: bool,
    /// Largest grazing index `κ = |g̈| σ_g / ġ²` of an event that gradients go through;
    /// above it they return [`Error::GrazingEvent`]. `κ` estimates the relative error of the
    /// event's `ġ`, hence of every gradient term divided by it, caused by the state error at the
    /// event (`σ_g = Σ |∂g/∂x_i| (err_i + 16 ε |x_i|)`, `err_i` the integrator's accumulated error
    /// estimates); see docs/maths.md, "Grazing". Simulation records `κ` per event and never
    /// refuses. Default `2e-5`: on the near-grazing sweep of docs/grazing.md the gradient error
    /// stays below `0.05 κ` at every tolerance from `1e-8` to `1e-12`, so a gradient that is
    /// returned is within `1e-6` of the truth there.
    pub grazing_limit: f64,
    /// Events located within this time of each other (relative to `max(1, |t|)`) are treated as
    /// simultaneous and applied in ascending guard order. Default `1e-13`.
    pub simultaneity_tolerance: f64,
}

impl Default for SolverOptions {
    fn default() -> Self {
        Self {
            rtol: 1e-10,
            atol: 1e-10,
            integrator: Integrator::Dopri5,
            max_step: f64::INFINITY,
            guard_samples: 4,
            max_events: 100_000,
            min_event_separation: 1e-9,
            max_steps: 10_000_000,
            grazing_limit: 2e-5,
            sensitivities_in_error_control: false,
            simultaneity_tolerance: 1e-13,
        }
    }
}

impl SolverOptions {
    /// Check every option, naming the first bad one.
    pub fn validate(&self) -> Result<(), Error> {
        let positive = |name: &'static str, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(Error::InvalidOption { name, value })
            }
        };
        positive("rtol", self.rtol)?;
        positive("atol", self.atol)?;
        if !(self.max_step > 0.0) {
            return Err(Error::InvalidOption {
                name: "max_step",
                value: self.max_step,
            });
        }
        if !(self.min_event_separation >= 0.0 && self.min_event_separation.is_finite()) {
            return Err(Error::InvalidOption {
                name: "min_event_separation",
                value: self.min_event_separation,
            });
        }
        if !(self.grazing_limit >= 0.0) {
            return Err(Error::InvalidOption {
                name: "grazing_limit",
                value: self.grazing_limit,
            });
        }
        if !(self.simultaneity_tolerance >= 0.0 && self.simultaneity_tolerance.is_finite()) {
            return Err(Error::InvalidOption {
                name: "simultaneity_tolerance",
                value: self.simultaneity_tolerance,
            });
        }
        if self.max_events == 0 {
            return Err(Error::InvalidOption {
                name: "max_events",
                value: 0.0,
            });
        }
        if self.max_steps == 0 {
            return Err(Error::InvalidOption {
                name: "max_steps",
                value: 0.0,
            });
        }
        Ok(())
    }
}
