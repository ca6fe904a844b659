//! Layered networks are the engine's special case: a `FeedForwardNet` converted with
//! `Network::from_feed_forward` (a readout layer as a readout population) must give the layered
//! path's spikes, readout maxima and gradients. Guards
//! against the two EventProp implementations drifting apart (event order across layers, the
//! jump numerator collected from the layer above, eq. 2 and eq. 56 on dense projections, the
//! mapping of dense projections to row-major layer weights).
//!
//! Oracle: the layered path (`FeedForwardNet::forward` / `backward`, itself checked against
//! central differences, the generic adjoint and a 40-digit re-implementation). Spike times to
//! 1e-12 ms, gradients to 1e-9 relative (entries below 1e-3 of the largest judged on that
//! scale); cases with a spike closer than `VDOT_MARGIN` to tangency are discarded.

mod support;

use lif_network::engine::{Network, NetworkCotangents, NetworkWorkspace};
use lif_network::eventprop::{Cotangents, Observe, Workspace};
use lif_network::{LayerKind, LifParams};
use proptest::prelude::*;
use support::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, max_global_rejects: 4096, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_the_layered_path_on_feed_forward_networks(seed in any::<u64>(), n_layers in 1usize..=3) {
        let (ff, input, _) = ff_case(seed, n_layers, LayerKind::Spiking, LifParams::default());
        let net = Network::from_feed_forward(&ff).unwrap();
        let mut ws = Workspace::new();
        ff.forward(&input, Observe::default(), &mut ws).unwrap();
        prop_assume!(ws.min_abs_vdot() >= VDOT_MARGIN);
        prop_assume!(ws.spike_count() >= 1);
        let mut nws = NetworkWorkspace::new();
        net.forward(&input, &[], &mut nws).unwrap();
        let offsets = net.neuron_offsets();
        // Loss: Σ coef(layer, neuron, ordinal) · t over all spikes.
        let mut cot = Cotangents::zeros_for(&ws);
        let mut engine_cot = Vec::new();
        let mut count = vec![0usize; offsets[n_layers]];
        let mut dt = 0.0f64;
        for s in nws.spikes() {
            let g = s.neuron as usize;
            let (l, j) = net.locate(g).unwrap();
            let r = count[g];
            count[g] += 1;
            let layered = ws.spikes_of(l, j);
            prop_assert!(r < layered.len(), "engine has an extra spike of layer {l} neuron {j}");
            dt = dt.max((layered[r].time - s.time).abs());
            engine_cot.push(coef(l, j, r));
            let idx = ws.first_spike_index(l, j).unwrap() + r;
            cot.spike_times[l][idx] = coef(l, j, r);
        }
        prop_assert_eq!(nws.spikes().len(), ws.spike_count());
        prop_assert!(dt <= 1e-12, "spike times differ by {dt:e}");
        let mut g_ff = ff.zero_gradient();
        ff.backward(&mut ws, &cot, &mut g_ff).unwrap();
        let mut g = net.zero_gradient();
        let mut c = NetworkCotangents::zeros_for(&nws);
        c.spike_times = engine_cot;
        net.backward(&mut nws, &c, &mut g).unwrap();
        for (l, layer) in ff.layers.iter().enumerate() {
            let scale = g_ff[l].iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-300);
            for pre in 0..layer.n_in {
                for post in 0..layer.n_out {
                    let a = g[l][pre * layer.n_out + post];
                    let b = g_ff[l][post * layer.n_in + pre];
                    prop_assert!((a - b).abs() <= 1e-9 * b.abs().max(1e-3 * scale),
                        "layer {l} w[{post}][{pre}]: engine {a:e} vs layered {b:e}");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, max_global_rejects: 4096, ..ProptestConfig::default() })]

    /// A readout output layer becomes a readout population: the same maxima (value, time) and the
    /// same gradient of a loss on the maxima and on the hidden spike times, including maxima at
    /// the arrival of a hidden spike (kinks that move with it).
    #[test]
    fn engine_readout_maxima_and_gradients_match_the_layered_path(seed in any::<u64>(), n_layers in 1usize..=3) {
        let (ff, input, _) = ff_case(seed, n_layers, LayerKind::Readout, LifParams::default());
        let net = Network::from_feed_forward(&ff).unwrap();
        let mut ws = Workspace::new();
        ff.forward(&input, Observe::default(), &mut ws).unwrap();
        prop_assume!(ws.min_abs_vdot() >= VDOT_MARGIN);
        let mut nws = NetworkWorkspace::new();
        net.forward(&input, &[], &mut nws).unwrap();
        let out = n_layers - 1;
        let offsets = net.neuron_offsets();
        let mut cot = Cotangents::zeros_for(&ws);
        let mut ncot = NetworkCotangents::zeros_for(&nws);
        for (j, m) in ws.maxima(out).iter().enumerate() {
            let p = nws.peaks()[offsets[out] + j];
            prop_assert!((m.value - p.value).abs() <= 1e-12 * m.value.abs().max(1.0),
                "max of output {j}: layered {} engine {}", m.value, p.value);
            prop_assert!((m.time - p.time).abs() <= 1e-9, "time of max {j}: {} vs {}", m.time, p.time);
            cot.max_voltage[out][j] = coef(out, j, 0);
            ncot.peaks[offsets[out] + j] = coef(out, j, 0);
        }
        // Hidden spike times too, so that both kinds of cotangent meet in one backward pass.
        let mut count = vec![0usize; offsets[n_layers]];
        for (k, s) in nws.spikes().iter().enumerate() {
            let g = s.neuron as usize;
            let (l, j) = net.locate(g).unwrap();
            let r = count[g];
            count[g] += 1;
            ncot.spike_times[k] = 0.1 * coef(l, j, r);
            cot.spike_times[l][ws.first_spike_index(l, j).unwrap() + r] = 0.1 * coef(l, j, r);
        }
        prop_assert_eq!(nws.spikes().len(), ws.spike_count());
        let mut g_ff = ff.zero_gradient();
        ff.backward(&mut ws, &cot, &mut g_ff).unwrap();
        let mut g = net.zero_gradient();
        net.backward(&mut nws, &ncot, &mut g).unwrap();
        for (l, layer) in ff.layers.iter().enumerate() {
            let scale = g_ff[l].iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-300);
            for pre in 0..layer.n_in {
                for post in 0..layer.n_out {
                    let a = g[l][pre * layer.n_out + post];
                    let b = g_ff[l][post * layer.n_in + pre];
                    prop_assert!((a - b).abs() <= 1e-9 * b.abs().max(1e-3 * scale),
                        "layer {l} w[{post}][{pre}]: engine {a:e} vs layered {b:e}");
                }
            }
        }
    }
}

/// A long simulation (`t_end / τs = 800`, so the engine moves its exponent epoch twice, forward
/// and backward) must still match the layered path, which has no epoch: guards the rescaling of
/// every neuron's exponentials when the epoch moves.
#[test]
fn long_simulations_move_the_epoch_without_changing_spikes_or_gradients() {
    let params = LifParams::default(); // τs = 5 ms
    let t_end = 4000.0;
    let mut ff = lif_network::FeedForwardNet::new(
        3,
        &[(4, LayerKind::Spiking), (2, LayerKind::Spiking)],
        params,
        t_end,
    )
    .unwrap();
    let mut r = rng(11);
    use rand::Rng;
    ff.layers[0]
        .weights
        .iter_mut()
        .for_each(|w| *w = r.gen_range(1.0..4.0));
    ff.layers[1]
        .weights
        .iter_mut()
        .for_each(|w| *w = r.gen_range(1.0..5.0));
    let input: Vec<lif_network::InputSpike> = (0..400)
        .map(|k| lif_network::InputSpike {
            time: k as f64 * 9.7 + r.gen_range(0.0..5.0),
            source: r.gen_range(0..3),
        })
        .collect();
    let net = Network::from_feed_forward(&ff).unwrap();
    let mut ws = Workspace::new();
    ff.forward(&input, Observe::default(), &mut ws).unwrap();
    let mut nws = NetworkWorkspace::new();
    net.forward(&input, &[], &mut nws).unwrap();
    assert_eq!(nws.spikes().len(), ws.spike_count());
    let late = nws.spikes().iter().filter(|s| s.time > 3000.0).count();
    assert!(
        late > 10,
        "spikes must continue past the epoch moves ({late})"
    );
    let mut cot = Cotangents::zeros_for(&ws);
    let mut ncot = NetworkCotangents::zeros_for(&nws);
    let mut count = [0usize; 6];
    for (k, s) in nws.spikes().iter().enumerate() {
        let (l, j) = net.locate(s.neuron as usize).unwrap();
        let g = s.neuron as usize;
        let idx = ws.first_spike_index(l, j).unwrap() + count[g];
        count[g] += 1;
        assert!(
            (ws.spikes(l)[idx].time - s.time).abs() <= 1e-9,
            "{} vs {}",
            ws.spikes(l)[idx].time,
            s.time
        );
        if l == 1 {
            cot.spike_times[1][idx] = 1.0;
            ncot.spike_times[k] = 1.0;
        }
    }
    let mut g_ff = ff.zero_gradient();
    ff.backward(&mut ws, &cot, &mut g_ff).unwrap();
    let mut g = net.zero_gradient();
    net.backward(&mut nws, &ncot, &mut g).unwrap();
    for (l, layer) in ff.layers.iter().enumerate() {
        let scale = g_ff[l].iter().fold(0.0f64, |m, x| m.max(x.abs()));
        for pre in 0..layer.n_in {
            for post in 0..layer.n_out {
                let (a, b) = (
                    g[l][pre * layer.n_out + post],
                    g_ff[l][post * layer.n_in + pre],
                );
                assert!((a - b).abs() <= 1e-8 * scale, "layer {l}: {a} vs {b}");
            }
        }
    }
}
