//! Dormand-Prince 5(4) with FSAL, PI step-size control and Hairer's 4th-order dense output.
//!
//! Coefficients: Dormand & Prince, "A family of embedded Runge-Kutta formulae", J. Comp. Appl.
//! Math. 6 (1980); HNW I, Table II.5.2 (tableau) and section II.6, eq. (6.12) (the continuous
//! extension written as the five vectors `rcont` of Hairer's code DOPRI5).

use super::dim::{with_dim, Dim};
use super::explicit_rk::{dense_vectors, RkCore, RkScheme, StepBufs};
use super::step_control::{scale, weighted_sum_into, weighted_sum_strided, Controller};
use super::{DenseSegment, Method, StepError, StepStats, Stepper, StepperOptions};

/// Nodes `c_i`.
const C: [f64; 7] = [0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0];

/// Rows `a_ij` of the tableau; row 7 holds the 5th-order weights `b_j` (FSAL).
const A: [&[f64]; 7] = [
    &[],
    &[1.0 / 5.0],
    &[3.0 / 40.0, 9.0 / 40.0],
    &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
    &[
        19372.0 / 6561.0,
        -25360.0 / 2187.0,
        64448.0 / 6561.0,
        -212.0 / 729.0,
    ],
    &[
        9017.0 / 3168.0,
        -355.0 / 33.0,
        46732.0 / 5247.0,
        49.0 / 176.0,
        -5103.0 / 18656.0,
    ],
    &[
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
    ],
];

/// Error weights `b_j - b̂_j` (5th minus embedded 4th order).
const E: [f64; 7] = [
    71.0 / 57600.0,
    0.0,
    -71.0 / 16695.0,
    71.0 / 1920.0,
    -17253.0 / 339200.0,
    22.0 / 525.0,
    -1.0 / 40.0,
];

/// Weights of the last dense-output vector `rcont5 = h Σ d_j k_j` (HNW I, eq. II.6.12).
const D: [f64; 7] = [
    -12715105075.0 / 11282082432.0,
    0.0,
    87487479700.0 / 32700410799.0,
    -10690763975.0 / 1880347072.0,
    701980252875.0 / 199316789632.0,
    -1453857185.0 / 822651844.0,
    69997945.0 / 29380423.0,
];

/// Evaluate Dormand-Prince dense output `rcont = [r0..r4]` (vector after vector, each of length
/// `c.len() / 5`) at `t`, for the first `out.len()` components: with `θ = (t - t0)/h`,
/// `x(t) = r0 + θ(r1 + (1-θ)(r2 + θ(r3 + (1-θ) r4)))`. A zero-length segment (`h == 0`) is the
/// constant `r0`.
///
/// The vectors are cut to `out.len()` before the loop, so it runs without bounds checks; a caller
/// that reads only the leading components (the state, not what rides along with it) asks for
/// those alone. For the small sizes of [`with_dim!`] the loop runs at a compile-time length (the
/// event scan and search, and the adjoint's reads of the stored trajectory, evaluate the state of
/// small models many times per step); the same operations either way.
#[inline]
pub(crate) fn interpolate(t0: f64, h: f64, c: &[f64], t: f64, out: &mut [f64]) {
    let n = c.len() / 5;
    debug_assert_eq!(c.len(), 5 * n, "Dopri5 dense output needs 5 vectors");
    let m = out.len();
    assert!(m <= n, "{m} components asked of a dense output of {n}");
    let th = if h == 0.0 { 0.0 } else { (t - t0) / h };
    with_dim!(m, d => dense_formula(d, n, th, c, out));
}

/// `out = r0 + θ(r1 + (1-θ)(r2 + θ(r3 + (1-θ) r4)))` for the first `d.n()` components of the
/// vectors `r_j = c[j n..(j + 1) n]` (see [`interpolate`]).
#[inline(always)]
fn dense_formula<L: Dim>(d: L, n: usize, th: f64, c: &[f64], out: &mut [f64]) {
    let m = d.n();
    let th1 = 1.0 - th;
    let (r0, r1, r2, r3, r4) = (
        &c[..m],
        &c[n..n + m],
        &c[2 * n..2 * n + m],
        &c[3 * n..3 * n + m],
        &c[4 * n..4 * n + m],
    );
    let out = &mut out[..m];
    for i in 0..m {
        out[i] = r0[i] + th * (r1[i] + th1 * (r2[i] + th * (r3[i] + th1 * r4[i])));
    }
}

/// Dormand-Prince 5(4): 6 right-hand-side evaluations per attempted step (the 7th stage is the
/// first stage of the next step), error norm `‖e‖ = RMS_i e_i / (atol + rtol max(|x_i|, |x_new_i|))`,
/// PI controller with `β = 0.04`, safety 0.9 and step factors in `[0.2, 10]` (Hairer's DOPRI5
/// defaults). Nothing is allocated after [`Stepper::new`].
#[derive(Debug, Clone)]
pub struct Dopri5 {
    pub(super) core: RkCore,
}

/// `Σ_i r_i²` with `r_i = e_sum_i (h / sc_i)` and `sc_i = atol + rtol max(|x_i|, |x_new_i|)`
/// (`r_i` is the scaled error estimate `e_i / sc_i`, `e_i = h e_sum_i`, which is stored in
/// `err_vec`). `h / sc_i` does not depend on the last stage, so it is ready before `e_sum` is;
/// after the last stage there are two multiplications per component and the sum. The squares are
/// formed first (into `squares`, a loop the compiler may vectorise) and then summed as two
/// partial sums, of the even and of the odd `i` in the order of `i`, added at the end (half the
/// additions one after the other). A function of its own so that the compiler sees the slices as
/// distinct memory.
#[inline(always)]
fn error_sum_of_squares(
    h: f64,
    (atol, rtol): (f64, f64),
    e_sum: &[f64],
    x: &[f64],
    x_new: &[f64],
    err_vec: &mut [f64],
    squares: &mut [f64],
) -> f64 {
    let m = e_sum.len();
    let (x, x_new) = (&x[..m], &x_new[..m]);
    let (err_vec, squares) = (&mut err_vec[..m], &mut squares[..m]);
    for i in 0..m {
        err_vec[i] = h * e_sum[i];
        let r = e_sum[i] * (h / scale(atol, rtol, x[i], x_new[i]));
        squares[i] = r * r;
    }
    match &*squares {
        [] => 0.0,
        [q] => *q,
        [even, odd, rest @ ..] => {
            let (mut even, mut odd) = (*even, *odd);
            let pairs = rest.chunks_exact(2);
            let last = pairs.remainder();
            for p in pairs {
                even += p[0];
                odd += p[1];
            }
            if let [q] = last {
                even += q;
            }
            even + odd
        }
    }
}

impl RkScheme for Dopri5 {
    const ORDER: i32 = 5;
    const C: &'static [f64] = &C;
    const A: &'static [&'static [f64]] = &A;
    const B: &'static [f64] = A[6];
    const FSAL: usize = 6;
    const LAZY_DENSE: bool = true;

    /// Stages 2-6, the solution `x_new`, and `k7 = f(t + h, x_new)` (needed by the estimate, and
    /// the next step's first stage).
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
        w.solution_and_end_stage::<Self, L, F>(d, rhs, h, 6)
    }

    /// The mean square `‖h Σ e_j k_j‖²` of the scaled error estimates.
    #[inline(always)]
    fn error<L: Dim, F: FnMut(f64, &[f64], &mut [f64])>(
        d: L,
        w: &mut StepBufs<'_>,
        _rhs: &mut F,
        h: f64,
    ) -> Result<f64, StepError> {
        let (n, m) = (d.n(), w.n_err);
        let tol = (w.atol, w.rtol);
        let (k, x, x_new, err_vec) = (&*w.k, w.x, &*w.x_new, &mut *w.err_vec);
        // `Σ_j e_j k_j` and the squares in the stage argument and the scratch (free once all
        // stages are evaluated; on the stack for the small sizes, like a stage).
        let (mut e_local, mut sq_local) = (d.local(), d.local());
        let e = d.pick(&mut e_local, w.stage_arg);
        let squares = d.pick(&mut sq_local, w.scratch);
        weighted_sum_into(d, e, &E, k);
        // All components in the norm (the usual case) as a branch of its own: there the
        // length is `d`'s, a constant for the fixed-size kernels. Same operations either way.
        // The mean square: the controller takes `err²` (no square root on the step's path). In
        // the first branch the divisor is a constant for the fixed-size kernels (a
        // multiplication by `1/n` for n = 2, 4, 8, where that is exact).
        let err2 = if m == n {
            error_sum_of_squares(h, tol, &e[..n], x, x_new, err_vec, squares) / n.max(1) as f64
        } else {
            error_sum_of_squares(h, tol, &e[..m], x, x_new, err_vec, squares) / m.max(1) as f64
        };
        if err2.is_finite() {
            Ok(err2)
        } else {
            Err(StepError::NonFinite { t: w.t + h })
        }
    }

    /// Nothing: `k7` is known, and the dense output is built on first use ([`Self::dense`]).
    #[inline(always)]
    fn finish<L: Dim, F: FnMut(f64, &[f64], &mut [f64])>(
        _d: L,
        _w: &mut StepBufs<'_>,
        _rhs: &mut F,
        _h: f64,
    ) -> Result<(), StepError> {
        Ok(())
    }

    /// `rcont` of HNW I eq. (II.6.12): `[x, Δ, h k1 − Δ, Δ − h k7 − (h k1 − Δ), h Σ d_j k_j]`
    /// with `Δ = x_new − x` (here `x_prev` and `x`).
    fn dense<L: Dim>(
        d: L,
        n: usize,
        h: f64,
        x_prev: &[f64],
        x: &[f64],
        k: &[f64],
        cont: &mut [f64],
    ) {
        let m = d.n();
        let (k, c) = (&k[..7 * n], &mut cont[..5 * n]);
        weighted_sum_strided(d, n, &mut c[4 * n..4 * n + m], &D, k);
        dense_vectors(
            h,
            &x_prev[..m],
            &x[..m],
            &k[..m],
            &k[6 * n..6 * n + m],
            c,
            n,
        );
    }
}

impl Stepper for Dopri5 {
    const METHOD: Method = Method::Dopri5;

    fn new(n: usize, options: StepperOptions) -> Self {
        let ctrl = Controller::new(0.2 - 0.75 * 0.04, 0.04, 0.2, 10.0);
        Dopri5 {
            core: RkCore::new(n, options, ctrl, 7, 5),
        }
    }

    super::explicit_rk::delegate_stepper_to_core!();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Row sums `Σ_j a_ij = c_i` and the quadrature order conditions `Σ b_j c_j^q = 1/(q+1)`
    /// (q < 5 for the solution; the error weights integrate polynomials of degree < 4 exactly,
    /// HNW I, Table II.5.2 conditions).
    #[test]
    fn tableau_satisfies_row_sum_and_quadrature_conditions() {
        for (s, row) in A.iter().enumerate().skip(1) {
            let sum: f64 = row.iter().sum();
            assert!((sum - C[s]).abs() < 1e-14, "row {s}: {sum} vs {}", C[s]);
        }
        for q in 0..5 {
            let quad: f64 = A[6].iter().zip(C).map(|(b, c)| b * c.powi(q)).sum();
            assert!((quad - 1.0 / f64::from(q + 1)).abs() < 1e-14, "q = {q}");
        }
        for q in 0..4 {
            let e: f64 = E.iter().zip(C).map(|(e, c)| e * c.powi(q)).sum();
            assert!(e.abs() < 1e-15, "error weights, q = {q}: {e}");
        }
    }

    /// The dense output is built on first use from what the step leaves behind, so it must not
    /// depend on when it is built: not after a polishing step (`step_from_prev_to`) or a failed
    /// step, which both write into the stage buffers, nor between `interpolate` and `segment`.
    #[test]
    fn dense_output_does_not_depend_on_when_it_is_built() {
        let opts = StepperOptions {
            rtol: 1e-8,
            atol: 1e-8,
            max_step: f64::INFINITY,
            first_step: 0.0,
            max_steps: 1000,
        };
        let mut f = |_t: f64, x: &[f64], dx: &mut [f64]| {
            dx[0] = x[1];
            dx[1] = -x[0] - 0.1 * x[0] * x[0] * x[0];
        };
        let mut nan = |_t: f64, _x: &[f64], dx: &mut [f64]| dx.fill(f64::NAN);
        let probe = |s: &Dopri5| -> Vec<u64> {
            (0..=4)
                .flat_map(|j| {
                    let t = s.t_prev() + (s.t() - s.t_prev()) * f64::from(j) / 4.0;
                    let mut out = [0.0; 2];
                    s.interpolate(t, &mut out);
                    out.map(f64::to_bits)
                })
                .collect()
        };
        // `a` is interpolated right after each step; `b` is polished and fails a step first.
        let (mut a, mut b) = (Dopri5::new(2, opts), Dopri5::new(2, opts));
        a.reset(&mut f, 0.0, &[1.0, 0.0], 1.0);
        b.reset(&mut f, 0.0, &[1.0, 0.0], 1.0);
        for _ in 0..20 {
            a.step(&mut f, 10.0).unwrap();
            b.step(&mut f, 10.0).unwrap();
            let expected = probe(&a);
            let mut out = [0.0; 2];
            b.step_from_prev_to(&mut f, 0.5 * (b.t_prev() + b.t()), &mut out);
            let failed = b.step(&mut nan, 10.0);
            assert!(
                matches!(failed, Err(StepError::NonFinite { .. })),
                "{failed:?}"
            );
            let coefficients = b.segment().coefficients.to_vec();
            assert_eq!(probe(&b), expected);
            assert_eq!(a.segment().coefficients, coefficients);
        }
    }

    /// Asking for the leading components only gives those components of the full evaluation,
    /// bit for bit (the event scans interpolate the state without what rides along).
    #[test]
    fn interpolating_a_prefix_gives_the_leading_components() {
        let opts = StepperOptions {
            rtol: 1e-8,
            atol: 1e-8,
            max_step: f64::INFINITY,
            first_step: 0.0,
            max_steps: 1000,
        };
        let mut f = |_t: f64, x: &[f64], dx: &mut [f64]| {
            dx[0] = x[1];
            dx[1] = -x[0];
            dx[2] = x[0] * x[1];
        };
        let mut s = Dopri5::new(3, opts);
        s.reset(&mut f, 0.0, &[1.0, 0.0, 0.5], 1.0);
        s.step(&mut f, 10.0).unwrap();
        let (mut full, mut prefix) = ([0.0; 3], [0.0; 2]);
        for j in 0..=4 {
            let t = s.t_prev() + (s.t() - s.t_prev()) * f64::from(j) / 4.0;
            s.interpolate(t, &mut full);
            s.interpolate(t, &mut prefix);
            assert_eq!(
                prefix.map(f64::to_bits),
                [full[0].to_bits(), full[1].to_bits()]
            );
            assert_ne!(full[2], 0.0);
        }
    }

    #[test]
    fn linear_flow_is_integrated_exactly() {
        // x' = 1 has the solution t, which every consistent RK step reproduces exactly, and so
        // must the interpolant at any θ.
        let opts = StepperOptions {
            rtol: 1e-6,
            atol: 1e-6,
            max_step: 0.3,
            first_step: 0.0,
            max_steps: 100,
        };
        let mut s = Dopri5::new(1, opts);
        let mut f = |_t: f64, _x: &[f64], dx: &mut [f64]| dx[0] = 1.0;
        s.reset(&mut f, 0.0, &[0.0], 1.0);
        s.step(&mut f, 1.0).unwrap();
        let mut out = [0.0];
        let tm = 0.5 * (s.t_prev() + s.t());
        s.interpolate(tm, &mut out);
        assert!((out[0] - tm).abs() < 1e-15);
        assert!((s.x()[0] - s.t()).abs() < 1e-15);
    }
}
