//! Event location: bracketing on the dense output, then a polish on the full-order step
//! (docs/maths.md, "Event location").

/// Find a root of `g` in `[a, b]` with `g(a)` and `g(b)` of opposite sign (or `g(b) == 0`), by
/// the Illinois variant of regula falsi, to within a few ulps of `t`.
///
/// Returns the end `b` of the final bracket, the side that started at `gb`; the bracket is then
/// within a few ulps of the root, so either end is the root to that accuracy.
pub(crate) fn illinois<F: FnMut(f64) -> f64>(
    mut g: F,
    mut a: f64,
    mut ga: f64,
    mut b: f64,
    mut gb: f64,
) -> f64 {
    if gb == 0.0 {
        return b;
    }
    let mut side = 0i8;
    for _ in 0..200 {
        if (b - a).abs() <= 4.0 * f64::EPSILON * a.abs().max(b.abs()).max(f64::MIN_POSITIVE) {
            break;
        }
        let mut c = (a * gb - b * ga) / (gb - ga);
        if !(c > a.min(b) && c < a.max(b)) {
            c = 0.5 * (a + b);
        }
        let gc = g(c);
        if gc == 0.0 {
            return c;
        }
        if gc.signum() == gb.signum() {
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

/// Polish an event time on the function `G(τ) = g(τ, Φ(τ))`, where `Φ` is one full-order
/// Runge-Kutta step from the step start: bracketing secant (Illinois) around the interpolant's
/// root, so the result does not inherit the interpolant's lower order.
///
/// `lo`, `hi` bound the search (the step); `tau0` is the interpolant's root.
pub(crate) fn polish<F: FnMut(f64) -> f64>(mut big_g: F, tau0: f64, lo: f64, hi: f64) -> f64 {
    let g0 = big_g(tau0);
    if g0 == 0.0 {
        return tau0;
    }
    let scale = (hi - lo).abs();
    // Expand a bracket around tau0 geometrically until the sign changes.
    let mut delta = 1e-10 * scale.max(f64::MIN_POSITIVE);
    for _ in 0..60 {
        let (a, b) = (
            (tau0 - delta).max(lo.min(hi)),
            (tau0 + delta).min(lo.max(hi)),
        );
        let (ga, gb) = (big_g(a), big_g(b));
        if ga.signum() != g0.signum() || ga == 0.0 {
            return illinois(&mut big_g, tau0, g0, a, ga);
        }
        if gb.signum() != g0.signum() || gb == 0.0 {
            return illinois(&mut big_g, tau0, g0, b, gb);
        }
        if a <= lo.min(hi) && b >= lo.max(hi) {
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
        let r = illinois(f64::cos, 1.0, 1.0f64.cos(), 2.0, 2.0f64.cos());
        assert!((r - std::f64::consts::FRAC_PI_2).abs() <= 4.0 * f64::EPSILON * 2.0);
    }

    #[test]
    fn polish_moves_an_approximate_root_to_the_exact_one() {
        let exact = 0.7390851332151607; // root of cos t - t (Dottie number)
        let r = polish(|t| t.cos() - t, exact + 1e-7, 0.0, 1.0);
        assert!((r - exact).abs() <= 4.0 * f64::EPSILON);
    }
}
