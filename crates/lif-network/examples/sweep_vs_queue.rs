//! How far the two forward/backward passes of the engine are apart on the paper's layered
//! networks: the population sweeps (chosen for feed-forward networks) against the event-driven
//! queue (`NetworkWorkspace::allow_sweeps = false`). Samples and losses
//! of `benches/support/paper.rs` (256 Yin-Yang, 64 MNIST-like); prints the largest differences
//! of spike times, losses and gradient entries, and whether the same neurons fire in the same
//! order.
//!
//! `cargo run --release -p lif-network --example sweep_vs_queue`

#[path = "../benches/support/paper.rs"]
mod paper;

use lif_network::engine::{NetworkCotangents, NetworkWorkspace};
use lif_network::eventprop::Observe;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for s in [paper::yin_yang(), paper::mnist_like()] {
        let (mut ws_a, mut ws_b) = (NetworkWorkspace::new(), NetworkWorkspace::new());
        ws_b.allow_sweeps = false;
        let (mut cot_a, mut cot_b) = (NetworkCotangents::default(), NetworkCotangents::default());
        let (mut dt, mut dl, mut dg, mut g_max) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        let (mut same_counts, mut bit_equal_times, mut spikes) = (0, 0, 0);
        for (input, loss) in s.inputs.iter().zip(&s.losses) {
            s.net.forward(input, Observe::default(), &mut ws_a)?;
            s.net.forward(input, Observe::default(), &mut ws_b)?;
            let la = loss.cotangents(&s.net, &ws_a, &mut cot_a)?;
            let lb = loss.cotangents(&s.net, &ws_b, &mut cot_b)?;
            dl = dl.max(((la - lb) / la.abs().max(1e-300)).abs());
            let (a, b) = (ws_a.spikes(), ws_b.spikes());
            if a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.neuron == y.neuron) {
                same_counts += 1;
                for (x, y) in a.iter().zip(b) {
                    dt = dt.max((x.time - y.time).abs());
                    bit_equal_times += usize::from(x.time == y.time);
                }
                spikes += a.len();
            }
            let mut ga = s.net.zero_gradient();
            s.net.backward(&mut ws_a, &cot_a, &mut ga)?;
            let mut gb = s.net.zero_gradient();
            s.net.backward(&mut ws_b, &cot_b, &mut gb)?;
            for (l, layer) in s.net.layers.iter().enumerate() {
                for pre in 0..layer.n_in {
                    for post in 0..layer.n_out {
                        let x = ga[l][layer.index(pre, post)];
                        let y = gb[l][layer.index(pre, post)];
                        dg = dg.max((x - y).abs());
                        g_max = g_max.max(x.abs());
                    }
                }
            }
        }
        let n = s.inputs.len();
        println!(
            "{}: same spiking neurons in the same order in {same_counts}/{n} samples; \
             spike times differ by at most {dt:.2e} ms ({bit_equal_times} of {spikes} bit-identical), \
             losses by {dl:.1e} relative, gradient entries by {dg:.2e} (largest entry {g_max:.2e})",
            s.name
        );
    }
    Ok(())
}
