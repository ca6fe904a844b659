//! Agreement with an independent implementation: the `ode_solvers` crate (0.6), whose Dopri5
//! and Dop853 follow Hairer's Fortran codes, on the Van der Pol oscillator (μ = 1), a smooth
//! nonlinear problem without a closed form.
//!
//! Guards against an error in our steppers that a linear test problem cannot reveal (a stage
//! evaluated at the wrong time or state only shows on a nonlinear, non-autonomous-looking
//! trajectory) and against a step-size controller that is much less accurate than Hairer's at
//! the same tolerance. The reference is `ode_solvers`' Dop853 at tolerance 1e-13.

use hybrid_core::ode::{Dop853, Dopri5, Stepper, StepperOptions};
use ode_solvers::{OutputType, System, Vector2};

const MU: f64 = 1.0;
const X0: [f64; 2] = [2.0, 0.0];
const OUTPUT_TIMES: [f64; 6] = [1.5, 4.0, 7.25, 10.0, 13.5, 20.0];

fn van_der_pol(_t: f64, x: &[f64], dx: &mut [f64]) {
    dx[0] = x[1];
    dx[1] = MU * (1.0 - x[0] * x[0]) * x[1] - x[0];
}

struct VanDerPol;

impl System<f64, Vector2<f64>> for VanDerPol {
    fn system(&self, t: f64, y: &Vector2<f64>, dy: &mut Vector2<f64>) {
        let mut d = [0.0; 2];
        van_der_pol(t, y.as_slice(), &mut d);
        *dy = Vector2::new(d[0], d[1]);
    }
}

#[derive(Clone, Copy)]
enum Theirs {
    Dopri5,
    Dop853,
}

/// `ode_solvers` from 0 to `t_end`, landing on `t_end` (sparse output: one point per step).
fn theirs(method: Theirs, tol: f64, t_end: f64) -> [f64; 2] {
    let y0 = Vector2::new(X0[0], X0[1]);
    let last = match method {
        Theirs::Dopri5 => {
            let mut s = ode_solvers::Dopri5::new(VanDerPol, 0.0, t_end, t_end, y0, tol, tol);
            s.set_output(OutputType::Sparse);
            s.integrate().expect("ode_solvers Dopri5");
            *s.y_out().last().unwrap()
        }
        Theirs::Dop853 => {
            let mut s = ode_solvers::Dop853::new(VanDerPol, 0.0, t_end, t_end, y0, tol, tol);
            s.set_output(OutputType::Sparse);
            s.integrate().expect("ode_solvers Dop853");
            *s.y_out().last().unwrap()
        }
    };
    [last[0], last[1]]
}

/// Our stepper from 0 through the output times (each one a `t_bound`), states at those times.
fn ours<S: Stepper>(tol: f64) -> Vec<[f64; 2]> {
    let opts = StepperOptions {
        rtol: tol,
        atol: tol,
        max_step: f64::INFINITY,
        first_step: 0.0,
        max_steps: 100_000,
    };
    let mut s = S::new(2, opts);
    s.reset(&mut van_der_pol, 0.0, &X0, 1.0);
    let mut out = Vec::new();
    for &t in &OUTPUT_TIMES {
        while s.t() < t {
            s.step(&mut van_der_pol, t).unwrap();
        }
        out.push([s.x()[0], s.x()[1]]);
    }
    out
}

fn dist(a: &[f64; 2], b: &[f64; 2]) -> f64 {
    (a[0] - b[0]).abs().max((a[1] - b[1]).abs())
}

/// Both within `to_reference · tol` of the reference, and within `between_bound · tol` of each
/// other (measured: at most 19 tol and 1.4 tol).
fn check_agreement<S: Stepper>(method: Theirs, tol: f64) {
    let (to_reference, between_bound) = (50.0, 5.0);
    let mine = ours::<S>(tol);
    for (i, &t) in OUTPUT_TIMES.iter().enumerate() {
        let reference = theirs(Theirs::Dop853, 1e-13, t);
        let other = theirs(method, tol, t);
        let (e_ours, e_theirs, between) = (
            dist(&mine[i], &reference),
            dist(&other, &reference),
            dist(&mine[i], &other),
        );
        eprintln!(
            "{:?} tol {tol:.0e} t {t:5}: ours {:.2} tol, ode_solvers {:.2} tol, between {:.2} tol",
            S::METHOD,
            e_ours / tol,
            e_theirs / tol,
            between / tol
        );
        assert!(
            e_ours <= to_reference * tol,
            "ours off the reference by {e_ours:e} at t = {t}"
        );
        assert!(
            e_theirs <= to_reference * tol,
            "ode_solvers off the reference by {e_theirs:e} at t = {t}"
        );
        assert!(
            between <= between_bound * tol,
            "ours and ode_solvers differ by {between:e} at t = {t}"
        );
    }
}

#[test]
fn dopri5_agrees_with_ode_solvers_dopri5_on_van_der_pol() {
    for tol in [1e-6, 1e-9] {
        check_agreement::<Dopri5>(Theirs::Dopri5, tol);
    }
}

#[test]
fn dop853_agrees_with_ode_solvers_dop853_on_van_der_pol() {
    for tol in [1e-6, 1e-9] {
        check_agreement::<Dop853>(Theirs::Dop853, tol);
    }
}
