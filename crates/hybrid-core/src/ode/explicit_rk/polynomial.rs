//! The exact flow of a mode whose state obeys `ẋ = A x + b` with a nilpotent `A` (docs/maths.md,
//! "Exact polynomial flow"): across a step of size `s` from `x0` the state is its Taylor
//! polynomial
//!
//! ```text
//! x(t0 + s) = x0 + Σ_{k=1..D} s^k c_k,   c_1 = f(x0),   c_{k+1} = A c_k / (k + 1)
//! ```
//!
//! (`c_k = A^{k−1} f(x0) / k!`: the `k`-th derivative of `x` is `A^{k−1} ẋ`, and `A^D = 0`), a
//! finite sum. The stepper then takes the same kind of steps as the pair would (the pair's own
//! controller, from a zero error estimate: a polynomial of degree `D ≤ 4` is what the pair's
//! error estimate vanishes on, so the pair's estimate is rounding noise there too), without its
//! stages: one evaluation of `f` per step, at its end. Components that ride along with the state
//! (sensitivities, loss quadratures) are stepped by the pair's formula on the state's exact
//! values at the stage times. Dense output and the full-order step from the step's start are the
//! polynomial itself.

use super::{RkCore, RkScheme};
use crate::ode::dim::{with_dim, Dim, Dyn};
use crate::ode::step_control::all_finite;
use crate::ode::StepError;

/// Largest degree `D` of a state polynomial moved exactly: Dopri5's error estimate vanishes on
/// solutions of degree ≤ 4 (its error weights integrate polynomials of degree < 4 exactly), and
/// both pairs' dense-output basis `1, θ, θ(1−θ), θ²(1−θ), θ²(1−θ)², ..` holds every polynomial of
/// degree ≤ 4.
pub const MAX_POLYNOMIAL_DEGREE: usize = 4;

/// The polynomial flow of the current mode: `A` and the Taylor coefficients of the last
/// accepted step and of the step being taken.
#[derive(Debug, Clone, Default)]
pub(in crate::ode) struct Polynomial {
    /// States moved by the polynomial (the first `ns` components); `0`: off.
    pub ns: usize,
    /// `D`: the terms `c_1 .. c_D`.
    degree: usize,
    /// `(i, j, a_ij)` for every `a_ij ≠ 0`, row after row.
    entries: Vec<(usize, usize, f64)>,
    /// `c_1 .. c_D` from the last accepted step's start (`x_prev`), `c[(k − 1) ns + i]`.
    coef: Vec<f64>,
    /// Those of the step being taken (from `x`).
    coef_new: Vec<f64>,
}

impl Polynomial {
    /// Whether the state moves by the polynomial.
    #[inline(always)]
    pub fn active(&self) -> bool {
        self.ns != 0
    }

    /// `(c_1 .. c_D, D)` of the last accepted step (see [`crate::ode::Stepper::polynomial_step`]).
    #[inline(always)]
    pub fn coefficients(&self) -> (&[f64], usize) {
        (&self.coef[..self.degree * self.ns], self.degree)
    }

    /// Move the first `ns` components (`a.len() = ns²`, rows of `A`) by the polynomial of
    /// degree `degree` (at most [`MAX_POLYNOMIAL_DEGREE`]); `None`: by the pair's stages.
    pub fn set(&mut self, flow: Option<(&[f64], usize)>) {
        let Some((a, degree)) = flow else {
            self.ns = 0;
            return;
        };
        assert!(
            (1..=MAX_POLYNOMIAL_DEGREE).contains(&degree),
            "degree {degree} of a polynomial flow"
        );
        let ns = (a.len() as f64).sqrt() as usize;
        assert_eq!(ns * ns, a.len(), "A must be square");
        self.ns = ns;
        self.degree = degree;
        self.entries.clear();
        for (at, &a) in a.iter().enumerate() {
            if a != 0.0 {
                self.entries.push((at / ns, at % ns, a));
            }
        }
        self.coef.resize(degree * ns, 0.0);
        self.coef_new.resize(degree * ns, 0.0);
    }

    /// `c_1 = f0`, `c_{k+1} = A c_k / (k + 1)` into `coef` (`degree` vectors of `ns`), `A c_k`
    /// summed over `A`'s nonzero entries (row after row, from `+0`); at a compile-time length
    /// for the small sizes ([`with_dim!`]).
    fn taylor(
        entries: &[(usize, usize, f64)],
        degree: usize,
        ns: usize,
        f0: &[f64],
        coef: &mut [f64],
    ) {
        with_dim!(ns, d => Self::taylor_at(d, entries, degree, f0, coef))
    }

    /// [`Self::taylor`] for `ns = d.n()`.
    #[inline(always)]
    fn taylor_at<L: Dim>(
        d: L,
        entries: &[(usize, usize, f64)],
        degree: usize,
        f0: &[f64],
        coef: &mut [f64],
    ) {
        let ns = d.n();
        let coef = &mut coef[..degree * ns];
        coef[..ns].copy_from_slice(&f0[..ns]);
        for k in 1..degree {
            let (done, next) = coef.split_at_mut(k * ns);
            let (c, next) = (&done[(k - 1) * ns..k * ns], &mut next[..ns]);
            for v in next.iter_mut() {
                *v = 0.0;
            }
            for &(i, j, a) in entries {
                next[i] += a * c[j];
            }
            let divisor = (k + 1) as f64;
            for v in next.iter_mut() {
                *v /= divisor;
            }
        }
    }

    /// The coefficients of the last accepted step from `f(t_prev, x_prev)` (after a restart).
    pub fn start(&mut self, f0: &[f64]) {
        Self::taylor(&self.entries, self.degree, self.ns, f0, &mut self.coef);
    }

    /// `x0 + s (c_1 + s (c_2 + .. + s c_D))` for the first `out.len()` components (at most
    /// `ns`), by Horner's rule, the coefficients `c_k = coef[(k − 1) ns ..]`; at a compile-time
    /// length for the small sizes ([`with_dim!`]), the same operations either way.
    #[inline(always)]
    fn eval(coef: &[f64], degree: usize, ns: usize, x0: &[f64], s: f64, out: &mut [f64]) {
        with_dim!(out.len(), d => Self::eval_at(d, coef, degree, ns, x0, s, out))
    }

    /// [`Self::eval`] for the first `d.n()` components.
    #[inline(always)]
    fn eval_at<L: Dim>(
        d: L,
        coef: &[f64],
        degree: usize,
        ns: usize,
        x0: &[f64],
        s: f64,
        out: &mut [f64],
    ) {
        let m = d.n();
        let (x0, out) = (&x0[..m], &mut out[..m]);
        let c = |k: usize| &coef[(k - 1) * ns..(k - 1) * ns + m];
        match degree {
            1 => {
                let c1 = c(1);
                for i in 0..m {
                    out[i] = x0[i] + s * c1[i];
                }
            }
            2 => {
                let (c1, c2) = (c(1), c(2));
                for i in 0..m {
                    out[i] = x0[i] + s * (c1[i] + s * c2[i]);
                }
            }
            3 => {
                let (c1, c2, c3) = (c(1), c(2), c(3));
                for i in 0..m {
                    out[i] = x0[i] + s * (c1[i] + s * (c2[i] + s * c3[i]));
                }
            }
            _ => {
                let (c1, c2, c3, c4) = (c(1), c(2), c(3), c(4));
                for i in 0..m {
                    out[i] = x0[i] + s * (c1[i] + s * (c2[i] + s * (c3[i] + s * c4[i])));
                }
            }
        }
    }
}

impl RkCore {
    /// One accepted step of the polynomial flow towards `t_bound` (see
    /// [`crate::ode::Stepper::step`]): the step size as the pair chooses it, the state by its
    /// polynomial, what rides along by the pair's formula, `f` at the end, and the controller
    /// told a zero error (it grows the next step by its largest factor).
    pub fn step_polynomial<S: RkScheme, F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        rhs: &mut F,
        t_bound: f64,
    ) -> Result<(), StepError> {
        let Some(span) = self.begin_step::<S, F>(rhs, t_bound)? else {
            return Ok(());
        };
        let t0 = self.t;
        if self.steps_since_reset >= self.opts.max_steps {
            return Err(StepError::TooManySteps {
                t: t0,
                steps: self.steps_since_reset,
            });
        }
        let dir = span.signum();
        let h_abs = self.h_next.min(self.opts.max_step);
        let truncated = h_abs >= span.abs();
        let t_new = if truncated { t_bound } else { t0 + dir * h_abs };
        // The difference of representable times, as in `RkCore::step`.
        let h = t_new - t0;
        if !truncated && h.abs() <= 16.0 * f64::EPSILON * t0.abs() {
            return Err(StepError::StepSizeTooSmall { t: t0, h });
        }
        self.steps_since_reset += 1;
        let (ns, nn) = (self.poly.ns, self.x.len());
        let p = &mut self.poly;
        // The first step after a restart starts where the last "step" (of length zero) did:
        // the restart formed its coefficients.
        let restarted = self.h_last == 0.0;
        if restarted {
            std::mem::swap(&mut p.coef, &mut p.coef_new);
        } else {
            Polynomial::taylor(&p.entries, p.degree, ns, &self.k[..ns], &mut p.coef_new);
        }
        let x_new = &mut self.x_new[..ns];
        Polynomial::eval(&p.coef_new, p.degree, ns, &self.x, h, x_new);
        let riding = if nn > ns {
            // What rides along: the pair's stages into `k` (its first stage is `f(t0, x)`).
            let (x, k, arg) = (&self.x, &mut self.k, &mut self.stage_arg);
            let evals = riding_stages::<S, F>(rhs, p, true, t0, h, x, k, arg, &mut self.x_new);
            self.stats.rhs_evals += evals.0;
            evals.1
        } else {
            Ok(())
        };
        if let Err(e) = riding {
            if restarted {
                std::mem::swap(&mut self.poly.coef, &mut self.poly.coef_new);
            }
            return Err(e);
        }
        // `f` at the end (the next step's first stage), into the scratch until accepted.
        rhs(t_new, &self.x_new, &mut self.scratch);
        self.stats.rhs_evals += 1;
        if !(all_finite(Dyn(nn), &self.scratch) && all_finite(Dyn(nn), &self.x_new)) {
            if restarted {
                std::mem::swap(&mut self.poly.coef, &mut self.poly.coef_new);
            }
            return Err(StepError::NonFinite { t: t_new });
        }
        let h_new = self.ctrl.accept_exact(h.abs());
        std::mem::swap(&mut self.k, &mut self.k_prev);
        self.k[..nn].copy_from_slice(&self.scratch);
        std::mem::swap(&mut self.poly.coef, &mut self.poly.coef_new);
        self.cont_built.set(0);
        self.t_prev = t0;
        self.t = t_new;
        self.h_last = h;
        std::mem::swap(&mut self.x_prev, &mut self.x);
        std::mem::swap(&mut self.x, &mut self.x_new);
        self.h_next = if truncated { h_new.max(h_abs) } else { h_new };
        self.stats.accepted += 1;
        Ok(())
    }

    /// The polynomial from `(t_prev, x_prev)` to `t_target` into `out` (see
    /// [`crate::ode::Stepper::step_from_prev_to`]): the state's components by the polynomial,
    /// those riding along (when asked for) by the pair's formula on it.
    pub fn polynomial_from_prev_to<S: RkScheme, F: FnMut(f64, &[f64], &mut [f64])>(
        &mut self,
        rhs: &mut F,
        t_target: f64,
        out: &mut [f64],
    ) {
        let (ns, nn, m) = (self.poly.ns, self.x.len(), out.len());
        let s = t_target - self.t_prev;
        let (coef, degree) = (&self.poly.coef, self.poly.degree);
        if m <= ns {
            Polynomial::eval(coef, degree, ns, &self.x_prev, s, out);
            return;
        }
        // All components into `x_new` (free outside a step), the stages over the start of `k`
        // with `k_0 = f(t_prev, x_prev)`; `f(t, x)` kept aside and put back.
        Polynomial::eval(coef, degree, ns, &self.x_prev, s, &mut self.x_new[..ns]);
        self.scratch.copy_from_slice(&self.k[..nn]);
        self.k[..nn].copy_from_slice(&self.k_prev[..nn]);
        let (x, k, arg) = (&self.x_prev, &mut self.k, &mut self.stage_arg);
        let t0 = self.t_prev;
        let evals =
            riding_stages::<S, F>(rhs, &self.poly, false, t0, s, x, k, arg, &mut self.x_new);
        self.stats.rhs_evals += evals.0;
        self.k[..nn].copy_from_slice(&self.scratch);
        out.copy_from_slice(&self.x_new[..m]);
    }

    /// The state of the last accepted step at `t` by its polynomial (the first `out.len()`
    /// components, at most `ns`).
    #[inline(always)]
    pub fn polynomial_at(&self, t: f64, out: &mut [f64]) {
        let p = &self.poly;
        Polynomial::eval(&p.coef, p.degree, p.ns, &self.x_prev, t - self.t_prev, out);
    }

    /// The dense output of the last accepted step (`h_last ≠ 0`) in the pair's basis
    /// `r0 + θ(r1 + (1−θ)(r2 + θ(r3 + (1−θ)(r4 + ..))))`: for the state, with `a_k = c_k h^k`,
    /// `r0 = x_prev`, `r1 = x − x_prev`, `r2 = −(a_2 + a_3 + a_4)`, `r3 = −(a_3 + 2 a_4)`,
    /// `r4 = a_4` (its polynomial, to rounding); for what rides along the cubic Hermite
    /// interpolant of the step's ends (`r4 = 0`, as from `f` at both ends); later vectors zero.
    pub(super) fn fill_polynomial_dense(&self, cont: &mut [f64]) {
        let (ns, nn, h) = (self.poly.ns, self.x.len(), self.h_last);
        let p = &self.poly;
        cont.fill(0.0);
        let mut a = [0.0; MAX_POLYNOMIAL_DEGREE + 1];
        for i in 0..ns {
            let mut hk = 1.0;
            for (k, a_k) in a.iter_mut().enumerate().skip(1) {
                hk *= h;
                *a_k = if k <= p.degree {
                    p.coef[(k - 1) * ns + i] * hk
                } else {
                    0.0
                };
            }
            cont[i] = self.x_prev[i];
            cont[nn + i] = self.x[i] - self.x_prev[i];
            cont[2 * nn + i] = -(a[2] + a[3] + a[4]);
            cont[3 * nn + i] = -(a[3] + 2.0 * a[4]);
            cont[4 * nn + i] = a[4];
        }
        for i in ns..nn {
            let delta = self.x[i] - self.x_prev[i];
            let first = h * self.k_prev[i] - delta;
            cont[i] = self.x_prev[i];
            cont[nn + i] = delta;
            cont[2 * nn + i] = first;
            cont[3 * nn + i] = delta - h * self.k[i] - first;
        }
        self.cont_built.set(nn);
    }
}

/// The pair's stages for the components `ns..` of a step of size `h` from `(t0, x)`, with the
/// state at each stage time by the polynomial (`coef_new` of the step being taken when `new`,
/// else `coef` of the last accepted step), then those components of the solution
/// `x + Σ_j (h b_j) k_j` into `out[ns..]`. `k` holds `k_0 = f(t0, x)` and receives the stages
/// (stride `n`, all components). Returns the evaluations made and whether every stage was
/// finite.
#[allow(clippy::too_many_arguments)]
fn riding_stages<S: RkScheme, F: FnMut(f64, &[f64], &mut [f64])>(
    rhs: &mut F,
    p: &Polynomial,
    new: bool,
    t0: f64,
    h: f64,
    x: &[f64],
    k: &mut [f64],
    arg: &mut [f64],
    out: &mut [f64],
) -> (usize, Result<(), StepError>) {
    let (ns, n) = (p.ns, x.len());
    let coef = if new { &p.coef_new } else { &p.coef };
    let combine = |out: &mut [f64], row: &[f64], k: &[f64]| {
        for i in ns..n {
            let mut acc = x[i];
            for (j, &a) in row.iter().enumerate() {
                if a != 0.0 {
                    acc += (h * a) * k[j * n + i];
                }
            }
            out[i] = acc;
        }
    };
    let stages = S::B.len();
    for s in 1..stages {
        let t = t0 + S::C[s] * h;
        Polynomial::eval(coef, p.degree, ns, x, S::C[s] * h, &mut arg[..ns]);
        let (done, k_s) = k[..(s + 1) * n].split_at_mut(s * n);
        combine(arg, S::A[s], done);
        rhs(t, arg, k_s);
        if !all_finite(Dyn(n - ns), &k_s[ns..]) {
            return (s, Err(StepError::NonFinite { t }));
        }
    }
    combine(out, S::B, k);
    (stages - 1, Ok(()))
}

#[cfg(test)]
mod tests {
    use crate::ode::{Dop853, Dopri5, Stepper, StepperOptions};

    /// The ball's flow `[v, −g]` with `∫ y² dt` riding along as a third component.
    const G: f64 = 9.81;
    fn ball(_t: f64, x: &[f64], dx: &mut [f64]) {
        dx[0] = x[1];
        dx[1] = -G;
        if let Some(q) = dx.get_mut(2) {
            *q = x[0] * x[0];
        }
    }
    /// `A` of the ball: `[[0, 1], [0, 0]]`, a parabola (`D = 2`).
    const BALL_A: [f64; 4] = [0.0, 1.0, 0.0, 0.0];
    /// `y(t)` from `y = 1`, `v = 0.5`, and `∫_0^t y² dt`.
    fn y(t: f64) -> f64 {
        1.0 + 0.5 * t - 0.5 * G * t * t
    }
    fn y2_integral(t: f64) -> f64 {
        // y² = 1 + t + (0.25 − G) t² − 0.5 G t³ + 0.25 G² t⁴.
        t + t * t / 2.0 + (0.25 - G) * t.powi(3) / 3.0 - 0.5 * G * t.powi(4) / 4.0
            + 0.25 * G * G * t.powi(5) / 5.0
    }

    fn opts() -> StepperOptions {
        StepperOptions {
            rtol: 1e-10,
            atol: 1e-10,
            max_step: f64::INFINITY,
            first_step: 0.0,
            max_steps: 100,
        }
    }

    /// The polynomial flow of both pairs: the state at every step end, its dense output and its
    /// full-order step from the step start are the parabola (to rounding), the latter two the
    /// same bits; the dense output as stored (`segment`) is the parabola to rounding too; each
    /// step is the pair's largest factor times the one before (a zero error estimate); one `f`
    /// per step.
    fn parabola_is_exact<S: Stepper>(fac_max: f64) {
        let mut s = S::new(2, opts());
        s.set_polynomial_flow(Some((&BALL_A, 2)));
        s.reset(&mut ball, 0.0, &[1.0, 0.5], 1.0);
        let mut steps = 0;
        while s.t() < 2.0 {
            let evals = s.stats().rhs_evals;
            s.step(&mut ball, 2.0).unwrap();
            steps += 1;
            assert_eq!(s.stats().rhs_evals, evals + 1);
            let (ta, tb) = (s.t_prev(), s.t());
            assert!((s.x()[0] - y(tb)).abs() <= 1e-14, "{tb}");
            assert!((s.x()[1] - (0.5 - G * tb)).abs() <= 1e-14, "{tb}");
            if tb < 2.0 {
                assert_eq!(s.next_step(), (tb - ta) * fac_max);
            }
            for j in 1..4 {
                let t = ta + (tb - ta) * f64::from(j) / 4.0;
                let (mut dense, mut full, mut stored) = ([0.0; 2], [0.0; 2], [0.0; 2]);
                s.interpolate(t, &mut dense);
                s.step_from_prev_to(&mut ball, t, &mut full);
                s.segment().eval(t, &mut stored);
                assert_eq!(dense.map(f64::to_bits), full.map(f64::to_bits));
                assert!((dense[0] - y(t)).abs() <= 1e-14, "{t}");
                assert!((stored[0] - dense[0]).abs() <= 1e-14, "{t}");
                assert!((stored[1] - dense[1]).abs() <= 1e-14, "{t}");
            }
        }
        assert!(steps >= 3, "{steps} steps");
    }

    #[test]
    fn a_parabola_is_moved_exactly_by_both_pairs() {
        parabola_is_exact::<Dopri5>(10.0);
        parabola_is_exact::<Dop853>(6.0);
    }

    /// What rides along (`∫ y² dt`, a polynomial of degree 5 in `t`) is integrated by the pair's
    /// formula on the exact state: to rounding, like the pair's own steps, on the same steps as
    /// the state alone takes (the state's bits unchanged by it).
    fn riding_quadrature_is_accurate<S: Stepper>() {
        let (mut alone, mut riding) = (S::new(2, opts()), S::new(3, opts()));
        alone.set_polynomial_flow(Some((&BALL_A, 2)));
        riding.set_polynomial_flow(Some((&BALL_A, 2)));
        riding.set_error_components(2);
        alone.reset(&mut ball, 0.0, &[1.0, 0.5], 1.0);
        riding.reset(&mut ball, 0.0, &[1.0, 0.5, 0.0], 1.0);
        while riding.t() < 2.0 {
            alone.step(&mut ball, 2.0).unwrap();
            riding.step(&mut ball, 2.0).unwrap();
            assert_eq!(alone.t().to_bits(), riding.t().to_bits());
            assert_eq!(alone.x()[0].to_bits(), riding.x()[0].to_bits());
            let t = riding.t();
            let want = y2_integral(t);
            assert!(
                (riding.x()[2] - want).abs() <= 1e-12 * want.abs().max(1.0),
                "{t}"
            );
            let tm = 0.5 * (riding.t_prev() + t);
            let mut mid = [0.0; 3];
            riding.step_from_prev_to(&mut ball, tm, &mut mid);
            assert!((mid[2] - y2_integral(tm)).abs() <= 1e-12, "{tm}");
            assert_eq!(riding.dx()[2], riding.x()[0] * riding.x()[0]);
        }
    }

    #[test]
    fn what_rides_along_is_integrated_on_the_exact_state() {
        riding_quadrature_is_accurate::<Dopri5>();
        riding_quadrature_is_accurate::<Dop853>();
    }

    /// A jerk `j`: `[y, v, a]` with `ẏ = v`, `v̇ = a`, `ȧ = −j`, a cubic (`D = 3`); `None` gives
    /// the pair's stages back.
    #[test]
    fn a_cubic_is_moved_exactly_and_none_restores_the_stages() {
        let mut jerk = |_t: f64, x: &[f64], dx: &mut [f64]| {
            dx[0] = x[1];
            dx[1] = x[2];
            dx[2] = -3.0;
        };
        let a = [0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0];
        let cubic = |t: f64| 1.0 + 0.5 * t + 0.5 * t * t - 0.5 * t * t * t;
        let mut s = Dopri5::new(3, opts());
        s.set_polynomial_flow(Some((&a, 3)));
        s.reset(&mut jerk, 0.0, &[1.0, 0.5, 1.0], 1.0);
        while s.t() < 3.0 {
            s.step(&mut jerk, 3.0).unwrap();
            assert!((s.x()[0] - cubic(s.t())).abs() <= 1e-13, "{}", s.t());
        }
        s.set_polynomial_flow(None);
        s.reset(&mut jerk, 0.0, &[1.0, 0.5, 1.0], 1.0);
        let evals = s.stats().rhs_evals;
        s.step(&mut jerk, 3.0).unwrap();
        assert_eq!(s.stats().rhs_evals - evals, 6);
    }

    /// A constant snap `c`: `[y, v, a, j]` with `ẏ = v`, `v̇ = a`, `ȧ = j`, `j̇ = c`, a quartic
    /// (`D = 4`, the largest degree taken), moved exactly by both pairs: the state at every step
    /// end and the dense output inside each step are the quartic and its derivatives to
    /// rounding, with one `f` per step.
    fn quartic_is_exact<S: Stepper>() {
        const C: f64 = -2.5;
        let mut snap = |_t: f64, x: &[f64], dx: &mut [f64]| {
            dx[0] = x[1];
            dx[1] = x[2];
            dx[2] = x[3];
            dx[3] = C;
        };
        let mut a = [0.0; 16];
        for i in 0..3 {
            a[4 * i + i + 1] = 1.0;
        }
        let x0 = [1.0, 0.5, 1.0, -0.75];
        // The quartic and its first three derivatives at `t`.
        let exact = |t: f64| {
            let y = x0[0] + x0[1] * t + x0[2] * t * t / 2.0 + x0[3] * t.powi(3) / 6.0;
            let v = x0[1] + x0[2] * t + x0[3] * t * t / 2.0 + C * t.powi(3) / 6.0;
            let acc = x0[2] + x0[3] * t + C * t * t / 2.0;
            [y + C * t.powi(4) / 24.0, v, acc, x0[3] + C * t]
        };
        let mut s = S::new(4, opts());
        s.set_polynomial_flow(Some((&a, 4)));
        s.reset(&mut snap, 0.0, &x0, 1.0);
        let mut steps = 0;
        while s.t() < 3.0 {
            let evals = s.stats().rhs_evals;
            s.step(&mut snap, 3.0).unwrap();
            steps += 1;
            assert_eq!(s.stats().rhs_evals, evals + 1);
            let (ta, tb) = (s.t_prev(), s.t());
            for (got, want) in s.x().iter().zip(exact(tb)) {
                assert!((got - want).abs() <= 1e-13 * want.abs().max(1.0), "{tb}");
            }
            let tm = ta + 0.3 * (tb - ta);
            let mut dense = [0.0; 4];
            s.interpolate(tm, &mut dense);
            for (got, want) in dense.iter().zip(exact(tm)) {
                assert!((got - want).abs() <= 1e-13 * want.abs().max(1.0), "{tm}");
            }
        }
        assert!(steps >= 3, "{steps} steps");
    }

    #[test]
    fn a_quartic_is_moved_exactly_by_both_pairs() {
        quartic_is_exact::<Dopri5>();
        quartic_is_exact::<Dop853>();
    }
}
