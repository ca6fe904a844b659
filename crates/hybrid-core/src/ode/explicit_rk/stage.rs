//! One step's buffers and its stage evaluations, `arg = x + Σ_j (h a_sj) k_j` then
//! `k_s = f(t + c_s h, arg)`, and the dense-output vectors both pairs share.

use super::RkScheme;
use crate::ode::dim::Dim;
use crate::ode::step_control::{all_finite, combine};
use crate::ode::StepError;

/// The buffers one step works on, cut to their lengths once per step.
///
/// The step loop works on these slices rather than on the [`super::RkCore`] fields: a local slice's
/// pointer and length stay in registers, where a `Vec` field would be re-loaded after every store
/// into another buffer (the compiler cannot prove that the store leaves the `Vec`'s header
/// unchanged), and for a [`crate::ode::dim::Fixed`] size every length is a constant, so the bounds
/// checks fold away.
pub(in crate::ode) struct StepBufs<'a> {
    /// Start of the step.
    pub t: f64,
    /// Absolute and relative tolerance.
    pub atol: f64,
    pub rtol: f64,
    /// Leading components that steer the step size (`≤ n`).
    pub n_err: usize,
    /// State at the start of the step (`n`).
    pub x: &'a [f64],
    /// Combined solution of the step being tried (`n`).
    pub x_new: &'a mut [f64],
    /// Argument of the stage being evaluated (`n`).
    pub stage_arg: &'a mut [f64],
    /// Scratch of the error estimate (`n`).
    pub scratch: &'a mut [f64],
    /// All stages, one after the other (`stages · n`).
    pub k: &'a mut [f64],
    /// Dense-output vectors (`vectors · n`).
    pub cont: &'a mut [f64],
    /// Per-component error estimate of the step being tried (`n`).
    pub err_vec: &'a mut [f64],
    /// Right-hand-side evaluations of this call (a local count, added to the stepper's when the
    /// call returns: a counter in memory would be a store between a stage's values and their
    /// next reads that the compiler cannot prove harmless).
    pub rhs_evals: usize,
}

/// One stage-like evaluation, `arg = x + Σ_j (h row_j) k_j` then `k_new = f(t, arg)`, both
/// computed on the stack for the small sizes ([`Dim::pick`]) and stored afterwards. A non-finite
/// `k_new` is reported at its own time `t`. Shared by [`StepBufs::stage`] (`row = a_s`, `arg`
/// the stage argument) and [`StepBufs::solution_and_end_stage`] (`row = b`, `arg = x_new`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn eval_stage<L: Dim, F: FnMut(f64, &[f64], &mut [f64])>(
    d: L,
    rhs: &mut F,
    t: f64,
    x: &[f64],
    h: f64,
    row: &[f64],
    done: &[f64],
    arg_out: &mut [f64],
    k_out: &mut [f64],
) -> Result<(), StepError> {
    let (mut arg_local, mut k_local) = (d.local(), d.local());
    let arg = d.pick(&mut arg_local, arg_out);
    let k_new = d.pick(&mut k_local, k_out);
    combine(d, arg, x, h, row, done);
    rhs(t, arg, k_new);
    let finite = all_finite(d, k_new);
    d.store(&arg_local, arg_out);
    d.store(&k_local, k_out);
    if finite {
        Ok(())
    } else {
        Err(StepError::NonFinite { t })
    }
}

impl StepBufs<'_> {
    /// Evaluate stage `s` of a step of size `h` from `(t, x)` (stages `< s` known): its
    /// argument `x + Σ_j (h a_sj) k_j` into `stage_arg`, then `k_s = f(t + c_s h, ·)` (both
    /// computed on the stack for the small sizes, see [`Dim::pick`]).
    #[inline(always)]
    pub fn stage<S: RkScheme, L: Dim, F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        d: L,
        rhs: &mut F,
        h: f64,
        s: usize,
    ) -> Result<(), StepError> {
        let n = d.n();
        let (done, k_s) = self.k[..(s + 1) * n].split_at_mut(s * n);
        self.rhs_evals += 1;
        eval_stage(
            d,
            rhs,
            self.t + S::C[s] * h,
            self.x,
            h,
            S::A[s],
            done,
            self.stage_arg,
            k_s,
        )
    }

    /// The step's solution `x_new = x + Σ_j (h b_j) k_j`, then `k[s] = f(t + h, x_new)`, the
    /// stage of the next step for a pair with FSAL (like [`StepBufs::stage`]).
    #[inline(always)]
    pub fn solution_and_end_stage<S: RkScheme, L: Dim, F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        d: L,
        rhs: &mut F,
        h: f64,
        s: usize,
    ) -> Result<(), StepError> {
        let n = d.n();
        let (done, k_s) = self.k[..(s + 1) * n].split_at_mut(s * n);
        self.rhs_evals += 1;
        eval_stage(d, rhs, self.t + h, self.x, h, S::B, done, self.x_new, k_s)
    }

    /// The step's solution `x_new = x + Σ_j (h b_j) k_j` alone.
    #[inline(always)]
    pub fn solution<S: RkScheme, L: Dim>(&mut self, d: L, h: f64) {
        combine(d, self.x_new, self.x, h, S::B, self.k);
    }

    /// `k[s] = f(t + h, x_new)`.
    #[inline(always)]
    pub fn eval_at_end<L: Dim, F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        d: L,
        rhs: &mut F,
        h: f64,
        s: usize,
    ) -> Result<(), StepError> {
        let n = d.n();
        let k_s = &mut self.k[s * n..(s + 1) * n];
        rhs(self.t + h, &self.x_new[..n], k_s);
        self.rhs_evals += 1;
        if all_finite(d, k_s) {
            Ok(())
        } else {
            Err(StepError::NonFinite { t: self.t + h })
        }
    }
}

/// The dense-output vectors shared by both pairs (HNW I eq. II.6.12 and section II.10): with
/// `Δ = x_new − x`, `c = [x, Δ, h k_first − Δ, Δ − h k_last − (h k_first − Δ), h c_4, h c_5, ..]`
/// where `c` holds its vectors one after the other, `stride` apart, and `c_4, c_5, ..` already
/// hold their sums `Σ_j d_j k_j`; the first `x.len()` components of each vector are written. A
/// function of its own so that the compiler sees the slices as distinct memory.
#[inline(always)]
pub(in crate::ode) fn dense_vectors(
    h: f64,
    x: &[f64],
    x_new: &[f64],
    k_first: &[f64],
    k_last: &[f64],
    c: &mut [f64],
    stride: usize,
) {
    let n = x.len();
    let (x_new, k_first, k_last) = (&x_new[..n], &k_first[..n], &k_last[..n]);
    let (c0, rest) = c.split_at_mut(stride);
    let (c1, rest) = rest.split_at_mut(stride);
    let (c2, rest) = rest.split_at_mut(stride);
    let (c3, tail) = rest.split_at_mut(stride);
    let (c0, c1, c2, c3) = (&mut c0[..n], &mut c1[..n], &mut c2[..n], &mut c3[..n]);
    for i in 0..n {
        let ydiff = x_new[i] - x[i];
        let bspl = h * k_first[i] - ydiff;
        c0[i] = x[i];
        c1[i] = ydiff;
        c2[i] = bspl;
        c3[i] = ydiff - h * k_last[i] - bspl;
    }
    if stride == n {
        tail.iter_mut().for_each(|v| *v *= h);
    } else {
        for vector in tail.chunks_mut(stride) {
            vector[..n].iter_mut().for_each(|v| *v *= h);
        }
    }
}
