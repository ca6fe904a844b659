//! The stepping contract the event loop relies on, for both steppers: typed errors instead of
//! panics or NaN states (a non-finite right-hand side, too many steps, a step size that
//! underflows), steps that respect `max_step` and land exactly on `t_bound`, and a restart that
//! forgets the previous trajectory.
//!
//! Guards against an event loop that hangs, returns garbage silently, or steps past a stop time.

use hybrid_core::ode::{Dop853, Dopri5, StepError, Stepper, StepperOptions};

fn options(tol: f64, max_step: f64, max_steps: usize) -> StepperOptions {
    StepperOptions {
        rtol: tol,
        atol: tol,
        max_step,
        first_step: 0.0,
        max_steps,
    }
}

fn exponential(_t: f64, x: &[f64], dx: &mut [f64]) {
    dx[0] = -x[0];
}

fn non_finite_rhs_is_reported<S: Stepper>() {
    // ẋ = 1 until the state passes 1.5, then NaN: the error names a time beyond 1.5.
    let mut f =
        |_t: f64, x: &[f64], dx: &mut [f64]| dx[0] = if x[0] > 1.5 { f64::NAN } else { 1.0 };
    let mut s = S::new(1, options(1e-8, f64::INFINITY, 1000));
    s.reset(&mut f, 0.0, &[0.0], 1.0);
    let err = loop {
        match s.step(&mut f, 10.0) {
            Ok(()) => assert!(s.x()[0].is_finite() && s.t() <= 10.0),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err, StepError::NonFinite { t } if t > 1.5 && t <= 10.0),
        "{err:?}"
    );
    // Non-finite already at the restart point: reported by the next step.
    let mut nan = |_t: f64, _x: &[f64], dx: &mut [f64]| dx[0] = f64::INFINITY;
    s.reset(&mut nan, 2.0, &[0.0], 1.0);
    assert_eq!(s.step(&mut nan, 3.0), Err(StepError::NonFinite { t: 2.0 }));
}

#[test]
fn non_finite_rhs_is_reported_as_non_finite() {
    non_finite_rhs_is_reported::<Dopri5>();
    non_finite_rhs_is_reported::<Dop853>();
}

fn too_many_steps_is_reported<S: Stepper>() {
    let mut s = S::new(1, options(1e-8, 0.01, 10));
    s.reset(&mut exponential, 0.0, &[1.0], 1.0);
    for _ in 0..10 {
        s.step(&mut exponential, 1.0).unwrap();
    }
    let t10 = s.t();
    assert!(
        (t10 - 0.1).abs() < 1e-12,
        "ten steps of max_step 0.01 end at {t10}"
    );
    assert_eq!(
        s.step(&mut exponential, 1.0),
        Err(StepError::TooManySteps { t: t10, steps: 10 })
    );
    // A reset starts the count again.
    let x = [s.x()[0]];
    s.reset(&mut exponential, t10, &x, 1.0);
    s.step(&mut exponential, 1.0).unwrap();
}

#[test]
fn too_many_steps_is_reported_with_the_time_reached() {
    too_many_steps_is_reported::<Dopri5>();
    too_many_steps_is_reported::<Dop853>();
}

fn step_size_underflow_is_reported<S: Stepper>() {
    // A right-hand side that is noise on every scale: no step passes the error test until the
    // step size is below what f64 can resolve at t = 1000.
    let mut noise = |t: f64, _x: &[f64], dx: &mut [f64]| dx[0] = (t * 1e17).sin();
    let mut s = S::new(1, options(1e-14, f64::INFINITY, 100_000));
    s.reset(&mut noise, 1000.0, &[0.0], 1.0);
    let err = loop {
        if let Err(e) = s.step(&mut noise, 2000.0) {
            break e;
        }
    };
    match err {
        StepError::StepSizeTooSmall { t, h } => {
            assert!((1000.0..1000.1).contains(&t), "t = {t}");
            assert!(
                h.abs() <= 16.0 * f64::EPSILON * t.abs() && h > 0.0,
                "h = {h}"
            );
        }
        other => panic!("expected StepSizeTooSmall, got {other:?}"),
    }
    assert!(s.stats().rejected > 0);
}

#[test]
fn step_size_underflow_is_reported_as_step_size_too_small() {
    step_size_underflow_is_reported::<Dopri5>();
    step_size_underflow_is_reported::<Dop853>();
}

fn steps_respect_max_step_and_land_on_bounds<S: Stepper>() {
    let max_step = 0.3;
    let mut s = S::new(1, options(1e-6, max_step, 10_000));
    s.reset(&mut exponential, 0.0, &[1.0], 1.0);
    for bound in [0.45, 1.0, 1.0 + 1e-13, 2.9] {
        while s.t() < bound {
            s.step(&mut exponential, bound).unwrap();
            let h = s.t() - s.t_prev();
            assert!(h > 0.0 && h <= max_step * (1.0 + 1e-15), "h = {h}");
            assert!(s.t() <= bound);
        }
        assert_eq!(s.t(), bound);
        assert!((s.x()[0] - (-bound).exp()).abs() < 1e-5);
    }
    // t_bound == t() is a no-op.
    let (t, x, n) = (s.t(), s.x()[0], s.stats().accepted);
    s.step(&mut exponential, t).unwrap();
    assert_eq!((s.t(), s.x()[0], s.stats().accepted), (t, x, n));
    // After a restart the dense output is the constant restart state and dx() = f(t, x).
    s.reset(&mut exponential, 5.0, &[2.0], -1.0);
    let mut out = [0.0];
    s.interpolate(4.0, &mut out);
    assert_eq!(
        (s.t(), s.t_prev(), out[0], s.dx()[0]),
        (5.0, 5.0, 2.0, -2.0)
    );
    s.step(&mut exponential, 4.0).unwrap();
    assert!(
        s.t() < 5.0,
        "a reset with direction -1 then integrates backwards"
    );
}

#[test]
fn steps_respect_max_step_and_land_exactly_on_bounds() {
    steps_respect_max_step_and_land_on_bounds::<Dopri5>();
    steps_respect_max_step_and_land_on_bounds::<Dop853>();
}
