//! The paper's two layered networks with Table 3 initialisation and random inputs, shared by
//! `benches/eventprop.rs` and `examples/layered_throughput.rs`:
//!
//! - Yin-Yang 5-200-3 (all LIF), hidden N(1.5, 0.78), output N(0.93, 0.1); inputs: random points
//!   encoded as in the paper (`x, y, 1-x, 1-y` at `feature · 30 ms`, bias at 0), `t_end = 60 ms`;
//!   loss eq. (3) (`τ0 = 0.5`, `τ1 = 6.4`, `α = 3e-3`); 256 samples, seed 1.
//! - MNIST-like 784-350-10 (readout), hidden N(0.078, 0.045), readout N(0.2, 0.37); inputs: 150
//!   distinct random pixels with uniform times in `[0, 20] ms`, `t_end = 40 ms`; loss eq. (4);
//!   64 samples, seed 2.

#![allow(dead_code)]

use lif_network::eventprop::{FeedForwardNet, InputSpike, LayerKind, LifParams, Loss};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

pub struct Setup {
    pub name: &'static str,
    pub net: FeedForwardNet,
    pub inputs: Vec<Vec<InputSpike>>,
    pub losses: Vec<Loss>,
}

fn init(net: &mut FeedForwardNet, r: &mut ChaCha8Rng, moments: [(f64, f64); 2]) {
    for (layer, (mean, std)) in net.layers.iter_mut().zip(moments) {
        let d = Normal::new(mean, std).unwrap();
        // Drawn post by post (the order of the post-major layout these samples were made
        // with), placed pre-major: the same networks as before the layout changed.
        for post in 0..layer.n_out {
            for pre in 0..layer.n_in {
                let k = layer.index(pre, post);
                layer.weights[k] = d.sample(r);
            }
        }
    }
}

pub fn yin_yang() -> Setup {
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

pub fn mnist_like() -> Setup {
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
