//! Failure modes a user must be told about, with the numbers to act on: Zeno behaviour returns
//! an error in bounded time (never hangs), grazing events are reported with their `ġ` and make
//! gradients fail loudly, jumps that re-trigger their guard are caught, and bad input is a typed
//! error, never a panic or a NaN.

use hybrid_core::{
    adjoint_gradient, forward_gradient, simulate, Crossing, Dims, Error, HybridSystem, Loss,
    Scalar, SolverOptions,
};

/// Bouncing ball `[y, v]`, parameters `[y0, e]`, gravity 10; `sign` = −1 is a physical bounce,
/// +1 a broken jump that keeps the ball falling through the floor.
struct Ball {
    sign: f64,
}
impl HybridSystem for Ball {
    fn dims(&self) -> Dims {
        Dims {
            states: 2,
            params: 2,
            guards: 1,
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0[0] = p[0];
        x0[1] = T::zero();
    }
    fn flow<T: Scalar>(&self, _t: T, x: &[T], _p: &[T], dx: &mut [T]) {
        dx[0] = x[1];
        dx[1] = T::cst(-10.0);
    }
    fn guard<T: Scalar>(&self, _k: usize, _t: T, x: &[T], _p: &[T]) -> T {
        x[0]
    }
    fn direction(&self, _k: usize) -> Crossing {
        Crossing::Falling
    }
    fn jump<T: Scalar>(&self, _k: usize, _t: T, x: &[T], p: &[T], xp: &mut [T]) {
        xp[0] = T::zero();
        xp[1] = T::cst(self.sign) * p[1] * x[1];
    }
}

#[test]
fn zeno_input_returns_an_error_naming_time_and_count_in_bounded_time() {
    // y0 = 5, e = 0.5: t1 = 1, impacts accumulate at t_Z = t1 + 2 e u/(g(1 − e)) = 3.
    let start = std::time::Instant::now();
    let err = simulate(
        &Ball { sign: -1.0 },
        &[5.0, 0.5],
        0.0,
        10.0,
        &SolverOptions::default(),
    )
    .unwrap_err();
    let t = match err {
        Error::EventsTooClose { t, count, .. } => {
            assert!(count > 10);
            t
        }
        Error::TooManyEvents { t, .. } => t,
        other => panic!("expected a Zeno error, got {other:?}"),
    };
    assert!(
        (t - 3.0).abs() < 1e-6,
        "stopped at t = {t}, accumulation point is 3"
    );
    // Not a timing assertion on performance: a guard against hanging (a hang never returns).
    assert!(start.elapsed().as_secs() < 60);
    // A cap on the event count gives the other Zeno error, also naming the time.
    let capped = SolverOptions {
        max_events: 5,
        ..Default::default()
    };
    let err = simulate(&Ball { sign: -1.0 }, &[5.0, 0.5], 0.0, 10.0, &capped).unwrap_err();
    assert!(
        matches!(err, Error::TooManyEvents { count: 5, t } if t > 1.0 && t < 3.0),
        "{err:?}"
    );
    assert!(err.to_string().contains("more than 5 events"));
}

#[test]
fn jump_that_retriggers_its_guard_is_an_error() {
    let err = simulate(
        &Ball { sign: 1.0 },
        &[5.0, 0.5],
        0.0,
        2.0,
        &SolverOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::Retrigger { guard: 0, t, .. } if (t - 1.0).abs() < 1e-12),
        "{err:?}"
    );
}

/// `ẋ = 1` from `x0 = p0`, guard `x³` (rising): it crosses at `x = 0` with `ġ = 3x² = 0`.
struct Tangent;
impl HybridSystem for Tangent {
    fn dims(&self) -> Dims {
        Dims {
            states: 1,
            params: 1,
            guards: 1,
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0[0] = p[0];
    }
    fn flow<T: Scalar>(&self, _t: T, _x: &[T], _p: &[T], dx: &mut [T]) {
        dx[0] = T::one();
    }
    fn guard<T: Scalar>(&self, _k: usize, _t: T, x: &[T], _p: &[T]) -> T {
        x[0] * x[0] * x[0]
    }
    fn direction(&self, _k: usize) -> Crossing {
        Crossing::Rising
    }
    fn jump<T: Scalar>(&self, _k: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
        xp[0] = x[0] + T::one();
    }
}

struct Terminal([f64; 1]);
impl Loss for Terminal {
    fn observation_times(&self) -> &[f64] {
        &self.0
    }
    fn observation<T: Scalar>(&self, _i: usize, x: &[T], _p: &[T]) -> T {
        x[0]
    }
}

#[test]
fn grazing_event_is_reported_with_its_gdot_and_gradients_refuse_it() {
    let opts = SolverOptions::default();
    let sol = simulate(&Tangent, &[-1.0], 0.0, 2.0, &opts).unwrap();
    assert_eq!(sol.events.len(), 1);
    assert!(
        sol.max_grazing() > opts.grazing_limit,
        "gdot = {}, grazing index = {}",
        sol.events[0].gdot,
        sol.events[0].grazing
    );
    for result in [
        adjoint_gradient(&Tangent, &[-1.0], 0.0, 2.0, &Terminal([2.0]), &opts),
        forward_gradient(&Tangent, &[-1.0], 0.0, 2.0, &Terminal([2.0]), &opts),
    ] {
        match result {
            Err(Error::GrazingEvent {
                t,
                guard: 0,
                gdot,
                index,
                limit,
            }) => {
                assert!((t - 1.0).abs() < 1e-4 && gdot.abs() < 1e-8 && index > limit);
            }
            other => panic!("expected GrazingEvent, got {other:?}"),
        }
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    let ball = Ball { sign: -1.0 };
    let ok = SolverOptions::default();
    let nan = simulate(&ball, &[f64::NAN, 0.5], 0.0, 1.0, &ok).unwrap_err();
    assert!(
        matches!(nan, Error::NonFinite { ref what, .. } if what == "parameter 0"),
        "{nan:?}"
    );
    let inf = adjoint_gradient(
        &ball,
        &[1.0, f64::INFINITY],
        0.0,
        1.0,
        &Terminal([1.0]),
        &ok,
    )
    .unwrap_err();
    assert!(matches!(inf, Error::NonFinite { .. }), "{inf:?}");
    let short = simulate(&ball, &[1.0], 0.0, 1.0, &ok).unwrap_err();
    assert_eq!(
        short,
        Error::WrongLength {
            what: "parameters",
            expected: 2,
            got: 1
        }
    );
    let reversed = simulate(&ball, &[1.0, 0.5], 1.0, 0.0, &ok).unwrap_err();
    assert_eq!(
        reversed,
        Error::InvalidTimeSpan {
            t0: 1.0,
            t_end: 0.0
        }
    );
    for (name, opts) in [
        ("rtol", SolverOptions { rtol: 0.0, ..ok }),
        ("atol", SolverOptions { atol: -1e-9, ..ok }),
        (
            "max_step",
            SolverOptions {
                max_step: f64::NAN,
                ..ok
            },
        ),
    ] {
        let err = simulate(&ball, &[1.0, 0.5], 0.0, 1.0, &opts).unwrap_err();
        assert!(
            matches!(err, Error::InvalidOption { name: n, .. } if n == name),
            "{err:?}"
        );
    }
    let outside =
        forward_gradient(&ball, &[1.0, 0.5], 0.0, 1.0, &Terminal([2.0]), &ok).unwrap_err();
    assert!(
        matches!(outside, Error::InvalidTime { t, .. } if t == 2.0),
        "{outside:?}"
    );
}
