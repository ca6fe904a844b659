//! A `Solver` reused across parameter vectors must give, bit for bit, what a fresh one gives:
//! nothing of one call (a quadrature's value, an event record, a selector's count, the
//! integrator's accumulated error) may leak into the next. Checked for every loss kind (terminal,
//! running, impact time, impact speed with `Nth`, `Last` and `Every`), by the adjoint and by
//! forward sensitivities, on a sequence of parameters whose impact count changes (3, 2, 4, 3).

use crate::common;
use bouncing_ball::BouncingBall;
use common::*;
use hybrid_core::{Gradient, Occurrence, Problem};

/// `(loss, gradient, event times)` as bits.
fn bits(g: &Gradient) -> (u64, Vec<u64>, Vec<u64>) {
    (
        g.loss.to_bits(),
        g.gradient.iter().map(|v| v.to_bits()).collect(),
        g.events.iter().map(|e| e.t.to_bits()).collect(),
    )
}

#[test]
fn a_reused_solver_gives_what_a_fresh_one_gives_bit_for_bit() {
    let t_end = 2.0;
    let kinds = [
        Kind::Terminal {
            alpha: 1.0,
            beta: 0.5,
        },
        Kind::Running { a: 0.5, b: 1.0 },
        Kind::ImpactTime { k: 1 },
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
    // Impact counts before t = 2: 3, 2, 4, 3 (checked below).
    let params = [
        [1.0, 0.0, 0.8, 9.81],
        [2.0, 0.0, 0.8, 9.81],
        [0.7, 0.0, 0.8, 9.81],
        [1.0, 0.1, 0.8, 9.81],
    ];
    let problem_of = |kind| {
        Problem::new(BouncingBall, 0.0, t_end)
            .unwrap()
            .with_loss(BallLoss::new(kind, t_end))
            .unwrap()
            .with_options(tight())
            .unwrap()
    };
    let mut counts = Vec::new();
    for kind in kinds {
        let problem = problem_of(kind);
        let mut reused = problem.solver();
        for p in &params {
            for forward in [false, true] {
                let mut fresh = problem.solver();
                let (a, b) = if forward {
                    (
                        bits(reused.forward_gradient(p).unwrap()),
                        bits(fresh.forward_gradient(p).unwrap()),
                    )
                } else {
                    (
                        bits(reused.adjoint_gradient(p).unwrap()),
                        bits(fresh.adjoint_gradient(p).unwrap()),
                    )
                };
                assert_eq!(a, b, "{kind:?} at {p:?} (forward: {forward})");
                counts.push(a.2.len());
            }
            assert_eq!(
                bits(reused.adjoint_gradient(p).unwrap()).0,
                reused.loss(p).unwrap().to_bits()
            );
        }
    }
    assert_eq!(&counts[..8], &[3, 3, 2, 2, 4, 4, 3, 3]);
}
