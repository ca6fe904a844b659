//! The event-driven engine on the 1000-neuron recurrent network of `support/balanced.rs`
//! (800 exc / 200 inh, 10 % connectivity, 1000 Poisson inputs at 10 Hz, 1 s): forward pass
//! (throughput in synaptic events), and forward + EventProp backward of the loss "sum of all
//! spike times", without and with a 2 ms refractory period. Prints the firing rate, the number of
//! synaptic events and the bytes of the backward record per spike.
#![allow(missing_docs)]

#[path = "support/balanced.rs"]
mod balanced;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lif_network::engine::{NetworkCotangents, NetworkWorkspace};
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

fn benches(c: &mut Criterion) {
    bench_t_ref(c, 0.0);
    bench_t_ref(c, 2.0);
}

criterion_group!(network, benches);
criterion_main!(network);
