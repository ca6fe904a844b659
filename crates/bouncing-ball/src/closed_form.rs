//! The closed-form solution of the bouncing ball (`docs/bouncing-ball.md`), generic over the scalar so that dual numbers (`num_dual::Dual64`) give its exact
//! derivatives with respect to `p = [y0, v0, e, g]`.
//!
//! It shares no code with the framework: the trajectory is a chain of parabolas joined at the
//! impact times `t1 = (v0 + u)/g`, `t_{k+1} = t_k + 2 eᵏ u / g` with `u = sqrt(v0² + 2 g y0)`,
//! so it is an independent oracle for the simulated trajectory, the forward sensitivities and the
//! adjoint gradient. Time starts at `t = 0`.
//!
//! Every function checks its parameters (as [`crate::check_parameters`] does) and its time, and
//! costs `O(1)` whatever the time: the number of impacts before `t` is found from the geometric
//! sum of the bounce durations, not by walking the bounces. Counts above [`MAX_IMPACTS`] (which
//! `f64` can no longer tell apart) and lists longer than [`MAX_LISTED_IMPACTS`] are refused with
//! [`BallError::TooManyImpacts`].

use crate::BallError;
use hybrid_core::Scalar;

/// Largest number of impacts before `t` the closed form evaluates: `2⁵³`, the last count an `f64`
/// holds exactly. Only reached with `e = 1` (or `e` within about `1e-16` of 1) and a huge `t`.
pub const MAX_IMPACTS: f64 = 9_007_199_254_740_992.0;

/// With `e ≥ 1` the bounces never shrink, and a time `t` whose spacing `t · 2⁻⁵²` exceeds this
/// fraction of the current bounce's duration no longer fixes where in the bounce the ball is
/// (the state would carry a relative error above about `1e-6`): refused with
/// [`BallError::TimeTooCoarse`].
pub const PHASE_RESOLUTION: f64 = 1e-6;

/// Longest list [`impact_times`] builds: ten million times (80 MB).
pub const MAX_LISTED_IMPACTS: usize = 10_000_000;

/// The real part of a scalar (the value itself for `f64`).
fn re<T: Scalar>(x: T) -> f64 {
    nalgebra::try_convert::<T, f64>(x).unwrap_or(f64::NAN)
}

/// Check `p = [y0, v0, e, g]` as [`crate::check_parameters`] does, on the real parts.
fn check<T: Scalar>(p: &[T]) -> Result<(), BallError> {
    let real: Vec<f64> = p.iter().map(|&v| re(v)).collect();
    crate::check_parameters(&real)
}

/// Check the time: finite (or `+∞`, the ball at rest for `e < 1`) and not negative.
fn check_time<T: Scalar>(t: T) -> Result<(), BallError> {
    let t = re(t);
    if t.is_nan() || t < 0.0 {
        return Err(BallError::InvalidTime { t });
    }
    Ok(())
}

/// Speed at the first impact, `u = sqrt(v0² + 2 g y0)`.
pub fn impact_speed<T: Scalar>(p: &[T]) -> Result<T, BallError> {
    check(p)?;
    Ok(speed(p))
}

fn speed<T: Scalar>(p: &[T]) -> T {
    let (y0, v0, g) = (p[0], p[1], p[3]);
    (v0 * v0 + T::cst(2.0) * g * y0).sqrt()
}

/// `Σ_{j=1}^{m} xʲ`, accurate for `x` near 1 (where `x(1 − xᵐ)/(1 − x)` cancels) and with the
/// exact value and first two derivatives at `x = 1` itself.
fn geometric<T: Scalar>(x: T, m: f64) -> T {
    let one = T::one();
    if x == one {
        // Σ xʲ = Σ_i C(m+1, i+1) (x − 1)ⁱ: the terms i ≤ 2 carry the value and two derivatives.
        let d = x - one;
        let c2 = (m + 1.0) * m / 2.0;
        let c3 = c2 * (m - 1.0) / 3.0;
        return T::cst(m) + T::cst(c2) * d + T::cst(c3) * d * d;
    }
    if (x - one).abs() < T::cst(0.5) {
        let l = (x - one).ln_1p();
        x * (T::cst(m) * l).exp_m1() / l.exp_m1()
    } else {
        x * (one - x.powf(T::cst(m))) / (one - x)
    }
}

/// `t_k`, the time of impact `k ≥ 1`: `t1 + (2u/g) Σ_{j=1}^{k−1} eʲ`.
fn impact_time<T: Scalar>(p: &[T], u: T, k: f64) -> T {
    let (v0, e, g) = (p[1], p[2], p[3]);
    (v0 + u) / g + T::cst(2.0) * u / g * geometric(e, k - 1.0)
}

/// The first `count` impact times `t1, t2, …`: `t1 = (v0 + u)/g`, `t_{k+1} = t_k + 2 eᵏ u / g`.
/// Refuses `count > MAX_LISTED_IMPACTS`.
pub fn impact_times<T: Scalar>(p: &[T], count: usize) -> Result<Vec<T>, BallError> {
    check(p)?;
    if count > MAX_LISTED_IMPACTS {
        return Err(BallError::TooManyImpacts {
            impacts: count as f64,
            limit: MAX_LISTED_IMPACTS as f64,
        });
    }
    let u = speed(p);
    Ok((1..=count).map(|k| impact_time(p, u, k as f64)).collect())
}

/// The Zeno time `t_Z = t1 + 2 e u / (g (1 − e))`, where the impacts accumulate and the ball comes
/// to rest: the limit of the impact times. Infinite for `e ≥ 1`.
pub fn zeno_time<T: Scalar>(p: &[T]) -> Result<T, BallError> {
    check(p)?;
    Ok(zeno(p))
}

fn zeno<T: Scalar>(p: &[T]) -> T {
    let (v0, e, g) = (p[1], p[2], p[3]);
    if e >= T::one() {
        return T::cst(f64::INFINITY);
    }
    let u = speed(p);
    (v0 + u) / g + T::cst(2.0) * e * u / (g * (T::one() - e))
}

/// Where the ball is at time `t` on its chain of parabolas.
enum Phase {
    /// On parabola `k` (after `k` impacts, `k = 0` before the first), which starts at `t_k`.
    Piece(f64),
    /// At or past the Zeno time: at rest on the floor after infinitely many impacts.
    Rest,
}

/// The number `k` of impacts in `(0, t]`, or [`Phase::Rest`] past the Zeno time, in `O(1)`: with
/// `R = (t − t1) g / (2u)`, `t_{k+1} ≤ t` ⇔ `Σ_{j=1}^{k} eʲ ≤ R` ⇔ `k ≤ ln(1 + R (e − 1)/e) / ln e`
/// (`k ≤ R` for `e = 1`); the rounding of that formula is then corrected against `t_k` itself.
fn phase<T: Scalar>(p: &[T], t: T) -> Result<Phase, BallError> {
    check(p)?;
    check_time(t)?;
    let u = speed(p);
    let t1 = re((p[1] + u) / p[3]);
    let (tr, e) = (re(t), re(p[2]));
    if tr < t1 {
        return Ok(Phase::Piece(0.0));
    }
    if e < 1.0 && tr >= re(zeno(p)) {
        return Ok(Phase::Rest);
    }
    let r = (tr - t1) * re(p[3]) / (2.0 * re(u));
    let estimate = if e == 1.0 {
        r.floor()
    } else {
        ((r * (e - 1.0) / e).ln_1p() / (e - 1.0).ln_1p()).floor()
    };
    let time = |k: f64| re(impact_time(p, u, k));
    // `k` impacts with `k ≥ 1`: `t_k ≤ t < t_{k+1}`.
    let mut k = estimate.max(0.0) + 1.0;
    if !(k <= MAX_IMPACTS) {
        return Err(BallError::TooManyImpacts {
            impacts: k,
            limit: MAX_IMPACTS,
        });
    }
    for _ in 0..4 {
        if k > 1.0 && time(k) > tr {
            k -= 1.0;
        } else if time(k + 1.0) <= tr {
            k += 1.0;
        } else {
            break;
        }
    }
    if e >= 1.0 {
        // The bounces do not shrink: the phase within one must be resolved by `t` itself.
        let bounce = 2.0 * re(u) * e.powf(k) / re(p[3]);
        let resolution = tr * f64::EPSILON;
        if !(resolution <= PHASE_RESOLUTION * bounce) {
            return Err(BallError::TimeTooCoarse {
                t: tr,
                resolution,
                bounce,
            });
        }
    }
    Ok(Phase::Piece(k))
}

/// The parabola after `k` impacts: its start time, height and velocity there.
fn piece_start<T: Scalar>(p: &[T], k: f64) -> (T, T, T) {
    if k == 0.0 {
        return (T::zero(), p[0], p[1]);
    }
    let u = speed(p);
    (impact_time(p, u, k), T::zero(), u * p[2].powf(T::cst(k)))
}

/// Number of impacts in `(0, t]`. Past the Zeno time (`e < 1`, `t ≥ t_Z`) there are infinitely
/// many: [`BallError::PastZenoTime`].
pub fn impacts_until<T: Scalar>(p: &[T], t: T) -> Result<usize, BallError> {
    match phase(p, t)? {
        Phase::Piece(k) => Ok(k as usize),
        Phase::Rest => Err(BallError::PastZenoTime {
            t_end: re(t),
            t_zeno: re(zeno(p)),
            e: re(p[2]),
        }),
    }
}

/// State `[y(t), v(t)]`: `y = y_k + w (t − t_k) − g (t − t_k)²/2`, `v = w − g (t − t_k)` on the
/// piece starting at `t_k` with height `y_k` and velocity `w` (`y0, v0` before the first impact,
/// `0, eᵏ u` after impact `k`). Right-continuous: at an impact time, the state after the jump.
/// At and past the Zeno time, `[0, 0]`.
pub fn state_at<T: Scalar>(p: &[T], t: T) -> Result<[T; 2], BallError> {
    let Phase::Piece(k) = phase(p, t)? else {
        return Ok([T::zero(), T::zero()]);
    };
    let g = p[3];
    let (start, y, w) = piece_start(p, k);
    let d = t - start;
    Ok([y + w * d - g * d * d / T::cst(2.0), w - g * d])
}

/// `∫` over a piece of duration `d` starting at height `y_k` with velocity `w` of `a v² + b y`:
/// `∫ v² = w² d − w g d² + g² d³/3` and `∫ y = y_k d + w d²/2 − g d³/6`.
fn piece_integral<T: Scalar>(d: T, yk: T, w: T, g: T, a: T, b: T) -> T {
    let (d2, d3) = (d * d, d * d * d);
    let v2 = w * w * d - w * g * d2 + g * g * d3 / T::cst(3.0);
    let y = yk * d + w * d2 / T::cst(2.0) - g * d3 / T::cst(6.0);
    a * v2 + b * y
}

/// The running integral `∫_0^t (a v² + b y) dt`, exact per parabola piece (see `piece_integral`).
/// A whole bounce at speed `w` (duration `2w/g`) contributes `(2/3) w³ (a/g + b/g²)`, so the
/// bounces between the first impact and the current piece sum to a geometric series in `e³`.
pub fn running_integral<T: Scalar>(p: &[T], t: T, a: T, b: T) -> Result<T, BallError> {
    let phase = phase(p, t)?;
    let (y0, v0, e, g) = (p[0], p[1], p[2], p[3]);
    let u = speed(p);
    let t1 = (v0 + u) / g;
    let k = match phase {
        Phase::Piece(0.0) => return Ok(piece_integral(t, y0, v0, g, a, b)),
        Phase::Piece(k) => Some(k),
        Phase::Rest => None,
    };
    let first = piece_integral(t1, y0, v0, g, a, b);
    let whole = T::cst(2.0) / T::cst(3.0) * u * u * u * (a / g + b / (g * g));
    let e3 = e * e * e;
    Ok(match k {
        Some(k) => {
            let (start, yk, w) = piece_start(p, k);
            first + whole * geometric(e3, k - 1.0) + piece_integral(t - start, yk, w, g, a, b)
        }
        // Every bounce, then rest: Σ_{j≥1} e³ʲ = e³/(1 − e³).
        None => first + whole * e3 / (T::one() - e3),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: [f64; 4] = [5.0, 0.0, 0.5, 10.0];

    #[test]
    fn hand_computed_ball_drop_matches() {
        // y0 = 5, g = 10: u = 10, t1 = 1, bounce speeds 5, 2.5, …, gaps 1, 0.5, …, t_Z = 3.
        assert_eq!(impact_times(&P, 3).unwrap(), vec![1.0, 2.0, 2.5]);
        assert_eq!(zeno_time(&P).unwrap(), 3.0);
        assert_eq!(state_at(&P, 0.5).unwrap(), [5.0 - 1.25, -5.0]);
        assert_eq!(state_at(&P, 1.0).unwrap(), [0.0, 5.0]);
        assert_eq!(state_at(&P, 1.5).unwrap(), [1.25, 0.0]);
        assert_eq!(impacts_until(&P, 2.2).unwrap(), 2);
        assert_eq!(state_at(&P, 3.5).unwrap(), [0.0, 0.0]);
    }

    #[test]
    fn running_integral_matches_midpoint_quadrature_of_the_state() {
        // Grid cells end at the impacts 1 and 2 (and at t = 2.5, the third), so the midpoint rule
        // never samples across a jump of v and its error is O(h²) ≈ 1e-10 relative.
        let (t, n) = (2.5, 100_000);
        let h = t / n as f64;
        let midpoint: f64 = (0..n)
            .map(|i| {
                let [y, v] = state_at(&P, (i as f64 + 0.5) * h).unwrap();
                h * (0.3 * v * v + y)
            })
            .sum();
        let exact = running_integral(&P, t, 0.3, 1.0).unwrap();
        assert!(
            (midpoint - exact).abs() < 1e-8 * exact,
            "{midpoint} vs {exact}"
        );
    }
}
