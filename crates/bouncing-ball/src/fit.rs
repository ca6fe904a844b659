//! Recovering `(y0, e, g)` from observed heights by BFGS on the adjoint gradient.
//!
//! The loss is `L(p) = ½ Σ_i (y(s_i; p) − ŷ_i)²` (observation terms of `docs/maths.md` §"The loss"); its gradient
//! comes from [`crate::adjoint_gradient`] (`docs/maths.md` §"3. The adjoint, derived"). The initial velocity `v0` is known.
//! Heights at fixed times are used rather than impact times because with `v0 = 0` the impact
//! times depend on `y0` and `g` only through `y0/g`.

use crate::{adjoint_gradient, check_parameters, loss_value, BallError};
use hybrid_core::{Integrator, Loss, Scalar, SolverOptions};

/// Indices in `p = [y0, v0, e, g]` of the fitted parameters `(y0, e, g)`.
const FITTED: [usize; 3] = [0, 2, 3];

/// Least-squares loss `½ Σ_i (y(s_i) − ŷ_i)²` on heights observed at fixed times.
#[derive(Debug, Clone, PartialEq)]
pub struct HeightLoss {
    times: Vec<f64>,
    heights: Vec<f64>,
}

impl HeightLoss {
    /// Heights `heights[i]` observed at `times[i]`: finite, with times positive and
    /// non-decreasing ([`BallError::InvalidObservation`] names the first that is not).
    pub fn new(times: Vec<f64>, heights: Vec<f64>) -> Result<Self, BallError> {
        if times.len() != heights.len() || times.is_empty() {
            return Err(BallError::ObservationMismatch {
                times: times.len(),
                heights: heights.len(),
            });
        }
        let mut last = 0.0;
        for (index, (&time, &height)) in times.iter().zip(&heights).enumerate() {
            if !(time.is_finite() && time > 0.0 && time >= last && height.is_finite()) {
                return Err(BallError::InvalidObservation {
                    index,
                    time,
                    height,
                });
            }
            last = time;
        }
        Ok(Self { times, heights })
    }

    /// The last observation time: the horizon of every simulation of the fit.
    pub fn t_end(&self) -> f64 {
        self.times[self.times.len() - 1]
    }
}

impl Loss for HeightLoss {
    fn observation_times(&self) -> &[f64] {
        &self.times
    }

    fn observation<T: Scalar>(&self, i: usize, x: &[T], _p: &[T]) -> Option<T> {
        let r = x[0] - T::cst(self.heights[i]);
        Some(r * r / T::cst(2.0))
    }

    /// A height reads the state alone: its gradient takes `n` dual evaluations, not `n + m`.
    fn observation_depends_on_parameters(&self, _i: usize) -> bool {
        false
    }
}

/// Options of [`fit_heights`], with documented defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    /// Iteration limit. Default `200`.
    pub max_iterations: usize,
    /// Converged when the largest gradient component, each scaled by its parameter
    /// (`|p_j ∂L/∂p_j|`, in the loss's units), is at most this. Default `1e-10`: well above the
    /// gradient's noise from solver errors (about `1e-14` for exact data and the default solver),
    /// and for a zero-residual fit about `1e-10` relative in the parameters.
    pub gradient_tolerance: f64,
    /// Largest relative change of any parameter in one step, so a trial point stays near the
    /// current trajectory's impact pattern. Default `0.2`.
    pub max_relative_step: f64,
    /// Solver options of every simulation. Default: `Dop853`, `rtol = atol = 1e-12`.
    pub solver: SolverOptions,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            max_iterations: 200,
            gradient_tolerance: 1e-10,
            max_relative_step: 0.2,
            solver: SolverOptions {
                rtol: 1e-12,
                atol: 1e-12,
                integrator: Integrator::Dop853,
                ..Default::default()
            },
        }
    }
}

/// One accepted iterate of the fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitIterate {
    /// `(y0, e, g)`.
    pub params: [f64; 3],
    /// Loss there.
    pub loss: f64,
    /// Largest scaled gradient component `|p_j ∂L/∂p_j|` there.
    pub gradient_norm: f64,
}

/// Result of [`fit_heights`]: the recovered parameters and every iterate.
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    /// Recovered `(y0, e, g)`.
    pub params: [f64; 3],
    /// Iterates, from the initial guess to the result.
    pub iterates: Vec<FitIterate>,
    /// Loss and adjoint gradient evaluations done (line-search trials included).
    pub evaluations: usize,
}

/// Fit `(y0, e, g)` to the observed heights, from `guess = (y0, e, g)` with `v0` known.
///
/// Quasi-Newton (BFGS, inverse-Hessian update) in the scaled variables `z_j = p_j / guess_j`, with
/// an Armijo backtracking line search; a trial point where the simulation fails (parameters out of
/// the domain, horizon past the Zeno time) counts as no decrease and the step is shortened.
/// A trial point where the gradient is not defined (docs/maths.md, "Event semantics") is
/// rejected the same way, and a guess exactly on such a point is moved by `1e-9` relative.
/// The guess itself must be valid with its Zeno time after the last observation, else the error
/// says so ([`BallError::InvalidParameter`], [`BallError::PastZenoTime`]).
pub fn fit_heights(
    loss: &HeightLoss,
    v0: f64,
    guess: [f64; 3],
    opts: &FitOptions,
) -> Result<FitReport, BallError> {
    check_parameters(&[guess[0], v0, guess[1], guess[2]])?;
    if let Some(j) = guess.iter().position(|g| !(*g > 0.0)) {
        return Err(BallError::InvalidParameter {
            name: ["y0", "e", "g"][j],
            value: guess[j],
            requirement: "a positive guess (the fit scales each parameter by its guess)",
        });
    }
    let scale = guess;
    let t_end = loss.t_end();
    let params =
        |z: &[f64; 3]| -> [f64; 4] { [z[0] * scale[0], v0, z[1] * scale[1], z[2] * scale[2]] };
    let evaluations = std::cell::Cell::new(0);
    // Loss and gradient with respect to the scaled variables z.
    let evaluate = |z: &[f64; 3]| -> Result<(f64, [f64; 3]), BallError> {
        evaluations.set(evaluations.get() + 1);
        let gr = adjoint_gradient(&params(z), t_end, loss, &opts.solver)?;
        Ok((gr.loss, chain_rule(FITTED.map(|j| gr.gradient[j]), &scale)))
    };
    let mut z = [1.0; 3];
    // A guess exactly on a kink of the loss (an impact on an observation time, a grazing impact)
    // has no gradient; start a hair away from it instead (1e-9 relative: far below what the
    // fit resolves, far above the location tolerance).
    let (mut l, mut grad) = match evaluate(&z) {
        Err(BallError::Core(e)) if not_differentiable(&e) => {
            z = [1.0 + 1e-9, 1.0 + 2e-9, 1.0 - 1e-9];
            evaluate(&z)?
        }
        r => r?,
    };
    let mut h_inv = identity();
    let mut iterates = vec![iterate(&params(&z), l, &grad, &z)];
    for _ in 0..opts.max_iterations {
        let gnorm = iterates.last().map_or(f64::INFINITY, |it| it.gradient_norm);
        if gnorm <= opts.gradient_tolerance {
            let p = params(&z);
            return Ok(FitReport {
                params: FITTED.map(|j| p[j]),
                iterates,
                evaluations: evaluations.get(),
            });
        }
        let mut d = mat_vec(&h_inv, &grad).map(|v| -v);
        if dot(&d, &grad) >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            h_inv = identity();
            d = grad.map(|v| -v);
        }
        let longest = d
            .iter()
            .zip(&z)
            .map(|(di, zi)| (di / zi).abs())
            .fold(0.0, f64::max);
        let mut alpha = (opts.max_relative_step / longest).min(1.0);
        let slope = dot(&d, &grad);
        let mut accepted = None;
        for _ in 0..40 {
            let trial = [
                z[0] + alpha * d[0],
                z[1] + alpha * d[1],
                z[2] + alpha * d[2],
            ];
            let value = loss_value(&params(&trial), t_end, loss, &opts.solver).ok();
            evaluations.set(evaluations.get() + 1);
            if value.is_some_and(|v| v <= l + 1e-4 * alpha * slope) {
                // A trial point where the gradient is not defined (an impact grazing the floor,
                // or on an observation time) is rejected like one that does not decrease.
                match evaluate(&trial) {
                    Ok(lg) => {
                        accepted = Some((trial, lg));
                        break;
                    }
                    Err(BallError::Core(e)) if not_differentiable(&e) => {}
                    Err(e) => return Err(e),
                }
            }
            alpha *= 0.5;
        }
        let Some((z_new, (l_new, grad_new))) = accepted else {
            return Err(BallError::FitNotConverged {
                iterations: iterates.len() - 1,
                loss: l,
                gradient_norm: gnorm,
                tolerance: opts.gradient_tolerance,
                reason: "the line search found no decrease along the quasi-Newton direction",
            });
        };
        let s = [z_new[0] - z[0], z_new[1] - z[1], z_new[2] - z[2]];
        let y = [
            grad_new[0] - grad[0],
            grad_new[1] - grad[1],
            grad_new[2] - grad[2],
        ];
        bfgs_update(&mut h_inv, &s, &y, iterates.len() == 1);
        (z, l, grad) = (z_new, l_new, grad_new);
        iterates.push(iterate(&params(&z), l, &grad, &z));
    }
    let last = iterates[iterates.len() - 1];
    Err(BallError::FitNotConverged {
        iterations: iterates.len() - 1,
        loss: last.loss,
        gradient_norm: last.gradient_norm,
        tolerance: opts.gradient_tolerance,
        reason: "iteration limit reached",
    })
}

/// `∂L/∂z_j = s_j ∂L/∂p_j` for `p_j = s_j z_j`.
/// Errors that say the loss is not differentiable at a point (rather than that the problem is
/// malformed).
fn not_differentiable(e: &hybrid_core::Error) -> bool {
    use hybrid_core::Error::*;
    matches!(
        e,
        GrazingEvent { .. } | NearMiss { .. } | EventAtObservation { .. } | EventAtRestart { .. }
    )
}

fn chain_rule(grad_p: [f64; 3], scale: &[f64; 3]) -> [f64; 3] {
    [
        grad_p[0] * scale[0],
        grad_p[1] * scale[1],
        grad_p[2] * scale[2],
    ]
}

fn iterate(p: &[f64; 4], loss: f64, grad_z: &[f64; 3], z: &[f64; 3]) -> FitIterate {
    // |p_j ∂L/∂p_j| = |z_j ∂L/∂z_j|.
    let gradient_norm = (0..3).map(|j| (z[j] * grad_z[j]).abs()).fold(0.0, f64::max);
    FitIterate {
        params: FITTED.map(|j| p[j]),
        loss,
        gradient_norm,
    }
}

type Mat3 = [[f64; 3]; 3];

fn identity() -> Mat3 {
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
}

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn mat_vec(m: &Mat3, v: &[f64; 3]) -> [f64; 3] {
    [dot(&m[0], v), dot(&m[1], v), dot(&m[2], v)]
}

/// BFGS update of the inverse Hessian, `H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ` with
/// `ρ = 1/(yᵀs)` (Nocedal & Wright eq. 6.17), skipped when the curvature `yᵀs` is not positive.
/// On the first step `H` is first scaled to `(yᵀs / yᵀy) I` (their eq. 6.20).
fn bfgs_update(h: &mut Mat3, s: &[f64; 3], y: &[f64; 3], first: bool) {
    let ys = dot(y, s);
    if !(ys > 1e-300) {
        return;
    }
    if first {
        *h = identity().map(|row| row.map(|v| v * ys / dot(y, y)));
    }
    let rho = 1.0 / ys;
    let hy = mat_vec(h, y);
    let yhy = dot(y, &hy);
    for i in 0..3 {
        for j in 0..3 {
            h[i][j] += -rho * (s[i] * hy[j] + hy[i] * s[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
        }
    }
}
