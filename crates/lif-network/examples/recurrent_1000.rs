//! The 1000-neuron recurrent benchmark network (see `benches/support/balanced.rs`) on the
//! event-driven engine: prints its firing rate and the forward throughput in synaptic events per
//! second on one thread (and, on Linux, the forward pass's time on the CPU, which leaves out the
//! waits for other processes on a busy machine), and the forward + backward time. The timed
//! passes run on the network prepared once (`Network::prepare`: validated, fans laid out), as a
//! simulator runs one network on many inputs. With
//! `--export DIR` it also writes the network and its input (text files) for
//! `benches/peers/brian2_recurrent_1000.py`; with `--spikes FILE` the spike train (`neuron
//! time_ms` per line, 17 digits) and the gradient of the loss Σ spike times (`projection synapse
//! value` per non-zero entry, in `FILE.grad`), to compare two builds of the engine.
//!
//! `cargo run --release -p lif-network --example recurrent_1000 -- [--export DIR] [--spikes FILE] [--t-ref MS] [--repeats N]`

#[path = "../benches/support/balanced.rs"]
mod balanced;

use std::io::Write;
use std::time::Instant;

use lif_network::engine::{Network, NetworkCotangents, NetworkWorkspace, Source};
use lif_network::InputSpike;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|k| args.get(k + 1))
            .cloned()
    };
    let t_ref: f64 = value("--t-ref").map_or(Ok(0.0), |s| s.parse())?;
    let repeats: usize = value("--repeats").map_or(Ok(20), |s| s.parse())?;
    let t_end = 1000.0;
    let (net, input) = balanced::balanced(1, t_end, t_ref);
    if let Some(dir) = value("--export") {
        export(&net, &input, &dir)?;
    }
    let mut ws = NetworkWorkspace::new();
    net.forward(&input, &[], &mut ws)?;
    let prepared = net.prepare()?;
    let n = net.n_neurons();
    let spikes = ws.spikes().len();
    let events = ws.synaptic_events();
    // Minimum over repeats: the run least disturbed by other processes on a shared machine.
    // Also the time on the CPU (Linux), which leaves out the waits for other processes.
    let mut fwd = f64::INFINITY;
    let mut on_cpu = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let (start, cpu) = (Instant::now(), cpu_seconds());
        prepared.forward(&input, &[], &mut ws)?;
        fwd = fwd.min(start.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (cpu, cpu_seconds()) {
            on_cpu.push(b - a);
        }
    }
    on_cpu.sort_by(f64::total_cmp);
    let mut cot = NetworkCotangents::zeros_for(&ws);
    cot.spike_times.fill(1.0);
    let mut grad = net.zero_gradient();
    let mut both = f64::INFINITY;
    for _ in 0..repeats {
        let start = Instant::now();
        prepared.forward(&input, &[], &mut ws)?;
        prepared.backward(&mut ws, &cot, &mut grad)?;
        both = both.min(start.elapsed().as_secs_f64());
    }
    if let Some(file) = value("--spikes") {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&file)?);
        for s in ws.spikes() {
            writeln!(f, "{} {:.17e}", s.neuron, s.time)?;
        }
        let mut f = std::io::BufWriter::new(std::fs::File::create(format!("{file}.grad"))?);
        grad.iter_mut().for_each(|g| g.fill(0.0));
        net.forward(&input, &[], &mut ws)?;
        net.backward(&mut ws, &cot, &mut grad)?;
        for (p, g) in grad.iter().enumerate() {
            for (s, &x) in g.iter().enumerate().filter(|(_, &x)| x != 0.0) {
                writeln!(f, "{p} {s} {x:.17e}")?;
            }
        }
    }
    println!(
        "neurons {n}, {} input spikes, t_ref {t_ref} ms",
        input.len()
    );
    println!(
        "rate {:.2} Hz, {spikes} spikes, {events} synaptic events",
        spikes as f64 / n as f64 / (t_end / 1000.0)
    );
    println!(
        "ours forward: {fwd:.4} s (minimum of {repeats}), {:.3e} events/s",
        events as f64 / fwd
    );
    if let (Some(min), Some(median)) = (on_cpu.first(), on_cpu.get(on_cpu.len() / 2)) {
        println!("ours forward on the CPU: {min:.4} s (minimum), median {median:.4} s");
    }
    println!(
        "ours forward+backward: {both:.4} s (minimum), {:.2}x forward, record {} B/spike",
        both / fwd,
        ws.record_bytes_per_spike()
    );
    Ok(())
}

/// Time this thread has run on a CPU, in seconds (Linux: `/proc/thread-self/schedstat`), or
/// `None`.
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 * 1e-9)
}

/// `synapses.txt`: `pre_kind pre post w` per line (`pre_kind` 0 = input, 1 = neuron; global
/// neuron indices); `inputs.txt`: `source time_ms` per line.
fn export(net: &Network, input: &[InputSpike], dir: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let offsets = net.neuron_offsets();
    let mut f = std::io::BufWriter::new(std::fs::File::create(format!("{dir}/synapses.txt"))?);
    for proj in &net.projections {
        let (kind, base) = match proj.source {
            Source::Input => (0, 0),
            Source::Population(p) => (1, offsets[p]),
        };
        for pre in 0..proj.n_pre() {
            for s in proj.fan_out(pre) {
                let post = offsets[proj.target] + proj.targets[s] as usize;
                writeln!(f, "{kind} {} {post} {}", base + pre, proj.weights[s])?;
            }
        }
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(format!("{dir}/inputs.txt"))?);
    for s in input {
        writeln!(f, "{} {:.17e}", s.source, s.time)?;
    }
    f.flush()
}
