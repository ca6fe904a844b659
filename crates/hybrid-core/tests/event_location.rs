//! Event location: guards against event times that inherit the interpolant's low order, guards
//! that cross zero and come back inside one step being missed silently, and simultaneous events
//! being applied in an undocumented order.

use hybrid_core::Derivatives;

use hybrid_core::{
    simulate, Crossing, Dims, EventKind, HybridSystem, Integrator, Scalar, SolverOptions,
};

/// `ẋ = −x`, guard `x − c` falling: the crossing is at `τ = ln(x0/c)`.
struct Decay;
impl HybridSystem for Decay {
    fn dims(&self) -> Dims {
        Dims {
            states: 1,
            params: 2,
            guards: 1,
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0[0] = p[0];
    }
    fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], _p: &[T], dx: &mut [T]) {
        dx[0] = -x[0];
    }
    fn guard<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], p: &[T]) -> T {
        x[0] - p[1]
    }
    fn direction(&self, _q: usize, _k: usize) -> Crossing {
        Crossing::Falling
    }
    fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
        xp[0] = x[0] * T::cst(0.5);
    }
}

impl Derivatives for Decay {}

#[test]
fn known_crossing_time_is_accurate_to_1e12_relative() {
    let p = [1.0, 0.3];
    let exact = (1.0f64 / 0.3).ln();
    for integrator in [Integrator::Dopri5, Integrator::Dop853] {
        let opts = SolverOptions {
            rtol: 1e-12,
            atol: 1e-14,
            integrator,
            ..Default::default()
        };
        let sol = simulate(&Decay, &p, 0.0, 2.0, &opts).unwrap();
        let tau = sol.events[0].t;
        assert!(
            (tau - exact).abs() <= 1e-12 * exact,
            "{integrator:?}: {tau} vs {exact}"
        );
        assert!(
            (sol.events[0].gdot + 0.3).abs() < 1e-10,
            "gdot = {}",
            sol.events[0].gdot
        );
    }
}

/// `ẋ = −2(t − 10)` from `x(0) = c − 100`: `x = c − (t − 10)²` rises through zero at `10 − √c`
/// and falls back at `10 + √c`. The flow is a polynomial the integrator follows exactly, so its
/// steps grow large and one of them spans the whole bump with both ends negative.
struct Bump(Crossing);
impl HybridSystem for Bump {
    fn dims(&self) -> Dims {
        Dims {
            states: 1,
            params: 1,
            guards: 1,
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0[0] = p[0] - T::cst(100.0);
    }
    fn flow<T: Scalar>(&self, _q: usize, t: T, _x: &[T], _p: &[T], dx: &mut [T]) {
        dx[0] = T::cst(-2.0) * (t - T::cst(10.0));
    }
    fn guard<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T]) -> T {
        x[0]
    }
    fn direction(&self, _q: usize, _k: usize) -> Crossing {
        self.0
    }
    fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
        xp[0] = x[0] - T::one();
    }
}

impl Derivatives for Bump {}

#[test]
fn guard_crossing_and_returning_inside_one_step_is_detected() {
    let c: f64 = 0.05;
    let (up, down) = (10.0 - c.sqrt(), 10.0 + c.sqrt());
    // With a guard that cannot fire (it starts negative and only a falling crossing counts), one
    // accepted step spans the whole bump: the scenario is real.
    let sol = simulate(
        &Bump(Crossing::Falling),
        &[c],
        0.0,
        20.0,
        &SolverOptions::default(),
    )
    .unwrap();
    assert!(sol.events.is_empty());
    assert!(
        sol.trajectory.steps().any(|(a, b)| a < up && b > down),
        "no step spans the bump"
    );
    // The rising crossing is found, at the right time, by interior samples and, with no samples
    // at all, by the extremum check on the guard's rate at the step ends.
    for samples in [0, 4] {
        let opts = SolverOptions {
            guard_samples: samples,
            ..Default::default()
        };
        let sol = simulate(&Bump(Crossing::Rising), &[c], 0.0, 20.0, &opts).unwrap();
        assert_eq!(sol.events.len(), 1, "guard_samples = {samples}");
        assert!(
            (sol.events[0].t - up).abs() < 1e-12,
            "{} vs {up}",
            sol.events[0].t
        );
    }
}

/// Two identical bouncing balls: their impacts coincide.
struct TwoBalls;
impl HybridSystem for TwoBalls {
    fn dims(&self) -> Dims {
        Dims {
            states: 4,
            params: 1,
            guards: 2,
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0.copy_from_slice(&[p[0], T::zero(), p[0], T::zero()]);
    }
    fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], _p: &[T], dx: &mut [T]) {
        dx.copy_from_slice(&[x[1], T::cst(-10.0), x[3], T::cst(-10.0)]);
    }
    fn guard<T: Scalar>(&self, _q: usize, k: usize, _t: T, x: &[T], _p: &[T]) -> T {
        x[2 * k]
    }
    fn direction(&self, _q: usize, _k: usize) -> Crossing {
        Crossing::Falling
    }
    fn jump<T: Scalar>(&self, _q: usize, k: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
        xp.copy_from_slice(x);
        xp[2 * k + 1] = -x[2 * k + 1] * T::cst(0.5);
    }
}

impl Derivatives for TwoBalls {}

#[test]
fn simultaneous_events_are_flagged_and_applied_in_guard_order() {
    let sol = simulate(&TwoBalls, &[5.0], 0.0, 1.5, &SolverOptions::default()).unwrap();
    assert_eq!(sol.events.len(), 2);
    assert_eq!(sol.events[0].kind, EventKind::Guard(0));
    assert_eq!(sol.events[1].kind, EventKind::Guard(1));
    assert!(sol
        .events
        .iter()
        .all(|e| e.simultaneous && (e.t - 1.0).abs() < 1e-12));
    // The second jump starts from the first one's result.
    assert_eq!(sol.events[1].x_minus, sol.events[0].x_plus);
    assert!((sol.x_end[1] - sol.x_end[3]).abs() < 1e-12);
}
