//! The generic-path LIF model itself. Guards against: sparse `flow_vjp` / `flow_sensitivity`
//! overrides that disagree with the model's own flow (checked against dual numbers, and every
//! partial against central differences, by the test kit); a flow, threshold or reset that is not
//! Table 1's (checked against the closed form of `docs/maths.md` §"Between events: the closed form" for one
//! neuron); a
//! layered network converted with synapses outside its blocks or in the wrong parameter order;
//! a recurrent one with a self-connection; and input that is not rejected with a typed error.

use crate::generic_common;
use generic_common::*;
use hybrid_core::{simulate, HybridSystem};
use hybrid_testkit::{check_derivatives, Point};
use lif_network::generic::{
    layer_gradient, layer_offsets, recurrent_gradient, LifNetwork, Presynaptic,
};
use lif_network::{FeedForwardNet, InputSpike, LayerKind, LifError, LifParams};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// `check_derivatives` compares `f_x, f_p, g_*, h_*, ∂x0/∂p` with central differences and the
    /// overridden `flow_sensitivity` / `flow_vjp` with the dual-number defaults (to 1e-12).
    #[test]
    fn sparse_flow_products_and_all_partials_pass_the_test_kit(seed in any::<u64>(), recurrent in any::<bool>()) {
        let (model, p) = if recurrent {
            let (net, input) = random_recurrent(seed);
            LifNetwork::from_recurrent(&net, &input).unwrap()
        } else {
            let (net, input) = random_feed_forward(seed, seed.is_multiple_of(3));
            LifNetwork::from_feed_forward(&net, &input).unwrap()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed.rotate_left(17));
        let x: Vec<f64> = (0..model.dims().states).map(|_| rng.gen_range(-2.0..2.0)).collect();
        let point = Point { t: rng.gen_range(0.0..30.0), x, q: 0 };
        let report = check_derivatives(&model, &p, &point);
        prop_assert!(report.is_ok(), "{report:?}");
    }
}

/// Table 1 for one neuron from rest with one input spike of weight `w` at `t_in` (`docs/maths.md` §"Between events: the closed form"):
/// `I = w e^{-s/τs}`, `V = w τs/(τs - τm) (e^{-s/τs} - e^{-s/τm})`, `s = t - t_in`; after a spike
/// at `t_s` the same with `V(t_s) = 0` and `I(t_s)` carried on.
fn single_neuron_voltage(p: &LifParams, i0: f64, s: f64) -> f64 {
    let (tm, ts) = (p.tau_mem, p.tau_syn);
    i0 * ts / (ts - tm) * ((-s / ts).exp() - (-s / tm).exp())
}

#[test]
fn one_neuron_follows_the_closed_form_through_its_spike_and_reset() {
    let params = LifParams::default();
    let (w, t_in, t_end) = (8.0, 2.0, 40.0);
    let input = [InputSpike {
        time: t_in,
        source: 0,
    }];
    let model = LifNetwork::new(params, vec![true], 1, &input, |_, _| true).unwrap();
    let sol = simulate(&model, &[w], 0.0, t_end, &tight()).unwrap();
    // Spike time: bisection on the closed form (first crossing of ϑ; V rises until its maximum).
    let v = |s: f64| single_neuron_voltage(&params, w, s);
    let (mut lo, mut hi) = (0.0, 9.0);
    assert!(
        v(hi) > params.threshold,
        "the input must make the neuron fire"
    );
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if v(mid) < params.threshold {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let t_spike = t_in + 0.5 * (lo + hi);
    let spikes: Vec<f64> = sol
        .events
        .iter()
        .filter(|e| e.guard() == Some(0))
        .map(|e| e.t)
        .collect();
    assert_eq!(spikes.len(), 1, "{spikes:?}");
    assert!(
        (spikes[0] - t_spike).abs() < 1e-11,
        "{} vs {t_spike}",
        spikes[0]
    );
    let i_spike = w * (-(t_spike - t_in) / params.tau_syn).exp();
    let mut x = [0.0; 2];
    for k in 0..=400 {
        let t = t_end * k as f64 / 400.0;
        let want_v = if t < t_in {
            0.0
        } else if t < t_spike {
            v(t - t_in)
        } else {
            single_neuron_voltage(&params, i_spike, t - t_spike)
        };
        let want_i = if t < t_in {
            0.0
        } else {
            w * (-(t - t_in) / params.tau_syn).exp()
        };
        sol.trajectory.eval(t, &mut x);
        assert!(
            (x[0] - want_v).abs() < 1e-10,
            "V({t}) = {} vs {want_v}",
            x[0]
        );
        assert!(
            (x[1] - want_i).abs() < 1e-10,
            "I({t}) = {} vs {want_i}",
            x[1]
        );
    }
}

#[test]
fn layered_network_has_block_synapses_in_the_order_of_its_weights() {
    let mut net = FeedForwardNet::new(
        3,
        &[
            (2, LayerKind::Spiking),
            (3, LayerKind::Spiking),
            (2, LayerKind::Readout),
        ],
        LifParams::default(),
        10.0,
    )
    .unwrap();
    for (l, layer) in net.layers.iter_mut().enumerate() {
        for (k, w) in layer.weights.iter_mut().enumerate() {
            *w = 100.0 * l as f64 + k as f64;
        }
    }
    let (model, p) = LifNetwork::from_feed_forward(&net, &[]).unwrap();
    let off = layer_offsets(&net);
    assert_eq!(off, vec![0, 2, 5, 7]);
    assert_eq!(
        p,
        net.layers
            .iter()
            .flat_map(|l| (0..l.n_out)
                .flat_map(move |post| (0..l.n_in).map(move |pre| l.weights[pre * l.n_out + post])))
            .collect::<Vec<_>>()
    );
    assert_eq!(model.synapses().len(), 3 * 2 + 2 * 3 + 3 * 2);
    // Parameter j is weight `[pre * n_out + post]` of its layer (post-major order of the
    // parameters), between the right neurons.
    let mut j = 0;
    for (l, layer) in net.layers.iter().enumerate() {
        for post in 0..layer.n_out {
            for pre in 0..layer.n_in {
                let syn = model.synapses()[j];
                let source = if l == 0 {
                    Presynaptic::Input(pre)
                } else {
                    Presynaptic::Neuron(off[l - 1] + pre)
                };
                assert_eq!(
                    (syn.source, syn.target),
                    (source, off[l] + post),
                    "parameter {j}"
                );
                assert_eq!(p[j], layer.weights[pre * layer.n_out + post]);
                j += 1;
            }
        }
    }
    assert_eq!(
        layer_gradient(&net, &p).unwrap(),
        net.layers
            .iter()
            .map(|l| l.weights.clone())
            .collect::<Vec<_>>()
    );
    assert!((0..7).all(|n| model.is_spiking(n) == Ok(n < 5)));
    // A spike of neuron 3 (layer 1, neuron 1) resets it and kicks only layer 2's currents.
    let x: Vec<f64> = (0..14).map(|k| k as f64).collect();
    let mut xp = vec![0.0; 14];
    model.jump(0, 3, 0.0, &x, &p, &mut xp);
    let mut want = x.clone();
    want[3] = 0.0;
    want[7 + 5] += net.layers[2].weights[2]; // pre 1 -> post 0: [1 * n_out + 0]
    want[7 + 6] += net.layers[2].weights[2 + 1];
    assert_eq!(xp, want);
}

#[test]
fn recurrent_network_excludes_self_connections_and_maps_gradients_back() {
    let (net, input) = random_recurrent(3);
    let (model, p) = LifNetwork::from_recurrent(&net, &input).unwrap();
    let n = net.n;
    assert_eq!(p.len(), n * net.n_inputs + n * (n - 1));
    assert!(model
        .synapses()
        .iter()
        .all(|s| s.source != Presynaptic::Neuron(s.target)));
    // The parameter vector read back in the recurrent layout is the network's own weights.
    let back = recurrent_gradient(&net, &p).unwrap();
    assert_eq!(back.weights, net.weights);
    assert_eq!(back.input_weights, net.input_weights);
    assert!(matches!(
        recurrent_gradient(&net, &p[1..]),
        Err(LifError::WrongLength { .. })
    ));
}

#[test]
fn bad_networks_and_inputs_are_rejected_with_typed_errors() {
    let p = LifParams::default();
    let ok = [InputSpike {
        time: 1.0,
        source: 0,
    }];
    assert_eq!(
        LifNetwork::new(p, vec![], 1, &ok, |_, _| true),
        Err(LifError::EmptyLayer { layer: 1 })
    );
    let late = [InputSpike {
        time: f64::NAN,
        source: 0,
    }];
    assert!(matches!(
        LifNetwork::new(p, vec![true], 1, &late, |_, _| true),
        Err(LifError::InvalidInputTime { index: 0, .. })
    ));
    let wrong = [
        ok[0],
        InputSpike {
            time: 2.0,
            source: 3,
        },
    ];
    assert!(matches!(
        LifNetwork::new(p, vec![true], 2, &wrong, |_, _| true),
        Err(LifError::InputSourceOutOfRange {
            index: 1,
            source_index: 3,
            n_inputs: 2
        })
    ));
    let bad = LifParams { tau_syn: -1.0, ..p };
    assert!(matches!(
        LifNetwork::new(bad, vec![true], 1, &ok, |_, _| true),
        Err(LifError::InvalidParameter {
            name: "tau_syn",
            ..
        })
    ));
    // A non-finite weight is the framework's typed error, not a NaN trajectory.
    let model = LifNetwork::new(p, vec![true], 1, &ok, |_, _| true).unwrap();
    assert!(matches!(
        simulate(&model, &[f64::INFINITY], 0.0, 5.0, &tight()),
        Err(hybrid_core::Error::NonFinite { .. })
    ));
}
