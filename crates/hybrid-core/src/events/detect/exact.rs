//! Exact detection on a polynomial step (docs/maths.md, "Event location"): when the state
//! crosses a step by its exact polynomial `x(s) = x0 + Σ_k s^k c_k` of degree `D ≤ 2` and a guard
//! is affine in the state and free of time (`g = c · x + g₀`, `c = g_x` constant), the guard is
//! the polynomial
//!
//! ```text
//! g(s) = g(x0) + a1 s + a2 s²,   a_k = c · c_k,   s = t − t_prev,
//! ```
//!
//! monotone on either side of its one extremum `s* = −a1 / (2 a2)`. Sampling it where `|g|` turns
//! towards zero and back (`s*` inside the step, `side · a2 > 0`) and at the step's end sees every
//! sign change: between two samples the guard is monotone, so at most one root lies there, and a
//! double crossing inside one step (down through zero and back up before the end) shows at `s*`.
//! The samples are the guard evaluated on the state, as in the sampled path, with the same
//! armed-side rules; only where they are taken changes. The extremum is the near-miss candidate
//! too (no rate probes, no search for it), and each bracket holds one root of the quadratic, in
//! closed form ([`crate::events::locate::quadratic_root`]).

use super::{fires, guard_nan, sample, sign, Bracket, Detector};
use crate::events::probe::{grazing, noise_share};
use crate::ode::Stepper;
use crate::{Error, HybridSystem};

/// Largest degree of the state's polynomial on which guards are detected and located exactly.
pub(crate) const MAX_EXACT_DEGREE: usize = 2;

/// The guards' gradients and their polynomials on the last scanned step.
pub(crate) struct GuardPolynomials {
    /// Whether this run's model declares its guards affine in the state and free of time.
    on: bool,
    /// `c = g_x` of every guard of mode `mode` (`rows[k n .. (k + 1) n]`).
    rows: Vec<f64>,
    mode: Option<usize>,
    n: usize,
    /// `(a1, a2)` of each active guard on the last scanned step (when `step`).
    pub(super) coef: Vec<(f64, f64)>,
    /// Whether the last step was scanned exactly.
    pub(super) step: bool,
    /// Per guard, the turning point sampled on the last step, `(t, g)` (`t` NaN: none).
    turn: Vec<(f64, f64)>,
}

impl GuardPolynomials {
    pub fn new(guards: usize, n: usize) -> Self {
        Self {
            on: false,
            rows: vec![0.0; guards * n],
            mode: None,
            n,
            coef: vec![(0.0, 0.0); guards],
            step: false,
            turn: vec![(f64::NAN, 0.0); guards],
        }
    }

    /// A new run: whether its guards are affine in the state and free of time.
    pub fn begin(&mut self, on: bool) {
        self.on = on;
        self.mode = None;
        self.step = false;
    }

    /// The state's polynomial on the step `stepper` just took, when the guards are exact on it.
    #[inline]
    pub fn applies<'s, S: Stepper>(&self, stepper: &'s S) -> Option<(&'s [f64], usize)> {
        if !self.on {
            return None;
        }
        stepper
            .polynomial_step()
            .filter(|&(_, degree)| degree <= MAX_EXACT_DEGREE)
    }
}

impl GuardPolynomials {
    /// `σ_g = Σ_i |c_i| (err_i + 16 ε |x_i|)` of guard `k` at the state `x` ([`GuardProbe::noise`]
    /// with the gradient `c = g_x` held, the same at every state by the claim).
    ///
    /// [`GuardProbe::noise`]: crate::events::probe::GuardProbe::noise
    fn noise(&self, k: usize, x: &[f64], err: &[f64]) -> f64 {
        let row = &self.rows[k * self.n..(k + 1) * self.n];
        let mut sigma = 0.0;
        for i in 0..self.n {
            sigma += noise_share(row[i], err[i], x[i]);
        }
        sigma
    }
}

/// `Σ_i c_i v_i`.
#[inline(always)]
fn dot(c: &[f64], v: &[f64]) -> f64 {
    c.iter().zip(v).fold(0.0, |acc, (a, b)| acc + a * b)
}

impl Detector {
    /// [`Detector::scan`] on a step whose state is the polynomial `x_prev + Σ_k s^k c_k`
    /// (`coef`, degree `degree ≤ 2`) for guards affine in the state and free of time: each
    /// active guard sampled at its turning point towards zero (when inside the step) and at the
    /// end; every guard that fires is bracketed (the earliest is located first). A turning point
    /// short of zero by less than [`NEAR_MISS_FACTOR`](super::NEAR_MISS_FACTOR)` σ_g` is a near
    /// miss.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn scan_exact<M: HybridSystem, S: Stepper>(
        &mut self,
        model: &M,
        q: usize,
        p: &[f64],
        n: usize,
        stepper: &S,
        coef: &[f64],
        degree: usize,
    ) -> Result<bool, Error> {
        let (ta, tb) = (stepper.t_prev(), stepper.t());
        let h = tb - ta;
        let ns = coef.len() / degree;
        let guards = self.side.len();
        if self.exact.mode != Some(q) {
            // `c = g_x` of each guard, at any state (it is the same at every one, by the claim).
            let x = &stepper.x_prev()[..n];
            for k in 0..guards {
                let row = &mut self.exact.rows[k * n..(k + 1) * n];
                self.probe.gradient(model, q, k, ta, x, p, row);
            }
            self.exact.mode = Some(q);
        }
        self.exact.step = true;
        let x_end = &stepper.x()[..n];
        let c1 = &coef[..n];
        let mut any = false;
        for k in 0..guards {
            self.brackets[k] = None;
            self.exact.turn[k].0 = f64::NAN;
            if !model.guard_active(q, k) {
                continue;
            }
            let row = &self.exact.rows[k * self.exact.n..(k + 1) * self.exact.n];
            let a1 = dot(row, c1);
            let a2 = if degree == 2 {
                dot(row, &coef[ns..ns + n])
            } else {
                0.0
            };
            self.exact.coef[k] = (a1, a2);
            let dir = model.direction(q, k);
            // `side · g` convex with its minimum inside the step: the guard turns towards zero
            // and back (for a guard not yet armed, any extremum inside decides its side). A
            // guard armed from its rates at a restart point is sampled at its extremum whatever
            // its kind: the first point seen strictly on its side, so that a bracket does not
            // start on zero.
            let side = self.side[k];
            let s_ext = -a1 / (2.0 * a2);
            let inside = s_ext > 0.0 && s_ext < h;
            let towards = side * a2 > 0.0 || (side == 0.0 && a2 != 0.0);
            if inside && (towards || self.derived[k]) {
                let t_ext = ta + s_ext;
                stepper.interpolate(t_ext, &mut self.f_buf[..n]);
                let g = model.guard(q, k, t_ext, &self.f_buf[..n], p);
                if !g.is_finite() {
                    return Err(guard_nan(k, t_ext));
                }
                if towards {
                    self.exact.turn[k] = (t_ext, g);
                }
                let at = (
                    &mut self.side[k],
                    &mut self.t_side[k],
                    &mut self.g_side[k],
                    &mut self.derived[k],
                );
                self.brackets[k] = sample(dir, t_ext, g, at);
                if self.brackets[k].is_some() {
                    any = true;
                    continue;
                }
            }
            let g = model.guard(q, k, tb, x_end, p);
            if !g.is_finite() {
                return Err(guard_nan(k, tb));
            }
            self.g_end[k] = g;
            let at = (
                &mut self.side[k],
                &mut self.t_side[k],
                &mut self.g_side[k],
                &mut self.derived[k],
            );
            self.brackets[k] = sample(dir, tb, g, at);
            any |= self.brackets[k].is_some();
        }
        // A watched guard that turned back short of zero by less than its noise is a near miss
        // (the sampled path's extremum test, at the closed-form extremum), on a step with a
        // crossing too: one before the crossing is as unresolved as on any other step (the
        // engine forgets those past the located event).
        for k in 0..guards {
            let (t_ext, g_ext) = self.exact.turn[k];
            let side = self.side[k];
            if t_ext.is_nan() || side == 0.0 || sign(self.g_start[k]) != side {
                continue;
            }
            let dir = model.direction(q, k);
            if !fires(dir, side, -side) || fires(dir, side, g_ext) {
                continue; // not watched from this side, or crossed there
            }
            // `σ_g` from the guard's gradient held for the step (the probe's dual evaluations
            // would form the same `g_x` again).
            stepper.interpolate(t_ext, &mut self.buf[..n]);
            let err = &stepper.error_bound()[..n];
            let noise = self.exact.noise(k, &self.buf[..n], err);
            self.near_miss(k, t_ext, g_ext, noise);
        }
        Ok(any)
    }

    /// `(g, ġ, κ)` of guard `k` at an event `(t, x⁻)` in mode `q` located on the last step,
    /// when that step was scanned exactly (`None` otherwise): what
    /// [`crate::events::probe::GuardProbe::grazing_index`] computes by dual numbers, from the
    /// guard's constant gradient `c = g_x` and its polynomial on the step instead. The guard is
    /// free of time, so `ġ = c · f(t, x⁻)`; the state's polynomial has degree `D ≤ 2`, so
    /// `g̈ = c · ẍ = 2 a2` along the whole step; `σ_g = Σ_i |c_i| (err_i + 16 ε |x_i|)`.
    pub(crate) fn exact_diagnostics<M: HybridSystem>(
        &mut self,
        model: &M,
        q: usize,
        k: usize,
        t: f64,
        x: &[f64],
        p: &[f64],
        err: &[f64],
    ) -> Option<(f64, f64, f64)> {
        if !self.exact.step || self.exact.mode != Some(q) {
            return None;
        }
        let n = self.exact.n;
        let (x, err) = (&x[..n], &err[..n]);
        let row = &self.exact.rows[k * n..(k + 1) * n];
        let g = model.guard(q, k, t, x, p);
        let f = &mut self.f_buf[..n];
        model.flow(q, t, x, p, f);
        let gdot = dot(row, f);
        let gddot = 2.0 * self.exact.coef[k].1;
        let sigma = self.exact.noise(k, x, err);
        Some((g, gdot, grazing(gdot, gddot, sigma)))
    }

    /// The root of guard `k`'s polynomial inside `br` and the guard's rate there, when the last
    /// step was scanned exactly: `(τ, ġ(τ))` with `ġ = a1 + 2 a2 s`.
    pub(crate) fn exact_root(&self, k: usize, br: &Bracket, ta: f64) -> Option<(f64, f64)> {
        if !self.exact.step {
            return None;
        }
        let (a1, a2) = self.exact.coef[k];
        let s =
            crate::events::locate::quadratic_root(self.g_start[k], a1, a2, br.a - ta, br.b - ta);
        Some((ta + s, a1 + 2.0 * a2 * s))
    }
}
