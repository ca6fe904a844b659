//! The BFGS fit on the adjoint gradient must recover hidden `(y0, e, g)` from heights observed at
//! fixed times to 1e-6 relative, from a guess off by 20-40%; the observations come from the closed
//! form (`docs/bouncing-ball.md`), not from the simulation the fit differentiates, so a wrong gradient or a
//! biased simulation moves the optimum and fails the test. The same routine runs in the
//! `bouncing_ball_fit` example.

use bouncing_ball::closed_form::state_at;
use bouncing_ball::{fit_heights, BallError, FitOptions, HeightLoss};

/// Heights of the closed-form trajectory at `count` equally spaced times in `(0, t_end]`.
fn observe(p: &[f64; 4], t_end: f64, count: usize) -> HeightLoss {
    let times: Vec<f64> = (1..=count)
        .map(|i| t_end * i as f64 / count as f64)
        .collect();
    let heights = times.iter().map(|&t| state_at(p, t).unwrap()[0]).collect();
    HeightLoss::new(times, heights).unwrap()
}

#[test]
fn fit_recovers_hidden_height_restitution_and_gravity_to_1e6() {
    let truth = [1.0, 0.0, 0.8, 9.81];
    let expected = [truth[0], truth[2], truth[3]];
    let loss = observe(&truth, 2.5, 25);
    for guess in [[1.4, 0.6, 7.0], [0.7, 0.9, 12.0], [1.5, 0.7, 12.0]] {
        let report = fit_heights(&loss, 0.0, guess, &FitOptions::default()).unwrap();
        for (got, want) in report.params.iter().zip(expected) {
            assert!(
                (got - want).abs() <= 1e-6 * want,
                "from {guess:?}: recovered {:?}",
                report.params
            );
        }
        let losses: Vec<f64> = report.iterates.iter().map(|it| it.loss).collect();
        assert!(
            losses.windows(2).all(|w| w[1] < w[0]),
            "the line search must decrease the loss: {losses:?}"
        );
    }
}

#[test]
fn guess_whose_zeno_time_precedes_the_observations_is_refused_naming_t_z() {
    // y0 = 0.6, e = 0.5, g = 14, v0 = 0: u = sqrt(16.8), t_Z = (u/g)(1 + e)/(1 − e) = 3u/g ≈ 0.878 < 2.5.
    let loss = observe(&[1.0, 0.0, 0.8, 9.81], 2.5, 25);
    match fit_heights(&loss, 0.0, [0.6, 0.5, 14.0], &FitOptions::default()) {
        Err(BallError::PastZenoTime { t_zeno, .. }) => {
            let expected = 3.0 * 16.8f64.sqrt() / 14.0;
            assert!(
                (t_zeno - expected).abs() < 1e-12,
                "t_Z {t_zeno} vs {expected}"
            );
        }
        other => panic!("expected PastZenoTime, got {other:?}"),
    }
}

#[test]
fn mismatched_observations_are_refused() {
    assert!(matches!(
        HeightLoss::new(vec![0.1, 0.2], vec![1.0]),
        Err(BallError::ObservationMismatch {
            times: 2,
            heights: 1
        })
    ));
    assert!(matches!(
        HeightLoss::new(vec![], vec![]),
        Err(BallError::ObservationMismatch { .. })
    ));
}

#[test]
fn non_finite_or_unordered_observations_are_refused_naming_the_first() {
    // A NaN height used to reach the loss, where `loss_value` returned NaN.
    let cases = [
        (vec![0.1, 0.2], vec![1.0, f64::NAN], 1),
        (vec![0.2, 0.1], vec![1.0, 1.0], 1),
        (vec![0.0, 0.1], vec![1.0, 1.0], 0),
        (vec![0.1, f64::INFINITY], vec![1.0, 1.0], 1),
    ];
    for (times, heights, first) in cases {
        match HeightLoss::new(times.clone(), heights) {
            Err(BallError::InvalidObservation { index, .. }) => {
                assert_eq!(index, first, "{times:?}")
            }
            other => panic!("{times:?}: expected InvalidObservation, got {other:?}"),
        }
    }
    assert!(HeightLoss::new(vec![0.1, 0.1, 0.3], vec![1.0, 0.5, 0.0]).is_ok());
}

#[test]
fn nonpositive_guess_is_refused_naming_the_parameter() {
    let loss = observe(&[1.0, 0.0, 0.8, 9.81], 2.5, 25);
    match fit_heights(&loss, 0.0, [1.0, 0.0, 9.0], &FitOptions::default()) {
        Err(BallError::InvalidParameter { name, .. }) => assert_eq!(name, "e"),
        other => panic!("expected InvalidParameter for e, got {other:?}"),
    }
}
