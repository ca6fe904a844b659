//! A guard and its time derivatives along the flow at one point, by dual numbers, in scratch
//! owned by the probe (no allocation after construction).
//!
//! Along the flow `x(s)` through `(t, x)`, with `f = f(t, x)` and `ḟ = f_t + f_x f`,
//!
//! ```text
//! ġ = g_t + g_x f                     (docs/maths.md, "Transversality")
//! g̈ = d²/ds² g(t + s, x + s f + s²/2 ḟ) at s = 0
//! ```
//!
//! `ġ` decides which side a guard that sits on zero is leaving towards, `g̈` breaks the tie when
//! `ġ = 0`, and both enter the grazing index (see [`GuardProbe::grazing_index`]).

use crate::HybridSystem;
use num_dual::{Dual2_64, Dual64};

/// Seed the dual state `xd` with `x` (derivative part `dir`, or zero). The parameters are seeded
/// once per run by [`GuardProbe::set_parameters`]: a probe runs for every guard at every step,
/// and re-seeding `m` parameters each time made it `O(m)` per guard (60 % of a simulation of a
/// 32-neuron network with 1120 weights). Inlined: it runs at every point of the event search.
#[inline]
fn seed(xd: &mut [Dual64], x: &[f64], dir: Option<&[f64]>) {
    match dir {
        Some(r) => {
            for ((d, &v), &e) in xd.iter_mut().zip(x).zip(r) {
                *d = Dual64::new(v, e);
            }
        }
        None => {
            for (d, &v) in xd.iter_mut().zip(x) {
                *d = Dual64::new(v, 0.0);
            }
        }
    }
}

/// Scratch for guard probes on a system of `n` states and `m` parameters. Every probe assumes
/// [`Self::set_parameters`] was called with the run's parameters.
pub(crate) struct GuardProbe {
    f: Vec<f64>,
    fdot: Vec<f64>,
    xd: Vec<Dual64>,
    /// The two ends of a step, seeded along their flows by [`Self::seed_ends`].
    ends: [Vec<Dual64>; 2],
    pd: Vec<Dual64>,
    fd: Vec<Dual64>,
    x2: Vec<Dual2_64>,
    p2: Vec<Dual2_64>,
}

impl GuardProbe {
    pub fn new(n: usize, m: usize) -> Self {
        let z = Dual64::new(0.0, 0.0);
        let z2 = Dual2_64::new(0.0, 0.0, 0.0);
        Self {
            f: vec![0.0; n],
            fdot: vec![0.0; n],
            xd: vec![z; n],
            ends: [vec![z; n], vec![z; n]],
            pd: vec![z; m],
            fd: vec![z; n],
            x2: vec![z2; n],
            p2: vec![z2; m],
        }
    }

    /// Seed the parameter duals (derivative parts zero) with the run's parameters `p`; the probes
    /// below read them and never change them.
    pub fn set_parameters(&mut self, p: &[f64]) {
        for (d, &v) in self.pd.iter_mut().zip(p) {
            *d = Dual64::new(v, 0.0);
        }
        for (d, &v) in self.p2.iter_mut().zip(p) {
            *d = Dual2_64::new(v, 0.0, 0.0);
        }
    }

    /// Whether the parameter duals hold `p` (for debug assertions).
    fn holds(&self, p: &[f64]) -> bool {
        self.pd.len() == p.len()
            && self
                .pd
                .iter()
                .zip(p)
                .all(|(d, &v)| d.re == v && d.eps == 0.0)
            && self
                .p2
                .iter()
                .zip(p)
                .all(|(d, &v)| d.re == v && d.v1 == 0.0 && d.v2 == 0.0)
    }

    /// `(g, ġ)` of guard `k` in mode `q` at `(t, x)`, for the flow value `f` at that point.
    pub fn rate_with_flow<M: HybridSystem>(
        &mut self,
        model: &M,
        q: usize,
        k: usize,
        t: f64,
        x: &[f64],
        f: &[f64],
        p: &[f64],
    ) -> (f64, f64) {
        debug_assert!(
            self.holds(p),
            "GuardProbe::set_parameters not called for this run"
        );
        seed(&mut self.xd, x, Some(f));
        let g = model.guard(q, k, Dual64::new(t, 1.0), &self.xd, &self.pd);
        (g.re, g.eps)
    }

    /// Seed the start `(x_a, f_a)` and the end `(x_b, f_b)` of a step (states and flows) once,
    /// for [`Self::rate_at_end`] on any number of guards.
    pub fn seed_ends(&mut self, xa: &[f64], fa: &[f64], xb: &[f64], fb: &[f64]) {
        seed(&mut self.ends[0], xa, Some(fa));
        seed(&mut self.ends[1], xb, Some(fb));
    }

    /// `ġ` of guard `k` in mode `q` at time `t` and the step end `end` (0 = start, 1 = end) last
    /// seeded by [`Self::seed_ends`]: the same value as [`Self::rate_with_flow`] there, without
    /// seeding `n` states per guard.
    pub fn rate_at_end<M: HybridSystem>(
        &self,
        model: &M,
        q: usize,
        k: usize,
        t: f64,
        end: usize,
    ) -> f64 {
        model
            .guard(q, k, Dual64::new(t, 1.0), &self.ends[end], &self.pd)
            .eps
    }

    /// `(g, ġ, g̈)` of guard `k` in mode `q` at `(t, x)`.
    pub fn second_rate<M: HybridSystem>(
        &mut self,
        model: &M,
        q: usize,
        k: usize,
        t: f64,
        x: &[f64],
        p: &[f64],
    ) -> (f64, f64, f64) {
        model.flow(q, t, x, p, &mut self.f);
        // ḟ = f_t + f_x f by one dual evaluation along (1, f).
        debug_assert!(
            self.holds(p),
            "GuardProbe::set_parameters not called for this run"
        );
        seed(&mut self.xd, x, Some(&self.f));
        model.flow(q, Dual64::new(t, 1.0), &self.xd, &self.pd, &mut self.fd);
        for (o, d) in self.fdot.iter_mut().zip(&self.fd) {
            *o = d.eps;
        }
        for (((d, &v), &r), &a) in self.x2.iter_mut().zip(x).zip(&self.f).zip(&self.fdot) {
            *d = Dual2_64::new(v, r, a);
        }
        let g = model.guard(q, k, Dual2_64::new(t, 1.0, 0.0), &self.x2, &self.p2);
        (g.re, g.v1, g.v2)
    }

    /// `σ_g = Σ_i |∂g/∂x_i| (err_i + 16 ε |x_i|)`: how far the guard value may be off, with
    /// `err` the integrator's accumulated error estimates ([`crate::ode::Stepper::error_bound`])
    /// and a floor of a few roundings. One dual evaluation per state.
    pub fn noise<M: HybridSystem>(
        &mut self,
        model: &M,
        q: usize,
        k: usize,
        t: f64,
        x: &[f64],
        p: &[f64],
        err: &[f64],
    ) -> f64 {
        debug_assert!(
            self.holds(p),
            "GuardProbe::set_parameters not called for this run"
        );
        seed(&mut self.xd, x, None);
        let td = Dual64::new(t, 0.0);
        let mut sigma = 0.0;
        for i in 0..x.len() {
            let gx = self.partial(model, q, k, td, i);
            sigma += noise_share(gx, err[i], x[i]);
        }
        sigma
    }

    /// `∂g/∂x` of guard `k` in mode `q` at `(t, x)` into `out` (length `n`): one dual evaluation
    /// per state, as in [`Self::noise`].
    pub fn gradient<M: HybridSystem>(
        &mut self,
        model: &M,
        q: usize,
        k: usize,
        t: f64,
        x: &[f64],
        p: &[f64],
        out: &mut [f64],
    ) {
        debug_assert!(
            self.holds(p),
            "GuardProbe::set_parameters not called for this run"
        );
        seed(&mut self.xd, x, None);
        let td = Dual64::new(t, 0.0);
        for (i, o) in out.iter_mut().enumerate().take(x.len()) {
            *o = self.partial(model, q, k, td, i);
        }
    }

    /// `∂g/∂x_i` of guard `k` at the state seeded in `xd` (without direction) and time `td`.
    #[inline]
    fn partial<M: HybridSystem>(
        &mut self,
        model: &M,
        q: usize,
        k: usize,
        td: Dual64,
        i: usize,
    ) -> f64 {
        self.xd[i].eps = 1.0;
        let gx = model.guard(q, k, td, &self.xd, &self.pd).eps;
        self.xd[i].eps = 0.0;
        gx
    }

    /// The grazing index `κ = |g̈| σ_g / ġ²` of guard `k` at an event at `(t, x⁻)`.
    ///
    /// Near a tangency the guard is `g ≈ ġ s + g̈ s²/2`, so a state error that moves the guard by
    /// `σ_g` moves the event by `σ_g/ġ` and changes `ġ` by `g̈ σ_g/ġ`: `κ` is the relative error
    /// of `ġ`, hence of every sensitivity that divides by it. It is dimensionless (guard units and
    /// time units cancel) and grows without bound as the event approaches grazing. `err` is the
    /// integrator's error estimate per state (see [`Self::noise`]). Returns `(g, ġ, κ)`.
    pub fn grazing_index<M: HybridSystem>(
        &mut self,
        model: &M,
        q: usize,
        k: usize,
        t: f64,
        x: &[f64],
        p: &[f64],
        err: &[f64],
    ) -> (f64, f64, f64) {
        let (g, gdot, gddot) = self.second_rate(model, q, k, t, x, p);
        let sigma = self.noise(model, q, k, t, x, p, err);
        (g, gdot, grazing(gdot, gddot, sigma))
    }
}

/// State `i`'s share `|∂g/∂x_i| (err_i + 16 ε |x_i|)` of the noise `σ_g` ([`GuardProbe::noise`]).
#[inline(always)]
pub(crate) fn noise_share(g_xi: f64, err_i: f64, x_i: f64) -> f64 {
    g_xi.abs() * (err_i + 16.0 * f64::EPSILON * x_i.abs())
}

/// The grazing index `κ = |g̈| σ_g / ġ²` (see [`GuardProbe::grazing_index`]) from its parts.
#[inline]
pub(crate) fn grazing(gdot: f64, gddot: f64, sigma: f64) -> f64 {
    let kappa = gddot.abs() * sigma / (gdot * gdot);
    // 0/0 (ġ = 0 with g̈ σ_g = 0): a tangency the index cannot weigh, so it counts as grazing.
    if kappa.is_nan() {
        f64::INFINITY
    } else {
        kappa
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Crossing, Dims, Scalar};

    /// `[y, v]` under gravity `p0` and a drag `p1 v`; guard `y − t²` (time dependent).
    struct Thrown;
    impl HybridSystem for Thrown {
        fn dims(&self) -> Dims {
            Dims {
                states: 2,
                params: 2,
                guards: 1,
            }
        }
        fn initial_state<T: Scalar>(&self, _p: &[T], x0: &mut [T]) {
            x0.fill(T::zero());
        }
        fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
            dx[0] = x[1];
            dx[1] = -p[0] - p[1] * x[1];
        }
        fn guard<T: Scalar>(&self, _q: usize, _k: usize, t: T, x: &[T], _p: &[T]) -> T {
            x[0] - t * t
        }
        fn direction(&self, _q: usize, _k: usize) -> Crossing {
            Crossing::Falling
        }
        fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
            xp.copy_from_slice(x);
        }
    }

    #[test]
    fn rates_are_the_guards_first_and_second_time_derivatives_along_the_flow() {
        // g = y − t², ġ = v − 2t, g̈ = −p0 − p1 v − 2.
        let (t, x, p) = (0.5, [2.0, 3.0], [9.0, 0.5]);
        let mut probe = GuardProbe::new(2, 2);
        probe.set_parameters(&p);
        let (g, gdot) = probe.rate_with_flow(&Thrown, 0, 0, t, &x, &[3.0, -10.5], &p);
        assert_eq!((g, gdot), (2.0 - 0.25, 3.0 - 1.0));
        let (g2, gdot2, gddot) = probe.second_rate(&Thrown, 0, 0, t, &x, &p);
        assert_eq!((g2, gdot2), (g, gdot));
        assert!((gddot - (-9.0 - 1.5 - 2.0)).abs() < 1e-14, "{gddot}");
    }

    #[test]
    fn rates_at_seeded_step_ends_equal_the_rates_seeded_per_guard() {
        let p = [9.0, 0.5];
        let (xa, fa, xb, fb) = ([2.0, 3.0], [3.0, -10.5], [1.0, -2.0], [-2.0, -8.0]);
        let mut probe = GuardProbe::new(2, 2);
        probe.set_parameters(&p);
        probe.seed_ends(&xa, &fa, &xb, &fb);
        let at_a = probe.rate_at_end(&Thrown, 0, 0, 0.5, 0);
        let at_b = probe.rate_at_end(&Thrown, 0, 0, 0.75, 1);
        assert_eq!(
            at_a,
            probe.rate_with_flow(&Thrown, 0, 0, 0.5, &xa, &fa, &p).1
        );
        assert_eq!(
            at_b,
            probe.rate_with_flow(&Thrown, 0, 0, 0.75, &xb, &fb, &p).1
        );
        // ġ = v − 2t at each end.
        assert_eq!((at_a, at_b), (3.0 - 1.0, -2.0 - 1.5));
    }

    #[test]
    fn grazing_index_is_curvature_times_noise_over_squared_rate() {
        let (t, x, p) = (0.5, [2.0, 3.0], [9.0, 0.5]);
        let err = [1e-9, 5e-9];
        let mut probe = GuardProbe::new(2, 2);
        probe.set_parameters(&p);
        // ∂g/∂y = 1, ∂g/∂v = 0: σ_g = err_y + 16 ε |y|.
        let sigma = probe.noise(&Thrown, 0, 0, t, &x, &p, &err);
        assert_eq!(sigma, 1e-9 + 16.0 * f64::EPSILON * 2.0);
        let (g, gdot, kappa) = probe.grazing_index(&Thrown, 0, 0, t, &x, &p, &err);
        assert_eq!((g, gdot), (1.75, 2.0));
        assert!((kappa - 12.5 * sigma / 4.0).abs() < 1e-12 * kappa);
        // At ġ = 0 the index is infinite.
        let (_, _, at_rest) = probe.grazing_index(&Thrown, 0, 0, t, &[2.0, 1.0], &p, &err);
        assert_eq!(at_rest, f64::INFINITY);
    }
}
