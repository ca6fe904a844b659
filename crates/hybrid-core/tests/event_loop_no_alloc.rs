//! The event loop's pieces (detection, location, the jump, the retrigger, Zeno and grazing
//! checks) own their scratch: once warm, an event allocates nothing but the two state vectors of
//! its own `EventRecord` (`x⁻`, `x⁺`), which the result keeps. Counted with an instrumented
//! global allocator over a thousand extra impacts of a ball with two guards (one that never
//! fires, so detection runs for both), with the per-step storage of the dense trajectory growing
//! geometrically (a logarithmic number of reallocations).
//!
//! Guards against a `Vec`, `clone` or `format!` slipping into the per-event path. The allocator
//! counts every thread, so this test runs without the libtest harness (`harness = false`): on the
//! main thread, alone.

use hybrid_core::Derivatives;

use hybrid_core::{simulate, Crossing, Dims, HybridSystem, Scalar, SolverOptions};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// A ball `[y, v]` bouncing with restitution 0.9995 off the floor `y = 0`, under a ceiling
/// `y = 10` it never reaches.
struct Ball;

impl HybridSystem for Ball {
    fn dims(&self) -> Dims {
        Dims {
            states: 2,
            params: 1,
            guards: 2,
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0[0] = p[0];
        x0[1] = T::zero();
    }
    fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], _p: &[T], dx: &mut [T]) {
        dx[0] = x[1];
        dx[1] = T::cst(-9.81);
    }
    fn guard<T: Scalar>(&self, _q: usize, k: usize, _t: T, x: &[T], _p: &[T]) -> T {
        if k == 0 {
            x[0]
        } else {
            T::cst(10.0) - x[0]
        }
    }
    fn direction(&self, _q: usize, _k: usize) -> Crossing {
        Crossing::Falling
    }
    fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
        xp[0] = x[0];
        xp[1] = T::cst(-0.9995) * x[1];
    }
}

impl Derivatives for Ball {}

/// Allocations (and reallocations) of one simulation up to `t_end`, with its event count.
fn count(t_end: f64) -> (usize, usize, usize) {
    let opts = SolverOptions::default();
    let region = Region::new(GLOBAL);
    let sol = simulate(&Ball, &[1.0], 0.0, t_end, &opts).expect("simulates");
    let stats = region.change();
    (sol.events.len(), stats.allocations, stats.reallocations)
}

fn main() {
    an_event_allocates_only_its_own_record();
    println!("an_event_allocates_only_its_own_record ... ok");
}

fn an_event_allocates_only_its_own_record() {
    let (e1, a1, r1) = count(300.0);
    let (e2, a2, r2) = count(900.0);
    let extra_events = e2 - e1;
    assert!(extra_events >= 1000, "{e1} and {e2} events");
    // Two vectors per record; the rest grows geometrically: a few dozen at most.
    let extra = (a2 + r2) - (a1 + r1);
    assert!(
        extra <= 2 * extra_events + 40,
        "{extra} allocations for {extra_events} more events ({a1}+{r1} vs {a2}+{r2})"
    );
}
