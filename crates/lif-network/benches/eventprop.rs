//! EventProp forward and backward pass, timed separately, on the paper's two networks with
//! Table 3 initialisation, plus forward + backward over a batch with rayon (the training crate's
//! use). Throughput is in synaptic events (one per synapse a spike crosses) per second; samples/s
//! is the inverse of the time per iteration (one sample per iteration, except `batch_parallel`).
//!
//! `forward_backward_queue` is `forward_backward` through the event-driven queue
//! (`NetworkWorkspace::allow_sweeps = false`) instead of the population sweeps.
//!
//! The networks and inputs are those of `support/paper.rs` (Yin-Yang 5-200-3, MNIST-like
//! 784-350-10, Table 3 initialisation, random inputs).

#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
#[path = "support/paper.rs"]
mod paper;

use lif_network::eventprop::{NetworkCotangents, NetworkWorkspace, Observe, SampleScratch};
use paper::{mnist_like, yin_yang, Setup};
use rayon::prelude::*;

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
    // The same through the event-driven queue (what layered networks ran on before the
    // population sweeps; same results up to rounding).
    let mut queued = SampleScratch::default();
    queued.workspace.allow_sweeps = false;
    g.bench_function("forward_backward_queue", |b| {
        b.iter(|| {
            k = (k + 1) % n;
            s.net
                .accumulate_gradient(&s.inputs[k], &s.losses[k], &mut queued, &mut grad)
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
