//! A free oscillator `ẍ = −ω² x` of amplitude `a` started at `x = 0` against a rigid stop at
//! `x = d` (`v⁺ = −e v⁻`), with its closed form: the near-grazing oracle of the grazing index.
//!
//! State `[x, v]`, parameters `p = [a, d, e, ω]`. The impact is at `τ = asin(d/a)/ω` with
//! `v⁻ = ω √(a² − d²)`: as `a → d` the impact grazes (`ġ = v⁻ → 0`) and `dτ/da` diverges like
//! `1/ġ`. The loss `x(T) + 0.1 v(T)` at `T = 3π/(2ω)` sees one impact for every `a > d`.

use hybrid_core::Derivatives;

use hybrid_core::{Crossing, Dims, HybridSystem, Loss, Scalar};

/// The oscillator against the stop.
pub struct StopOscillator;

impl HybridSystem for StopOscillator {
    fn dims(&self) -> Dims {
        Dims {
            states: 2,
            params: 4,
            guards: 1,
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0[0] = T::zero();
        x0[1] = p[0] * p[3];
    }
    fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
        dx[0] = x[1];
        dx[1] = -p[3] * p[3] * x[0];
    }
    fn guard<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], p: &[T]) -> T {
        p[1] - x[0]
    }
    fn direction(&self, _q: usize, _k: usize) -> Crossing {
        Crossing::Falling
    }
    fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], p: &[T], xp: &mut [T]) {
        xp[0] = x[0];
        xp[1] = -p[2] * x[1];
    }
}

impl Derivatives for StopOscillator {}

/// `x(T) + 0.1 v(T)` at the time given.
pub struct Endpoint(pub [f64; 1]);

impl Loss for Endpoint {
    fn observation_times(&self) -> &[f64] {
        &self.0
    }
    fn observation<T: Scalar>(&self, _i: usize, x: &[T], _p: &[T]) -> Option<T> {
        Some(x[0] + T::cst(0.1) * x[1])
    }
}

/// The observation time `T = 3π/(2ω)`.
pub fn end_time(omega: f64) -> f64 {
    1.5 * std::f64::consts::PI / omega
}

/// Parameters with amplitude `d (1 + δ)`: `[a, d, e, ω]` with `d = 0.5`, `e = 0.8`, `ω = 2π`.
pub fn params(delta: f64) -> [f64; 4] {
    let d = 0.5;
    [d * (1.0 + delta), d, 0.8, 2.0 * std::f64::consts::PI]
}

/// The loss by the closed form (one impact before `t_end`), generic so that dual numbers give
/// its exact gradient.
pub fn exact<T: Scalar>(p: &[T], t_end: f64) -> T {
    let (a, d, e, w) = (p[0], p[1], p[2], p[3]);
    let tau = (d / a).asin() / w;
    let v_minus = w * (a * a - d * d).sqrt();
    let v_plus = -e * v_minus;
    let s = T::cst(t_end) - tau;
    let x = d * (w * s).cos() + v_plus / w * (w * s).sin();
    let v = -d * w * (w * s).sin() + v_plus * (w * s).cos();
    x + T::cst(0.1) * v
}

/// `∂L/∂p` of [`exact`] by forward-mode dual numbers, one parameter at a time.
pub fn exact_gradient(p: &[f64; 4], t_end: f64) -> [f64; 4] {
    use num_dual::Dual64;
    let mut out = [0.0; 4];
    for (j, o) in out.iter_mut().enumerate() {
        let pd: Vec<Dual64> = p
            .iter()
            .enumerate()
            .map(|(i, &v)| Dual64::new(v, if i == j { 1.0 } else { 0.0 }))
            .collect();
        *o = exact(&pd, t_end).eps;
    }
    out
}

/// Largest entry-wise deviation relative to the largest entry of `want`.
pub fn rel_dev(got: &[f64], want: &[f64]) -> f64 {
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    got.iter()
        .zip(want)
        .fold(0.0f64, |m, (g, w)| m.max((g - w).abs()))
        / scale
}
