//! Forward sensitivities, the adjoint gradient and the closed form of `docs/bouncing-ball.md` (differentiated
//! by dual numbers, sharing no code with the framework) must agree to 1e-8 relative for the three
//! loss kinds — terminal on `y(T), v(T)`, running `∫(a v² + b y) dt`, the time of the k-th
//! impact, and an impact-speed term `c (v⁻)² + (v⁺)²` read on both sides of the k-th, the last or
//! every impact — over random parameters and horizons covering 1 to 8 impacts. Guards against
//! errors in the saltation jump of the sensitivities, the adjoint jump, the running loss's jump
//! term `ℓ⁻ − ℓ⁺` (here `a (v⁻² − v⁺²) ≠ 0`), the event terms (their `x⁻`/`x⁺` partials and the
//! `Nth`/`Last`/`Every` selection), and in event location.
//!
//! Margin: the horizon `T` is kept at least 2% of a bounce's duration away from every impact
//! time, so the number of impacts before `T` is locally constant in `p` and the losses are smooth.

use crate::common;
use bouncing_ball::closed_form::{impact_speed, impact_times, impacts_until, state_at};
use bouncing_ball::{adjoint_gradient, forward_gradient, forward_sensitivities};
use common::*;
use hybrid_core::Occurrence;
use proptest::prelude::*;

const TOLERANCE: f64 = 1e-8;

/// Largest relative deviations (forward gradient, adjoint gradient) from the closed form, after
/// checking the loss value both methods report (positive here, so judged relative to itself).
fn deviations(p: &[f64], loss: &BallLoss) -> (f64, f64) {
    let exact = dual_gradient(p, |pd| loss.exact(pd));
    let fwd = forward_gradient(p, loss.t_end, loss, &tight()).unwrap();
    let adj = adjoint_gradient(p, loss.t_end, loss, &tight()).unwrap();
    if !matches!(loss.kind, Kind::Terminal { .. }) {
        let value = loss.exact(p);
        for l in [fwd.loss, adj.loss] {
            assert!(
                (l - value).abs() <= TOLERANCE * value.abs(),
                "{:?}: loss {l} vs {value}",
                loss.kind
            );
        }
    }
    (
        max_rel_dev(&fwd.gradient, &exact),
        max_rel_dev(&adj.gradient, &exact),
    )
}

/// Largest deviation of the forward sensitivities' `x(T)` and `S(T) = ∂[y, v]/∂p` from the closed
/// form, each entry relative to its own size or, when smaller, to its natural scale. The scales are
/// the ball's highest point `H = u²/2g` for `y`, the impact speed `u` for `v`, and `(H, u, 1, g)` for
/// `(y0, v0, e, g)`, so `∂x_i/∂p_j` is floored at `scale(x_i)/scale(p_j)`. Needed because in a late,
/// tiny bounce `y(T)` and the whole `y` row of `S` are many orders below these scales (while the
/// `v` row is not), and carry absolute rounding errors of the size of the `O(1)` entries'.
fn state_deviation(p: &[f64], t_end: f64) -> f64 {
    let sens = forward_sensitivities(p, t_end, &[t_end], &tight()).unwrap();
    let (x, s) = (&sens.samples[0].x, &sens.samples[0].s);
    let u = impact_speed(p).unwrap();
    let h = u * u / (2.0 * p[3]);
    let (x_scale, p_scale) = ([h, u], [h, u, 1.0, p[3]]);
    let dev = |got: f64, exact: f64, floor: f64| (got - exact).abs() / exact.abs().max(floor);
    let exact_x = state_at(p, t_end).unwrap();
    let dx = dual_gradient(p, |pd| state_at(pd, t_end.into()).unwrap()[0]);
    let dv = dual_gradient(p, |pd| state_at(pd, t_end.into()).unwrap()[1]);
    let mut worst = 0.0f64;
    for i in 0..2 {
        worst = worst.max(dev(x[i], exact_x[i], x_scale[i]));
        for j in 0..4 {
            let exact = if i == 0 { dx[j] } else { dv[j] };
            worst = worst.max(dev(s[i + 2 * j], exact, x_scale[i] / p_scale[j]));
        }
    }
    worst
}

#[test]
fn fig_1a_trajectory_agrees_with_closed_form_for_all_loss_kinds() {
    let p = [1.0, 0.0, 0.8, 9.81];
    let t_end = 2.0; // three impacts: 0.4515, 1.1740, 1.7520
    assert_eq!(impacts_until(&p, t_end).unwrap(), 3);
    assert!(state_deviation(&p, t_end) < TOLERANCE);
    let kinds = [
        Kind::Terminal {
            alpha: 1.0,
            beta: 0.5,
        },
        Kind::Running { a: 0.5, b: 1.0 },
        Kind::ImpactTime { k: 2 },
        Kind::ImpactSpeed {
            which: Occurrence::Nth(1),
            c: 0.5,
        },
        Kind::ImpactSpeed {
            which: Occurrence::Last,
            c: 0.5,
        },
        Kind::ImpactSpeed {
            which: Occurrence::Every,
            c: 0.5,
        },
    ];
    for kind in kinds {
        let (f, a) = deviations(&p, &BallLoss::new(kind, t_end));
        assert!(
            f < TOLERANCE && a < TOLERANCE,
            "{kind:?}: forward {f:e}, adjoint {a:e}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn forward_adjoint_and_closed_form_agree_over_one_to_eight_impacts(
        y0 in 0.1..10.0f64, v0 in -5.0..5.0f64, e in 0.3..0.95f64, g in 1.0..20.0f64,
        impacts in 1usize..=8, fraction in 0.02..0.98f64, pick in 0.0..1.0f64,
        alpha in 0.1..2.0f64, beta in -2.0..2.0f64, a in 0.1..2.0f64, b in 0.1..2.0f64,
    ) {
        let p = [y0, v0, e, g];
        let taus = impact_times(&p, impacts + 1).unwrap();
        let t_end = taus[impacts - 1] + fraction * (taus[impacts] - taus[impacts - 1]);
        prop_assert_eq!(impacts_until(&p, t_end).unwrap(), impacts);
        let k = ((pick * impacts as f64) as usize).min(impacts - 1);

        let x_dev = state_deviation(&p, t_end);
        prop_assert!(x_dev < TOLERANCE, "x(T), S(T): {:e}", x_dev);
        let which = [Occurrence::Nth(k), Occurrence::Last, Occurrence::Every][(3.0 * pick) as usize % 3];
        let kinds = [
            Kind::Terminal { alpha, beta },
            Kind::Running { a, b },
            Kind::ImpactTime { k },
            Kind::ImpactSpeed { which, c: alpha },
        ];
        for kind in kinds {
            let (f, a) = deviations(&p, &BallLoss::new(kind, t_end));
            prop_assert!(f < TOLERANCE, "{:?}: forward {:e}", kind, f);
            prop_assert!(a < TOLERANCE, "{:?}: adjoint {:e}", kind, a);
        }
    }
}
