//! Guards against wrong loss values and wrong special cases of the classification losses:
//! the exact readout maximum (checked against a dense grid of the textbook solution), the kink
//! maximum whose time moves with an upstream spike (its whole gradient is the `V̇⁻ dt/dw` term
//! that the envelope theorem alone would drop), eq. (3) and eq. (4) values recomputed by hand from
//! the recorded spike times and maxima, and the documented behaviour for a silent label neuron
//! (loss `+inf` by default, the opt-in remedy giving a finite loss whose gradient makes it fire).

use crate::support;

use lif_network::eventprop::{
    FeedForwardNet, InputSpike, LayerKind, LifParams, Loss, NetworkCotangents, NetworkWorkspace,
    Observe, PeakCause,
};
use proptest::prelude::*;
use support::*;

fn spike(time: f64, source: u32) -> InputSpike {
    InputSpike { time, source }
}

/// Inputs 0 and 1 drive hidden neurons A and B (one spike each, B about 2 ms after A); the readout
/// gets `+5` from A and `-8` from B, so its voltage is still rising when B's spike arrives.
fn kink_net() -> (FeedForwardNet, Vec<InputSpike>) {
    let mut net = FeedForwardNet::new(
        2,
        &[(2, LayerKind::Spiking), (1, LayerKind::Readout)],
        LifParams::default(),
        30.0,
    )
    .unwrap();
    net.layers[0].weights = vec![10.0, 0.0, 0.0, 10.0];
    net.layers[1].weights = vec![5.0, -8.0];
    (net, vec![spike(0.0, 0), spike(2.0, 1)])
}

#[test]
fn maximum_on_a_kink_gets_the_moving_spike_time_term() {
    let (net, input) = kink_net();
    let mut ws = NetworkWorkspace::new();
    net.forward(&input, Observe::default(), &mut ws).unwrap();
    let (a, b) = (indices_of(&net, &ws, 0, 0), indices_of(&net, &ws, 0, 1));
    assert_eq!((a.len(), b.len()), (1, 1));
    let m = peak_of(&net, &ws, 1, 0);
    // The maximum sits at the arrival of B's spike.
    assert_eq!(m.cause, PeakCause::SpikeArrival(b[0]));
    assert_eq!(m.time, ws.spikes()[b[0]].time);
    let mut cot = NetworkCotangents::zeros_for(&ws);
    cot.peaks[2] = 1.0; // L = max_t V of the readout (global neuron 2)
    let mut grad = net.zero_gradient();
    net.backward(&mut ws, &cot, &mut grad).unwrap();
    // B's input weight only moves B's spike: V before it does not depend on that weight, so the
    // envelope theorem alone would give 0.
    let fd_max = |l: usize, k: usize| {
        let mut p = net.clone();
        let w0 = p.layers[l].weights[k];
        let mut ws2 = NetworkWorkspace::new();
        fd4(
            |dw| {
                p.layers[l].weights[k] = w0 + dw;
                p.forward(&input, Observe::default(), &mut ws2).ok()?;
                Some(peak_of(&p, &ws2, 1, 0).value)
            },
            FD_STEP,
        )
        .unwrap()
    };
    let fd_b = fd_max(0, 3);
    assert!(
        fd_b.abs() > 1e-3,
        "the spike-time term matters here: {fd_b}"
    );
    compare(&[grad[0][3]], &[fd_b], m.value).unwrap();
    for (l, k) in [(0, 0), (1, 0), (1, 1)] {
        compare(&[grad[l][k]], &[fd_max(l, k)], m.value).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn readout_maximum_equals_the_dense_grid_maximum(seed in any::<u64>(), n_layers in 1usize..=2) {
        let (net, input, _) = ff_case(seed, n_layers, LayerKind::Readout, LifParams::default());
        let mut ws = NetworkWorkspace::new();
        net.forward(&input, Observe::default(), &mut ws).unwrap();
        let out = n_layers - 1;
        let layer = &net.layers[out];
        // Events of the readout layer: the inputs, or the spikes of the layer below.
        let events: Vec<(f64, usize)> = if out == 0 {
            input.iter().map(|s| (s.time, s.source as usize)).collect()
        } else {
            ws.spikes().iter().map(|s| (s.time, layer_of(&net, s.neuron as usize)))
                .filter(|(_, (l, _))| *l == out - 1).map(|(t, (_, j))| (t, j)).collect()
        };
        let mut events = events;
        events.sort_by(|a, b| a.0.total_cmp(&b.0));
        let h = 1e-4;
        for j in 0..layer.n_out {
            let w: Vec<f64> = (0..layer.n_in)
                .map(|pre| layer.weights[layer.index(pre, j)])
                .collect();
            let (mut v, mut i, mut t0, mut m) = (0.0_f64, 0.0_f64, 0.0_f64, 0usize);
            let (mut grid_max, mut slope) = (f64::NEG_INFINITY, 0.0_f64);
            for &(te, pre) in events.iter().chain(std::iter::once(&(20.0, usize::MAX))) {
                while (m as f64) * h <= te {
                    let t = m as f64 * h - t0;
                    let vg = v * (-t / 20.0).exp() + i * 5.0 / (5.0 - 20.0) * ((-t / 5.0).exp() - (-t / 20.0).exp());
                    let ig = i * (-t / 5.0).exp();
                    grid_max = grid_max.max(vg);
                    slope = slope.max((ig - vg).abs() / 20.0);
                    m += 1;
                }
                let t = te - t0;
                v = v * (-t / 20.0).exp() + i * 5.0 / (5.0 - 20.0) * ((-t / 5.0).exp() - (-t / 20.0).exp());
                i *= (-t / 5.0).exp();
                t0 = te;
                if pre != usize::MAX { i += w[pre]; }
            }
            let exact = peak_of(&net, &ws, out, j).value;
            // The grid cannot beat the exact maximum, and misses it by at most max|V̇| h (the
            // maximum may be a kink); the slope bound is taken on the grid with 10% slack.
            prop_assert!(grid_max <= exact + 1e-12, "neuron {j}: grid {grid_max} above exact {exact}");
            prop_assert!(exact - grid_max <= 1.1 * slope * h + 1e-12, "neuron {j}: exact {exact} vs grid {grid_max}");
        }
    }

    #[test]
    fn cross_entropy_values_match_eq_3_and_eq_4_recomputed_by_hand(seed in any::<u64>()) {
        let (net, input, _) = ff_case(seed, 2, LayerKind::Spiking, LifParams::default());
        let n = net.output().unwrap().n_out;
        let label = (seed % n as u64) as usize;
        let (tau0, tau1, alpha) = (0.5, 6.4, 3e-3);
        let r = net.loss_and_gradient(&input, &Loss::FirstSpike { label, tau0, tau1, alpha }).unwrap();
        let mut ws = NetworkWorkspace::new();
        net.forward(&input, Observe::default(), &mut ws).unwrap();
        let t: Vec<Option<f64>> = (0..n).map(|k| times_of(&net, &ws, 1, k).first().copied()).collect();
        match t[label] {
            None => prop_assert_eq!(r.loss, f64::INFINITY),
            Some(tl) => {
                let denom: f64 = t.iter().flatten().map(|tk| (-tk / tau0).exp()).sum();
                let expected = -((-tl / tau0).exp() / denom).ln() + alpha * ((tl / tau1).exp() - 1.0);
                prop_assert!((r.loss - expected).abs() <= 1e-12 * expected.abs().max(1.0));
            }
        }
        let (net, input, _) = ff_case(seed, 2, LayerKind::Readout, LifParams::default());
        let r = net.loss_and_gradient(&input, &Loss::MaxVoltage { label }).unwrap();
        net.forward(&input, Observe::default(), &mut ws).unwrap();
        let m: Vec<f64> = (0..n).map(|k| peak_of(&net, &ws, 1, k).value).collect();
        let expected = -(m[label].exp() / m.iter().map(|x| x.exp()).sum::<f64>()).ln();
        prop_assert!((r.loss - expected).abs() <= 1e-12 * expected.abs().max(1.0));
        let best = (0..m.len()).fold(0, |b, k| if m[k] > m[b] { k } else { b });
        prop_assert_eq!(r.prediction, Some(best));
    }
}

/// Two outputs: neuron 0 fires (input weight 9), neuron 1 (the label) is silent (weight 3).
fn silent_label_net() -> (FeedForwardNet, Vec<InputSpike>) {
    let mut net =
        FeedForwardNet::new(1, &[(2, LayerKind::Spiking)], LifParams::default(), 20.0).unwrap();
    net.layers[0].weights = vec![9.0, 3.0];
    (net, vec![spike(1.0, 0), spike(3.0, 0)])
}

#[test]
fn silent_label_gives_infinite_loss_and_only_pushes_the_other_neurons_later() {
    let (net, input) = silent_label_net();
    let loss = Loss::FirstSpike {
        label: 1,
        tau0: 0.5,
        tau1: 6.4,
        alpha: 3e-3,
    };
    let r = net.loss_and_gradient(&input, &loss).unwrap();
    assert_eq!(r.loss, f64::INFINITY);
    assert_eq!(r.prediction, Some(0));
    assert_eq!(r.gradient[0][1], 0.0, "the silent label gets no signal");
    // The finite limit: d/dw of log Σ_{k fired} e^{-t_k/τ0} = -t_0/τ0 + const (one fired neuron),
    // i.e. -(1/τ0) dt_0/dw: pushes neuron 0 later. Oracle: finite differences of its spike time.
    let mut ws = NetworkWorkspace::new();
    let mut p = net.clone();
    let dt0 = fd4(
        |dw| {
            p.layers[0].weights[0] = 9.0 + dw;
            p.forward(&input, Observe::default(), &mut ws).ok()?;
            times_of(&p, &ws, 0, 0).first().copied()
        },
        FD_STEP,
    )
    .unwrap();
    compare(&[r.gradient[0][0]], &[-dt0 / 0.5], 1.0).unwrap();
}

#[test]
fn silent_label_remedy_is_finite_and_its_gradient_step_raises_the_label_maximum() {
    let (mut net, input) = silent_label_net();
    let loss = Loss::FirstSpikeSilentRemedy {
        label: 1,
        tau0: 0.5,
        tau1: 6.4,
        alpha: 3e-3,
        kappa: 20.0,
    };
    let r = net.loss_and_gradient(&input, &loss).unwrap();
    assert!(r.loss.is_finite());
    assert!(
        r.gradient[0][1] < 0.0,
        "raising the label's weight lowers the loss"
    );
    let max_of_label = |net: &FeedForwardNet| {
        let mut ws = NetworkWorkspace::new();
        let obs = Observe {
            probes: &[],
            silent_output_maxima: true,
            first_spike_output: false,
        };
        net.forward(&input, obs, &mut ws).unwrap();
        peak_of(net, &ws, 0, 1).value
    };
    let before = max_of_label(&net);
    // A small descent step on the label's weight (0.01 in the direction of -gradient).
    net.layers[0].weights[1] -= 0.01 * r.gradient[0][1].signum();
    assert!(max_of_label(&net) > before);
    // When every output fires, the remedy is the plain loss.
    net.layers[0].weights[1] = 9.5;
    let plain = Loss::FirstSpike {
        label: 1,
        tau0: 0.5,
        tau1: 6.4,
        alpha: 3e-3,
    };
    let (a, b) = (
        net.loss_and_gradient(&input, &loss).unwrap(),
        net.loss_and_gradient(&input, &plain).unwrap(),
    );
    assert!(a.loss.is_finite());
    assert_eq!((a.loss, &a.gradient), (b.loss, &b.gradient));
}
