//! Detection: which guards cross zero in their direction inside an accepted step, and which fire
//! at once at a restart point (docs/maths.md, "Event semantics").
//!
//! Every guard carries the side of zero it was last seen strictly on. A guard fires when it
//! reaches zero or beyond coming from its armed side (`Rising` from below, `Falling` from above,
//! `Either` from both). At a restart point (`t0`, and after every jump) a guard that sits on zero
//! takes its side from the sign of `ġ`, or of `g̈` when `ġ = 0`: the side it is about to be on.
//! So a guard left on zero by a jump is seen when it leaves and comes back inside one step, and a
//! guard that sits on zero moving into its crossing direction fires at that instant.

use super::probe::GuardProbe;
use crate::ode::Stepper;
use crate::{Crossing, Error, HybridSystem};

mod exact;
mod extremum;

/// A sign change of one guard inside a step: `g(a)` strictly on the armed side, `g(b)` at or past
/// zero. With `from_zero`, `a` is a restart point where the guard sat on zero.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bracket {
    pub a: f64,
    pub ga: f64,
    pub b: f64,
    pub gb: f64,
    pub from_zero: bool,
}

/// A guard that a jump left on zero (or the last event's residual), as [`Detector::arm`] needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fired {
    pub guard: usize,
    /// `g(x⁻)`: the location residual.
    pub g_minus: f64,
    /// `ġ(x⁻)`.
    pub gdot_minus: f64,
}

/// A guard that turned back short of zero by less than [`NEAR_MISS_FACTOR`] times its noise
/// `σ_g = Σ |∂g/∂x_i| (err_i + 16 ε |x_i|)` (`err` the integrator's accumulated error
/// estimates): the true trajectory may cross where the computed one does not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearMiss {
    /// Time of the guard's extremum.
    pub t: f64,
    /// Guard index.
    pub guard: usize,
    /// Guard value at the extremum (on its armed side).
    pub g: f64,
    /// The guard's noise `σ_g = Σ |∂g/∂x_i| (atol + rtol |x_i|)` there.
    pub noise: f64,
}

/// A turning guard closer to zero than this many `σ_g` is a near miss: a margin of an order of
/// magnitude over the error estimate against taking the wrong side of a tangency (docs/grazing.md).
pub const NEAR_MISS_FACTOR: f64 = 10.0;

/// Per-guard detection state and scratch, allocated once.
pub(crate) struct Detector {
    /// Side each guard was last seen strictly on: `1`, `-1`, or `0` (on zero, not armed).
    side: Vec<f64>,
    /// Time and value of the last point where the guard was strictly on its side.
    t_side: Vec<f64>,
    g_side: Vec<f64>,
    /// Whether the side was derived from rates at a restart point (no sample has shown it yet).
    derived: Vec<bool>,
    /// Guard values at the start and at the end of the current step.
    g_start: Vec<f64>,
    g_end: Vec<f64>,
    /// The bracket found for each guard in the last scanned step.
    pub brackets: Vec<Option<Bracket>>,
    /// Guards that fire at the restart point itself (on zero, moving into their direction).
    pub immediate: Vec<usize>,
    /// Flow at the start of the current step.
    pub f_start: Vec<f64>,
    /// Extrema where a watched guard turned back within [`NEAR_MISS_FACTOR`]` σ_g` of zero
    /// without crossing: whether it crossed is not resolved at the tolerances.
    pub near_misses: Vec<NearMiss>,
    buf: Vec<f64>,
    f_buf: Vec<f64>,
    /// The state and flow at the last sample of a step that fired inside it.
    x_hi: Vec<f64>,
    f_hi: Vec<f64>,
    probe: GuardProbe,
    /// The guards' polynomials on polynomial steps (see [`Self::set_exact`]).
    exact: exact::GuardPolynomials,
}

/// Whether a guard whose armed side is `side` fires on reaching the value `g`.
fn fires(dir: Crossing, side: f64, g: f64) -> bool {
    match dir {
        Crossing::Rising => side < 0.0 && g >= 0.0,
        Crossing::Falling => side > 0.0 && g <= 0.0,
        Crossing::Either => side != 0.0 && (g == 0.0 || g.signum() != side),
    }
}

/// Whether leaving zero towards `side` is a crossing in direction `dir`.
fn into(dir: Crossing, side: f64) -> bool {
    match dir {
        Crossing::Rising => side > 0.0,
        Crossing::Falling => side < 0.0,
        Crossing::Either => side != 0.0,
    }
}

/// One sample `g = g(s)` of a guard in direction `dir` whose armed state is `(side, t_side,
/// g_side, derived)`: the bracket from its last point strictly on the armed side when it fires,
/// else (off zero) the sample becomes that point.
#[inline(always)]
fn sample(
    dir: Crossing,
    s: f64,
    g: f64,
    (side, t_side, g_side, derived): (&mut f64, &mut f64, &mut f64, &mut bool),
) -> Option<Bracket> {
    if fires(dir, *side, g) {
        return Some(Bracket {
            a: *t_side,
            ga: *g_side,
            b: s,
            gb: g,
            from_zero: *derived,
        });
    }
    if g != 0.0 {
        *side = sign(g);
        *t_side = s;
        *g_side = g;
        *derived = false;
    }
    None
}

fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

pub(crate) fn guard_nan(k: usize, t: f64) -> Error {
    Error::NonFinite {
        what: format!("guard {k}"),
        t,
    }
}

impl Detector {
    /// Detection state for `guards` guards on a system of `n` states (`nn` integrated components)
    /// and `m` parameters.
    pub fn new(guards: usize, n: usize, nn: usize, m: usize) -> Self {
        Self {
            side: vec![0.0; guards],
            t_side: vec![0.0; guards],
            g_side: vec![0.0; guards],
            derived: vec![false; guards],
            g_start: vec![0.0; guards],
            g_end: vec![0.0; guards],
            brackets: vec![None; guards],
            immediate: Vec::with_capacity(guards),
            f_start: vec![0.0; n],
            near_misses: Vec::new(),
            buf: vec![0.0; nn],
            f_buf: vec![0.0; n],
            x_hi: vec![0.0; n],
            f_hi: vec![0.0; n],
            probe: GuardProbe::new(n, m),
            exact: exact::GuardPolynomials::new(guards, n),
        }
    }

    /// At the start of a run: whether the model's guards are affine in the state and free of
    /// time (`Derivatives::guard_gradient_depends_on_state` and
    /// `Derivatives::guard_depends_on_time` both `false`), so that on a step the state crosses
    /// by its exact polynomial of degree `D ≤ 2` each guard is a polynomial too, and detection
    /// and location are exact (`exact.rs`). Forgets the gradients of the last run (they may
    /// depend on the parameters).
    pub fn set_exact(&mut self, on: bool) {
        self.exact.begin(on);
    }

    /// The probe, for event diagnostics.
    pub fn probe(&mut self) -> &mut GuardProbe {
        &mut self.probe
    }

    /// Re-arm every guard at a restart point `(t, x)` in mode `q`, with flow `f = f(t, x)`.
    ///
    /// `fired` lists the guards whose jumps were just applied. Fills [`Self::immediate`] with the
    /// other guards that sit on zero moving into their crossing direction; fails with
    /// [`Error::Retrigger`] when a jump leaves its own guard so, and on a non-finite guard.
    pub fn arm<M: HybridSystem>(
        &mut self,
        model: &M,
        q: usize,
        t: f64,
        x: &[f64],
        f: &[f64],
        p: &[f64],
        fired: &[Fired],
    ) -> Result<(), Error> {
        self.immediate.clear();
        let time_ulps = 8.0 * f64::EPSILON * t.abs().max(1.0);
        for k in 0..self.side.len() {
            let (g, gdot) = self.probe.rate_with_flow(model, q, k, t, x, f, p);
            if !g.is_finite() {
                return Err(guard_nan(k, t));
            }
            self.g_start[k] = g;
            let own = fired.iter().find(|e| e.guard == k);
            // On zero: exactly; for the guard whose own jump was just applied, no further from
            // zero than the located residual allows; for another guard, within what eight ulps
            // of time move it, on the side it is moving away from (a guard a rounding short of
            // zero and moving towards it simply crosses next, as a located event).
            let near = g.abs() <= time_ulps * gdot.abs();
            let on_zero = g == 0.0
                || match own {
                    Some(e) => {
                        g.abs()
                            <= 4.0 * e.g_minus.abs()
                                + time_ulps * gdot.abs().max(e.gdot_minus.abs())
                    }
                    None => near && sign(g) == sign(gdot),
                };
            self.derived[k] = false;
            if !on_zero {
                self.side[k] = sign(g);
                self.t_side[k] = t;
                self.g_side[k] = g;
                continue;
            }
            let leaving = if gdot != 0.0 && gdot.is_finite() {
                sign(gdot)
            } else {
                sign(self.probe.second_rate(model, q, k, t, x, p).2)
            };
            if !model.guard_active(q, k) {
                self.side[k] = leaving;
                continue;
            }
            let dir = model.direction(q, k);
            if own.is_some() {
                // A jump that leaves its own guard on zero moving into its direction would fire
                // again at once, without end. `Either` guards are exempt: leaving zero either way
                // is how they move off after their own event.
                if dir != Crossing::Either && into(dir, leaving) {
                    return Err(Error::Retrigger {
                        t,
                        guard: k,
                        g_after: g,
                        gdot_after: gdot,
                    });
                }
            } else if into(dir, leaving) {
                self.immediate.push(k);
            }
            self.side[k] = leaving;
            self.derived[k] = leaving != 0.0;
            self.t_side[k] = t;
            self.g_side[k] = g;
        }
        Ok(())
    }

    /// Look for crossings inside the step `stepper` just accepted (mode `q`): sample every active
    /// guard at `samples` interior points and the end, up to the first sample where one fires,
    /// then look at each guard's extremum where its rate turns before that sample
    /// ([`Self::scan_extrema`]). Returns whether any bracket was found (in [`Self::brackets`]);
    /// the earliest root among them is the step's event.
    pub fn scan<M: HybridSystem, S: Stepper>(
        &mut self,
        model: &M,
        q: usize,
        p: &[f64],
        n: usize,
        stepper: &S,
        interior: usize,
    ) -> Result<bool, Error> {
        if let Some((coef, degree)) = self.exact.applies(stepper) {
            return self.scan_exact(model, q, p, n, stepper, coef, degree);
        }
        self.exact.step = false;
        let (ta, tb) = (stepper.t_prev(), stepper.t());
        let samples = interior + 1;
        self.brackets.iter_mut().for_each(|b| *b = None);
        let mut any = false;
        // The per-guard state as slices of one length, cut once: their bounds checks fold away,
        // and their pointers stay in registers across the dense-output reads (a `Vec` field is
        // re-loaded after every call that writes through another).
        let guards = self.side.len();
        let (side, t_side, g_side) = (
            &mut self.side[..guards],
            &mut self.t_side[..guards],
            &mut self.g_side[..guards],
        );
        let (derived, g_end, brackets) = (
            &mut self.derived[..guards],
            &mut self.g_end[..guards],
            &mut self.brackets[..guards],
        );
        let buf = &mut self.buf[..n];
        let mut t_hi = tb;
        for j in 1..=samples {
            let s = if j == samples {
                tb
            } else {
                ta + (tb - ta) * j as f64 / samples as f64
            };
            // The guards read the state only: what rides along is neither copied nor interpolated.
            if j == samples {
                buf.copy_from_slice(&stepper.x()[..n]);
            } else {
                stepper.interpolate(s, buf);
            }
            for k in 0..guards {
                if brackets[k].is_some() || !model.guard_active(q, k) {
                    continue;
                }
                let g = model.guard(q, k, s, buf, p);
                if !g.is_finite() {
                    return Err(guard_nan(k, s));
                }
                g_end[k] = g;
                let dir = model.direction(q, k);
                let at = (
                    &mut side[k],
                    &mut t_side[k],
                    &mut g_side[k],
                    &mut derived[k],
                );
                brackets[k] = sample(dir, s, g, at);
                any |= brackets[k].is_some();
            }
            if any {
                // Every guard was sampled up to here; what lies beyond `s` comes after the
                // crossing.
                t_hi = s;
                break;
            }
        }
        // A guard that turns towards zero and away again before the last sample may have crossed
        // and come back between samples (`extremum.rs`).
        let found = self.scan_extrema(model, q, p, n, stepper, t_hi)?;
        Ok(any || found)
    }

    /// The step just scanned had no event: its end is the next step's start.
    pub fn advance(&mut self) {
        std::mem::swap(&mut self.g_start, &mut self.g_end);
    }

    /// For a bracket that starts on zero at a restart point, move its start to a point where the
    /// guard is strictly on its armed side (halving towards the restart point). `None` when the
    /// excursion is below what the interpolant resolves: the guard is back at once.
    pub fn lift_from_zero<M: HybridSystem, S: Stepper>(
        &mut self,
        model: &M,
        q: usize,
        k: usize,
        p: &[f64],
        n: usize,
        stepper: &S,
        br: Bracket,
    ) -> Option<Bracket> {
        let side = self.side[k];
        let mut s = br.b;
        for _ in 0..60 {
            s = br.a + 0.5 * (s - br.a);
            if s <= br.a {
                break;
            }
            stepper.interpolate(s, &mut self.buf[..n]);
            let g = model.guard(q, k, s, &self.buf[..n], p);
            if sign(g) == side {
                return Some(Bracket {
                    a: s,
                    ga: g,
                    from_zero: false,
                    ..br
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dims, Scalar};

    /// `[y, v]` with `ẏ = v`, `v̇ = −1`; guard `y − p0` in the direction given.
    struct Line(Crossing);
    impl HybridSystem for Line {
        fn dims(&self) -> Dims {
            Dims {
                states: 2,
                params: 1,
                guards: 1,
            }
        }
        fn initial_state<T: Scalar>(&self, _p: &[T], x0: &mut [T]) {
            x0.fill(T::zero());
        }
        fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], _p: &[T], dx: &mut [T]) {
            dx[0] = x[1];
            dx[1] = -T::one();
        }
        fn guard<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], p: &[T]) -> T {
            x[0] - p[0]
        }
        fn direction(&self, _q: usize, _k: usize) -> Crossing {
            self.0
        }
        fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
            xp.copy_from_slice(x);
        }
    }

    #[test]
    fn crossing_needs_the_armed_side_and_reaching_zero() {
        assert!(fires(Crossing::Rising, -1.0, 0.0));
        assert!(!fires(Crossing::Rising, 1.0, -1.0));
        assert!(fires(Crossing::Falling, 1.0, -2.0));
        assert!(!fires(Crossing::Falling, 0.0, -2.0)); // not armed
        assert!(fires(Crossing::Either, -1.0, 1.0) && fires(Crossing::Either, 1.0, -1.0));
        assert!(into(Crossing::Rising, 1.0) && !into(Crossing::Falling, 1.0));
    }

    fn armed(dir: Crossing, y: f64, v: f64, own: bool) -> Result<(Vec<usize>, f64), Error> {
        let mut d = Detector::new(1, 2, 2, 1);
        d.probe().set_parameters(&[0.5]);
        let x = [y, v];
        let f = [v, -1.0];
        let fired = [Fired {
            guard: 0,
            g_minus: 0.0,
            gdot_minus: v,
        }];
        let fired: &[Fired] = if own { &fired } else { &[] };
        d.arm(&Line(dir), 0, 1.0, &x, &f, &[0.5], fired)?;
        Ok((d.immediate.clone(), d.side[0]))
    }

    #[test]
    fn a_guard_on_zero_takes_the_side_it_is_leaving_towards() {
        // Exactly on zero, moving up: armed from above for a falling guard (it may come back).
        assert_eq!(
            armed(Crossing::Falling, 0.5, 1.0, false).unwrap(),
            (vec![], 1.0)
        );
        // Moving down into a falling guard's direction: it fires at once ...
        assert_eq!(
            armed(Crossing::Falling, 0.5, -1.0, false).unwrap(),
            (vec![0], -1.0)
        );
        // ... unless its own jump left it there: that would repeat forever.
        let e = armed(Crossing::Falling, 0.5, -1.0, true).unwrap_err();
        assert!(matches!(e, Error::Retrigger { guard: 0, .. }), "{e:?}");
        // ġ = 0: the side comes from g̈ = −1, so a falling guard fires at once.
        assert_eq!(
            armed(Crossing::Falling, 0.5, 0.0, false).unwrap(),
            (vec![0], -1.0)
        );
        // A rounding short of zero and moving towards it: an ordinary crossing to come.
        let short = 0.5 - 1e-16;
        assert_eq!(
            armed(Crossing::Rising, short, 1.0, false).unwrap(),
            (vec![], -1.0)
        );
        // Clearly away from zero: its sign.
        assert_eq!(
            armed(Crossing::Rising, 2.0, -1.0, false).unwrap(),
            (vec![], 1.0)
        );
    }
}
