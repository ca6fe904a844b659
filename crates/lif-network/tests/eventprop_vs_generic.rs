//! The specialised EventProp path (closed form between events, Table 2's adjoint event by event)
//! and the generic path (the same Table 1 network as a `HybridSystem`, integrated numerically with
//! located events; forward sensitivities and the adjoint of `docs/maths.md` §2-3) share no
//! code. Guards against errors in either: a wrong adjoint jump, a wrong sign or scale in eq. (2)
//! or eq. (56), a missed or misplaced spike, a wrong gradient layout, a wrong treatment of voltage
//! observations. Over random small networks (1-3 layers or recurrent, N ≤ 8, random weights,
//! inputs and time constants) the spike times must agree to 1e-10 ms, the gradients of EventProp,
//! the generic adjoint and generic forward sensitivities to 1e-9, and all of them with central
//! differences of EventProp's forward pass to 1e-6, for a spike-time loss and a voltage loss.
//!
//! Margin from critical points (where gradients are undefined or jump), stated and enforced with
//! `prop_assume`: every spike has `|V̇⁻| ≥ 5e-3 ϑ/ms`, no spike lies within 0.05 ms of `t_end` or
//! within 0.01 ms of another event, every below-threshold membrane maximum stays 1e-3 ϑ below
//! threshold, and no spike lies within 0.05 ms of a probe time. Central differences use the
//! five-point stencil with step `1e-5 · max(1, |w|)` on EventProp's forward pass (closed form),
//! and are an oracle only where that stencil resolves the loss: a case whose estimated truncation
//! error exceeds a tenth of the tolerance is rejected, not judged (see `fd_oracle`).

use crate::generic_common;
use generic_common::*;
use hybrid_core::{adjoint_gradient, forward_gradient, simulate, EventRecord, Solution};
use lif_network::eventprop::{
    transpose, NetworkCotangents, NetworkWorkspace, NeuronProbe, Observe, RecurrentProbe,
    RecurrentWorkspace,
};
use lif_network::generic::{
    layer_offsets, recurrent_gradient, set_layer_weights, spike_counts, LifNetwork,
    SpikeVoltageLoss,
};
use lif_network::{FeedForwardNet, InputSpike, LayerKind, RecurrentNet};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const METHODS_TOL: f64 = 1e-9;
const FD_TOL: f64 = 1e-6;
const SPIKE_TIME_TOL: f64 = 1e-10;
const FD_STEP: f64 = 1e-5;
/// Entries below this fraction of the largest are judged on that scale (see `max_rel_dev`): the
/// integrators' and the central differences' errors are absolute, not relative to each entry.
const FLOOR: f64 = 1e-3;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 40,
        max_global_rejects: 4096,
        ..ProptestConfig::default()
    }
}

fn margins_ok(m: &Margins, thr: f64) -> bool {
    m.min_abs_gdot >= 5e-3 * thr
        && m.end_gap >= 0.05
        && m.near_miss >= 1e-3 * thr
        && m.event_gap >= 0.01
}

/// Central differences of `f` at `p` (step `FD_STEP`), or `None` where the stencil does not
/// resolve `f`. The five-point stencil's truncation error scales as `h⁴`, so
/// `D(2h) − D(h) ≈ 15 E(h)`; a case is judged only if that estimate of `E(h)`, measured as
/// `max_rel_dev`, is below `FD_TOL / 10`. What this rejects is independent of the gradient code:
/// a spike close to grazing (small `V̇⁻` against `∂V/∂w · h`) whose time bends within the stencil,
/// e.g. seed 6149780122831342798 of `feed_forward_spike_time_loss_gradients_agree`, where the last
/// output spike moves by 1.08e-2 and 1.04e-2 ms for steps of ∓h and D(h) is off by 7e-6 relative
/// (it agrees with EventProp to 7e-10 at h = 1e-6).
fn fd_oracle(p: &[f64], mut f: impl FnMut(&[f64]) -> f64) -> Option<Vec<f64>> {
    let d_h = central_differences(p, FD_STEP, &mut f);
    let d_2h = central_differences(p, 2.0 * FD_STEP, &mut f);
    (max_rel_dev(&d_h, &d_2h, FLOOR) / 15.0 <= FD_TOL / 10.0).then_some(d_h)
}

fn guard_times(events: &[EventRecord], k: usize) -> Vec<f64> {
    events
        .iter()
        .filter(|e| e.guard() == Some(k))
        .map(|e| e.t)
        .collect()
}

/// No spike within 0.05 ms of a probe time: a spike of the probed neuron resets `V`, and a spike
/// of a presynaptic neuron makes `V̇` jump, so the probed voltage has a kink where a spike crosses it.
fn probe_clear(events: &[EventRecord], time: f64) -> bool {
    events
        .iter()
        .filter(|e| e.guard().is_some())
        .all(|e| (e.t - time).abs() >= 0.05)
}

/// Generic adjoint and forward gradients of `loss`; asserts they agree and returns the adjoint's.
fn generic_gradients(
    model: &LifNetwork,
    p: &[f64],
    t_end: f64,
    loss: &SpikeVoltageLoss,
) -> (f64, Vec<f64>, f64) {
    let adj = adjoint_gradient(model, p, 0.0, t_end, loss, &tight()).expect("generic adjoint");
    let fwd = forward_gradient(model, p, 0.0, t_end, loss, &tight()).expect("generic forward");
    (
        adj.loss,
        adj.gradient.clone(),
        max_rel_dev(&fwd.gradient, &adj.gradient, FLOOR),
    )
}

/// EventProp loss and flat gradient of a layered net for spike-time coefficients (one per output
/// spike, as `spike_coefficient(layer, neuron)`) and voltage probes with coefficients.
fn eventprop_feed_forward(
    net: &FeedForwardNet,
    input: &[InputSpike],
    spike_coef: &dyn Fn(usize, usize) -> f64,
    probes: &[(NeuronProbe, f64)],
    with_gradient: bool,
) -> (f64, Vec<f64>, NetworkWorkspace) {
    let mut ws = NetworkWorkspace::new();
    let vp: Vec<NeuronProbe> = probes.iter().map(|p| p.0).collect();
    net.forward(
        input,
        Observe {
            probes: &vp,
            silent_output_maxima: false,
            first_spike_output: false,
        },
        &mut ws,
    )
    .expect("eventprop forward");
    let mut cot = NetworkCotangents::zeros_for(&ws);
    let mut loss = 0.0;
    let offsets = net.neuron_offsets();
    for (k, s) in ws.spikes().iter().enumerate() {
        let g = s.neuron as usize;
        let l = offsets.partition_point(|&o| o <= g) - 1;
        let c = spike_coef(l, g - offsets[l]);
        cot.spike_times[k] = c;
        loss += c * s.time;
    }
    for (q, (_, c)) in probes.iter().enumerate() {
        cot.probes[q] = *c;
        loss += c * ws.probe_values()[q];
    }
    let mut flat = Vec::new();
    if with_gradient {
        let mut grad = net.zero_gradient();
        net.backward(&mut ws, &cot, &mut grad)
            .expect("eventprop backward");
        // The generic parameters are post-major; the layers' gradients pre-major.
        flat = grad
            .iter()
            .zip(&net.layers)
            .flat_map(|(g, l)| transpose(g, l.n_in, l.n_out))
            .collect();
    }
    (loss, flat, ws)
}

fn with_weights(net: &FeedForwardNet, flat: &[f64]) -> FeedForwardNet {
    let mut n = net.clone();
    set_layer_weights(&mut n, flat).expect("length");
    n
}

struct FfCase {
    net: FeedForwardNet,
    input: Vec<InputSpike>,
    model: LifNetwork,
    p: Vec<f64>,
    sol: Solution,
    offsets: Vec<usize>,
}

fn ff_case(seed: u64, readout: bool) -> Option<FfCase> {
    let (net, input) = random_feed_forward(seed, readout);
    let (model, p) = LifNetwork::from_feed_forward(&net, &input).expect("convert");
    let sol = simulate(&model, &p, 0.0, net.t_end, &tight()).ok()?;
    let m = margins(&model, &sol, net.t_end);
    if !margins_ok(&m, net.params.threshold) {
        return None;
    }
    let offsets = layer_offsets(&net);
    Some(FfCase {
        net,
        input,
        model,
        p,
        sol,
        offsets,
    })
}

/// Spike times of EventProp's forward pass against the generic event times, neuron by neuron.
fn spike_time_deviation(c: &FfCase, ws: &NetworkWorkspace) -> f64 {
    let mut worst = 0.0f64;
    for l in 0..c.net.layers.len() {
        for j in 0..c.net.layers[l].n_out {
            let g = c.net.layer_offset(l) + j;
            let ep: Vec<f64> = ws.spikes_of(g).map(|k| ws.spikes()[k].time).collect();
            let gen = guard_times(&c.sol.events, c.offsets[l] + j);
            assert_eq!(
                ep.len(),
                gen.len(),
                "spike count of layer {l} neuron {j}: {ep:?} vs {gen:?}"
            );
            for (a, b) in ep.iter().zip(&gen) {
                worst = worst.max((a - b).abs());
            }
        }
    }
    worst
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn feed_forward_spike_time_loss_gradients_agree(seed in any::<u64>()) {
        let c = ff_case(seed, false);
        prop_assume!(c.is_some());
        let c = c.unwrap();
        let out = c.net.layers.len() - 1;
        let counts = spike_counts(&c.sol.events, c.model.neurons());
        let mut loss = SpikeVoltageLoss::new(&c.model);
        for j in 0..c.net.layers[out].n_out {
            for occ in 0..counts[c.offsets[out] + j] {
                loss = loss.spike_time(c.offsets[out] + j, occ, 1.0).unwrap();
            }
        }
        prop_assume!(loss.spike_terms().count() > 0);
        let coef = |l: usize, _j: usize| if l == out { 1.0 } else { 0.0 };
        let (ep_loss, ep_grad, ws) = eventprop_feed_forward(&c.net, &c.input, &coef, &[], true);
        let dt = spike_time_deviation(&c, &ws);
        let (gen_loss, adj, fwd_vs_adj) = generic_gradients(&c.model, &c.p, c.net.t_end, &loss);
        let fd = fd_oracle(&c.p, |p| {
            eventprop_feed_forward(&with_weights(&c.net, p), &c.input, &coef, &[], false).0
        });
        prop_assume!(fd.is_some(), "central differences do not resolve this case");
        let fd = fd.unwrap();
        let (ep_adj, ep_fd) = (max_rel_dev(&ep_grad, &adj, FLOOR), max_rel_dev(&ep_grad, &fd, FLOOR));
        eprintln!("ff spike: dt {dt:.1e} loss {:.1e} ep-adj {ep_adj:.1e} fwd-adj {fwd_vs_adj:.1e} ep-fd {ep_fd:.1e}", (ep_loss - gen_loss).abs());
        prop_assert!(dt <= SPIKE_TIME_TOL, "spike times differ by {dt:e}");
        prop_assert!((ep_loss - gen_loss).abs() <= 1e-10 * ep_loss.abs().max(1.0));
        prop_assert!(ep_adj <= METHODS_TOL, "eventprop vs adjoint {ep_adj:e}\n{ep_grad:?}\n{adj:?}");
        prop_assert!(fwd_vs_adj <= METHODS_TOL, "forward vs adjoint {fwd_vs_adj:e}");
        prop_assert!(ep_fd <= FD_TOL, "eventprop vs central differences {ep_fd:e}\n{ep_grad:?}\n{fd:?}");
    }

    #[test]
    fn feed_forward_voltage_loss_gradients_agree(seed in any::<u64>(), readout in any::<bool>()) {
        let c = ff_case(seed, readout);
        prop_assume!(c.is_some());
        let c = c.unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
        let mut probes = Vec::new();
        let mut loss = SpikeVoltageLoss::new(&c.model);
        for _ in 0..3 {
            let layer = rng.gen_range(0..c.net.layers.len());
            let neuron = rng.gen_range(0..c.net.layers[layer].n_out);
            let time = rng.gen_range(0.1..c.net.t_end);
            let coef = rng.gen_range(-1.0..1.0);
            probes.push((NeuronProbe { population: layer, neuron, time }, coef));
            loss = loss.voltage(c.offsets[layer] + neuron, time, coef).unwrap();
            prop_assume!(probe_clear(&c.sol.events, time));
        }
        let none = |_: usize, _: usize| 0.0;
        let (ep_loss, ep_grad, ws) = eventprop_feed_forward(&c.net, &c.input, &none, &probes, true);
        let dt = spike_time_deviation(&c, &ws);
        let (gen_loss, adj, fwd_vs_adj) = generic_gradients(&c.model, &c.p, c.net.t_end, &loss);
        prop_assume!(adj.iter().any(|g| *g != 0.0));
        let fd = fd_oracle(&c.p, |p| {
            eventprop_feed_forward(&with_weights(&c.net, p), &c.input, &none, &probes, false).0
        });
        prop_assume!(fd.is_some(), "central differences do not resolve this case");
        let fd = fd.unwrap();
        let (ep_adj, ep_fd) = (max_rel_dev(&ep_grad, &adj, FLOOR), max_rel_dev(&ep_grad, &fd, FLOOR));
        eprintln!("ff volt: dt {dt:.1e} loss {:.1e} ep-adj {ep_adj:.1e} fwd-adj {fwd_vs_adj:.1e} ep-fd {ep_fd:.1e}", (ep_loss - gen_loss).abs());
        prop_assert!(dt <= SPIKE_TIME_TOL, "spike times differ by {dt:e}");
        prop_assert!((ep_loss - gen_loss).abs() <= 1e-10 * ep_loss.abs().max(1.0));
        prop_assert!(ep_adj <= METHODS_TOL, "eventprop vs adjoint {ep_adj:e}\n{ep_grad:?}\n{adj:?}");
        prop_assert!(fwd_vs_adj <= METHODS_TOL, "forward vs adjoint {fwd_vs_adj:e}");
        prop_assert!(ep_fd <= FD_TOL, "eventprop vs central differences {ep_fd:e}\n{ep_grad:?}\n{fd:?}");
    }

    #[test]
    fn recurrent_gradients_agree_for_spike_time_and_voltage_losses(seed in any::<u64>()) {
        let (net, input) = random_recurrent(seed);
        let (model, p) = LifNetwork::from_recurrent(&net, &input).expect("convert");
        let sol = simulate(&model, &p, 0.0, net.t_end, &tight());
        prop_assume!(sol.is_ok());
        let sol = sol.unwrap();
        prop_assume!(margins_ok(&margins(&model, &sol, net.t_end), net.params.threshold));
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xfeed);
        // Spike-time loss on all spikes of the first and the last neuron, plus two voltage probes.
        let spike_coef = |k: usize| match k {
            0 => 0.5,
            k if k == net.n - 1 => 0.5 + k as f64,
            _ => 0.0,
        };
        let counts = spike_counts(&sol.events, net.n);
        let mut loss = SpikeVoltageLoss::new(&model);
        for k in (0..net.n).filter(|&k| spike_coef(k) != 0.0) {
            for occ in 0..counts[k] {
                loss = loss.spike_time(k, occ, spike_coef(k)).unwrap();
            }
        }
        let mut probes = Vec::new();
        for _ in 0..2 {
            let neuron = rng.gen_range(0..net.n);
            let time = rng.gen_range(0.1..net.t_end);
            let coef = rng.gen_range(-1.0..1.0);
            prop_assume!(probe_clear(&sol.events, time));
            probes.push((RecurrentProbe { neuron, time }, coef));
            loss = loss.voltage(neuron, time, coef).unwrap();
        }
        let run = |net: &RecurrentNet, grad: bool| {
            let mut ws = RecurrentWorkspace::default();
            let rp: Vec<RecurrentProbe> = probes.iter().map(|p| p.0).collect();
            net.forward(&input, &rp, &mut ws).expect("eventprop forward");
            let scot: Vec<f64> = ws.spikes().iter().map(|s| spike_coef(s.neuron as usize)).collect();
            let pcot: Vec<f64> = probes.iter().map(|p| p.1).collect();
            let loss = ws.spikes().iter().zip(&scot).map(|(s, c)| c * s.time).sum::<f64>()
                + ws.probe_values().iter().zip(&pcot).map(|(v, c)| c * v).sum::<f64>();
            let mut g = lif_network::eventprop::RecurrentGradient::default();
            if grad {
                net.backward(&ws, &scot, &pcot, &mut g).expect("eventprop backward");
            }
            (loss, g, ws)
        };
        let (ep_loss, ep_g, ws) = run(&net, true);
        // Spike times, in global time order on both sides.
        let gen_spikes: Vec<(f64, usize)> = sol.events.iter().filter_map(|e| e.guard().map(|k| (e.t, k))).collect();
        prop_assert_eq!(ws.spikes().len(), gen_spikes.len());
        let mut dt = 0.0f64;
        for (s, (t, k)) in ws.spikes().iter().zip(&gen_spikes) {
            prop_assert_eq!(s.neuron as usize, *k);
            dt = dt.max((s.time - t).abs());
        }
        let (gen_loss, adj, fwd_vs_adj) = generic_gradients(&model, &p, net.t_end, &loss);
        let adj_mapped = recurrent_gradient(&net, &adj).expect("layout");
        let flat = |g: &lif_network::eventprop::RecurrentGradient| [g.input_weights.clone(), g.weights.clone()].concat();
        let fd_flat = fd_oracle(&flat(&lif_network::eventprop::RecurrentGradient {
            weights: net.weights.clone(), input_weights: net.input_weights.clone() }), |pp| {
            let mut n2 = net.clone();
            n2.input_weights.copy_from_slice(&pp[..net.input_weights.len()]);
            n2.weights.copy_from_slice(&pp[net.input_weights.len()..]);
            for k in 0..net.n { n2.weights[k * net.n + k] = 0.0; }
            run(&n2, false).0
        });
        prop_assume!(fd_flat.is_some(), "central differences do not resolve this case");
        let mut fd = fd_flat.unwrap();
        let n_in = net.input_weights.len();
        for k in 0..net.n { fd[n_in + k * net.n + k] = 0.0; }
        let (ep_adj, ep_fd) = (max_rel_dev(&flat(&ep_g), &flat(&adj_mapped), FLOOR), max_rel_dev(&flat(&ep_g), &fd, FLOOR));
        eprintln!("rec: dt {dt:.1e} loss {:.1e} ep-adj {ep_adj:.1e} fwd-adj {fwd_vs_adj:.1e} ep-fd {ep_fd:.1e}", (ep_loss - gen_loss).abs());
        prop_assert!(dt <= SPIKE_TIME_TOL, "spike times differ by {dt:e}");
        prop_assert!((ep_loss - gen_loss).abs() <= 1e-10 * ep_loss.abs().max(1.0));
        prop_assert!(ep_adj <= METHODS_TOL, "eventprop vs adjoint {ep_adj:e}");
        prop_assert!(fwd_vs_adj <= METHODS_TOL, "forward vs adjoint {fwd_vs_adj:e}");
        prop_assert!(ep_fd <= FD_TOL, "eventprop vs central differences {ep_fd:e}");
    }
}

#[test]
fn readout_layer_is_not_spiking_on_the_generic_path() {
    let (net, input) = random_feed_forward(7, true);
    let (model, _) = LifNetwork::from_feed_forward(&net, &input).unwrap();
    let offsets = layer_offsets(&net);
    let out = net.layers.len() - 1;
    assert_eq!(net.layers[out].kind, LayerKind::Readout);
    for n in 0..model.neurons() {
        assert_eq!(model.is_spiking(n), Ok(n < offsets[out]), "neuron {n}");
    }
}

/// The case that motivated `fd_oracle`: at `h = 1e-5` the stencil does not resolve the bending
/// spike time (estimate and actual error both ~7e-6, above `FD_TOL`), so the case is rejected;
/// with a ten times smaller step the same central differences agree with EventProp to `FD_TOL`,
/// so the gradient there is right and the rejection hides no error.
#[test]
fn a_spike_time_bending_within_the_stencil_is_rejected_and_a_finer_stencil_agrees() {
    let c = ff_case(6149780122831342798, false).expect("the case passes the margins");
    let out = c.net.layers.len() - 1;
    let coef = |l: usize, _j: usize| if l == out { 1.0 } else { 0.0 };
    let f =
        |p: &[f64]| eventprop_feed_forward(&with_weights(&c.net, p), &c.input, &coef, &[], false).0;
    let (_, grad, _) = eventprop_feed_forward(&c.net, &c.input, &coef, &[], true);
    let coarse = central_differences(&c.p, FD_STEP, f);
    assert!(
        max_rel_dev(&grad, &coarse, FLOOR) > FD_TOL,
        "the stencil resolves this case now"
    );
    assert!(
        fd_oracle(&c.p, f).is_none(),
        "fd_oracle accepted an unresolved stencil"
    );
    let fine = central_differences(&c.p, FD_STEP / 10.0, f);
    let dev = max_rel_dev(&grad, &fine, FLOOR);
    assert!(
        dev <= FD_TOL,
        "EventProp vs central differences at h/10: {dev:e}"
    );
}
