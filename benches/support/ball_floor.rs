//! The bouncing-ball gradient problem of `benches/ball_gradient.rs` and its two closed-form
//! gradients: one by dual numbers through `bouncing_ball::closed_form`, one written out by hand in
//! plain `f64` (the floor the framework is compared with). Shared by the bench and by
//! `tests/ball_gradient_floor.rs`, which checks them against each other and against the
//! framework's gradients.
//!
//! Problem: `p = [y0, v0, e, g] = [1, 0.5, 0.8, 9.81]` (impacts at 0.505, 1.232, 1.814, 2.279),
//! loss `L(p) = ½ Σ_i (y(s_i; p) − ŷ_i)²` (`bouncing_ball::HeightLoss`) on one height observed
//! on each of the first four parabolas, `s = [0.3, 1.0, 1.5, 2.0]`, horizon `T = 2.0`: 3 impacts.
//! Every observation time is at least 0.2 away from an impact, so `L` is smooth near `p`.

use bouncing_ball::closed_form::state_at;
use bouncing_ball::HeightLoss;
use nalgebra::SVector;
use num_dual::DualSVec64;

/// `p = [y0, v0, e, g]`.
pub const P: [f64; 4] = [1.0, 0.5, 0.8, 9.81];
/// Observation times `s_i`, one on each of the parabolas 0 to 3.
pub const TIMES: [f64; 4] = [0.3, 1.0, 1.5, 2.0];
/// Observed heights `ŷ_i` (the trajectory passes at about 0.709, 0.564, 0.412, 0.255).
pub const HEIGHTS: [f64; 4] = [0.5, 0.4, 0.3, 0.2];
/// Horizon: the last observation time, between the 3rd and the 4th impact.
pub const T_END: f64 = 2.0;

/// The loss as the framework sees it.
pub fn height_loss() -> HeightLoss {
    HeightLoss::new(TIMES.to_vec(), HEIGHTS.to_vec()).expect("valid observations")
}

/// Loss and gradient from the closed form `state_at`, differentiated by one pass of dual numbers
/// carrying the four partial derivatives.
pub fn dual_gradient(p: &[f64; 4], times: &[f64], heights: &[f64]) -> (f64, [f64; 4]) {
    let (loss, grad) = num_dual::gradient(
        |pd: SVector<DualSVec64<4>, 4>| {
            let mut l = DualSVec64::<4>::from_re(0.0);
            for (&s, &h) in times.iter().zip(heights) {
                let [y, _] = state_at(pd.as_slice(), DualSVec64::from_re(s)).expect("state");
                let r = y - DualSVec64::from_re(h);
                l += r * r * 0.5;
            }
            l
        },
        &SVector::from(*p),
    );
    (loss, grad.into())
}

/// Loss and gradient by hand: the chain of parabolas and its derivatives by the chain rule, in
/// plain `f64`, walking the impacts up to the last observation (times sorted).
///
/// Piece `k` starts at `t_k` with height `h_k` and velocity `w_k` (`0, y0, v0` for `k = 0`; after
/// an impact at speed `c`, `h = 0` and `w = e c`); on it `y(s) = h + w d − g d²/2` with
/// `d = s − t_k`, and it ends at `t_{k+1} = t_k + 2 w_k / g` (the first impact at
/// `t_1 = (v0 + u)/g` with speed `u = √(v0² + 2 g y0)`; later ones at speed `w_k`). Each quantity
/// carries its gradient with respect to `p` alongside.
pub fn floor_gradient(p: &[f64; 4], times: &[f64], heights: &[f64]) -> (f64, [f64; 4]) {
    const DE: [f64; 4] = [0.0, 0.0, 1.0, 0.0];
    const DG: [f64; 4] = [0.0, 0.0, 0.0, 1.0];
    let [y0, v0, e, g] = *p;
    let (u, ig) = ((v0 * v0 + 2.0 * g * y0).sqrt(), 1.0 / g);
    let iu = 1.0 / u;
    let du = [g * iu, v0 * iu, 0.0, y0 * iu];
    // The current piece: start time, height and velocity there.
    let (mut start, mut dstart) = (0.0, [0.0; 4]);
    let (mut h, mut dh) = (y0, [1.0, 0.0, 0.0, 0.0]);
    let (mut w, mut dw) = (v0, [0.0, 1.0, 0.0, 0.0]);
    // The next impact: its time and the speed there.
    let next = (v0 + u) * ig;
    let mut dnext = [0.0; 4];
    for j in 0..4 {
        dnext[j] = (du[j] + [0.0, 1.0, 0.0, 0.0][j] - next * DG[j]) * ig;
    }
    let (mut next, mut c, mut dc) = (next, u, du);
    let (mut loss, mut grad) = (0.0, [0.0; 4]);
    for (&s, &yhat) in times.iter().zip(heights) {
        while next <= s {
            (start, dstart) = (next, dnext);
            (h, dh) = (0.0, [0.0; 4]);
            w = e * c;
            for j in 0..4 {
                dw[j] = e * dc[j] + c * DE[j];
            }
            next = start + 2.0 * w * ig;
            for j in 0..4 {
                dnext[j] = dstart[j] + 2.0 * ig * (dw[j] - w * ig * DG[j]);
            }
            (c, dc) = (w, dw);
        }
        let d = s - start;
        let r = h + w * d - 0.5 * g * d * d - yhat;
        loss += 0.5 * r * r;
        for j in 0..4 {
            let dy = dh[j] + d * dw[j] - (w - g * d) * dstart[j] - 0.5 * d * d * DG[j];
            grad[j] += r * dy;
        }
    }
    (loss, grad)
}

/// `max_j |got_j − exact_j| / max_j |exact_j|`: the error relative to the gradient's size.
pub fn relative_error(got: &[f64], exact: &[f64]) -> f64 {
    let scale = exact.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    got.iter()
        .zip(exact)
        .map(|(g, x)| (g - x).abs())
        .fold(0.0, f64::max)
        / scale
}
