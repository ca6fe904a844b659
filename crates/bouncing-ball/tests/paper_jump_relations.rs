//! The paper's Fig. 1A relations (methods eqs. 12 and 14, with `e = 0.8`, `v0 = 0`) must hold at
//! every impact of a simulated trajectory, read from the per-event `(S⁻, S⁺)` that the forward
//! sensitivities return. Guards against a wrong saltation jump (`docs/maths.md` §"The jump of S: the saltation matrix") at the impacts:
//!
//! - eq. 14b: `∂y⁺/∂p = −e ∂y⁻/∂p`;
//! - eq. 14a: `∂v⁺/∂p = −e ∂v⁻/∂p − (1 + e) g (∂y⁻/∂p) / v⁻`, plus `−v⁻` for `p = e` (the jump
//!   `v⁺ = −e v⁻` depends on `e` itself; the paper differentiates with respect to `y0` only);
//! - eq. 12: `dτ/dp = −(∂y⁻/∂p) / v⁻`, against the impact times of the closed form (`docs/bouncing-ball.md`)
//!   differentiated by dual numbers, which also checks `S⁻` itself.
//!
//! Eq. 14 was derived by hand in the paper; the framework computes `S⁺` from dual-number partials
//! of the model's jump and guard, so the two are independent.

use crate::common;
use bouncing_ball::closed_form::impact_times;
use bouncing_ball::{forward_sensitivities, E, Y0};
use common::{dual_gradient, tight};

/// Fig. 1A: dropped from rest at height 1, restitution 0.8, `g = 9.81`.
const P: [f64; 4] = [1.0, 0.0, 0.8, 9.81];
/// Between the 8th and 9th impacts (t₈ ≈ 3.306 s, t₉ ≈ 3.458 s).
const T_END: f64 = 3.35;
const IMPACTS: usize = 8;

#[test]
fn eq_14_jump_relations_hold_at_every_impact_for_every_parameter() {
    let sens = forward_sensitivities(&P, T_END, &[], &tight()).unwrap();
    assert_eq!(sens.events.len(), IMPACTS);
    let (e, g) = (P[E], P[3]);
    for (k, (ev, (sm, sp))) in sens
        .events
        .iter()
        .zip(&sens.event_sensitivities)
        .enumerate()
    {
        let v_minus = ev.x_minus[1];
        assert!(
            v_minus < 0.0,
            "impact {k}: the ball must be falling, v⁻ = {v_minus}"
        );
        for j in 0..4 {
            let (y_m, v_m, y_p, v_p) = (sm[2 * j], sm[1 + 2 * j], sp[2 * j], sp[1 + 2 * j]);
            let y_expected = -e * y_m;
            let mut v_expected = -e * v_m - (1.0 + e) * g * y_m / v_minus;
            if j == E {
                v_expected -= v_minus;
            }
            let scale = 1.0 + v_m.abs() + (g * y_m / v_minus).abs() + v_minus.abs();
            assert!(
                (y_p - y_expected).abs() <= 1e-12 * scale,
                "impact {k}, p{j}: ∂y⁺ {y_p} vs {y_expected}"
            );
            assert!(
                (v_p - v_expected).abs() <= 1e-12 * scale,
                "impact {k}, p{j}: ∂v⁺ {v_p} vs {v_expected}"
            );
        }
    }
}

#[test]
fn eq_12_impact_time_derivatives_match_closed_form() {
    let sens = forward_sensitivities(&P, T_END, &[], &tight()).unwrap();
    let taus = impact_times(&P, IMPACTS).unwrap();
    for (k, (ev, (sm, _))) in sens
        .events
        .iter()
        .zip(&sens.event_sensitivities)
        .enumerate()
    {
        assert!(
            (ev.t - taus[k]).abs() <= 1e-13 * taus[k],
            "impact {k}: t = {} vs {}",
            ev.t,
            taus[k]
        );
        let exact = dual_gradient(&P, |pd| impact_times(pd, k + 1).unwrap()[k]);
        for j in 0..4 {
            let dtau = -sm[2 * j] / ev.x_minus[1];
            let scale = exact.iter().fold(0.0f64, |a, d| a.max(d.abs()));
            assert!(
                (dtau - exact[j]).abs() <= 1e-10 * scale,
                "impact {k}, p{j}: dτ/dp {dtau} vs {}",
                exact[j]
            );
        }
    }
}

#[test]
fn fig_1a_height_sensitivity_at_impacts_matches_hand_derivation() {
    // By hand from `docs/bouncing-ball.md` with v0 = 0: u = sqrt(2 g y0), v⁻ = −eᵏ⁻¹ u at impact k (from 1),
    // dτ_k/dy0 = (1 + 2 Σ_{i=1}^{k−1} eⁱ)/u, and ∂y⁻/∂y0 = −v⁻ dτ_k/dy0 (eq. 12), so
    // ∂y⁻/∂y0 = eᵏ⁻¹ (1 + 2 Σ_{i=1}^{k−1} eⁱ), independent of y0 and g: 1, 2.08, 2.688, … for e = 0.8.
    let sens = forward_sensitivities(&P, T_END, &[0.0], &tight()).unwrap();
    assert_eq!(sens.samples[0].s[2 * Y0], 1.0, "∂y/∂y0 at t = 0 (eq. 9b)");
    let e = P[E];
    for (k, (sm, sp)) in (1..).zip(&sens.event_sensitivities) {
        let sum: f64 = (1..k).map(|i| e.powi(i)).sum();
        let expected = e.powi(k - 1) * (1.0 + 2.0 * sum);
        let (minus, plus) = (sm[2 * Y0], sp[2 * Y0]);
        assert!(
            (minus - expected).abs() <= 1e-12 * expected,
            "impact {k}: ∂y⁻/∂y0 {minus} vs {expected}"
        );
        assert!(
            (plus + e * expected).abs() <= 1e-12 * expected,
            "impact {k}: ∂y⁺/∂y0 {plus} vs {}",
            -e * expected
        );
    }
}
