//! The steppers allocate nothing after construction: counted with an instrumented global
//! allocator (`stats_alloc`, which needs no `unsafe` in this crate) over 1000 accepted steps of
//! each stepper, including resets, dense-output evaluation and polishing steps.
//!
//! Guards against a `Vec` or `clone` slipping into the hot loop of the event-located
//! integration, which would make simulation cost scale with the allocator instead of the maths.
//! The allocator counts every thread, so this test runs without the libtest harness
//! (`harness = false`): on the main thread, alone, with nothing else allocating during the count.

use hybrid_core::ode::{Dop853, Dopri5, Stepper, StepperOptions};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn oscillator(_t: f64, x: &[f64], dx: &mut [f64]) {
    dx[0] = x[1];
    dx[1] = -x[0];
}

/// 1000 accepted steps, with a reset (as after a jump), a backwards stretch, dense output and
/// polishing steps on the way. Returns the number of accepted steps.
fn run<S: Stepper>(s: &mut S) -> usize {
    let mut out = [0.0; 2];
    let x0 = [1.0, 0.0];
    s.reset(&mut oscillator, 0.0, &x0, 1.0);
    let mut checksum = 0.0;
    for i in 0..1000 {
        if i == 500 {
            let x = [s.x()[0], -s.x()[1]];
            s.reset(&mut oscillator, s.t(), &x, -1.0);
        }
        let t_bound = if i < 500 { 1e9 } else { -1e9 };
        s.step(&mut oscillator, t_bound).expect("step");
        let tm = 0.5 * (s.t_prev() + s.t());
        s.interpolate(tm, &mut out);
        checksum += out[0];
        let seg = s.segment();
        seg.eval(tm, &mut out);
        checksum += out[1];
        if i % 10 == 0 {
            s.step_from_prev_to(&mut oscillator, tm, &mut out);
            checksum += out[0];
        }
    }
    assert!(checksum.is_finite());
    s.stats().accepted
}

fn main() {
    steppers_do_not_allocate_after_construction();
    println!("steppers_do_not_allocate_after_construction ... ok");
}

fn steppers_do_not_allocate_after_construction() {
    let opts = StepperOptions {
        rtol: 1e-9,
        atol: 1e-9,
        max_step: 0.05,
        first_step: 0.0,
        max_steps: 100_000,
    };
    let mut dp5 = Dopri5::new(2, opts);
    let mut dp8 = Dop853::new(2, opts);
    let region = Region::new(GLOBAL);
    let steps5 = run(&mut dp5);
    let steps8 = run(&mut dp8);
    let stats = region.change();
    assert_eq!((steps5, steps8), (1000, 1000));
    assert_eq!(
        (stats.allocations, stats.reallocations),
        (0, 0),
        "allocations and reallocations over 2000 accepted steps: {stats:?}"
    );
}
