//! The part of an embedded explicit Runge-Kutta stepper that does not depend on the tableau:
//! state and scratch storage, restart, the accept/reject loop with landing on `t_bound`, and the
//! uncontrolled polishing step. [`super::Dopri5`] and [`super::Dop853`] supply their tableau,
//! error norm and dense output through [`RkScheme`].

use super::dim::{with_dim, Dim, Dyn};
use super::step_control::{self, all_finite, combine, Controller};
use super::{DenseSegment, Method, StepError, StepStats, StepperOptions};
use std::cell::{Cell, Ref, RefCell};

/// What distinguishes one embedded pair from another.
pub(super) trait RkScheme {
    /// Order of the propagated solution.
    const ORDER: i32;
    /// Nodes `c_i` of all stages (including those of the dense output).
    const C: &'static [f64];
    /// Rows `a_ij` of all stages.
    const A: &'static [&'static [f64]];
    /// Weights of the propagated solution (their length is the number of main stages).
    const B: &'static [f64];
    /// Stage that holds `f(t + h, x_new)` once [`RkScheme::finish`] has run.
    const FSAL: usize;
    /// Whether the dense output is left to [`RkScheme::dense`], run on first use (it needs no
    /// further right-hand-side evaluation); otherwise [`RkScheme::finish`] builds it.
    const LAZY_DENSE: bool;

    /// Stages `1..B.len()` of a step of size `h` from `(t, x)` (stage 0 is known), then the
    /// solution `x_new`: one [`StepBufs::stage`] call per stage with a literal index, so that each
    /// stage's tableau row is a compile-time constant in the inlined code.
    fn main_stages<L: Dim, F: FnMut(f64, &[f64], &mut [f64])>(
        d: L,
        w: &mut StepBufs<'_>,
        rhs: &mut F,
        h: f64,
    ) -> Result<(), StepError>;

    /// Squared scaled error `err²` of the step of size `h` whose main stages and `x_new` are
    /// computed (evaluating further stages if the estimate needs them).
    fn error<L: Dim, F: FnMut(f64, &[f64], &mut [f64])>(
        d: L,
        w: &mut StepBufs<'_>,
        rhs: &mut F,
        h: f64,
    ) -> Result<f64, StepError>;

    /// After acceptance, before `t` and `x` advance: evaluate the remaining stages and, unless
    /// [`RkScheme::LAZY_DENSE`], fill `w.cont` with the dense output of the step.
    fn finish<L: Dim, F: FnMut(f64, &[f64], &mut [f64])>(
        d: L,
        w: &mut StepBufs<'_>,
        rhs: &mut F,
        h: f64,
    ) -> Result<(), StepError>;

    /// For [`RkScheme::LAZY_DENSE`]: the dense output of the accepted step of size `h` from
    /// `x_prev` to `x` with stages `k` (`k_0 = f(t_prev, x_prev)`, the FSAL stage
    /// `f(t_prev + h, x)`), into `cont`, for the first `d.n()` of the `n` components (vectors
    /// and stages of stride `n`): componentwise, so the leading components come out the same
    /// bits as in a build of all `n`.
    fn dense<L: Dim>(
        d: L,
        n: usize,
        h: f64,
        x_prev: &[f64],
        x: &[f64],
        k: &[f64],
        cont: &mut [f64],
    );
}

/// The buffers one step works on, cut to their lengths once per step.
///
/// The step loop works on these slices rather than on the [`RkCore`] fields: a local slice's
/// pointer and length stay in registers, where a `Vec` field would be re-loaded after every store
/// into another buffer (the compiler cannot prove that the store leaves the `Vec`'s header
/// unchanged), and for a [`super::dim::Fixed`] size every length is a constant, so the bounds
/// checks fold away.
pub(super) struct StepBufs<'a> {
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

/// State and preallocated scratch of a stepper (nothing is allocated after [`RkCore::new`]).
#[derive(Debug, Clone)]
pub(super) struct RkCore {
    pub opts: StepperOptions,
    ctrl: Controller,
    pub t: f64,
    pub t_prev: f64,
    /// Signed size of the last accepted step (0 after a reset).
    pub h_last: f64,
    /// Magnitude of the next step to try (0: not chosen yet).
    h_next: f64,
    pub x: Vec<f64>,
    pub x_prev: Vec<f64>,
    pub x_new: Vec<f64>,
    pub stage_arg: Vec<f64>,
    /// Scratch of the error estimate.
    pub scratch: Vec<f64>,
    /// Stages `k_s = k[s n..(s + 1) n]` of the step being tried, one after the other;
    /// `k_0 = f(t, x)`.
    pub k: Vec<f64>,
    /// The stages of the last accepted step (`k_prev_0 = f(t_prev, x_prev)`): with `x_prev`,
    /// `x` and `h_last`, everything its dense output is made of. Attempts write into `k`, so a
    /// failed step or a polishing step leaves them as they were.
    k_prev: Vec<f64>,
    /// Dense output of the last accepted step, vector after vector: built by `finish`, or, for
    /// a [`RkScheme::LAZY_DENSE`] pair, from `k_prev` when first asked for (`cont_built`).
    cont: RefCell<Vec<f64>>,
    /// How many leading components of `cont` are built: a caller that reads the state alone
    /// (the event scan and search) does not pay for the components riding along with it.
    cont_built: Cell<usize>,
    pub stats: StepStats,
    /// Error estimate of each component in the step being tried (set by `RkScheme::error`).
    pub err_vec: Vec<f64>,
    /// Sum of the accepted steps' error estimates per component since construction: a bound on
    /// the global error that ignores the flow's amplification of earlier errors.
    err_acc: Vec<f64>,
    /// Leading components that steer the step size (error norm and first-step heuristic); the
    /// rest ride along on the steps these choose.
    pub n_err: usize,
    steps_since_reset: usize,
    ready: bool,
    pending: Option<StepError>,
}

impl RkCore {
    /// Storage for `n` states, `stages` stage vectors and `cont_vectors` dense-output vectors.
    pub fn new(
        n: usize,
        opts: StepperOptions,
        ctrl: Controller,
        stages: usize,
        cont_vectors: usize,
    ) -> Self {
        RkCore {
            opts,
            ctrl,
            t: 0.0,
            t_prev: 0.0,
            h_last: 0.0,
            h_next: 0.0,
            x: vec![0.0; n],
            x_prev: vec![0.0; n],
            x_new: vec![0.0; n],
            stage_arg: vec![0.0; n],
            scratch: vec![0.0; n],
            k: vec![0.0; stages * n],
            k_prev: vec![0.0; stages * n],
            cont: RefCell::new(vec![0.0; cont_vectors * n]),
            cont_built: Cell::new(n),
            stats: StepStats::default(),
            err_vec: vec![0.0; n],
            err_acc: vec![0.0; n],
            n_err: n,
            steps_since_reset: 0,
            ready: false,
            pending: None,
        }
    }

    /// Restart at `(t, x)`: `k[0] = f(t, x)`, constant dense output, first step size (given, or
    /// Hairer's heuristic). A non-finite `f(t, x)` is kept for the next [`RkCore::step`].
    pub fn reset<S: RkScheme, F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        rhs: &mut F,
        t: f64,
        x: &[f64],
        direction: f64,
        first: f64,
    ) {
        self.x.copy_from_slice(x);
        self.restart::<S, F>(rhs, t, direction, first);
    }

    /// The step size the controller would try next (0 before any step).
    pub fn next_step(&self) -> f64 {
        self.h_next
    }

    fn restart<S: RkScheme, F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        rhs: &mut F,
        t: f64,
        direction: f64,
        first: f64,
    ) {
        let n = self.x.len();
        self.t = t;
        self.t_prev = t;
        self.h_last = 0.0;
        self.x_prev.copy_from_slice(&self.x);
        rhs(t, &self.x, &mut self.k[..n]);
        self.stats.rhs_evals += 1;
        self.k_prev[..n].copy_from_slice(&self.k[..n]);
        self.pending = (!all_finite(Dyn(n), &self.k[..n])).then_some(StepError::NonFinite { t });
        self.ctrl.reset();
        self.steps_since_reset = 0;
        // The constant dense output `[x, 0, ..]` is written when first asked for (most restarts
        // take a step before any read; the adjoint's backward pass never reads it).
        self.cont_built.set(0);
        self.ready = true;
        let o = self.opts;
        self.h_next = if o.first_step > 0.0 {
            o.first_step.min(o.max_step)
        } else if first > 0.0 && first.is_finite() && self.pending.is_none() {
            first.min(o.max_step)
        } else if self.pending.is_some() {
            0.0
        } else {
            self.stats.rhs_evals += 1;
            let dir = if direction < 0.0 { -1.0 } else { 1.0 };
            let (f0, rest) = self.k.split_at_mut(n);
            let (x, x1, f1) = (&self.x, &mut self.stage_arg, &mut rest[..n]);
            step_control::initial_step(
                rhs,
                t,
                x,
                f0,
                x1,
                f1,
                self.n_err,
                S::ORDER,
                o.atol,
                o.rtol,
                o.max_step,
                dir,
            )
            .abs()
        };
    }

    /// One accepted step towards `t_bound` (see [`super::Stepper::step`]). A `t_bound` equal to
    /// `t` is a no-op; before any reset the stepper starts from `x = 0` at `t = 0`.
    pub fn step<S: RkScheme, L: Dim, F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        d: L,
        rhs: &mut F,
        t_bound: f64,
    ) -> Result<(), StepError> {
        let span = t_bound - self.t;
        if !self.ready {
            self.restart::<S, F>(rhs, self.t, span, 0.0);
        }
        if let Some(e) = self.pending {
            return Err(e);
        }
        if span == 0.0 || span.is_nan() {
            return Ok(());
        }
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

    /// The main formula from `(t_prev, x_prev)` to `t_target`, without error control, for the
    /// first `d.n()` components (at most `n`) as a system of their own, into `out`. Only the
    /// stages of the step being tried (`k`, its first stage put back) and the scratch are
    /// written: the last accepted step's stages (`k_prev`), from which a lazy dense output is
    /// still to be built, are only read.
    pub fn step_from_prev_to<S: RkScheme, L: Dim, F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        d: L,
        rhs: &mut F,
        t_target: f64,
        out: &mut [f64],
    ) {
        let (t0, h) = (self.t_prev, t_target - self.t_prev);
        let (n, all) = (d.n(), self.x.len());
        // The stages of the `n` components lie one after the other (stride `n`) over the start
        // of `k`; `k_0 = f(t, x)` (all components) is kept aside and put back. Stage 0 is
        // `f(t_prev, x_prev)`: the first `n` components of the last accepted step's first stage.
        self.scratch[..all].copy_from_slice(&self.k[..all]);
        self.k[..n].copy_from_slice(&self.k_prev[..n]);
        for s in 1..S::B.len() {
            let (done, k_s) = self.k[..(s + 1) * n].split_at_mut(s * n);
            combine(d, &mut self.stage_arg, &self.x_prev, h, S::A[s], done);
            rhs(t0 + S::C[s] * h, &self.stage_arg[..n], k_s);
        }
        self.stats.rhs_evals += S::B.len() - 1;
        combine(d, out, &self.x_prev, h, S::B, &self.k);
        self.k[..all].copy_from_slice(&self.scratch[..all]);
    }

    /// Accumulated error estimates per component (see the field).
    pub fn error_bound(&self) -> &[f64] {
        &self.err_acc
    }

    /// Zero the accumulated error estimates.
    pub fn clear_error_bound(&mut self) {
        self.err_acc.fill(0.0);
    }

    /// Build the dense output of the last accepted step for the first `m` components (all of
    /// them after a restart: no step yet, `h_last = 0`, the constant `[x, 0, ..]`).
    #[inline(never)]
    fn fill_dense<S: RkScheme>(&self, m: usize, cont: &mut [f64]) {
        let n = self.x.len();
        let (h, x_prev, x, k) = (self.h_last, &self.x_prev, &self.x, &self.k_prev);
        if h == 0.0 {
            cont.fill(0.0);
            cont[..n].copy_from_slice(x);
            self.cont_built.set(n);
        } else {
            with_dim!(m, d => S::dense(d, n, h, x_prev, x, k, cont));
            self.cont_built.set(m);
        }
    }

    /// The dense-output vectors of the last accepted step, built now for at least the first
    /// `m` components if not yet. Inlined: the event scan and search read the dense output many
    /// times per step, and only the first read builds it.
    #[inline]
    pub fn dense<S: RkScheme>(&self, m: usize) -> Ref<'_, Vec<f64>> {
        if self.cont_built.get() < m {
            self.fill_dense::<S>(m, &mut self.cont.borrow_mut());
        }
        self.cont.borrow()
    }

    /// The dense output of the last accepted step (built now if not yet).
    pub fn segment<S: RkScheme>(&mut self, method: Method) -> DenseSegment<'_> {
        drop(self.dense::<S>(self.x.len()));
        DenseSegment {
            method,
            t0: self.t_prev,
            h: self.h_last,
            coefficients: self.cont.get_mut(),
        }
    }
}

/// The dense-output vectors shared by both pairs (HNW I eq. II.6.12 and section II.10): with
/// `Δ = x_new − x`, `c = [x, Δ, h k_first − Δ, Δ − h k_last − (h k_first − Δ), h c_4, h c_5, ..]`
/// where `c` holds its vectors one after the other, `stride` apart, and `c_4, c_5, ..` already
/// hold their sums `Σ_j d_j k_j`; the first `x.len()` components of each vector are written. A
/// function of its own so that the compiler sees the slices as distinct memory.
#[inline(always)]
pub(super) fn dense_vectors(
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

/// `acc += |e|` componentwise (a function of its own: distinct memory for the compiler).
#[inline(always)]
fn add_abs(acc: &mut [f64], e: &[f64]) {
    for (a, e) in acc.iter_mut().zip(e) {
        *a += e.abs();
    }
}

/// The `Stepper` methods every Runge-Kutta pair implements the same way, by delegating to its
/// `core: RkCore` and to the module's own `interpolate` (its dense-output formula).
macro_rules! delegate_stepper_to_core {
    () => {
        fn reset<F: FnMut(f64, &[f64], &mut [f64])>(
            &mut self,
            rhs: &mut F,
            t: f64,
            x: &[f64],
            direction: f64,
        ) {
            self.core.reset::<Self, F>(rhs, t, x, direction, 0.0);
        }

        fn reset_with_step<F: FnMut(f64, &[f64], &mut [f64])>(
            &mut self,
            rhs: &mut F,
            t: f64,
            x: &[f64],
            direction: f64,
            first: f64,
        ) {
            self.core.reset::<Self, F>(rhs, t, x, direction, first);
        }

        fn next_step(&self) -> f64 {
            self.core.next_step()
        }

        fn step<F: FnMut(f64, &[f64], &mut [f64])>(
            &mut self,
            rhs: &mut F,
            t_bound: f64,
        ) -> Result<(), StepError> {
            let core = &mut self.core;
            $crate::ode::dim::with_dim!(core.x.len(), d => core.step::<Self, _, F>(d, rhs, t_bound))
        }

        fn t(&self) -> f64 {
            self.core.t
        }

        fn x(&self) -> &[f64] {
            &self.core.x
        }

        fn t_prev(&self) -> f64 {
            self.core.t_prev
        }

        fn x_prev(&self) -> &[f64] {
            &self.core.x_prev
        }

        fn dx(&self) -> &[f64] {
            &self.core.k[..self.core.x.len()]
        }

        fn interpolate(&self, t: f64, out: &mut [f64]) {
            let cont = self.core.dense::<Self>(out.len());
            interpolate(self.core.t_prev, self.core.h_last, &cont, t, out);
        }

        fn segment(&mut self) -> DenseSegment<'_> {
            self.core.segment::<Self>(Self::METHOD)
        }

        fn step_from_prev_to<F: FnMut(f64, &[f64], &mut [f64])>(
            &mut self,
            rhs: &mut F,
            t_target: f64,
            out: &mut [f64],
        ) {
            // Every event (three or more polishing steps) and every stop inside a step: the
            // fixed-size kernels of the small sizes, like `step`.
            let core = &mut self.core;
            assert!(
                out.len() <= core.x.len(),
                "{} components asked of a stepper of {}",
                out.len(),
                core.x.len()
            );
            $crate::ode::dim::with_dim!(out.len(), d => {
                core.step_from_prev_to::<Self, _, F>(d, rhs, t_target, out)
            })
        }

        fn stats(&self) -> StepStats {
            self.core.stats
        }

        fn error_bound(&self) -> &[f64] {
            self.core.error_bound()
        }

        fn set_error_components(&mut self, count: usize) {
            self.core.n_err = count.min(self.core.x.len());
        }

        fn clear_accounting(&mut self) {
            self.core.stats = StepStats::default();
            self.core.clear_error_bound();
        }
    };
}
pub(crate) use delegate_stepper_to_core;
