//! Gradients on the generic path alone. Guards against: forward sensitivities and the adjoint of
//! the LIF model disagreeing with each other or with central differences of whole simulations; and against `adjoint_at` reading the adjoint at the wrong time,
//! component, sign or scale. The oracles for `adjoint_at` are independent: the paper's eq. (2)
//! and eq. (56) (a weight's gradient is the sum of `λ_I` of its target at the spikes that cross
//! it, in the convention of `docs/maths.md` §"10. The LIF network") evaluated with the gradient of the plain model,
//! and central differences of the loss under an actual kick of the state.
//!
//! Margins from critical points as in `eventprop_vs_generic.rs` (`|V̇⁻| ≥ 5e-3 ϑ/ms`, spikes
//! 0.05 ms from `t_end` and probe times and 0.01 ms from other events, membrane maxima 1e-3 ϑ
//! below threshold).

use crate::generic_common;
use generic_common::*;
use hybrid_core::{adjoint_gradient, forward_gradient, simulate, EventRecord, Solution};
use hybrid_testkit::central_difference_gradient;
use lif_network::generic::{
    adjoint_at, spike_counts, AdjointProbes, LifNetwork, Presynaptic, SpikeVoltageLoss,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn clear_of_critical_points(model: &LifNetwork, sol: &Solution, t_end: f64) -> bool {
    let m = margins(model, sol, t_end);
    let thr = model.lif_params().threshold;
    m.min_abs_gdot >= 5e-3 * thr
        && m.end_gap >= 0.05
        && m.near_miss >= 1e-3 * thr
        && m.event_gap >= 0.01
}

fn spikes_near(events: &[EventRecord], t: f64) -> bool {
    events
        .iter()
        .any(|e| e.guard().is_some() && (e.t - t).abs() < 0.05)
}

/// A random network (layered with a readout, or recurrent), its weights, `t_end`, and a loss of
/// all spike times of its last neuron plus two voltages.
fn case(seed: u64) -> Option<(LifNetwork, Vec<f64>, f64, SpikeVoltageLoss)> {
    let (model, p, t_end) = random_model(seed)?;
    let sol = simulate(&model, &p, 0.0, t_end, &tight()).ok()?;
    if !clear_of_critical_points(&model, &sol, t_end) {
        return None;
    }
    let n = model.neurons();
    let mut loss = SpikeVoltageLoss::new(&model);
    for occ in 0..spike_counts(&sol.events, n)[n - 1] {
        loss = loss
            .spike_time(n - 1, occ, 1.0)
            .expect("a neuron of the model");
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed.rotate_left(7));
    for _ in 0..2 {
        let t = rng.gen_range(0.1..t_end);
        if spikes_near(&sol.events, t) {
            return None;
        }
        loss = loss
            .voltage(rng.gen_range(0..n), t, rng.gen_range(-1.0..1.0))
            .expect("a neuron of the model");
    }
    Some((model, p, t_end, loss))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_global_rejects: 4096, ..ProptestConfig::default() })]

    /// Forward sensitivities vs adjoint (1e-9) vs the test kit's central differences of the generic
    /// simulation (steps `1e-5 · max(1, |w|)` and half of it, Richardson-extrapolated; 1e-5). Deviations are per entry, relative
    /// to `max(|g_j|, 1e-3 max_k |g_k|)`: `check_gradients` itself judges entries down to 1e-6 of
    /// the largest, below the rounding noise of central differences on structurally zero entries.
    #[test]
    fn forward_adjoint_and_finite_differences_agree(seed in any::<u64>()) {
        let c = case(seed);
        prop_assume!(c.is_some());
        let (model, p, t_end, loss) = c.unwrap();
        let fwd = forward_gradient(&model, &p, 0.0, t_end, &loss, &tight()).unwrap();
        let adj = adjoint_gradient(&model, &p, 0.0, t_end, &loss, &tight()).unwrap();
        // Richardson extrapolation of steps h and h/2: near a spike with a small ġ the loss
        // curves sharply and plain central differences at h = 1e-5 are off by their O(h²) term
        // (seed 3992823795954160132: 5e-5 at h = 1e-5, 6.8e-7 at 1e-6, converging on the adjoint).
        let fd1 = central_difference_gradient(&model, &p, 0.0, t_end, &loss, &tight(), 1e-5).unwrap();
        let fd2 = central_difference_gradient(&model, &p, 0.0, t_end, &loss, &tight(), 5e-6).unwrap();
        let fd: Vec<f64> = fd1.iter().zip(&fd2).map(|(a, b)| (4.0 * b - a) / 3.0).collect();
        let methods = max_rel_dev(&fwd.gradient, &adj.gradient, 1e-3);
        let central = max_rel_dev(&adj.gradient, &fd, 1e-3);
        prop_assert!(methods <= 1e-9, "forward vs adjoint {methods:e}");
        prop_assert!(central <= 1e-5, "adjoint vs central differences {central:e}\n{:?}\n{fd:?}", adj.gradient);
    }

    /// Eq. (2) and eq. (56): `dL/dw_j = Σ_{spikes crossing synapse j} λ_{I,target}(t_spike)`, with
    /// `λ_I` read by `adjoint_at` and `dL/dw` from the adjoint of the plain model.
    #[test]
    fn weight_gradients_are_sums_of_lambda_i_at_the_crossing_spikes(seed in any::<u64>()) {
        let c = case(seed);
        prop_assume!(c.is_some());
        let (model, p, t_end, loss) = c.unwrap();
        let sol = simulate(&model, &p, 0.0, t_end, &tight()).unwrap();
        let plain = adjoint_gradient(&model, &p, 0.0, t_end, &loss, &tight()).unwrap();
        // One probe per (synapse, spike crossing it).
        let mut probes = Vec::new();
        let mut owner = Vec::new();
        for (j, syn) in model.synapses().iter().enumerate() {
            let times: Vec<f64> = match syn.source {
                Presynaptic::Input(i) => model.input_spikes().filter(|s| s.1 == i && s.0 <= t_end).map(|s| s.0).collect(),
                Presynaptic::Neuron(s) => sol.events.iter().filter(|e| e.guard() == Some(s)).map(|e| e.t).collect(),
            };
            for t in times {
                probes.push((t, model.i_index(syn.target)));
                owner.push(j);
            }
        }
        let trace = adjoint_at(&model, &p, 0.0, t_end, &loss, &tight(), &probes).unwrap();
        let mut summed = vec![0.0; p.len()];
        for (k, &j) in owner.iter().enumerate() {
            summed[j] += trace.lambda[k];
        }
        let dev = max_rel_dev(&summed, &plain.gradient, 1e-3);
        prop_assert!(dev <= 1e-9, "eq. (2)/(56) deviation {dev:e}\n{summed:?}\n{:?}", plain.gradient);
        // The wrapped model is the same system: same loss and gradient.
        prop_assert!((trace.gradient.loss - plain.loss).abs() <= 1e-12 * plain.loss.abs().max(1.0));
        prop_assert!(max_rel_dev(&trace.gradient.gradient, &plain.gradient, 1e-3) <= 1e-9);
    }
}

#[test]
fn adjoint_at_matches_central_differences_of_an_actual_state_kick() {
    let (model, p, t_end, loss) = (0..)
        .find_map(|seed| case(seed).filter(|c| c.3.spike_terms().count() > 0))
        .unwrap();
    let n = model.neurons();
    let probes: Vec<(f64, usize)> = (0..6)
        .map(|k| (t_end * (0.1 + 0.13 * k as f64), (k * 5) % (2 * n)))
        .collect();
    let trace = adjoint_at(&model, &p, 0.0, t_end, &loss, &tight(), &probes).unwrap();
    let wrapped = AdjointProbes::new(&model, &probes).unwrap();
    let mut pp = p.clone();
    pp.resize(p.len() + probes.len(), 0.0);
    let fd = central_difference_gradient(&wrapped, &pp, 0.0, t_end, &loss, &tight(), 1e-6).unwrap();
    let dev = max_rel_dev(&trace.lambda, &fd[p.len()..], 1e-3);
    assert!(
        dev <= 1e-6,
        "λ vs central differences: {dev:e}\n{:?}\n{:?}",
        trace.lambda,
        &fd[p.len()..]
    );
    assert!(
        trace.lambda.iter().any(|l| l.abs() > 1e-6),
        "probes must see a non-zero adjoint"
    );
}

#[test]
fn adjoint_probes_outside_the_span_or_the_state_are_rejected() {
    let (model, p, t_end, loss) = (0..).find_map(case).unwrap();
    let err = adjoint_at(&model, &p, 0.0, t_end, &loss, &tight(), &[(t_end + 1.0, 0)]);
    assert!(
        matches!(err, Err(hybrid_core::Error::InvalidTime { .. })),
        "{err:?}"
    );
    let err = adjoint_at(
        &model,
        &p,
        0.0,
        t_end,
        &loss,
        &tight(),
        &[(1.0, 2 * model.neurons())],
    );
    assert!(
        matches!(err, Err(hybrid_core::Error::WrongLength { .. })),
        "{err:?}"
    );
}
