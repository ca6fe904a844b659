//! Dormand-Prince 5(4) with FSAL, PI step-size control and Hairer's 4th-order dense output.
//!
//! Coefficients: Dormand & Prince, "A family of embedded Runge-Kutta formulae", J. Comp. Appl.
//! Math. 6 (1980); HNW I, Table II.5.2 (tableau) and section II.6, eq. (6.12) (the continuous
//! extension written as the five vectors `rcont` of Hairer's code DOPRI5).

use super::step_control::{self, all_finite, combine, scale, weighted_sum, Controller};
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

/// Evaluate Dormand-Prince dense output `rcont = [r0..r4]` (vector after vector) at `t`:
/// with `θ = (t - t0)/h`, `x(t) = r0 + θ(r1 + (1-θ)(r2 + θ(r3 + (1-θ) r4)))`.
/// A zero-length segment (`h == 0`) is the constant `r0`.
pub(crate) fn interpolate(t0: f64, h: f64, c: &[f64], t: f64, out: &mut [f64]) {
    let n = out.len();
    debug_assert_eq!(
        c.len(),
        5 * n,
        "Dopri5 dense output needs 5 vectors of length n"
    );
    let th = if h == 0.0 { 0.0 } else { (t - t0) / h };
    let th1 = 1.0 - th;
    for (i, o) in out.iter_mut().enumerate() {
        let r = |m: usize| c[m * n + i];
        *o = r(0) + th * (r(1) + th1 * (r(2) + th * (r(3) + th1 * r(4))));
    }
}

/// Dormand-Prince 5(4): 6 right-hand-side evaluations per attempted step (the 7th stage is the
/// first stage of the next step), error norm `‖e‖ = RMS_i e_i / (atol + rtol max(|x_i|, |x_new_i|))`,
/// PI controller with `β = 0.04`, safety 0.9 and step factors in `[0.2, 10]` (Hairer's DOPRI5
/// defaults). Nothing is allocated after [`Stepper::new`].
#[derive(Debug, Clone)]
pub struct Dopri5 {
    opts: StepperOptions,
    ctrl: Controller,
    t: f64,
    t_prev: f64,
    /// Signed size of the last accepted step (0 after a reset).
    h_last: f64,
    /// Magnitude of the next step to try (0: not chosen yet).
    h_next: f64,
    x: Vec<f64>,
    x_prev: Vec<f64>,
    x_new: Vec<f64>,
    /// `f(t_prev, x_prev)`, the first stage of the last accepted step.
    dx_prev: Vec<f64>,
    stage_arg: Vec<f64>,
    /// Stages `k_1..k_7`; `k[0] = f(t, x)`.
    k: Vec<Vec<f64>>,
    /// Dense output of the last accepted step, 5 vectors of length `n`.
    cont: Vec<f64>,
    stats: StepStats,
    steps_since_reset: usize,
    ready: bool,
    pending: Option<StepError>,
}

impl Dopri5 {
    /// Order of the propagated solution (also used by the initial step heuristic).
    pub const ORDER: i32 = 5;

    /// Compute stages 2..7 of a step of size `h` from `(t, x)`; `x_new` receives the solution.
    fn attempt<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        rhs: &mut F,
        h: f64,
    ) -> Result<f64, StepError> {
        let t = self.t;
        for s in 1..7 {
            let arg = if s == 6 {
                &mut self.x_new
            } else {
                &mut self.stage_arg
            };
            combine(arg, &self.x, h, A[s], &self.k[..s]);
            let ts = if s >= 5 { t + h } else { t + C[s] * h };
            rhs(ts, arg, &mut self.k[s]);
            self.stats.rhs_evals += 1;
            if !all_finite(&self.k[s]) {
                return Err(StepError::NonFinite { t: ts });
            }
        }
        let (atol, rtol) = (self.opts.atol, self.opts.rtol);
        let mut sum = 0.0;
        for i in 0..self.x.len() {
            let e = h * weighted_sum(&E, &self.k, i);
            let r = e / scale(atol, rtol, self.x[i], self.x_new[i]);
            sum += r * r;
        }
        let err = (sum / self.x.len().max(1) as f64).sqrt();
        if err.is_finite() {
            Ok(err)
        } else {
            Err(StepError::NonFinite { t: t + h })
        }
    }

    /// Fill `cont` for the step of size `h` just computed from `x` to `x_new`.
    fn build_dense_output(&mut self, h: f64) {
        let n = self.x.len();
        let (k, c) = (&self.k, &mut self.cont);
        for i in 0..n {
            let ydiff = self.x_new[i] - self.x[i];
            let bspl = h * k[0][i] - ydiff;
            c[i] = self.x[i];
            c[n + i] = ydiff;
            c[2 * n + i] = bspl;
            c[3 * n + i] = ydiff - h * k[6][i] - bspl;
            c[4 * n + i] = h * weighted_sum(&D, k, i);
        }
    }

    /// [`Stepper::reset`] at `(t, self.x)`.
    fn restart<F: FnMut(f64, &[f64], &mut [f64])>(&mut self, rhs: &mut F, t: f64, direction: f64) {
        self.t = t;
        self.t_prev = t;
        self.x_prev.copy_from_slice(&self.x);
        rhs(t, &self.x, &mut self.k[0]);
        self.stats.rhs_evals += 1;
        self.dx_prev.copy_from_slice(&self.k[0]);
        self.pending = (!all_finite(&self.k[0])).then_some(StepError::NonFinite { t });
        self.ctrl.reset();
        self.steps_since_reset = 0;
        self.constant_dense_output();
        self.ready = true;
        let dir = if direction < 0.0 { -1.0 } else { 1.0 };
        self.h_next = if self.opts.first_step > 0.0 {
            self.opts.first_step.min(self.opts.max_step)
        } else if self.pending.is_some() {
            0.0
        } else {
            let h = step_control::initial_step(
                rhs,
                t,
                &self.x,
                &self.k[0],
                &mut self.stage_arg,
                &mut self.x_new,
                Self::ORDER,
                self.opts.atol,
                self.opts.rtol,
                self.opts.max_step,
                dir,
            );
            self.stats.rhs_evals += 1;
            h.abs()
        };
    }

    /// Make the dense output the constant `x` (zero-length segment at `t`).
    fn constant_dense_output(&mut self) {
        let n = self.x.len();
        self.cont.fill(0.0);
        self.cont[..n].copy_from_slice(&self.x);
        self.h_last = 0.0;
    }
}

impl Stepper for Dopri5 {
    const METHOD: Method = Method::Dopri5;

    fn new(n: usize, options: StepperOptions) -> Self {
        Dopri5 {
            opts: options,
            ctrl: Controller::new(0.2 - 0.75 * 0.04, 0.04, 0.2, 10.0),
            t: 0.0,
            t_prev: 0.0,
            h_last: 0.0,
            h_next: 0.0,
            x: vec![0.0; n],
            x_prev: vec![0.0; n],
            x_new: vec![0.0; n],
            dx_prev: vec![0.0; n],
            stage_arg: vec![0.0; n],
            k: vec![vec![0.0; n]; 7],
            cont: vec![0.0; 5 * n],
            stats: StepStats::default(),
            steps_since_reset: 0,
            ready: false,
            pending: None,
        }
    }

    /// A non-finite `f(t, x)` is reported by the next [`Stepper::step`] as
    /// [`StepError::NonFinite`].
    fn reset<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        rhs: &mut F,
        t: f64,
        x: &[f64],
        direction: f64,
    ) {
        self.x.copy_from_slice(x);
        self.restart(rhs, t, direction);
    }

    /// A `t_bound` equal to `t()` is a no-op. Before any [`Stepper::reset`] the stepper starts
    /// from `x = 0` at `t = 0`.
    fn step<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        rhs: &mut F,
        t_bound: f64,
    ) -> Result<(), StepError> {
        let span = t_bound - self.t;
        if !self.ready {
            self.restart(rhs, self.t, span);
        }
        if let Some(e) = self.pending {
            return Err(e);
        }
        if span == 0.0 || span.is_nan() {
            return Ok(());
        }
        let dir = span.signum();
        let mut h_abs = self.h_next.min(self.opts.max_step);
        loop {
            if self.steps_since_reset >= self.opts.max_steps {
                return Err(StepError::TooManySteps {
                    t: self.t,
                    steps: self.steps_since_reset,
                });
            }
            let truncated = h_abs >= span.abs();
            let t_new = if truncated {
                t_bound
            } else {
                self.t + dir * h_abs
            };
            // The step actually taken is the difference of representable times, so that
            // `step_from_prev_to(t())` repeats it exactly.
            let h = t_new - self.t;
            if !truncated && h.abs() <= 16.0 * f64::EPSILON * self.t.abs() {
                return Err(StepError::StepSizeTooSmall { t: self.t, h });
            }
            self.steps_since_reset += 1;
            let err = self.attempt(rhs, h)?;
            let (accepted, h_new) = self.ctrl.decide(err, h.abs());
            if accepted {
                self.build_dense_output(h);
                self.t_prev = self.t;
                self.t = t_new;
                self.h_last = h;
                std::mem::swap(&mut self.x_prev, &mut self.x);
                std::mem::swap(&mut self.x, &mut self.x_new);
                std::mem::swap(&mut self.dx_prev, &mut self.k[0]);
                self.k.swap(0, 6);
                // Landing on `t_bound` shortened the step artificially: do not let that shrink
                // the next one.
                self.h_next = if truncated { h_new.max(h_abs) } else { h_new };
                self.stats.accepted += 1;
                return Ok(());
            }
            self.stats.rejected += 1;
            h_abs = h_new;
            if h_abs < 16.0 * f64::EPSILON * self.t.abs() {
                return Err(StepError::StepSizeTooSmall {
                    t: self.t,
                    h: dir * h_abs,
                });
            }
        }
    }

    fn t(&self) -> f64 {
        self.t
    }

    fn x(&self) -> &[f64] {
        &self.x
    }

    fn t_prev(&self) -> f64 {
        self.t_prev
    }

    fn x_prev(&self) -> &[f64] {
        &self.x_prev
    }

    fn dx(&self) -> &[f64] {
        &self.k[0]
    }

    fn interpolate(&self, t: f64, out: &mut [f64]) {
        interpolate(self.t_prev, self.h_last, &self.cont, t, out);
    }

    fn segment(&self) -> DenseSegment<'_> {
        DenseSegment {
            method: Method::Dopri5,
            t0: self.t_prev,
            h: self.h_last,
            coefficients: &self.cont,
        }
    }

    fn step_from_prev_to<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        rhs: &mut F,
        t_target: f64,
        out: &mut [f64],
    ) {
        let (t0, h) = (self.t_prev, t_target - self.t_prev);
        // Stage 1 is f(t_prev, x_prev); k[1..6] are free once the dense output is built.
        std::mem::swap(&mut self.dx_prev, &mut self.k[0]);
        for s in 1..6 {
            combine(&mut self.stage_arg, &self.x_prev, h, A[s], &self.k[..s]);
            rhs(t0 + C[s] * h, &self.stage_arg, &mut self.k[s]);
        }
        self.stats.rhs_evals += 5;
        combine(out, &self.x_prev, h, A[6], &self.k[..6]);
        std::mem::swap(&mut self.dx_prev, &mut self.k[0]);
    }

    fn stats(&self) -> StepStats {
        self.stats
    }
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
