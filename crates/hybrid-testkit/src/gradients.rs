//! Gradients of a loss through a whole simulation: forward sensitivities, adjoint, central
//! differences.

use crate::{check_loss_inputs, compare, CheckError};
use hybrid_core::{
    adjoint_gradient, forward_gradient, loss_value, Derivatives, Loss, SolverOptions,
};

/// Tolerances of [`check_gradients`] (relative, judged on the scale of the gradient).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    /// Forward sensitivities against the adjoint. Default `1e-8`.
    pub methods: f64,
    /// Either method against central differences. Default `1e-5`.
    pub finite_differences: f64,
    /// Central-difference step `h`, relative to `max(1, |p_j|)`; [`check_gradients`] extrapolates
    /// the steps `2h` and `h` (Richardson: the five-point stencil). Default `1e-5`.
    pub fd_step: f64,
    /// Against central differences, entries smaller than `fd_floor` times the largest entry are
    /// judged on that scale: their central differences are rounding noise of the simulations
    /// (about `rtol · |L| / h`), so an exactly zero entry must not fail. Default `1e-4`.
    pub fd_floor: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Self {
            methods: 1e-8,
            finite_differences: 1e-5,
            fd_step: 1e-5,
            fd_floor: 1e-4,
        }
    }
}

/// The three gradients and how far apart they are.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientReport {
    /// Loss value.
    pub loss: f64,
    /// By forward sensitivities.
    pub forward: Vec<f64>,
    /// By the adjoint.
    pub adjoint: Vec<f64>,
    /// By central differences (steps `2h` and `h`, Richardson-extrapolated).
    pub central: Vec<f64>,
    /// Largest relative deviation, adjoint against forward.
    pub adjoint_vs_forward: f64,
    /// Largest relative deviation, forward against central differences.
    pub forward_vs_central: f64,
    /// Smallest `|ġ|` over the events of the nominal simulation.
    pub min_abs_gdot: f64,
}

/// `dL/dp` by central differences of whole simulations, step `fd_step · max(1, |p_j|)`.
pub fn central_difference_gradient<M: Derivatives, L: Loss>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    loss: &L,
    opts: &SolverOptions,
    fd_step: f64,
) -> Result<Vec<f64>, hybrid_core::Error> {
    let mut pp = p.to_vec();
    (0..p.len())
        .map(|j| {
            let h = fd_step * p[j].abs().max(1.0);
            pp[j] = p[j] + h;
            let up = loss_value(model, &pp, t0, t_end, loss, opts)?;
            pp[j] = p[j] - h;
            let down = loss_value(model, &pp, t0, t_end, loss, opts)?;
            pp[j] = p[j];
            Ok((up - down) / (2.0 * h))
        })
        .collect()
}

/// Compute `dL/dp` by forward sensitivities, by the adjoint and by central differences, and
/// check that they agree within `tol`, after checking the loss's input declarations
/// ([`check_loss_inputs`]).
pub fn check_gradients<M: Derivatives, L: Loss>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    loss: &L,
    opts: &SolverOptions,
    tol: &Tolerances,
) -> Result<GradientReport, CheckError> {
    check_loss_inputs(model, p, t0, t_end, loss, opts)?;
    let fwd = forward_gradient(model, p, t0, t_end, loss, opts)?;
    let adj = adjoint_gradient(model, p, t0, t_end, loss, opts)?;
    // Richardson extrapolation of the steps `2h` and `h`, `(4 D(h) − D(2h)) / 3` (the five-point
    // stencil): its truncation error is O(h⁴) where `D(h)`'s is O(h²), which a loss that curves
    // sharply in a parameter needs (the ball after five impacts: `D(h)` off by 1.5e-5 relative at
    // h = 1e-5, converging on the forward method's value as h²); its rounding noise is 1.5 times
    // that of `D(h)`.
    let d_h = central_difference_gradient(model, p, t0, t_end, loss, opts, tol.fd_step)?;
    let d_2h = central_difference_gradient(model, p, t0, t_end, loss, opts, 2.0 * tol.fd_step)?;
    let central: Vec<f64> = d_h
        .iter()
        .zip(&d_2h)
        .map(|(a, b)| (4.0 * a - b) / 3.0)
        .collect();
    let adjoint_vs_forward = compare(
        "adjoint vs forward",
        &adj.gradient,
        &fwd.gradient,
        tol.methods,
        1e-6,
    )?;
    let forward_vs_central = compare(
        "forward vs central differences",
        &fwd.gradient,
        &central,
        tol.finite_differences,
        tol.fd_floor,
    )?;
    Ok(GradientReport {
        loss: fwd.loss,
        forward: fwd.gradient,
        adjoint: adj.gradient,
        central,
        adjoint_vs_forward,
        forward_vs_central,
        min_abs_gdot: fwd.min_abs_gdot,
    })
}
