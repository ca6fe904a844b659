//! Layered networks run on the engine through a dense view of their pre-major weights; the same
//! network converted to a sparse `Network` (`Network::from_feed_forward`, fan-out lists, a copy
//! of the weights in pre-major order) runs through the sparse path. Both are feed-forward, so
//! both run population by population (sweeps); the event-driven queue on the same network is
//! the second oracle. Guards against the dense
//! view's index arithmetic (synapse `pre · n_out + post`, row slices, gradient layout) and
//! against the epoch of the shared exponentials being moved wrongly in long simulations.
//!
//! Oracles: the sparse path on the same network (spikes, maxima and gradients must agree bit for
//! bit: both add the same numbers in the same order), and time-translation invariance (a sample
//! shifted by 1000 ms, so that the epoch moves at other points of it, has the same spikes shifted
//! and the same gradient, to rounding).

use crate::support;

use lif_network::engine::{Network, NetworkCotangents, NetworkWorkspace};
use lif_network::eventprop::{InputSpike, Loss, Observe};
use lif_network::{FeedForwardNet, LayerKind, LifParams};
use proptest::prelude::*;
use support::*;

/// Runs `ff` through its dense view and as a sparse `Network` with the same cotangents
/// (`coef` per spike, per readout peak) and checks everything agrees bit for bit.
fn dense_equals_sparse(ff: &FeedForwardNet, input: &[InputSpike]) -> Result<(), TestCaseError> {
    let net = Network::from_feed_forward(ff).unwrap();
    let mut ws = NetworkWorkspace::new();
    ff.forward(input, Observe::default(), &mut ws).unwrap();
    let mut nws = NetworkWorkspace::new();
    net.forward(input, &[], &mut nws).unwrap();
    prop_assert_eq!(ws.spikes(), nws.spikes());
    prop_assert_eq!(ws.peaks(), nws.peaks());
    prop_assert_eq!(ws.synaptic_events(), nws.synaptic_events());
    let mut cot = NetworkCotangents::zeros_for(&ws);
    for (k, c) in cot.spike_times.iter_mut().enumerate() {
        *c = coef(0, k, 1);
    }
    for (j, c) in cot.peaks.iter_mut().enumerate() {
        *c = coef(1, j, 2);
    }
    let mut g_dense = ff.zero_gradient();
    ff.backward(&mut ws, &cot, &mut g_dense).unwrap();
    let mut g_sparse = net.zero_gradient();
    net.backward(&mut nws, &cot, &mut g_sparse).unwrap();
    for (l, layer) in ff.layers.iter().enumerate() {
        for pre in 0..layer.n_in {
            for post in 0..layer.n_out {
                let s = net.projections[l].synapse(pre, post);
                let a = g_sparse[l][s.expect("every pair is a synapse")];
                let b = g_dense[l][pre * layer.n_out + post];
                prop_assert!(
                    a.to_bits() == b.to_bits(),
                    "layer {l} w[{post}][{pre}]: sparse {a:e} vs dense {b:e}"
                );
            }
        }
    }
    Ok(())
}

/// Runs `ff` population by population (sweeps) and through the event-driven queue
/// (`allow_sweeps = false`) with the same cotangents and checks they agree to rounding: the same
/// neurons fire in the same order, spike times and maxima within 1e-9 (ms), gradients within
/// 1e-8 of the largest entry. Cases with a spike at `|V̇⁻| < 1e-6` (ill-conditioned spike times)
/// are skipped.
fn sweeps_equal_queue(ff: &FeedForwardNet, input: &[InputSpike]) -> Result<(), TestCaseError> {
    let run = |allow: bool| {
        let mut ws = NetworkWorkspace::new();
        ws.allow_sweeps = allow;
        ff.forward(input, Observe::default(), &mut ws).unwrap();
        let mut cot = NetworkCotangents::zeros_for(&ws);
        for (k, c) in cot.spike_times.iter_mut().enumerate() {
            *c = coef(0, k, 1);
        }
        for (j, c) in cot.peaks.iter_mut().enumerate() {
            *c = coef(1, j, 2);
        }
        let mut g = ff.zero_gradient();
        ff.backward(&mut ws, &cot, &mut g).unwrap();
        (ws, g)
    };
    let (a, ga) = run(true);
    let (b, gb) = run(false);
    prop_assume!(a.min_abs_vdot() > 1e-6 && b.min_abs_vdot() > 1e-6);
    prop_assert_eq!(a.spikes().len(), b.spikes().len());
    for (x, y) in a.spikes().iter().zip(b.spikes()) {
        prop_assert_eq!(x.neuron, y.neuron);
        prop_assert!((x.time - y.time).abs() <= 1e-9, "{} vs {}", x.time, y.time);
    }
    for (x, y) in a.peaks().iter().zip(b.peaks()) {
        prop_assert_eq!(x.cause, y.cause);
        if x.value.is_finite() {
            prop_assert!((x.value - y.value).abs() <= 1e-9, "{x:?} vs {y:?}");
        }
    }
    for (l, (ga, gb)) in ga.iter().zip(&gb).enumerate() {
        let scale = ga.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        for (x, y) in ga.iter().zip(gb) {
            prop_assert!((x - y).abs() <= 1e-8 * scale, "layer {l}: {x} vs {y}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn sweeps_and_the_event_queue_agree_to_rounding(
        seed in any::<u64>(), n_layers in 1usize..=3, readout in any::<bool>(),
    ) {
        let kind = if readout { LayerKind::Readout } else { LayerKind::Spiking };
        let (ff, input, _) = ff_case(seed, n_layers, kind, LifParams::default());
        sweeps_equal_queue(&ff, &input)?;
    }

    /// Input spikes on a 2.5 ms grid from 0 on (as pixel latencies of an image share their
    /// times): the sweeps skip the slots of length zero between simultaneous inputs; the queue
    /// handles every input on its own. Oracles: the queue, and central differences of a
    /// classification loss.
    #[test]
    fn sweeps_agree_with_the_queue_and_finite_differences_when_inputs_share_times(
        seed in any::<u64>(), n_layers in 1usize..=3, readout in any::<bool>(),
    ) {
        let kind = if readout { LayerKind::Readout } else { LayerKind::Spiking };
        let (ff, mut input, _) = ff_case(seed, n_layers, kind, LifParams::default());
        for s in &mut input {
            s.time = (s.time / 2.5).floor() * 2.5;
        }
        input.sort_by(|a, b| a.time.total_cmp(&b.time));
        let shared = input.windows(2).filter(|w| w[0].time == w[1].time).count();
        prop_assume!(shared > 0);
        sweeps_equal_queue(&ff, &input)?;
        let n_out = ff.layers.last().map_or(1, |l| l.n_out);
        let loss = if readout {
            Loss::MaxVoltage { label: seed as usize % n_out }
        } else {
            Loss::FirstSpike { label: seed as usize % n_out, tau0: 0.5, tau1: 6.4, alpha: 0.003 }
        };
        check_ff_loss(&ff, &input, &loss)?;
    }

    #[test]
    fn dense_view_of_a_layered_network_equals_its_sparse_network_bit_for_bit(
        seed in any::<u64>(), n_layers in 1usize..=3, readout in any::<bool>(),
    ) {
        let kind = if readout { LayerKind::Readout } else { LayerKind::Spiking };
        let (ff, input, _) = ff_case(seed, n_layers, kind, LifParams::default());
        dense_equals_sparse(&ff, &input)?;
    }
}

/// A long simulation (`t_end / τs = 800`: in the event-driven queue the epoch of the shared
/// exponentials moves, forward and backward) and the same sample 1000 ms later in a longer window
/// (the epoch moves at other points of the sample): the same spikes, shifted, and the same
/// gradient of `Σ` output spike times; by sweeps and by the queue.
#[test]
fn long_simulations_move_the_epoch_without_changing_spikes_or_gradients() {
    for allow_sweeps in [true, false] {
        long_simulation_shifted(allow_sweeps);
    }
}

fn long_simulation_shifted(allow_sweeps: bool) {
    let t_end = 4000.0;
    let shift = 1000.0;
    let mut r = rng(11);
    use rand::Rng;
    let w0: Vec<f64> = (0..12).map(|_| r.gen_range(1.0..4.0)).collect();
    let w1: Vec<f64> = (0..8).map(|_| r.gen_range(1.0..5.0)).collect();
    let input: Vec<InputSpike> = (0..400)
        .map(|k| InputSpike {
            time: k as f64 * 9.7 + r.gen_range(0.0..5.0),
            source: r.gen_range(0..3),
        })
        .collect();
    let run = |t_end: f64, offset: f64| {
        let layers = [(4, LayerKind::Spiking), (2, LayerKind::Spiking)];
        let mut ff = FeedForwardNet::new(3, &layers, LifParams::default(), t_end).unwrap();
        ff.layers[0].weights.clone_from(&w0);
        ff.layers[1].weights.clone_from(&w1);
        let shifted: Vec<InputSpike> = input
            .iter()
            .map(|s| InputSpike {
                time: s.time + offset,
                source: s.source,
            })
            .collect();
        let mut ws = NetworkWorkspace::new();
        ws.allow_sweeps = allow_sweeps;
        ff.forward(&shifted, Observe::default(), &mut ws).unwrap();
        let mut cot = NetworkCotangents::zeros_for(&ws);
        for (c, s) in cot.spike_times.iter_mut().zip(ws.spikes()) {
            *c = if s.neuron >= 4 { 1.0 } else { 0.0 };
        }
        let mut g = ff.zero_gradient();
        ff.backward(&mut ws, &cot, &mut g).unwrap();
        (ws.spikes().to_vec(), g)
    };
    let (a, ga) = run(t_end, 0.0);
    let (b, gb) = run(t_end + shift, shift);
    assert_eq!(a.len(), b.len());
    let late = a.iter().filter(|s| s.time > 3000.0).count();
    assert!(
        late > 10,
        "spikes must continue past the epoch moves ({late})"
    );
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.neuron, y.neuron);
        assert!(
            (x.time + shift - y.time).abs() <= 1e-9,
            "{} vs {}",
            x.time + shift,
            y.time
        );
    }
    for (l, (ga, gb)) in ga.iter().zip(&gb).enumerate() {
        let scale = ga.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        for (x, y) in ga.iter().zip(gb) {
            assert!((x - y).abs() <= 1e-8 * scale, "layer {l}: {x} vs {y}");
        }
    }
}
