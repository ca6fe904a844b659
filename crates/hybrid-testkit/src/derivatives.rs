//! Partial derivatives of a model: dual numbers against central differences.

use crate::{catch_panic, compare, CheckError};
use hybrid_core::derivatives::{
    ad_flow_jvp, ad_flow_vjp, ad_initial_state_vjp, ad_jump_jvp, ad_jump_vjp, guard_partials,
    initial_state_jacobian, jump_rate, At, Duals, Jump,
};
use hybrid_core::Derivatives;

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
    /// The [`Derivatives`] products against the dual-number defaults.
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

/// A Jacobian `r × (n + m)` (column-major, columns `x` then `p`) from a vector-Jacobian product
/// `vjp(λ, out_x, out_p)`, one row per unit `λ`.
fn rows_from_vjp<F: FnMut(&[f64], &mut [f64], &mut [f64])>(
    r: usize,
    n: usize,
    m: usize,
    mut vjp: F,
) -> (Vec<f64>, Vec<f64>) {
    let (mut jx, mut jp) = (vec![0.0; r * n], vec![0.0; r * m]);
    let (mut lambda, mut ox, mut op) = (vec![0.0; r], vec![0.0; n], vec![0.0; m]);
    for i in 0..r {
        lambda[i] = 1.0;
        vjp(&lambda, &mut ox, &mut op);
        lambda[i] = 0.0;
        (0..n).for_each(|j| jx[i + r * j] = ox[j]);
        (0..m).for_each(|j| jp[i + r * j] = op[j]);
    }
    (jx, jp)
}

/// Check every partial derivative of `model` at `point` with parameters `p` against central
/// differences (relative tolerance `1e-6`, judged on the scale of each Jacobian), and the model's
/// [`Derivatives`] products (`flow_jvp`, `flow_vjp`, `jump_jvp`, `jump_vjp`, `jump_vjp_add`, the
/// scheduled ones, `guard_gradient` and `initial_state_vjp`) against the dual-number defaults
/// (tolerance `1e-12`): an override that drops or misplaces a term fails here. The declarations
/// `flow_depends_on_parameters() = false` and `guard_depends_on_parameters() = false` are
/// checked too (`f_p`, `g_p` exactly zero), `flow_jacobian_depends_on_state() = false`
/// (`λᵀ f_x` and `λᵀ f_p` the same bits at a second state) and
/// `flow_jacobian_depends_on_time() = false` (the same bits at a second time, and the second
/// state when both are declared) and `flow_depends_on_time() = false` (the flow itself, the same
/// bits at a second time), `guard_gradient_depends_on_state() = false` (each guard's `g_x` the
/// same bits at a second state) and `guard_depends_on_time() = false` (each guard the same bits
/// at a second time).
pub fn check_derivatives<M: Derivatives>(
    model: &M,
    p: &[f64],
    point: &Point,
) -> Result<DerivativeReport, CheckError> {
    const FD_TOL: f64 = 1e-6;
    let dims = model.dims();
    let (n, m, q, t) = (dims.states, dims.params, point.q, point.t);
    let x = &point.x[..];
    let z = pack(t, x, p);
    let at = At { q, t, x, p };
    let mut ad = Duals::new(n, m);
    let split = |jac: &[f64], r: usize| (jac[r..r + r * n].to_vec(), jac[r + r * n..].to_vec());
    let mut report = DerivativeReport::default();

    let (fx, fp) = rows_from_vjp(n, n, m, |l, ox, op| {
        ad_flow_vjp(model, at, l, ox, op, &mut ad)
    });
    let fd = central(&z, n, |z, out| {
        model.flow(q, z[0], &z[1..1 + n], &z[1 + n..], out)
    });
    let (fd_x, fd_p) = split(&fd, n);
    report.flow =
        compare("f_x", &fx, &fd_x, FD_TOL, 1e-6)?.max(compare("f_p", &fp, &fd_p, FD_TOL, 1e-6)?);
    if !model.flow_depends_on_parameters() {
        // The claim lets the adjoint drop `∫ λᵀ f_p dt`: `f_p` must vanish exactly.
        let zero = vec![0.0; fp.len()];
        report.flow = report
            .flow
            .max(compare("f_p (declared zero)", &fp, &zero, 0.0, 1e-300)?);
    }

    let (mut g_x, mut g_p) = (vec![0.0; n], vec![0.0; m]);
    for k in 0..dims.guards {
        let (_, g_t) = guard_partials(model, k, at, &mut g_x, &mut g_p, &mut ad);
        let fd = central(&z, 1, |z, out| {
            out[0] = model.guard(q, k, z[0], &z[1..1 + n], &z[1 + n..])
        });
        let dual: Vec<f64> = std::iter::once(g_t)
            .chain(g_x.clone())
            .chain(g_p.clone())
            .collect();
        report.guards = report.guards.max(compare(
            &format!("guard {k} (g_t, g_x, g_p)"),
            &dual,
            &fd,
            FD_TOL,
            1e-6,
        )?);
        if !model.guard_depends_on_parameters() {
            // The claim lets the passes drop `g_p`: it must vanish exactly.
            let zero = vec![0.0; m];
            compare(
                &format!("guard {k} g_p (declared zero)"),
                &g_p,
                &zero,
                0.0,
                1e-300,
            )?;
        }

        let mut h_t = vec![0.0; n];
        jump_rate(model, Jump::Guard(k), at, &vec![0.0; n], &mut h_t, &mut ad);
        let (h_x, h_p) = rows_from_vjp(n, n, m, |l, ox, op| {
            ad_jump_vjp(model, Jump::Guard(k), at, l, ox, op, &mut ad)
        });
        let fd = central(&z, n, |z, out| {
            model.jump(q, k, z[0], &z[1..1 + n], &z[1 + n..], out)
        });
        let dual: Vec<f64> = h_t.iter().chain(&h_x).chain(&h_p).copied().collect();
        report.jumps = report.jumps.max(compare(
            &format!("jump {k} (h_t, h_x, h_p)"),
            &dual,
            &fd,
            FD_TOL,
            1e-6,
        )?);
    }

    let mut x0p = vec![0.0; n * m];
    initial_state_jacobian(model, p, &mut x0p, &mut ad);
    let fd = central(p, n, |pp, out| model.initial_state(pp, out));
    report.initial_state = compare("dx0/dp", &x0p, &fd, FD_TOL, 1e-6)?;

    // Overrides against the dual-number defaults, with deterministic pseudo-random directions.
    let s: Vec<f64> = (0..n * m)
        .map(|i| ((i as f64 + 1.0) * 0.618_033_988_7).fract() - 0.5)
        .collect();
    let lambda: Vec<f64> = (0..n)
        .map(|i| ((i as f64 + 1.0) * 0.414_213_562_3).fract() - 0.5)
        .collect();
    let acc0: Vec<f64> = (0..m)
        .map(|j| ((j as f64 + 1.0) * 0.732_050_807_6).fract() - 0.5)
        .collect();
    let mut worst = 0.0f64;
    let (mut got, mut want) = (vec![0.0; n * m], vec![0.0; n * m]);
    model.flow_jvp(at, &s, &mut got, &mut ad);
    ad_flow_jvp(model, at, &s, &mut want, &mut ad);
    worst = worst.max(compare("flow_jvp", &got, &want, 1e-12, 1e-6)?);
    let (mut gx, mut gp, mut wx, mut wp) = (vec![0.0; n], vec![0.0; m], vec![0.0; n], vec![0.0; m]);
    model.flow_vjp(at, &lambda, &mut gx, &mut gp, &mut ad);
    ad_flow_vjp(model, at, &lambda, &mut wx, &mut wp, &mut ad);
    worst = worst.max(compare("flow_vjp (x)", &gx, &wx, 1e-12, 1e-6)?);
    worst = worst.max(compare("flow_vjp (p)", &gp, &wp, 1e-12, 1e-6)?);
    // The backward pass of a model whose flow does not read the parameters asks for `λᵀ f_x`
    // alone, with an empty `out_p` (the trait allows it): an override must take that call too.
    let mut gx_alone = vec![0.0; n];
    catch_panic("flow_vjp with an empty out_p", || {
        model.flow_vjp(at, &lambda, &mut gx_alone, &mut [], &mut ad)
    })?;
    worst = worst.max(compare(
        "flow_vjp (x, empty out_p)",
        &gx_alone,
        &wx,
        1e-12,
        1e-6,
    )?);
    let state_free = !model.flow_jacobian_depends_on_state();
    let time_free = !model.flow_jacobian_depends_on_time();
    // A second state for the state-free claim, a second time for the time-free one.
    let x2: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| v + 0.5 + 0.25 * i as f64)
        .collect();
    let t2 = t + 0.75 + 0.5 * t.abs();
    if state_free {
        // The claim lets the adjoint evaluate `λᵀ f_x` and `λᵀ f_p` at another state of the
        // interval: at a second state, the model's product and the dual default must give the
        // same bits.
        let at2 = At { x: &x2, ..at };
        same_products(
            model,
            at2,
            &lambda,
            (&gx, &gp),
            (&wx, &wp),
            "a second state",
            "state",
        )?;
    }
    if time_free {
        // The claim (with the state-free one) lets the adjoint form `[f_x, f_p]` once per mode:
        // at a second time (and the second state when the Jacobians are declared state-free
        // too), the same bits.
        let at2 = At {
            t: t2,
            x: if state_free { &x2 } else { x },
            ..at
        };
        let where_ = if state_free {
            "a second time and state"
        } else {
            "a second time"
        };
        same_products(model, at2, &lambda, (&gx, &gp), (&wx, &wp), where_, "time")?;
    }
    if !model.flow_depends_on_time() {
        // The claim (with the two above) lets every pass move the state by its exact polynomial
        // flow, formed from `f` at the step's start: at a second time, the same bits.
        let (mut f1, mut f2) = (vec![0.0; n], vec![0.0; n]);
        model.flow(q, t, x, p, &mut f1);
        model.flow(q, t2, x, p, &mut f2);
        if let Some(i) = (0..n).find(|&i| f1[i].to_bits() != f2[i].to_bits()) {
            return Err(CheckError::Disagreement {
                what: format!("flow at a second time (f declared time-free)[{i}]"),
                deviation: (f1[i] - f2[i]).abs(),
                tolerance: 0.0,
                got: f2[i],
                reference: f1[i],
            });
        }
    }
    for k in 0..dims.guards {
        if !model.guard_gradient_depends_on_state() {
            // The claim (with the time-free one) lets the detector take each guard on a
            // polynomial step as the polynomial `c · x(s) + g₀`, `c = g_x` formed once: at a
            // second state, the same bits.
            let (mut c1, mut c2) = (vec![0.0; n], vec![0.0; n]);
            guard_partials(model, k, at, &mut c1, &mut [], &mut ad);
            guard_partials(model, k, At { x: &x2, ..at }, &mut c2, &mut [], &mut ad);
            if let Some(i) = (0..n).find(|&i| c1[i].to_bits() != c2[i].to_bits()) {
                return Err(CheckError::Disagreement {
                    what: format!(
                        "guard {k} g_x at a second state (guard declared affine in the state)[{i}]"
                    ),
                    deviation: (c1[i] - c2[i]).abs(),
                    tolerance: 0.0,
                    got: c2[i],
                    reference: c1[i],
                });
            }
        }
        if !model.guard_depends_on_time() {
            // The guard itself at a second time: the same bits.
            let (g1, g2) = (model.guard(q, k, t, x, p), model.guard(q, k, t2, x, p));
            if g1.to_bits() != g2.to_bits() {
                return Err(CheckError::Disagreement {
                    what: format!("guard {k} at a second time (guard declared time-free)"),
                    deviation: (g1 - g2).abs(),
                    tolerance: 0.0,
                    got: g2,
                    reference: g1,
                });
            }
        }
    }
    // Jump products (what the passes apply at events) against the dual defaults; scheduled
    // jumps: the first few are enough to catch a wrong product.
    let jumps = (0..dims.guards)
        .map(Jump::Guard)
        .chain((0..model.scheduled_times().len().min(4)).map(Jump::Scheduled));
    for jump in jumps {
        match jump {
            Jump::Guard(k) => {
                model.jump_jvp(k, at, &s, &mut got, &mut ad);
                model.jump_vjp(k, at, &lambda, &mut gx, &mut gp, &mut ad);
            }
            Jump::Scheduled(i) => {
                model.scheduled_jump_jvp(i, at, &s, &mut got, &mut ad);
                model.scheduled_jump_vjp(i, at, &lambda, &mut gx, &mut gp, &mut ad);
            }
        }
        ad_jump_jvp(model, jump, at, &s, &mut want, &mut ad);
        ad_jump_vjp(model, jump, at, &lambda, &mut wx, &mut wp, &mut ad);
        // The accumulating form: `acc + λᵀh_p` from an arbitrary `acc`, whatever the scratch.
        let (mut acc, mut ax) = (acc0.clone(), vec![0.0; n]);
        let mut scratch = vec![f64::NAN; m];
        match jump {
            Jump::Guard(k) => {
                model.jump_vjp_add(k, at, &lambda, &mut ax, &mut acc, &mut scratch, &mut ad)
            }
            Jump::Scheduled(i) => model.scheduled_jump_vjp_add(
                i,
                at,
                &lambda,
                &mut ax,
                &mut acc,
                &mut scratch,
                &mut ad,
            ),
        }
        let want_acc: Vec<f64> = acc0.iter().zip(&wp).map(|(a, w)| a + w).collect();
        worst = worst.max(compare(
            &format!("{jump:?} jump_vjp_add (x)"),
            &ax,
            &wx,
            1e-12,
            1e-6,
        )?);
        worst = worst.max(compare(
            &format!("{jump:?} jump_vjp_add (p)"),
            &acc,
            &want_acc,
            1e-12,
            1e-6,
        )?);
        worst = worst.max(compare(
            &format!("{jump:?} jump_jvp"),
            &got,
            &want,
            1e-12,
            1e-6,
        )?);
        worst = worst.max(compare(
            &format!("{jump:?} jump_vjp (x)"),
            &gx,
            &wx,
            1e-12,
            1e-6,
        )?);
        worst = worst.max(compare(
            &format!("{jump:?} jump_vjp (p)"),
            &gp,
            &wp,
            1e-12,
            1e-6,
        )?);
    }
    // The guard gradient (with and without `g_p`) and `λᵀ ∂x0/∂p`.
    let (mut wgx, mut wgp) = (vec![0.0; n], vec![0.0; m]);
    for k in 0..dims.guards {
        let want = guard_partials(model, k, at, &mut wgx, &mut wgp, &mut ad);
        let got = model.guard_gradient(k, at, &mut gx, &mut gp, &mut ad);
        let what = format!("guard {k} guard_gradient");
        worst = worst.max(compare(
            &what,
            &[got.0, got.1],
            &[want.0, want.1],
            1e-12,
            1e-6,
        )?);
        worst = worst.max(compare(&format!("{what} (x)"), &gx, &wgx, 1e-12, 1e-6)?);
        worst = worst.max(compare(&format!("{what} (p)"), &gp, &wgp, 1e-12, 1e-6)?);
        gx.fill(f64::NAN);
        model.guard_gradient(k, at, &mut gx, &mut [], &mut ad);
        worst = worst.max(compare(
            &format!("{what} (x, no p)"),
            &gx,
            &wgx,
            1e-12,
            1e-6,
        )?);
    }
    let mut lambda0 = lambda.clone();
    lambda0.iter_mut().for_each(|l| *l += 0.25);
    model.initial_state_vjp(p, &lambda0, &mut gp, &mut ad);
    ad_initial_state_vjp(model, p, &lambda0, &mut wp, &mut ad);
    worst = worst.max(compare("initial_state_vjp", &gp, &wp, 1e-12, 1e-6)?);
    report.overrides = worst;
    Ok(report)
}

/// `λᵀ f_x` and `λᵀ f_p` at `at2`, by the model's `flow_vjp` and by the dual default, against
/// `got` (the model's, at the probe point) and `want` (the dual default's) bit for bit: a
/// declaration that the Jacobians are free of `what` (`"state"` or `"time"`) is refused
/// otherwise.
fn same_products<M: Derivatives>(
    model: &M,
    at2: At<'_>,
    lambda: &[f64],
    got: (&[f64], &[f64]),
    want: (&[f64], &[f64]),
    where_: &str,
    what: &str,
) -> Result<(), CheckError> {
    let (n, m) = (got.0.len(), got.1.len());
    let mut ad = Duals::new(n, m);
    let (mut gx2, mut gp2, mut wx2, mut wp2) =
        (vec![0.0; n], vec![0.0; m], vec![0.0; n], vec![0.0; m]);
    model.flow_vjp(at2, lambda, &mut gx2, &mut gp2, &mut ad);
    ad_flow_vjp(model, at2, lambda, &mut wx2, &mut wp2, &mut ad);
    for (which, a, b) in [
        (
            format!("flow_vjp (x) at {where_} (f_x declared {what}-free)"),
            &gx2[..],
            got.0,
        ),
        (
            format!("dual λᵀf_x at {where_} (f_x declared {what}-free)"),
            &wx2[..],
            want.0,
        ),
        (
            format!("flow_vjp (p) at {where_} (f_p declared {what}-free)"),
            &gp2[..],
            got.1,
        ),
        (
            format!("dual λᵀf_p at {where_} (f_p declared {what}-free)"),
            &wp2[..],
            want.1,
        ),
    ] {
        if let Some(i) = (0..a.len()).find(|&i| a[i].to_bits() != b[i].to_bits()) {
            return Err(CheckError::Disagreement {
                what: format!("{which}[{i}]"),
                deviation: (a[i] - b[i]).abs(),
                tolerance: 0.0,
                got: a[i],
                reference: b[i],
            });
        }
    }
    Ok(())
}
