//! A hybrid system whose guard and jump depend on parameters and time, with an explicit closed
//! form: guards against errors in the saltation jump of the sensitivities, the adjoint jump
//! (including the `h_t`, `g_t` and `g_p` terms), the running loss's jump term `ℓ⁻ − ℓ⁺`, and the
//! event-time loss term. Forward, adjoint and closed form must agree to 1e-8 relative for the
//! three loss kinds, over random parameters.

use crate::common;
use common::*;
use hybrid_core::{
    adjoint_gradient, forward_gradient, forward_sensitivities, simulate, SolverOptions,
};
use proptest::prelude::*;

fn tight() -> SolverOptions {
    SolverOptions {
        rtol: 1e-12,
        atol: 1e-12,
        ..Default::default()
    }
}

/// Check forward and adjoint against the closed form for one loss; returns the two deviations.
fn deviations(p: &[f64], loss: &SawtoothLoss) -> (f64, f64) {
    let exact = dual_gradient(p, |pd| loss.exact(pd));
    let fwd = forward_gradient(&Sawtooth, p, 0.0, loss.t_end, loss, &tight()).unwrap();
    let adj = adjoint_gradient(&Sawtooth, p, 0.0, loss.t_end, loss, &tight()).unwrap();
    let value = loss.exact(p);
    assert!(
        (fwd.loss - value).abs() <= 1e-9 * value.abs().max(1.0),
        "loss {} vs {}",
        fwd.loss,
        value
    );
    assert!(
        (adj.loss - value).abs() <= 1e-9 * value.abs().max(1.0),
        "loss {} vs {}",
        adj.loss,
        value
    );
    let scale = exact.iter().fold(0.0f64, |a, g| a.max(g.abs())).max(1e-3);
    (
        max_rel_dev(&fwd.gradient, &exact, 1e-3 * scale),
        max_rel_dev(&adj.gradient, &exact, 1e-3 * scale),
    )
}

const P: [f64; 8] = [0.2, 1.5, 0.8, 1.2, 0.3, 0.15, 0.5, 1.0];

#[test]
fn event_times_match_closed_form_to_1e12() {
    let sol = simulate(&Sawtooth, &P, 0.0, 4.0, &SolverOptions::default()).unwrap();
    let exact = sawtooth_exact(&P, 4.0);
    assert_eq!(sol.events.len(), exact.taus.len());
    for (e, tau) in sol.events.iter().zip(&exact.taus) {
        assert!((e.t - tau).abs() <= 1e-12 * tau, "{} vs {}", e.t, tau);
        assert!((e.gdot - (P[1] - P[4])).abs() < 1e-12, "gdot {}", e.gdot);
    }
}

#[test]
fn saltation_jump_of_sensitivities_matches_closed_form_after_each_event() {
    let sens = forward_sensitivities(&Sawtooth, &P, 0.0, 4.0, &[4.0], &tight()).unwrap();
    let s = &sens.samples[0].s;
    let ey = dual_gradient(&P, |p| sawtooth_exact(p, 4.0.into()).y_end);
    let ew = dual_gradient(&P, |p| sawtooth_exact(p, 4.0.into()).w_end);
    let got_y: Vec<f64> = (0..8).map(|j| s[2 * j]).collect();
    let got_w: Vec<f64> = (0..8).map(|j| s[1 + 2 * j]).collect();
    assert!(max_rel_dev(&got_y, &ey, 1e-3) < 1e-8, "{got_y:?}\n{ey:?}");
    assert!(max_rel_dev(&got_w, &ew, 1e-3) < 1e-8, "{got_w:?}\n{ew:?}");
}

#[test]
fn terminal_running_and_event_time_losses_agree_with_closed_form() {
    for (weights, k) in [
        ([1.0, 0.5, 0.0, 0.0], None),
        ([0.0, 0.0, 1.0, 0.0], None),
        ([0.0, 0.0, 0.0, 1.0], Some(1)),
    ] {
        let (f, a) = deviations(&P, &SawtoothLoss::new(4.0, weights, k));
        assert!(
            f < 1e-8 && a < 1e-8,
            "weights {weights:?}: forward {f:e}, adjoint {a:e}"
        );
    }
}

/// Margin kept between the horizon and any event time, so the number of events is locally constant.
const MARGIN: f64 = 1e-3;

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn forward_adjoint_and_closed_form_agree_for_all_loss_kinds(
        y0 in 0.0..0.5f64, a in 1.0..2.0f64, b in 0.2..1.5f64, c in 1.0..2.0f64, d in 0.0..0.5f64,
        q in 0.0..0.2f64, h in -1.0..1.0f64, w0 in 0.5..2.0f64, t_end in 1.5..4.0f64,
        weights in prop::array::uniform4(0.1..1.0f64),
    ) {
        let p = [y0, a, b, c, d, q, h, w0];
        let exact = sawtooth_exact(&p, t_end);
        prop_assume!(exact.taus.iter().all(|tau| (t_end - tau).abs() > MARGIN));
        let k = if exact.taus.is_empty() { None } else { Some(exact.taus.len() - 1) };
        let loss = SawtoothLoss::new(t_end, weights, k);
        let (f, a) = deviations(&p, &loss);
        prop_assert!(f < 1e-8, "forward {f:e}");
        prop_assert!(a < 1e-8, "adjoint {a:e}");
        prop_assert!(hybrid_core::Loss::running(&loss, 0.0, &[y0, 0.0], &p).is_some());
    }
}
