//! Past the Zeno time the ball makes infinitely many impacts; a horizon at or past it must give
//! the typed error naming the predicted accumulation time `t_Z = t1 + 2 e u / (g (1 − e))`
//! (`docs/bouncing-ball.md` §"The Zeno time"), from every entry point, never a hang or a bare "too many events"; and a solver
//! that gives up on accumulating impacts just before `t_Z` must be reported with `t_Z` too.
//!
//! Reference values by hand: y0 = 5, v0 = 0, g = 10 give u = 10 and t1 = 1, so t_Z = 1 + 2 e/(1 − e):
//! 3 for e = 0.5 and 9 for e = 0.8.

use crate::common;
use bouncing_ball::{
    adjoint_gradient, forward_gradient, forward_sensitivities, loss_value, simulate, BallError,
};
use common::{BallLoss, Kind};
use hybrid_core::SolverOptions;

const HALF: [f64; 4] = [5.0, 0.0, 0.5, 10.0];
const PAPER_E: [f64; 4] = [5.0, 0.0, 0.8, 10.0];

fn assert_past_zeno(result: Result<(), BallError>, t_zeno: f64, what: &str) {
    match result {
        Err(err @ BallError::PastZenoTime { .. }) => {
            let BallError::PastZenoTime { t_zeno: got, .. } = err else {
                unreachable!()
            };
            assert!(
                (got - t_zeno).abs() <= 1e-14 * t_zeno,
                "{what}: t_Z {got} vs {t_zeno}"
            );
            // Display of the computed t_Z (9.000000000000002 for e = 0.8) starts with the exact value.
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("t_Z = {t_zeno}")),
                "{what}: message does not name t_Z: {msg}"
            );
        }
        other => panic!("{what}: expected PastZenoTime, got {other:?}"),
    }
}

#[test]
fn horizon_at_or_past_zeno_time_is_refused_by_every_entry_point_naming_t_z() {
    let opts = SolverOptions::default();
    // t_end = t_Z exactly only where t_Z is exact in binary (e = 0.5; 1 − 0.8 is not).
    for (p, t_zeno, ends) in [
        (HALF, 3.0, [3.0, 3.5, 100.0]),
        (PAPER_E, 9.0, [9.0 + 1e-9, 9.5, 100.0]),
    ] {
        for t_end in ends {
            let loss = BallLoss::new(Kind::Running { a: 1.0, b: 1.0 }, t_end);
            assert_past_zeno(simulate(&p, t_end, &opts).map(drop), t_zeno, "simulate");
            assert_past_zeno(
                forward_sensitivities(&p, t_end, &[], &opts).map(drop),
                t_zeno,
                "forward_sensitivities",
            );
            assert_past_zeno(
                forward_gradient(&p, t_end, &loss, &opts).map(drop),
                t_zeno,
                "forward_gradient",
            );
            assert_past_zeno(
                adjoint_gradient(&p, t_end, &loss, &opts).map(drop),
                t_zeno,
                "adjoint_gradient",
            );
            assert_past_zeno(
                loss_value(&p, t_end, &loss, &opts).map(drop),
                t_zeno,
                "loss_value",
            );
        }
    }
}

#[test]
fn horizon_just_before_zeno_time_runs() {
    // t_k = 3 − 2^{2−k}: eight impacts before 2.99 (the eighth at 2.984375).
    let sol = simulate(&HALF, 2.99, &SolverOptions::default()).unwrap();
    assert_eq!(sol.events.len(), 8);
}

fn assert_accumulation(
    result: Result<hybrid_core::Solution, BallError>,
    what: &str,
) -> hybrid_core::Error {
    match result {
        Err(err @ BallError::ZenoAccumulation { .. }) => {
            let msg = err.to_string();
            assert!(
                msg.contains("t_Z = 3"),
                "{what}: message does not name t_Z: {msg}"
            );
            let BallError::ZenoAccumulation { t_zeno, source, .. } = err else {
                unreachable!()
            };
            assert!((t_zeno - 3.0).abs() <= 1e-14, "{what}: t_Z {t_zeno}");
            source
        }
        other => panic!("{what}: expected ZenoAccumulation, got {other:?}"),
    }
}

#[test]
fn solver_stopping_on_accumulating_impacts_is_reported_with_t_z() {
    // Impacts 2^{2−k} apart before 3 − 1e-12: they come closer than min_event_separation.
    let source = assert_accumulation(
        simulate(&HALF, 3.0 - 1e-12, &SolverOptions::default()),
        "close events",
    );
    assert!(
        matches!(source, hybrid_core::Error::EventsTooClose { .. }),
        "{source:?}"
    );
    let few = SolverOptions {
        max_events: 5,
        ..Default::default()
    };
    let source = assert_accumulation(simulate(&HALF, 2.99, &few), "max_events");
    assert!(
        matches!(source, hybrid_core::Error::TooManyEvents { count: 5, .. }),
        "{source:?}"
    );
}

#[test]
fn parameters_outside_the_domain_are_named() {
    let opts = SolverOptions::default();
    for (p, name) in [
        ([-1.0, 0.0, 0.5, 10.0], "y0"),
        ([0.0, -1.0, 0.5, 10.0], "y0"),
        ([5.0, f64::NAN, 0.5, 10.0], "v0"),
        ([5.0, 0.0, -0.1, 10.0], "e"),
        ([5.0, 0.0, 0.5, 0.0], "g"),
        ([5.0, 0.0, 0.5, f64::INFINITY], "g"),
    ] {
        match simulate(&p, 1.0, &opts) {
            Err(BallError::InvalidParameter { name: got, .. }) => assert_eq!(got, name, "{p:?}"),
            other => panic!("{p:?}: expected InvalidParameter {name}, got {other:?}"),
        }
    }
    assert!(matches!(
        simulate(&[1.0; 3], 1.0, &opts),
        Err(BallError::Core(hybrid_core::Error::WrongLength { .. }))
    ));
}
