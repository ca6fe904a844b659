//! The event-driven engine (`lif_network::engine`) on random recurrent networks with SPARSE
//! projections (input and recurrent connectivity drawn per pair) and, in half of the cases, an
//! absolute refractory period. Guards against: a target missed or hit twice by a spike's
//! fan-out lists, a lazily advanced neuron carried over the wrong interval, a stale or missing
//! entry in the queue of next crossings (a spike missed or misplaced), the refractory clamp or its
//! adjoint (the release term that replaces `λ_V⁺ I/τm` at the spike, `λ_V = 0` while clamped)
//! wrong, and gradients mapped to the wrong synapse.
//!
//! Three independent routes must agree: the engine (closed form, EventProp), the generic
//! `HybridSystem` model with the same synapses (numerical integration with located events, its
//! refractory period as a mode with a clock guard, and hybrid-core's adjoint), and five-point
//! central differences of the engine's forward pass. Spike times to 1e-10 ms, loss to 1e-10,
//! gradients engine vs generic adjoint to 1e-9 and vs central differences to 1e-6 (relative,
//! entries below 1e-3 of the largest judged on that scale). Cases near critical points (as in
//! `eventprop_vs_generic.rs`: `|V̇⁻| ≥ 5e-3 ϑ/ms`, no spike or release within 0.01 ms of another
//! event or 0.05 ms of `t_end`, membrane maxima 1e-3 ϑ below threshold, probes 0.05 ms clear of
//! spikes and releases) are discarded with `prop_assume`.

use crate::generic_common;
use generic_common::*;
use hybrid_core::{adjoint_gradient, simulate, EventRecord, HybridSystem};
use hybrid_testkit::{check_derivatives, Point};
use lif_network::engine::{
    Network, NetworkCotangents, NetworkWorkspace, NeuronProbe, Population, Projection, Source,
};
use lif_network::generic::{spike_counts, LifNetwork, SpikeVoltageLoss};
use lif_network::InputSpike;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const METHODS_TOL: f64 = 1e-9;
const FD_TOL: f64 = 1e-6;
const SPIKE_TIME_TOL: f64 = 1e-10;
const FD_STEP: f64 = 1e-5;
const FLOOR: f64 = 1e-3;

/// A population of 2-7 neurons, each input-neuron and neuron-neuron pair connected with
/// probability `density`, and a refractory period of 0.5-4 ms if `refractory`.
fn random_sparse(seed: u64, refractory: bool) -> (Network, Vec<InputSpike>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let params = random_params(&mut rng);
    let n = rng.gen_range(2..=7);
    let n_inputs = rng.gen_range(1..=3);
    let t_end = rng.gen_range(20.0..40.0);
    let density = rng.gen_range(0.3..0.8);
    let mut pop = Population::new("sparse", n, params);
    if refractory {
        pop = pop.with_refractory(rng.gen_range(0.5..4.0));
    }
    let scale = params.threshold / params.tau_syn.min(params.tau_mem) * 20.0;
    let mut input_syn = Vec::new();
    for pre in 0..n_inputs {
        for post in 0..n {
            if rng.gen_bool(density) {
                input_syn.push((pre as u32, post as u32, scale * rng.gen_range(-0.1..1.2)));
            }
        }
    }
    let mut rec_syn = Vec::new();
    for pre in 0..n {
        for post in (0..n).filter(|&post| post != pre) {
            if rng.gen_bool(density) {
                let w = scale * rng.gen_range(-0.4..0.4) / (n as f64).sqrt();
                rec_syn.push((pre as u32, post as u32, w));
            }
        }
    }
    let mut net = Network::new(n_inputs, vec![pop], t_end);
    net.projections
        .push(Projection::sparse(Source::Input, 0, n_inputs, &input_syn));
    net.projections
        .push(Projection::sparse(Source::Population(0), 0, n, &rec_syn));
    let count = rng.gen_range(6..=24);
    let input = random_input(&mut rng, n_inputs, count, 0.8 * t_end);
    (net, input)
}

fn margins_ok(m: &Margins, thr: f64) -> bool {
    m.min_abs_gdot >= 5e-3 * thr
        && m.end_gap >= 0.05
        && m.near_miss >= 1e-3 * thr
        && m.event_gap >= 0.01
}

/// No spike or release within 0.05 ms of a probe time (kinks of the probed voltage).
fn probe_clear(events: &[EventRecord], time: f64) -> bool {
    events
        .iter()
        .filter(|e| e.guard().is_some())
        .all(|e| (e.t - time).abs() >= 0.05)
}

fn flat_weights(net: &Network) -> Vec<f64> {
    net.projections
        .iter()
        .flat_map(|p| p.weights.iter().copied())
        .collect()
}

fn set_flat_weights(net: &mut Network, flat: &[f64]) {
    let mut rest = flat;
    for p in &mut net.projections {
        let (head, tail) = rest.split_at(p.weights.len());
        p.weights.copy_from_slice(head);
        rest = tail;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, max_global_rejects: 4096, ..ProptestConfig::default() })]

    #[test]
    fn engine_generic_adjoint_and_central_differences_agree_on_sparse_recurrent_networks(
        seed in any::<u64>(), refractory in any::<bool>(),
    ) {
        let (net, input) = random_sparse(seed, refractory);
        let (model, p, map) = LifNetwork::from_network(&net, &input).expect("convert");
        let sol = simulate(&model, &p, 0.0, net.t_end, &tight());
        prop_assume!(sol.is_ok());
        let sol = sol.unwrap();
        let thr = net.populations[0].params.threshold;
        prop_assume!(margins_ok(&margins(&model, &sol, net.t_end), thr));
        let n = net.n_neurons();
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xfeed);
        // Loss: weighted spike times of every neuron, plus two voltage probes.
        let spike_coef = |k: usize| 0.3 + 0.4 * k as f64 * if k.is_multiple_of(2) { 1.0 } else { -1.0 };
        let counts = spike_counts(&sol.events, n);
        let mut loss = SpikeVoltageLoss::new(&model);
        for k in 0..n {
            for occ in 0..counts[k] {
                loss = loss.spike_time(k, occ, spike_coef(k)).unwrap();
            }
        }
        let mut probes = Vec::new();
        for _ in 0..2 {
            let neuron = rng.gen_range(0..n);
            let time = rng.gen_range(0.1..net.t_end);
            let coef = rng.gen_range(-1.0..1.0);
            prop_assume!(probe_clear(&sol.events, time));
            probes.push((NeuronProbe { population: 0, neuron, time }, coef));
            loss = loss.voltage(neuron, time, coef).unwrap();
        }
        let np: Vec<NeuronProbe> = probes.iter().map(|p| p.0).collect();
        let pcot: Vec<f64> = probes.iter().map(|p| p.1).collect();
        let run = |net: &Network, ws: &mut NetworkWorkspace| -> f64 {
            net.forward(&input, &np, ws).expect("engine forward");
            ws.spikes().iter().map(|s| spike_coef(s.neuron as usize) * s.time).sum::<f64>()
                + ws.probe_values().iter().zip(&pcot).map(|(v, c)| c * v).sum::<f64>()
        };
        let mut ws = NetworkWorkspace::new();
        let ep_loss = run(&net, &mut ws);
        // At least two spikes, so that spikes interact (through synapses or refractory periods).
        prop_assume!(ws.spikes().len() >= 2);
        let scot: Vec<f64> = ws.spikes().iter().map(|s| spike_coef(s.neuron as usize)).collect();
        let mut grad = net.zero_gradient();
        let mut cot = NetworkCotangents::zeros_for(&ws);
        cot.spike_times = scot;
        cot.probes = pcot.clone();
        net.backward(&mut ws, &cot, &mut grad).expect("engine backward");

        let gen_spikes: Vec<(f64, usize)> = sol.events.iter()
            .filter_map(|e| e.guard().filter(|&k| k < n).map(|k| (e.t, k))).collect();
        prop_assert_eq!(ws.spikes().len(), gen_spikes.len());
        let mut dt = 0.0f64;
        for (s, (t, k)) in ws.spikes().iter().zip(&gen_spikes) {
            prop_assert_eq!(s.neuron as usize, *k);
            dt = dt.max((s.time - t).abs());
        }
        let adj = adjoint_gradient(&model, &p, 0.0, net.t_end, &loss, &tight()).expect("generic adjoint");
        // The engine's gradient in the generic parameter order.
        let ep: Vec<f64> = map.iter().map(|&(k, s)| grad[k][s]).collect();
        let mut ws2 = NetworkWorkspace::new();
        let w0 = flat_weights(&net);
        let fd_flat = central_differences(&w0, FD_STEP, |w| {
            let mut n2 = net.clone();
            set_flat_weights(&mut n2, w);
            run(&n2, &mut ws2)
        });
        let mut offsets = vec![0];
        for pr in &net.projections {
            offsets.push(offsets.last().unwrap() + pr.weights.len());
        }
        let fd: Vec<f64> = map.iter().map(|&(k, s)| fd_flat[offsets[k] + s]).collect();
        let (ep_adj, ep_fd) = (max_rel_dev(&ep, &adj.gradient, FLOOR), max_rel_dev(&ep, &fd, FLOOR));
        prop_assert!(dt <= SPIKE_TIME_TOL, "spike times differ by {dt:e}");
        prop_assert!((ep_loss - adj.loss).abs() <= 1e-10 * ep_loss.abs().max(1.0),
            "loss {ep_loss} vs {}", adj.loss);
        prop_assert!(ep_adj <= METHODS_TOL, "engine vs generic adjoint {ep_adj:e}\n{ep:?}\n{:?}", adj.gradient);
        prop_assert!(ep_fd <= FD_TOL, "engine vs central differences {ep_fd:e}\n{ep:?}\n{fd:?}");
    }

    /// The refractory generic model's sparse `flow_vjp`, `flow_sensitivity` and `jump_vjp` agree
    /// with the dual-number defaults, and all partials with central differences, in a random mode.
    #[test]
    fn refractory_generic_model_passes_the_test_kit(seed in any::<u64>()) {
        let (net, input) = random_sparse(seed, true);
        let (model, p, _) = LifNetwork::from_network(&net, &input).expect("convert");
        let mut rng = ChaCha8Rng::seed_from_u64(seed.rotate_left(9));
        let x: Vec<f64> = (0..model.dims().states).map(|_| rng.gen_range(-2.0..2.0)).collect();
        let q = rng.gen_range(0..(1usize << model.neurons()));
        let point = Point { t: rng.gen_range(0.0..30.0), x, q };
        let report = check_derivatives(&model, &p, &point);
        prop_assert!(report.is_ok(), "{report:?}");
    }
}

#[test]
fn refractory_neuron_is_clamped_and_released_as_both_paths_say() {
    // One neuron driven hard: without refractoriness it fires again right after each reset;
    // with t_ref = 3 ms consecutive spikes are at least 3 ms apart, on both paths.
    let params = lif_network::LifParams::default();
    let mut net = Network::new(
        1,
        vec![Population::new("one", 1, params).with_refractory(3.0)],
        30.0,
    );
    net.projections
        .push(Projection::dense(Source::Input, 0, 1, 1, &[40.0]));
    let input = [InputSpike {
        time: 1.0,
        source: 0,
    }];
    let mut ws = NetworkWorkspace::new();
    net.forward(&input, &[], &mut ws).unwrap();
    let times: Vec<f64> = ws.spikes().iter().map(|s| s.time).collect();
    assert!(times.len() >= 2, "{times:?}");
    assert!(times.windows(2).all(|w| w[1] - w[0] > 3.0), "{times:?}");
    let (model, p, _) = LifNetwork::from_network(&net, &input).unwrap();
    let sol = simulate(&model, &p, 0.0, net.t_end, &tight()).unwrap();
    let generic: Vec<f64> = sol
        .events
        .iter()
        .filter(|e| e.guard() == Some(0))
        .map(|e| e.t)
        .collect();
    assert_eq!(times.len(), generic.len());
    for (a, b) in times.iter().zip(&generic) {
        assert!((a - b).abs() < 1e-10, "{times:?} vs {generic:?}");
    }
    let mut free = net.clone();
    free.populations[0].refractory = 0.0;
    free.forward(&input, &[], &mut ws).unwrap();
    assert!(ws.spikes().len() > times.len());
}

/// A 4 s simulation of a busy refractory population (`t_end/τs = 800`: the epoch of the shared
/// exponentials moves in the forward and the backward pass, with releases pending across the
/// moves) and the same sample 1000 ms later in a longer window (the epoch moves at other points):
/// the same spikes, shifted, and the same gradient of `Σ` spike times. Guards the rescaling of
/// the per-neuron release terms (the current at a release is rebuilt in the backward pass in
/// units of the epoch's exponential). No recurrent synapses: a recurrent network would amplify
/// the rounding differences of the shifted times (chaos), which is not what is tested here.
#[test]
fn long_refractory_simulations_move_the_epoch_without_changing_spikes_or_gradients() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let n = 12;
    let pop =
        Population::new("refractory", n, lif_network::LifParams::default()).with_refractory(3.0);
    let input_syn: Vec<(u32, u32, f64)> = (0..n as u32)
        .flat_map(|j| {
            [
                (0, j, rng.gen_range(1.5..3.5)),
                (1, j, rng.gen_range(-0.5..2.0)),
            ]
        })
        .collect();
    let input: Vec<InputSpike> = (0..4000)
        .map(|k| InputSpike {
            time: k as f64 * 0.99 + rng.gen_range(0.0..0.5),
            source: rng.gen_range(0..2),
        })
        .collect();
    let run = |t_end: f64, shift: f64| {
        let mut net = Network::new(2, vec![pop.clone()], t_end);
        net.projections
            .push(Projection::sparse(Source::Input, 0, 2, &input_syn));
        let shifted: Vec<InputSpike> = input
            .iter()
            .map(|s| InputSpike {
                time: s.time + shift,
                source: s.source,
            })
            .collect();
        let mut ws = NetworkWorkspace::new();
        net.forward(&shifted, &[], &mut ws).unwrap();
        let mut cot = NetworkCotangents::zeros_for(&ws);
        cot.spike_times.fill(1.0);
        let mut g = net.zero_gradient();
        net.backward(&mut ws, &cot, &mut g).unwrap();
        (ws.spikes().to_vec(), g)
    };
    let shift = 1000.0;
    let (a, ga) = run(4000.0, 0.0);
    let (b, gb) = run(5000.0, shift);
    assert_eq!(a.len(), b.len());
    // Busy enough that releases are pending (in reverse) when the epoch moves.
    assert!(a.len() > 5000, "a busy network: {} spikes", a.len());
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
            assert!((x - y).abs() <= 1e-8 * scale, "projection {l}: {x} vs {y}");
        }
    }
}
