//! EventProp forward and backward pass, timed separately, on the paper's two networks with
//! Table 3 initialisation, plus forward + backward over a batch with rayon (the training crate's
//! use). Throughput is in synaptic events (one per synapse a spike crosses) per second; samples/s
//! is the inverse of the time per iteration (one sample per iteration, except `batch_parallel`).
//!
//! - Yin-Yang 5-200-3 (all LIF), hidden N(1.5, 0.78), output N(0.93, 0.1); inputs: random points
//!   encoded as in the paper (`x, y, 1-x, 1-y` at `feature · 30 ms`, bias at 0), `t_end = 60 ms`;
//!   loss eq. (3) (`τ0 = 0.5`, `τ1 = 6.4`, `α = 3e-3`).
//! - MNIST-like 784-350-10 (readout), hidden N(0.078, 0.045), readout N(0.2, 0.37); inputs: 150
//!   distinct random pixels with uniform times in `[0, 20] ms`, `t_end = 40 ms`; loss eq. (4).

#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lif_network::eventprop::{
    FeedForwardNet, InputSpike, LayerKind, LifParams, Loss, NetworkCotangents, NetworkWorkspace,
    Observe, SampleScratch,
};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;

struct Setup {
    name: &'static str,
    net: FeedForwardNet,
    inputs: Vec<Vec<InputSpike>>,
    losses: Vec<Loss>,
}

fn init(net: &mut FeedForwardNet, r: &mut ChaCha8Rng, moments: [(f64, f64); 2]) {
    for (layer, (mean, std)) in net.layers.iter_mut().zip(moments) {
        let d = Normal::new(mean, std).unwrap();
        layer.weights.iter_mut().for_each(|w| *w = d.sample(r));
    }
}

fn yin_yang() -> Setup {
    let mut r = ChaCha8Rng::seed_from_u64(1);
    let layers = [(200, LayerKind::Spiking), (3, LayerKind::Spiking)];
    let mut net = FeedForwardNet::new(5, &layers, LifParams::default(), 60.0).unwrap();
    init(&mut net, &mut r, [(1.5, 0.78), (0.93, 0.1)]);
    let inputs = (0..256)
        .map(|_| {
            let (x, y): (f64, f64) = (r.gen(), r.gen());
            let f = [x, y, 1.0 - x, 1.0 - y];
            let mut s: Vec<InputSpike> = (0..4)
                .map(|k| InputSpike {
                    time: f[k] * 30.0,
                    source: k as u32,
                })
                .collect();
            s.push(InputSpike {
                time: 0.0,
                source: 4,
            });
            s.sort_by(|a, b| a.time.total_cmp(&b.time));
            s
        })
        .collect();
    let losses = (0..256)
        .map(|k| Loss::FirstSpike {
            label: k % 3,
            tau0: 0.5,
            tau1: 6.4,
            alpha: 3e-3,
        })
        .collect();
    Setup {
        name: "yin_yang_5_200_3",
        net,
        inputs,
        losses,
    }
}

fn mnist_like() -> Setup {
    let mut r = ChaCha8Rng::seed_from_u64(2);
    let layers = [(350, LayerKind::Spiking), (10, LayerKind::Readout)];
    let mut net = FeedForwardNet::new(784, &layers, LifParams::default(), 40.0).unwrap();
    init(&mut net, &mut r, [(0.078, 0.045), (0.2, 0.37)]);
    let inputs = (0..64)
        .map(|_| {
            let mut s: Vec<InputSpike> = sample(&mut r, 784, 150)
                .iter()
                .map(|p| InputSpike {
                    time: r.gen_range(0.0..20.0),
                    source: p as u32,
                })
                .collect();
            s.sort_by(|a, b| a.time.total_cmp(&b.time));
            s
        })
        .collect();
    let losses = (0..64)
        .map(|k| Loss::MaxVoltage { label: k % 10 })
        .collect();
    Setup {
        name: "mnist_784_350_10",
        net,
        inputs,
        losses,
    }
}

fn bench_setup(c: &mut Criterion, s: &Setup) {
    let n = s.inputs.len();
    let mut ws = NetworkWorkspace::new();
    let (mut events, mut spikes) = (0usize, 0usize);
    for input in &s.inputs {
        s.net.forward(input, Observe::default(), &mut ws).unwrap();
        events += ws.synaptic_events();
        spikes += ws.spikes().len();
    }
    println!(
        "{}: {:.0} synaptic events and {:.1} spikes per sample",
        s.name,
        events as f64 / n as f64,
        spikes as f64 / n as f64
    );
    let mut g = c.benchmark_group(s.name);
    g.throughput(Throughput::Elements((events / n) as u64));
    let mut k = 0;
    g.bench_function("forward", |b| {
        b.iter(|| {
            k = (k + 1) % n;
            s.net
                .forward(&s.inputs[k], Observe::default(), &mut ws)
                .unwrap();
        })
    });
    let mut cot = NetworkCotangents::default();
    let mut grad = s.net.zero_gradient();
    g.bench_function("backward", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters as usize {
                let k = i % n;
                s.net
                    .forward(&s.inputs[k], Observe::default(), &mut ws)
                    .unwrap();
                s.losses[k].cotangents(&s.net, &ws, &mut cot).unwrap();
                let t0 = Instant::now();
                s.net.backward(&mut ws, &cot, &mut grad).unwrap();
                total += t0.elapsed();
            }
            total
        })
    });
    let mut scratch = SampleScratch::default();
    g.bench_function("forward_backward", |b| {
        b.iter(|| {
            k = (k + 1) % n;
            s.net
                .accumulate_gradient(&s.inputs[k], &s.losses[k], &mut scratch, &mut grad)
                .unwrap()
        })
    });
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("batch_parallel_samples", |b| {
        b.iter(|| {
            (0..n)
                .into_par_iter()
                .map(|k| {
                    s.net
                        .loss_and_gradient(&s.inputs[k], &s.losses[k])
                        .unwrap()
                        .loss
                })
                .sum::<f64>()
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_setup(c, &yin_yang());
    bench_setup(c, &mnist_like());
}

criterion_group!(eventprop, benches);
criterion_main!(eventprop);
