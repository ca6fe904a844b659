//! One solve of the integrator bench's problem (`benches/integrator.rs`: the anharmonic
//! oscillator chain, `rtol = atol = 1e-8`) by one solver, for counting instructions per step
//! with `valgrind --tool=cachegrind`: the difference between a run to `T = 20` and one to
//! `T = 10`, divided by the difference in accepted steps, is the marginal cost of a step
//! (construction and start-up cancel out). See docs/performance.md, section 1.
//!
//! `cargo run --release --example integrator_steps -- <solver> <n> <t_end> [repeats]` with
//! `<solver>` one of `ours` (our Dopri5), `static` (`ode_solvers` Dopri5 with `SVector<f64, n>`,
//! n = 2, 4, 8), `heap` (`ode_solvers` Dopri5 with `DVector`, sparse output). Prints the accepted
//! steps and `q_0(t_end)` (shortest round-trip form: equal output means equal bits). With
//! `repeats`, solves that many times more and prints the CPU time per accepted step (user +
//! system time of the process from `/proc/self/stat`, Linux only): unlike wall-clock time it
//! does not count the time other processes hold the CPU, which makes it usable on a busy
//! machine (cache effects of the other processes remain).

#![allow(missing_docs)]

#[path = "../benches/support/oscillator_chain.rs"]
mod oscillator_chain;

use hybrid_core::ode::{Dopri5, Stepper};
use ode_solvers::{DVector, OutputType, SVector};
use oscillator_chain::{chain, initial, stepper_options, Chain, TOL};

fn ours(x0: &[f64], t_end: f64) -> (usize, f64) {
    let mut s = Dopri5::new(x0.len(), stepper_options());
    let mut rhs = |_t: f64, x: &[f64], dx: &mut [f64]| chain(x, dx);
    s.reset(&mut rhs, 0.0, x0, 1.0);
    while s.t() < t_end {
        s.step(&mut rhs, t_end).expect("our stepper");
    }
    (s.stats().accepted, s.x()[0])
}

fn heap(x0: &[f64], t_end: f64) -> (usize, f64) {
    let y0 = DVector::from_column_slice(x0);
    let mut s = ode_solvers::Dopri5::new(Chain, 0.0, t_end, t_end, y0, TOL, TOL);
    s.set_output(OutputType::Sparse);
    let stats = s.integrate().expect("ode_solvers Dopri5");
    (
        stats.accepted_steps as usize,
        s.y_out().last().expect("end")[0],
    )
}

fn fixed<const N: usize>(x0: &[f64], t_end: f64) -> (usize, f64) {
    let y0 = SVector::<f64, N>::from_column_slice(x0);
    let mut s = ode_solvers::Dopri5::new(Chain, 0.0, t_end, t_end, y0, TOL, TOL);
    s.set_output(OutputType::Sparse);
    let stats = s.integrate().expect("ode_solvers Dopri5 (static)");
    (
        stats.accepted_steps as usize,
        s.y_out().last().expect("end")[0],
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: integrator_steps <ours|static|heap> <n> <t_end> [repeats]";
    let (solver, n, t_end, repeats) = match args.as_slice() {
        [_, s, n, t, rest @ ..] if rest.len() <= 1 => (
            s.as_str(),
            n.parse::<usize>().expect(usage),
            t.parse::<f64>().expect(usage),
            rest.first().map_or(0, |r| r.parse::<usize>().expect(usage)),
        ),
        _ => panic!("{usage}"),
    };
    let x0 = initial(n);
    let solve: fn(&[f64], f64) -> (usize, f64) = match (solver, n) {
        ("ours", _) => ours,
        ("heap", _) => heap,
        ("static", 2) => fixed::<2>,
        ("static", 4) => fixed::<4>,
        ("static", 8) => fixed::<8>,
        _ => panic!("{usage}"),
    };
    let (steps, q0) = solve(&x0, t_end);
    println!("{solver} n = {n}: {steps} accepted steps, q_0({t_end}) = {q0:?}");
    if repeats > 0 {
        let start = cpu_seconds();
        for _ in 0..repeats {
            std::hint::black_box(solve(std::hint::black_box(&x0), t_end));
        }
        let per_step = (cpu_seconds() - start) / (repeats * steps) as f64;
        println!("CPU time per accepted step: {:.4} us", per_step * 1e6);
    }
}

/// User + system CPU time of this process in seconds (`/proc/self/stat`, fields 14 and 15, in
/// clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The command name (field 2) is in parentheses and may contain spaces.
    let after = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    ticks as f64 / 100.0
}
