//! EventProp throughput on the paper's two networks, forward and backward separately and together,
//! on one thread and on all cores (rayon over the samples of a batch).
//!
//! - Yin-Yang 5-200-3, Table 3 initialisation (`snn_train::SnnClassifier` with the Yin-Yang
//!   configuration, seed 0), the first 256 samples of the published training split encoded as in
//!   the paper (`snn_train::encoding::YinYangEncoding`), first-spike loss eq. (3).
//! - MNIST-like 784-350-10 with a readout layer, Table 3 initialisation, 64 synthetic images of
//!   150 lit pixels (distinct random pixels, random intensity 2..=255, the paper's latency code
//!   `(1 - v/255) · 20 ms`), max-voltage loss eq. (4). Real MNIST digits light ~150 pixels too; the
//!   cost of an event does not depend on which pixel it comes from.
//!
//! Throughput unit: synaptic events, `Σ_layers (input events of the layer) × (neurons of the
//! layer)` (`NetworkWorkspace::synaptic_events`), per second; the backward pass walks the same events.
//! The batch is cut into one contiguous chunk per thread, each with its own workspace(s) and
//! gradient buffer, as a training loop does (the final sum of the per-thread gradients is not
//! timed). `forward` times the forward pass of the whole batch; `backward` the backward pass of
//! the whole batch from stored forward records; `forward_backward` the training step's
//! `accumulate_gradient` (forward, loss, backward) of the whole batch.
//!
//! The memory the backward pass needs per spike is measured by `benches/retained_memory`
//! (a counting allocator, which this package cannot depend on).

#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lif_network::eventprop::{NetworkCotangents, NetworkWorkspace, Observe, SampleScratch};
use lif_network::{FeedForwardNet, InputSpike, Loss};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use rayon::ThreadPool;
use snn_train::config::ExperimentConfig;
use snn_train::encoding::{MnistEncoding, YinYangEncoding};
use snn_train::snn::SnnClassifier;
use std::time::Duration;

struct Setup {
    name: &'static str,
    net: FeedForwardNet,
    inputs: Vec<Vec<InputSpike>>,
    losses: Vec<Loss>,
}

fn yin_yang() -> Setup {
    let config = ExperimentConfig::yin_yang();
    let model = SnnClassifier::new(&config).expect("Yin-Yang network");
    let enc = YinYangEncoding::default();
    let samples: Vec<_> = snn_train::yinyang::train_split()
        .into_iter()
        .take(256)
        .collect();
    Setup {
        name: "yin_yang_5_200_3",
        inputs: samples.iter().map(|s| enc.encode(s)).collect(),
        losses: samples.iter().map(|s| model.loss_for(s.label)).collect(),
        net: model.net,
    }
}

fn mnist_like() -> Setup {
    let config = ExperimentConfig::mnist();
    let model = SnnClassifier::new(&config).expect("MNIST network");
    let enc = MnistEncoding::default();
    let mut r = ChaCha8Rng::seed_from_u64(3);
    let mut inputs = Vec::new();
    let mut losses = Vec::new();
    for k in 0..64 {
        let mut pixels = vec![0u8; 784];
        for p in sample(&mut r, 784, 150).iter() {
            pixels[p] = r.gen_range(2..=255);
        }
        inputs.push(enc.encode(&pixels));
        losses.push(model.loss_for(k % 10));
    }
    Setup {
        name: "mnist_784_350_10",
        net: model.net,
        inputs,
        losses,
    }
}

/// One sample's forward record, cotangents and the chunk it belongs to.
struct Record {
    ws: NetworkWorkspace,
    cot: NetworkCotangents,
}

fn pool(threads: usize) -> ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
}

fn bench_setup(c: &mut Criterion, s: &Setup, thread_counts: &[usize]) {
    let n = s.inputs.len();
    let mut records: Vec<Record> = s
        .inputs
        .iter()
        .zip(&s.losses)
        .map(|(input, loss)| {
            let mut ws = NetworkWorkspace::new();
            let observe = Observe {
                probes: &[],
                silent_output_maxima: matches!(loss, Loss::FirstSpikeSilentRemedy { .. }),
                first_spike_output: false,
            };
            s.net.forward(input, observe, &mut ws).expect("forward");
            let mut cot = NetworkCotangents::default();
            loss.cotangents(&s.net, &ws, &mut cot).expect("cotangents");
            Record { ws, cot }
        })
        .collect();
    let events: usize = records.iter().map(|r| r.ws.synaptic_events()).sum();
    let spikes: usize = records.iter().map(|r| r.ws.spikes().len()).sum();
    let in_spikes: usize = s.inputs.iter().map(Vec::len).sum();
    println!(
        "{}: batch of {n}; per sample {:.1} input spikes, {:.1} network spikes, {:.0} synaptic events",
        s.name,
        in_spikes as f64 / n as f64,
        spikes as f64 / n as f64,
        events as f64 / n as f64
    );
    let mut g = c.benchmark_group(format!("eventprop_parallel_{}", s.name));
    g.throughput(Throughput::Elements(events as u64));
    g.warm_up_time(Duration::from_secs(1));
    for &threads in thread_counts {
        let pool = pool(threads);
        let chunk = n.div_ceil(threads);
        let mut grads: Vec<Vec<Vec<f64>>> = (0..threads).map(|_| s.net.zero_gradient()).collect();
        let mut scratch: Vec<SampleScratch> =
            (0..threads).map(|_| SampleScratch::default()).collect();
        let id = |what: &str| BenchmarkId::new(what, format!("threads{threads}"));
        g.bench_function(id("forward"), |b| {
            b.iter(|| {
                pool.install(|| {
                    records
                        .par_chunks_mut(chunk)
                        .zip(s.inputs.par_chunks(chunk))
                        .for_each(|(recs, inputs)| {
                            for (r, input) in recs.iter_mut().zip(inputs) {
                                s.net
                                    .forward(input, Observe::default(), &mut r.ws)
                                    .expect("forward");
                            }
                        })
                })
            })
        });
        // The loss needs its own observations (e.g. silent-output maxima): redo its forward pass
        // before timing backward passes (which only read the record and reuse its scratch).
        for ((r, input), loss) in records.iter_mut().zip(&s.inputs).zip(&s.losses) {
            let observe = Observe {
                probes: &[],
                silent_output_maxima: matches!(loss, Loss::FirstSpikeSilentRemedy { .. }),
                first_spike_output: false,
            };
            s.net.forward(input, observe, &mut r.ws).expect("forward");
        }
        g.bench_function(id("backward"), |b| {
            b.iter(|| {
                pool.install(|| {
                    records
                        .par_chunks_mut(chunk)
                        .zip(grads.par_iter_mut())
                        .for_each(|(recs, grad)| {
                            for r in recs.iter_mut() {
                                s.net.backward(&mut r.ws, &r.cot, grad).expect("backward");
                            }
                        })
                })
            })
        });
        g.bench_function(id("forward_backward"), |b| {
            b.iter(|| {
                pool.install(|| {
                    s.inputs
                        .par_chunks(chunk)
                        .zip(s.losses.par_chunks(chunk))
                        .zip(scratch.par_iter_mut().zip(grads.par_iter_mut()))
                        .map(|((inputs, losses), (scr, grad))| {
                            let mut total = 0.0;
                            for (input, loss) in inputs.iter().zip(losses) {
                                total += s
                                    .net
                                    .accumulate_gradient(input, loss, scr, grad)
                                    .expect("sample")
                                    .loss;
                            }
                            total
                        })
                        .sum::<f64>()
                })
            })
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let thread_counts: Vec<usize> = if all > 1 { vec![1, all] } else { vec![1] };
    bench_setup(c, &yin_yang(), &thread_counts);
    bench_setup(c, &mnist_like(), &thread_counts);
}

criterion_group!(eventprop_parallel, benches);
criterion_main!(eventprop_parallel);
