//! Exact detection and location on polynomial steps (docs/maths.md §9, "Exact detection and
//! location on polynomial steps"): a guard declared affine in the state and free of time, on a
//! flow the passes step by its exact polynomial of degree 2, is a quadratic on each step; it is
//! sampled where it turns and located in closed form. Each test runs the same model with the
//! declarations (the exact path) and without them (the sampled path).

use hybrid_core::{
    adjoint_gradient, simulate, Crossing, Derivatives, Dims, Error, HybridSystem, NoLoss, Scalar,
    SolverOptions,
};

/// `ẏ = v`, `v̇ = a`: the parabola `y = y0 + v0 t + a t²/2`. Guard 0 `y − h0` falling, guard 1
/// `y − h1` rising; each jump `v⁺ = −v⁻`. Parameters `[y0, v0, a, h0, h1]`. With `exact`, the
/// guards are declared affine in the state and free of time (truly).
struct Dip {
    exact: bool,
}

impl HybridSystem for Dip {
    fn dims(&self) -> Dims {
        Dims {
            states: 2,
            params: 5,
            guards: 2,
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0[0] = p[0];
        x0[1] = p[1];
    }
    fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
        dx[0] = x[1];
        dx[1] = p[2];
    }
    fn guard<T: Scalar>(&self, _q: usize, k: usize, _t: T, x: &[T], p: &[T]) -> T {
        x[0] - p[3 + k]
    }
    fn direction(&self, _q: usize, k: usize) -> Crossing {
        [Crossing::Falling, Crossing::Rising][k]
    }
    fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
        xp[0] = x[0];
        xp[1] = -x[1];
    }
}

impl Derivatives for Dip {
    fn flow_jacobian_depends_on_state(&self) -> bool {
        false
    }
    fn flow_jacobian_depends_on_time(&self) -> bool {
        false
    }
    fn flow_depends_on_time(&self) -> bool {
        false
    }
    fn guard_gradient_depends_on_state(&self) -> bool {
        !self.exact
    }
    fn guard_depends_on_time(&self) -> bool {
        !self.exact
    }
}

const SAMPLED: Dip = Dip { exact: false };
const EXACT: Dip = Dip { exact: true };
const T_END: f64 = 3.0;

/// `y = 1 − t + t²/2` dips to `0.5` at `t = 1`, through `h0` at `1 ∓ √(1 − 2 h0)`; it rises
/// through `h1 = 0.9` at `1 + √0.8` (`h1 = 10`: never).
fn dip(h0: f64, h1: f64) -> [f64; 5] {
    [1.0, -1.0, 1.0, h0, h1]
}

/// The steps both paths take on `[0, 3]` (the same: the guards do not steer them), with no event.
fn steps() -> Vec<(f64, f64)> {
    let sol = simulate(
        &EXACT,
        &dip(0.4, 10.0),
        0.0,
        T_END,
        &SolverOptions::default(),
    )
    .unwrap();
    assert!(sol.events.is_empty());
    sol.trajectory.steps().collect()
}

#[test]
fn a_double_crossing_inside_one_step_is_found_where_samples_miss_it() {
    let (down, up) = (1.0 - 0.2f64.sqrt(), 1.0 + 0.2f64.sqrt());
    let rise = 1.0 + 0.8f64.sqrt();
    // One step holds both crossings of guard 0 and the crossing of guard 1 after them.
    let step = steps()
        .into_iter()
        .find(|s| s.0 < down && s.1 > down)
        .unwrap();
    assert!(step.1 > rise, "{step:?}");
    // One interior sample (at the step's middle, after the dip) and the end: guard 1 fires at
    // the end, so the sampled path never looks for guard 0's extremum and applies guard 1 first.
    let opts = SolverOptions {
        guard_samples: 1,
        ..Default::default()
    };
    let p = dip(0.6, 0.9);
    let sampled = simulate(&SAMPLED, &p, 0.0, T_END, &opts).unwrap();
    assert_eq!(sampled.events[0].guard(), Some(1), "{:?}", sampled.events);
    assert!((sampled.events[0].t - rise).abs() <= 1e-12);
    // The exact path samples guard 0 where it turns: its crossing comes first, at the root.
    let exact = simulate(&EXACT, &p, 0.0, T_END, &opts).unwrap();
    let first = &exact.events[0];
    assert_eq!(first.guard(), Some(0), "{:?}", exact.events);
    assert!(
        (first.t - down).abs() <= 2.0 * f64::EPSILON,
        "{} vs {down}",
        first.t
    );
    // Whatever the samples: the same first event with the default four.
    let exact4 = simulate(&EXACT, &p, 0.0, T_END, &SolverOptions::default()).unwrap();
    assert_eq!(exact4.events[0].t, first.t);
    assert!(up > first.t);
}

#[test]
fn closed_form_roots_agree_with_the_sampled_paths_located_roots() {
    // Single crossings (the dip through 0.6, then up through 0.9 after the bounce): the two
    // paths locate the same events, to the sampled path's accuracy.
    let p = dip(0.6, 0.9);
    let opts = SolverOptions::default();
    let exact = simulate(&EXACT, &p, 0.0, T_END, &opts).unwrap();
    let sampled = simulate(&SAMPLED, &p, 0.0, T_END, &opts).unwrap();
    assert_eq!(exact.events.len(), sampled.events.len());
    assert!(!exact.events.is_empty());
    for (e, s) in exact.events.iter().zip(&sampled.events) {
        assert_eq!(e.guard(), s.guard());
        assert!(
            (e.t - s.t).abs() <= 1e-13 * s.t.abs().max(1.0),
            "{} vs {}",
            e.t,
            s.t
        );
    }
}

#[test]
fn a_turn_within_the_noise_of_zero_is_a_near_miss_on_both_paths() {
    // The dip's minimum 0.5 a few `σ_g = 16 ε |y|` above `h0`: a near miss, which a gradient
    // refuses; a clear miss is none.
    let opts = SolverOptions::default();
    for model in [&SAMPLED, &EXACT] {
        let near = dip(0.5 - 1e-14, 10.0);
        let sol = simulate(model, &near, 0.0, T_END, &opts).unwrap();
        assert!(sol.events.is_empty());
        assert_eq!(sol.near_misses.len(), 1, "exact {}", model.exact);
        let miss = sol.near_misses[0];
        assert_eq!(miss.guard, 0);
        assert!((miss.t - 1.0).abs() <= 1e-7, "{}", miss.t);
        assert!(miss.g > 0.0 && miss.g <= 2e-14, "{}", miss.g);
        let err = adjoint_gradient(model, &near, 0.0, T_END, &NoLoss, &opts).unwrap_err();
        assert!(matches!(err, Error::NearMiss { .. }), "{err:?}");
        let clear = simulate(model, &dip(0.4, 10.0), 0.0, T_END, &opts).unwrap();
        assert!(clear.events.is_empty() && clear.near_misses.is_empty());
    }
}
