//! Guards against any error in the EventProp backward pass: the closed-form adjoint between events
//! (Table 2), the jump of `λ_V` at spikes (eq. 52a), the gradient sums of eq. (2) and eq. (56), the
//! layer-wise error signal `w (λ_V - ρ λ_I)`, the `λ_V` jumps at voltage probes and maxima, the
//! extra term of a maximum sitting on a kink, and the two classification losses (eq. 3, eq. 4).
//!
//! Oracle: fourth-order central finite differences of the loss, recomputed by the forward pass
//! alone (which shares no code with the backward pass), must match the adjoint gradient to 1e-6
//! relative per component (with a floor at 1% of the largest component), over random small
//! networks: 1-3 feed-forward layers of up to 6 neurons and recurrent networks of up to 8 neurons,
//! random weights and input trains. Cases are discarded (`prop_assume`) when some spike has
//! `|V̇⁻| < 2e-3 ϑ/ms` (near a critical point, where gradients diverge), when the discrete structure
//! (spike counts per neuron, where each maximum sits) changes inside the stencil, or when a probe is
//! within 0.05 ms of a spike of its neuron.

use crate::support;

use lif_network::eventprop::{
    InputSpike, LayerKind, LifParams, Loss, RecurrentGradient, RecurrentNet, RecurrentProbe,
    RecurrentWorkspace,
};
use proptest::prelude::*;
use rand::Rng;
use support::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        max_global_rejects: 20_000,
        ..ProptestConfig::default()
    }
}

fn recurrent_case(seed: u64) -> (RecurrentNet, Vec<InputSpike>, Vec<RecurrentProbe>) {
    let mut r = rng(seed);
    let n = r.gen_range(1..=8);
    let n_inputs = r.gen_range(1..=4);
    let net = random_recurrent(&mut r, n, n_inputs, 20.0, (-0.5, 2.5), (-1.0, 1.0));
    let n_spikes = r.gen_range(2..=10);
    let input = random_input(&mut r, n_inputs, n_spikes, 15.0);
    let probes = (0..r.gen_range(1..=4))
        .map(|_| RecurrentProbe {
            neuron: r.gen_range(0..n),
            time: r.gen_range(0.0..20.0),
        })
        .collect();
    (net, input, probes)
}

/// The custom loss for a recurrent network; spikes are in time order, so ordinals are counted.
fn recurrent_loss(
    ws: &RecurrentWorkspace,
    n: usize,
    cot: Option<(&mut Vec<f64>, &mut Vec<f64>)>,
) -> (f64, Vec<i64>) {
    let mut count = vec![0usize; n];
    let mut loss = 0.0;
    let (mut dt, mut dv) = (Vec::new(), Vec::new());
    for s in ws.spikes() {
        let j = s.neuron as usize;
        let a = coef(0, j, count[j]);
        count[j] += 1;
        loss += a * (s.time - 5.0).powi(2) / 10.0;
        dt.push(a * (s.time - 5.0) / 5.0);
    }
    for (q, &v) in ws.probe_values().iter().enumerate() {
        let b = coef(9, q, 0);
        loss += b * v + 0.5 * v * v;
        dv.push(b + v);
    }
    if let Some((ct, cv)) = cot {
        *ct = dt;
        *cv = dv;
    }
    (loss, recurrent_structure(ws, count))
}

/// Spike counts and the order of all spikes, inputs and probes: the recurrent loss is smooth in
/// the weights only while this does not change.
fn recurrent_structure(ws: &RecurrentWorkspace, count: Vec<usize>) -> Vec<i64> {
    let mut s: Vec<i64> = count.into_iter().map(|c| c as i64).collect();
    let mut order: Vec<(f64, i64)> = ws
        .spikes()
        .iter()
        .map(|sp| (sp.time, sp.neuron as i64))
        .collect();
    order.extend(ws.inputs().iter().map(|i| (i.time, -1)));
    order.extend(ws.probes().iter().map(|p| (p.time, -2)));
    order.sort_by(|a, b| a.0.total_cmp(&b.0));
    s.extend(order.into_iter().map(|(_, k)| k));
    s
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn feed_forward_spike_time_loss_gradient_matches_finite_differences(
        seed in any::<u64>(), n_layers in 1usize..=3,
    ) {
        let (net, input, probes) = ff_case(seed, n_layers, LayerKind::Spiking, LifParams::default());
        check_ff_custom(&net, &input, &probes[..0])?;
    }

    #[test]
    fn feed_forward_voltage_probe_loss_gradient_matches_finite_differences(
        seed in any::<u64>(), n_layers in 1usize..=3, readout in any::<bool>(),
    ) {
        let kind = if readout { LayerKind::Readout } else { LayerKind::Spiking };
        let (net, input, probes) = ff_case(seed, n_layers, kind, LifParams::default());
        check_ff_custom(&net, &input, &probes)?;
    }

    #[test]
    fn recurrent_spike_time_and_probe_loss_gradient_matches_finite_differences(
        seed in any::<u64>(), with_probes in any::<bool>(),
    ) {
        let (net, input, probes) = recurrent_case(seed);
        let probes = if with_probes { probes } else { Vec::new() };
        let mut ws = RecurrentWorkspace::default();
        net.forward(&input, &probes, &mut ws).unwrap();
        prop_assume!(ws.min_abs_vdot() >= VDOT_MARGIN);
        prop_assume!(probes.iter().all(|p| ws.spikes().iter()
            .all(|s| s.neuron as usize != p.neuron || (s.time - p.time).abs() >= 0.05)));
        let (mut ct, mut cv) = (Vec::new(), Vec::new());
        let (loss, base) = recurrent_loss(&ws, net.n, Some((&mut ct, &mut cv)));
        let mut grad = RecurrentGradient::default();
        net.backward(&ws, &ct, &cv, &mut grad).unwrap();
        let mut ws2 = RecurrentWorkspace::default();
        let mut eval = |n: &RecurrentNet| -> Option<f64> {
            n.forward(&input, &probes, &mut ws2).ok()?;
            let (loss, s) = recurrent_loss(&ws2, n.n, None);
            (s == base).then_some(loss)
        };
        let mut p = net.clone();
        let mut fd_w = vec![0.0; net.weights.len()];
        for k in 0..net.weights.len() {
            if k / net.n == k % net.n { continue; } // diagonal: fixed at 0
            let w0 = net.weights[k];
            let d = fd4(|dw| { p.weights[k] = w0 + dw; eval(&p) }, FD_STEP);
            p.weights[k] = w0;
            prop_assume!(d.is_some());
            fd_w[k] = d.unwrap();
        }
        let mut fd_in = vec![0.0; net.input_weights.len()];
        for k in 0..net.input_weights.len() {
            let w0 = net.input_weights[k];
            let d = fd4(|dw| { p.input_weights[k] = w0 + dw; eval(&p) }, FD_STEP);
            p.input_weights[k] = w0;
            prop_assume!(d.is_some());
            fd_in[k] = d.unwrap();
        }
        compare(&grad.weights, &fd_w, loss).map_err(|e| TestCaseError::fail(format!("W: {e}")))?;
        compare(&grad.input_weights, &fd_in, loss).map_err(|e| TestCaseError::fail(format!("W_in: {e}")))?;
    }

    #[test]
    fn first_spike_cross_entropy_gradient_matches_finite_differences(
        seed in any::<u64>(), n_layers in 1usize..=2, remedy in any::<bool>(),
    ) {
        let (net, input, _) = ff_case(seed, n_layers, LayerKind::Spiking, LifParams::default());
        let label = (seed % net.output().unwrap().n_out as u64) as usize;
        let loss = if remedy {
            Loss::FirstSpikeSilentRemedy { label, tau0: 0.5, tau1: 6.4, alpha: 3e-3, kappa: 20.0 }
        } else {
            Loss::FirstSpike { label, tau0: 0.5, tau1: 6.4, alpha: 3e-3 }
        };
        check_ff_loss(&net, &input, &loss)?;
    }

    #[test]
    fn max_voltage_cross_entropy_gradient_matches_finite_differences(
        seed in any::<u64>(), n_layers in 1usize..=3,
    ) {
        let (net, input, _) = ff_case(seed, n_layers, LayerKind::Readout, LifParams::default());
        let label = (seed % net.output().unwrap().n_out as u64) as usize;
        check_ff_loss(&net, &input, &Loss::MaxVoltage { label })?;
    }
}
