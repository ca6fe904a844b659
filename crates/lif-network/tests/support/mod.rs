//! Shared test helpers: random small networks and input trains, fourth-order central finite
//! differences of a loss re-computed by the forward pass, and the gradient comparison.

#![allow(dead_code)]

use lif_network::eventprop::{
    FeedForwardNet, InputSpike, LayerKind, LifParams, Loss, NetworkCotangents, NetworkWorkspace,
    NeuronProbe, Observe, PeakCause, RecurrentNet,
};
use lif_network::LifError;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Spikes closer than this to the threshold tangent (`|V̇⁻|` in 1/ms) make the case too close to a
/// critical point for finite differences (gradients diverge like `1/V̇⁻`); such cases are discarded.
pub const VDOT_MARGIN: f64 = 2e-3;

/// Relative tolerance of the adjoint gradient against finite differences.
pub const REL_TOL: f64 = 1e-6;

/// Finite-difference step for a weight (absolute; weights are O(1)).
pub const FD_STEP: f64 = 1e-5;

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `n` input spikes at uniform times in `[0, t_max]` from uniform sources (unsorted on purpose).
pub fn random_input(r: &mut ChaCha8Rng, n_inputs: usize, n: usize, t_max: f64) -> Vec<InputSpike> {
    (0..n)
        .map(|_| InputSpike {
            time: r.gen_range(0.0..t_max),
            source: r.gen_range(0..n_inputs as u32),
        })
        .collect()
}

/// A layered network with uniform weights in `lo..hi` (first layer) and `lo2..hi2` (above).
pub fn random_ff(
    r: &mut ChaCha8Rng,
    n_inputs: usize,
    layers: &[(usize, LayerKind)],
    params: LifParams,
    t_end: f64,
    first: (f64, f64),
    above: (f64, f64),
) -> FeedForwardNet {
    let mut net = FeedForwardNet::new(n_inputs, layers, params, t_end).unwrap();
    for (l, layer) in net.layers.iter_mut().enumerate() {
        let (lo, hi) = if l == 0 { first } else { above };
        layer
            .weights
            .iter_mut()
            .for_each(|w| *w = r.gen_range(lo..hi));
    }
    net
}

/// A recurrent network with uniform input weights in `inp` and recurrent weights in `rec`.
pub fn random_recurrent(
    r: &mut ChaCha8Rng,
    n: usize,
    n_inputs: usize,
    t_end: f64,
    inp: (f64, f64),
    rec: (f64, f64),
) -> RecurrentNet {
    let mut net = RecurrentNet::new(n, n_inputs, LifParams::default(), t_end).unwrap();
    for post in 0..n {
        for pre in 0..n {
            if pre != post {
                net.weights[post * n + pre] = r.gen_range(rec.0..rec.1);
            }
        }
    }
    net.input_weights
        .iter_mut()
        .for_each(|w| *w = r.gen_range(inp.0..inp.1));
    net
}

/// `(layer, neuron in layer)` of global neuron `g` of `net`.
pub fn layer_of(net: &FeedForwardNet, g: usize) -> (usize, usize) {
    let mut rest = g;
    for (l, layer) in net.layers.iter().enumerate() {
        if rest < layer.n_out {
            return (l, rest);
        }
        rest -= layer.n_out;
    }
    panic!("neuron {g} outside the network");
}

/// Spike times of neuron `j` of layer `l`, in time order.
pub fn times_of(net: &FeedForwardNet, ws: &NetworkWorkspace, l: usize, j: usize) -> Vec<f64> {
    ws.spikes_of(net.layer_offset(l) + j)
        .map(|k| ws.spikes()[k].time)
        .collect()
}

/// Global spike indices of neuron `j` of layer `l`, in time order.
pub fn indices_of(net: &FeedForwardNet, ws: &NetworkWorkspace, l: usize, j: usize) -> Vec<usize> {
    ws.spikes_of(net.layer_offset(l) + j).collect()
}

/// The membrane maximum of neuron `j` of layer `l`.
pub fn peak_of(
    net: &FeedForwardNet,
    ws: &NetworkWorkspace,
    l: usize,
    j: usize,
) -> lif_network::eventprop::VoltagePeak {
    ws.peaks()[net.layer_offset(l) + j]
}

/// Times of the input events of layer `l`: the input spikes, or the spikes of layer `l - 1`.
fn layer_input_times(net: &FeedForwardNet, ws: &NetworkWorkspace, l: usize) -> Vec<f64> {
    if l == 0 {
        return ws.inputs().iter().map(|s| s.time).collect();
    }
    ws.spikes()
        .iter()
        .filter(|s| layer_of(net, s.neuron as usize).0 == l - 1)
        .map(|s| s.time)
        .collect()
}

/// The discrete structure of a forward pass: spike count of every neuron, the input interval
/// (number of the layer's input events strictly before it) of every spike, probe and maximum,
/// and where every maximum sits. The loss is smooth in the weights only while it does not change
/// (a spike crossing an input event has a kink in its time).
pub fn structure(net: &FeedForwardNet, ws: &NetworkWorkspace) -> Vec<i64> {
    let inputs: Vec<Vec<f64>> = (0..net.layers.len())
        .map(|l| layer_input_times(net, ws, l))
        .collect();
    let slot = |l: usize, t: f64| inputs[l].iter().filter(|&&x| x < t).count() as i64;
    let mut s = Vec::new();
    for (q, p) in ws.probes().iter().enumerate() {
        s.push(q as i64);
        s.push(slot(p.population, p.time));
    }
    for g in 0..ws.n_neurons() {
        let (l, _) = layer_of(net, g);
        s.push(ws.spikes_of(g).count() as i64);
        s.extend(ws.spikes_of(g).map(|k| slot(l, ws.spikes()[k].time)));
        let m = ws.peaks()[g];
        s.push(slot(l, m.time));
        s.push(match m.cause {
            PeakCause::NotTracked => -1,
            PeakCause::Rest => -2,
            PeakCause::Stationary => -3,
            PeakCause::End => -4,
            PeakCause::InputArrival => -5,
            PeakCause::SpikeArrival(k) => 1_000_000 + k as i64,
        });
    }
    s
}

/// Fourth-order central difference `(f(-2h) - 8 f(-h) + 8 f(h) - f(2h)) / 12h`; `None` if any
/// evaluation is `None` (the discrete structure changed).
pub fn fd4(mut f: impl FnMut(f64) -> Option<f64>, h: f64) -> Option<f64> {
    let m2 = f(-2.0 * h)?;
    let m1 = f(-h)?;
    let p1 = f(h)?;
    let p2 = f(2.0 * h)?;
    Some((m2 - 8.0 * m1 + 8.0 * p1 - p2) / (12.0 * h))
}

/// Checks `|a - f| <= REL_TOL * max(|f|, 1e-2 * max_k |f_k|) + noise` per component: relative,
/// with a floor at 1% of the largest component, plus the rounding noise of the stencil,
/// `noise = 1e3 ε max(|L|, 1) / FD_STEP` for a loss of size `|L|` (about 2e-9 |L|).
pub fn compare(analytic: &[f64], fd: &[f64], loss: f64) -> Result<(), String> {
    assert_eq!(analytic.len(), fd.len());
    let scale = fd.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    let noise = 1e3 * f64::EPSILON * loss.abs().max(1.0) / FD_STEP;
    for (k, (&a, &f)) in analytic.iter().zip(fd).enumerate() {
        let tol = REL_TOL * f.abs().max(1e-2 * scale) + noise;
        if !((a - f).abs() <= tol) {
            return Err(format!(
                "component {k}: adjoint {a:.12e} vs finite difference {f:.12e} (|diff| {:.3e} > tol {tol:.3e}, scale {scale:.3e})",
                (a - f).abs()
            ));
        }
    }
    Ok(())
}

/// Coefficient of a spike-time loss term, fixed by (layer, neuron, ordinal of the spike).
pub fn coef(l: usize, j: usize, r: usize) -> f64 {
    (1.0 + 3.0 * l as f64 + 7.0 * j as f64 + 11.0 * r as f64).sin()
}

/// A custom loss of spike times and probed voltages:
/// `Σ_spikes c (t - 5)²/10 + Σ_probes (b_q V_q + V_q²/2)`, `c = coef(layer, neuron, ordinal)`.
pub fn custom_loss(
    net: &FeedForwardNet,
    ws: &NetworkWorkspace,
    cot: Option<&mut NetworkCotangents>,
) -> f64 {
    let mut loss = 0.0;
    let mut cot = cot;
    if let Some(c) = cot.as_deref_mut() {
        c.reset_for(ws);
    }
    let mut count = vec![0usize; ws.n_neurons()];
    for (k, s) in ws.spikes().iter().enumerate() {
        let g = s.neuron as usize;
        let (l, j) = layer_of(net, g);
        let a = coef(l, j, count[g]);
        count[g] += 1;
        loss += a * (s.time - 5.0).powi(2) / 10.0;
        if let Some(c) = cot.as_deref_mut() {
            c.spike_times[k] = a * (s.time - 5.0) / 5.0;
        }
    }
    for (q, &v) in ws.probe_values().iter().enumerate() {
        let b = coef(9, q, 0);
        loss += b * v + 0.5 * v * v;
        if let Some(c) = cot.as_deref_mut() {
            c.probes[q] = b + v;
        }
    }
    loss
}

/// Runs `eval` on every weight perturbed by the FD stencil; `None` if the structure changes.
pub fn ff_fd(
    net: &FeedForwardNet,
    mut eval: impl FnMut(&FeedForwardNet) -> Option<(f64, Vec<i64>)>,
) -> Option<Vec<Vec<f64>>> {
    let base = eval(net)?.1;
    let mut probe = net.clone();
    let mut fd = net.zero_gradient();
    for l in 0..net.layers.len() {
        for k in 0..net.layers[l].weights.len() {
            let w0 = net.layers[l].weights[k];
            fd[l][k] = fd4(
                |dw| {
                    probe.layers[l].weights[k] = w0 + dw;
                    let (loss, s) = eval(&probe)?;
                    (s == base).then_some(loss)
                },
                FD_STEP,
            )?;
            probe.layers[l].weights[k] = w0;
        }
    }
    Some(fd)
}

pub fn probes_clear_of_spikes(
    net: &FeedForwardNet,
    ws: &NetworkWorkspace,
    probes: &[NeuronProbe],
) -> bool {
    probes.iter().all(|p| {
        let g = net.layer_offset(p.population) + p.neuron;
        ws.spikes_of(g)
            .all(|k| (ws.spikes()[k].time - p.time).abs() >= 0.05)
    })
}

/// Adjoint gradient of `custom_loss` against finite differences (discarding unsuitable cases).
pub fn check_ff_custom(
    net: &FeedForwardNet,
    input: &[InputSpike],
    probes: &[NeuronProbe],
) -> Result<(), TestCaseError> {
    let observe = Observe {
        probes,
        silent_output_maxima: false,
        first_spike_output: false,
    };
    let mut ws = NetworkWorkspace::new();
    ws.max_spikes = 10_000;
    let forward = net.forward(input, observe, &mut ws);
    // Runaway firing (a cascade of large weights) is refused by the simulator with a typed
    // error; such networks are outside what this gradient check is about.
    prop_assume!(!matches!(forward, Err(LifError::SpikeLimit { .. })));
    forward.unwrap();
    prop_assume!(ws.min_abs_vdot() >= VDOT_MARGIN);
    prop_assume!(probes_clear_of_spikes(net, &ws, probes));
    let mut cot = NetworkCotangents::default();
    let loss = custom_loss(net, &ws, Some(&mut cot));
    let mut grad = net.zero_gradient();
    net.backward(&mut ws, &cot, &mut grad).unwrap();
    let mut ws2 = NetworkWorkspace::new();
    let fd = ff_fd(net, |n| {
        n.forward(input, observe, &mut ws2).ok()?;
        Some((custom_loss(n, &ws2, None), structure(n, &ws2)))
    });
    prop_assume!(fd.is_some());
    let fd = fd.unwrap();
    for l in 0..grad.len() {
        compare(&grad[l], &fd[l], loss)
            .map_err(|e| TestCaseError::fail(format!("layer {l}: {e}")))?;
    }
    Ok(())
}

/// Gradient of a classification loss against finite differences (discarding unsuitable cases).
pub fn check_ff_loss(
    net: &FeedForwardNet,
    input: &[InputSpike],
    loss: &Loss,
) -> Result<(), TestCaseError> {
    let r = net.loss_and_gradient(input, loss);
    prop_assume!(!matches!(r, Err(LifError::SpikeLimit { .. }))); // runaway firing, as above
    let r = r.unwrap();
    prop_assume!(r.loss.is_finite() && r.min_abs_vdot >= VDOT_MARGIN);
    let observe = Observe {
        probes: &[],
        silent_output_maxima: true,
        first_spike_output: false,
    };
    let mut ws = NetworkWorkspace::new();
    let fd = ff_fd(net, |n| {
        let value = n.evaluate_with(input, loss, &mut ws).ok()?.loss;
        n.forward(input, observe, &mut ws).ok()?;
        Some((value, structure(n, &ws)))
    });
    prop_assume!(fd.is_some());
    let fd = fd.unwrap();
    for l in 0..fd.len() {
        compare(&r.gradient[l], &fd[l], r.loss)
            .map_err(|e| TestCaseError::fail(format!("layer {l}: {e}")))?;
    }
    Ok(())
}

/// A random feed-forward case: 1-3 layers (last one `last_kind`), input train, probes.
pub fn ff_case(
    seed: u64,
    n_layers: usize,
    last_kind: LayerKind,
    params: LifParams,
) -> (FeedForwardNet, Vec<InputSpike>, Vec<NeuronProbe>) {
    let mut r = rng(seed);
    let n_inputs = r.gen_range(1..=4);
    let layers: Vec<(usize, LayerKind)> = (0..n_layers)
        .map(|l| {
            let kind = if l + 1 == n_layers {
                last_kind
            } else {
                LayerKind::Spiking
            };
            (r.gen_range(1..=6), kind)
        })
        .collect();
    let net = random_ff(
        &mut r,
        n_inputs,
        &layers,
        params,
        20.0,
        (-1.0, 7.0),
        (-2.0, 8.0),
    );
    let n_spikes = r.gen_range(3..=14);
    let input = random_input(&mut r, n_inputs, n_spikes, 15.0);
    let probes = (0..r.gen_range(1..=4))
        .map(|_| {
            let layer = r.gen_range(0..n_layers);
            NeuronProbe {
                population: layer,
                neuron: r.gen_range(0..layers[layer].0),
                time: r.gen_range(0.0..20.0),
            }
        })
        .collect();
    (net, input, probes)
}
