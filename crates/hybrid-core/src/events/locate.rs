//! Event location: bracketing on the dense output, then a polish on the full-order step
//! (docs/maths.md, "Event location").

/// Relative width (of the starting bracket) to which the root of the guard on the interpolant
/// is searched before the polish. The polish's Newton step squares the distance to the root of
/// the full-order step function (the interpolant's own error, about the tolerances, and this
/// width), so a root found to `1e-12` of the bracket gives the same 4-ulp event time as one
/// found to 4 ulps, after fewer guard evaluations (measured with Illinois, whose superlinear
/// convergence saves only the last one or few: for the bench's ball, 35 instead of 43
/// interpolant evaluations per gradient, 3 events; docs/performance.md, section 7). The search
/// is now [`safeguarded_newton`]: 14 evaluations per gradient for the same ball.
pub(crate) const INTERPOLANT_ROOT_WIDTH: f64 = 1e-12;

/// Find a root of `g` in `[a, b]` with `g(a)` and `g(b)` of opposite sign (or `g(b) == 0`), by
/// the Illinois variant of regula falsi, until the bracket is no wider than `width` or a few
/// ulps of `t` (`width = 0`: to the ulps).
///
/// Returns the end `b` of the final bracket, the side that started at `gb`; the bracket is then
/// within `width` (or a few ulps) of the root, so either end is the root to that accuracy.
pub(crate) fn illinois<F: FnMut(f64) -> f64>(
    mut g: F,
    mut a: f64,
    mut ga: f64,
    mut b: f64,
    mut gb: f64,
    width: f64,
) -> f64 {
    if gb == 0.0 {
        return b;
    }
    let mut side = 0i8;
    for _ in 0..200 {
        // The bracket is done when no wider than `max(width, 4 ulps)`; written without
        // `f64::max`/`min`/`signum` (their NaN handling costs more than the rest of an iteration
        // on the interpolant), with the same outcome for every input, NaN included.
        // (With a NaN end `d` is NaN and no comparison holds, whatever the scale.)
        let d = (b - a).abs();
        let (abs_a, abs_b) = (a.abs(), b.abs());
        let scale = if abs_a > abs_b { abs_a } else { abs_b };
        let scale = if scale > f64::MIN_POSITIVE {
            scale
        } else {
            f64::MIN_POSITIVE
        };
        if d <= width || d <= 4.0 * f64::EPSILON * scale {
            break;
        }
        let mut c = (a * gb - b * ga) / (gb - ga);
        if !((c > a && c < b) || (c > b && c < a)) {
            c = 0.5 * (a + b);
        }
        let gc = g(c);
        if gc == 0.0 {
            return c;
        }
        if same_sign(gc, gb) {
            b = c;
            gb = gc;
            if side == 1 {
                ga *= 0.5;
            }
            side = 1;
        } else {
            a = c;
            ga = gc;
            if side == -1 {
                gb *= 0.5;
            }
            side = -1;
        }
    }
    b
}

/// Find a root of `g` in `[a, b]` with `g(a)` and `g(b)` of opposite sign (or `g(b) == 0`) by
/// Newton's method kept inside the bracket: `rate(t)` returns `g(t)` and an approximation `ġ(t)`
/// of its derivative (on the interpolant, the guard's rate along the flow, which differs from
/// the interpolant's own derivative by the interpolant's error).
///
/// From the secant point of the bracket, each evaluation narrows the bracket by the sign of `g`
/// and proposes `t − g/ġ`; a proposal outside the bracket, not finite, or less than halving the
/// step before last is replaced by the bracket's midpoint (the safeguard of Numerical Recipes'
/// `rtsafe`), so the search ends whatever `ġ` is. It ends when a Newton step is no longer than
/// `width` or a few ulps of `t` and at most half the Newton step before it (the iteration
/// contracts, so the distance left to the root is below the step; the point returned is that
/// step's end), or when the bracket is that narrow (its `b`-side end is returned).
///
/// Returns the root and `ġ` at the last point evaluated (`NaN` when none was: `g(b) == 0`), a
/// slope for [`polish`]. For a smooth guard Newton needs about 4 evaluations where [`illinois`]
/// needs 11 (the bench's ball, docs/performance.md, section 7).
pub(crate) fn safeguarded_newton<F: FnMut(f64) -> (f64, f64)>(
    mut rate: F,
    a: f64,
    ga: f64,
    b: f64,
    gb: f64,
    width: f64,
) -> (f64, f64) {
    if gb == 0.0 {
        return (b, f64::NAN);
    }
    let scale = a.abs().max(b.abs()).max(f64::MIN_POSITIVE);
    let tol = width.max(4.0 * f64::EPSILON * scale);
    // `hi` keeps the side of `g(b)`, `lo` the other.
    let (mut lo, mut hi, mut ghi) = (a, b, gb);
    let mut t = (a * gb - b * ga) / (gb - ga);
    if !((t > a && t < b) || (t > b && t < a)) {
        t = 0.5 * (a + b);
    }
    let (mut step, mut step_before) = ((b - a).abs(), (b - a).abs());
    // The last Newton step's length, when the last step was one (else NaN: no comparison holds).
    let mut last_newton = f64::NAN;
    let mut slope = f64::NAN;
    for _ in 0..200 {
        let (g, gdot) = rate(t);
        slope = gdot;
        if g == 0.0 {
            return (t, slope);
        }
        if same_sign(g, ghi) {
            hi = t;
            ghi = g;
        } else {
            lo = t;
        }
        if (hi - lo).abs() <= tol {
            break;
        }
        // (An infinite rate proposes no step: NaN, as for a rate that is NaN or zero.)
        let newton = if gdot.is_finite() { g / gdot } else { f64::NAN };
        let next = t - newton;
        // Done when the step is within the tolerance and at most half the Newton step just
        // before it (the iteration contracts, so what is left is below this step), and does not
        // leave the bracket (it may round onto its end).
        let (l, h) = if lo < hi { (lo, hi) } else { (hi, lo) };
        let contracts = 2.0 * newton.abs() <= last_newton;
        if newton.abs() <= tol && contracts && next >= l && next <= h {
            return (next, slope);
        }
        let inside = next > l && next < h;
        let before_last = step_before;
        step_before = step;
        if inside && 2.0 * newton.abs() <= before_last {
            step = newton.abs();
            t = next;
            last_newton = step;
        } else {
            t = 0.5 * (lo + hi);
            step = 0.5 * (hi - lo).abs();
            last_newton = f64::NAN;
        }
    }
    (hi, slope)
}

/// The root in `[lo, hi]` of the quadratic `g(s) = g0 + a1 s + a2 s²` (a line when `a2 = 0`),
/// on an interval where `g` is monotone and changes sign: a guard affine in the state on a step
/// that moves the state by its polynomial of degree 2 (`events/detect/exact.rs`).
///
/// The roots by the formula without cancellation (Numerical Recipes, 3rd ed., §5.6,
/// eqs. 5.6.4-5.6.5): `q = −(a1 + sgn(a1) √(a1² − 4 a2 g0)) / 2`, roots `q / a2` and `g0 / q`;
/// the one inside `[lo, hi]` (the earlier when rounding puts both there, the nearer when it puts
/// neither), clamped to it. A discriminant at or below zero (a tangency, to rounding) gives the
/// double root `−a1 / (2 a2)`; no finite root at all, `hi`.
pub(crate) fn quadratic_root(g0: f64, a1: f64, a2: f64, lo: f64, hi: f64) -> f64 {
    let s = if a2 == 0.0 {
        -g0 / a1
    } else {
        let disc = a1 * a1 - 4.0 * a2 * g0;
        if disc <= 0.0 {
            -a1 / (2.0 * a2)
        } else {
            let q = -0.5 * (a1 + disc.sqrt().copysign(a1));
            let (r1, r2) = (q / a2, g0 / q);
            let off = |r: f64| (lo - r).max(r - hi).max(0.0);
            match (off(r1) == 0.0, off(r2) == 0.0) {
                (true, true) => r1.min(r2),
                (true, false) => r1,
                (false, true) => r2,
                (false, false) if off(r1) <= off(r2) => r1,
                _ => r2,
            }
        }
    };
    if !s.is_finite() {
        hi
    } else {
        s.clamp(lo, hi)
    }
}

/// `x.signum() == y.signum()`: the same sign bit, neither a NaN.
#[inline(always)]
fn same_sign(x: f64, y: f64) -> bool {
    x.is_sign_negative() == y.is_sign_negative() && !x.is_nan() && !y.is_nan()
}

/// Polish an event time on the function `G(τ) = g(τ, Φ(τ))`, where `Φ` is one full-order
/// Runge-Kutta step from the step start, so the result does not inherit the interpolant's lower
/// order. Returns a time within a bracket of `G` no wider than 4 ulps.
///
/// `tau0` is the interpolant's root and `slope ≈ G'(τ0)` (the guard's rate `ġ` along the flow
/// there). First one Newton step `τ1 = τ0 − G(τ0)/ġ` and a check that `G` changes sign across
/// `τ1 ± 2 ulps` (three evaluations of `G` in all, the usual case: the interpolant's root is
/// already close and `G` is smooth); failing that, a bracket grown geometrically around `τ0` and
/// narrowed by [`illinois`]. `lo`, `hi` bound the search (the step). The end returned is the one
/// on the other side of zero from `G(τ0)`, as [`illinois`] returns it.
pub(crate) fn polish<F: FnMut(f64) -> f64>(
    mut big_g: F,
    tau0: f64,
    slope: f64,
    lo: f64,
    hi: f64,
) -> f64 {
    let g0 = big_g(tau0);
    if g0 == 0.0 {
        return tau0;
    }
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    let step = g0 / slope;
    if step.is_finite() {
        let t1 = (tau0 - step).clamp(lo, hi);
        let d = 2.0 * f64::EPSILON * t1.abs().max(f64::MIN_POSITIVE);
        let (a, b) = ((t1 - d).max(lo), (t1 + d).min(hi));
        let (ga, gb) = (big_g(a), big_g(b));
        let other = |g: f64| g == 0.0 || g.signum() != g0.signum();
        if other(ga) != other(gb) || ga == 0.0 || gb == 0.0 {
            // A sign change inside [a, b]: the end on the far side of zero.
            return if other(ga) { a } else { b };
        }
    }
    let scale = hi - lo;
    // Expand a bracket around tau0 geometrically until the sign changes.
    let mut delta = 1e-10 * scale.max(f64::MIN_POSITIVE);
    for _ in 0..60 {
        let (a, b) = ((tau0 - delta).max(lo), (tau0 + delta).min(hi));
        let (ga, gb) = (big_g(a), big_g(b));
        if ga.signum() != g0.signum() || ga == 0.0 {
            return illinois(&mut big_g, tau0, g0, a, ga, 0.0);
        }
        if gb.signum() != g0.signum() || gb == 0.0 {
            return illinois(&mut big_g, tau0, g0, b, gb, 0.0);
        }
        if a <= lo && b >= hi {
            break;
        }
        delta *= 8.0;
    }
    tau0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn illinois_finds_cosine_root_to_machine_precision() {
        let r = illinois(f64::cos, 1.0, 1.0f64.cos(), 2.0, 2.0f64.cos(), 0.0);
        assert!((r - std::f64::consts::FRAC_PI_2).abs() <= 4.0 * f64::EPSILON * 2.0);
    }

    /// Root of `g` on `[a, b]` to `width` by [`illinois`], and the evaluations of `g` it took.
    fn illinois_counted(g: impl Fn(f64) -> f64, a: f64, b: f64, width: f64) -> (f64, usize) {
        let mut calls = 0;
        let counted = |t| {
            calls += 1;
            g(t)
        };
        let r = illinois(counted, a, g(a), b, g(b), width);
        (r, calls)
    }

    #[test]
    fn illinois_stops_at_the_width_asked_for() {
        // The ball's height on its first parabola, `y(t) = 1 + 0.5 t − 4.905 t²` (the bench's
        // `p`), bracketed by `[0, 0.8]`: the bracket is within `1e-12` of its width one
        // evaluation before it closes to the ulps (9 evaluations against 10).
        let y = |t: f64| 1.0 + 0.5 * t - 4.905 * t * t;
        let exact = (0.5 + (0.25f64 + 4.0 * 4.905).sqrt()) / (2.0 * 4.905);
        let width = INTERPOLANT_ROOT_WIDTH * 0.8;
        let (r_ulps, calls_ulps) = illinois_counted(y, 0.0, 0.8, 0.0);
        let (r, calls) = illinois_counted(y, 0.0, 0.8, width);
        assert!((r_ulps - exact).abs() <= 4.0 * f64::EPSILON * exact);
        assert!((r - exact).abs() <= width);
        assert!(r_ulps != r, "the search stopped at the same point");
        // The end returned is on the side of `g(b)` (negative), like the end found to the ulps.
        assert!(y(r) <= 0.0 && y(r_ulps) <= 0.0);
        assert!(
            calls < calls_ulps,
            "{calls} evaluations, {calls_ulps} to the ulps"
        );

        // `cos` on `[1, 2]`: the bracket goes from 1e-9 wide to the ulps in one evaluation, so
        // the width saves none (5 either way); it must not cost any either.
        let (r_ulps, calls_ulps) = illinois_counted(f64::cos, 1.0, 2.0, 0.0);
        let (r, calls) = illinois_counted(f64::cos, 1.0, 2.0, INTERPOLANT_ROOT_WIDTH);
        assert!((r - std::f64::consts::FRAC_PI_2).abs() <= INTERPOLANT_ROOT_WIDTH);
        assert!(r.cos() <= 0.0 && r_ulps.cos() <= 0.0);
        assert!(
            calls <= calls_ulps,
            "{calls} evaluations, {calls_ulps} to the ulps"
        );
    }

    /// Root of `g` on `[a, b]` to `width` by [`safeguarded_newton`] with the rate `gdot`, and
    /// the evaluations it took.
    fn newton_counted(
        g: impl Fn(f64) -> f64,
        gdot: impl Fn(f64) -> f64,
        a: f64,
        b: f64,
        width: f64,
    ) -> (f64, f64, usize) {
        let mut calls = 0;
        let counted = |t| {
            calls += 1;
            (g(t), gdot(t))
        };
        let (r, slope) = safeguarded_newton(counted, a, g(a), b, g(b), width);
        (r, slope, calls)
    }

    #[test]
    fn newton_finds_the_root_in_fewer_evaluations_than_illinois() {
        // The ball's first parabola (see `illinois_stops_at_the_width_asked_for`).
        let y = |t: f64| 1.0 + 0.5 * t - 4.905 * t * t;
        let v = |t: f64| 0.5 - 9.81 * t;
        let exact = (0.5 + (0.25f64 + 4.0 * 4.905).sqrt()) / (2.0 * 4.905);
        let width = INTERPOLANT_ROOT_WIDTH * 0.8;
        let (r, slope, calls) = newton_counted(y, v, 0.0, 0.8, width);
        let (_, calls_illinois) = illinois_counted(y, 0.0, 0.8, width);
        assert!((r - exact).abs() <= width, "{r} against {exact}");
        assert!(
            calls < calls_illinois,
            "{calls} evaluations, {calls_illinois} by Illinois"
        );
        // The slope is the rate at the last point evaluated, within `width` of the root.
        assert!((slope - v(exact)).abs() <= 9.81 * width, "{slope}");
        // To the ulps.
        let (r, _, _) = newton_counted(f64::cos, |t| -t.sin(), 1.0, 2.0, 0.0);
        assert!((r - std::f64::consts::FRAC_PI_2).abs() <= 4.0 * f64::EPSILON * 2.0);
    }

    #[test]
    fn newton_with_a_useless_rate_still_converges_inside_the_bracket() {
        // Any rate, even a wrong or non-finite one: the bisection safeguard takes over.
        let exact = std::f64::consts::FRAC_PI_2;
        for bad in [0.0, f64::NAN, f64::INFINITY, 1.0, -1e6, 1e-300] {
            let (r, _, calls) = newton_counted(f64::cos, |_| bad, 1.0, 2.0, 0.0);
            assert!(
                (r - exact).abs() <= 4.0 * f64::EPSILON * 2.0,
                "rate {bad}: {r}"
            );
            // Ended by its own rule, not by the cap of 200 evaluations.
            assert!(calls < 200, "rate {bad}: {calls} evaluations");
        }
        // A bracket given from its far end (`a > b`) and a root at `b`.
        let (r, _, _) = newton_counted(f64::cos, |t| -t.sin(), 2.0, 1.0, 0.0);
        assert!((r - exact).abs() <= 4.0 * f64::EPSILON * 2.0);
        let (r, slope) = safeguarded_newton(|_| (1.0, 1.0), 0.0, -1.0, 1.0, 0.0, 0.0);
        assert_eq!(r, 1.0);
        assert!(slope.is_nan());
    }

    #[test]
    fn quadratic_root_is_free_of_cancellation() {
        // `g = 1e-9 − s − s²/2`: the root near zero is `s = g0 − s²/2 = 1e-9 − 5e-19 + 5e-28 − ..`.
        // The textbook `(−a1 − √(a1² − 4 a2 g0)) / (2 a2)` subtracts two numbers equal to 9
        // digits and keeps about 7 of this root's 16.
        let (g0, a1, a2) = (1e-9, -1.0, -0.5);
        let exact = 1e-9 - 5e-19 + 5e-28;
        let r = quadratic_root(g0, a1, a2, 0.0, 1.0);
        assert!((r - exact).abs() <= 2.0 * f64::EPSILON * exact, "{r:e}");
        // The other root, of the bracket `[−3, −1]`: `−1 − √(1 + 2e-9)`.
        let r = quadratic_root(g0, a1, a2, -3.0, -1.0);
        let other = -1.0 - (1.0f64 + 2e-9).sqrt();
        assert!((r - other).abs() <= 2.0 * f64::EPSILON * 2.0, "{r}");
        // A line, and a double root (the discriminant zero): `−g0/a1` and `−a1/(2 a2)`.
        assert_eq!(quadratic_root(0.5, -2.0, 0.0, 0.0, 1.0), 0.25);
        assert_eq!(quadratic_root(1.0, -2.0, 1.0, 0.0, 2.0), 1.0);
        // The root is clamped to the bracket, and a guard without a root gives its far end.
        assert_eq!(quadratic_root(0.5, -2.0, 0.0, 0.0, 0.2), 0.2);
        assert_eq!(quadratic_root(0.5, 0.0, 0.0, 0.0, 0.2), 0.2);
    }

    #[test]
    fn polish_moves_an_approximate_root_to_the_exact_one() {
        let exact = 0.7390851332151607; // root of cos t - t (Dottie number)
        let slope = -(exact + 1e-7f64).sin() - 1.0;
        let r = polish(|t| t.cos() - t, exact + 1e-7, slope, 0.0, 1.0);
        assert!((r - exact).abs() <= 4.0 * f64::EPSILON);
        // A useless slope falls back to the bracketing search, to the same accuracy.
        for bad in [0.0, f64::NAN, 1e-300, 5.0] {
            let r = polish(|t| t.cos() - t, exact + 1e-7, bad, 0.0, 1.0);
            assert!((r - exact).abs() <= 4.0 * f64::EPSILON, "slope {bad}: {r}");
        }
    }

    #[test]
    fn polish_with_a_good_slope_evaluates_g_three_times() {
        let exact = 0.7390851332151607;
        let mut calls = 0;
        let tau0 = exact + 1e-9;
        let r = polish(
            |t| {
                calls += 1;
                t.cos() - t
            },
            tau0,
            -tau0.sin() - 1.0,
            0.0,
            1.0,
        );
        assert!((r - exact).abs() <= 4.0 * f64::EPSILON);
        assert_eq!(calls, 3);
    }
}
