//! Forward + backward throughput of the paper's layered networks on one thread, robust to a busy
//! machine: `--rounds R` rounds over all samples of `benches/support/paper.rs` (256 Yin-Yang
//! 5-200-3 samples, 64 MNIST-like 784-350-10 samples, Table 3 initialisation), each sample through
//! `FeedForwardNet::accumulate_gradient` (forward, loss, backward, buffers reused);
//! prints the mean time per sample of the fastest round (the least disturbed by other processes)
//! and of all rounds, with the spikes and synaptic events per sample and a hash of the bits of
//! every spike, loss and gradient of the first pass over the samples.
//!
//! `cargo run --release -p lif-network --example layered_throughput -- [--rounds R] [--only NAME] [--queue] [--baseline|--avx2|--compare]`
//! (`--only yin_yang` or `--only mnist`: one network, e.g. for instruction counts of one;
//! `--queue`: through the event-driven queue instead of the population sweeps; `--baseline` or
//! `--avx2`: the sweeps' loops in their baseline or at most AVX2 build instead of the widest this
//! CPU runs, same bits; `--compare`: the three builds alternated round by round).
//!
//! `--first-spike-output`: the row of the time-to-first-spike readout instead
//! (`SampleScratch::first_spike_output`: the output neurons stop after their first spike when the
//! loss reads only first spikes, as Yin-Yang's does; the same loss and gradient bits, a record
//! without the later output spikes, so its own hash); `--both-outputs`: the full simulation's row,
//! then that one. MNIST-like's loss reads maxima: its row is the full simulation, labelled so.

#[path = "../benches/support/paper.rs"]
mod paper;

use std::time::Instant;

use lif_network::eventprop::{SampleScratch, VectorWidth};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|k| args.get(k + 1))
        .map_or(Ok(10), |s| s.parse())?;
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|k| args.get(k + 1));
    let flag = |f: &str| args.iter().any(|a| a == f);
    let modes: &[bool] = if flag("--both-outputs") {
        &[false, true]
    } else if flag("--first-spike-output") {
        &[true]
    } else {
        &[false]
    };
    for s in [paper::yin_yang(), paper::mnist_like()] {
        if only.is_some_and(|o| !s.name.starts_with(o.as_str())) {
            continue;
        }
        for &first in modes {
            row(&s, first, rounds, &args)?;
        }
    }
    Ok(())
}

/// One row: the samples of `s` through `accumulate_gradient` (`first`: with the first-spike
/// output readout allowed), the hash of the first pass, then the rounds.
fn row(
    s: &paper::Setup,
    first: bool,
    rounds: usize,
    args: &[String],
) -> Result<(), Box<dyn std::error::Error>> {
    {
        let mut scratch = SampleScratch::default();
        scratch.first_spike_output = first;
        let label = match (first, s.losses.iter().all(|l| l.reads_first_spikes_only())) {
            (false, _) => "",
            (true, true) => " [first-spike output]",
            (true, false) => " [first-spike output n/a: the loss reads maxima; full simulation]",
        };
        scratch.workspace.allow_sweeps = !args.iter().any(|a| a == "--queue");
        scratch.workspace.vectors = if args.iter().any(|a| a == "--baseline") {
            VectorWidth::Baseline
        } else if args.iter().any(|a| a == "--avx2") {
            VectorWidth::UpToAvx2
        } else {
            VectorWidth::Widest
        };
        let mut grad = s.net.zero_gradient();
        let n = s.inputs.len();
        let (mut spikes, mut events) = (0, 0);
        // FNV-1a of the bits of every spike (neuron, time, current) and loss of the samples and
        // of the gradient summed over them: equal hashes, same bits.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut mix = |word: u64| {
            for byte in word.to_le_bytes() {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        };
        for (input, loss) in s.inputs.iter().zip(&s.losses) {
            let st = s
                .net
                .accumulate_gradient(input, loss, &mut scratch, &mut grad)?;
            spikes += st.spikes;
            events += scratch.workspace.synaptic_events();
            for sp in scratch.workspace.spikes() {
                mix(u64::from(sp.neuron));
                mix(sp.time.to_bits());
                mix(sp.i_syn.to_bits());
            }
            mix(st.loss.to_bits());
        }
        grad.iter().flatten().for_each(|g| mix(g.to_bits()));
        if args.iter().any(|a| a == "--compare") {
            return compare_builds(s, &mut scratch, &mut grad, rounds);
        }
        let (mut best, mut total) = (f64::INFINITY, 0.0);
        for _ in 0..rounds {
            let t0 = Instant::now();
            for (input, loss) in s.inputs.iter().zip(&s.losses) {
                s.net
                    .accumulate_gradient(input, loss, &mut scratch, &mut grad)?;
            }
            let t = t0.elapsed().as_secs_f64() / n as f64;
            best = best.min(t);
            total += t;
        }
        println!(
            "{}{label} ({} loops): {:.1} spikes, {:.0} synaptic events per sample, hash {hash:016x}; forward + backward {:.2} us per sample in the fastest of {rounds} rounds ({:.0} samples/s), {:.2} us on average",
            s.name,
            scratch.workspace.vector_build(),
            spikes as f64 / n as f64,
            events as f64 / n as f64,
            best * 1e6,
            1.0 / best,
            total / rounds as f64 * 1e6
        );
    }
    Ok(())
}

/// `--compare`: the builds of the sweeps' loops alternated round by round (so that a change of
/// the machine's load hits all of them alike); each one's fastest and median round per sample.
fn compare_builds(
    s: &paper::Setup,
    scratch: &mut SampleScratch,
    grad: &mut [Vec<f64>],
    rounds: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let builds = [
        VectorWidth::Baseline,
        VectorWidth::UpToAvx2,
        VectorWidth::Widest,
    ];
    let mut times = vec![Vec::new(); builds.len()];
    for _ in 0..rounds {
        for (b, &v) in builds.iter().enumerate() {
            scratch.workspace.vectors = v;
            let t0 = Instant::now();
            for (input, loss) in s.inputs.iter().zip(&s.losses) {
                s.net.accumulate_gradient(input, loss, scratch, grad)?;
            }
            times[b].push(t0.elapsed().as_secs_f64() / s.inputs.len() as f64 * 1e6);
        }
    }
    for (&v, t) in builds.iter().zip(&mut times) {
        scratch.workspace.vectors = v;
        t.sort_by(f64::total_cmp);
        println!(
            "{} ({} loops): fastest round {:.2} us per sample ({:.0} samples/s), median {:.2} us, {rounds} rounds",
            s.name,
            scratch.workspace.vector_build(),
            t[0],
            1e6 / t[0],
            t[t.len() / 2]
        );
    }
    Ok(())
}
