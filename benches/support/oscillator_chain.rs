//! The integrator bench's problem (`benches/integrator.rs`), shared with
//! `examples/integrator_steps.rs` so that instruction counts and criterion timings are taken on
//! the same right-hand side: a chain of `m = n/2` anharmonic oscillators with nearest-neighbour
//! springs and fixed ends, `q̈_i = -q_i + c (q_{i-1} - 2 q_i + q_{i+1}) - β q_i³` (`c = 1`,
//! `β = 0.5`), as `n = 2m` first-order equations `x = (q, v)`, started from
//! `q_i = sin(π (i+1)/(m+1))`, `v = 0`, at `rtol = atol = 1e-8`.

#![allow(dead_code)]

use hybrid_core::ode::StepperOptions;
use ode_solvers::{DVector, SVector};

pub const TOL: f64 = 1e-8;
const COUPLING: f64 = 1.0;
const CUBIC: f64 = 0.5;

/// `ẋ` of the oscillator chain, `x = (q_0..q_{m-1}, v_0..v_{m-1})`.
pub fn chain(x: &[f64], dx: &mut [f64]) {
    let m = x.len() / 2;
    let (q, v) = x.split_at(m);
    let (dq, dv) = dx.split_at_mut(m);
    dq.copy_from_slice(v);
    for i in 0..m {
        let left = if i > 0 { q[i - 1] } else { 0.0 };
        let right = if i + 1 < m { q[i + 1] } else { 0.0 };
        dv[i] = -q[i] + COUPLING * (left - 2.0 * q[i] + right) - CUBIC * q[i] * q[i] * q[i];
    }
}

/// The initial state of size `n`.
pub fn initial(n: usize) -> Vec<f64> {
    let m = n / 2;
    let mut x = vec![0.0; n];
    for i in 0..m {
        x[i] = (std::f64::consts::PI * (i + 1) as f64 / (m + 1) as f64).sin();
    }
    x
}

/// Our steppers' options for the problem: the tolerances above, no step bound.
pub fn stepper_options() -> StepperOptions {
    StepperOptions {
        rtol: TOL,
        atol: TOL,
        max_step: f64::INFINITY,
        first_step: 0.0,
        max_steps: 1_000_000,
    }
}

/// The chain as an `ode_solvers` system, on heap (`DVector`) and stack (`SVector`) vectors.
pub struct Chain;

impl ode_solvers::System<f64, DVector<f64>> for Chain {
    fn system(&self, _t: f64, y: &DVector<f64>, dy: &mut DVector<f64>) {
        chain(y.as_slice(), dy.as_mut_slice());
    }
}

impl<const N: usize> ode_solvers::System<f64, SVector<f64, N>> for Chain {
    fn system(&self, _t: f64, y: &SVector<f64, N>, dy: &mut SVector<f64, N>) {
        chain(y.as_slice(), dy.as_mut_slice());
    }
}
