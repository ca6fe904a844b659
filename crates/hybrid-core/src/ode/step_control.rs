//! Pieces shared by the explicit Runge-Kutta steppers: stage combination, the scaled error norm,
//! the PI step-size controller and the initial step-size heuristic.
//!
//! All formulas follow Hairer, Nørsett & Wanner, *Solving Ordinary Differential Equations I*
//! (2nd ed., 1993), section II.4 "Practical error estimation and step size selection", and the
//! step-size control of their codes DOPRI5 and DOP853 (section II.10 for the PI controller).

use super::dim::Dim;

/// Components summed together by [`combine`] and [`weighted_sum_into`].
const CHUNK: usize = 8;

/// `Σ_j row[j] k_j[start + c]` for `c < W`, zero coefficients skipped, accumulated from
/// `j = 0` in a local array (registers) rather than in memory. `k` holds the stages
/// `k_j = k[j n..(j + 1) n]` one after the other.
#[inline(always)]
fn sum_block<const W: usize>(n: usize, row: &[f64], k: &[f64], start: usize) -> [f64; W] {
    let mut acc = [0.0; W];
    for (j, &a) in row.iter().enumerate() {
        if a != 0.0 {
            let o = j * n + start;
            let kj: &[f64; W] = k[o..o + W].try_into().expect("a block of W components");
            for c in 0..W {
                acc[c] += a * kj[c];
            }
        }
    }
    acc
}

/// `out[start + c] = x[start + c] + Σ_j (h row[j]) k_j[start + c]` for `c < W`, zero
/// coefficients skipped, accumulated from `x` in a local array (registers), the newest stage
/// last: the stage `k_{s-1}` just computed is one multiplication and one addition away from the
/// next stage's argument. A function of its own (not a closure) so that the compiler sees `out`,
/// `x` and `k` as distinct memory and may vectorise the block.
#[inline(always)]
fn combine_block<const W: usize>(
    n: usize,
    out: &mut [f64],
    x: &[f64],
    h: f64,
    row: &[f64],
    k: &[f64],
    start: usize,
) {
    let mut acc: [f64; W] = x[start..start + W]
        .try_into()
        .expect("a block of W components");
    for (j, &a) in row.iter().enumerate() {
        if a != 0.0 {
            let ha = h * a;
            let o = j * n + start;
            let kj: &[f64; W] = k[o..o + W].try_into().expect("a block of W components");
            for c in 0..W {
                acc[c] += ha * kj[c];
            }
        }
    }
    out[start..start + W].copy_from_slice(&acc);
}

/// `out[start + c] = Σ_j row[j] k_j[start + c]` for `c < W` (see [`combine_block`]).
#[inline(always)]
fn sum_into_block<const W: usize>(n: usize, out: &mut [f64], row: &[f64], k: &[f64], start: usize) {
    let sums = sum_block::<W>(n, row, k, start);
    out[start..start + W].copy_from_slice(&sums);
}

/// Run `$block::<W>(.., start)` over consecutive blocks covering `0..$n`: blocks of [`CHUNK`]
/// components, then one shorter block, each of a width known at compile time.
macro_rules! by_blocks {
    ($n:expr, $block:ident($($arg:expr),*)) => {{
        let n = $n;
        let mut start = 0;
        while start + CHUNK <= n {
            $block::<CHUNK>($($arg,)* start);
            start += CHUNK;
        }
        match n - start {
            0 => {}
            1 => $block::<1>($($arg,)* start),
            2 => $block::<2>($($arg,)* start),
            3 => $block::<3>($($arg,)* start),
            4 => $block::<4>($($arg,)* start),
            5 => $block::<5>($($arg,)* start),
            6 => $block::<6>($($arg,)* start),
            _ => $block::<7>($($arg,)* start),
        }
    }};
}

/// `out = x + Σ_j (h row[j]) k_j`: the argument of a stage, or the combined solution of a step.
///
/// Zero coefficients are skipped, so a sparse tableau row costs only its non-zero entries. The
/// sum runs over blocks of components held in registers, the stages in the inner loop
/// (contiguous, vectorisable loads); per component the operations and their order are those of
/// `x + (h a_0) k_0 + (h a_1) k_1 + ...` from `j = 0`. This form (rather than `x + h Σ_j a_j k_j`)
/// keeps the step's dependency chain short: each stage's argument is one multiplication and one
/// addition after the newest stage, where the other form needs two of each (docs/performance.md,
/// section 1b).
#[inline(always)]
pub(super) fn combine<L: Dim>(d: L, out: &mut [f64], x: &[f64], h: f64, row: &[f64], k: &[f64]) {
    let n = d.n();
    let (out, x, k) = (&mut out[..n], &x[..n], &k[..row.len() * n]);
    by_blocks!(n, combine_block(n, out, x, h, row, k));
}

/// `out = Σ_j row[j] k_j` (zero coefficients skipped), summed from `j = 0` starting at `0.0`
/// over blocks like [`combine`].
#[inline(always)]
pub(super) fn weighted_sum_into<L: Dim>(d: L, out: &mut [f64], row: &[f64], k: &[f64]) {
    weighted_sum_strided(d, d.n(), out, row, k);
}

/// [`weighted_sum_into`] for the first `d.n()` components of stages `n` apart
/// (`k_j = k[j n..j n + d.n()]`): the same operations per component.
#[inline(always)]
pub(super) fn weighted_sum_strided<L: Dim>(
    d: L,
    n: usize,
    out: &mut [f64],
    row: &[f64],
    k: &[f64],
) {
    let m = d.n();
    let (out, k) = (&mut out[..m], &k[..row.len() * n]);
    by_blocks!(m, sum_into_block(n, out, row, k));
}

/// Error scale of component `i`: `atol + rtol max(|x_i|, |x_new_i|)` (HNW I, eq. II.4.10).
pub(super) fn scale(atol: f64, rtol: f64, x: f64, x_new: f64) -> f64 {
    atol + rtol * x.abs().max(x_new.abs())
}

/// Whether every component is finite.
#[inline(always)]
#[allow(clippy::eq_op)] // `a - a` is the test itself, not a slip.
pub(super) fn all_finite<L: Dim>(d: L, v: &[f64]) -> bool {
    // `a - a` is 0 for a finite `a` and NaN otherwise; without short-circuit the comparisons
    // vectorise and there is one branch per vector, not per component.
    v[..d.n()].iter().fold(true, |ok, &a| ok & (a - a == 0.0))
}

/// `ln 1e-4`: the floor of the previous error in the PI controller.
const LN_ERR_FLOOR: f64 = -9.210_340_371_976_182;

/// The PI ("Lund-stabilised") step-size controller of DOPRI5/DOP853 (HNW I, eq. II.4.13 with the
/// `err_old^β` factor of section IV.2):
/// `h_new = h · clamp(safety · err^{-α} · err_old^{β}, fac_min, fac_max)`.
///
/// It is given the squared error `err²` (the mean square of the scaled error estimates, so no
/// square root), and forms the factor as one exponential, `exp(ln safety + β ln err_old −
/// (α/2) ln err²)`, whose part without the current error is computed when the previous step is
/// accepted. On the path from the error to the next step size there is then one logarithm, a
/// multiplication, a subtraction, the exponential, the clamp and a multiplication by `h` (no
/// square root and no division). The step size differs from the `powf` form by rounding only.
#[derive(Debug, Clone, Copy)]
pub(super) struct Controller {
    /// Exponent `α` applied to the current error (`1/q - 0.75 β` for an order-`q` estimate).
    pub alpha: f64,
    /// Exponent `β` of the previous accepted error (0 gives the classical I controller).
    pub beta: f64,
    /// Smallest factor between two successive step sizes.
    pub fac_min: f64,
    /// Largest factor between two successive step sizes.
    pub fac_max: f64,
    /// `ln` of the safety factor 0.9.
    ln_safety: f64,
    /// `ln` of the error of the previous accepted step (the error floored at 1e-4).
    pub ln_err_old: f64,
    /// `ln safety + β ln err_old`: the logarithm of an accepted step's factor before the current
    /// error's term.
    ln_gain: f64,
    /// Whether the previous attempt was rejected (then the step may not grow).
    pub rejected: bool,
}

impl Controller {
    /// A controller with the given exponents and factor bounds, in its just-reset state.
    pub fn new(alpha: f64, beta: f64, fac_min: f64, fac_max: f64) -> Self {
        let ln_safety = 0.9f64.ln();
        Controller {
            alpha,
            beta,
            fac_min,
            fac_max,
            ln_safety,
            ln_err_old: LN_ERR_FLOOR,
            ln_gain: ln_safety + beta * LN_ERR_FLOOR,
            rejected: false,
        }
    }

    /// Forget the history (after a reset of the integration).
    pub fn reset(&mut self) {
        self.ln_err_old = LN_ERR_FLOOR;
        self.ln_gain = self.ln_safety + self.beta * LN_ERR_FLOOR;
        self.rejected = false;
    }

    /// [`Self::decide`] on a step whose error is exactly zero (`err2 = 0`), without the
    /// logarithm and the exponential: accepted, the factor `exp(+∞)` clamped to `fac_max` (never
    /// grown after a rejection), the previous error floored. Returns the next step's magnitude,
    /// the bits `decide(0.0, h_abs)` gives.
    #[inline]
    pub fn accept_exact(&mut self, h_abs: f64) -> f64 {
        let mut h_new = h_abs * self.fac_max;
        if self.rejected {
            h_new = h_new.min(h_abs);
        }
        self.ln_err_old = LN_ERR_FLOOR;
        self.ln_gain = self.ln_safety + self.beta * LN_ERR_FLOOR;
        self.rejected = false;
        h_new
    }

    /// Decide on a step of magnitude `h_abs` with squared scaled error `err2 = err²`.
    /// Returns whether the step is accepted (`err ≤ 1`) and the magnitude of the next step to try.
    #[inline]
    pub fn decide(&mut self, err2: f64, h_abs: f64) -> (bool, f64) {
        // `-inf` for `err = 0`, whose factor `exp(+inf)` is then clamped like `0^{-α}`.
        let ln_err2 = err2.ln();
        let half_alpha = 0.5 * self.alpha;
        if err2 <= 1.0 {
            let fac = (self.ln_gain - half_alpha * ln_err2).exp();
            let mut h_new = h_abs * fac.clamp(self.fac_min, self.fac_max);
            if self.rejected {
                h_new = h_new.min(h_abs);
            }
            self.ln_err_old = (0.5 * ln_err2).max(LN_ERR_FLOOR);
            self.ln_gain = self.ln_safety + self.beta * self.ln_err_old;
            self.rejected = false;
            (true, h_new)
        } else {
            let fac = (self.ln_safety - half_alpha * ln_err2).exp();
            self.rejected = true;
            (false, h_abs * fac.max(self.fac_min))
        }
    }
}

/// RMS norm of `v` scaled by `atol + rtol |x_i|` (the norm of the initial step heuristic).
pub(super) fn rms_scaled(v: &[f64], x: &[f64], atol: f64, rtol: f64) -> f64 {
    let n = v.len().max(1) as f64;
    let s: f64 = v
        .iter()
        .zip(x)
        .map(|(vi, xi)| {
            let r = vi / (atol + rtol * xi.abs());
            r * r
        })
        .sum();
    (s / n).sqrt()
}

/// Hairer's initial step size for a method of order `order` (HNW I, section II.4, "Starting
/// step size"): `h0 = 0.01 ‖x‖/‖f‖`, an explicit Euler probe `f1 = f(t + h0, x + h0 f0)` estimates
/// the second derivative, and `h = min(100 h0, (0.01 / max(‖f0‖, ‖f''‖))^{1/order}, max_step)`.
///
/// `f0 = f(t, x)`; `x1` and `f1` are scratch space; only the first `n_err` components enter the
/// norms. Returns the signed step size (sign of
/// `direction`); a non-finite probe falls back to a tiny step `max(1e-3 h0, 1e-6)`.
pub(super) fn initial_step<F: FnMut(f64, &[f64], &mut [f64])>(
    rhs: &mut F,
    t: f64,
    x: &[f64],
    f0: &[f64],
    x1: &mut [f64],
    f1: &mut [f64],
    n_err: usize,
    order: i32,
    atol: f64,
    rtol: f64,
    max_step: f64,
    direction: f64,
) -> f64 {
    let d0 = rms_scaled(&x[..n_err], &x[..n_err], atol, rtol);
    let d1 = rms_scaled(&f0[..n_err], &x[..n_err], atol, rtol);
    let h0 = if d0 < 1e-5 || d1 < 1e-5 {
        1e-6
    } else {
        0.01 * d0 / d1
    };
    let h0 = h0.min(max_step);
    let hs = direction * h0;
    for i in 0..x.len() {
        x1[i] = x[i] + hs * f0[i];
    }
    rhs(t + hs, x1, f1);
    for i in 0..x.len() {
        x1[i] = f1[i] - f0[i];
    }
    let d2 = rms_scaled(&x1[..n_err], &x[..n_err], atol, rtol) / h0;
    let dmax = d1.max(d2);
    let h1 = if dmax.is_nan() || dmax <= 1e-15 {
        (h0 * 1e-3).max(1e-6)
    } else {
        (0.01 / dmax).powf(1.0 / f64::from(order))
    };
    direction * (100.0 * h0).min(h1).min(max_step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controller_never_grows_the_step_right_after_a_rejection() {
        let mut c = Controller::new(0.17, 0.04, 0.2, 10.0);
        // Errors 2 (rejected), then 1e-4 (accepted), passed squared.
        let (acc, h1) = c.decide(4.0, 1.0);
        assert!(!acc && h1 < 1.0);
        let (acc, h2) = c.decide(1e-8, h1);
        assert!(acc);
        assert_eq!(h2, h1);
    }

    #[test]
    fn all_finite_rejects_every_infinity_and_nan_and_nothing_else() {
        use super::super::dim::{Dyn, Fixed};
        let finite = [f64::MAX, -f64::MAX, f64::MIN_POSITIVE / 4.0, -0.0];
        assert!(all_finite(Fixed::<4>, &finite) && all_finite(Dyn(4), &finite));
        for bad in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
            for i in 0..4 {
                let mut v = finite;
                v[i] = bad;
                assert!(!all_finite(Fixed::<4>, &v), "{v:?}");
                assert!(!all_finite(Dyn(4), &v), "{v:?}");
            }
        }
    }

    #[test]
    fn error_floor_is_ln_of_1e_minus_4() {
        assert!((LN_ERR_FLOOR - 1e-4f64.ln()).abs() <= 2.0 * f64::EPSILON * LN_ERR_FLOOR.abs());
    }

    /// The step factor against the `powf` form of HNW I eq. (II.4.13) with `err_old^β`, over
    /// errors from 1e-12 to 1e3 (accepted and rejected) and a range of previous errors.
    #[test]
    fn controller_matches_the_powf_formula_to_rounding() {
        let (alpha, beta, fac_min, fac_max) = (0.17, 0.04, 0.2, 10.0);
        for prev in [1e-9, 1e-4, 0.01, 0.3, 1.0] {
            for e in -12..=3 {
                for m in [1.0, 2.5, 7.0] {
                    let err = m * 10f64.powi(e);
                    let mut c = Controller::new(alpha, beta, fac_min, fac_max);
                    // An accepted step with error `prev` sets the history (errors passed squared).
                    c.decide(prev * prev, 1.0);
                    let (accepted, h) = c.decide(err * err, 1.0);
                    let old = prev.max(1e-4);
                    let expected = if err <= 1.0 {
                        let fac = err.powf(alpha) / old.powf(beta) / 0.9;
                        1.0 / fac.clamp(1.0 / fac_max, 1.0 / fac_min)
                    } else {
                        1.0 / (err.powf(alpha) / 0.9).min(1.0 / fac_min)
                    };
                    assert_eq!(accepted, err <= 1.0);
                    assert!(
                        (h - expected).abs() <= 1e-14 * expected,
                        "err {err}, prev {prev}: {h} vs {expected}"
                    );
                }
            }
        }
    }

    /// The exact step's shortcut gives `decide(0, h)`'s bits and leaves the controller as it.
    #[test]
    fn accepting_an_exact_step_is_deciding_on_a_zero_error() {
        for (alpha, beta, fac_min, fac_max) in [(0.17, 0.04, 0.2, 10.0), (0.125, 0.0, 0.333, 6.0)] {
            for before in [None, Some(1e-6), Some(4.0)] {
                let mut a = Controller::new(alpha, beta, fac_min, fac_max);
                if let Some(err2) = before {
                    a.decide(err2, 0.3);
                }
                let mut b = a;
                for h in [0.3, 1e-9, 7.5] {
                    let (accepted, want) = a.decide(0.0, h);
                    assert!(accepted);
                    assert_eq!(
                        b.accept_exact(h).to_bits(),
                        want.to_bits(),
                        "{before:?} {h}"
                    );
                    assert_eq!(a.ln_gain.to_bits(), b.ln_gain.to_bits());
                    assert_eq!(a.ln_err_old.to_bits(), b.ln_err_old.to_bits());
                    assert_eq!(a.rejected, b.rejected);
                }
            }
        }
    }

    #[test]
    fn controller_factor_is_bounded() {
        // Squared errors: 0, 1e12 (error 1e6), 1.
        let mut c = Controller::new(0.2, 0.0, 0.2, 10.0);
        assert_eq!(c.decide(0.0, 1.0), (true, 10.0));
        let (acc, h) = c.decide(1e12, 1.0);
        assert!(!acc);
        assert!((h - 0.2).abs() < 1e-15);
        // err = 1 exactly: accepted, shrink by the safety factor only.
        let mut c = Controller::new(0.2, 0.0, 0.2, 10.0);
        let (acc, h) = c.decide(1.0, 1.0);
        assert!(acc && (h - 0.9).abs() < 1e-15);
    }
}
