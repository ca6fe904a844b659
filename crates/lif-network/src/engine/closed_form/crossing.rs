//! Spike-time location: the first threshold crossing of the closed form in an interval
//! ([`Crossing`], with its exponentials), or of the free solution until it decays, by
//! Halley's method safeguarded by bisection (in `u = 1 - e^{-t/τm}` when `τm = n τs`).

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

    /// Local time of the first threshold crossing in `[0, len]` from `(v0, i0)`, or `None`.
    ///
    /// `end` must be `self.decay(len)`. No crossing is missed: with a single stationary point per
    /// interval, the maximum of `V` on `[0, len]` is either `V(len)` or `V(t*)`, and both are
    /// checked exactly. Necessary condition first (cheap): `V ≤ max(V0, I0)` on the interval,
    /// so `I0 > ϑ` is needed when `V0 < ϑ`. A state already at or above threshold (only possible
    /// through rounding, or coincident recurrent spikes) fires at 0.
    #[inline]
    // The negated comparison is deliberate: a NaN state must take the "no crossing" branch.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    pub fn first_crossing(&self, v0: f64, i0: f64, len: f64, end: &Decay) -> Option<Crossing> {
        let thr = self.threshold;
        if v0 >= thr {
            return Some(Crossing::AT_ONCE);
        }
        if !(i0 > thr) {
            return None;
        }
        let v_end = end.voltage(v0, i0);
        if v_end >= thr {
            // V(0) < ϑ <= V(len): exactly one crossing (after an interior maximum V stays above
            // V(len)), so [0, len] brackets it.
            return Some(if self.pow != 0 {
                self.crossing_root_pow(v0, i0, 1.0 - end.mem, v_end)
            } else {
                self.crossing_root(v0, i0, len, v_end)
            });
        }
        // Still rising at the end (V̇0 > 0 as I0 > ϑ > V0): monotone, and below ϑ at the end.
        if end.syn * i0 >= v_end {
            return None;
        }
        // Falling at the end: the maximum is interior; the first crossing precedes it. Skip the
        // maximum's roots and divisions when even the chord bound of the maximum stays clearly
        // below threshold.
        if self.max_chord_bound(v0, i0) < thr * (1.0 - 8.0 * f64::EPSILON) {
            return None;
        }
        if (2..=4).contains(&self.pow) {
            // In `u` (see `maximum_u`): no logarithm, no exponential.
            let (u_max, v_max) = if v0 == 0.0 {
                (self.u_max_reset, self.kappa0 * i0)
            } else {
                self.maximum_u(v0, i0)?
            };
            return (u_max < 1.0 - end.mem && v_max >= thr)
                .then(|| self.crossing_root_pow(v0, i0, u_max, v_max));
        }
        // Right after a reset (`V0 = 0`) the maximum comes at the fixed delay `t*_0` with the
        // value `κ0 I0` (see `maximum`): no logarithm.
        let (ts, v_max) = if v0 == 0.0 {
            (self.t_max_reset, self.kappa0 * i0)
        } else {
            self.maximum(v0, i0)?
        };
        if !(ts < len && v_max >= thr) {
            return None;
        }
        Some(if self.pow == 0 {
            self.crossing_root(v0, i0, ts, v_max)
        } else if v0 == 0.0 {
            self.crossing_root_pow(v0, i0, self.u_max_reset, v_max)
        } else {
            self.crossing_root_pow(v0, i0, -(-ts * self.inv_tau_mem).exp_m1(), v_max)
        })
    }

    /// [`crossing_root`](Self::crossing_root) for `τm = n τs` ([`pow`](Kernel::pow) = n), in
    /// `u = 1 - e^{-t/τm}`: on `[0, u_hi]` (`u_hi` the bracket's end, `v_hi` the voltage there)
    /// `V(u) - ϑ = (V0 - ϑ) + (I0 - V0) u + I0 Σ_{k=2..n} a_k u^k` is a polynomial (see
    /// [`decay_pow`](Self::decay_pow)), so Halley's method, started from the root of its
    /// quadratic part and safeguarded by bisection as there, needs no transcendental call per
    /// step; the same stopping test (predicted error below half an ulp of `u`). Then
    /// `t = -τm ln(1 - u)` (`log1p`), `e^{-t/τm} = 1 - u` (from `exp` when `u > 1/2`, where
    /// `1 - u` would lose relative precision) and `e^{-t/τs} = (e^{-t/τm})^n`.
    fn crossing_root_pow(&self, v0: f64, i0: f64, u_hi: f64, v_hi: f64) -> Crossing {
        // The degree as a constant, so that Horner's loop below is unrolled.
        match self.pow {
            2 => self.root_u::<2>(v0, i0, u_hi, v_hi),
            3 => self.root_u::<3>(v0, i0, u_hi, v_hi),
            4 => self.root_u::<4>(v0, i0, u_hi, v_hi),
            5 => self.root_u::<5>(v0, i0, u_hi, v_hi),
            6 => self.root_u::<6>(v0, i0, u_hi, v_hi),
            7 => self.root_u::<7>(v0, i0, u_hi, v_hi),
            _ => self.root_u::<8>(v0, i0, u_hi, v_hi),
        }
    }

    /// [`crossing_root_pow`](Self::crossing_root_pow) for `pow = N`.
    fn root_u<const N: usize>(&self, v0: f64, i0: f64, u_hi: f64, v_hi: f64) -> Crossing {
        let thr = self.threshold;
        let n = N;
        let mut c = [0.0; 9];
        c[0] = v0 - thr;
        c[1] = i0 - v0;
        for (ck, ak) in c[2..=n].iter_mut().zip(&self.pow_coeffs) {
            *ck = i0 * ak;
        }
        let gap = thr - v0;
        let disc = c[1] * c[1] + 4.0 * c[2] * gap;
        let quad = if disc >= 0.0 {
            2.0 * gap / (c[1] + disc.sqrt())
        } else {
            f64::NAN
        };
        let (mut lo, mut hi) = (0.0_f64, u_hi);
        let mut u = if quad > 0.0 && quad < hi {
            quad
        } else {
            hi * (gap / (v_hi - v0)).clamp(0.0, 1.0)
        };
        for _ in 0..200 {
            // The polynomial and its first three derivatives (divided by 1, 2, 6) by Horner's
            // scheme from zeros, without its first steps, which only add zeros: with `u >= 0`
            // finite, `0 u + x` is `x`, so these are the same values.
            let (mut p, mut d1, mut d2, mut d3) = (c[n], 0.0, 0.0, 0.0);
            for (m, &ck) in (1..).zip(c[..n].iter().rev()) {
                if m >= 4 {
                    d3 = d3 * u + d2;
                } else if m == 3 {
                    d3 = d2;
                }
                if m >= 3 {
                    d2 = d2 * u + d1;
                } else if m == 2 {
                    d2 = d1;
                }
                if m >= 2 {
                    d1 = d1 * u + p;
                } else {
                    d1 = p;
                }
                p = p * u + ck;
            }
            if p == 0.0 {
                return self.crossing_at_u(u);
            }
            if p < 0.0 {
                lo = u;
            } else {
                hi = u;
            }
            // Halley's step; its next error is about |d3/d1 - (d2/d1)²| step³.
            let step = p * d1 / (d1 * d1 - p * d2);
            let next = u - step;
            if next > lo && next < hi {
                let h = d2 / d1;
                let cc = (d3 / d1 - h * h).abs();
                if cc * (step * step * step).abs() <= 0.5 * f64::EPSILON * next {
                    return self.crossing_at_u(next);
                }
                u = next;
            } else {
                u = lo + 0.5 * (hi - lo);
            }
            if hi - lo <= f64::EPSILON * hi {
                return self.crossing_at_u(u);
            }
        }
        self.crossing_at_u(u)
    }

    /// The [`Crossing`] at `u = 1 - e^{-t/τm}` when `τm = n τs`.
    #[inline]
    fn crossing_at_u(&self, u: f64) -> Crossing {
        let t = -self.tau_mem * (-u).ln_1p();
        let mem = if u > 0.5 {
            (-t * self.inv_tau_mem).exp()
        } else {
            1.0 - u
        };
        Crossing {
            t,
            mem,
            syn: mem.powi(self.pow as i32),
        }
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
