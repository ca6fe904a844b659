//! Accuracy of the Runge-Kutta steppers against the closed form of the harmonic oscillator
//! `ẋ = v, v̇ = −x`, whose flow over a time `τ` is the rotation by `τ` (so the exact solution
//! through any point, in particular through the start of any step, is known).
//!
//! Guards against a wrong tableau coefficient (the observed order of convergence drops), a
//! dense output that loses its order inside a step, a step-size controller whose global error
//! does not follow the tolerance, backwards integration that is wrong, and a polishing step
//! (`step_from_prev_to`) that does not repeat the accepted step.

use hybrid_core::ode::{Dop853, Dopri5, Stepper, StepperOptions};

fn oscillator(_t: f64, x: &[f64], dx: &mut [f64]) {
    dx[0] = x[1];
    dx[1] = -x[0];
}

/// Exact flow of the oscillator from `(t0, x0)` to `t`: rotation by `t - t0`.
fn exact_from(t0: f64, x0: &[f64], t: f64) -> [f64; 2] {
    let (s, c) = (t - t0).sin_cos();
    [x0[0] * c + x0[1] * s, -x0[0] * s + x0[1] * c]
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn options(tol: f64, max_step: f64, first_step: f64) -> StepperOptions {
    StepperOptions {
        rtol: tol,
        atol: tol,
        max_step,
        first_step,
        max_steps: 1_000_000,
    }
}

const X0: [f64; 2] = [1.0, 0.5];
const T_END: f64 = 20.0;

/// Integrate the oscillator over `[0, T_END]` with steps of exactly `h` (tolerance 1: every
/// step of this size is accepted). Returns (global error at the end, max over all steps and
/// 16 interior points of the interpolant's error against the exact flow from the step's start).
fn fixed_step_errors<S: Stepper>(n_steps: usize) -> (f64, f64) {
    let h = T_END / n_steps as f64;
    let mut s = S::new(2, options(1.0, h, h));
    s.reset(&mut oscillator, 0.0, &X0, 1.0);
    let mut dense_err: f64 = 0.0;
    let mut out = [0.0; 2];
    while s.t() < T_END {
        s.step(&mut oscillator, T_END).unwrap();
        for j in 1..16 {
            let t = s.t_prev() + (s.t() - s.t_prev()) * j as f64 / 16.0;
            s.interpolate(t, &mut out);
            dense_err = dense_err.max(max_abs_diff(&out, &exact_from(s.t_prev(), s.x_prev(), t)));
        }
    }
    assert_eq!(s.stats().rejected, 0);
    assert!(
        s.stats().accepted.abs_diff(n_steps) <= 1,
        "{} steps for {n_steps}",
        s.stats().accepted
    );
    (max_abs_diff(s.x(), &exact_from(0.0, &X0, T_END)), dense_err)
}

/// Observed orders `log2(e(h) / e(h/2))` of the global error and of the local interpolation error.
fn observed_orders<S: Stepper>(n_steps: usize) -> (f64, f64) {
    let (g1, d1) = fixed_step_errors::<S>(n_steps);
    let (g2, d2) = fixed_step_errors::<S>(2 * n_steps);
    eprintln!(
        "{:?}: N={n_steps}: global {g1:.3e} -> {g2:.3e}, dense {d1:.3e} -> {d2:.3e}",
        S::METHOD
    );
    ((g1 / g2).log2(), (d1 / d2).log2())
}

#[test]
fn dopri5_converges_with_order_5_and_its_dense_output_with_local_order_5() {
    // Global error O(h^5); the 4th-order continuous extension has local error O(h^5).
    let (global, dense) = observed_orders::<Dopri5>(40);
    eprintln!("Dopri5 observed orders: global {global:.2}, dense {dense:.2}");
    assert!((4.7..5.4).contains(&global), "global order {global}");
    assert!((4.7..5.4).contains(&dense), "dense local order {dense}");
}

#[test]
fn dop853_converges_with_order_8_and_its_dense_output_with_local_order_8() {
    // Global error O(h^8); the 7th-order continuous extension has local error O(h^8).
    let (global, dense) = observed_orders::<Dop853>(20);
    eprintln!("Dop853 observed orders: global {global:.2}, dense {dense:.2}");
    assert!((7.6..8.5).contains(&global), "global order {global}");
    assert!((7.6..8.5).contains(&dense), "dense local order {dense}");
}

/// Adaptive run over `[t0, t1]` (either direction) from the exact state at `t0`. Returns
/// (error at `t1`, max error of the dense output at 8 interior points of every step, against
/// the global closed form, accepted steps).
fn adaptive_errors<S: Stepper>(tol: f64, t0: f64, t1: f64) -> (f64, f64, usize) {
    let mut s = S::new(2, options(tol, f64::INFINITY, 0.0));
    let x0 = exact_from(0.0, &X0, t0);
    s.reset(&mut oscillator, t0, &x0, (t1 - t0).signum());
    let mut dense_err: f64 = 0.0;
    let mut out = [0.0; 2];
    while s.t() != t1 {
        s.step(&mut oscillator, t1).unwrap();
        assert!(
            (s.t() - s.t_prev()) * (t1 - t0) > 0.0,
            "step against the direction"
        );
        for j in 1..8 {
            let t = s.t_prev() + (s.t() - s.t_prev()) * j as f64 / 8.0;
            s.interpolate(t, &mut out);
            dense_err = dense_err.max(max_abs_diff(&out, &exact_from(0.0, &X0, t)));
        }
    }
    assert_eq!(s.t(), t1, "the last step must land exactly on t_bound");
    (
        max_abs_diff(s.x(), &exact_from(0.0, &X0, t1)),
        dense_err,
        s.stats().accepted,
    )
}

fn check_tolerance_proportionality<S: Stepper>(max_ratio: f64) {
    let mut prev = f64::INFINITY;
    for tol in [1e-6, 1e-8, 1e-10, 1e-12] {
        let (err, dense, steps) = adaptive_errors::<S>(tol, 0.0, T_END);
        eprintln!(
            "{:?} tol {tol:.0e}: end error {err:.3e} ({:.2} tol), dense {dense:.3e}, {steps} steps",
            S::METHOD,
            err / tol
        );
        assert!(err <= max_ratio * tol, "end error {err:e} at tol {tol:e}");
        assert!(
            dense <= 2.0 * max_ratio * tol,
            "dense error {dense:e} at tol {tol:e}"
        );
        assert!(err < prev, "error must decrease with the tolerance");
        prev = err;
    }
}

#[test]
fn dopri5_global_error_follows_the_tolerance() {
    check_tolerance_proportionality::<Dopri5>(20.0);
    assert!(adaptive_errors::<Dopri5>(1e-12, 0.0, T_END).0 < 1e-10);
}

#[test]
fn dop853_global_error_follows_the_tolerance() {
    check_tolerance_proportionality::<Dop853>(20.0);
    assert!(adaptive_errors::<Dop853>(1e-12, 0.0, T_END).0 < 1e-10);
}

#[test]
fn backwards_integration_reproduces_the_closed_form() {
    for tol in [1e-8, 1e-11] {
        let (e5, d5, n5) = adaptive_errors::<Dopri5>(tol, T_END, -3.0);
        let (e8, d8, n8) = adaptive_errors::<Dop853>(tol, T_END, -3.0);
        eprintln!("backwards tol {tol:e}: Dopri5 {e5:.3e} (dense {d5:.3e}, {n5} steps), Dop853 {e8:.3e} (dense {d8:.3e}, {n8} steps)");
        for e in [e5, d5, e8, d8] {
            assert!(e <= 20.0 * tol, "{e:e} at tol {tol:e}");
        }
    }
}

fn check_polishing_step<S: Stepper>(order: i32, max_constant: f64) {
    let mut s = S::new(2, options(1e-9, f64::INFINITY, 0.0));
    s.reset(&mut oscillator, 0.0, &X0, 1.0);
    let mut out = [0.0; 2];
    let mut worst_local: f64 = 0.0;
    for _ in 0..30 {
        s.step(&mut oscillator, T_END).unwrap();
        // Repeating the accepted step reproduces it.
        s.step_from_prev_to(&mut oscillator, s.t(), &mut out);
        assert!(
            max_abs_diff(&out, s.x()) <= 4.0 * f64::EPSILON,
            "{:?} vs {:?}",
            out,
            s.x()
        );
        // A shorter step from the same start is a full-order step: compare with the exact flow.
        let h = s.t() - s.t_prev();
        for frac in [0.3, 0.77] {
            let t = s.t_prev() + frac * h;
            s.step_from_prev_to(&mut oscillator, t, &mut out);
            let err = max_abs_diff(&out, &exact_from(s.t_prev(), s.x_prev(), t));
            // Rounding (a few ulps of |x| ~ 1.1) bounds what short steps can show.
            let truncation = (err - 8.0 * f64::EPSILON).max(0.0);
            worst_local = worst_local.max(truncation / (frac * h).abs().powi(order + 1));
        }
    }
    eprintln!(
        "{:?}: max local error / h^(p+1) = {worst_local:.3e}",
        S::METHOD
    );
    // Measured constants: 3.1e-4 (Dopri5), 7.2e-8 (Dop853); a wrong weight drops the order and
    // makes the ratio grow like a negative power of h.
    assert!(
        worst_local < max_constant,
        "local error constant {worst_local:e}"
    );
}

#[test]
fn polishing_step_repeats_the_accepted_step_and_has_full_order() {
    check_polishing_step::<Dopri5>(5, 3e-3);
    check_polishing_step::<Dop853>(8, 1e-6);
}
