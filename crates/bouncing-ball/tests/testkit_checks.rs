//! The shared test kit's two checks on the ball, over random parameters: every partial derivative
//! the framework takes of the model by dual numbers (`f_x, f_p, g_t, g_x, g_p, h_t, h_x, h_p,
//! ∂x0/∂p`) against central differences of the model's `f64` methods, and `dL/dp` by forward
//! sensitivities, by the adjoint and by central differences of whole simulations, for the three
//! loss kinds. Guards against a model whose generic methods differentiate wrongly (e.g. a constant
//! not made with `T::cst`, or a branch on the scalar) and against gradients that agree with each
//! other but not with the loss they differentiate.
//!
//! Margin: the horizon stays 2% of a bounce's duration away from any impact, so the finite-difference
//! perturbations (1e-5 and 2e-5 relative) never add or remove an impact.

use crate::common;
use bouncing_ball::closed_form::{impact_times, state_at};
use bouncing_ball::{BouncingBall, HeightLoss};
use common::{tight, BallLoss, Kind};
use hybrid_testkit::{check_derivatives, check_gradients, Point, Tolerances};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn model_partials_match_central_differences(
        y0 in 0.1..10.0f64, v0 in -5.0..5.0f64, e in 0.3..0.95f64, g in 1.0..20.0f64,
        t in 0.0..5.0f64, y in -1.0..10.0f64, v in -10.0..10.0f64,
    ) {
        let report = check_derivatives(&BouncingBall, &[y0, v0, e, g], &Point { t, x: vec![y, v], q: 0 });
        prop_assert!(report.is_ok(), "{:?}", report);
    }

    #[test]
    fn forward_adjoint_and_central_difference_gradients_agree(
        y0 in 0.1..10.0f64, v0 in -5.0..5.0f64, e in 0.3..0.95f64, g in 1.0..20.0f64,
        impacts in 1usize..=5, fraction in 0.02..0.98f64,
    ) {
        let p = [y0, v0, e, g];
        let taus = impact_times(&p, impacts + 1).unwrap();
        let t_end = taus[impacts - 1] + fraction * (taus[impacts] - taus[impacts - 1]);
        let kinds = [
            Kind::Terminal { alpha: 1.0, beta: 0.5 },
            Kind::Running { a: 0.5, b: 1.0 },
            Kind::ImpactTime { k: impacts - 1 },
        ];
        for kind in kinds {
            let loss = BallLoss::new(kind, t_end);
            let report = check_gradients(&BouncingBall, &p, 0.0, t_end, &loss, &tight(), &Tolerances::default());
            prop_assert!(report.is_ok(), "{:?}: {:?}", kind, report);
        }
    }
}

/// A case the property test drew (five impacts, slow fall, `e` = 0.78): `y(T)²` curves so sharply
/// in `e` that plain central differences at h = 1e-5 are off by 1.5e-5 relative (their O(h²) term;
/// 1.8e-3 at h = 1e-4, converging on the forward method's value); the check kit's extrapolated
/// differences agree.
#[test]
fn sharply_curved_terminal_loss_after_five_impacts_passes_the_gradient_check() {
    let p = [
        3.653216784890983,
        4.458932011347875,
        0.7809500683904573,
        1.5876463052348715,
    ];
    let taus = impact_times(&p, 6).unwrap();
    let t_end = taus[4] + 0.17015925084742678 * (taus[5] - taus[4]);
    let loss = BallLoss::new(
        Kind::Terminal {
            alpha: 1.0,
            beta: 0.5,
        },
        t_end,
    );
    let report = check_gradients(
        &BouncingBall,
        &p,
        0.0,
        t_end,
        &loss,
        &tight(),
        &Tolerances::default(),
    )
    .unwrap();
    assert!(report.forward_vs_central <= 1e-7, "{report:?}");
}

#[test]
fn fig_1a_point_passes_both_checks() {
    let p = [1.0, 0.0, 0.8, 9.81];
    let x = state_at(&p, 0.3).unwrap();
    check_derivatives(
        &BouncingBall,
        &p,
        &Point {
            t: 0.3,
            x: x.to_vec(),
            q: 0,
        },
    )
    .unwrap();
    let loss = BallLoss::new(
        Kind::Terminal {
            alpha: 1.0,
            beta: 0.5,
        },
        2.0,
    );
    let report = check_gradients(
        &BouncingBall,
        &p,
        0.0,
        2.0,
        &loss,
        &tight(),
        &Tolerances::default(),
    )
    .unwrap();
    assert!(
        report.adjoint_vs_forward < 1e-8 && report.forward_vs_central < 1e-5,
        "{report:?}"
    );
}

/// The fit's loss, heights observed on four parabolas (the bench's problem), passes the kit's
/// gradient check, which first checks its declaration that no height reads the parameters
/// (`hybrid_testkit::check_loss_inputs`).
#[test]
fn height_loss_passes_the_gradient_check() {
    let loss = HeightLoss::new(vec![0.3, 1.0, 1.5, 2.0], vec![0.5, 0.4, 0.3, 0.2]).unwrap();
    let report = check_gradients(
        &BouncingBall,
        &[1.0, 0.5, 0.8, 9.81],
        0.0,
        2.0,
        &loss,
        &tight(),
        &Tolerances::default(),
    )
    .unwrap();
    assert!(
        report.adjoint_vs_forward < 1e-8 && report.forward_vs_central < 1e-5,
        "{report:?}"
    );
}
