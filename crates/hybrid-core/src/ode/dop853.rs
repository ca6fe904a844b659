//! Dormand-Prince 8(5,3) with FSAL, Hairer's combined 5th/3rd-order error estimate and the
//! 7th-order dense output of DOP853 (three extra stages per accepted step).
//!
//! Method: Dormand & Prince (1989) and HNW I, section II.10 ("DOP853"): an 8th-order solution
//! from 12 stages, error `err = |h| ‖e5‖² / sqrt(‖e5‖² + 0.01 ‖e3‖²)` combining a 5th-order and
//! a 3rd-order estimate, and a continuous extension of order 7. Coefficients in
//! [`super::dop853_tableau`].

use super::dop853_tableau::{A, B, BHH, C, D, E5};
use super::step_control::{self, all_finite, combine, scale, weighted_sum, Controller};
use super::{DenseSegment, Method, StepError, StepStats, Stepper, StepperOptions};

/// Evaluate DOP853 dense output `rcont = [r0..r7]` (vector after vector) at `t`: with
/// `s = (t - t0)/h` and `s1 = 1 - s`,
/// `x(t) = r0 + s(r1 + s1(r2 + s(r3 + s1(r4 + s(r5 + s1(r6 + s r7))))))`.
/// A zero-length segment (`h == 0`) is the constant `r0`.
pub(crate) fn interpolate(t0: f64, h: f64, c: &[f64], t: f64, out: &mut [f64]) {
    let n = out.len();
    debug_assert_eq!(
        c.len(),
        8 * n,
        "Dop853 dense output needs 8 vectors of length n"
    );
    let s = if h == 0.0 { 0.0 } else { (t - t0) / h };
    let s1 = 1.0 - s;
    for (i, o) in out.iter_mut().enumerate() {
        let r = |m: usize| c[m * n + i];
        let tail = r(4) + s * (r(5) + s1 * (r(6) + s * r(7)));
        *o = r(0) + s * (r(1) + s1 * (r(2) + s * (r(3) + s1 * tail)));
    }
}

/// Dormand-Prince 8(5,3), the higher-order pair for tight tolerances: 11 right-hand-side
/// evaluations per attempted step, plus 4 per accepted step (the first stage of the next step
/// and the three extra stages of the dense output). PI controller with Hairer's DOP853 defaults:
/// `β = 0`, safety 0.9, step factors in `[0.333, 6]`. Nothing is allocated after
/// [`Stepper::new`].
#[derive(Debug, Clone)]
pub struct Dop853 {
    opts: StepperOptions,
    ctrl: Controller,
    t: f64,
    t_prev: f64,
    /// Signed size of the last accepted step (0 after a reset).
    h_last: f64,
    /// Magnitude of the next step to try.
    h_next: f64,
    x: Vec<f64>,
    x_prev: Vec<f64>,
    x_new: Vec<f64>,
    /// `f(t_prev, x_prev)`, the first stage of the last accepted step.
    dx_prev: Vec<f64>,
    stage_arg: Vec<f64>,
    /// Stages `k_0..k_15`; `k[0] = f(t, x)`.
    k: Vec<Vec<f64>>,
    /// Dense output of the last accepted step, 8 vectors of length `n`.
    cont: Vec<f64>,
    stats: StepStats,
    steps_since_reset: usize,
    ready: bool,
    pending: Option<StepError>,
}

impl Dop853 {
    /// Order of the propagated solution.
    pub const ORDER: i32 = 8;

    /// Evaluate stage `s` of a step of size `h` from `(t, x)` (stages `< s` known).
    fn stage<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        rhs: &mut F,
        h: f64,
        s: usize,
    ) -> Result<(), StepError> {
        combine(&mut self.stage_arg, &self.x, h, A[s], &self.k[..s]);
        let ts = if C[s] == 1.0 {
            self.t + h
        } else {
            self.t + C[s] * h
        };
        rhs(ts, &self.stage_arg, &mut self.k[s]);
        self.stats.rhs_evals += 1;
        if all_finite(&self.k[s]) {
            Ok(())
        } else {
            Err(StepError::NonFinite { t: ts })
        }
    }

    /// Stages 1..=11 and the 8th-order solution into `x_new`; returns the scaled error.
    fn attempt<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        rhs: &mut F,
        h: f64,
    ) -> Result<f64, StepError> {
        for s in 1..12 {
            self.stage(rhs, h, s)?;
        }
        combine(&mut self.x_new, &self.x, h, B, &self.k[..12]);
        let (atol, rtol) = (self.opts.atol, self.opts.rtol);
        let (mut err5, mut err3) = (0.0, 0.0);
        for i in 0..self.x.len() {
            let sk = scale(atol, rtol, self.x[i], self.x_new[i]);
            let bk = weighted_sum(B, &self.k, i);
            let e3 = bk - BHH[0] * self.k[0][i] - BHH[1] * self.k[8][i] - BHH[2] * self.k[11][i];
            let e5 = weighted_sum(&E5, &self.k, i);
            err3 += (e3 / sk) * (e3 / sk);
            err5 += (e5 / sk) * (e5 / sk);
        }
        let mut deno = err5 + 0.01 * err3;
        if deno <= 0.0 {
            deno = 1.0;
        }
        let err = h.abs() * err5 * (1.0 / (self.x.len().max(1) as f64 * deno)).sqrt();
        if err.is_finite() {
            Ok(err)
        } else {
            Err(StepError::NonFinite { t: self.t + h })
        }
    }

    /// After acceptance: `k12 = f(t + h, x_new)`, the three extra stages and `cont`.
    fn build_dense_output<F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        rhs: &mut F,
        h: f64,
    ) -> Result<(), StepError> {
        rhs(self.t + h, &self.x_new, &mut self.k[12]);
        self.stats.rhs_evals += 1;
        if !all_finite(&self.k[12]) {
            return Err(StepError::NonFinite { t: self.t + h });
        }
        for s in 13..16 {
            self.stage(rhs, h, s)?;
        }
        let n = self.x.len();
        let (k, c) = (&self.k, &mut self.cont);
        for i in 0..n {
            let ydiff = self.x_new[i] - self.x[i];
            let bspl = h * k[0][i] - ydiff;
            c[i] = self.x[i];
            c[n + i] = ydiff;
            c[2 * n + i] = bspl;
            c[3 * n + i] = ydiff - h * k[12][i] - bspl;
            for (m, d) in D.iter().enumerate() {
                c[(4 + m) * n + i] = h * weighted_sum(d, k, i);
            }
        }
        Ok(())
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
        let n = self.x.len();
        self.cont.fill(0.0);
        self.cont[..n].copy_from_slice(&self.x);
        self.h_last = 0.0;
        self.ready = true;
        let dir = if direction < 0.0 { -1.0 } else { 1.0 };
        self.h_next = if self.opts.first_step > 0.0 {
            self.opts.first_step.min(self.opts.max_step)
        } else if self.pending.is_some() {
            0.0
        } else {
            self.stats.rhs_evals += 1;
            let (f0, rest) = self.k.split_at_mut(1);
            step_control::initial_step(
                rhs,
                t,
                &self.x,
                &f0[0],
                &mut self.stage_arg,
                &mut rest[0],
                Self::ORDER,
                self.opts.atol,
                self.opts.rtol,
                self.opts.max_step,
                dir,
            )
            .abs()
        };
    }
}

impl Stepper for Dop853 {
    const METHOD: Method = Method::Dop853;

    fn new(n: usize, options: StepperOptions) -> Self {
        Dop853 {
            opts: options,
            ctrl: Controller::new(1.0 / 8.0, 0.0, 0.333, 6.0),
            t: 0.0,
            t_prev: 0.0,
            h_last: 0.0,
            h_next: 0.0,
            x: vec![0.0; n],
            x_prev: vec![0.0; n],
            x_new: vec![0.0; n],
            dx_prev: vec![0.0; n],
            stage_arg: vec![0.0; n],
            k: vec![vec![0.0; n]; 16],
            cont: vec![0.0; 8 * n],
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
            // Step between representable times, so `step_from_prev_to(t())` repeats it exactly.
            let h = t_new - self.t;
            if !truncated && h.abs() <= 16.0 * f64::EPSILON * self.t.abs() {
                return Err(StepError::StepSizeTooSmall { t: self.t, h });
            }
            self.steps_since_reset += 1;
            let err = self.attempt(rhs, h)?;
            let (accepted, h_new) = self.ctrl.decide(err, h.abs());
            if accepted {
                self.build_dense_output(rhs, h)?;
                self.t_prev = self.t;
                self.t = t_new;
                self.h_last = h;
                std::mem::swap(&mut self.x_prev, &mut self.x);
                std::mem::swap(&mut self.x, &mut self.x_new);
                std::mem::swap(&mut self.dx_prev, &mut self.k[0]);
                self.k.swap(0, 12);
                // Landing on `t_bound` shortened the step artificially: keep the proposal.
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
            method: Method::Dop853,
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
        // Stage 0 is f(t_prev, x_prev); k[1..12] are free once the dense output is built.
        std::mem::swap(&mut self.dx_prev, &mut self.k[0]);
        for s in 1..12 {
            combine(&mut self.stage_arg, &self.x_prev, h, A[s], &self.k[..s]);
            let ts = if C[s] == 1.0 { t0 + h } else { t0 + C[s] * h };
            rhs(ts, &self.stage_arg, &mut self.k[s]);
        }
        self.stats.rhs_evals += 11;
        combine(out, &self.x_prev, h, B, &self.k[..12]);
        std::mem::swap(&mut self.dx_prev, &mut self.k[0]);
    }

    fn stats(&self) -> StepStats {
        self.stats
    }
}
