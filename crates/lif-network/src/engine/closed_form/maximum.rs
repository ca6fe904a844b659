//! The membrane maximum of the closed form between events: its time and value, exactly
//! (`V̇ = 0`), and the cheap upper bounds (single chord, four chords) that spare the logarithm
//! when they stay below the threshold.

use crate::engine::params::Kernel;

/// Number of chords of [`Kernel::max_chord_bound`].
pub(crate) const CHORDS: usize = 4;

/// `w^{1/3}` for `0 < w <= 1` (normal) to about `1e-14` relative: the exponent divided by
/// three in the bits (within 3.2 %), then two Halley steps `r ← r (r³ + 2w)/(2r³ + w)` (cubic
/// convergence: 2e-5, then ~1e-14, measured on random `w` down to `1e-16`); half the
/// instructions of `f64::cbrt`.
#[inline]
pub(super) fn cbrt_unit(w: f64) -> f64 {
    let mut r = f64::from_bits(w.to_bits() / 3 + 0x2A9F_7893_782D_A1CE);
    for _ in 0..2 {
        let r3 = r * r * r;
        r *= (r3 + 2.0 * w) / (2.0 * r3 + w);
    }
    r
}

impl Kernel {
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
    pub(crate) fn max_chords(&self) -> [[f64; 2]; CHORDS] {
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

    /// [`maximum`](Self::maximum) as `(u*, V(t*))` with `u* = 1 - e^{-t*/τm}`, for
    /// `τm = n τs` with `n <= 4`, under the same conditions (`I0 > V0`, `I0 > 0`): `V̇ = 0`
    /// gives `e^{-δ t*} = 1 - y` with `y = δ τs (I0 - V0)/I0`, and `e^{-δ t} = (1 - u)^{n-1}`,
    /// so `u* = 1 - (1 - y)^{1/(n-1)}` (a square or cube root, [`cbrt_unit`]) and `V(t*)` is
    /// the polynomial of [`crossing_root_pow`](Self::crossing_root_pow) at `u*` (where its
    /// slope vanishes, so an error of `u*` moves it only to second order; the crossing search
    /// then brackets its root by this `u*` and this value, which agree with each other).
    #[inline]
    pub(crate) fn maximum_u(&self, v0: f64, i0: f64) -> Option<(f64, f64)> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::closed_form::tests::kernel;

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
}
