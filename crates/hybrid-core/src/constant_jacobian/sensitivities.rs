//! The forward sensitivities' exact propagator under constant Jacobians (docs/maths.md §2,
//! "Between events"): for a model whose `f_x` and `f_p` are free of the state and of time in a
//! mode, `Ṡ = f_x S + f_p` is linear with constant coefficients, so `S` crosses an interval of
//! length `h` as
//!
//! ```text
//! S(t + h) = exp(h A) S(t) + (∫₀ʰ exp(u A) du) B = S + Σ_{k≥1} h^k/k! A^{k−1} (A S + B)
//! ```
//!
//! (`A = f_x`, `B = f_p`; the action of the exponential of the augmented matrix
//! `[[A, B], [0, 0]]` on `[S; I]`), summed as a Taylor series, instead of Runge-Kutta steps that
//! carry `n m` more components beside the state.

use super::{finite, max_abs, sub_steps, ConstantJacobian, MAX_TERMS};
use crate::derivatives::{At, Duals};
use crate::ode::StepError;
use crate::Derivatives;

/// Most term patterns kept before the propagator falls back to the first one for every term.
const MAX_LEVELS: usize = 6;

/// `[f_x, f_p]` of one mode, kept for the forward action `A S + B` on an `n × m` sensitivity
/// as lists over the entries of `S` (column-major, `S[i + n c] = ∂x_i/∂p_c`), one list per
/// term of the series: the `k`-th term `T_k ∝ A^{k−1} (A S + B)` is nonzero only on the
/// entries `X_k` that `A` reaches from `X_{k−1}` (`X_1`: every entry `A S + B` writes), and
/// only the products whose source is in `X_{k−1}` contribute to it.
pub(crate) struct SensitivityPropagator {
    /// Forms the matrix (its dense rows are read once formed).
    jac: ConstantJacobian,
    n: usize,
    m: usize,
    /// `(i + n c, j + n c, a_ij)` for the entries `a_ij ≠ 0` of `A = f_x` and the columns `c`
    /// of each term's products, `(A T)[i + n c] = Σ a_ij T[j + n c]`, the terms one after
    /// the other.
    products: Vec<(usize, usize, f64)>,
    /// `(i + n c, b_ic)` for every `b_ic ≠ 0` of `B = f_p` (the first term's).
    forcing: Vec<(usize, f64)>,
    /// The entries `X_k` each term writes, ascending, the terms one after the other.
    moving: Vec<usize>,
    /// Per term, the ends of its lists in `products` and `moving`.
    levels: Vec<(usize, usize)>,
    /// Whether the last level repeats for every later term (`X_k` came back to `X_{k−1}`, or
    /// [`MAX_LEVELS`] were reached and the single level of all products stands for every
    /// term); otherwise `A` maps the last level's entries to zero, and the series ends there.
    repeats: bool,
    /// Scratch: whether an entry is in the last level's `X_k`.
    mark: Vec<bool>,
    /// `max_i Σ_j |a_ij|`: a bound of `|A v|_∞ / |v|_∞`.
    norm: f64,
    /// The current term of the series and the next one (`n m` each, column-major like `S`).
    term: Vec<f64>,
    next: Vec<f64>,
    /// Which entries of the dense `[f_x, f_p]` (row-major, `n × (n + m)`) were nonzero when the
    /// lists above were made: they depend on this pattern alone, so a matrix of the same
    /// pattern (the next run's, at other parameters) only refreshes their values.
    pattern: Vec<bool>,
    /// Whether the lists are made (for `pattern`).
    listed: bool,
    /// Per product, per forcing entry: where its value sits in the dense matrix.
    product_at: Vec<usize>,
    forcing_at: Vec<usize>,
}

impl SensitivityPropagator {
    /// Room for `n` states and `m` parameters (the entry lists grow on the first
    /// [`Self::form`], to the matrix's nonzeros).
    pub fn new(n: usize, m: usize) -> Self {
        Self {
            jac: ConstantJacobian::new(n, m),
            n,
            m,
            products: Vec::new(),
            forcing: Vec::new(),
            moving: Vec::new(),
            levels: Vec::with_capacity(MAX_LEVELS),
            repeats: false,
            mark: vec![false; n * m],
            norm: 0.0,
            term: vec![0.0; n * m],
            next: vec![0.0; n * m],
            pattern: vec![false; n * (n + m)],
            listed: false,
            product_at: Vec::new(),
            forcing_at: Vec::new(),
        }
    }

    /// Drop the matrix held (the parameters of the next run may differ).
    pub fn forget(&mut self) {
        self.jac.forget();
    }

    /// Whether the matrix of mode `q` is held.
    pub fn holds(&self, q: usize) -> bool {
        self.jac.holds(q)
    }

    /// Form the matrix of mode `at.q` ([`ConstantJacobian::form`]: `n` products `λᵀ[f_x, f_p]`
    /// with unit `λ`, any state and time of the mode) and list its nonzero entries over `S`.
    pub fn form<M: Derivatives>(&mut self, model: &M, at: At<'_>, ad: &mut Duals) {
        self.jac.form_dense(model, at, ad);
        let (n, m, w) = (self.n, self.m, self.n + self.m);
        let dense = &self.jac.dense;
        let same = self.listed
            && dense
                .iter()
                .zip(&self.pattern)
                .all(|(&a, &nonzero)| (a != 0.0) == nonzero);
        if same {
            // The same lists in the same order: their values alone are new.
            for (product, &at) in self.products.iter_mut().zip(&self.product_at) {
                product.2 = dense[at];
            }
            for (forcing, &at) in self.forcing.iter_mut().zip(&self.forcing_at) {
                forcing.1 = dense[at];
            }
            self.term.fill(0.0);
            self.next.fill(0.0);
            self.norm = row_norm(dense, n, w);
            return;
        }
        self.products.clear();
        self.forcing.clear();
        self.moving.clear();
        self.term.fill(0.0);
        self.next.fill(0.0);
        self.norm = row_norm(dense, n, w);
        // The first term: every product and the forcing.
        for c in 0..m {
            for i in 0..n {
                let row = &dense[i * w..(i + 1) * w];
                let before = self.products.len();
                for (j, &a) in row[..n].iter().enumerate() {
                    if a != 0.0 {
                        self.products.push((i + n * c, j + n * c, a));
                    }
                }
                let b = row[n + c];
                if b != 0.0 {
                    self.forcing.push((i + n * c, b));
                }
                if self.products.len() > before || b != 0.0 {
                    self.moving.push(i + n * c);
                }
            }
        }
        self.levels.clear();
        self.levels.push((self.products.len(), self.moving.len()));
        // The later terms: the products whose source the term before wrote.
        self.repeats = true;
        loop {
            let m0 = self.moving.len();
            let m_prev = self
                .levels
                .len()
                .checked_sub(2)
                .map_or(0, |l| self.levels[l].1);
            self.mark.fill(false);
            for &e in &self.moving[m_prev..m0] {
                self.mark[e] = true;
            }
            for c in 0..m {
                for i in 0..n {
                    let before = self.products.len();
                    for (j, &a) in dense[i * w..i * w + n].iter().enumerate() {
                        if a != 0.0 && self.mark[j + n * c] {
                            self.products.push((i + n * c, j + n * c, a));
                        }
                    }
                    if self.products.len() > before {
                        self.moving.push(i + n * c);
                    }
                }
            }
            if self.moving.len() == m0 {
                // `A` maps the last term to zero: the series ends.
                self.repeats = false;
                break;
            }
            let same = self.moving[m0..] == self.moving[m_prev..m0];
            if !same && self.levels.len() == MAX_LEVELS {
                // No pattern settled: the first term's lists stand for every term (the
                // entries outside `X_1` stay zero in both buffers).
                self.products.truncate(self.levels[0].0);
                self.moving.truncate(self.levels[0].1);
                self.levels.truncate(1);
                break;
            }
            self.levels.push((self.products.len(), self.moving.len()));
            if same {
                break; // `X_k = X_{k−1}`: this level repeats
            }
        }
        // Where each listed value comes from, and the pattern the lists were made for.
        // `e = i + n c` writes row `i`; its source `j + n c` reads column `j` of `f_x`.
        self.product_at.clear();
        self.product_at.extend(
            self.products
                .iter()
                .map(|&(e, j, _)| (e % n) * w + (j - e / n * n)),
        );
        self.forcing_at.clear();
        self.forcing_at
            .extend(self.forcing.iter().map(|&(e, _)| (e % n) * w + n + e / n));
        for (nonzero, &a) in self.pattern.iter_mut().zip(dense) {
            *nonzero = a != 0.0;
        }
        self.listed = true;
    }

    /// `s ← S(t + span)` for `Ṡ = A S + B` from `S(t) = s` (`n × m`, column-major), exactly up
    /// to rounding. As [`ConstantJacobian::propagate`]: `r = ⌈ν span⌉` equal sub-steps `h`
    /// (`ν` the norm bound of `A`, so `ν h ≤ 1`), each the sum of `T_1 = h (A S + B)`,
    /// `T_k = (h/k) A T_{k−1}` until a term is zero or two consecutive terms are below `ε/2` of
    /// `max(|S|, |T_1|)` in the max norm (Al-Mohy & Higham 2011, Algorithm 3.2, on the augmented
    /// matrix; `T_1` stands for the `B` part of the scale, which `S` lacks when it starts at 0).
    /// A nilpotent `A`, such as the ball's `[[0, 1], [0, 0]]`, ends the series after a few terms:
    /// `T_3 = 0` for the ball.
    ///
    /// `t_hi` (the interval's end) names where a failure happened: more than `max_steps`
    /// sub-steps ([`StepError::TooManySteps`]) or a non-finite matrix or result
    /// ([`StepError::NonFinite`]).
    pub fn propagate(
        &mut self,
        s: &mut [f64],
        span: f64,
        t_hi: f64,
        max_steps: usize,
    ) -> Result<(), StepError> {
        let Some((r, h)) = sub_steps(self.norm, span, self.moving.is_empty(), t_hi, max_steps)?
        else {
            return Ok(());
        };
        let tol = 0.5 * f64::EPSILON;
        let (products, forcing, moving) = (&self.products, &self.forcing, &self.moving);
        let (levels, repeats) = (&self.levels, self.repeats);
        // A term reads only the entries the term before wrote (its level's products have their
        // source there), and writes only its own: no clearing of the buffers is needed.
        // The two buffers' roles swap as slices held here (swapping the `Vec`s would write both
        // headers back after every term); either buffer starts a call as good as the other.
        let (mut term, mut next) = (&mut self.term[..], &mut self.next[..]);
        for _ in 0..r {
            // With a series that ends after `levels.len()` terms, every term is summed.
            let mut reference = if repeats { tol * max_abs(s) } else { 0.0 };
            let mut last = f64::INFINITY;
            for k in 1..=MAX_TERMS {
                let l = if k <= levels.len() {
                    k - 1
                } else if repeats {
                    levels.len() - 1
                } else {
                    break;
                };
                let (p0, m0) = if l == 0 { (0, 0) } else { levels[l - 1] };
                let (p1, m1) = levels[l];
                let cur: &[f64] = if k == 1 { s } else { term };
                for &e in &moving[m0..m1] {
                    next[e] = 0.0;
                }
                for &(e, j, a) in &products[p0..p1] {
                    next[e] += a * cur[j];
                }
                if k == 1 {
                    for &(e, b) in forcing {
                        next[e] += b;
                    }
                }
                let f = h / k as f64;
                let mut size = 0.0f64;
                for &e in &moving[m0..m1] {
                    let v = next[e] * f;
                    next[e] = v;
                    s[e] += v;
                    size = if v.abs() > size { v.abs() } else { size };
                }
                std::mem::swap(&mut term, &mut next);
                if k == 1 {
                    reference = reference.max(tol * size);
                }
                if repeats && (size == 0.0 || last + size <= reference) {
                    break;
                }
                last = size;
            }
        }
        finite(s, t_hi)
    }
}

/// `max_i Σ_j |a_ij|` over the `f_x` block of the dense `n × w` rows: a bound of
/// `|A v|_∞ / |v|_∞`. A NaN row is kept (`max` would drop it), so that `propagate` refuses
/// the matrix.
fn row_norm(dense: &[f64], n: usize, w: usize) -> f64 {
    let mut norm = 0.0;
    for i in 0..n {
        let sum: f64 = dense[i * w..i * w + n].iter().map(|a| a.abs()).sum();
        if !(sum <= norm) {
            norm = sum;
        }
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dims, HybridSystem, Scalar};

    /// A forced rotation, `ẋ = [ω x1 + p1, p0 − ω x0]` with `ω = 3` (`p2` unused):
    /// `f_x = [[0, ω], [−ω, 0]]`, `f_p = [[0, 1, 0], [1, 0, 0]]`.
    struct Rotation;
    const OMEGA: f64 = 3.0;
    impl HybridSystem for Rotation {
        fn dims(&self) -> Dims {
            Dims {
                states: 2,
                params: 3,
                guards: 0,
            }
        }
        fn initial_state<T: Scalar>(&self, _p: &[T], x0: &mut [T]) {
            x0.fill(T::zero());
        }
        fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
            dx[0] = x[1] * T::cst(OMEGA) + p[1];
            dx[1] = p[0] - x[0] * T::cst(OMEGA);
        }
    }
    impl Derivatives for Rotation {}

    fn formed<M: Derivatives>(model: &M) -> SensitivityPropagator {
        let dims = model.dims();
        let (n, m) = (dims.states, dims.params);
        let mut prop = SensitivityPropagator::new(n, m);
        let (x, p) = (vec![0.3; n], vec![0.5; m]);
        let at = At {
            q: 0,
            t: 0.0,
            x: &x,
            p: &p,
        };
        prop.form(model, at, &mut Duals::new(n, m));
        prop
    }

    /// `S(h) = R(h) S0 + ∫₀ʰ R(u) du B` with `R(u) = [[cos ωu, sin ωu], [−sin ωu, cos ωu]]`.
    #[test]
    fn propagate_matches_the_closed_form_forced_rotation_over_many_sub_steps() {
        let mut prop = formed(&Rotation);
        let s0 = [0.8, -1.3, 0.25, -0.4, 0.0, 0.0];
        // ν span = 3 · 4.1: 13 sub-steps.
        for span in [1e-3, 0.37, 4.1] {
            let mut s = s0;
            prop.propagate(&mut s, span, 2.0, 1000).unwrap();
            let (c, sn) = ((OMEGA * span).cos(), (OMEGA * span).sin());
            let rot = |a: f64, b: f64| [c * a + sn * b, -sn * a + c * b];
            // ∫₀ʰ R(u) du = [[sin, 1 − cos], [cos − 1, sin]] / ω.
            let int = |a: f64, b: f64| {
                [
                    (sn * a + (1.0 - c) * b) / OMEGA,
                    ((c - 1.0) * a + sn * b) / OMEGA,
                ]
            };
            // B's columns: p0 → e1, p1 → e0, p2 → 0.
            let col = |k: usize, b: [f64; 2]| {
                let r = rot(s0[2 * k], s0[2 * k + 1]);
                let i = int(b[0], b[1]);
                [r[0] + i[0], r[1] + i[1]]
            };
            let exact = [col(0, [0.0, 1.0]), col(1, [1.0, 0.0]), col(2, [0.0, 0.0])].concat();
            for (got, want) in s.iter().zip(&exact) {
                assert!(
                    (got - want).abs() <= 1e-14,
                    "span {span}: {s:?} vs {exact:?}"
                );
            }
        }
    }

    // The ball's `f = [v, −g]` (`p = [y0, v0, e, g]`): `A` nilpotent, the series ends.
    use super::super::tests::Ball;

    /// `∂y/∂p_c(t + h) = ∂y/∂p_c + h ∂v/∂p_c − [c = g] h²/2`, `∂v/∂p_c(t + h) = ∂v/∂p_c − [c = g] h`,
    /// to the bit (the terms are those sums).
    #[test]
    fn propagate_of_the_ball_is_its_polynomial() {
        let mut prop = formed(&Ball);
        let s0 = [1.0, 0.0, 0.0, 1.0, 0.3, -0.7, 0.25, 0.5];
        let h = 0.75;
        let mut s = s0;
        prop.propagate(&mut s, h, 1.0, 10).unwrap();
        let mut want = [0.0; 8];
        for c in 0..4 {
            let (y, v) = (s0[2 * c], s0[2 * c + 1]);
            let g = if c == 3 { -1.0 } else { 0.0 };
            want[2 * c] = y + v * h + g * h * (h / 2.0);
            want[2 * c + 1] = v + h * g;
        }
        assert_eq!(s, want);
        // The closed form of the first fall, `y = y0 + v0 t − g t²/2`: `∂y/∂g = −t²/2`.
        let mut s = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        prop.propagate(&mut s, 0.5, 0.5, 10).unwrap();
        assert_eq!(s, [1.0, 0.0, 0.5, 1.0, 0.0, 0.0, -0.125, -0.5]);
    }

    // A rotation forced by `p1²` (its pattern changes with `p1 = 0`).
    use super::super::tests::SquareForced;

    /// `prop` formed at the parameters `p` (any state).
    fn form_at(prop: &mut SensitivityPropagator, p: &[f64]) {
        let x = [0.3, -0.2];
        let at = At {
            q: 0,
            t: 0.0,
            x: &x,
            p,
        };
        prop.form(&SquareForced, at, &mut Duals::new(2, 2));
    }

    /// A second `form` refreshes the lists' values when the matrix keeps its pattern, and makes
    /// them anew when it does not: either way the propagator of a fresh one, to the bit.
    #[test]
    fn a_formed_again_propagator_is_a_fresh_one() {
        let mut again = SensitivityPropagator::new(2, 2);
        form_at(&mut again, &[0.5, 0.7]);
        // The same pattern at other values, then a new pattern (the `p1` column vanishes), then
        // the first pattern again.
        for p in [[0.5, -1.1], [0.5, 0.0], [2.0, 0.25]] {
            form_at(&mut again, &p);
            let mut fresh = SensitivityPropagator::new(2, 2);
            form_at(&mut fresh, &p);
            assert_eq!(again.products, fresh.products, "{p:?}");
            assert_eq!(again.forcing, fresh.forcing, "{p:?}");
            assert_eq!(again.moving, fresh.moving, "{p:?}");
            assert_eq!(again.levels, fresh.levels, "{p:?}");
            assert_eq!(again.repeats, fresh.repeats, "{p:?}");
            assert_eq!(again.norm.to_bits(), fresh.norm.to_bits(), "{p:?}");
            let (mut a, mut b) = ([0.8, -1.3, 0.25, -0.4], [0.8, -1.3, 0.25, -0.4]);
            again.propagate(&mut a, 0.37, 1.0, 100).unwrap();
            fresh.propagate(&mut b, 0.37, 1.0, 100).unwrap();
            assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits), "{p:?}");
        }
        let mut zero = SensitivityPropagator::new(2, 2);
        form_at(&mut zero, &[0.5, 0.0]);
        let mut nonzero = SensitivityPropagator::new(2, 2);
        form_at(&mut nonzero, &[0.5, 0.7]);
        assert!(zero.forcing.len() < nonzero.forcing.len());
    }

    /// `f_x = 0`: `S` gains `h B` in one term.
    #[test]
    fn propagate_without_state_coupling_adds_h_times_f_p() {
        struct Drift;
        impl HybridSystem for Drift {
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
            fn flow<T: Scalar>(&self, _q: usize, _t: T, _x: &[T], p: &[T], dx: &mut [T]) {
                dx[0] = p[0] * T::cst(2.0);
                dx[1] = -p[1];
            }
        }
        impl Derivatives for Drift {}
        let mut prop = formed(&Drift);
        let mut s = [0.5, 0.25, -1.0, 3.0];
        prop.propagate(&mut s, 0.125, 1.0, 10).unwrap();
        assert_eq!(s, [0.75, 0.25, -1.0, 2.875]);
    }

    /// A chain `ẋ_i = x_{i+1}`, `ẋ_7 = p0` from `x = 0`: `∂x_i/∂p0 = t^{8−i}/(8−i)!`. `A` is
    /// nilpotent of index 8, beyond [`MAX_LEVELS`]: the propagator falls back to one level of
    /// all products for every term, and stops the series by its rule.
    #[test]
    fn propagate_of_a_long_chain_falls_back_to_one_level_and_matches_its_polynomial() {
        struct Chain;
        impl HybridSystem for Chain {
            fn dims(&self) -> Dims {
                Dims {
                    states: 8,
                    params: 1,
                    guards: 0,
                }
            }
            fn initial_state<T: Scalar>(&self, _p: &[T], x0: &mut [T]) {
                x0.fill(T::zero());
            }
            fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
                dx[..7].copy_from_slice(&x[1..]);
                dx[7] = p[0];
            }
        }
        impl Derivatives for Chain {}
        let mut prop = formed(&Chain);
        assert!(prop.repeats && prop.levels.len() == 1, "{:?}", prop.levels);
        // ν t = 0.9: one sub-step; ν t = 2.5: three. Every quantity on the way is a sum of
        // non-negative terms, so each computed entry is its exact value times at most `d`
        // factors `(1 + δ)`, `|δ| ≤ u` (`d` the rounded operations on its longest path), and its
        // relative error is at most `γ_d ≈ d u`. Entry `k` of `r` sub-steps: `h = t/r` (1), per
        // sub-step `k` divisions `h/j` and products, and the sums into `next` and `s` (`2k + 2`);
        // the oracle `t^k/k!` by `k − 1` products and one division (`k`; `k!` is exact). (The
        // first version compared with `powi`, whose precision Rust leaves unspecified: it
        // differed between the release and the test profile by more than the bound of 4e-16
        // that the test then had.)
        for (t, r) in [(0.9, 1), (2.5, 3)] {
            let mut s = [0.0; 8];
            prop.propagate(&mut s, t, t, 10).unwrap();
            let (mut power, mut fact) = (1.0, 1.0);
            for k in 1..=8 {
                power *= t;
                fact *= k as f64;
                let want = power / fact;
                let got = s[8 - k];
                let roundings = 1 + r * (2 * k + 2) + k;
                assert!(
                    (got - want).abs() <= roundings as f64 * 0.5 * f64::EPSILON * want,
                    "t {t}, k {k}: {got} vs {want}"
                );
            }
        }
    }

    /// The levels of the ball: `T_1` on `∂y/∂p_c` and `∂v/∂g`, `T_2` on `∂y/∂g` alone, and
    /// the series ends; of the rotation: every entry, repeating.
    #[test]
    fn the_term_patterns_follow_the_matrix() {
        let ball = formed(&Ball);
        assert_eq!(ball.levels, [(4, 5), (5, 6)]);
        assert_eq!(ball.moving, [0, 2, 4, 6, 7, 6]);
        assert!(!ball.repeats);
        let rot = formed(&Rotation);
        assert!(rot.repeats);
        assert_eq!(rot.levels.len(), 2);
    }

    #[test]
    fn propagate_refuses_too_many_sub_steps_and_a_non_finite_matrix() {
        let mut prop = formed(&Rotation);
        let mut s = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        // ν span = 30: 30 sub-steps, 10 allowed.
        let e = prop.propagate(&mut s, 10.0, 2.0, 10).unwrap_err();
        assert!(
            matches!(e, StepError::TooManySteps { t, .. } if t == 2.0),
            "{e:?}"
        );
        let e = prop.propagate(&mut s, f64::INFINITY, 2.0, 10).unwrap_err();
        assert!(matches!(e, StepError::NonFinite { t } if t == 2.0), "{e:?}");
    }
}
