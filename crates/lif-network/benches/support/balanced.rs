//! The 1000-neuron recurrent benchmark network: 800 excitatory and 200 inhibitory LIF neurons
//! (τm = 20 ms, τs = 5 ms, ϑ = 1), each pair connected with probability 0.1, driven by 1000
//! Poisson inputs at 10 Hz, each input connected to each neuron with probability 0.1. Weights are
//! constant per kind of synapse (input `W_IN`, excitatory `W_E`, inhibitory `-G W_E`), chosen so
//! that the network fires at about 20 Hz. Shared by `benches/network.rs` and
//! `examples/recurrent_1000.rs` (which also exports it for the Brian2 peer script).

#![allow(dead_code)]

use lif_network::engine::{Network, Population, Projection, Source};
use lif_network::{InputSpike, LifParams};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};

pub const N_EXC: usize = 800;
pub const N_INH: usize = 200;
pub const N_INPUTS: usize = 1000;
pub const INPUT_RATE_HZ: f64 = 10.0;
pub const P_CONNECT: f64 = 0.1;
pub const W_IN: f64 = 0.225;
pub const W_E: f64 = 0.05;
pub const G: f64 = 4.0;

/// Synapses `(pre, post, w)` from `n_pre` to `n_post` neurons with probability `P_CONNECT`.
fn random_synapses(
    r: &mut ChaCha8Rng,
    n_pre: usize,
    n_post: usize,
    w: f64,
    skip_diagonal: bool,
) -> Vec<(u32, u32, f64)> {
    let mut out = Vec::new();
    for pre in 0..n_pre {
        for post in 0..n_post {
            if !(skip_diagonal && pre == post) && r.gen_bool(P_CONNECT) {
                out.push((pre as u32, post as u32, w));
            }
        }
    }
    out
}

/// The network over `[0, t_end]` ms (refractory period `t_ref` ms in both populations) and one
/// Poisson input train, from `seed`.
pub fn balanced(seed: u64, t_end: f64, t_ref: f64) -> (Network, Vec<InputSpike>) {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let params = LifParams {
        tau_mem: 20.0,
        tau_syn: 5.0,
        threshold: 1.0,
    };
    let pops = vec![
        Population::new("exc", N_EXC, params).with_refractory(t_ref),
        Population::new("inh", N_INH, params).with_refractory(t_ref),
    ];
    let mut net = Network::new(N_INPUTS, pops, t_end);
    let sizes = [N_EXC, N_INH];
    for (post, &n_post) in sizes.iter().enumerate() {
        let syn = random_synapses(&mut r, N_INPUTS, n_post, W_IN, false);
        net.projections
            .push(Projection::sparse(Source::Input, post, N_INPUTS, &syn));
    }
    for (pre, &n_pre) in sizes.iter().enumerate() {
        let w = if pre == 0 { W_E } else { -G * W_E };
        for (post, &n_post) in sizes.iter().enumerate() {
            let syn = random_synapses(&mut r, n_pre, n_post, w, pre == post);
            net.projections.push(Projection::sparse(
                Source::Population(pre),
                post,
                n_pre,
                &syn,
            ));
        }
    }
    (net, poisson(&mut r, t_end))
}

/// `N_INPUTS` Poisson trains at `INPUT_RATE_HZ` on `[0, t_end]`, sorted by time.
pub fn poisson(r: &mut ChaCha8Rng, t_end: f64) -> Vec<InputSpike> {
    let gap = Exp::new(INPUT_RATE_HZ / 1000.0).expect("positive rate");
    let mut out = Vec::new();
    for source in 0..N_INPUTS as u32 {
        let mut t = gap.sample(r);
        while t < t_end {
            out.push(InputSpike { time: t, source });
            t += gap.sample(r);
        }
    }
    out.sort_by(|a, b| a.time.total_cmp(&b.time));
    out
}
