//! Forward + backward throughput of the paper's MNIST network (784-350-10, readout layer,
//! max-voltage loss, Table 3 initialisation with seed 0) on **real MNIST images**, one thread:
//! the first `--samples N` training images (default 256), encoded by the paper's pixel latencies
//! (`MnistEncoding::default()`, no dropout), each through `FeedForwardNet::accumulate_gradient`
//! (forward, loss, backward, buffers reused), `--rounds R` times over all of them (default 20).
//! Prints the mean time per sample of the fastest round (the least disturbed by other processes)
//! and of all rounds, with the input spikes, their distinct times, and the network's spikes and
//! synaptic events per sample, and a hash of the bits of the gradient summed over the samples
//! (FNV-1a over every entry's `to_bits`, in post-major order), so that two builds can be checked
//! for the same bits.
//!
//! The MNIST files are not part of the repository; give their directory (the four IDX files,
//! gzipped or not, as for `snn-train mnist`). `--weights FILE` takes the network from a weights
//! file written by `snn-train` (e.g. `runs/<name>/weights.safetensors` after some training)
//! instead of the initialisation; it must be an MNIST (784-350-10 readout) network:
//!
//! `cargo run --release -p snn-train --example mnist_throughput -- --mnist DIR [--samples N] [--rounds R] [--weights FILE]`

use std::path::PathBuf;
use std::time::Instant;

use lif_network::eventprop::SampleScratch;
use snn_train::checkpoint::load_weights;
use snn_train::config::{EncodingConfig, ExperimentConfig};
use snn_train::mnist::load_mnist;
use snn_train::snn::SnnClassifier;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|k| args.get(k + 1))
    };
    let rounds: usize = value("--rounds").map_or(Ok(20), |s| s.parse())?;
    let samples: usize = value("--samples").map_or(Ok(256), |s| s.parse())?;
    let dir = PathBuf::from(value("--mnist").ok_or("--mnist DIR is required")?);
    let paper = ExperimentConfig::mnist();
    let (model, config) = match value("--weights") {
        Some(file) => {
            let (model, saved, _) = load_weights(&PathBuf::from(file))?;
            let shape = |c: &ExperimentConfig| (c.n_inputs, c.hidden, c.n_classes, c.loss);
            if shape(&saved) != shape(&paper) || model.recurrent.is_some() {
                return Err(format!("{file} is not a 784-350-10 MNIST readout network").into());
            }
            (model, saved)
        }
        None => (SnnClassifier::new(&paper)?, paper),
    };
    let EncodingConfig::Mnist(encoding) = config.encoding else {
        return Err("the network's configuration has no pixel encoding".into());
    };
    let train = load_mnist(&dir)?.train;
    let n = samples.min(train.len());
    if n == 0 {
        return Err("no training images".into());
    }
    let mut inputs = Vec::with_capacity(n);
    let mut losses = Vec::with_capacity(n);
    let (mut in_spikes, mut distinct) = (0usize, 0usize);
    for k in 0..n {
        let image = train.image(k).ok_or("image out of range")?;
        let spikes = encoding.encode(image);
        in_spikes += spikes.len();
        distinct += spikes.windows(2).filter(|w| w[0].time != w[1].time).count()
            + usize::from(!spikes.is_empty());
        inputs.push(spikes);
        losses.push(model.loss_for(usize::from(train.labels[k])));
    }
    let net = &model.net;
    let mut scratch = SampleScratch::default();
    let mut grad = net.zero_gradient();
    let (mut spikes, mut events) = (0, 0);
    for (input, loss) in inputs.iter().zip(&losses) {
        spikes += net
            .accumulate_gradient(input, loss, &mut scratch, &mut grad)?
            .spikes;
        events += scratch.workspace.synaptic_events();
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    // Entry by entry in post-major order (`[post * n_in + pre]`, the layers' layout until they
    // became pre-major), so that hashes compare across that change.
    let post_major = grad.iter().zip(&net.layers).flat_map(|(g, l)| {
        (0..l.n_out).flat_map(move |post| (0..l.n_in).map(move |pre| g[l.index(pre, post)]))
    });
    for x in post_major {
        for byte in x.to_bits().to_le_bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let (mut best, mut total) = (f64::INFINITY, 0.0);
    for _ in 0..rounds {
        let t0 = Instant::now();
        for (input, loss) in inputs.iter().zip(&losses) {
            net.accumulate_gradient(input, loss, &mut scratch, &mut grad)?;
        }
        let t = t0.elapsed().as_secs_f64() / n as f64;
        best = best.min(t);
        total += t;
    }
    let per = |x: usize| x as f64 / n as f64;
    println!(
        "mnist 784-350-10, {n} training images ({} loops): {:.1} input spikes at {:.1} distinct times, {:.1} spikes, {:.0} synaptic events per sample, gradient hash {hash:016x}; forward + backward {:.2} us per sample in the fastest of {rounds} rounds ({:.0} samples/s), {:.2} us on average",
        scratch.workspace.vector_build(),
        per(in_spikes),
        per(distinct),
        per(spikes),
        per(events),
        best * 1e6,
        1.0 / best,
        total / rounds as f64 * 1e6
    );
    Ok(())
}
