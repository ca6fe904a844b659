//! The event-driven engine on the 1000-neuron recurrent network of `support/balanced.rs`
//! (800 exc / 200 inh, 10 % connectivity, 1000 Poisson inputs at 10 Hz, 1 s): forward pass
//! (throughput in synaptic events), and forward + EventProp backward of the loss "sum of all
//! spike times", without and with a 2 ms refractory period. Prints the firing rate, the number of
//! synaptic events and the bytes of the backward record per spike. Also Yin-Yang 5-200-3 as a
//! layered network (dense views of its weights) and as a sparse `Network` (fan-out lists).
#![allow(missing_docs)]

#[path = "support/balanced.rs"]
mod balanced;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lif_network::engine::{Network, NetworkCotangents, NetworkWorkspace};
use lif_network::eventprop::{FeedForwardNet, Observe};
use lif_network::{InputSpike, LayerKind, LifParams};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use std::time::Duration;

fn bench_t_ref(c: &mut Criterion, t_ref: f64) {
    let t_end = 1000.0;
    let (net, input) = balanced::balanced(1, t_end, t_ref);
    let mut ws = NetworkWorkspace::new();
    net.forward(&input, &[], &mut ws).unwrap();
    let (spikes, events) = (ws.spikes().len(), ws.synaptic_events());
    println!(
        "recurrent_1000 t_ref {t_ref} ms: {:.2} Hz, {spikes} spikes, {events} synaptic events, record {} B/spike",
        spikes as f64 / net.n_neurons() as f64 / (t_end / 1000.0),
        ws.record_bytes_per_spike()
    );
    let mut g = c.benchmark_group(format!("recurrent_1000_tref{t_ref}"));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(events as u64));
    g.bench_function("forward", |b| {
        b.iter(|| net.forward(&input, &[], &mut ws).unwrap())
    });
    let mut cot = NetworkCotangents::zeros_for(&ws);
    cot.spike_times.fill(1.0);
    let mut grad = net.zero_gradient();
    g.bench_function("forward_backward", |b| {
        b.iter(|| {
            net.forward(&input, &[], &mut ws).unwrap();
            net.backward(&mut ws, &cot, &mut grad).unwrap();
        })
    });
    g.finish();
}

/// Yin-Yang 5-200-3 (the `eventprop` bench's network and inputs: Table 3 initialisation, random
/// points, paper encoding) as a layered network (dense view) and as a sparse `Network`, forward +
/// backward of "sum of the output spike times", one sample per iteration: the cost of fan-out
/// lists against dense rows on the paper's layered special case.
fn bench_yin_yang_paths(c: &mut Criterion) {
    let mut r = ChaCha8Rng::seed_from_u64(1);
    let layers = [(200, LayerKind::Spiking), (3, LayerKind::Spiking)];
    let mut ff = FeedForwardNet::new(5, &layers, LifParams::default(), 60.0).unwrap();
    for (layer, (mean, std)) in ff.layers.iter_mut().zip([(1.5, 0.78), (0.93, 0.1)]) {
        let d = Normal::new(mean, std).unwrap();
        // Post by post (the draw order of the earlier post-major layout), placed pre-major.
        for post in 0..layer.n_out {
            for pre in 0..layer.n_in {
                let k = layer.index(pre, post);
                layer.weights[k] = d.sample(&mut r);
            }
        }
    }
    let inputs: Vec<Vec<InputSpike>> = (0..256)
        .map(|_| {
            let (x, y): (f64, f64) = (r.gen(), r.gen());
            let mut s: Vec<InputSpike> = [x, y, 1.0 - x, 1.0 - y]
                .iter()
                .enumerate()
                .map(|(k, f)| InputSpike {
                    time: f * 30.0,
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
    let net = Network::from_feed_forward(&ff).unwrap();
    let mut g = c.benchmark_group("yin_yang_5_200_3_paths");
    g.throughput(Throughput::Elements(1));
    let (mut ws, mut cot, mut grad) = (
        NetworkWorkspace::new(),
        NetworkCotangents::default(),
        ff.zero_gradient(),
    );
    let mut k = 0;
    g.bench_function("layered_forward_backward", |b| {
        b.iter(|| {
            k = (k + 1) % inputs.len();
            ff.forward(&inputs[k], Observe::default(), &mut ws).unwrap();
            cot.reset_for(&ws);
            for (c, s) in cot.spike_times.iter_mut().zip(ws.spikes()) {
                *c = if s.neuron >= 200 { 1.0 } else { 0.0 };
            }
            ff.backward(&mut ws, &cot, &mut grad).unwrap();
        })
    });
    let (mut nws, mut ncot, mut ngrad) = (
        NetworkWorkspace::new(),
        NetworkCotangents::default(),
        net.zero_gradient(),
    );
    g.bench_function("sparse_forward_backward", |b| {
        b.iter(|| {
            k = (k + 1) % inputs.len();
            net.forward(&inputs[k], &[], &mut nws).unwrap();
            ncot.reset_for(&nws);
            for (c, s) in ncot.spike_times.iter_mut().zip(nws.spikes()) {
                *c = if s.neuron >= 200 { 1.0 } else { 0.0 };
            }
            net.backward(&mut nws, &ncot, &mut ngrad).unwrap();
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_yin_yang_paths(c);
    bench_t_ref(c, 0.0);
    bench_t_ref(c, 2.0);
}

criterion_group!(network, benches);
criterion_main!(network);
