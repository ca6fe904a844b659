//! Heap allocations per accepted step of our steppers and of `ode_solvers` 0.6, counted with an
//! instrumented global allocator (`stats_alloc`) on the oscillator chain of the workspace's
//! `benches/integrator.rs` (same problem, tolerances, sizes 4, 100, 1000 and output modes:
//! `ode_solvers` in `Sparse` mode, which stores the state after every step, and for Dopri5 also in
//! `Dense` mode with a single output interval).
//!
//! Columns: allocations of a whole solve over `[0, 20]` (construction included) divided by its
//! accepted steps, and the marginal count, the difference between the solves over `[0, 20]` and
//! `[0, 10]` divided by the difference of their accepted steps, in which what a solve allocates
//! once (construction, first step size, output vectors) cancels. Rejected attempts are included
//! in both (they are part of the cost of an accepted step).
//!
//! Not a criterion bench: it prints a table (`cargo bench -p hybrid-core --bench allocations`).
//! The no-allocation property itself is asserted by `tests/integrator_no_alloc.rs`; this program
//! measures the other library beside ours.

#![allow(missing_docs)]

use hybrid_core::ode::{Dop853, Dopri5, Stepper, StepperOptions};
use ode_solvers::{DVector, OutputType, SVector};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const TOL: f64 = 1e-8;

/// The oscillator chain of `benches/integrator.rs`.
fn chain(x: &[f64], dx: &mut [f64]) {
    let m = x.len() / 2;
    let (q, v) = x.split_at(m);
    let (dq, dv) = dx.split_at_mut(m);
    dq.copy_from_slice(v);
    for i in 0..m {
        let left = if i > 0 { q[i - 1] } else { 0.0 };
        let right = if i + 1 < m { q[i + 1] } else { 0.0 };
        dv[i] = -q[i] + (left - 2.0 * q[i] + right) - 0.5 * q[i] * q[i] * q[i];
    }
}

fn initial(n: usize) -> Vec<f64> {
    let m = n / 2;
    (0..n)
        .map(|i| {
            if i < m {
                (std::f64::consts::PI * (i + 1) as f64 / (m + 1) as f64).sin()
            } else {
                0.0
            }
        })
        .collect()
}

/// Accepted steps and allocations (plus reallocations) of one solve over `[0, t_end]` (construction included).
type Run = fn(&[f64], f64) -> (usize, usize);

fn ours<S: Stepper>(x0: &[f64], t_end: f64) -> (usize, usize) {
    let opts = StepperOptions {
        rtol: TOL,
        atol: TOL,
        max_step: f64::INFINITY,
        first_step: 0.0,
        max_steps: 1_000_000,
    };
    let region = Region::new(GLOBAL);
    let mut s = S::new(x0.len(), opts);
    let mut rhs = |_t: f64, x: &[f64], dx: &mut [f64]| chain(x, dx);
    s.reset(&mut rhs, 0.0, x0, 1.0);
    while s.t() < t_end {
        s.step(&mut rhs, t_end).expect("our stepper");
    }
    let c = region.change();
    let allocs = c.allocations + c.reallocations;
    (s.stats().accepted, allocs)
}

/// Allocations plus reallocations (a growing `Vec` reallocates) since the region began.
fn allocs_and_reallocs(region: &Region<'_, System>) -> usize {
    let c = region.change();
    c.allocations + c.reallocations
}

struct Chain;

impl ode_solvers::System<f64, DVector<f64>> for Chain {
    fn system(&self, _t: f64, y: &DVector<f64>, dy: &mut DVector<f64>) {
        chain(y.as_slice(), dy.as_mut_slice());
    }
}

impl ode_solvers::System<f64, SVector<f64, 4>> for Chain {
    fn system(&self, _t: f64, y: &SVector<f64, 4>, dy: &mut SVector<f64, 4>) {
        chain(y.as_slice(), dy.as_mut_slice());
    }
}

fn theirs_dopri5(x0: &[f64], t_end: f64, output: OutputType) -> (usize, usize) {
    let y0 = DVector::from_column_slice(x0);
    let region = Region::new(GLOBAL);
    let mut s = ode_solvers::Dopri5::new(Chain, 0.0, t_end, t_end, y0, TOL, TOL);
    s.set_output(output);
    let steps = s.integrate().expect("ode_solvers Dopri5").accepted_steps;
    (steps as usize, allocs_and_reallocs(&region))
}

fn theirs_dopri5_sparse(x0: &[f64], t_end: f64) -> (usize, usize) {
    theirs_dopri5(x0, t_end, OutputType::Sparse)
}

fn theirs_dopri5_dense(x0: &[f64], t_end: f64) -> (usize, usize) {
    theirs_dopri5(x0, t_end, OutputType::Dense)
}

fn theirs_dop853(x0: &[f64], t_end: f64) -> (usize, usize) {
    let y0 = DVector::from_column_slice(x0);
    let region = Region::new(GLOBAL);
    let mut s = ode_solvers::Dop853::new(Chain, 0.0, t_end, t_end, y0, TOL, TOL);
    s.set_output(OutputType::Sparse);
    let steps = s.integrate().expect("ode_solvers Dop853").accepted_steps;
    (steps as usize, allocs_and_reallocs(&region))
}

fn theirs_dopri5_static(x0: &[f64], t_end: f64) -> (usize, usize) {
    let y0 = SVector::<f64, 4>::from_column_slice(x0);
    let region = Region::new(GLOBAL);
    let mut s = ode_solvers::Dopri5::new(Chain, 0.0, t_end, t_end, y0, TOL, TOL);
    s.set_output(OutputType::Sparse);
    let steps = s.integrate().expect("ode_solvers Dopri5").accepted_steps;
    (steps as usize, allocs_and_reallocs(&region))
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: same quick run.
    println!(
        "{:>5}  {:<26} {:>7} {:>9} {:>15} {:>17}",
        "n", "solver", "steps", "allocs", "allocs / steps", "marginal / step"
    );
    for n in [4usize, 100, 1000] {
        let x0 = initial(n);
        let mut runs: Vec<(&str, Run)> = vec![
            ("ours_dopri5", ours::<Dopri5>),
            ("ours_dop853", ours::<Dop853>),
            ("ode_solvers_dopri5", theirs_dopri5_sparse),
            ("ode_solvers_dopri5_dense", theirs_dopri5_dense),
            ("ode_solvers_dop853", theirs_dop853),
        ];
        if n == 4 {
            runs.push(("ode_solvers_dopri5_static", theirs_dopri5_static));
        }
        for (name, run) in runs {
            let (s1, a1) = run(&x0, 10.0);
            let (s2, a2) = run(&x0, 20.0);
            let per_step = (a2 as f64 - a1 as f64) / (s2 as f64 - s1 as f64);
            let average = a2 as f64 / s2 as f64;
            println!("{n:>5}  {name:<26} {s2:>7} {a2:>9} {average:>15.2} {per_step:>17.2}");
        }
    }
}
