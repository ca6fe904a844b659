//! Test models with closed-form solutions, written generic over the scalar so that dual numbers
//! give their exact parameter derivatives: independent oracles for the framework's sensitivities.
#![allow(dead_code)]

use hybrid_core::EventPoint;

use hybrid_core::Derivatives;

use hybrid_core::{Crossing, Dims, EventSelector, HybridSystem, Loss, Scalar};
use num_dual::Dual64;

/// Two-compartment linear decay, smooth: `ẋ1 = −k1 x1`, `ẋ2 = k1 x1 − k2 x2`.
/// Parameters `[k1, k2, x10, x20]`.
pub struct Cascade;

impl HybridSystem for Cascade {
    fn dims(&self) -> Dims {
        Dims {
            states: 2,
            params: 4,
            guards: 0,
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0[0] = p[2];
        x0[1] = p[3];
    }
    fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
        dx[0] = -p[0] * x[0];
        dx[1] = p[0] * x[0] - p[1] * x[1];
    }
    fn guard<T: Scalar>(&self, _q: usize, _k: usize, _t: T, _x: &[T], _p: &[T]) -> T {
        T::one()
    }
    fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
        xp.copy_from_slice(x)
    }
}

impl Derivatives for Cascade {}

/// Closed form of [`Cascade`] at `t` (for `k1 ≠ k2`).
pub fn cascade_exact<T: Scalar>(p: &[T], t: T) -> [T; 2] {
    let (k1, k2, a, b) = (p[0], p[1], p[2], p[3]);
    let e1 = (-k1 * t).exp();
    let e2 = (-k2 * t).exp();
    [a * e1, b * e2 + a * k1 / (k2 - k1) * (e1 - e2)]
}

/// A sawtooth with a moving threshold and a time-dependent reset, so that guard, jump and initial
/// state all depend on parameters and the guard and jump on time:
///
/// flow `ẏ = a`, `ẇ = −b w`; guard `y − (c + d t)` (rising); jump `y⁺ = q t`, `w⁺ = w⁻ + h`.
/// Parameters `p = [y0, a, b, c, d, q, h, w0]`; `ġ = a − d`.
pub struct Sawtooth;

impl HybridSystem for Sawtooth {
    fn dims(&self) -> Dims {
        Dims {
            states: 2,
            params: 8,
            guards: 1,
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0[0] = p[0];
        x0[1] = p[7];
    }
    fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
        dx[0] = p[1];
        dx[1] = -p[2] * x[1];
    }
    fn guard<T: Scalar>(&self, _q: usize, _k: usize, t: T, x: &[T], p: &[T]) -> T {
        x[0] - (p[3] + p[4] * t)
    }
    fn direction(&self, _q: usize, _k: usize) -> Crossing {
        Crossing::Rising
    }
    fn jump<T: Scalar>(&self, _q: usize, _k: usize, t: T, x: &[T], p: &[T], xp: &mut [T]) {
        xp[0] = p[5] * t;
        xp[1] = x[1] + p[6];
    }
}

impl Derivatives for Sawtooth {}

/// Closed form of [`Sawtooth`] on `[0, t_end]`: event times, state at `t_end`, and the running
/// integral `∫ (y² + w) dt`, all by explicit formulas.
pub struct SawtoothExact<T> {
    pub taus: Vec<T>,
    pub y_end: T,
    pub w_end: T,
    pub running: T,
}

pub fn sawtooth_exact<T: Scalar>(p: &[T], t_end: T) -> SawtoothExact<T> {
    let (a, b, c, d, q, h) = (p[1], p[2], p[3], p[4], p[5], p[6]);
    let (mut t, mut y, mut w) = (T::zero(), p[0], p[7]);
    let mut taus = Vec::new();
    let mut running = T::zero();
    let piece = |t0: T, t1: T, y0: T, w0: T, acc: &mut T| {
        let y1 = y0 + a * (t1 - t0);
        *acc += (y1 * y1 * y1 - y0 * y0 * y0) / (T::cst(3.0) * a)
            + w0 * (T::one() - (-b * (t1 - t0)).exp()) / b;
    };
    loop {
        // y + a (τ − t) = c + d τ  ⇒  τ = (c − y + a t)/(a − d)
        let tau = (c - y + a * t) / (a - d);
        if tau > t_end {
            break;
        }
        piece(t, tau, y, w, &mut running);
        w = w * (-b * (tau - t)).exp() + h;
        y = q * tau;
        t = tau;
        taus.push(tau);
    }
    piece(t, t_end, y, w, &mut running);
    SawtoothExact {
        y_end: y + a * (t_end - t),
        w_end: w * (-b * (t_end - t)).exp(),
        taus,
        running,
    }
}

/// The three loss kinds on the sawtooth, with weights: terminal `α y(T)² + β w(T)`, running
/// `γ ∫ (y² + w) dt`, event-time `δ τ_k²` on the `k`-th event.
pub struct SawtoothLoss {
    pub t_end: f64,
    pub weights: [f64; 4],
    pub k: Option<usize>,
    pub obs: [f64; 1],
    pub sel: Vec<EventSelector>,
}

impl SawtoothLoss {
    pub fn new(t_end: f64, weights: [f64; 4], k: Option<usize>) -> Self {
        Self {
            t_end,
            weights,
            k,
            obs: [t_end],
            sel: k
                .map(|k| vec![EventSelector::nth_of_guard(0, k)])
                .unwrap_or_default(),
        }
    }

    /// The same loss from the closed form.
    pub fn exact<T: Scalar>(&self, p: &[T]) -> T {
        let e = sawtooth_exact(p, T::cst(self.t_end));
        let [al, be, ga, de] = self.weights.map(T::cst);
        let mut l = al * e.y_end * e.y_end + be * e.w_end + ga * e.running;
        if let Some(k) = self.k {
            l += de * e.taus[k] * e.taus[k];
        }
        l
    }
}

impl Loss for SawtoothLoss {
    fn observation_times(&self) -> &[f64] {
        &self.obs
    }
    fn observation<T: Scalar>(&self, _i: usize, x: &[T], _p: &[T]) -> Option<T> {
        Some(T::cst(self.weights[0]) * x[0] * x[0] + T::cst(self.weights[1]) * x[1])
    }
    fn running<T: Scalar>(&self, _t: T, x: &[T], _p: &[T]) -> Option<T> {
        Some(T::cst(self.weights[2]) * (x[0] * x[0] + x[1]))
    }
    fn event_selectors(&self) -> &[EventSelector] {
        &self.sel
    }
    fn event_term<T: Scalar>(&self, _j: usize, event: EventPoint<'_, T>, _p: &[T]) -> Option<T> {
        let tau = event.t;
        Some(T::cst(self.weights[3]) * tau * tau)
    }
}

/// Gradient of a scalar function written generic over the scalar, by dual numbers.
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

/// Largest relative deviation `|a − b| / max(|b|, floor)` over two vectors.
pub fn max_rel_dev(a: &[f64], b: &[f64], floor: f64) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(floor))
        .fold(0.0, f64::max)
}
