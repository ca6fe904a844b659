//! How much memory EventProp keeps from the forward pass for the backward pass, per spike,
//! measured with a counting global allocator (`stats_alloc`) against the paper's `O(S)` claim
//! (Wunderlich & Pehle 2021, "the memory requirement of the algorithm scales as O(S)").
//!
//! For the paper's two networks (Table 3 initialisation) and inputs of growing size, per sample:
//! - `record`: the bytes of the forward record as the backward pass needs it, i.e. what the
//!   allocator hands out while cloning the `NetworkWorkspace` after the forward pass (a clone allocates
//!   exactly the lengths, no spare capacity);
//! - `held`: the bytes a fresh `NetworkWorkspace` holds after one forward and one backward pass
//!   (allocated minus freed, spare capacity of the growing buffers included).
//!
//! `S` counts the spikes the record stores: input spikes plus network spikes. If memory is
//! `O(S)`, `record / S` stays constant as inputs grow (up to the `O(neurons)` constant of
//! per-neuron offsets and maxima, visible at small `S`); a simulation that stored the trajectory
//! on a time grid would grow with the time span instead.

use lif_network::eventprop::{NetworkCotangents, NetworkWorkspace, Observe};
use lif_network::{FeedForwardNet, InputSpike, LayerKind, LifParams, Loss};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Standard normal by Box-Muller.
fn normal(r: &mut ChaCha8Rng) -> f64 {
    let (u, v): (f64, f64) = (r.gen_range(f64::EPSILON..1.0), r.gen());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// A two-layer network with Table 3's normal initialisation `[(mean, std); 2]`.
fn network(
    n_in: usize,
    hidden: usize,
    out: (usize, LayerKind),
    t_end: f64,
    init: [(f64, f64); 2],
    seed: u64,
) -> FeedForwardNet {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let mut net = FeedForwardNet::new(
        n_in,
        &[(hidden, LayerKind::Spiking), out],
        LifParams::default(),
        t_end,
    )
    .expect("network");
    for (layer, (mean, std)) in net.layers.iter_mut().zip(init) {
        layer
            .weights
            .iter_mut()
            .for_each(|w| *w = mean + std * normal(&mut r));
    }
    net
}

/// Yin-Yang encoding (`[x, y, 1-x, 1-y] · 30 ms`, bias at 0) of a random point, repeated
/// `repeats` times every 60 ms.
fn yin_yang_input(r: &mut ChaCha8Rng, repeats: usize) -> Vec<InputSpike> {
    let mut s = Vec::new();
    for k in 0..repeats {
        let (x, y): (f64, f64) = (r.gen(), r.gen());
        let t0 = 60.0 * k as f64;
        for (source, f) in [x, y, 1.0 - x, 1.0 - y].into_iter().enumerate() {
            s.push(InputSpike {
                time: t0 + 30.0 * f,
                source: source as u32,
            });
        }
        s.push(InputSpike {
            time: t0,
            source: 4,
        });
    }
    s.sort_by(|a, b| a.time.total_cmp(&b.time));
    s
}

/// `lit` distinct pixels of random intensity 2..=255 in the paper's latency code `(1 - v/255) 20
/// ms`, repeated `repeats` times every 40 ms (new pixels each time).
fn mnist_input(r: &mut ChaCha8Rng, lit: usize, repeats: usize) -> Vec<InputSpike> {
    let mut s = Vec::new();
    for k in 0..repeats {
        for p in sample(r, 784, lit).iter() {
            let v = f64::from(r.gen_range(2u8..=255));
            s.push(InputSpike {
                time: 40.0 * k as f64 + (1.0 - v / 255.0) * 20.0,
                source: p as u32,
            });
        }
    }
    s.sort_by(|a, b| a.time.total_cmp(&b.time));
    s
}

struct Measured {
    input_spikes: usize,
    network_spikes: usize,
    record: usize,
    held: usize,
}

fn net_bytes(s: stats_alloc::Stats) -> usize {
    (s.bytes_allocated as isize - s.bytes_deallocated as isize + s.bytes_reallocated) as usize
}

fn measure(net: &FeedForwardNet, input: &[InputSpike], loss: &Loss) -> Measured {
    let mut cot = NetworkCotangents::default();
    let mut grad = net.zero_gradient();
    let region = Region::new(GLOBAL);
    let mut ws = NetworkWorkspace::new();
    net.forward(input, Observe::default(), &mut ws)
        .expect("forward");
    let held_forward = net_bytes(region.change());
    let region = Region::new(GLOBAL);
    let copy = ws.clone();
    let record = region.change().bytes_allocated;
    drop(copy);
    loss.cotangents(net, &ws, &mut cot).expect("cotangents");
    let region = Region::new(GLOBAL);
    net.backward(&mut ws, &cot, &mut grad).expect("backward");
    let held = held_forward + net_bytes(region.change());
    Measured {
        input_spikes: input.len(),
        network_spikes: ws.spikes().len(),
        record,
        held,
    }
}

fn report(name: &str, rows: Vec<(String, Vec<Measured>)>) {
    println!("\n{name}");
    println!("| input | input spikes | network spikes | S | record (bytes) | record / S | held (bytes) | held / S |");
    println!("|---|---|---|---|---|---|---|---|");
    for (label, ms) in rows {
        let k = ms.len() as f64;
        let mean = |f: &dyn Fn(&Measured) -> usize| ms.iter().map(f).sum::<usize>() as f64 / k;
        let (si, sn) = (mean(&|m| m.input_spikes), mean(&|m| m.network_spikes));
        let s = si + sn;
        let (rec, held) = (mean(&|m| m.record), mean(&|m| m.held));
        println!(
            "| {label} | {si:.0} | {sn:.0} | {s:.0} | {rec:.0} | {:.1} | {held:.0} | {:.1} |",
            rec / s,
            held / s
        );
    }
}

fn main() {
    const SAMPLES: usize = 8;
    let mut r = ChaCha8Rng::seed_from_u64(5);
    let mut rows = Vec::new();
    for repeats in [1usize, 4, 16, 64] {
        let t_end = 60.0 * repeats as f64;
        let net = network(
            5,
            200,
            (3, LayerKind::Spiking),
            t_end,
            [(1.5, 0.78), (0.93, 0.1)],
            1,
        );
        let loss = Loss::FirstSpike {
            label: 0,
            tau0: 0.5,
            tau1: 6.4,
            alpha: 3e-3,
        };
        let ms = (0..SAMPLES)
            .map(|_| measure(&net, &yin_yang_input(&mut r, repeats), &loss))
            .collect();
        rows.push((format!("{repeats} × 60 ms"), ms));
    }
    report("Yin-Yang 5-200-3 (Table 3 init), pattern repeated", rows);

    let mut rows = Vec::new();
    for (lit, repeats) in [(50usize, 1usize), (150, 1), (450, 1), (150, 8), (150, 32)] {
        let net = network(
            784,
            350,
            (10, LayerKind::Readout),
            40.0 * repeats as f64,
            [(0.078, 0.045), (0.2, 0.37)],
            2,
        );
        let loss = Loss::MaxVoltage { label: 0 };
        let ms = (0..SAMPLES)
            .map(|_| measure(&net, &mnist_input(&mut r, lit, repeats), &loss))
            .collect();
        rows.push((format!("{lit} px × {repeats}"), ms));
    }
    report("MNIST-like 784-350-10 (Table 3 init)", rows);
}
