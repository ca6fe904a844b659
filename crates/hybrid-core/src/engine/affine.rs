//! Which modes move the state by its exact polynomial flow (docs/maths.md, "Exact polynomial
//! flow"): a model that declares its flow free of time and its Jacobians free of the state and
//! of time ([`Derivatives::flow_depends_on_time`] and the two claims it builds on) has in each
//! mode `f = A(q) x + b(q, p)`; where `A(q)` is nilpotent of a low order, the state crosses a
//! step as a polynomial ([`crate::ode::Stepper::set_polynomial_flow`]).

use crate::derivatives::{At, Duals};
use crate::ode::MAX_POLYNOMIAL_DEGREE;
use crate::{Derivatives, SolverOptions};

/// `A(q) = f_x` of the mode at hand and the degree of its polynomial flow, formed once per mode
/// (`A` depends on the mode alone: `f_x` is free of the state and of time by the claims, and of
/// the parameters because `f_p` is free of the state).
pub(super) struct AffineModes {
    /// Whether this run's model and options allow the polynomial flow at all.
    allowed: bool,
    /// Rows of `A`: `a[i n + j] = a_ij`.
    a: Vec<f64>,
    /// The degree `D` of the state's polynomial (`A^D = 0` on `A`'s pattern), when at most
    /// [`MAX_POLYNOMIAL_DEGREE`].
    degree: Option<usize>,
    /// The mode whose `A` is held.
    mode: Option<usize>,
    /// The mode whose flow the stepper was last given (`Some(None)`: told to use its stages).
    given: Option<Option<usize>>,
    unit: Vec<f64>,
    out_x: Vec<f64>,
    out_p: Vec<f64>,
    duals: Duals,
    /// Scratch: the components a power of `A` can reach, and the next power's.
    reach: Vec<bool>,
    reach_next: Vec<bool>,
}

/// Whether `model` and `opts` allow the polynomial flow: the flow free of time, its Jacobians
/// free of the state and of time, and the sensitivities outside the error control (the
/// polynomial's step has no error estimate to control them by).
pub(super) fn polynomial_flow_allowed<M: Derivatives>(model: &M, opts: &SolverOptions) -> bool {
    !opts.sensitivities_in_error_control
        && !model.flow_depends_on_time()
        && !model.flow_jacobian_depends_on_state()
        && !model.flow_jacobian_depends_on_time()
}

impl AffineModes {
    /// Room for `n` states and `m` parameters.
    pub fn new(n: usize, m: usize) -> Self {
        Self {
            allowed: false,
            a: vec![0.0; n * n],
            degree: None,
            mode: None,
            given: None,
            unit: vec![0.0; n],
            out_x: vec![0.0; n],
            out_p: vec![0.0; m],
            duals: Duals::new(n, m),
            reach: vec![false; n],
            reach_next: vec![false; n],
        }
    }

    /// At the start of a run: whether its model and options allow the polynomial flow (the
    /// stepper, which keeps the flow it was given from run to run, is told anew when that
    /// changes).
    pub fn begin<M: Derivatives>(&mut self, model: &M, opts: &SolverOptions) {
        let allowed = polynomial_flow_allowed(model, opts);
        if allowed != self.allowed {
            self.mode = None;
            self.given = None;
        }
        self.allowed = allowed;
    }

    /// The flow of mode `at.q` for [`crate::ode::Stepper::set_polynomial_flow`], when it is to
    /// change: `Some(None)` for the stages, `Some(Some((A, D)))` for the polynomial, `None` when
    /// the stepper already has it.
    pub fn for_mode<M: Derivatives>(
        &mut self,
        model: &M,
        at: At<'_>,
    ) -> Option<Option<(&[f64], usize)>> {
        let q = self.allowed.then_some(at.q);
        if let (Some(q), false) = (q, self.mode == Some(at.q)) {
            self.form(model, At { q, ..at });
        }
        let use_poly = q.filter(|_| self.degree.is_some());
        if self.given == Some(use_poly) {
            return None;
        }
        self.given = Some(use_poly);
        Some(use_poly.and(self.degree).map(|d| (&self.a[..], d)))
    }

    /// `A` of mode `at.q` by `n` products `λᵀ f_x` with unit `λ` (row `i` from `λ = e_i`), and
    /// the degree of the state's polynomial from `A`'s pattern.
    fn form<M: Derivatives>(&mut self, model: &M, at: At<'_>) {
        let n = self.unit.len();
        self.unit.fill(0.0);
        for i in 0..n {
            self.unit[i] = 1.0;
            model.flow_vjp(
                at,
                &self.unit,
                &mut self.out_x,
                &mut self.out_p,
                &mut self.duals,
            );
            self.unit[i] = 0.0;
            self.a[i * n..(i + 1) * n].copy_from_slice(&self.out_x);
        }
        self.mode = Some(at.q);
        self.degree = self.degree_of_pattern();
    }

    /// The least `D` with `A^D v = 0` for every `v` on `A`'s pattern: `A v` can be nonzero on
    /// the rows with entries (`R_1`), `A^{k+1} v` on the rows with an entry in a column of `R_k`;
    /// the first empty `R_D` gives `D` (the products of zeros are exact zeros, so then
    /// `c_{D+1} = A^D f / (D + 1)! = 0` in floating point too). `None` beyond
    /// [`MAX_POLYNOMIAL_DEGREE`] (or when `A` has a non-finite entry).
    fn degree_of_pattern(&mut self) -> Option<usize> {
        let n = self.unit.len();
        if self.a.iter().any(|a| !a.is_finite()) {
            return None;
        }
        self.reach.fill(true);
        for d in 1..=MAX_POLYNOMIAL_DEGREE {
            let mut any = false;
            for i in 0..n {
                let row = &self.a[i * n..(i + 1) * n];
                let hit = row.iter().zip(&self.reach).any(|(&a, &r)| r && a != 0.0);
                self.reach_next[i] = hit;
                any |= hit;
            }
            if !any {
                return Some(d);
            }
            std::mem::swap(&mut self.reach, &mut self.reach_next);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn degree(a: &[f64]) -> Option<usize> {
        let n = (a.len() as f64).sqrt() as usize;
        let mut modes = AffineModes::new(n, 0);
        modes.a.copy_from_slice(a);
        modes.degree_of_pattern()
    }

    /// `A = 0`: the state moves on a line (`D = 1`); the ball's `[[0, 1], [0, 0]]`: a parabola;
    /// a chain of `k` integrators: degree `k`, the polynomial up to degree 4; a rotation or a
    /// decay never ends.
    #[test]
    fn the_degree_is_the_nilpotency_index_of_the_pattern() {
        assert_eq!(degree(&[0.0; 4]), Some(1));
        assert_eq!(degree(&[0.0, 1.0, 0.0, 0.0]), Some(2));
        let chain = |k: usize| {
            let mut a = vec![0.0; k * k];
            (0..k - 1).for_each(|i| a[i * k + i + 1] = 2.0);
            a
        };
        assert_eq!(degree(&chain(3)), Some(3));
        assert_eq!(degree(&chain(4)), Some(4));
        assert_eq!(degree(&chain(5)), None);
        assert_eq!(degree(&[0.0, 1.0, -1.0, 0.0]), None);
        assert_eq!(degree(&[-0.5]), None);
        assert_eq!(degree(&[0.0, f64::NAN, 0.0, 0.0]), None);
    }
}
