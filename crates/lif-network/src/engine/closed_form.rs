//! The LIF solution between events in closed form, the membrane maximum, and spike-time location.
//!
//! Between events Table 1's flow is linear (`docs/maths.md` §"Between events: the closed form"). From `(V0, I0)` at local
//! time 0:
//!
//! ```text
//! I(t) = I0 e^{-t/τs}
//! V(t) = V0 e^{-t/τm} + I0 K(t),   K(t) = τs/(τs - τm) (e^{-t/τs} - e^{-t/τm})
//!                                       = (t/τm) e^{-t/τm} φ(δ t),   δ = 1/τs - 1/τm,
//!                                  φ(x) = (1 - e^{-x})/x,  φ(0) = 1.
//! ```
//!
//! The second form of `K` is evaluated with `expm1`: it is accurate for every `t`, for `τm ≈ τs`,
//! and gives the degenerate solution `V = (V0 + I0 t/τ) e^{-t/τ}` exactly when `τm = τs` (`δ = 0`).
//! The adjoint of Table 2 between events uses the same three numbers in reverse time
//! (`λ_V ← e^{-t/τm} λ_V`, `λ_I ← e^{-t/τs} λ_I + K(t) λ_V`, see `backward.rs`), because the
//! convolution of two exponentials does not depend on their order.

use super::params::Kernel;

/// Number of chords of [`Kernel::max_chord_bound`].
pub(crate) const CHORDS: usize = 4;

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

/// `w^{1/3}` for `0 < w <= 1` (normal) to about `1e-14` relative: the exponent divided by
/// three in the bits (within 3.2 %), then two Halley steps `r ← r (r³ + 2w)/(2r³ + w)` (cubic
/// convergence: 2e-5, then ~1e-14, measured on random `w` down to `1e-16`); half the
/// instructions of `f64::cbrt`.
#[inline]
fn cbrt_unit(w: f64) -> f64 {
    let mut r = f64::from_bits(w.to_bits() / 3 + 0x2A9F_7893_782D_A1CE);
    for _ in 0..2 {
        let r3 = r * r * r;
        r *= (r3 + 2.0 * w) / (2.0 * r3 + w);
    }
    r
}

/// `1 - e^{-x}` for `0 <= x <= 1/64` by its Taylor polynomial to `x⁷/7!` (Horner's scheme on the
/// coefficients `(-1)^{k-1}/k!`, multiplications and additions only): the rest, `x⁸/8!`, is below
/// `6e-18` of the value, and the rounding within about one ulp of libm's `expm1` (unit test); the
/// short slots of the sweeps (most of them on MNIST-like inputs) need no `expm1`.
#[inline]
fn one_minus_exp_small(x: f64) -> f64 {
    const C: [f64; 7] = [
        1.0,
        -1.0 / 2.0,
        1.0 / 6.0,
        -1.0 / 24.0,
        1.0 / 120.0,
        -1.0 / 720.0,
        1.0 / 5040.0,
    ];
    x * (C[0] + x * (C[1] + x * (C[2] + x * (C[3] + x * (C[4] + x * (C[5] + x * C[6]))))))
}

/// `e^y` for `|y| <= 1e-4` by its Taylor polynomial to `y³/6` (the rest, `y⁴/24 <= 4.2e-18`, is
/// below half an ulp of 1).
#[inline]
fn exp_small(y: f64) -> f64 {
    1.0 + y * (1.0 + y * (0.5 + y * (1.0 / 6.0)))
}

/// The three numbers that carry a state across an inter-event interval of length `Δ`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Decay {
    /// `e^{-Δ/τm}`.
    pub mem: f64,
    /// `e^{-Δ/τs}`.
    pub syn: f64,
    /// `K(Δ)`, the voltage at `Δ` produced by a unit current at 0.
    pub cross: f64,
}

impl Decay {
    /// The decay over an interval of length zero, as `Kernel::decay(0.0)` and
    /// `Kernel::decay_pow(0.0)` give it.
    pub const IDENTITY: Decay = Decay {
        mem: 1.0,
        syn: 1.0,
        cross: 0.0,
    };

    /// Voltage at the end of the interval from `(v0, i0)` at its start.
    #[inline]
    pub fn voltage(&self, v0: f64, i0: f64) -> f64 {
        self.mem * v0 + self.cross * i0
    }
}

impl Kernel {
    /// `Decay` for an interval of length `dt >= 0`.
    #[inline]
    pub fn decay(&self, dt: f64) -> Decay {
        let mem = (-dt * self.inv_tau_mem).exp();
        let syn = (-dt * self.inv_tau_syn).exp();
        let x = self.delta * dt;
        let cross = if x == 0.0 {
            mem * dt * self.inv_tau_mem
        } else {
            // (t/τm) e^{-t/τm} (1 - e^{-δt})/(δt), with 1 - e^{-δt} = -expm1(-δt).
            mem * (-(-x).exp_m1()) / (self.delta * self.tau_mem)
        };
        Decay { mem, syn, cross }
    }

    /// `Decay` for an interval of length `dt >= 0` in the population sweeps:
    /// [`decay_pow`](Self::decay_pow) when [`pow`](Kernel::pow) is set, else
    /// [`decay`](Self::decay).
    #[inline]
    pub fn decay_swept(&self, dt: f64) -> Decay {
        if self.pow != 0 {
            self.decay_pow(dt)
        } else {
            self.decay(dt)
        }
    }

    /// `Decay` for an interval of length `dt >= 0` when `τm = n τs` ([`pow`](Kernel::pow) = n),
    /// with one transcendental call instead of three (none for `Δ <= τm/64`, where `u` comes from
    /// its Taylor polynomial, [`one_minus_exp_small`]).
    ///
    /// With `u = 1 - e^{-Δ/τm}`, `e^{-Δ/τs} = (1 - u)^n` and
    /// `K(Δ) = c ((1 - u)^n - (1 - u)) = u + u² Σ_{k=2..n} a_k u^{k-2}`,
    /// `a_k = (-1)^k C(n, k)/(1 - n)` (binomial expansion, `c = τs/(τs - τm) = 1/(1 - n)`): no
    /// cancellation for short intervals. For `Δ/τm >= 1/2` (`u > 0.39`) `e^{-Δ/τm}` comes from
    /// `exp` and `K = c (mem^n - mem)`, where `mem^n <= 0.61^{n-1} mem` keeps the two apart.
    #[inline]
    pub fn decay_pow(&self, dt: f64) -> Decay {
        let x = dt * self.inv_tau_mem;
        let n = self.pow;
        let pow = |m: f64| match n {
            2 => m * m,
            3 => m * m * m,
            4 => {
                let m2 = m * m;
                m2 * m2
            }
            _ => m.powi(n as i32),
        };
        if x < 0.5 {
            let u = if x <= 1.0 / 64.0 {
                one_minus_exp_small(x)
            } else {
                -(-x).exp_m1()
            };
            let mem = 1.0 - u;
            let a = &self.pow_coeffs;
            let q =
                a[0] + u * (a[1] + u * (a[2] + u * (a[3] + u * (a[4] + u * (a[5] + u * a[6])))));
            Decay {
                mem,
                syn: pow(mem),
                cross: u + u * u * q,
            }
        } else {
            let mem = (-x).exp();
            let syn = pow(mem);
            Decay {
                mem,
                syn,
                cross: (syn - mem) / (1.0 - f64::from(n)),
            }
        }
    }

    /// `(s/τm) φ(δ s) = (1 - e^{-δ s})/(δ τm)` (`s/τm` when `δ s = 0`), for any sign of `s`:
    /// `K(s) = e^{-s/τm}` times this.
    #[inline]
    pub fn phi_ratio(&self, s: f64) -> f64 {
        let x = self.delta * s;
        if x == 0.0 {
            s * self.inv_tau_mem
        } else {
            -(-x).exp_m1() / (self.delta * self.tau_mem)
        }
    }

    /// `(V(t), I(t))` from `(v0, i0)` at local time 0.
    #[cfg(test)]
    pub fn state_at(&self, v0: f64, i0: f64, t: f64) -> (f64, f64) {
        let d = self.decay(t);
        (d.voltage(v0, i0), d.syn * i0)
    }

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

    /// Time `t* > 0` of the membrane maximum (`V̇ = 0`, i.e. `V = I`) of a trajectory that rises at 0
    /// (`I0 > V0`, `I0 > 0`), with the maximum value `V(t*) = I(t*) = I0 e^{-t*/τs}`; `None` if `V`
    /// rises for ever (towards 0 from below) or does not rise.
    ///
    /// With two exponentials there is at most one stationary point. `V̇ = 0` gives
    /// `e^{-δ t*} = 1 - δ r` with `r = τs (I0 - V0)/I0`, so `t* = -ln(1 - δ r)/δ`, which tends to
    /// `r` as `δ → 0` (the degenerate case `t* = τ (1 - V0/I0)`). After a reset (`V0 = 0`)
    /// `r = τs` and `t* = τm τs ln(τm/τs)/(τm - τs)`: the factor relating `I0` to the maximum is
    /// kept in full, so a crossing right after a spike is not missed.
    #[inline]
    pub fn maximum(&self, v0: f64, i0: f64) -> Option<(f64, f64)> {
        if !(i0 > v0 && i0 > 0.0) {
            return None;
        }
        let r = self.tau_syn * (i0 - v0) / i0;
        let y = self.delta * r;
        let t = if y == 0.0 {
            r
        } else if y >= 1.0 {
            return None;
        } else {
            -(-y).ln_1p() / self.delta
        };
        (t.is_finite() && t > 0.0).then(|| (t, i0 * (-t * self.inv_tau_syn).exp()))
    }

    /// A cheap upper bound of the membrane maximum `V(t*)` of [`maximum`](Self::maximum), for
    /// `I0 > V0`, `I0 > 0`: `κ0 I0 + (1 - κ0) max(V0, 0)`.
    ///
    /// With `u = V0/I0` and `a = δ τs`, `V(t*)/I0 = g(u) = (1 - a (1 - u))^{1/a}` (`e^{u-1}` for
    /// `a = 0`), which is increasing and convex in `u` (`g'' ∝ (1/a)(1/a - 1) a² > 0`, or `e^{u-1}`).
    /// So `g(u) <= g(0) = κ0` for `u <= 0`, and `g` lies below its chord `κ0 + (1 - κ0) u` on
    /// `[0, 1]`. It saves the logarithm of `maximum` whenever the bound is below the threshold.
    #[inline]
    pub fn max_upper_bound(&self, v0: f64, i0: f64) -> f64 {
        self.kappa0 * i0 + (1.0 - self.kappa0) * v0.max(0.0)
    }

    /// A tighter upper bound of the membrane maximum than
    /// [`max_upper_bound`](Self::max_upper_bound), for `I0 > V0`, `I0 > 0`: the profile
    /// `g(u) = V(t*)/I0` at `u = max(V0, 0)/I0` (convex and increasing, see there) lies below its
    /// [`CHORDS`] chords between the nodes `u = k/CHORDS`, and every chord's line lies below `g`
    /// outside its own interval (convexity), so the bound is the largest of the lines,
    /// `max_k (α_k I0 + β_k max(V0, 0))`: branch-free, without a logarithm, and with a
    /// fifth to a tenth of the gap of `max_upper_bound` (unit test). The nodes are raised by
    /// `16 ε` (relative) against the rounding of the lines.
    #[inline]
    pub fn max_chord_bound(&self, v0: f64, i0: f64) -> f64 {
        let v = v0.max(0.0);
        let line = |[a, b]: [f64; 2]| a * i0 + b * v;
        // `f64::max` spends instructions on NaN, which the callers reject by `I0 > ϑ` anyway.
        let larger = |x: f64, y: f64| if x > y { x } else { y };
        let c = &self.chords;
        larger(
            larger(line(c[0]), line(c[1])),
            larger(line(c[2]), line(c[3])),
        )
    }

    /// The lines `(α_k, β_k)` of [`max_chord_bound`](Self::max_chord_bound), from the exact
    /// maxima at the nodes (`g(0) = κ0`; `g(1) = 1`: at `V0 = I0` the membrane starts falling);
    /// three logarithms per population and forward pass.
    pub(super) fn max_chords(&self) -> [[f64; 2]; CHORDS] {
        let raise = 1.0 + 16.0 * f64::EPSILON;
        let mut g = [1.0; CHORDS + 1];
        g[0] = self.kappa0;
        for (k, gk) in g.iter_mut().enumerate().take(CHORDS).skip(1) {
            *gk = self
                .maximum(k as f64 / CHORDS as f64, 1.0)
                .map_or(1.0, |(_, v)| v);
        }
        let mut lines = [[0.0; 2]; CHORDS];
        for (k, line) in lines.iter_mut().enumerate() {
            let (u0, u1) = (k as f64 / CHORDS as f64, (k + 1) as f64 / CHORDS as f64);
            let (g0, g1) = (g[k] * raise, g[k + 1] * raise);
            let slope = (g1 - g0) / (u1 - u0);
            *line = [g0 - slope * u0, slope];
        }
        lines
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

    /// [`maximum`](Self::maximum) as `(u*, V(t*))` with `u* = 1 - e^{-t*/τm}`, for
    /// `τm = n τs` with `n <= 4`, under the same conditions (`I0 > V0`, `I0 > 0`): `V̇ = 0`
    /// gives `e^{-δ t*} = 1 - y` with `y = δ τs (I0 - V0)/I0`, and `e^{-δ t} = (1 - u)^{n-1}`,
    /// so `u* = 1 - (1 - y)^{1/(n-1)}` (a square or cube root, [`cbrt_unit`]) and `V(t*)` is
    /// the polynomial of [`crossing_root_pow`](Self::crossing_root_pow) at `u*` (where its
    /// slope vanishes, so an error of `u*` moves it only to second order; the crossing search
    /// then brackets its root by this `u*` and this value, which agree with each other).
    #[inline]
    fn maximum_u(&self, v0: f64, i0: f64) -> Option<(f64, f64)> {
        let y = self.delta * (self.tau_syn * (i0 - v0) / i0);
        if !(y < 1.0) {
            return None;
        }
        let w = 1.0 - y;
        let root = match self.pow {
            2 => w,
            3 => w.sqrt(),
            _ => cbrt_unit(w),
        };
        let u = 1.0 - root;
        let a = &self.pow_coeffs;
        let q = a[0] + u * (a[1] + u * a[2]);
        let v = v0 * root + i0 * (u + u * u * q);
        (u > 0.0).then_some((u, v))
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
    use super::*;
    use crate::engine::params::LifParams;

    fn kernel(tau_mem: f64, tau_syn: f64) -> Kernel {
        LifParams {
            tau_mem,
            tau_syn,
            threshold: 1.0,
        }
        .kernel()
        .unwrap()
    }

    /// Oracle: the two-exponential textbook form, evaluated directly (valid for τm ≠ τs).
    fn textbook_v(tm: f64, ts: f64, v0: f64, i0: f64, t: f64) -> f64 {
        v0 * (-t / tm).exp() + i0 * ts / (ts - tm) * ((-t / ts).exp() - (-t / tm).exp())
    }

    #[test]
    fn expm1_kernel_matches_textbook_two_exponential_form() {
        let k = kernel(20.0, 5.0);
        for &t in &[0.0, 1e-3, 0.7, 5.0, 13.0, 60.0] {
            let (v, i) = k.state_at(0.3, 2.0, t);
            assert!(
                (v - textbook_v(20.0, 5.0, 0.3, 2.0, t)).abs() < 1e-14,
                "t = {t}"
            );
            assert!((i - 2.0 * (-t / 5.0).exp()).abs() < 1e-15);
        }
    }

    /// Oracle: `decay` (`exp`, `exp`, `expm1`) for every integer ratio `τm/τs` from 2 to 8,
    /// over short, medium (both sides of the switch at `Δ = τm/2`) and long intervals.
    #[test]
    fn one_call_decay_of_integer_time_constant_ratios_agrees_with_the_three_call_decay() {
        for n in 2..=8 {
            let k = kernel(5.0 * f64::from(n), 5.0);
            assert_eq!(k.pow, n);
            let half = 2.5 * f64::from(n);
            for dt in [
                0.0,
                1e-9,
                1e-3,
                0.7,
                5.0,
                half * (1.0 - 1e-15),
                half,
                37.0,
                200.0,
            ] {
                let (a, b) = (k.decay_pow(dt), k.decay(dt));
                for (x, y) in [(a.mem, b.mem), (a.syn, b.syn), (a.cross, b.cross)] {
                    let tol = 16.0 * f64::EPSILON * y.abs();
                    assert!((x - y).abs() <= tol, "n {n} dt {dt}: {x} {y}");
                }
            }
        }
        for (tm, ts) in [(20.0, 7.0), (10.0, 10.0), (5.0, 20.0), (45.0, 5.0)] {
            assert_eq!(kernel(tm, ts).pow, 0, "{tm} {ts}");
        }
    }

    /// Oracle: the definition (`e^0 = 1`, `K(0) = 0`), bit for bit, which is what lets the
    /// sweeps skip a slot of length zero (`Decay::IDENTITY`).
    #[test]
    fn decay_over_zero_length_is_exactly_the_identity() {
        let bits = |d: Decay| [d.mem.to_bits(), d.syn.to_bits(), d.cross.to_bits()];
        let id = bits(Decay::IDENTITY);
        assert_eq!(id, [1f64.to_bits(), 1f64.to_bits(), 0f64.to_bits()]);
        for (tm, ts) in [
            (20.0, 5.0),
            (20.0, 7.0),
            (10.0, 10.0),
            (5.0, 20.0),
            (40.0, 5.0),
        ] {
            let k = kernel(tm, ts);
            assert_eq!(bits(k.decay(0.0)), id, "{tm} {ts}");
            if k.pow != 0 {
                assert_eq!(bits(k.decay_pow(0.0)), id, "{tm} {ts}");
            }
        }
    }

    /// Oracle: `-expm1(-x)` (libm).
    #[test]
    fn one_minus_exp_of_short_intervals_is_within_2_ulps_of_libm() {
        for k in 0..=8192 {
            let x = f64::from(k) / 8192.0 / 64.0;
            let (a, b) = (one_minus_exp_small(x), -(-x).exp_m1());
            assert!((a - b).abs() <= 2.0 * f64::EPSILON * b, "{x}: {a} {b}");
        }
        assert_eq!(one_minus_exp_small(0.0), 0.0);
    }

    /// Oracle: `f64::cbrt` (libm).
    #[test]
    fn cube_root_of_the_unit_interval_is_within_2e_14_of_libm() {
        let mut w = 1.0_f64;
        while w > 1e-16 {
            for x in [w, w * 0.7, w * 0.37, w * 0.123] {
                let (a, b) = (cbrt_unit(x), x.cbrt());
                assert!((a - b).abs() <= 2e-14 * b, "{x}: {a} {b}");
            }
            w *= 0.5;
        }
    }

    #[test]
    fn degenerate_kernel_is_v0_plus_i0_t_over_tau_times_decay() {
        let k = kernel(10.0, 10.0);
        for t in [0.0_f64, 0.5, 10.0, 37.0] {
            let expected = (0.3 + 2.0 * t / 10.0) * (-t / 10.0).exp();
            assert!((k.state_at(0.3, 2.0, t).0 - expected).abs() < 1e-15);
        }
    }

    #[test]
    fn maximum_zeroes_the_textbook_derivative() {
        for (tm, ts) in [(20.0, 5.0), (5.0, 20.0), (10.0, 10.0), (20.0, 19.999999)] {
            let k = kernel(tm, ts);
            for (v0, i0) in [(0.0, 1.5), (0.4, 3.0), (-0.2, 2.0)] {
                let (t, v_max) = k.maximum(v0, i0).unwrap();
                let (v, i) = k.state_at(v0, i0, t);
                assert!((i - v).abs() < 1e-13, "τm {tm} τs {ts} v0 {v0} i0 {i0}");
                assert!((v_max - v).abs() < 1e-13);
            }
        }
        // After a reset: t* = τm τs ln(τm/τs)/(τm - τs).
        let (t, _) = kernel(20.0, 5.0).maximum(0.0, 2.0).unwrap();
        assert!((t - 100.0 * 4f64.ln() / 15.0).abs() < 1e-13);
    }

    #[test]
    fn max_upper_bound_is_above_the_exact_maximum_and_tight_after_a_reset() {
        for (tm, ts) in [(20.0, 5.0), (5.0, 20.0), (10.0, 10.0), (20.0, 19.0)] {
            let k = kernel(tm, ts);
            assert!((k.max_upper_bound(0.0, 3.0) - k.maximum(0.0, 3.0).unwrap().1).abs() < 1e-14);
            for v0 in [-2.0, -0.3, 0.0, 0.2, 0.9, 1.9, 2.9] {
                if let Some((_, v_max)) = k.maximum(v0, 3.0) {
                    assert!(
                        k.max_upper_bound(v0, 3.0) >= v_max * (1.0 - 1e-15),
                        "{tm} {ts} {v0}"
                    );
                }
            }
        }
    }

    /// Oracle: the exact maximum (`maximum`, a logarithm) on a fine grid of starting states,
    /// for apart, equal, close and reversed time constants.
    #[test]
    fn chord_bound_of_the_maximum_is_above_the_exact_maximum_and_below_the_single_chord() {
        for (tm, ts) in [
            (20.0, 5.0),
            (5.0, 20.0),
            (10.0, 10.0),
            (20.0, 19.0),
            (100.0, 1.0),
        ] {
            let k = kernel(tm, ts);
            let (mut worst, mut worst_loose) = (0.0_f64, 0.0_f64);
            for i0 in [0.3, 1.0, 1.7, 40.0] {
                for n in -50..1000 {
                    let v0 = i0 * n as f64 / 1000.0;
                    let Some((_, v_max)) = k.maximum(v0, i0) else {
                        continue;
                    };
                    let (tight, loose) = (k.max_chord_bound(v0, i0), k.max_upper_bound(v0, i0));
                    assert!(tight >= v_max, "{tm} {ts} {v0} {i0}: {tight} < {v_max}");
                    assert!(tight <= loose * (1.0 + 1e-14), "{tm} {ts} {v0} {i0}");
                    if v0 >= 0.0 {
                        // (Below 0 both bounds clamp `V0` to 0.)
                        worst = worst.max((tight - v_max) / i0);
                        worst_loose = worst_loose.max((loose - v_max) / i0);
                    }
                }
            }
            // Four chords: the largest gap is 4.6-11.6 times smaller than the single chord's
            // (5-16 % of the profile's curvature lies in each quarter).
            assert!(
                worst < worst_loose / 4.0,
                "{tm} {ts}: {worst} {worst_loose}"
            );
        }
    }

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
