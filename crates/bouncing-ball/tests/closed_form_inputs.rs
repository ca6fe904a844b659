//! The closed form is public API, so every input a user can pass must give an answer or a typed
//! error, quickly. Guards against the panics and runaway loops it used to have: a capacity
//! overflow for a huge impact count, index panics on a short parameter vector, a loop over every
//! bounce (about 5e16 of them for `e = 1` and `t = 1e17`), and a made-up impact count past the
//! Zeno time.

use bouncing_ball::closed_form::{
    impact_speed, impact_times, impacts_until, running_integral, state_at, zeno_time,
    MAX_LISTED_IMPACTS,
};
use bouncing_ball::BallError;

/// `y0 = 5`, `g = 10`, `e = 1`: `u = 10`, impacts at `1, 3, 5, …`, period 2.
const ELASTIC: [f64; 4] = [5.0, 0.0, 1.0, 10.0];

#[test]
fn impact_times_of_usize_max_is_refused_not_a_capacity_overflow() {
    let err = impact_times(&ELASTIC, usize::MAX).unwrap_err();
    assert!(
        matches!(err, BallError::TooManyImpacts { limit, .. } if limit == MAX_LISTED_IMPACTS as f64),
        "{err:?}"
    );
    assert_eq!(
        impact_times(&ELASTIC, 3).unwrap(),
        vec![1.0, 3.0, 5.0],
        "a short list is still given"
    );
}

#[test]
fn state_at_with_e_one_and_a_huge_time_returns_at_once() {
    // On the old walk this looped once per bounce: 5e16 times.
    // 5e16 impacts is more than f64 counts exactly (2⁵³ ≈ 9e15).
    let err = state_at(&ELASTIC, 1e17).unwrap_err();
    assert!(
        matches!(err, BallError::TooManyImpacts { impacts, .. } if impacts == 5e16),
        "{err:?}"
    );
    // At t = 1e15 the spacing of f64 (0.22) is a tenth of the 2-second bounce.
    let err = running_integral(&ELASTIC, 1e15, 1.0, 1.0).unwrap_err();
    assert!(
        matches!(err, BallError::TimeTooCoarse { bounce, .. } if bounce == 2.0),
        "{err:?}"
    );
}

#[test]
fn state_at_with_e_one_is_periodic_far_out() {
    // t = 1e5 + 0.5 is 1.5 into the bounce that starts at the 50 000th impact, t = 99 999:
    // y = 10·1.5 − 5·1.5² = 3.75, v = 10 − 10·1.5 = −5 (by hand).
    let t = 1e5 + 0.5;
    assert_eq!(state_at(&ELASTIC, t).unwrap(), [3.75, -5.0]);
    assert_eq!(impacts_until(&ELASTIC, t).unwrap(), 50_000);
    // Each whole bounce at speed 10 contributes ∫v² = (2/3)·10³/10 = 200/3.
    let one_bounce = running_integral(&ELASTIC, 3.0, 1.0, 0.0).unwrap()
        - running_integral(&ELASTIC, 1.0, 1.0, 0.0).unwrap();
    assert!((one_bounce - 200.0 / 3.0).abs() < 1e-12, "{one_bounce}");
}

#[test]
fn state_near_zeno_time_with_e_near_one_is_found_without_walking_the_bounces() {
    // e = 1 − 1e-9: about 1e10 bounces before t = t_Z − 1e-3 t_Z; the old walk visited each.
    let p: [f64; 4] = [1.0, 0.0, 1.0 - 1e-9, 9.81];
    let t = zeno_time(&p).unwrap() * (1.0 - 1e-3);
    let [y, v] = state_at(&p, t).unwrap();
    let k = impacts_until(&p, t).unwrap();
    assert!(k > 1_000_000_000, "{k} impacts");
    // Between impacts the energy is that of the last bounce: v² + 2 g y = (eᵏ u)².
    let w = impact_speed(&p).unwrap() * p[2].powf(k as f64);
    // t_k is known to the rounding of a time near 1e9 (about 1e-7, a 1e-4 part of this bounce),
    // so the ball may sit a hair below the floor at the very end of the bounce.
    assert!(y >= -1e-3 * w * w / (2.0 * p[3]), "y = {y}");
    assert!(
        (v * v + 2.0 * p[3] * y - w * w).abs() <= 1e-9 * w * w,
        "v = {v}, y = {y}, w = {w}"
    );
}

#[test]
fn impacts_past_the_zeno_time_are_refused_naming_it() {
    // y0 = 5, g = 10, e = 0.5: t_Z = 3.
    let p: [f64; 4] = [5.0, 0.0, 0.5, 10.0];
    let err = impacts_until(&p, 3.5).unwrap_err();
    assert!(
        matches!(err, BallError::PastZenoTime { t_zeno, .. } if t_zeno == 3.0),
        "{err:?}"
    );
    // The state and the running integral are defined there: at rest after the last bounce.
    assert_eq!(state_at(&p, 3.5).unwrap(), [0.0, 0.0]);
    // ∫v² over [0, 3.5]: the fall 0..1 at g = 10 gives 100/3, each bounce (2/3) w³/g with
    // w = 5, 2.5, …: (2/3)(125/10)/(1 − 1/8) = 200/21.
    let total: f64 = running_integral(&p, 3.5, 1.0, 0.0).unwrap();
    assert!(
        (total - (100.0 / 3.0 + 200.0 / 21.0)).abs() < 1e-12,
        "{total}"
    );
}

#[test]
fn short_or_invalid_parameters_and_bad_times_are_typed_errors() {
    assert!(matches!(
        state_at(&[1.0, 0.0], 0.5).unwrap_err(),
        BallError::Core(hybrid_core::Error::WrongLength { got: 2, .. })
    ));
    assert!(matches!(
        impact_times(&[1.0], 2).unwrap_err(),
        BallError::Core(hybrid_core::Error::WrongLength { got: 1, .. })
    ));
    assert!(matches!(
        zeno_time(&[1.0, 0.0, f64::NAN, 9.81]).unwrap_err(),
        BallError::InvalidParameter { name: "e", .. }
    ));
    assert!(matches!(
        running_integral(&[1.0, 0.0, 0.5, -1.0], 1.0, 1.0, 1.0).unwrap_err(),
        BallError::InvalidParameter { name: "g", .. }
    ));
    for t in [-1.0, f64::NAN] {
        assert!(matches!(
            state_at(&ELASTIC, t).unwrap_err(),
            BallError::InvalidTime { .. }
        ));
    }
}
