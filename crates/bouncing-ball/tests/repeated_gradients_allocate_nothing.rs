//! A solver owns every buffer: after its first call, 1000 more ball gradients (adjoint and
//! forward, three impacts each, a loss with an observation and an impact-speed term) allocate
//! nothing at all. Counted with an instrumented global allocator; the gradients are checked
//! against the closed form so the count is of real work. Guards against a `Vec`, `clone` or
//! `format!` slipping into any pass. The allocator counts every thread, so this test runs
//! without the libtest harness (`harness = false`): on the main thread, alone. Under libtest the
//! harness thread's own channel set-up (two allocations) landed in the count on a loaded machine.

use bouncing_ball::closed_form::{impact_speed, state_at};
use bouncing_ball::BouncingBall;
use hybrid_core::{EventPoint, EventSelector, Loss, Problem, Scalar};
use num_dual::Dual64;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const T_END: f64 = 2.0; // three impacts for the parameters below

/// `y(T)² + (v⁻)²` at the last impact.
struct HeightAndLastImpact {
    obs: [f64; 1],
    sel: [EventSelector; 1],
}

impl Loss for HeightAndLastImpact {
    fn observation_times(&self) -> &[f64] {
        &self.obs
    }
    fn observation<T: Scalar>(&self, _i: usize, x: &[T], _p: &[T]) -> Option<T> {
        Some(x[0] * x[0])
    }
    fn event_selectors(&self) -> &[EventSelector] {
        &self.sel
    }
    fn event_term<T: Scalar>(&self, _j: usize, event: EventPoint<'_, T>, _p: &[T]) -> Option<T> {
        Some(event.x_minus[1] * event.x_minus[1])
    }
}

/// The same loss from the closed form: the third impact comes at speed `u e²`.
fn exact<T: Scalar>(p: &[T]) -> T {
    let y = state_at(p, T::cst(T_END)).unwrap()[0];
    let v3 = impact_speed(p).unwrap() * p[2] * p[2];
    y * y + v3 * v3
}

fn exact_gradient(p: &[f64]) -> Vec<f64> {
    (0..4)
        .map(|j| {
            let pd: Vec<Dual64> = (0..4)
                .map(|i| Dual64::new(p[i], if i == j { 1.0 } else { 0.0 }))
                .collect();
            exact(&pd).eps
        })
        .collect()
}

fn params(i: usize) -> [f64; 4] {
    [1.0 + 1e-4 * i as f64, 0.1, 0.8, 9.81]
}

fn main() {
    a_thousand_gradients_after_the_first_allocate_nothing();
    println!("a_thousand_gradients_after_the_first_allocate_nothing ... ok");
}

fn a_thousand_gradients_after_the_first_allocate_nothing() {
    let loss = HeightAndLastImpact {
        obs: [T_END],
        sel: [EventSelector::last_of_guard(0)],
    };
    let problem = Problem::new(BouncingBall, 0.0, T_END)
        .unwrap()
        .with_loss(loss)
        .unwrap();
    let mut solver = problem.solver();
    let mut worst = 0.0f64;
    let mut check = |g: &[f64], p: &[f64]| {
        let want = exact_gradient(p);
        let scale = want.iter().fold(0.0f64, |a, w| a.max(w.abs()));
        for (a, b) in g.iter().zip(&want) {
            worst = worst.max((a - b).abs() / scale);
        }
    };
    // Warm-up: the first call of each kind sizes the buffers.
    check(
        &solver.adjoint_gradient(&params(0)).unwrap().gradient,
        &params(0),
    );
    check(
        &solver.forward_gradient(&params(0)).unwrap().gradient,
        &params(0),
    );

    let mut sums = [0.0; 2];
    let region = Region::new(GLOBAL);
    for i in 1..=1000 {
        let p = params(i);
        let adj = solver.adjoint_gradient(&p).unwrap();
        assert_eq!(adj.events.len(), 3);
        sums[0] += adj.gradient[0];
        let fwd = solver.forward_gradient(&p).unwrap();
        sums[1] += fwd.gradient[0];
    }
    let stats = region.change();
    assert_eq!(
        (stats.allocations, stats.reallocations),
        (0, 0),
        "allocations and reallocations over 1000 adjoint + 1000 forward gradients"
    );
    // The work was real: the last gradients agree with the closed form, and the sums moved.
    check(
        &solver.adjoint_gradient(&params(1000)).unwrap().gradient,
        &params(1000),
    );
    check(
        &solver.forward_gradient(&params(1000)).unwrap().gradient,
        &params(1000),
    );
    assert!(worst < 1e-8, "deviation from the closed form {worst:e}");
    assert!(sums.iter().all(|s| s.is_finite() && *s != 0.0));
}
