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
/// `y − h1` rising (falling with `both_fall`); each jump `v⁺ = −v⁻`. Parameters
/// `[y0, v0, a, h0, h1]`. With `exact`, the guards are declared affine in the state and free of
/// time (truly).
struct Dip {
    exact: bool,
    both_fall: bool,
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
        if k == 1 && !self.both_fall {
            Crossing::Rising
        } else {
            Crossing::Falling
        }
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

const SAMPLED: Dip = Dip {
    exact: false,
    both_fall: false,
};
const EXACT: Dip = Dip {
    exact: true,
    both_fall: false,
};
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

/// The step that holds guard 0's double crossing of `h0 = 0.6` (`down`, `up`) and guard 1's
/// crossing of `h1 = 0.9` (`rise`) after them, and the three times.
fn double_crossing_step() -> ((f64, f64), [f64; 3]) {
    let (down, up) = (1.0 - 0.2f64.sqrt(), 1.0 + 0.2f64.sqrt());
    let rise = 1.0 + 0.8f64.sqrt();
    let step = steps()
        .into_iter()
        .find(|s| s.0 < down && s.1 > down)
        .unwrap();
    assert!(step.1 > rise, "{step:?}");
    // With one interior sample, it is at the step's middle, after the dip: only the extremum
    // test can see guard 0's crossings.
    let middle = 0.5 * (step.0 + step.1);
    assert!(middle > up && middle < rise, "{step:?}");
    (step, [down, up, rise])
}

#[test]
fn a_double_crossing_inside_one_step_is_found_on_both_paths() {
    let (_, [down, up, _]) = double_crossing_step();
    // One interior sample and the end: guard 1 fires at the end, and guard 0 dips through zero
    // and back between the samples. Guard 0's crossing comes first.
    let opts = SolverOptions {
        guard_samples: 1,
        ..Default::default()
    };
    let p = dip(0.6, 0.9);
    // The sampled path finds it by the extremum test up to the sample where guard 1 fired
    // (before, it stopped at that sample and applied guard 1 first, at `rise`).
    let sampled = simulate(&SAMPLED, &p, 0.0, T_END, &opts).unwrap();
    let first = &sampled.events[0];
    assert_eq!(first.guard(), Some(0), "{:?}", sampled.events);
    assert!((first.t - down).abs() <= 1e-12, "{} vs {down}", first.t);
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
    let sampled4 = simulate(&SAMPLED, &p, 0.0, T_END, &SolverOptions::default()).unwrap();
    assert_eq!(sampled4.events[0].guard(), Some(0));
    assert!((sampled4.events[0].t - down).abs() <= 1e-12);
    assert!(up > first.t);
}

#[test]
fn a_near_miss_before_another_guards_crossing_in_the_same_step_is_refused() {
    // Guard 0's dip turns 1e-14 short of `h0` at `t = 1`; guard 1 crosses `h1 = 0.9` later in the
    // same step. Whether guard 0 crossed first is not resolved: a gradient must refuse, on both
    // paths and whatever the samples (before, a step with a crossing skipped the near-miss test).
    let (_, [_, _, rise]) = double_crossing_step();
    let p = dip(0.5 - 1e-14, 0.9);
    for samples in [1, 4] {
        let opts = SolverOptions {
            guard_samples: samples,
            ..Default::default()
        };
        for model in [&SAMPLED, &EXACT] {
            let sol = simulate(model, &p, 0.0, T_END, &opts).unwrap();
            assert_eq!(sol.events[0].guard(), Some(1));
            assert!((sol.events[0].t - rise).abs() <= 1e-12);
            // (The jump at `rise` sends the ball down to the same minimum 0.5 at `2 rise − 1`: a
            // second near miss, in a later step.)
            let at: Vec<_> = sol.near_misses.iter().map(|m| (m.guard, m.t)).collect();
            assert_eq!(
                at.len(),
                2,
                "exact {} samples {samples}: {at:?}",
                model.exact
            );
            assert!(at[0].0 == 0 && (at[0].1 - 1.0).abs() <= 1e-7, "{at:?}");
            assert!(
                at[1].0 == 0 && (at[1].1 - (2.0 * rise - 1.0)).abs() <= 1e-7,
                "{at:?}"
            );
            let err = adjoint_gradient(model, &p, 0.0, T_END, &NoLoss, &opts).unwrap_err();
            assert!(
                matches!(err, Error::NearMiss { guard: 0, .. }),
                "exact {} samples {samples}: {err:?}",
                model.exact
            );
        }
    }
}

#[test]
fn a_near_miss_past_the_steps_first_crossing_is_forgotten() {
    // Both guards falling: guard 1 crosses `h1 = 0.6` at `down` and its jump sends the ball up;
    // on the step's trajectory without the jump, guard 0 would turn 1e-14 short of `h0` at
    // `t = 1`, a time the jump's trajectory never reaches there. No near miss, and a gradient.
    let (_, [down, _, _]) = double_crossing_step();
    let p = dip(0.5 - 1e-14, 0.6);
    for samples in [1, 4] {
        let opts = SolverOptions {
            guard_samples: samples,
            ..Default::default()
        };
        for exact in [false, true] {
            let model = Dip {
                exact,
                both_fall: true,
            };
            let sol = simulate(&model, &p, 0.0, T_END, &opts).unwrap();
            assert_eq!(sol.events.len(), 1, "{:?}", sol.events);
            assert_eq!(sol.events[0].guard(), Some(1));
            assert!((sol.events[0].t - down).abs() <= 1e-12);
            assert!(
                sol.near_misses.is_empty(),
                "exact {exact} samples {samples}: {:?}",
                sol.near_misses
            );
            adjoint_gradient(&model, &p, 0.0, T_END, &NoLoss, &opts).unwrap();
        }
    }
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

#[test]
fn event_diagnostics_in_closed_form_agree_with_the_dual_number_ones() {
    // The exact path forms `g`, `ġ` and the grazing index `κ = |g̈| σ_g / ġ²` of a located event
    // from the guard's gradient and its polynomial on the step; the sampled path by dual numbers.
    // For `g = y − h`: `ġ = v⁻` and `g̈ = a` exactly, and both paths take the same steps (the
    // guards do not steer them), so `σ_g` (the error estimates) is the same up to the rounding
    // of `y` at the event.
    let p = dip(0.6, 0.9);
    let opts = SolverOptions::default();
    let exact = simulate(&EXACT, &p, 0.0, T_END, &opts).unwrap();
    let sampled = simulate(&SAMPLED, &p, 0.0, T_END, &opts).unwrap();
    assert!(!exact.events.is_empty());
    assert_eq!(exact.events.len(), sampled.events.len());
    for (e, s) in exact.events.iter().zip(&sampled.events) {
        let k = e.guard().unwrap();
        assert_eq!(e.g, e.x_minus[0] - p[3 + k]);
        assert_eq!(e.gdot, e.x_minus[1]);
        assert!((e.gdot - s.gdot).abs() <= 1e-12, "{} vs {}", e.gdot, s.gdot);
        assert!(e.grazing > 0.0 && e.grazing.is_finite(), "{}", e.grazing);
        assert!(
            (e.grazing - s.grazing).abs() <= 1e-9 * s.grazing,
            "{} vs {}",
            e.grazing,
            s.grazing
        );
    }
}
