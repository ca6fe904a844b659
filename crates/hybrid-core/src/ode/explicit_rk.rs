//! The part of an embedded explicit Runge-Kutta stepper that does not depend on the tableau:
//! state and scratch storage, restart, the accept/reject loop with landing on `t_bound`, and the
//! uncontrolled polishing step. [`super::Dopri5`] and [`super::Dop853`] supply their tableau,
//! error norm and dense output through [`RkScheme`].

mod delegate;
mod polynomial;
mod stage;
mod step;

pub(crate) use delegate::delegate_stepper_to_core;
use polynomial::Polynomial;
pub use polynomial::MAX_POLYNOMIAL_DEGREE;
pub(super) use stage::{dense_vectors, StepBufs};

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
    /// The exact flow of the state in the current mode, when it is a polynomial (see
    /// [`crate::ode::Stepper::set_polynomial_flow`]).
    pub(super) poly: Polynomial,
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
            poly: Polynomial::default(),
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
        if self.poly.active() {
            self.poly.start(&self.k[..self.poly.ns]);
        }
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
        } else if self.poly.active() {
            self.fill_polynomial_dense(cont);
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
