//! The ball-gradient bench (`benches/ball_gradient.rs`) compares the framework with a hand-written
//! closed-form gradient; these tests make sure that comparison is between equal answers. They
//! guard against a wrong floor (a slip in the hand-written chain rule would make the bench time
//! a different function), and against the framework's default options (Dopri5,
//! `rtol = atol = 1e-10`) missing the accuracy bar of 1e-10 on the bench's problem.
//!
//! Oracles: the closed form `bouncing_ball::closed_form::state_at` differentiated by dual
//! numbers (no code shared with either the framework or the hand-written gradient), and central
//! finite differences of the hand-written loss.

#[path = "../benches/support/ball_floor.rs"]
mod ball_floor;
#[path = "../benches/support/exact_ball.rs"]
mod exact_ball;

use ball_floor::{
    dual_gradient, floor_gradient, height_loss, relative_error, HEIGHTS, P, TIMES, T_END,
};
use bouncing_ball::closed_form::impacts_until;
use bouncing_ball::{adjoint_gradient, forward_gradient, BouncingBall};
use exact_ball::ExactBall;
use hybrid_core::{Problem, SolverOptions};
use hybrid_testkit::{check_derivatives, Point};

#[test]
fn bench_problem_has_three_impacts_and_one_observation_per_parabola() {
    assert_eq!(impacts_until(&P, T_END).unwrap(), 3);
    for (k, &s) in TIMES.iter().enumerate() {
        assert_eq!(impacts_until(&P, s).unwrap(), k, "observation at {s}");
    }
}

#[test]
fn hand_written_gradient_equals_dual_number_closed_form_to_1e_13() {
    let (l_hand, hand) = floor_gradient(&P, &TIMES, &HEIGHTS);
    let (l_dual, dual) = dual_gradient(&P, &TIMES, &HEIGHTS);
    assert!(
        (l_hand - l_dual).abs() <= 1e-14 * l_dual,
        "{l_hand} vs {l_dual}"
    );
    let err = relative_error(&hand, &dual);
    assert!(err <= 1e-13, "error {err:e}: {hand:?} vs {dual:?}");
    assert!(
        hand.iter().all(|g| g.abs() > 1e-3),
        "every component matters"
    );
}

#[test]
fn hand_written_gradient_matches_central_differences_elsewhere() {
    // Another point, with other impact counts at the observation times (drop from rest, softer
    // bounces), so that a slip the two closed forms might share at `P` would show.
    let p = [1.3, 0.0, 0.6, 9.0];
    let (times, heights) = ([0.2, 0.7, 0.9, 1.4], [1.0, 0.1, 0.2, 0.05]);
    let (_, hand) = floor_gradient(&p, &times, &heights);
    let fd: Vec<f64> = (0..4)
        .map(|j| {
            let h = 1e-6 * p[j].abs().max(1.0);
            let (mut up, mut down) = (p, p);
            up[j] += h;
            down[j] -= h;
            let l = |q: &[f64; 4]| floor_gradient(q, &times, &heights).0;
            (l(&up) - l(&down)) / (2.0 * h)
        })
        .collect();
    let err = relative_error(&fd, &hand);
    assert!(err <= 1e-7, "error {err:e}: {fd:?} vs {hand:?}");
    let (_, dual) = dual_gradient(&p, &times, &heights);
    assert!(
        relative_error(&hand, &dual) <= 1e-13,
        "{hand:?} vs {dual:?}"
    );
}

#[test]
fn adjoint_gradient_with_default_options_is_within_1e_10_of_the_closed_form() {
    let (l_hand, hand) = floor_gradient(&P, &TIMES, &HEIGHTS);
    let adj = adjoint_gradient(&P, T_END, &height_loss(), &SolverOptions::default()).unwrap();
    assert!((adj.loss - l_hand).abs() <= 1e-10 * l_hand);
    let err = relative_error(&adj.gradient, &hand);
    assert!(
        err <= 1e-10,
        "error {err:e}: {:?} vs {hand:?}",
        adj.gradient
    );
}

#[test]
fn forward_gradient_with_default_options_is_within_1e_10_of_the_closed_form() {
    let (l_hand, hand) = floor_gradient(&P, &TIMES, &HEIGHTS);
    let fwd = forward_gradient(&P, T_END, &height_loss(), &SolverOptions::default()).unwrap();
    assert!((fwd.loss - l_hand).abs() <= 1e-10 * l_hand);
    let err = relative_error(&fwd.gradient, &hand);
    assert!(
        err <= 1e-10,
        "error {err:e}: {:?} vs {hand:?}",
        fwd.gradient
    );
}

#[test]
fn reused_solver_gradients_with_default_options_are_within_1e_10_of_the_closed_form() {
    // The bench times a Solver reused across calls: its second answer must be as good as its first.
    let (_, hand) = floor_gradient(&P, &TIMES, &HEIGHTS);
    let loss = height_loss();
    let problem = Problem::new(BouncingBall, 0.0, T_END)
        .and_then(|pb| pb.with_loss(&loss))
        .unwrap();
    let mut solver = problem.solver();
    for round in 0..2 {
        let adj = solver.adjoint_gradient(&P).unwrap().gradient.clone();
        let fwd = solver.forward_gradient(&P).unwrap().gradient.clone();
        for (name, got) in [("adjoint", adj), ("forward", fwd)] {
            let err = relative_error(&got, &hand);
            assert!(
                err <= 1e-10,
                "{name}, call {round}: error {err:e}: {got:?} vs {hand:?}"
            );
        }
    }
}

#[test]
fn exact_products_ball_passes_the_kit_and_its_gradients_are_within_1e_10_of_the_closed_form() {
    // The bench's second model: the ball with hand-written derivative products. The kit checks
    // every product against the dual-number defaults (and the model against central differences)
    // at points on the three kinds of parabola, falling and rising.
    for (t, x) in [(0.3, [0.7, -2.4]), (1.0, [0.56, 1.1]), (1.9, [0.05, -3.0])] {
        let point = Point {
            t,
            x: x.to_vec(),
            q: 0,
        };
        let report = check_derivatives(&ExactBall, &P, &point);
        assert!(report.is_ok(), "at {point:?}: {report:?}");
    }
    let (_, hand) = floor_gradient(&P, &TIMES, &HEIGHTS);
    let loss = height_loss();
    let problem = Problem::new(ExactBall, 0.0, T_END)
        .and_then(|pb| pb.with_loss(&loss))
        .unwrap();
    let mut solver = problem.solver();
    let adj = solver.adjoint_gradient(&P).unwrap().gradient.clone();
    let fwd = solver.forward_gradient(&P).unwrap().gradient.clone();
    for (name, got) in [("adjoint", adj), ("forward", fwd)] {
        let err = relative_error(&got, &hand);
        assert!(err <= 1e-10, "{name}: error {err:e}: {got:?} vs {hand:?}");
    }
}
