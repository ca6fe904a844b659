//! The first-spike-only output layer against the full simulation, on each forward path.

use crate::engine::NetworkWorkspace;
use crate::eventprop::{
    FeedForwardNet, InputSpike, LayerKind, LifParams, Loss, NeuronProbe, Observe, SampleScratch,
};
use crate::LifError;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// The record as bits (neuron, time, current), the loss, the prediction and the gradient.
type Bits = (Vec<(u32, u64, u64)>, u64, Option<usize>, Vec<u64>);

/// The forward paths: neuron by neuron (the default), the slot loop, the event queue.
#[derive(Clone, Copy, Debug)]
enum Path {
    ByNeuron,
    Slots,
    Queue,
}

fn run(
    net: &FeedForwardNet,
    samples: &[(Vec<InputSpike>, Loss)],
    first: bool,
    path: Path,
) -> Vec<Bits> {
    let mut scratch = SampleScratch::default();
    scratch.first_spike_output = first;
    scratch.workspace.by_neuron = matches!(path, Path::ByNeuron);
    scratch.workspace.allow_sweeps = !matches!(path, Path::Queue);
    samples
        .iter()
        .map(|(input, loss)| {
            let mut grad = net.zero_gradient();
            let st = net
                .accumulate_gradient(input, loss, &mut scratch, &mut grad)
                .unwrap();
            let spikes = (scratch.workspace.spikes().iter())
                .map(|s| (s.neuron, s.time.to_bits(), s.i_syn.to_bits()))
                .collect();
            let grad = grad.iter().flatten().map(|g| g.to_bits()).collect();
            (spikes, st.loss.to_bits(), st.prediction, grad)
        })
        .collect()
}

/// Checks that the first-spike-only runs give the full runs' loss, prediction and gradient bits,
/// and their record without the output neurons' spikes after their first (every other spike and
/// every first output spike, time and current, the same bits). Returns how many output spikes
/// the full runs had after a first one.
fn same_bits_but_later_output_spikes(
    net: &FeedForwardNet,
    samples: &[(Vec<InputSpike>, Loss)],
    path: Path,
) -> usize {
    let out = net.layer_offset(net.layers.len() - 1) as u32;
    let full = run(net, samples, false, path);
    let first = run(net, samples, true, path);
    let mut dropped = 0;
    for (k, (f, s)) in full.iter().zip(&first).enumerate() {
        let mut seen = std::collections::HashSet::new();
        let kept: Vec<_> = (f.0.iter())
            .filter(|sp| sp.0 < out || seen.insert(sp.0))
            .copied()
            .collect();
        dropped += f.0.len() - kept.len();
        assert!(s.0 == kept, "{path:?} sample {k}: the records differ");
        assert_eq!(s.1, f.1, "{path:?} sample {k}: loss");
        assert_eq!(s.2, f.2, "{path:?} sample {k}: prediction");
        assert!(s.3 == f.3, "{path:?} sample {k}: the gradients differ");
        assert!(f.3.iter().any(|&g| f64::from_bits(g) != 0.0));
    }
    dropped
}

/// Yin-Yang 5-200-3 (the paper's coding, Table 3 initialisation) with `count` samples under
/// `loss(label)`.
fn yin_yang(
    count: usize,
    loss: impl Fn(usize) -> Loss,
) -> (FeedForwardNet, Vec<(Vec<InputSpike>, Loss)>) {
    let mut r = ChaCha8Rng::seed_from_u64(11);
    let layers = [(200, LayerKind::Spiking), (3, LayerKind::Spiking)];
    let mut net = FeedForwardNet::new(5, &layers, LifParams::default(), 60.0).unwrap();
    for (layer, (mean, std)) in net.layers.iter_mut().zip([(1.5, 0.78), (0.93, 0.1)]) {
        let d = Normal::new(mean, std).unwrap();
        layer.weights.iter_mut().for_each(|w| *w = d.sample(&mut r));
    }
    let samples = (0..count)
        .map(|k| {
            let (x, y): (f64, f64) = (r.gen(), r.gen());
            let mut s: Vec<InputSpike> = [x, y, 1.0 - x, 1.0 - y, 0.0]
                .iter()
                .enumerate()
                .map(|(src, &f)| InputSpike {
                    time: f * 30.0,
                    source: src as u32,
                })
                .collect();
            s.sort_by(|a, b| a.time.total_cmp(&b.time));
            (s, loss(k % 3))
        })
        .collect();
    (net, samples)
}

fn first_spike(label: usize) -> Loss {
    Loss::FirstSpike {
        label,
        tau0: 0.5,
        tau1: 6.4,
        alpha: 3e-3,
    }
}

/// Oracle: the full simulation of the same network on the same path. Yin-Yang under both
/// first-spike losses (the remedy also tracks the maxima of the output neurons until they
/// fire), on the three forward paths: the same loss, prediction, gradient and first output
/// spike bits, with many later output spikes dropped.
#[test]
fn yin_yang_first_spike_output_gives_the_full_simulations_loss_and_gradient_bits() {
    let remedy = |label| Loss::FirstSpikeSilentRemedy {
        label,
        tau0: 0.5,
        tau1: 6.4,
        alpha: 3e-3,
        kappa: 20.0,
    };
    for loss in [first_spike as fn(usize) -> Loss, remedy] {
        let (net, samples) = yin_yang(48, loss);
        for path in [Path::ByNeuron, Path::Slots, Path::Queue] {
            let dropped = same_bits_but_later_output_spikes(&net, &samples, path);
            assert!(dropped > 10 * samples.len(), "{path:?}: {dropped} dropped");
        }
    }
}

/// Oracle: the full simulation. An MNIST-shaped network with a spiking output (784 inputs with
/// 150 pixels at random latencies in [0, 20] ms, some on a coarse grid so that several share a
/// time, a hidden layer of 350, 10 output neurons, first-spike loss) on the three paths.
#[test]
fn mnist_shaped_first_spike_output_gives_the_full_simulations_loss_and_gradient_bits() {
    let mut r = ChaCha8Rng::seed_from_u64(12);
    let layers = [(350, LayerKind::Spiking), (10, LayerKind::Spiking)];
    let mut net = FeedForwardNet::new(784, &layers, LifParams::default(), 40.0).unwrap();
    for (layer, (mean, std)) in net.layers.iter_mut().zip([(0.078, 0.045), (0.2, 0.1)]) {
        let d = Normal::new(mean, std).unwrap();
        layer.weights.iter_mut().for_each(|w| *w = d.sample(&mut r));
    }
    let samples: Vec<_> = (0..12)
        .map(|k| {
            let mut s: Vec<InputSpike> = sample(&mut r, 784, 150)
                .iter()
                .map(|p| {
                    let t: f64 = r.gen_range(0.0..20.0);
                    let time = if k % 2 == 0 {
                        (t / 1.25).round() * 1.25
                    } else {
                        t
                    };
                    InputSpike {
                        time,
                        source: p as u32,
                    }
                })
                .collect();
            s.sort_by(|a, b| a.time.total_cmp(&b.time));
            (s, first_spike(k % 10))
        })
        .collect();
    for path in [Path::ByNeuron, Path::Slots, Path::Queue] {
        let dropped = same_bits_but_later_output_spikes(&net, &samples, path);
        assert!(dropped > 5 * samples.len(), "{path:?}: {dropped} dropped");
    }
}

/// A loss that reads maxima leaves the full simulation on: `SampleScratch::first_spike_output`
/// only allows the option.
#[test]
fn first_spike_output_is_the_default_off_and_ignored_for_a_loss_of_maxima() {
    assert!(!SampleScratch::default().first_spike_output);
    let (net, samples) = yin_yang(4, first_spike);
    let mut readout = net.clone();
    readout.layers[1].kind = LayerKind::Readout;
    let maxima: Vec<_> = (samples.iter())
        .map(|(s, _)| (s.clone(), Loss::MaxVoltage { label: 1 }))
        .collect();
    let full = run(&readout, &maxima, false, Path::ByNeuron);
    assert_eq!(run(&readout, &maxima, true, Path::ByNeuron), full);
}

/// A first-spike-only output layer must spike and must not be probed (typed errors); a probe of
/// the hidden layer is allowed, and the backward pass and `Loss::cotangents` accept the pass.
#[test]
fn first_spike_output_is_refused_on_a_readout_or_a_probed_output_layer() {
    let (net, samples) = yin_yang(1, first_spike);
    let input = &samples[0].0;
    let mut ws = NetworkWorkspace::new();
    let probe = |population| NeuronProbe {
        population,
        neuron: 0,
        time: 10.0,
    };
    let observe = |probes| Observe {
        probes,
        silent_output_maxima: false,
        first_spike_output: true,
    };
    let (on_output, on_hidden) = ([probe(1)], [probe(0)]);
    let e = net
        .forward(input, observe(&on_output), &mut ws)
        .unwrap_err();
    assert!(
        matches!(e, LifError::FirstSpikeOnly { layer: 1, .. }),
        "{e}"
    );
    let mut readout = net.clone();
    readout.layers[1].kind = LayerKind::Readout;
    let e = readout.forward(input, observe(&[]), &mut ws).unwrap_err();
    assert!(
        matches!(e, LifError::FirstSpikeOnly { layer: 1, .. }),
        "{e}"
    );
    net.forward(input, observe(&on_hidden), &mut ws).unwrap();
    let mut cot = crate::engine::NetworkCotangents::default();
    samples[0].1.cotangents(&net, &ws, &mut cot).unwrap();
    let mut grad = net.zero_gradient();
    net.backward(&mut ws, &cot, &mut grad).unwrap();
}
