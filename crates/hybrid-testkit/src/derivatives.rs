//! Partial derivatives of a model: dual numbers against central differences.

use crate::{compare, CheckError};
use hybrid_core::derivatives::{
    ad_flow_sensitivity, ad_flow_vjp, ad_jump_vjp, ad_scheduled_jump_vjp, flow_jacobians,
    guard_partials, initial_state_jacobian, jump_partials,
};
use hybrid_core::HybridSystem;

/// Where the partials are checked: a time, a state and a mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Time.
    pub t: f64,
    /// State (length `n`).
    pub x: Vec<f64>,
    /// Mode.
    pub q: usize,
}

/// What [`check_derivatives`] measured: the worst relative deviation of each kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DerivativeReport {
    /// Flow Jacobians `f_x`, `f_p`.
    pub flow: f64,
    /// Guard partials, over all guards.
    pub guards: f64,
    /// Jump partials, over all jumps.
    pub jumps: f64,
    /// `∂x0/∂p`.
    pub initial_state: f64,
    /// `flow_sensitivity` and `flow_vjp` against the dual-number defaults.
    pub overrides: f64,
}

/// Central-difference Jacobian of `f: R^c → R^r` at `z`, column-major `r × c`.
fn central<F: FnMut(&[f64], &mut [f64])>(z: &[f64], r: usize, mut f: F) -> Vec<f64> {
    let mut jac = vec![0.0; r * z.len()];
    let (mut zp, mut fp, mut fm) = (z.to_vec(), vec![0.0; r], vec![0.0; r]);
    for j in 0..z.len() {
        let h = 1e-6 * z[j].abs().max(1.0);
        zp[j] = z[j] + h;
        f(&zp, &mut fp);
        zp[j] = z[j] - h;
        f(&zp, &mut fm);
        zp[j] = z[j];
        for i in 0..r {
            jac[i + r * j] = (fp[i] - fm[i]) / (2.0 * h);
        }
    }
    jac
}

fn pack(t: f64, x: &[f64], p: &[f64]) -> Vec<f64> {
    std::iter::once(t)
        .chain(x.iter().copied())
        .chain(p.iter().copied())
        .collect()
}

/// Check every partial derivative of `model` at `point` with parameters `p` against central
/// differences (relative tolerance `1e-6`, judged on the scale of each Jacobian), and the model's
/// `flow_sensitivity` / `flow_vjp` against the dual-number defaults (tolerance `1e-12`).
pub fn check_derivatives<M: HybridSystem>(
    model: &M,
    p: &[f64],
    point: &Point,
) -> Result<DerivativeReport, CheckError> {
    const FD_TOL: f64 = 1e-6;
    let dims = model.dims();
    let (n, m, q, t) = (dims.states, dims.params, point.q, point.t);
    let x = &point.x[..];
    let z = pack(t, x, p);
    let split = |jac: &[f64], r: usize| (jac[r..r + r * n].to_vec(), jac[r + r * n..].to_vec());
    let mut report = DerivativeReport::default();

    let (fx, fp) = flow_jacobians(model, q, t, x, p);
    let fd = central(&z, n, |z, out| {
        model.flow_in_mode(q, z[0], &z[1..1 + n], &z[1 + n..], out)
    });
    let (fd_x, fd_p) = split(&fd, n);
    report.flow =
        compare("f_x", &fx, &fd_x, FD_TOL, 1e-6)?.max(compare("f_p", &fp, &fd_p, FD_TOL, 1e-6)?);

    for k in 0..dims.guards {
        let gp = guard_partials(model, q, k, t, x, p);
        let fd = central(&z, 1, |z, out| {
            out[0] = model.guard_in_mode(q, k, z[0], &z[1..1 + n], &z[1 + n..])
        });
        let ad: Vec<f64> = std::iter::once(gp.g_t)
            .chain(gp.g_x)
            .chain(gp.g_p)
            .collect();
        report.guards = report.guards.max(compare(
            &format!("guard {k} (g_t, g_x, g_p)"),
            &ad,
            &fd,
            FD_TOL,
            1e-6,
        )?);

        let jp = jump_partials(model, q, k, t, x, p);
        let fd = central(&z, n, |z, out| {
            model.jump_in_mode(q, k, z[0], &z[1..1 + n], &z[1 + n..], out)
        });
        let ad: Vec<f64> = jp
            .h_t
            .iter()
            .chain(&jp.h_x)
            .chain(&jp.h_p)
            .copied()
            .collect();
        report.jumps = report.jumps.max(compare(
            &format!("jump {k} (h_t, h_x, h_p)"),
            &ad,
            &fd,
            FD_TOL,
            1e-6,
        )?);
    }

    let x0p = initial_state_jacobian(model, p);
    let fd = central(p, n, |pp, out| model.initial_state(pp, out));
    report.initial_state = compare("dx0/dp", &x0p, &fd, FD_TOL, 1e-6)?;

    // Overrides against the dual-number defaults, with deterministic pseudo-random directions.
    let s: Vec<f64> = (0..n * m)
        .map(|i| ((i as f64 + 1.0) * 0.618_033_988_7).fract() - 0.5)
        .collect();
    let lambda: Vec<f64> = (0..n)
        .map(|i| ((i as f64 + 1.0) * 0.414_213_562_3).fract() - 0.5)
        .collect();
    let (mut got, mut want) = (vec![0.0; n * m], vec![0.0; n * m]);
    model.flow_sensitivity(q, t, x, p, &s, &mut got);
    ad_flow_sensitivity(model, q, t, x, p, &s, &mut want);
    report.overrides = compare("flow_sensitivity", &got, &want, 1e-12, 1e-6)?;
    let (mut gx, mut gp, mut wx, mut wp) = (vec![0.0; n], vec![0.0; m], vec![0.0; n], vec![0.0; m]);
    model.flow_vjp(q, t, x, p, &lambda, &mut gx, &mut gp);
    ad_flow_vjp(model, q, t, x, p, &lambda, &mut wx, &mut wp);
    report.overrides = report
        .overrides
        .max(compare("flow_vjp (x)", &gx, &wx, 1e-12, 1e-6)?);
    report.overrides = report
        .overrides
        .max(compare("flow_vjp (p)", &gp, &wp, 1e-12, 1e-6)?);
    // Jump products (what the adjoint applies at events) against the dense dual default.
    for k in 0..dims.guards {
        model.jump_vjp(q, k, t, x, p, &lambda, &mut gx, &mut gp);
        ad_jump_vjp(model, q, k, t, x, p, &lambda, &mut wx, &mut wp);
        report.overrides = report.overrides.max(compare(
            &format!("jump_vjp {k} (x)"),
            &gx,
            &wx,
            1e-12,
            1e-6,
        )?);
        report.overrides = report.overrides.max(compare(
            &format!("jump_vjp {k} (p)"),
            &gp,
            &wp,
            1e-12,
            1e-6,
        )?);
    }
    // Scheduled jumps: the first few are enough to catch a wrong product.
    for i in 0..model.scheduled_times().len().min(4) {
        model.scheduled_jump_vjp(i, t, x, p, &lambda, &mut gx, &mut gp);
        ad_scheduled_jump_vjp(model, i, t, x, p, &lambda, &mut wx, &mut wp);
        report.overrides = report.overrides.max(compare(
            &format!("scheduled_jump_vjp {i} (x)"),
            &gx,
            &wx,
            1e-12,
            1e-6,
        )?);
        report.overrides = report.overrides.max(compare(
            &format!("scheduled_jump_vjp {i} (p)"),
            &gp,
            &wp,
            1e-12,
            1e-6,
        )?);
    }
    Ok(report)
}
