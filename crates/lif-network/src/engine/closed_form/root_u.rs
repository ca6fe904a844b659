//! The crossing search when `τm = n τs` ([`pow`](Kernel::pow) = n), in `u = 1 - e^{-t/τm}`:
//! `V(u) - ϑ` is a polynomial of degree `n`, whose root Halley's method finds without a
//! transcendental call per step. Its pieces (the coefficients, the start, Horner's scheme with
//! the derivatives, one safeguarded step) serve the scalar search here and the search in lanes
//! (`lanes.rs`) alike, so both give the same bits.

use super::crossing::Crossing;
use super::pow_n;
use crate::engine::params::Kernel;

/// The polynomial `Σ_{k<=N} c[k] u^k` and its first three derivatives (divided by 1, 2, 6) by
/// Horner's scheme from zeros, without its first steps, which only add zeros: with `u >= 0`
/// finite, `0 u + x` is `x`, so these are the same values.
#[inline(always)]
pub(super) fn derivatives<const N: usize>(c: &[f64; 9], u: f64) -> [f64; 4] {
    let mut pd = [c[N], 0.0, 0.0, 0.0];
    for (m, &ck) in (1..).zip(c[..N].iter().rev()) {
        pd = horner_step(m, ck, u, pd);
    }
    pd
}

/// Step `m` (from 1) of [`derivatives`], adding the coefficient `ck`: each derivative from the
/// one below it before that one's step.
#[inline(always)]
pub(super) fn horner_step(m: usize, ck: f64, u: f64, [p, d1, d2, d3]: [f64; 4]) -> [f64; 4] {
    let d3 = if m >= 4 {
        d3 * u + d2
    } else if m == 3 {
        d2
    } else {
        d3
    };
    let d2 = if m >= 3 {
        d2 * u + d1
    } else if m == 2 {
        d1
    } else {
        d2
    };
    let d1 = if m >= 2 { d1 * u + p } else { p };
    [p * u + ck, d1, d2, d3]
}

/// One iteration of `Kernel::root_u` from the polynomial and its derivatives `[p, d1, d2, d3]`
/// at `u` in the bracket `[lo, hi]`: whether it ends, and the next `u` (the root when it
/// ends) with the new bracket. `p = 0` ends at `u`; else the bracket's end with the sign of
/// `p` moves to `u`, and Halley's step, whose next error is about `|d3/d1 - (d2/d1)²| step³`,
/// ends when that is below half an ulp of the new iterate; bisection when the step leaves the
/// bracket; the end when the bracket is an ulp wide. Without branches (every quantity
/// computed, the outcome selected), so that it vectorises across lanes (`lanes.rs`).
#[inline(always)]
pub(super) fn halley_u(
    [p, d1, d2, d3]: [f64; 4],
    u: f64,
    lo: f64,
    hi: f64,
) -> (bool, f64, f64, f64) {
    let (lo, hi) = if p < 0.0 { (u, hi) } else { (lo, u) };
    let step = p * d1 / (d1 * d1 - p * d2);
    let next = u - step;
    let inside = (next > lo) & (next < hi);
    let h = d2 / d1;
    let cc = (d3 / d1 - h * h).abs();
    let converged = inside & (cc * (step * step * step).abs() <= 0.5 * f64::EPSILON * next);
    let bisect = lo + 0.5 * (hi - lo);
    let zero = p == 0.0;
    let u = if zero {
        u
    } else if inside {
        next
    } else {
        bisect
    };
    let end = zero | converged | (hi - lo <= f64::EPSILON * hi);
    (end, u, lo, hi)
}

impl Kernel {
    /// [`crossing_root`](Self::crossing_root) for `τm = n τs` ([`pow`](Kernel::pow) = n), in
    /// `u = 1 - e^{-t/τm}`: on `[0, u_hi]` (`u_hi` the bracket's end, `v_hi` the voltage there)
    /// `V(u) - ϑ = (V0 - ϑ) + (I0 - V0) u + I0 Σ_{k=2..n} a_k u^k` is a polynomial (see
    /// [`decay_pow`](Self::decay_pow)), so Halley's method, started from the root of its
    /// quadratic part and safeguarded by bisection as there, needs no transcendental call per
    /// step; the same stopping test (predicted error below half an ulp of `u`). Then
    /// `t = -τm ln(1 - u)` (`log1p`), `e^{-t/τm} = 1 - u` (from `exp` when `u > 1/2`, where
    /// `1 - u` would lose relative precision) and `e^{-t/τs} = (e^{-t/τm})^n`.
    pub(super) fn crossing_root_pow(&self, v0: f64, i0: f64, u_hi: f64, v_hi: f64) -> Crossing {
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
        let c = std::array::from_fn(|k| if k <= N { self.coeff_u(k, v0, i0) } else { 0.0 });
        let mut u = self.start_u([c[1], c[2]], v0, u_hi, v_hi);
        let (mut lo, mut hi) = (0.0_f64, u_hi);
        for _ in 0..200 {
            let (done, next, l, h) = halley_u(derivatives::<N>(&c, u), u, lo, hi);
            if done {
                return self.crossing_at_u(next);
            }
            (u, lo, hi) = (next, l, h);
        }
        self.crossing_at_u(u)
    }

    /// `c[k]`, the coefficient of `u^k` in `V(u) - ϑ` of [`root_u`](Self::root_u) (`k <= n`).
    #[inline(always)]
    pub(super) fn coeff_u(&self, k: usize, v0: f64, i0: f64) -> f64 {
        match k {
            0 => v0 - self.threshold,
            1 => i0 - v0,
            _ => i0 * self.pow_coeffs[k - 2],
        }
    }

    /// The start of [`root_u`](Self::root_u) from its coefficients `c1`, `c2`: the root of the
    /// quadratic part, or the secant of the bracket `[0, u_hi]` when that root is not inside.
    #[inline(always)]
    pub(super) fn start_u(&self, [c1, c2]: [f64; 2], v0: f64, u_hi: f64, v_hi: f64) -> f64 {
        let gap = self.threshold - v0;
        let disc = c1 * c1 + 4.0 * c2 * gap;
        let quad = if disc >= 0.0 {
            2.0 * gap / (c1 + disc.sqrt())
        } else {
            f64::NAN
        };
        if quad > 0.0 && quad < u_hi {
            quad
        } else {
            u_hi * (gap / (v_hi - v0)).clamp(0.0, 1.0)
        }
    }

    /// The [`Crossing`] at `u = 1 - e^{-t/τm}` when `τm = n τs`.
    #[inline]
    pub(crate) fn crossing_at_u(&self, u: f64) -> Crossing {
        let t = -self.tau_mem * (-u).ln_1p();
        let mem = if u > 0.5 {
            (-t * self.inv_tau_mem).exp()
        } else {
            1.0 - u
        };
        Crossing {
            t,
            mem,
            syn: pow_n(mem, self.pow),
        }
    }
}
