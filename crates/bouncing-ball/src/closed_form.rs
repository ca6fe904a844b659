//! The closed-form solution of the bouncing ball (reference §5), generic over the scalar so that
//! dual numbers (`num_dual::Dual64`) give its exact derivatives with respect to `p = [y0, v0, e, g]`.
//!
//! It shares no code with the framework: the trajectory is a chain of parabolas joined at the
//! impact times `t1 = (v0 + u)/g`, `t_{k+1} = t_k + 2 eᵏ u / g` with `u = sqrt(v0² + 2 g y0)`,
//! so it is an independent oracle for the simulated trajectory, the forward sensitivities and the
//! adjoint gradient. Every function assumes valid parameters (see [`crate::check_parameters`]);
//! time starts at `t = 0`.

use hybrid_core::Scalar;

/// Speed at the first impact, `u = sqrt(v0² + 2 g y0)` (reference §5).
pub fn impact_speed<T: Scalar>(p: &[T]) -> T {
    let (y0, v0, g) = (p[0], p[1], p[3]);
    (v0 * v0 + T::cst(2.0) * g * y0).sqrt()
}

/// The first `count` impact times `t1, t2, …` (reference §5): `t1 = (v0 + u)/g`,
/// `t_{k+1} = t_k + 2 eᵏ u / g`.
pub fn impact_times<T: Scalar>(p: &[T], count: usize) -> Vec<T> {
    let (v0, e, g) = (p[1], p[2], p[3]);
    let u = impact_speed(p);
    let mut times = Vec::with_capacity(count);
    let (mut t, mut w) = ((v0 + u) / g, u);
    for _ in 0..count {
        times.push(t);
        w *= e;
        t += T::cst(2.0) * w / g;
    }
    times
}

/// The Zeno time `t_Z = t1 + 2 e u / (g (1 − e))` (reference §4), where the impacts accumulate and
/// the ball comes to rest: the limit of the impact times. Infinite for `e ≥ 1`.
pub fn zeno_time<T: Scalar>(p: &[T]) -> T {
    let (v0, e, g) = (p[1], p[2], p[3]);
    if e >= T::one() {
        return T::cst(f64::INFINITY);
    }
    let u = impact_speed(p);
    (v0 + u) / g + T::cst(2.0) * e * u / (g * (T::one() - e))
}

/// Walk the parabola pieces of the trajectory over `[0, t]`.
///
/// `visit(duration, y_start, v_start)` is called for each piece (the last one cut at `t`).
/// Returns the number of impacts in `(0, t]` and the state `[y, v]` at `t` (after the jump when `t`
/// is an impact time). Past the Zeno time the ball rests at `[0, 0]`.
fn walk<T: Scalar>(p: &[T], t: T, mut visit: impl FnMut(T, T, T)) -> (usize, [T; 2]) {
    let (y0, v0, e, g) = (p[0], p[1], p[2], p[3]);
    let u = impact_speed(p);
    let (mut start, mut end) = (T::zero(), (v0 + u) / g);
    let (mut y, mut v, mut w) = (y0, v0, u);
    let mut impacts = 0;
    while t >= end {
        visit(end - start, y, v);
        impacts += 1;
        w *= e;
        let next = end + T::cst(2.0) * w / g;
        if !(next > end) {
            // The bounces have become shorter than the resolution of `t`: at rest (t ≥ t_Z).
            return (impacts, [T::zero(), T::zero()]);
        }
        (start, end, y, v) = (end, next, T::zero(), w);
    }
    let d = t - start;
    visit(d, y, v);
    (impacts, [y + v * d - g * d * d / T::cst(2.0), v - g * d])
}

/// Number of impacts in `(0, t]`.
pub fn impacts_until<T: Scalar>(p: &[T], t: T) -> usize {
    walk(p, t, |_, _, _| {}).0
}

/// State `[y(t), v(t)]` (reference §5): `y = y_k + w (t − t_k) − g (t − t_k)²/2`, `v = w − g (t − t_k)`
/// on the piece starting at `t_k` with height `y_k` and velocity `w` (`y0, v0` before the first
/// impact, `0, eᵏ u` after impact `k`). Right-continuous: at an impact time, the state after the jump.
pub fn state_at<T: Scalar>(p: &[T], t: T) -> [T; 2] {
    walk(p, t, |_, _, _| {}).1
}

/// The running integral `∫_0^t (a v² + b y) dt`, exact per parabola piece: over a piece of duration
/// `d` starting at height `y_k` with velocity `w`, `∫ v² = w² d − w g d² + g² d³/3` and
/// `∫ y = y_k d + w d²/2 − g d³/6`.
pub fn running_integral<T: Scalar>(p: &[T], t: T, a: T, b: T) -> T {
    let g = p[3];
    let mut total = T::zero();
    walk(p, t, |d, yk, w| {
        let (d2, d3) = (d * d, d * d * d);
        let v2 = w * w * d - w * g * d2 + g * g * d3 / T::cst(3.0);
        let y = yk * d + w * d2 / T::cst(2.0) - g * d3 / T::cst(6.0);
        total += a * v2 + b * y;
    });
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: [f64; 4] = [5.0, 0.0, 0.5, 10.0];

    #[test]
    fn hand_computed_ball_drop_matches() {
        // y0 = 5, g = 10: u = 10, t1 = 1, bounce speeds 5, 2.5, …, gaps 1, 0.5, …, t_Z = 3.
        assert_eq!(impact_times(&P, 3), vec![1.0, 2.0, 2.5]);
        assert_eq!(zeno_time(&P), 3.0);
        assert_eq!(state_at(&P, 0.5), [5.0 - 1.25, -5.0]);
        assert_eq!(state_at(&P, 1.0), [0.0, 5.0]);
        assert_eq!(state_at(&P, 1.5), [1.25, 0.0]);
        assert_eq!(impacts_until(&P, 2.2), 2);
        assert_eq!(state_at(&P, 3.5), [0.0, 0.0]);
    }

    #[test]
    fn running_integral_matches_midpoint_quadrature_of_the_state() {
        // Grid cells end at the impacts 1 and 2 (and at t = 2.5, the third), so the midpoint rule
        // never samples across a jump of v and its error is O(h²) ≈ 1e-10 relative.
        let (t, n) = (2.5, 100_000);
        let h = t / n as f64;
        let midpoint: f64 = (0..n)
            .map(|i| {
                let [y, v] = state_at(&P, (i as f64 + 0.5) * h);
                h * (0.3 * v * v + y)
            })
            .sum();
        let exact = running_integral(&P, t, 0.3, 1.0);
        assert!(
            (midpoint - exact).abs() < 1e-8 * exact,
            "{midpoint} vs {exact}"
        );
    }
}
