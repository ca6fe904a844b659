//! Cost per accepted step of the framework's integrators against the `ode_solvers` crate (0.6),
//! on the same smooth problem at the same tolerances, for state sizes 2, 4, 8, 100 and 1000.
//!
//! Problem: a chain of `m = n/2` anharmonic oscillators with nearest-neighbour springs and fixed
//! ends, `q̈_i = -q_i + c (q_{i-1} - 2 q_i + q_{i+1}) - β q_i³` (`c = 1`, `β = 0.5`), written as
//! `n = 2m` first-order equations `x = (q, v)`; initial shape `q_i = sin(π (i+1)/(m+1))`, `v = 0`,
//! integrated over `[0, 20]` at `rtol = atol = 1e-8`. The right-hand side costs `O(n)`, like the
//! integrator's own vector work, so the comparison is not hidden behind an expensive model.
//!
//! One iteration is one complete solve (construction included, as a user pays it); criterion's
//! throughput is the number of accepted steps of that solver, so "elem/s" reads as steps/s and
//! the time per step is its inverse. Our steppers store nothing; our Dop853 computes its
//! dense-output coefficients every step (they need three more stages), our Dopri5 only when they
//! are asked for (`interpolate`, `segment`), which this solve never does. `ode_solvers` runs in
//! its `Sparse` output mode (the state after every step is stored, no dense output: the mode
//! `crates/hybrid-core/tests/integrator_ode_solvers.rs` checks against) and, for Dopri5, also in
//! its `Dense` mode with one output interval, which computes the dense-output coefficients every
//! step. (In `ode_solvers` 0.6.2 the
//! `Dense` mode returns a wrong value at `x_end`, extrapolated from an earlier step, which the
//! printed `q_0(T)` shows; the work per step is unaffected.) Heap allocations per step are
//! counted in `crates/hybrid-core/benches/allocations.rs` (the counting allocator is a
//! dev-dependency of that crate).
//!
//! `ode_solvers` is run with a heap vector (`DVector`) at every size, and with a stack vector
//! (`SVector<f64, n>`) at n = 2, 4 and 8, where its static sizes are an option a user has. Our
//! steppers take the size at run time and pick a compile-time kernel for small sizes
//! (`n ∈ {1, 2, 3, 4, 6, 8, 10}`) themselves.

#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hybrid_core::ode::{Dop853, Dopri5, Stepper};
use ode_solvers::{DVector, OutputType, SVector};
use std::time::Duration;

#[path = "support/oscillator_chain.rs"]
mod oscillator_chain;
use oscillator_chain::{chain, initial, stepper_options, Chain, TOL};

const T_END: f64 = 20.0;

/// Our stepper from 0 to `T_END`; returns accepted steps and the first state component.
fn solve_ours<S: Stepper>(x0: &[f64]) -> (usize, f64) {
    let mut s = S::new(x0.len(), stepper_options());
    let mut rhs = |_t: f64, x: &[f64], dx: &mut [f64]| chain(x, dx);
    s.reset(&mut rhs, 0.0, x0, 1.0);
    while s.t() < T_END {
        s.step(&mut rhs, T_END).expect("our stepper");
    }
    (s.stats().accepted, s.x()[0])
}

/// `ode_solvers`' Dopri5 with the given output mode. `Sparse` stores the state after every step
/// (one vector per step) and computes no dense output; `Dense` computes the dense-output
/// coefficients every step (the work our stepper does) and stores the requested points only.
fn theirs_dopri5(x0: &[f64], output: OutputType) -> (usize, f64) {
    let y0 = DVector::from_column_slice(x0);
    let mut s = ode_solvers::Dopri5::new(Chain, 0.0, T_END, T_END, y0, TOL, TOL);
    s.set_output(output);
    let stats = s.integrate().expect("ode_solvers Dopri5");
    (
        stats.accepted_steps as usize,
        s.y_out().last().expect("end")[0],
    )
}

fn theirs_dop853(x0: &[f64], output: OutputType) -> (usize, f64) {
    let y0 = DVector::from_column_slice(x0);
    let mut s = ode_solvers::Dop853::new(Chain, 0.0, T_END, T_END, y0, TOL, TOL);
    s.set_output(output);
    let stats = s.integrate().expect("ode_solvers Dop853");
    (
        stats.accepted_steps as usize,
        s.y_out().last().expect("end")[0],
    )
}

fn solve_theirs_dopri5(x0: &[f64]) -> (usize, f64) {
    theirs_dopri5(x0, OutputType::Sparse)
}

fn solve_theirs_dopri5_dense(x0: &[f64]) -> (usize, f64) {
    theirs_dopri5(x0, OutputType::Dense)
}

fn solve_theirs_dop853(x0: &[f64]) -> (usize, f64) {
    theirs_dop853(x0, OutputType::Sparse)
}

fn solve_theirs_dopri5_static<const N: usize>(x0: &[f64]) -> (usize, f64) {
    let y0 = SVector::<f64, N>::from_column_slice(x0);
    let mut s = ode_solvers::Dopri5::new(Chain, 0.0, T_END, T_END, y0, TOL, TOL);
    s.set_output(OutputType::Sparse);
    let stats = s.integrate().expect("ode_solvers Dopri5 (static)");
    (
        stats.accepted_steps as usize,
        s.y_out().last().expect("end")[0],
    )
}

type Solver = fn(&[f64]) -> (usize, f64);

fn benches(c: &mut Criterion) {
    for n in [2usize, 4, 8, 100, 1000] {
        let x0 = initial(n);
        let mut solvers: Vec<(&str, Solver)> = vec![
            ("ours_dopri5", solve_ours::<Dopri5>),
            ("ode_solvers_dopri5", solve_theirs_dopri5),
            ("ode_solvers_dopri5_dense", solve_theirs_dopri5_dense),
            ("ours_dop853", solve_ours::<Dop853>),
            ("ode_solvers_dop853", solve_theirs_dop853),
        ];
        let stat: Option<Solver> = match n {
            2 => Some(solve_theirs_dopri5_static::<2>),
            4 => Some(solve_theirs_dopri5_static::<4>),
            8 => Some(solve_theirs_dopri5_static::<8>),
            _ => None,
        };
        if let Some(solve) = stat {
            solvers.push(("ode_solvers_dopri5_static", solve));
        }
        let mut g = c.benchmark_group(format!("integrator/n{n}"));
        g.warm_up_time(Duration::from_secs(1));
        for (name, solve) in solvers {
            let (steps, q0) = solve(&x0);
            println!("integrator n = {n:4} {name:26}: {steps:5} accepted steps, q_0(T) = {q0:.9}");
            g.throughput(Throughput::Elements(steps as u64));
            g.bench_with_input(BenchmarkId::new(name, n), &x0, |b, x0| {
                b.iter(|| solve(std::hint::black_box(x0)))
            });
        }
        g.finish();
    }
}

criterion_group!(integrator, benches);
criterion_main!(integrator);
