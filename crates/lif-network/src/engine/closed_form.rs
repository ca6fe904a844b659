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
//!
//! This file: the decay across an interval ([`Decay`]); `maximum.rs`: the membrane maximum and
//! its bounds; `crossing.rs`: the first threshold crossing (Halley root finding); `root_u.rs`:
//! its search in `u = 1 - e^{-t/τm}` when `τm = n τs`; `lanes.rs`: that search for several
//! neurons at once.

mod crossing;
mod lanes;
mod maximum;
mod root_u;

pub(crate) use crossing::{Bracket, Crossing};
pub(crate) use lanes::{MaxLanes, RootLanes, LANES};
pub(crate) use maximum::CHORDS;

use super::params::Kernel;

/// `m^n`, the bits of `m.powi(n)`: the library's `powi` (compiler-builtins' `__powidf2`)
/// multiplies by binary powering from 1, `m·m`, `m·(m·m)` and `(m·m)·(m·m)` for `n` = 2, 3, 4
/// (`1·x = x` exactly, products commute exactly), which these compute without the call.
#[inline]
pub(crate) fn pow_n(m: f64, n: u32) -> f64 {
    match n {
        2 => m * m,
        3 => m * (m * m),
        4 => {
            let m2 = m * m;
            m2 * m2
        }
        _ => m.powi(n as i32),
    }
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
        let pow = |m: f64| pow_n(m, n);
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::params::LifParams;

    pub(super) fn kernel(tau_mem: f64, tau_syn: f64) -> Kernel {
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

    /// Oracle: `f64::powi`, bit for bit.
    #[test]
    fn pow_n_gives_the_bits_of_powi() {
        let mut m = 1.0_f64;
        for _ in 0..2000 {
            m = (m * 0.997_3 + 1e-3).fract() + 1e-300;
            for x in [m, 1.0 - m, m * 1e-10, 0.0, 1.0] {
                for n in 1..=6 {
                    assert_eq!(pow_n(x, n).to_bits(), x.powi(n as i32).to_bits(), "{x} {n}");
                }
            }
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
}
