//! The flow's Jacobians `[f_x, f_p]` of one mode as a matrix, for a model that declares them free
//! of the state and of time ([`Derivatives::flow_jacobian_depends_on_time`]): the adjoint's
//! backward pass (docs/maths.md §3) forms it once per mode by `n` vector-Jacobian products, and
//! since `[λ, μ]` then obeys a linear system with constant coefficients,
//! `dz/ds = λᵀ[f_x, f_p]` (`s = −t`), it moves `z` across an interval by the exact propagator
//! `exp(S L) z`, summed as a Taylor series ([`ConstantJacobian::propagate`]), instead of
//! Runge-Kutta steps. The forward method's sensitivities move the same way
//! ([`SensitivityPropagator`], in `constant_jacobian/sensitivities.rs`).

use crate::derivatives::{At, Duals};
use crate::ode::StepError;
use crate::Derivatives;

mod sensitivities;
pub(crate) use sensitivities::SensitivityPropagator;

/// Largest `ν h` of one Taylor sub-step, `ν` a bound of the operator's norm: the terms then fall
/// at least like `1/k!`, so a sum is ~18 terms at most, and no partial sum exceeds `e |z|`
/// (no cancellation beyond rounding).
const MAX_NORM_STEP: f64 = 1.0;

/// Terms of one sub-step's series beyond which it stops anyway (`1/30! < 1e-32`).
const MAX_TERMS: usize = 30;

/// `[f_x, f_p]` (`n × (n + nq)`, `nq` the columns of `f_p` the backward pass integrates, `0`
/// without the quadrature) of one mode, kept as its nonzero entries. All storage is sized at
/// construction: forming it allocates nothing.
pub(crate) struct ConstantJacobian {
    /// `(column j, row i, a_ij)` for every `a_ij ≠ 0`, sorted by `j` then `i`.
    entries: Vec<(usize, usize, f64)>,
    /// The dense matrix while it is formed, row `i` (`λ = e_i`) at `dense[i w .. (i + 1) w]`.
    dense: Vec<f64>,
    /// A unit vector and the rows' halves, for the products.
    unit: Vec<f64>,
    out_x: Vec<f64>,
    out_p: Vec<f64>,
    /// `max_j Σ_i |a_ij|`: a bound of `|λᵀ[f_x, f_p]|_∞ / |z|_∞`.
    norm: f64,
    /// The columns `j` that have entries, ascending.
    cols: Vec<usize>,
    /// Terms of a sub-step's series that can be nonzero: `k` when `L^k` vanishes on the
    /// matrix's pattern (a nilpotent `L`, such as the ball's: 2), else [`MAX_TERMS`].
    terms: usize,
    /// Scratch of [`Self::form`]: the entries a term can reach, and the next term's.
    reach: Vec<bool>,
    reach_next: Vec<bool>,
    /// The current term of the series and the next one (`n + nq` each).
    term: Vec<f64>,
    next: Vec<f64>,
    /// Which entries of `dense` were nonzero when `entries`, `cols` and `terms` were made
    /// (they depend on this pattern alone).
    pattern: Vec<bool>,
    /// Whether they are made (for `pattern`).
    listed: bool,
    /// The mode whose matrix `entries` holds (`None`: none yet, or parameters changed).
    mode: Option<usize>,
}

impl ConstantJacobian {
    /// Room for `n` states and `nq` parameter columns.
    pub fn new(n: usize, nq: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n * (n + nq)),
            dense: vec![0.0; n * (n + nq)],
            unit: vec![0.0; n],
            out_x: vec![0.0; n],
            out_p: vec![0.0; nq],
            norm: 0.0,
            cols: Vec::with_capacity(n + nq),
            terms: MAX_TERMS,
            reach: vec![false; n + nq],
            reach_next: vec![false; n + nq],
            term: vec![0.0; n + nq],
            next: vec![0.0; n + nq],
            pattern: vec![false; n * (n + nq)],
            listed: false,
            mode: None,
        }
    }

    /// Drop the matrix held (the parameters of the next run may differ).
    pub fn forget(&mut self) {
        self.mode = None;
    }

    /// Whether the matrix of mode `q` is held.
    pub fn holds(&self, q: usize) -> bool {
        self.mode == Some(q)
    }

    /// Form the matrix of mode `at.q` by `flow_vjp` with unit `λ` (row `i` from `λ = e_i`) at
    /// `at` (any state and time of the mode will do: the model declares its Jacobians free of
    /// both).
    pub fn form<M: Derivatives>(&mut self, model: &M, at: At<'_>, ad: &mut Duals) {
        self.form_dense(model, at, ad);
        let (n, w) = (self.unit.len(), self.unit.len() + self.out_p.len());
        let same = self.listed
            && self
                .dense
                .iter()
                .zip(&self.pattern)
                .all(|(&a, &nonzero)| (a != 0.0) == nonzero);
        if !same {
            self.list_entries();
            self.terms = self.nonzero_terms();
            for (nonzero, &a) in self.pattern.iter_mut().zip(&self.dense) {
                *nonzero = a != 0.0;
            }
            self.listed = true;
            return;
        }
        // The same pattern: the same entries, columns and count of terms, at new values; the
        // norm by the loop of `list_entries`, in its order.
        self.term.fill(0.0);
        self.next.fill(0.0);
        self.norm = 0.0;
        let mut entries = self.entries.iter_mut();
        for j in 0..w {
            let mut column = 0.0;
            for i in 0..n {
                let a = self.dense[i * w + j];
                if a != 0.0 {
                    if let Some(entry) = entries.next() {
                        entry.2 = a;
                    }
                    column += a.abs();
                }
            }
            if !(column <= self.norm) {
                self.norm = column;
            }
        }
    }

    /// The dense rows of the matrix of mode `at.q` alone (the forward propagator reads them
    /// and nothing else).
    pub(crate) fn form_dense<M: Derivatives>(&mut self, model: &M, at: At<'_>, ad: &mut Duals) {
        let n = self.unit.len();
        let w = n + self.out_p.len();
        self.unit.fill(0.0);
        for i in 0..n {
            self.unit[i] = 1.0;
            model.flow_vjp(at, &self.unit, &mut self.out_x, &mut self.out_p, ad);
            self.unit[i] = 0.0;
            let row = &mut self.dense[i * w..(i + 1) * w];
            row[..n].copy_from_slice(&self.out_x);
            row[n..].copy_from_slice(&self.out_p);
        }
        self.mode = Some(at.q);
    }

    /// The nonzero entries, the columns that have them and the norm, from the dense rows.
    fn list_entries(&mut self) {
        let n = self.unit.len();
        let w = n + self.out_p.len();
        self.entries.clear();
        self.cols.clear();
        self.term.fill(0.0);
        self.next.fill(0.0);
        self.norm = 0.0;
        for j in 0..w {
            let mut column = 0.0;
            for i in 0..n {
                let a = self.dense[i * w + j];
                if a != 0.0 {
                    self.entries.push((j, i, a));
                    column += a.abs();
                }
            }
            if column != 0.0 {
                self.cols.push(j);
            }
            // `max` would drop a NaN column: keep it, so that `propagate` refuses the matrix.
            if !(column <= self.norm) {
                self.norm = column;
            }
        }
    }
}

impl ConstantJacobian {
    /// How many terms `L^k z` can be nonzero whatever `z`, from the pattern of the entries:
    /// `L z` can be nonzero on the columns with entries (`X_1`), `L^{k+1} z` on the columns
    /// whose entries read a component of `X_k`; when `X_{k+1}` is empty every later term is zero
    /// (exactly: a product of a zero, the sums of zeros), and the series has `k` terms. Beyond
    /// `n + nq` levels the pattern cycles: [`MAX_TERMS`].
    fn nonzero_terms(&mut self) -> usize {
        let (reach, next) = (&mut self.reach, &mut self.reach_next);
        reach.fill(false);
        for &j in &self.cols {
            reach[j] = true;
        }
        for k in 1..=reach.len() {
            next.fill(false);
            let mut any = false;
            for &(j, i, _) in &self.entries {
                if reach[i] {
                    next[j] = true;
                    any = true;
                }
            }
            if !any {
                return k;
            }
            std::mem::swap(reach, next);
        }
        MAX_TERMS
    }

    /// `z ← exp(span L) z` with `L z = λᵀ[f_x, f_p]` (`λ = z[..n]`): the backward pass across an
    /// interval of length `span ≥ 0` in `s = −t`, exactly up to rounding (`dz/ds = L z` is
    /// linear with constant coefficients). The span is cut into `r = ⌈ν span⌉` equal sub-steps
    /// `h` (`ν` the norm bound, so `ν h ≤ 1`), each summed as `Σ_k (h L)^k z / k!` until a term
    /// is zero or two consecutive terms are below `ε/2` of the sum in the max norm
    /// (Al-Mohy & Higham, "Computing the action of the matrix exponential", SIAM J. Sci. Comput.
    /// 33 (2011), Algorithm 3.2, without its choice of the degree). A nilpotent `L`, such as the
    /// ball's `f_x = [[0, 1], [0, 0]]`, ends its series after a few terms, known from its
    /// pattern ([`Self::nonzero_terms`]): 2 for the ball (the third, zero, is not computed).
    /// Its series is a polynomial and every term of it is summed (only a zero term ends it
    /// early: the later ones are zero too), as [`SensitivityPropagator::propagate`] sums its own.
    ///
    /// `t_hi` (the interval's end in `t`) names where a failure happened: more than `max_steps`
    /// sub-steps ([`StepError::TooManySteps`], as the Runge-Kutta steps it replaces would have
    /// needed at least as many), or a non-finite matrix or result ([`StepError::NonFinite`]).
    pub fn propagate(
        &mut self,
        z: &mut [f64],
        span: f64,
        t_hi: f64,
        max_steps: usize,
    ) -> Result<(), StepError> {
        let Some((r, h)) = sub_steps(self.norm, span, self.entries.is_empty(), t_hi, max_steps)?
        else {
            return Ok(());
        };
        let tol = 0.5 * f64::EPSILON;
        // Only the columns with entries (`cols`) are ever nonzero in a term after the first:
        // those alone are cleared, scaled and summed. The others of `term` and `next` stay zero
        // (zeroed when the matrix was formed).
        let (entries, cols) = (&self.entries, &self.cols);
        // The two buffers' roles swap as slices held here (swapping the `Vec`s would write both
        // headers back after every term); either buffer starts a call as good as the other.
        let (mut term, mut next) = (&mut self.term[..], &mut self.next[..]);
        // A nilpotent `L` (`terms < MAX_TERMS`): the series is the polynomial
        // `z + Σ_{k=1..terms} (h L)^k z / k!`, every term of it summed (docs/maths.md §3, the
        // table's adjoint row), with no stopping test and no reference to measure it against.
        let polynomial = self.terms < MAX_TERMS;
        for _ in 0..r {
            // The stopping test's reference is `|z|` at the sub-step's start: the sum ends within
            // `e` of it (`ν h ≤ 1`), so a smaller reference only adds terms.
            let reference = if polynomial { 0.0 } else { tol * max_abs(z) };
            let mut last = f64::INFINITY;
            // (The terms past `self.terms` are zero: the series ends there.)
            for k in 1..=self.terms {
                let cur: &[f64] = if k == 1 { z } else { term };
                for &j in cols {
                    next[j] = 0.0;
                }
                for &(j, i, a) in entries {
                    next[j] += cur[i] * a;
                }
                let c = h / k as f64;
                let mut size = 0.0f64;
                for &j in cols {
                    let v = next[j] * c;
                    next[j] = v;
                    z[j] += v;
                    size = if v.abs() > size { v.abs() } else { size };
                }
                std::mem::swap(&mut term, &mut next);
                // A zero term: every later one is zero too (a polynomial's only stop, its
                // reference being 0).
                if size == 0.0 || last + size <= reference {
                    break;
                }
                last = size;
            }
        }
        finite(z, t_hi)
    }
}

/// The sub-steps of a propagator over `span` with operator norm bound `norm`: `None` when there
/// is nothing to move (`span ≤ 0` or no entries), else `r = ⌈ν span⌉` (at least 1) equal steps
/// `h = span / r`, so that `ν h ≤ 1`. Errors name `t_hi`: a non-finite `ν span`
/// ([`StepError::NonFinite`]), more than `max_steps` sub-steps ([`StepError::TooManySteps`]).
fn sub_steps(
    norm: f64,
    span: f64,
    empty: bool,
    t_hi: f64,
    max_steps: usize,
) -> Result<Option<(usize, f64)>, StepError> {
    let nu_span = norm * span;
    if !nu_span.is_finite() {
        return Err(StepError::NonFinite { t: t_hi });
    }
    if span <= 0.0 || empty {
        return Ok(None);
    }
    // `⌈ν span⌉` is 1 for `0 < ν span ≤ 1` (the common case: no call to `ceil`).
    let r = if nu_span <= MAX_NORM_STEP {
        1.0
    } else {
        (nu_span / MAX_NORM_STEP).ceil()
    };
    if r > max_steps as f64 {
        return Err(StepError::TooManySteps {
            t: t_hi,
            steps: max_steps,
        });
    }
    Ok(Some((r as usize, span / r)))
}

/// `Ok` when every entry of a propagated vector is finite, else [`StepError::NonFinite`] at `t_hi`.
fn finite(v: &[f64], t_hi: f64) -> Result<(), StepError> {
    if v.iter().all(|x| x.is_finite()) {
        Ok(())
    } else {
        Err(StepError::NonFinite { t: t_hi })
    }
}

/// `max_i |v_i|`, NaNs skipped (a NaN in the result is caught after the sum).
fn max_abs(v: &[f64]) -> f64 {
    v.iter()
        .fold(0.0, |m: f64, &a| if a.abs() > m { a.abs() } else { m })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dims, HybridSystem, Scalar};

    /// `ẋ = [ω x1 + p1, −ω x0]` with `ω = 3` (`p0` unused): `f_x = [[0, ω], [−ω, 0]]` and
    /// `f_p = [[0, 1], [0, 0]]`, constant. In `s = −t` the backward system rotates `λ`,
    /// `λ(s) = [λ0 cos ωs − λ1 sin ωs, λ1 cos ωs + λ0 sin ωs]`, and `μ1` gathers `∫ λ0 ds`.
    struct Rotation;
    const OMEGA: f64 = 3.0;
    impl HybridSystem for Rotation {
        fn dims(&self) -> Dims {
            Dims {
                states: 2,
                params: 2,
                guards: 0,
            }
        }
        fn initial_state<T: Scalar>(&self, _p: &[T], x0: &mut [T]) {
            x0.fill(T::zero());
        }
        fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
            dx[0] = x[1] * T::cst(OMEGA) + p[1];
            dx[1] = -(x[0] * T::cst(OMEGA));
        }
    }
    impl Derivatives for Rotation {}

    fn formed<M: Derivatives>(model: &M, nq: usize) -> ConstantJacobian {
        let mut jac = ConstantJacobian::new(2, nq);
        let (x, p) = ([0.3, -0.2], [0.5, 0.7]);
        let at = At {
            q: 0,
            t: 0.0,
            x: &x,
            p: &p,
        };
        jac.form(model, at, &mut Duals::new(2, 2));
        jac
    }

    #[test]
    fn propagate_matches_the_closed_form_rotation_over_many_sub_steps() {
        let mut jac = formed(&Rotation, 2);
        let (l0, l1, m0, m1) = (0.8, -1.3, 0.25, -0.4);
        // ν span = 3 · 4.1: 13 sub-steps.
        for span in [1e-3, 0.37, 4.1] {
            let mut z = [l0, l1, m0, m1];
            jac.propagate(&mut z, span, 2.0, 1000).unwrap();
            let (c, s) = ((OMEGA * span).cos(), (OMEGA * span).sin());
            let exact = [
                l0 * c - l1 * s,
                l1 * c + l0 * s,
                m0,
                m1 + (l0 * s + l1 * (c - 1.0)) / OMEGA,
            ];
            for (got, want) in z.iter().zip(exact) {
                assert!(
                    (got - want).abs() <= 1e-14,
                    "span {span}: {z:?} vs {exact:?}"
                );
            }
        }
    }

    /// The ball's `f = [v, −g]` (`p = [y0, v0, e, g]`): `f_x` is nilpotent, the series ends.
    /// (Also the forward propagator's test model, `sensitivities.rs`.)
    pub(super) struct Ball;
    impl HybridSystem for Ball {
        fn dims(&self) -> Dims {
            Dims {
                states: 2,
                params: 4,
                guards: 0,
            }
        }
        fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
            x0.copy_from_slice(&p[..2]);
        }
        fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
            dx[0] = x[1];
            dx[1] = -p[3];
        }
    }
    impl Derivatives for Ball {}

    #[test]
    fn propagate_of_the_ball_is_its_polynomial() {
        let mut jac = ConstantJacobian::new(2, 4);
        let (x, p) = ([1.0, 0.5], [1.0, 0.5, 0.8, 9.81]);
        let at = At {
            q: 0,
            t: 0.0,
            x: &x,
            p: &p,
        };
        jac.form(&Ball, at, &mut Duals::new(2, 4));
        // dλ/ds = [0, λy], dμ/ds = [0, 0, 0, −λv]: λv(s) = λv + λy s,
        // μg(s) = μg − λv s − λy s²/2.
        let (ly, lv, mg, s) = (0.7, -0.3, 0.2, 0.75);
        let mut z = [ly, lv, 0.1, 0.0, 0.0, mg];
        jac.propagate(&mut z, s, 1.0, 10).unwrap();
        assert_eq!(
            z,
            [
                ly,
                lv + ly * s,
                0.1,
                0.0,
                0.0,
                mg - lv * s - ly * s * s / 2.0
            ]
        );
    }

    /// A rotation forced by `p1²`, `f = [3 x1 + p1², p0 − 3 x0]`: `f_p = [[0, 2 p1], [1, 0]]`
    /// changes with the parameters, and its pattern with `p1 = 0`.
    pub(super) struct SquareForced;
    impl HybridSystem for SquareForced {
        fn dims(&self) -> Dims {
            Dims {
                states: 2,
                params: 2,
                guards: 0,
            }
        }
        fn initial_state<T: Scalar>(&self, _p: &[T], x0: &mut [T]) {
            x0.fill(T::zero());
        }
        fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
            dx[0] = x[1] * T::cst(OMEGA) + p[1] * p[1];
            dx[1] = p[0] - x[0] * T::cst(OMEGA);
        }
    }
    impl Derivatives for SquareForced {}

    /// A second `form` at other parameters keeps the lists when the pattern is the same and
    /// makes them anew when it is not: either way the matrix of a fresh one, to the bit.
    #[test]
    fn a_formed_again_matrix_is_a_fresh_one() {
        let form_at = |jac: &mut ConstantJacobian, p: &[f64]| {
            let x = [0.3, -0.2];
            let at = At {
                q: 0,
                t: 0.0,
                x: &x,
                p,
            };
            jac.form(&SquareForced, at, &mut Duals::new(2, 2));
        };
        let mut again = ConstantJacobian::new(2, 2);
        form_at(&mut again, &[0.5, 0.7]);
        for p in [[0.5, -1.1], [0.5, 0.0], [2.0, 0.25]] {
            form_at(&mut again, &p);
            let mut fresh = ConstantJacobian::new(2, 2);
            form_at(&mut fresh, &p);
            assert_eq!(again.entries, fresh.entries, "{p:?}");
            assert_eq!(again.cols, fresh.cols, "{p:?}");
            assert_eq!(again.terms, fresh.terms, "{p:?}");
            assert_eq!(again.norm.to_bits(), fresh.norm.to_bits(), "{p:?}");
            let (mut a, mut b) = ([0.8, -1.3, 0.25, -0.4], [0.8, -1.3, 0.25, -0.4]);
            again.propagate(&mut a, 0.37, 1.0, 100).unwrap();
            fresh.propagate(&mut b, 0.37, 1.0, 100).unwrap();
            assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits), "{p:?}");
        }
        let mut zero = ConstantJacobian::new(2, 2);
        form_at(&mut zero, &[0.5, 0.0]);
        assert!(zero.entries.len() < again.entries.len());
    }

    /// The ball's `L`: `L z` on `λv` and `μg`, `L² z` on `μg`, `L³ = 0`: two terms. The
    /// rotation's never ends.
    #[test]
    fn the_series_ends_where_the_pattern_of_the_matrix_says() {
        let mut ball = ConstantJacobian::new(2, 4);
        let (x, p) = ([1.0, 0.5], [1.0, 0.5, 0.8, 9.81]);
        let at = At {
            q: 0,
            t: 0.0,
            x: &x,
            p: &p,
        };
        ball.form(&Ball, at, &mut Duals::new(2, 4));
        assert_eq!(ball.terms, 2);
        assert_eq!(formed(&Rotation, 2).terms, MAX_TERMS);
        // Without the quadrature the ball's `L` is `f_x` alone: `λ ↦ [0, λy]`, one term.
        let mut lambda_only = ConstantJacobian::new(2, 0);
        lambda_only.form(&Ball, at, &mut Duals::new(2, 4));
        assert_eq!(lambda_only.terms, 1);
    }

    /// A chain `ẋ = [x1, x2, x3, 0, 0]`: in `s = −t`, `dλ/ds = [0, λ0, λ1, λ2, 0]`, nilpotent
    /// with three terms, and `λ4` moves nowhere.
    struct Chain;
    impl HybridSystem for Chain {
        fn dims(&self) -> Dims {
            Dims {
                states: 5,
                params: 1,
                guards: 0,
            }
        }
        fn initial_state<T: Scalar>(&self, _p: &[T], x0: &mut [T]) {
            x0.fill(T::zero());
        }
        fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], _p: &[T], dx: &mut [T]) {
            dx[0] = x[1];
            dx[1] = x[2];
            dx[2] = x[3];
            dx[3] = T::zero();
            dx[4] = T::zero();
        }
    }
    impl Derivatives for Chain {}

    /// From `λ = [1, 0, 0, 0, 1e20]` over `s = 1`: `λ(s) = [1, s, s²/2, s³/6, 1e20]`. Its third
    /// term, `1/6`, is below `ε/2` of `|z| = 1e20`, where the stopping test of a series that does
    /// not end would have stopped after the second: a polynomial is summed to its last term.
    #[test]
    fn propagate_of_a_nilpotent_matrix_sums_every_term_of_its_polynomial() {
        let mut jac = ConstantJacobian::new(5, 0);
        let (x, p) = ([0.0; 5], [0.0]);
        let at = At {
            q: 0,
            t: 0.0,
            x: &x,
            p: &p,
        };
        jac.form(&Chain, at, &mut Duals::new(5, 1));
        assert_eq!(jac.terms, 3);
        let mut z = [1.0, 0.0, 0.0, 0.0, 1e20];
        jac.propagate(&mut z, 1.0, 1.0, 10).unwrap();
        assert_eq!(z, [1.0, 1.0, 0.5, 1.0 / 6.0, 1e20]);
    }

    /// `r = ⌈ν span⌉` sub-steps, at least one: one up to `ν span = 1` itself, two just above.
    #[test]
    fn sub_steps_are_the_ceiling_of_nu_span_and_at_least_one() {
        let steps = |norm: f64, span: f64| sub_steps(norm, span, false, 1.0, 100).unwrap();
        assert_eq!(steps(1.0, 0.0), None);
        assert_eq!(steps(0.0, 0.5), Some((1, 0.5)));
        assert_eq!(steps(2.0, 0.25), Some((1, 0.25)));
        assert_eq!(steps(1.0, 1.0), Some((1, 1.0)));
        let above = 1.0 + f64::EPSILON;
        assert_eq!(steps(1.0, above), Some((2, above / 2.0)));
        assert_eq!(steps(3.0, 4.1), Some((13, 4.1 / 13.0)));
    }

    #[test]
    fn propagate_refuses_too_many_sub_steps_and_a_non_finite_matrix() {
        let mut jac = formed(&Rotation, 2);
        let mut z = [1.0, 0.0, 0.0, 0.0];
        // ν span = 30: 30 sub-steps, 10 allowed.
        let e = jac.propagate(&mut z, 10.0, 2.0, 10).unwrap_err();
        assert!(
            matches!(e, StepError::TooManySteps { t, .. } if t == 2.0),
            "{e:?}"
        );
        let e = jac.propagate(&mut z, f64::INFINITY, 2.0, 10).unwrap_err();
        assert!(matches!(e, StepError::NonFinite { t } if t == 2.0), "{e:?}");
    }
}
