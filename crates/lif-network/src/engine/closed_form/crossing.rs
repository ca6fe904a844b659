//! Spike-time location: the first threshold crossing of the closed form in an interval
//! ([`Crossing`], with its exponentials), or of the free solution until it decays, by
//! Halley's method safeguarded by bisection (in `u = 1 - e^{-t/τm}` when `τm = n τs`,
//! `root_u.rs`).

use super::Decay;
use crate::engine::params::Kernel;

/// A threshold crossing at local time `t` with its two exponentials `e^{-t/τm}`, `e^{-t/τs}`,
/// which the root finder has (nearly) at hand from its last evaluation (`Kernel::crossing_root`):
/// the sweeps decay the current to the spike and the rest of the slot with them instead of
/// three or four more transcendental calls.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Crossing {
    pub t: f64,
    /// `e^{-t/τm}`.
    pub mem: f64,
    /// `e^{-t/τs}`.
    pub syn: f64,
}

impl Crossing {
    /// A crossing at the start of the interval.
    pub const AT_ONCE: Crossing = Crossing {
        t: 0.0,
        mem: 1.0,
        syn: 1.0,
    };
}

/// Where the first threshold crossing of an interval lies ([`Kernel::bracket`]): nowhere, at
/// the start, or in a bracket of its root with a single sign change of `V - ϑ`, from `V(0) < ϑ`
/// to `V = v_hi >= ϑ` at the bracket's end (in time for [`Kernel::crossing_root`], in
/// `u = 1 - e^{-t/τm}` for [`Kernel::crossing_root_pow`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Bracket {
    Never,
    AtOnce,
    Time { hi: f64, v_hi: f64 },
    Pow { u_hi: f64, v_hi: f64 },
}

/// `e^y` for `|y| <= 1e-4` by its Taylor polynomial to `y³/6` (the rest, `y⁴/24 <= 4.2e-18`, is
/// below half an ulp of 1).
#[inline]
fn exp_small(y: f64) -> f64 {
    1.0 + y * (1.0 + y * (0.5 + y * (1.0 / 6.0)))
}

impl Kernel {
    /// `(V(t), I(t), e^{-t/τm}, e^{-t/τs})` from `(v0, i0)` with two transcendental calls
    /// (`exp`, `expm1`), for the root finder; `I` is slightly less accurate than with
    /// [`state_at`](Self::state_at) when `e^{-δt}` underflows towards 0, which only affects the
    /// Newton slope.
    #[inline]
    fn state_fast(&self, v0: f64, i0: f64, t: f64) -> (f64, f64, f64, f64) {
        let mem = (-t * self.inv_tau_mem).exp();
        let x = self.delta * t;
        if x == 0.0 {
            return (mem * (v0 + i0 * t * self.inv_tau_mem), mem * i0, mem, mem);
        }
        let e = (-x).exp_m1();
        let cross = mem * (-e) / (self.delta * self.tau_mem);
        let syn = mem * (1.0 + e);
        (mem * v0 + cross * i0, syn * i0, mem, syn)
    }

    /// The [`Crossing`] at `t` from the exponentials `(mem, syn)` at a nearby evaluated time
    /// `t_e`: multiplied by the Taylor polynomials of `e^{-(t - t_e)/τ}` when `|t - t_e|/τ <=
    /// 1e-4` (a Halley step that met the stopping test is far shorter), else by `exp`.
    #[inline]
    fn crossing_near(&self, t: f64, t_e: f64, mem: f64, syn: f64) -> Crossing {
        let h = t_e - t;
        let (ym, ys) = (h * self.inv_tau_mem, h * self.inv_tau_syn);
        if ym.abs().max(ys.abs()) <= 1e-4 {
            Crossing {
                t,
                mem: mem * exp_small(ym),
                syn: syn * exp_small(ys),
            }
        } else {
            Crossing {
                t,
                mem: (-t * self.inv_tau_mem).exp(),
                syn: (-t * self.inv_tau_syn).exp(),
            }
        }
    }

    /// Local time of the first threshold crossing in `[0, len]` from `(v0, i0)`, or `None`:
    /// the root in the [`bracket`](Self::bracket) of the interval.
    ///
    /// `end` must be `self.decay(len)`.
    #[inline]
    pub fn first_crossing(&self, v0: f64, i0: f64, len: f64, end: &Decay) -> Option<Crossing> {
        self.root_in(v0, i0, self.bracket(v0, i0, len, end))
    }

    /// The first crossing from `(v0, i0)` in its bracket `b` ([`bracket`](Self::bracket)).
    #[inline]
    pub fn root_in(&self, v0: f64, i0: f64, b: Bracket) -> Option<Crossing> {
        match b {
            Bracket::Never => None,
            Bracket::AtOnce => Some(Crossing::AT_ONCE),
            Bracket::Time { hi, v_hi } => Some(self.crossing_root(v0, i0, hi, v_hi)),
            Bracket::Pow { u_hi, v_hi } => Some(self.crossing_root_pow(v0, i0, u_hi, v_hi)),
        }
    }

    /// Where [`first_crossing`](Self::first_crossing) looks for the first threshold crossing
    /// in `[0, len]` from `(v0, i0)`.
    ///
    /// `end` must be `self.decay(len)`. No crossing is missed: with a single stationary point per
    /// interval, the maximum of `V` on `[0, len]` is either `V(len)` or `V(t*)`, and both are
    /// checked exactly. Necessary condition first (cheap): `V ≤ max(V0, I0)` on the interval,
    /// so `I0 > ϑ` is needed when `V0 < ϑ`. A state already at or above threshold (only possible
    /// through rounding, or coincident recurrent spikes) fires at 0.
    #[inline]
    // The negated comparison is deliberate: a NaN state must take the "no crossing" branch.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    pub fn bracket(&self, v0: f64, i0: f64, len: f64, end: &Decay) -> Bracket {
        let thr = self.threshold;
        if v0 >= thr {
            return Bracket::AtOnce;
        }
        if !(i0 > thr) {
            return Bracket::Never;
        }
        let v_end = end.voltage(v0, i0);
        if v_end >= thr {
            // V(0) < ϑ <= V(len): exactly one crossing (after an interior maximum V stays above
            // V(len)), so [0, len] brackets it.
            return if self.pow != 0 {
                Bracket::Pow {
                    u_hi: 1.0 - end.mem,
                    v_hi: v_end,
                }
            } else {
                Bracket::Time {
                    hi: len,
                    v_hi: v_end,
                }
            };
        }
        // Still rising at the end (V̇0 > 0 as I0 > ϑ > V0): monotone, and below ϑ at the end.
        if end.syn * i0 >= v_end {
            return Bracket::Never;
        }
        // Falling at the end: the maximum is interior; the first crossing precedes it. Skip the
        // maximum's roots and divisions when even the chord bound of the maximum stays clearly
        // below threshold.
        if self.max_chord_bound(v0, i0) < thr * (1.0 - 8.0 * f64::EPSILON) {
            return Bracket::Never;
        }
        if (2..=4).contains(&self.pow) {
            // In `u` (see `maximum_u`): no logarithm, no exponential.
            let (u_max, v_max) = if v0 == 0.0 {
                (self.u_max_reset, self.kappa0 * i0)
            } else {
                let Some(m) = self.maximum_u(v0, i0) else {
                    return Bracket::Never;
                };
                m
            };
            return if u_max < 1.0 - end.mem && v_max >= thr {
                Bracket::Pow {
                    u_hi: u_max,
                    v_hi: v_max,
                }
            } else {
                Bracket::Never
            };
        }
        // Right after a reset (`V0 = 0`) the maximum comes at the fixed delay `t*_0` with the
        // value `κ0 I0` (see `maximum`): no logarithm.
        let (ts, v_max) = if v0 == 0.0 {
            (self.t_max_reset, self.kappa0 * i0)
        } else {
            let Some(m) = self.maximum(v0, i0) else {
                return Bracket::Never;
            };
            m
        };
        if !(ts < len && v_max >= thr) {
            return Bracket::Never;
        }
        let u_hi = if self.pow == 0 {
            return Bracket::Time {
                hi: ts,
                v_hi: v_max,
            };
        } else if v0 == 0.0 {
            self.u_max_reset
        } else {
            -(-ts * self.inv_tau_mem).exp_m1()
        };
        Bracket::Pow { u_hi, v_hi: v_max }
    }

    /// Local time of the first threshold crossing of the free solution from `(v0, i0)` on
    /// `[0, ∞)`, or `None`; the forward queue's exact search at a check, where the interval
    /// ends only with the simulation.
    ///
    /// Without an interval end, the end state (three transcendental calls) is not needed: `V`
    /// tends to 0 < ϑ, so with `V0 < ϑ` it crosses only while rising to its one maximum, iff
    /// the maximum reaches `ϑ`; the root is bracketed by `[0, t*]`. (Without a maximum, `V`
    /// rises for ever towards 0 and never crosses.)
    #[inline]
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    pub fn next_crossing(&self, v0: f64, i0: f64) -> Option<f64> {
        let thr = self.threshold;
        if v0 >= thr {
            return Some(0.0);
        }
        if !(i0 > thr) || self.max_chord_bound(v0, i0) < thr * (1.0 - 8.0 * f64::EPSILON) {
            return None;
        }
        let (ts, v_max) = self.maximum(v0, i0)?;
        (v_max >= thr).then(|| self.crossing_root(v0, i0, ts, v_max).t)
    }

    /// The root of `V(t) = ϑ` on `[0, hi]`, where `V(0) < ϑ <= V(hi) = v_hi` with a single sign
    /// change: Halley's method (the derivatives of `V` follow from `V` and `I` without further
    /// exponentials), safeguarded by bisection. It stops when the predicted error of the last
    /// iterate is below half an ulp: full double precision, usually after two or three steps.
    /// The root's exponentials come from the last evaluation ([`crossing_near`](Self::crossing_near)).
    fn crossing_root(&self, v0: f64, i0: f64, hi: f64, v_hi: f64) -> Crossing {
        let thr = self.threshold;
        let (mut lo, mut hi) = (0.0_f64, hi);
        // Start: second-order Taylor expansion of V at 0 (no exponential needed), or the secant
        // between the bracket ends when that has no root inside the bracket.
        let d1 = (i0 - v0) * self.inv_tau_mem;
        let d2 = (-i0 * self.inv_tau_syn - d1) * self.inv_tau_mem;
        let gap = thr - v0;
        let disc = d1 * d1 + 2.0 * d2 * gap;
        let taylor = if disc >= 0.0 {
            2.0 * gap / (d1 + disc.sqrt())
        } else {
            f64::NAN
        };
        let mut t = if taylor > 0.0 && taylor < hi {
            taylor
        } else {
            hi * (gap / (v_hi - v0)).clamp(0.0, 1.0)
        };
        let (mut t_e, mut mem, mut syn) = (0.0, 1.0, 1.0);
        for _ in 0..200 {
            let (v, i);
            (v, i, mem, syn) = self.state_fast(v0, i0, t);
            t_e = t;
            let f = v - thr;
            if f == 0.0 {
                return Crossing { t, mem, syn };
            }
            if f < 0.0 {
                lo = t;
            } else {
                hi = t;
            }
            let vdot = (i - v) * self.inv_tau_mem;
            let vddot = (-i * self.inv_tau_syn - vdot) * self.inv_tau_mem;
            let v3dot = (i * self.inv_tau_syn * self.inv_tau_syn - vddot) * self.inv_tau_mem;
            // Halley's step (cubic convergence); its next error is about |c| step³ with
            // c = f'''/(6 f') - (f''/(2 f'))².
            let step = 2.0 * f * vdot / (2.0 * vdot * vdot - f * vddot);
            let next = t - step;
            if next > lo && next < hi {
                let h = vddot / (2.0 * vdot);
                let c = (v3dot / (6.0 * vdot) - h * h).abs();
                if c * (step * step * step).abs() <= 0.5 * f64::EPSILON * next {
                    return self.crossing_near(next, t_e, mem, syn);
                }
                t = next;
            } else {
                t = lo + 0.5 * (hi - lo);
            }
            if hi - lo <= f64::EPSILON * hi {
                return self.crossing_near(t, t_e, mem, syn);
            }
        }
        self.crossing_near(t, t_e, mem, syn)
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::closed_form::tests::kernel;

    /// Oracle: `first_crossing` over an interval longer than any rise (its bracket is the
    /// interval or the maximum, so the two roots agree to the root finder's precision), and
    /// both roots leave a residual `|V - ϑ| <= 8 ε` by `state_at`. For `τm = 4 τs` (`pow`)
    /// `first_crossing` evaluates `V` as a polynomial in `u = 1 - e^{-t/τm}` and `next_crossing`
    /// by `exp` and `expm1`: two evaluations that each err by a few `ε` in `V`, so the roots
    /// agree to that error over `|V̇|` (the root's condition), not to a few ulps of `t`.
    #[test]
    fn next_crossing_without_interval_end_agrees_with_first_crossing_over_a_long_interval() {
        for (tm, ts) in [(20.0, 5.0), (5.0, 20.0), (10.0, 10.0), (20.0, 19.0)] {
            let k = kernel(tm, ts);
            let end = k.decay(2000.0);
            let mut found = 0;
            for v0 in [-1.0, -0.2, 0.0, 0.3, 0.8, 0.99, 1.0, 1.2] {
                for i0 in [-1.0, 0.5, 1.0, 1.01, 1.2, 1.6, 2.0, 3.0, 8.0, 40.0] {
                    let a = k.next_crossing(v0, i0);
                    let b = k.first_crossing(v0, i0, 2000.0, &end).map(|c| c.t);
                    assert_eq!(a.is_some(), b.is_some(), "{tm} {ts} {v0} {i0}");
                    if let (Some(a), Some(b)) = (a, b) {
                        found += 1;
                        let (v, i) = k.state_at(v0, i0, a);
                        let vdot = (i - v) / tm;
                        let cond = if k.pow == 0 {
                            0.0
                        } else {
                            8.0 * f64::EPSILON / vdot.abs()
                        };
                        let tol = 4.0 * f64::EPSILON * b.max(1.0) + cond;
                        assert!((a - b).abs() <= tol, "{tm} {ts} {v0} {i0}: {a} {b}");
                        if a > 0.0 {
                            for t in [a, b] {
                                let v = k.state_at(v0, i0, t).0;
                                assert!((v - 1.0).abs() <= 8.0 * f64::EPSILON, "V = {v}");
                            }
                        }
                    }
                }
            }
            assert!(found > 10, "{found} crossings");
        }
    }

    #[test]
    fn crossing_is_the_threshold_root_and_grazing_peaks_below_threshold_do_not_fire() {
        let k = kernel(20.0, 5.0);
        let end = k.decay(30.0);
        let t = k.first_crossing(0.0, 10.0, 30.0, &end).unwrap().t;
        assert!((k.state_at(0.0, 10.0, t).0 - 1.0).abs() <= 4.0 * f64::EPSILON);
        // V rises above ϑ and falls back below it inside the interval: fires before t*.
        let (ts, _) = k.maximum(0.0, 10.0).unwrap();
        assert!(t < ts && end.voltage(0.0, 10.0) < 1.0);
        // A peak just below threshold: after a reset (V0 = 0) the peak is
        // V(t*) = I(t*) = I0 (τs/τm)^{τm/(τm-τs)}, so I0 slightly below ϑ 4^{4/3} does not fire ...
        let i_crit = 4f64.powf(4.0 / 3.0);
        assert!(k
            .first_crossing(0.0, i_crit * (1.0 - 1e-9), 30.0, &end)
            .is_none());
        // ... and slightly above fires, although V(0) and V(30) are both far below ϑ.
        assert!(k
            .first_crossing(0.0, i_crit * (1.0 + 1e-9), 30.0, &end)
            .is_some());
    }
}
