//! The population sweeps' per-neuron loops run in the widest vector build the CPU has (AVX-512F
//! or AVX2 on x86-64, chosen at run time), in at most AVX2, or in the baseline build
//! (`NetworkWorkspace::vectors`). Wider lanes of the same IEEE-754 operations,
//! neither fused nor reassociated, must give the same bits: the oracle is the baseline build of
//! the same loops, and every spike (neuron, time, current), maximum, probe value, loss and
//! gradient entry must be bit-identical, on networks shaped like the paper's Yin-Yang 5-200-3
//! and MNIST 784-350-10 (full vectors and odd tails) and on small random layered networks with
//! probes (tails only); each wider build the CPU has is compared with the baseline. On a CPU
//! without AVX2 every run takes the baseline build and these tests only show that it is
//! deterministic; `wide_build_is_chosen_where_the_cpu_has_it` says which.

use crate::support;

use lif_network::eventprop::{
    FeedForwardNet, InputSpike, LayerKind, LifParams, Loss, NetworkCotangents, NetworkWorkspace,
    NeuronProbe, Observe, SampleScratch, VectorWidth,
};
use proptest::prelude::*;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use support::*;

/// Everything a sample produces, as bits.
#[derive(Debug, PartialEq, Eq)]
struct Bits {
    spikes: Vec<(u32, u64, u64)>,
    peaks: Vec<(u64, u64)>,
    probes: Vec<u64>,
    loss: u64,
    grad: Vec<u64>,
}

fn record(ws: &NetworkWorkspace, loss: f64, grad: &[Vec<f64>]) -> Bits {
    Bits {
        spikes: (ws.spikes().iter())
            .map(|s| (s.neuron, s.time.to_bits(), s.i_syn.to_bits()))
            .collect(),
        peaks: (ws.peaks().iter())
            .map(|p| (p.value.to_bits(), p.time.to_bits()))
            .collect(),
        probes: ws.probe_values().iter().map(|v| v.to_bits()).collect(),
        loss: loss.to_bits(),
        grad: grad.iter().flatten().map(|g| g.to_bits()).collect(),
    }
}

/// The wider builds, each compared with the baseline.
const WIDER: [VectorWidth; 2] = [VectorWidth::UpToAvx2, VectorWidth::Widest];

/// Forward, loss and backward of each sample in the build `vectors`.
fn run_samples(
    net: &FeedForwardNet,
    samples: &[(Vec<InputSpike>, Loss)],
    vectors: VectorWidth,
) -> Vec<Bits> {
    let mut scratch = SampleScratch::default();
    scratch.workspace.vectors = vectors;
    let mut out = Vec::new();
    for (input, loss) in samples {
        let mut grad = net.zero_gradient();
        let st = (net.accumulate_gradient(input, loss, &mut scratch, &mut grad)).unwrap();
        out.push(record(&scratch.workspace, st.loss, &grad));
    }
    out
}

fn assert_builds_agree(net: &FeedForwardNet, samples: &[(Vec<InputSpike>, Loss)]) {
    let base = run_samples(net, samples, VectorWidth::Baseline);
    let spikes: usize = base.iter().map(|b| b.spikes.len()).sum();
    assert!(
        spikes > 10 * samples.len(),
        "too few spikes to test: {spikes}"
    );
    for vectors in WIDER {
        let wide = run_samples(net, samples, vectors);
        for (k, (w, b)) in wide.iter().zip(&base).enumerate() {
            assert!(
                w == b,
                "sample {k}: {vectors:?} and the baseline build differ"
            );
        }
    }
}

fn init(net: &mut FeedForwardNet, r: &mut ChaCha8Rng, moments: &[(f64, f64)]) {
    for (layer, &(mean, std)) in net.layers.iter_mut().zip(moments) {
        let d = Normal::new(mean, std).unwrap();
        layer.weights.iter_mut().for_each(|w| *w = d.sample(r));
    }
}

/// Yin-Yang-shaped networks (Table 3 initialisation, the paper's input coding), hidden sizes
/// 200 (whole vectors) and 203 (a tail in every vector width), first-spike loss.
#[test]
fn yin_yang_shaped_networks_give_the_same_bits_in_the_wide_build() {
    for (seed, hidden) in [(11, 200), (12, 203)] {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let layers = [(hidden, LayerKind::Spiking), (3, LayerKind::Spiking)];
        let mut net = FeedForwardNet::new(5, &layers, LifParams::default(), 60.0).unwrap();
        init(&mut net, &mut r, &[(1.5, 0.78), (0.93, 0.1)]);
        let samples: Vec<_> = (0..24)
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
                let loss = Loss::FirstSpike {
                    label: k % 3,
                    tau0: 0.5,
                    tau1: 6.4,
                    alpha: 3e-3,
                };
                (s, loss)
            })
            .collect();
        assert_builds_agree(&net, &samples);
    }
}

/// MNIST-shaped networks (784 inputs, 150 random pixels per sample), hidden sizes 350 and 357,
/// readout layer of 10 neurons (AVX2: three vectors of four lanes, the last with two in use;
/// AVX-512F: two of eight) or 13 (blocks of 12 and 1: every lane count of a vector's tail is
/// met), max-voltage loss.
#[test]
fn mnist_shaped_networks_give_the_same_bits_in_the_wide_build() {
    for (seed, hidden, out) in [(21, 350, 10), (22, 357, 10), (23, 350, 13)] {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let layers = [(hidden, LayerKind::Spiking), (out, LayerKind::Readout)];
        let mut net = FeedForwardNet::new(784, &layers, LifParams::default(), 40.0).unwrap();
        init(&mut net, &mut r, &[(0.078, 0.045), (0.2, 0.37)]);
        let samples: Vec<_> = (0..6)
            .map(|k| {
                let mut s: Vec<InputSpike> = sample(&mut r, 784, 150)
                    .iter()
                    .map(|p| InputSpike {
                        time: r.gen_range(0.0..20.0),
                        source: p as u32,
                    })
                    .collect();
                s.sort_by(|a, b| a.time.total_cmp(&b.time));
                (s, Loss::MaxVoltage { label: k % out })
            })
            .collect();
        assert_builds_agree(&net, &samples);
    }
}

/// Forward with probes and backward with a cotangent on every spike, maximum and probe.
fn probed_run(
    ff: &FeedForwardNet,
    input: &[InputSpike],
    probes: &[NeuronProbe],
    vectors: VectorWidth,
) -> Bits {
    let mut ws = NetworkWorkspace::new();
    ws.vectors = vectors;
    let observe = Observe {
        probes,
        silent_output_maxima: true,
        first_spike_output: false,
    };
    ff.forward(input, observe, &mut ws).unwrap();
    let mut cot = NetworkCotangents::zeros_for(&ws);
    for (k, c) in cot.spike_times.iter_mut().enumerate() {
        *c = coef(0, k, 1);
    }
    for (j, c) in cot.peaks.iter_mut().enumerate() {
        *c = coef(1, j, 2);
    }
    for (q, c) in cot.probes.iter_mut().enumerate() {
        *c = coef(2, q, 3);
    }
    let mut g = ff.zero_gradient();
    ff.backward(&mut ws, &cot, &mut g).unwrap();
    record(&ws, 0.0, &g)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Small random layered networks (1-6 neurons per layer: the vector loops' tails) with
    /// probes, which take their neurons through the exact path inside a slot.
    #[test]
    fn small_probed_networks_give_the_same_bits_in_the_wide_build(
        seed in any::<u64>(), n_layers in 1usize..=3, readout in any::<bool>(),
    ) {
        let kind = if readout { LayerKind::Readout } else { LayerKind::Spiking };
        let (ff, input, probes) = ff_case(seed, n_layers, kind, LifParams::default());
        let base = probed_run(&ff, &input, &probes, VectorWidth::Baseline);
        for vectors in WIDER {
            prop_assert_eq!(&probed_run(&ff, &input, &probes, vectors), &base);
        }
    }
}

/// Which build each setting runs: on x86-64 the widest the CPU has (else the tests above compare
/// the baseline with itself).
#[test]
fn wide_build_is_chosen_where_the_cpu_has_it() {
    let mut ws = NetworkWorkspace::new();
    let chosen = ws.vector_build();
    eprintln!("widest build on this CPU: {chosen}");
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = std::arch::is_x86_feature_detected!("avx2");
        let expected = if std::arch::is_x86_feature_detected!("avx512f") {
            "avx512f"
        } else if avx2 {
            "avx2"
        } else {
            "baseline"
        };
        assert_eq!(chosen, expected);
        ws.vectors = VectorWidth::UpToAvx2;
        assert_eq!(ws.vector_build(), if avx2 { "avx2" } else { "baseline" });
    }
    ws.vectors = VectorWidth::Baseline;
    assert_eq!(ws.vector_build(), "baseline");
}
