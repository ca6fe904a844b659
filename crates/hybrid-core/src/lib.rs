#![doc = include_str!("../README.md")]

mod adjoint;
mod constant_jacobian;
pub mod derivatives;
mod engine;
mod error;
mod event_partials;
mod events;
mod forward;
mod loss;
pub mod ode;
mod options;
mod problem;
mod scalar;
mod simulate;
mod system;
mod trajectory;

pub use derivatives::{At, Derivatives, Duals};
pub use error::Error;
pub use events::detect::{NearMiss, NEAR_MISS_FACTOR};
pub use forward::{Sensitivities, SensitivitySample};
pub use loss::{EventPoint, EventSelector, EventTermInputs, Loss, NoLoss, Occurrence};
pub use ode::StepStats;
pub use options::{Integrator, SolverOptions};
pub use problem::{Problem, Solver};
pub use scalar::Scalar;
pub use simulate::{
    adjoint_gradient, forward_gradient, forward_sensitivities, loss_value, simulate,
};
pub use system::{Crossing, Dims, HybridSystem};
pub use trajectory::{EventKind, EventRecord, Solution, Trajectory};

/// A loss and its gradient, with the diagnostics of the simulation behind them.
#[derive(Debug, Clone)]
pub struct Gradient {
    /// Loss value `L(p)`.
    pub loss: f64,
    /// `dL/dp` (length `m`).
    pub gradient: Vec<f64>,
    /// Smallest `|ġ|` over the guard events (`INFINITY` when there were none): how close the
    /// parameters are to a grazing point, where the gradient diverges like `1/ġ`.
    pub min_abs_gdot: f64,
    /// Largest grazing index `κ` over the guard events (`0` when there were none); a gradient is
    /// only returned when it is at most `SolverOptions::grazing_limit` (docs/maths.md, "Grazing").
    pub max_grazing: f64,
    /// One record per event of the forward simulation.
    pub events: Vec<EventRecord>,
    /// Integrator work of the forward simulation.
    pub stats: StepStats,
}
