//! Layered networks are the engine's special case: a `FeedForwardNet` of spiking layers converted
//! with `Network::from_feed_forward` must give the layered path's spikes and gradients. Guards
//! against the two EventProp implementations drifting apart (event order across layers, the
//! jump numerator collected from the layer above, eq. 2 and eq. 56 on dense projections, the
//! mapping of dense projections to row-major layer weights).
//!
//! Oracle: the layered path (`FeedForwardNet::forward` / `backward`, itself checked against
//! central differences, the generic adjoint and a 40-digit re-implementation). Spike times to
//! 1e-12 ms, gradients to 1e-9 relative (entries below 1e-3 of the largest judged on that
//! scale); cases with a spike closer than `VDOT_MARGIN` to tangency are discarded.

mod support;

use lif_network::engine::{Network, NetworkWorkspace};
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
        net.backward(&mut nws, &engine_cot, &[], &mut g).unwrap();
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

#[test]
fn readout_layers_are_not_engine_populations() {
    let ff = lif_network::FeedForwardNet::new(
        2,
        &[(3, LayerKind::Spiking), (2, LayerKind::Readout)],
        LifParams::default(),
        20.0,
    )
    .unwrap();
    assert!(matches!(
        Network::from_feed_forward(&ff),
        Err(lif_network::LifError::InvalidProjection { projection: 1, .. })
    ));
}
