//! The test kit every model of `hybrid-core` proves itself with.
//!
//! - [`check_derivatives`]: every partial derivative the framework uses (`f_x`, `f_p`, `g_t`,
//!   `g_x`, `g_p`, `h_t`, `h_x`, `h_p`, `∂x0/∂p`), obtained by dual numbers, against central
//!   differences of the model's own `f64` methods; and the model's `flow_sensitivity` and
//!   `flow_vjp` (which a large model overrides with sparse products) against the dual-number
//!   defaults.
//! - [`check_gradients`]: `dL/dp` by forward sensitivities, by the adjoint and by central
//!   differences of whole simulations.
//! - [`check_loss_inputs`]: what a loss declares its terms do not depend on (which the gradients
//!   then skip) against the terms themselves; [`check_gradients`] runs it first.
//!
//! Both return a report on success and a [`CheckError`] naming the worst entry otherwise, so they
//! can be used from `#[test]` functions (`.unwrap()`) and from proptest (`prop_assert!`).

mod derivatives;
mod gradients;
mod loss_inputs;

pub use derivatives::{check_derivatives, DerivativeReport, Point};
pub use gradients::{central_difference_gradient, check_gradients, GradientReport, Tolerances};
pub use loss_inputs::check_loss_inputs;

/// A check that failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// Two ways of computing the same quantity disagree beyond the tolerance.
    #[error("{what}: relative deviation {deviation:e} exceeds {tolerance:e} (got {got}, reference {reference})")]
    Disagreement {
        /// Which quantity and entry.
        what: String,
        /// The relative deviation found.
        deviation: f64,
        /// The tolerance.
        tolerance: f64,
        /// Value under test.
        got: f64,
        /// Reference value.
        reference: f64,
    },
    /// A derivative override panicked on a call its trait allows (say, an empty `out_p`).
    #[error("{what} panicked: {message}")]
    Panicked {
        /// Which call.
        what: String,
        /// The panic's message.
        message: String,
    },
    /// The framework failed on the model.
    #[error("simulation failed: {0}")]
    Framework(#[from] hybrid_core::Error),
}

/// Relative deviation `|got − reference| / max(|reference|, floor)`.
pub fn relative_deviation(got: f64, reference: f64, floor: f64) -> f64 {
    if got == reference {
        return 0.0;
    }
    (got - reference).abs() / reference.abs().max(floor)
}

/// Run `call`, turning a panic into [`CheckError::Panicked`]: a model's override that panics on a
/// call the trait allows is a failed check, reported by name, not a crash of the kit.
pub(crate) fn catch_panic<R>(what: &str, call: impl FnOnce() -> R) -> Result<R, CheckError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_string());
        CheckError::Panicked {
            what: what.to_string(),
            message,
        }
    })
}

/// Compare two vectors entry by entry, relative to `max(|reference|, floor · largest entry)`, so
/// entries that are tiny compared with the rest are judged on the scale of the rest.
pub(crate) fn compare(
    what: &str,
    got: &[f64],
    reference: &[f64],
    tolerance: f64,
    floor: f64,
) -> Result<f64, CheckError> {
    let scale = reference.iter().fold(0.0f64, |a, r| a.max(r.abs()));
    let floor = (floor * scale).max(1e-12);
    let mut worst = 0.0f64;
    for (i, (&g, &r)) in got.iter().zip(reference).enumerate() {
        let d = relative_deviation(g, r, floor);
        if !(d <= tolerance) {
            return Err(CheckError::Disagreement {
                what: format!("{what}[{i}]"),
                deviation: d,
                tolerance,
                got: g,
                reference: r,
            });
        }
        worst = worst.max(d);
    }
    Ok(worst)
}
