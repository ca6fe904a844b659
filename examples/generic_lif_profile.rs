//! A driver for counting the instructions of the generic framework on a spiking network: the
//! recurrent case of `benches/eventprop_vs_generic.rs` (`benches/support/recurrent_case.rs`:
//! N = 8 LIF neurons, 4 inputs, `t_end = 50 ms`, 16 seeded samples) as a `HybridSystem`
//! (`lif_network::generic::LifNetwork`), each sample simulated once (for its spike counts) and
//! then differentiated by the adjoint, default options; the loss is the sum of every spike time
//! plus every voltage at `0.9 t_end`. `R` rounds over the 16 samples; prints a hash of the bits of
//! the last round's gradients.
//!
//! ```sh
//! cargo build --release --example generic_lif_profile
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/generic_lif_profile 1
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/generic_lif_profile 3
//! ```
//!
//! The difference of the two totals over 32 is the marginal count of one sample (the start-up
//! cancels).

#[path = "../benches/support/recurrent_case.rs"]
mod recurrent_case;

use hybrid_core::{adjoint_gradient, simulate, SolverOptions};
use lif_network::generic::{spike_counts, LifNetwork, SpikeVoltageLoss};
use recurrent_case::{recurrent_case, N};

const SAMPLES: usize = 16;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args().nth(1).map_or(Ok(1), |s| s.parse())?;
    let (net, inputs) = recurrent_case(SAMPLES);
    let opts = SolverOptions::default();
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for round in 0..rounds {
        for input in &inputs {
            let (model, p) = LifNetwork::from_recurrent(&net, input)?;
            let sol = simulate(&model, &p, 0.0, net.t_end, &opts)?;
            let counts = spike_counts(&sol.events, model.neurons());
            let mut loss = SpikeVoltageLoss::new(&model);
            for (n, &count) in counts.iter().enumerate().take(N) {
                for k in 0..count {
                    loss = loss.spike_time(n, k, 1.0)?;
                }
                loss = loss.voltage(n, 0.9 * net.t_end, 1.0)?;
            }
            let g = adjoint_gradient(&model, &p, 0.0, net.t_end, &loss, &opts)?.gradient;
            if round + 1 == rounds {
                // FNV-1a over every entry's bits.
                for v in g {
                    for b in v.to_bits().to_le_bytes() {
                        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
                    }
                }
            }
        }
    }
    println!("gradient hash {hash:016x} ({SAMPLES} samples, {rounds} rounds)");
    Ok(())
}
