//! Event edge cases where the engine used to return `Ok` with a wrong trajectory or gradient:
//! a guard on zero at the start of a step (after a jump, at `t0`, after another guard's jump),
//! forward sensitivities stepping differently from the simulation, a NaN guard, a `max_step`
//! that cannot advance time. Each test fails on the engine before "Events you can trust": the
//! oracles are closed forms (Zeno time of the ball), physical bounds (nothing passes a rigid
//! stop) and the agreement of the three passes on one event sequence.

use hybrid_core::Derivatives;

use hybrid_core::{
    adjoint_gradient, forward_gradient, simulate, Crossing, Dims, Error, HybridSystem, Loss,
    Scalar, SolverOptions,
};

/// The README's ball, plus a decoupled state `z' = p[4]`. State `[y, v, z]`;
/// parameters `[y0, v0, e, g, rate]`.
struct BallWithClock;

impl HybridSystem for BallWithClock {
    fn dims(&self) -> Dims {
        Dims {
            states: 3,
            params: 5,
            guards: 1,
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0[0] = p[0];
        x0[1] = p[1];
        x0[2] = T::zero();
    }
    fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
        dx[0] = x[1];
        dx[1] = -p[3];
        dx[2] = p[4];
    }
    fn guard<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T]) -> T {
        x[0]
    }
    fn direction(&self, _q: usize, _k: usize) -> Crossing {
        Crossing::Falling
    }
    fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], p: &[T], xp: &mut [T]) {
        xp[0] = x[0];
        xp[1] = -p[2] * x[1];
        xp[2] = x[2];
    }
}

impl Derivatives for BallWithClock {}

/// A damped, forced oscillator against a rigid stop at `x = d`:
/// `x'' = −2ζω x' − ω² x + A cos(Ω t)`, `v⁺ = −e v⁻`. Parameters `[ζ, ω, A, Ω, d, e]`.
struct ImpactOscillator;

impl HybridSystem for ImpactOscillator {
    fn dims(&self) -> Dims {
        Dims {
            states: 2,
            params: 6,
            guards: 1,
        }
    }
    fn initial_state<T: Scalar>(&self, _p: &[T], x0: &mut [T]) {
        x0[0] = T::zero();
        x0[1] = T::zero();
    }
    fn flow<T: Scalar>(&self, _q: usize, t: T, x: &[T], p: &[T], dx: &mut [T]) {
        let (zeta, w, a, big_w) = (p[0], p[1], p[2], p[3]);
        dx[0] = x[1];
        dx[1] = -T::cst(2.0) * zeta * w * x[1] - w * w * x[0] + a * (big_w * t).cos();
    }
    fn guard<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], p: &[T]) -> T {
        p[4] - x[0]
    }
    fn direction(&self, _q: usize, _k: usize) -> Crossing {
        Crossing::Falling
    }
    fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], p: &[T], xp: &mut [T]) {
        xp[0] = x[0];
        xp[1] = -p[5] * x[1];
    }
}

impl Derivatives for ImpactOscillator {}

/// A neuron `[V, c]` with a refractory mode: in mode 0 (refractory) `V` is held and the clock
/// `c` runs until `c = p[1]`, which wakes the neuron (mode 1, `c ← 0`); in mode 1 `V' = p[0]`
/// until `V = 1` (threshold), which resets `V ← 0` and starts the refractory mode again.
struct RefractoryNeuron {
    v0: f64,
}

impl HybridSystem for RefractoryNeuron {
    fn dims(&self) -> Dims {
        Dims {
            states: 2,
            params: 2,
            guards: 2,
        }
    }
    fn initial_state<T: Scalar>(&self, _p: &[T], x0: &mut [T]) {
        x0[0] = T::cst(self.v0);
        x0[1] = T::zero();
    }
    fn flow<T: Scalar>(&self, q: usize, _t: T, _x: &[T], p: &[T], dx: &mut [T]) {
        if q == 0 {
            dx[0] = T::zero();
            dx[1] = T::one();
        } else {
            dx[0] = p[0];
            dx[1] = T::zero();
        }
    }
    fn guard<T: Scalar>(&self, _q: usize, k: usize, _t: T, x: &[T], p: &[T]) -> T {
        if k == 0 {
            x[0] - T::one()
        } else {
            x[1] - p[1]
        }
    }
    fn direction(&self, _q: usize, _k: usize) -> Crossing {
        Crossing::Rising
    }
    fn guard_active(&self, q: usize, k: usize) -> bool {
        (k == 0) == (q == 1)
    }
    fn next_mode(&self, _q: usize, k: usize) -> usize {
        if k == 0 {
            0
        } else {
            1
        }
    }
    fn jump<T: Scalar>(&self, _q: usize, k: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
        if k == 0 {
            xp[0] = T::zero();
            xp[1] = T::zero();
        } else {
            xp[0] = x[0];
            xp[1] = T::zero();
        }
    }
}

impl Derivatives for RefractoryNeuron {}

/// `x_0(T)`: the first state at the end time.
struct FirstStateAt([f64; 1]);

impl Loss for FirstStateAt {
    fn observation_times(&self) -> &[f64] {
        &self.0
    }
    fn observation<T: Scalar>(&self, _i: usize, x: &[T], _p: &[T]) -> Option<T> {
        Some(x[0])
    }
}

fn is_zeno(e: &Error) -> bool {
    matches!(
        e,
        Error::EventsTooClose { .. } | Error::TooManyEvents { .. }
    )
}

/// Time of the Zeno accumulation of the ball: `t_Z = t1 + 2 e u / (g (1 − e))` with
/// `u = √(v0² + 2 g y0)`, `t1 = (v0 + u)/g` (docs/maths.md, "Bouncing ball").
fn zeno_time(y0: f64, v0: f64, e: f64, g: f64) -> f64 {
    let u = (v0 * v0 + 2.0 * g * y0).sqrt();
    (v0 + u) / g + 2.0 * e * u / (g * (1.0 - e))
}

fn error_time(e: &Error) -> f64 {
    match *e {
        Error::EventsTooClose { t, .. } | Error::TooManyEvents { t, .. } => t,
        _ => f64::NAN,
    }
}

#[test]
fn zeno_ball_with_a_decoupled_state_is_stopped_at_the_zeno_time_in_every_pass() {
    let opts = SolverOptions::default();
    for rate in [1.3, 0.0] {
        let p = [1.0, 0.0, 0.5, 9.81, rate];
        let t_z = zeno_time(1.0, 0.0, 0.5, 9.81);
        let loss = FirstStateAt([3.0]);
        let results = [
            simulate(&BallWithClock, &p, 0.0, 3.0, &opts).map(|_| ()),
            forward_gradient(&BallWithClock, &p, 0.0, 3.0, &loss, &opts).map(|_| ()),
            adjoint_gradient(&BallWithClock, &p, 0.0, 3.0, &loss, &opts).map(|_| ()),
        ];
        for r in results {
            let e = r.expect_err("the ball cannot pass the Zeno time");
            assert!(is_zeno(&e), "rate {rate}: {e:?}");
            assert!(
                (error_time(&e) - t_z).abs() < 1e-3,
                "rate {rate}: {e:?}, t_Z = {t_z}"
            );
        }
    }
}

#[test]
fn oscillator_pushed_into_a_stop_stops_with_a_zeno_error_never_passing_it() {
    let opts = SolverOptions::default();
    for e in [0.2, 0.1, 0.05] {
        let p = [0.05, 2.0 * std::f64::consts::PI, 50.0, 0.0, 0.5, e];
        match simulate(&ImpactOscillator, &p, 0.0, 2.0, &opts) {
            Err(err) => assert!(is_zeno(&err), "e = {e}: {err:?}"),
            Ok(sol) => {
                let worst = sol
                    .trajectory
                    .sample(20_001)
                    .iter()
                    .fold(f64::NEG_INFINITY, |m, (_, x)| m.max(x[0]));
                panic!(
                    "e = {e}: Ok with {} events, max x = {worst} (stop at 0.5)",
                    sol.events.len()
                );
            }
        }
    }
}

#[test]
fn guard_left_on_zero_by_another_guards_jump_fires_at_that_instant() {
    // Held at threshold during the refractory period: on waking at t = 0.3 with V' = 2 > 0 the
    // threshold guard is on zero moving up, so it fires at once.
    let model = RefractoryNeuron { v0: 1.0 };
    let p = [2.0, 0.3];
    let sol = simulate(&model, &p, 0.0, 0.4, &SolverOptions::default()).unwrap();
    let kinds: Vec<(Option<usize>, f64, bool)> = sol
        .events
        .iter()
        .map(|e| (e.guard(), e.t, e.immediate))
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert_eq!(kinds[0].0, Some(1));
    assert_eq!(kinds[1].0, Some(0));
    assert!((kinds[0].1 - 0.3).abs() < 1e-12 && kinds[1].1 == kinds[0].1);
    assert!(kinds[1].2, "the threshold event fired at the restart point");
    // After the reset V = 0 and the neuron is refractory again: V stays below threshold.
    assert!(sol.x_end[0] < 1.0, "V(0.4) = {}", sol.x_end[0]);
    // A gradient is not defined there: a small change puts V on the far side of threshold.
    let loss = FirstStateAt([0.4]);
    for r in [
        forward_gradient(&model, &p, 0.0, 0.4, &loss, &SolverOptions::default()),
        adjoint_gradient(&model, &p, 0.0, 0.4, &loss, &SolverOptions::default()),
    ] {
        match r {
            Err(Error::EventAtRestart { guard: 0, t, .. }) => assert!((t - 0.3).abs() < 1e-12),
            other => panic!("expected EventAtRestart, got {other:?}"),
        }
    }
}

#[test]
fn state_starting_on_a_guard_moving_into_it_fires_at_t0() {
    let opts = SolverOptions::default();
    // y0 = 0 moving down at 1: the impact is at t0, and the ball leaves upwards at e = 0.5.
    let p = [0.0, -1.0, 0.5, 9.81, 0.0];
    let sol = simulate(&BallWithClock, &p, 0.0, 0.05, &opts).unwrap();
    assert_eq!(sol.events.len(), 1);
    assert_eq!(sol.events[0].t, 0.0);
    assert!(sol.events[0].immediate);
    let (y, v) = (sol.x_end[0], sol.x_end[1]);
    let t = 0.05;
    assert!(
        (y - (0.5 * t - 0.5 * 9.81 * t * t)).abs() < 1e-12,
        "y = {y}"
    );
    assert!((v - (0.5 - 9.81 * t)).abs() < 1e-12, "v = {v}");
    let loss = FirstStateAt([0.05]);
    assert!(matches!(
        adjoint_gradient(&BallWithClock, &p, 0.0, 0.05, &loss, &opts),
        Err(Error::EventAtRestart { t, .. }) if t == 0.0
    ));
}

#[test]
fn ball_thrown_up_from_the_floor_sees_the_same_impacts_in_every_pass() {
    // y0 = 0 moving up: no event at t0, then impacts at t_k; well before the Zeno time.
    let opts = SolverOptions::default();
    let p = [0.0, 3.0, 0.8, 9.81, 0.0];
    let t_end = 0.9 * zeno_time(0.0, 3.0, 0.8, 9.81);
    let sol = simulate(&BallWithClock, &p, 0.0, t_end, &opts).unwrap();
    // Impacts: t1 = 2 v0/g, then t_{k+1} = t_k + 2 e^k v0/g.
    let mut want = vec![2.0 * 3.0 / 9.81];
    let mut k = 1;
    loop {
        let next = want[k - 1] + 2.0 * 0.8f64.powi(k as i32) * 3.0 / 9.81;
        if next >= t_end {
            break;
        }
        want.push(next);
        k += 1;
    }
    assert_eq!(sol.events.len(), want.len());
    for (e, w) in sol.events.iter().zip(&want) {
        assert!((e.t - w).abs() < 1e-9, "{} vs {w}", e.t);
    }
    let loss = FirstStateAt([t_end]);
    let fwd = forward_gradient(&BallWithClock, &p, 0.0, t_end, &loss, &opts).unwrap();
    let adj = adjoint_gradient(&BallWithClock, &p, 0.0, t_end, &loss, &opts).unwrap();
    let times = |ev: &[hybrid_core::EventRecord]| ev.iter().map(|e| e.t).collect::<Vec<_>>();
    assert_eq!(times(&fwd.events), times(&sol.events));
    assert_eq!(times(&adj.events), times(&sol.events));
}

#[test]
fn end_time_on_an_impact_gives_one_answer_in_every_pass() {
    let opts = SolverOptions {
        rtol: 1e-12,
        atol: 1e-12,
        ..SolverOptions::default()
    };
    let p = [0.05, 2.0 * std::f64::consts::PI, 30.0, 5.0, 0.5, 0.8];
    let long = simulate(&ImpactOscillator, &p, 0.0, 10.0, &opts).unwrap();
    assert!(long.events.len() >= 5, "{} impacts", long.events.len());
    let t5 = long.events[4].t;
    let sol = simulate(&ImpactOscillator, &p, 0.0, t5, &opts).unwrap();
    let loss = FirstStateAt([t5]);
    let fwd = forward_gradient(&ImpactOscillator, &p, 0.0, t5, &loss, &opts);
    let adj = adjoint_gradient(&ImpactOscillator, &p, 0.0, t5, &loss, &opts);
    match (&fwd, &adj) {
        (Err(a), Err(b)) => {
            assert_eq!(a, b);
            assert!(matches!(a, Error::EventAtObservation { .. }), "{a:?}");
            assert_eq!(sol.events.len(), 5, "the event at the end time is applied");
        }
        (Ok(a), Ok(b)) => {
            assert_eq!(a.events.len(), sol.events.len());
            assert_eq!(b.events.len(), sol.events.len());
            assert!((a.loss - b.loss).abs() < 1e-9 * a.loss.abs().max(1.0));
        }
        _ => panic!("forward {fwd:?} and adjoint {adj:?} disagree"),
    }
}

/// A guard that is NaN once the state leaves its domain.
struct NanGuard;

impl HybridSystem for NanGuard {
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
    fn flow<T: Scalar>(&self, _q: usize, _t: T, _x: &[T], _p: &[T], dx: &mut [T]) {
        dx[0] = -T::one();
    }
    fn guard<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T]) -> T {
        x[0].sqrt() - T::cst(10.0)
    }
    fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
        xp[0] = x[0];
    }
}

impl Derivatives for NanGuard {}

#[test]
fn guard_that_evaluates_to_nan_is_a_typed_error() {
    let err = simulate(&NanGuard, &[1.0], 0.0, 3.0, &SolverOptions::default()).unwrap_err();
    assert!(
        matches!(err, Error::NonFinite { ref what, t } if what == "guard 0" && t > 1.0 && t <= 3.0),
        "{err:?}"
    );
}

#[test]
fn max_step_below_the_time_resolution_is_refused_before_any_step() {
    let opts = SolverOptions {
        max_step: 1e-17,
        ..SolverOptions::default()
    };
    let p = [1.0, 0.0, 0.5, 9.81, 0.0];
    let err = simulate(&BallWithClock, &p, 0.0, 3.0, &opts).unwrap_err();
    assert!(
        matches!(err, Error::InvalidOption { name: "max_step", value } if value == 1e-17),
        "{err:?}"
    );
}
