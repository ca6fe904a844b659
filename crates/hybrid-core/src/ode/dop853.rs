//! Dormand-Prince 8(5,3) with FSAL, Hairer's combined 5th/3rd-order error estimate and the
//! 7th-order dense output of DOP853 (three extra stages per accepted step).
//!
//! Method: Dormand & Prince (1989) and HNW I, section II.10 ("DOP853"): an 8th-order solution
//! from 12 stages, error `err = |h| ‖e5‖² / sqrt(‖e5‖² + 0.01 ‖e3‖²)` combining a 5th-order and
//! a 3rd-order estimate, and a continuous extension of order 7. Coefficients in
//! [`super::dop853_tableau`].

use super::dim::Dim;
use super::dop853_tableau::{A, B, BHH, C, D, E5};
use super::explicit_rk::{dense_vectors, RkCore, RkScheme, StepBufs};
use super::step_control::{scale, weighted_sum_into, Controller};
use super::{DenseSegment, Method, StepError, StepStats, Stepper, StepperOptions};

/// Evaluate DOP853 dense output `rcont = [r0..r7]` (vector after vector, each of length
/// `c.len() / 8`) at `t`, for the first `out.len()` components: with `s = (t - t0)/h` and
/// `s1 = 1 - s`, `x(t) = r0 + s(r1 + s1(r2 + s(r3 + s1(r4 + s(r5 + s1(r6 + s r7))))))`.
/// A zero-length segment (`h == 0`) is the constant `r0`. The vectors are cut to `out.len()`
/// before the loop (no bounds checks in it).
pub(crate) fn interpolate(t0: f64, h: f64, c: &[f64], t: f64, out: &mut [f64]) {
    let n = c.len() / 8;
    debug_assert_eq!(c.len(), 8 * n, "Dop853 dense output needs 8 vectors");
    let m = out.len();
    assert!(m <= n, "{m} components asked of a dense output of {n}");
    let s = if h == 0.0 { 0.0 } else { (t - t0) / h };
    let s1 = 1.0 - s;
    let r: [&[f64]; 8] = std::array::from_fn(|j| &c[j * n..j * n + m]);
    let [r0, r1, r2, r3, r4, r5, r6, r7] = r;
    for i in 0..m {
        let tail = r4[i] + s * (r5[i] + s1 * (r6[i] + s * r7[i]));
        out[i] = r0[i] + s * (r1[i] + s1 * (r2[i] + s * (r3[i] + s1 * tail)));
    }
}

/// Dormand-Prince 8(5,3), the higher-order pair for tight tolerances: 11 right-hand-side
/// evaluations per attempted step, plus 4 per accepted step (the first stage of the next step
/// and the three extra stages of the dense output). PI controller with Hairer's DOP853 defaults:
/// `β = 0`, safety 0.9, step factors in `[0.333, 6]`. Nothing is allocated after
/// [`Stepper::new`].
#[derive(Debug, Clone)]
pub struct Dop853 {
    pub(super) core: RkCore,
}

impl RkScheme for Dop853 {
    const ORDER: i32 = 8;
    const C: &'static [f64] = &C;
    const A: &'static [&'static [f64]] = &A;
    const B: &'static [f64] = B;
    const FSAL: usize = 12;
    /// The dense output needs three more stages: built by [`Self::finish`].
    const LAZY_DENSE: bool = false;

    /// Hairer's combination of the 5th-order (`e5`) and 3rd-order (`e3 = b − bhh`) estimates:
    /// `err = |h| ‖e5‖² / sqrt(‖e5‖² + 0.01 ‖e3‖²)` with RMS norms.
    #[inline(always)]
    fn main_stages<L: Dim, F: FnMut(f64, &[f64], &mut [f64])>(
        d: L,
        w: &mut StepBufs<'_>,
        rhs: &mut F,
        h: f64,
    ) -> Result<(), StepError> {
        w.stage::<Self, L, F>(d, rhs, h, 1)?;
        w.stage::<Self, L, F>(d, rhs, h, 2)?;
        w.stage::<Self, L, F>(d, rhs, h, 3)?;
        w.stage::<Self, L, F>(d, rhs, h, 4)?;
        w.stage::<Self, L, F>(d, rhs, h, 5)?;
        w.stage::<Self, L, F>(d, rhs, h, 6)?;
        w.stage::<Self, L, F>(d, rhs, h, 7)?;
        w.stage::<Self, L, F>(d, rhs, h, 8)?;
        w.stage::<Self, L, F>(d, rhs, h, 9)?;
        w.stage::<Self, L, F>(d, rhs, h, 10)?;
        w.stage::<Self, L, F>(d, rhs, h, 11)?;
        w.solution::<Self, L>(d, h);
        Ok(())
    }

    #[inline(always)]
    fn error<L: Dim, F: FnMut(f64, &[f64], &mut [f64])>(
        d: L,
        w: &mut StepBufs<'_>,
        _rhs: &mut F,
        h: f64,
    ) -> Result<f64, StepError> {
        let (atol, rtol) = (w.atol, w.rtol);
        let (mut err5, mut err3) = (0.0, 0.0);
        // The stage argument and the error scratch are free once all stages are evaluated.
        weighted_sum_into(d, w.stage_arg, B, w.k);
        weighted_sum_into(d, w.scratch, &E5, w.k);
        let n = d.n();
        let n_err = w.n_err;
        let (x, x_new) = (&w.x[..n], &w.x_new[..n]);
        let (b_sum, e5_sum) = (&w.stage_arg[..n], &w.scratch[..n]);
        let k = &*w.k;
        let (k0, k8, k11) = (&k[..n], &k[8 * n..9 * n], &k[11 * n..12 * n]);
        for i in 0..n_err {
            let sk = scale(atol, rtol, x[i], x_new[i]);
            let e3 = b_sum[i] - BHH[0] * k0[i] - BHH[1] * k8[i] - BHH[2] * k11[i];
            let e5 = e5_sum[i];
            err3 += (e3 / sk) * (e3 / sk);
            err5 += (e5 / sk) * (e5 / sk);
        }
        let mut deno = err5 + 0.01 * err3;
        if deno <= 0.0 {
            deno = 1.0;
        }
        let err = h.abs() * err5 * (1.0 / (n_err.max(1) as f64 * deno)).sqrt();
        // Per component, the same combination of the 5th- and 3rd-order estimates.
        let factor = h.abs() * (err5 / deno).sqrt();
        for (ev, e5) in w.err_vec[..n_err].iter_mut().zip(&w.scratch[..n_err]) {
            *ev = factor * e5;
        }
        if err.is_finite() {
            // The controller takes the square.
            Ok(err * err)
        } else {
            Err(StepError::NonFinite { t: w.t + h })
        }
    }

    /// `k12 = f(t + h, x_new)`, stages 13..=15, then
    /// `rcont = [x, Δ, h k0 − Δ, Δ − h k12 − (h k0 − Δ), h D k]` with `Δ = x_new − x`.
    #[inline(always)]
    fn finish<L: Dim, F: FnMut(f64, &[f64], &mut [f64])>(
        d: L,
        w: &mut StepBufs<'_>,
        rhs: &mut F,
        h: f64,
    ) -> Result<(), StepError> {
        w.eval_at_end(d, rhs, h, 12)?;
        // Literal stage indices: each row is a compile-time constant in the inlined code.
        w.stage::<Self, L, F>(d, rhs, h, 13)?;
        w.stage::<Self, L, F>(d, rhs, h, 14)?;
        w.stage::<Self, L, F>(d, rhs, h, 15)?;
        let n = d.n();
        let (k, c) = (&*w.k, &mut w.cont[..8 * n]);
        for (m, d_row) in D.iter().enumerate() {
            weighted_sum_into(d, &mut c[(4 + m) * n..(5 + m) * n], d_row, k);
        }
        dense_vectors(
            h,
            &w.x[..n],
            &w.x_new[..n],
            &k[..n],
            &k[12 * n..13 * n],
            c,
            n,
        );
        Ok(())
    }

    /// Not used: [`RkScheme::finish`] builds the dense output (it needs three more stages).
    fn dense<L: Dim>(_: L, _: usize, _: f64, _: &[f64], _: &[f64], _: &[f64], _: &mut [f64]) {}
}

impl Stepper for Dop853 {
    const METHOD: Method = Method::Dop853;

    fn new(n: usize, options: StepperOptions) -> Self {
        let ctrl = Controller::new(1.0 / 8.0, 0.0, 0.333, 6.0);
        Dop853 {
            core: RkCore::new(n, options, ctrl, 16, 8),
        }
    }

    super::explicit_rk::delegate_stepper_to_core!();
}
