//! The accept/reject loop of one step with landing on `t_bound`.

use super::{RkCore, RkScheme, StepBufs};
use crate::ode::dim::Dim;
use crate::ode::StepError;

impl RkCore {
    /// What every step towards `t_bound` does first: the restart before the first step, a
    /// pending error, and `None` for a no-op (`t_bound = t`, or NaN); else the span `t_bound − t`.
    #[inline(always)]
    pub(super) fn begin_step<S: RkScheme, F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        rhs: &mut F,
        t_bound: f64,
    ) -> Result<Option<f64>, StepError> {
        let span = t_bound - self.t;
        if !self.ready {
            self.restart::<S, F>(rhs, self.t, span, 0.0);
        }
        if let Some(e) = self.pending {
            return Err(e);
        }
        if span == 0.0 || span.is_nan() {
            return Ok(None);
        }
        Ok(Some(span))
    }

    /// One accepted step towards `t_bound` (see [`crate::ode::Stepper::step`]). A `t_bound` equal to
    /// `t` is a no-op; before any reset the stepper starts from `x = 0` at `t = 0`.
    pub fn step<S: RkScheme, L: Dim, F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        d: L,
        rhs: &mut F,
        t_bound: f64,
    ) -> Result<(), StepError> {
        let Some(span) = self.begin_step::<S, F>(rhs, t_bound)? else {
            return Ok(());
        };
        let dir = span.signum();
        let n = d.n();
        let stages = S::A.len();
        let RkCore {
            opts,
            ctrl,
            t,
            t_prev,
            h_last,
            h_next,
            x,
            x_prev,
            x_new,
            stage_arg,
            scratch,
            k,
            k_prev,
            cont,
            cont_built,
            stats,
            err_vec,
            err_acc,
            n_err,
            steps_since_reset,
            ..
        } = self;
        let t0 = *t;
        let mut w = StepBufs {
            t: t0,
            atol: opts.atol,
            rtol: opts.rtol,
            n_err: (*n_err).min(n),
            x: &x[..n],
            x_new: &mut x_new[..n],
            stage_arg: &mut stage_arg[..n],
            scratch: &mut scratch[..n],
            k: &mut k[..stages * n],
            cont: &mut cont.get_mut()[..],
            err_vec: &mut err_vec[..n],
            rhs_evals: 0,
        };
        let mut h_abs = h_next.min(opts.max_step);
        loop {
            if *steps_since_reset >= opts.max_steps {
                stats.rhs_evals += w.rhs_evals;
                return Err(StepError::TooManySteps {
                    t: t0,
                    steps: *steps_since_reset,
                });
            }
            let truncated = h_abs >= span.abs();
            let t_new = if truncated { t_bound } else { t0 + dir * h_abs };
            // The step is the difference of representable times, so that
            // `step_from_prev_to(t())` repeats it exactly.
            let h = t_new - t0;
            if !truncated && h.abs() <= 16.0 * f64::EPSILON * t0.abs() {
                stats.rhs_evals += w.rhs_evals;
                return Err(StepError::StepSizeTooSmall { t: t0, h });
            }
            *steps_since_reset += 1;
            let err2 = S::main_stages(d, &mut w, rhs, h).and_then(|()| S::error(d, &mut w, rhs, h));
            let err2 = match err2 {
                Ok(err2) => err2,
                Err(e) => {
                    stats.rhs_evals += w.rhs_evals;
                    return Err(e);
                }
            };
            let (accepted, h_new) = ctrl.decide(err2, h.abs());
            if accepted {
                // All components in the norm as a branch of its own (see `Dopri5::error`).
                if w.n_err == n {
                    add_abs(&mut err_acc[..n], &w.err_vec[..n]);
                } else {
                    add_abs(&mut err_acc[..w.n_err], &w.err_vec[..w.n_err]);
                }
                let finished = S::finish(d, &mut w, rhs, h);
                stats.rhs_evals += w.rhs_evals;
                finished?;
                cont_built.set(if S::LAZY_DENSE { 0 } else { n });
                // This step's stages become the last accepted step's; the next step starts
                // from its last stage (FSAL).
                std::mem::swap(k, k_prev);
                k[..n].copy_from_slice(&k_prev[S::FSAL * n..(S::FSAL + 1) * n]);
                *t_prev = t0;
                *t = t_new;
                *h_last = h;
                std::mem::swap(x_prev, x);
                std::mem::swap(x, x_new);
                // Landing on `t_bound` shortened the step artificially: keep the proposal.
                *h_next = if truncated { h_new.max(h_abs) } else { h_new };
                stats.accepted += 1;
                return Ok(());
            }
            stats.rejected += 1;
            h_abs = h_new;
            if h_abs < 16.0 * f64::EPSILON * t0.abs() {
                stats.rhs_evals += w.rhs_evals;
                return Err(StepError::StepSizeTooSmall {
                    t: t0,
                    h: dir * h_abs,
                });
            }
        }
    }
}

/// `acc += |e|` componentwise (a function of its own: distinct memory for the compiler).
#[inline(always)]
fn add_abs(acc: &mut [f64], e: &[f64]) {
    for (a, e) in acc.iter_mut().zip(e) {
        *a += e.abs();
    }
}
