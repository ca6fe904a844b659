//! The recurrent case of `benches/eventprop_vs_generic.rs`, shared with
//! `examples/generic_lif_profile.rs` so that criterion timings and instruction counts are taken
//! on the same network: N = 8 LIF neurons with 4 inputs, input weights `N(3, 1.5)`, recurrent
//! weights `N(0, 0.7)` (no self-connections), and per sample 3 input spikes per input, uniform in
//! `[0, 30] ms`; `t_end = 50 ms`, all draws from one `ChaCha8Rng` seeded with 11.

#![allow(dead_code)]

use lif_network::{InputSpike, LifParams, RecurrentNet};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Neurons.
pub const N: usize = 8;
/// Inputs.
pub const N_IN: usize = 4;

/// A standard normal draw (Box-Muller).
fn normal(r: &mut ChaCha8Rng) -> f64 {
    let (u, v): (f64, f64) = (r.gen_range(f64::EPSILON..1.0), r.gen());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// The network and `samples` input spike trains.
pub fn recurrent_case(samples: usize) -> (RecurrentNet, Vec<Vec<InputSpike>>) {
    let mut r = ChaCha8Rng::seed_from_u64(11);
    let mut net = RecurrentNet::new(N, N_IN, LifParams::default(), 50.0).expect("net");
    net.input_weights
        .iter_mut()
        .for_each(|w| *w = 3.0 + 1.5 * normal(&mut r));
    for post in 0..N {
        for pre in (0..N).filter(|&pre| pre != post) {
            net.weights[post * N + pre] = 0.7 * normal(&mut r);
        }
    }
    let inputs = (0..samples)
        .map(|_| {
            (0..N_IN as u32)
                .flat_map(|source| (0..3).map(move |_| source))
                .map(|source| InputSpike {
                    time: r.gen_range(0.0..30.0),
                    source,
                })
                .collect()
        })
        .collect();
    (net, inputs)
}
