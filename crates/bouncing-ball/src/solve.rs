//! Entry points that know the ball's Zeno time: they refuse a horizon at or past `t_Z`
//! (`docs/bouncing-ball.md` §"The Zeno time") and translate the solver's accumulation errors into one that names `t_Z`.
//! Time starts at `t = 0`, as in the closed form.

use crate::closed_form::zeno_time;
use crate::{BallError, BouncingBall};
use hybrid_core::{Error, Gradient, Loss, Sensitivities, Solution, SolverOptions};

/// Check that `p = [y0, v0, e, g]` is in the model's domain: all finite, `g > 0`, `e ≥ 0`, and the
/// ball above the floor (`y0 > 0`, or `y0 = 0` moving up).
pub fn check_parameters(p: &[f64]) -> Result<(), BallError> {
    if p.len() != 4 {
        return Err(Error::WrongLength {
            what: "parameters",
            expected: 4,
            got: p.len(),
        }
        .into());
    }
    let bad = |name, value, requirement| {
        Err(BallError::InvalidParameter {
            name,
            value,
            requirement,
        })
    };
    let (y0, v0, e, g) = (p[0], p[1], p[2], p[3]);
    if !v0.is_finite() {
        return bad("v0", v0, "a finite value");
    }
    if !(y0.is_finite() && (y0 > 0.0 || (y0 == 0.0 && v0 > 0.0))) {
        return bad(
            "y0",
            y0,
            "y0 > 0 (or y0 = 0 with v0 > 0): the ball starts above the floor",
        );
    }
    if !(e.is_finite() && e >= 0.0) {
        return bad("e", e, "a finite restitution e ≥ 0");
    }
    if !(g.is_finite() && g > 0.0) {
        return bad("g", g, "a finite gravity g > 0");
    }
    Ok(())
}

/// Run `solve` on `[0, t_end]` after checking the parameters and the Zeno time, and name `t_Z`
/// in the accumulation errors the solver may return.
fn zeno_guarded<R>(
    p: &[f64],
    t_end: f64,
    solve: impl FnOnce() -> Result<R, Error>,
) -> Result<R, BallError> {
    check_parameters(p)?;
    let t_zeno = zeno_time(p)?;
    if t_end >= t_zeno {
        return Err(BallError::PastZenoTime {
            t_end,
            t_zeno,
            e: p[2],
        });
    }
    solve().map_err(|source| match source {
        Error::TooManyEvents { .. }
        | Error::EventsTooClose { .. }
        | Error::StepSizeTooSmall { .. } => BallError::ZenoAccumulation {
            t_end,
            t_zeno,
            source,
        },
        other => BallError::Core(other),
    })
}

/// [`hybrid_core::simulate`] of the ball on `[0, t_end]`, refusing `t_end ≥ t_Z`.
///
/// ```
/// use bouncing_ball::{simulate, BallError};
/// use hybrid_core::SolverOptions;
///
/// // y0 = 5, g = 10, e = 0.5: impacts at 1, 2, 2.5, …, accumulating at t_Z = 3.
/// let p = [5.0, 0.0, 0.5, 10.0];
/// let sol = simulate(&p, 2.2, &SolverOptions::default())?;
/// assert_eq!(sol.events.len(), 2);
/// let err = simulate(&p, 4.0, &SolverOptions::default()).unwrap_err();
/// assert!(matches!(err, BallError::PastZenoTime { t_zeno, .. } if t_zeno == 3.0));
/// # Ok::<(), BallError>(())
/// ```
pub fn simulate(p: &[f64], t_end: f64, opts: &SolverOptions) -> Result<Solution, BallError> {
    zeno_guarded(p, t_end, || {
        hybrid_core::simulate(&BouncingBall, p, 0.0, t_end, opts)
    })
}

/// [`hybrid_core::forward_sensitivities`] of the ball on `[0, t_end]`, refusing `t_end ≥ t_Z`.
pub fn forward_sensitivities(
    p: &[f64],
    t_end: f64,
    sample_times: &[f64],
    opts: &SolverOptions,
) -> Result<Sensitivities, BallError> {
    zeno_guarded(p, t_end, || {
        hybrid_core::forward_sensitivities(&BouncingBall, p, 0.0, t_end, sample_times, opts)
    })
}

/// [`hybrid_core::forward_gradient`] of a loss on `[0, t_end]`, refusing `t_end ≥ t_Z`.
pub fn forward_gradient<L: Loss>(
    p: &[f64],
    t_end: f64,
    loss: &L,
    opts: &SolverOptions,
) -> Result<Gradient, BallError> {
    zeno_guarded(p, t_end, || {
        hybrid_core::forward_gradient(&BouncingBall, p, 0.0, t_end, loss, opts)
    })
}

/// [`hybrid_core::adjoint_gradient`] of a loss on `[0, t_end]`, refusing `t_end ≥ t_Z`.
pub fn adjoint_gradient<L: Loss>(
    p: &[f64],
    t_end: f64,
    loss: &L,
    opts: &SolverOptions,
) -> Result<Gradient, BallError> {
    zeno_guarded(p, t_end, || {
        hybrid_core::adjoint_gradient(&BouncingBall, p, 0.0, t_end, loss, opts)
    })
}

/// [`hybrid_core::loss_value`] of a loss on `[0, t_end]`, refusing `t_end ≥ t_Z`.
pub fn loss_value<L: Loss>(
    p: &[f64],
    t_end: f64,
    loss: &L,
    opts: &SolverOptions,
) -> Result<f64, BallError> {
    zeno_guarded(p, t_end, || {
        hybrid_core::loss_value(&BouncingBall, p, 0.0, t_end, loss, opts)
    })
}
