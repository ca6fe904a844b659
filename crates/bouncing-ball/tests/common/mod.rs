//! Shared by the integration tests: the three loss kinds with their closed-form values, dual-number
//! gradients of closed forms, and the tight solver options.
#![allow(dead_code)]

use bouncing_ball::closed_form::{
    impact_speed, impact_times, impacts_until, running_integral, state_at,
};
use hybrid_core::{EventPoint, EventSelector, Integrator, Loss, Occurrence, Scalar, SolverOptions};
use num_dual::Dual64;

/// Tolerances tight enough that the solver error is far below the 1e-8 the tests demand.
pub fn tight() -> SolverOptions {
    SolverOptions {
        rtol: 1e-12,
        atol: 1e-12,
        integrator: Integrator::Dop853,
        ..Default::default()
    }
}

/// One of the three loss kinds of `docs/maths.md` §"The loss" on the ball.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `α y(T)² + β v(T)`.
    Terminal { alpha: f64, beta: f64 },
    /// `∫_0^T (a v² + b y) dt`.
    Running { a: f64, b: f64 },
    /// `τ_k`, the time of the `k`-th impact (from 0).
    ImpactTime { k: usize },
    /// `c (v⁻)² + (v⁺)²` at the chosen impacts (`Nth`, `Last` or summed over `Every` impact):
    /// an event term that reads the state on both sides of the jump.
    ImpactSpeed { which: Occurrence, c: f64 },
}

pub struct BallLoss {
    pub kind: Kind,
    pub t_end: f64,
    obs: Vec<f64>,
    sel: Vec<EventSelector>,
}

impl BallLoss {
    pub fn new(kind: Kind, t_end: f64) -> Self {
        let obs = if let Kind::Terminal { .. } = kind {
            vec![t_end]
        } else {
            vec![]
        };
        let sel = match kind {
            Kind::ImpactTime { k } => vec![EventSelector::nth_of_guard(0, k)],
            Kind::ImpactSpeed { which, .. } => vec![EventSelector {
                guard: Some(0),
                occurrence: which,
            }],
            _ => vec![],
        };
        Self {
            kind,
            t_end,
            obs,
            sel,
        }
    }

    /// The same loss from the closed form (`docs/bouncing-ball.md`).
    pub fn exact<T: Scalar>(&self, p: &[T]) -> T {
        let t_end = T::cst(self.t_end);
        match self.kind {
            Kind::Terminal { alpha, beta } => {
                let [y, v] = state_at(p, t_end).unwrap();
                T::cst(alpha) * y * y + T::cst(beta) * v
            }
            Kind::Running { a, b } => running_integral(p, t_end, T::cst(a), T::cst(b)).unwrap(),
            Kind::ImpactTime { k } => impact_times(p, k + 1).unwrap()[k],
            Kind::ImpactSpeed { which, c } => {
                // The k-th impact (from 0) comes at speed u eᵏ and leaves at u eᵏ⁺¹.
                let count = impacts_until(p, t_end).unwrap();
                let (u, e) = (impact_speed(p).unwrap(), p[2]);
                let term = |k: usize| {
                    let v_minus = u * e.powi(k as i32);
                    let v_plus = v_minus * e;
                    T::cst(c) * v_minus * v_minus + v_plus * v_plus
                };
                match which {
                    Occurrence::Nth(k) => term(k),
                    Occurrence::Last => term(count - 1),
                    Occurrence::Every => (0..count).fold(T::zero(), |a, k| a + term(k)),
                }
            }
        }
    }
}

impl Loss for BallLoss {
    fn observation_times(&self) -> &[f64] {
        &self.obs
    }
    fn observation<T: Scalar>(&self, _i: usize, x: &[T], _p: &[T]) -> Option<T> {
        Some(match self.kind {
            Kind::Terminal { alpha, beta } => T::cst(alpha) * x[0] * x[0] + T::cst(beta) * x[1],
            _ => T::zero(),
        })
    }
    fn running<T: Scalar>(&self, _t: T, x: &[T], _p: &[T]) -> Option<T> {
        match self.kind {
            Kind::Running { a, b } => Some(T::cst(a) * x[1] * x[1] + T::cst(b) * x[0]),
            _ => None,
        }
    }
    fn event_selectors(&self) -> &[EventSelector] {
        &self.sel
    }
    fn event_term<T: Scalar>(&self, _j: usize, event: EventPoint<'_, T>, _p: &[T]) -> Option<T> {
        match self.kind {
            Kind::ImpactTime { .. } => Some(event.t),
            Kind::ImpactSpeed { c, .. } => {
                let (v_minus, v_plus) = (event.x_minus[1], event.x_plus[1]);
                Some(T::cst(c) * v_minus * v_minus + v_plus * v_plus)
            }
            _ => None,
        }
    }
}

/// Gradient of a function written generic over the scalar, by one dual evaluation per parameter.
pub fn dual_gradient(p: &[f64], f: impl Fn(&[Dual64]) -> Dual64) -> Vec<f64> {
    (0..p.len())
        .map(|j| {
            let pd: Vec<Dual64> = p
                .iter()
                .enumerate()
                .map(|(i, &v)| Dual64::new(v, if i == j { 1.0 } else { 0.0 }))
                .collect();
            f(&pd).eps
        })
        .collect()
}

/// Largest relative deviation `|got_j − exact_j| / max(|exact_j|, 1e-6 · max_i |exact_i|)`: an
/// entry far smaller than the others (e.g. `∂τ_1/∂e = 0`) is judged on the scale of the others.
pub fn max_rel_dev(got: &[f64], exact: &[f64]) -> f64 {
    let floor = 1e-6 * exact.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    got.iter()
        .zip(exact)
        .map(|(g, e)| (g - e).abs() / e.abs().max(floor).max(1e-300))
        .fold(0.0, f64::max)
}
