//! Loss and exact gradient of a batch, printed with every bit: the Rust side of the Python
//! package's bit-for-bit test (`crates/hybrid-adjoint-py/tests/test_gradient_vs_rust.py`), and a
//! way to get reference values for any case without writing Rust.
//!
//! ```text
//! cargo run -p lif-network --example eventprop_reference < case.txt
//! ```
//!
//! The case is whitespace-separated text (numbers as Python's `repr` or Rust's `{:?}` writes
//! them, which parse back to the same `f64`):
//!
//! ```text
//! n_inputs n_layers
//! kind n_out            (per layer; kind: spiking | readout)
//! tau_mem tau_syn threshold t_end
//! loss tau0 tau1 alpha  (loss: first_spike | max_voltage)
//! w ...                 (every layer's weights, post-major [post * n_in + pre], as NumPy's
//!                        (n_out, n_in) arrays flatten)
//! n_samples
//! label n_spikes time source time source ...   (per sample)
//! ```
//!
//! Output: `loss b value` per sample, then `sum l i value` for every entry `i` (post-major, as
//! the weights are read) of the gradient of
//! the summed loss (per-sample gradients added in sample order, one sample at a time) and
//! `mean l i value` for that sum times `1/n_samples`, values with `{:?}` (shortest round-trip).

use std::io::Read;

use lif_network::{FeedForwardNet, InputSpike, LayerKind, LifParams, Loss};

fn next<'a>(words: &mut impl Iterator<Item = &'a str>, what: &str) -> Result<&'a str, String> {
    words.next().ok_or(format!("case ends before {what}"))
}

fn number<T: std::str::FromStr>(
    words: &mut std::str::SplitWhitespace<'_>,
    what: &str,
) -> Result<T, String> {
    let w = next(words, what)?;
    w.parse().map_err(|_| format!("{what}: cannot parse {w:?}"))
}

fn run(text: &str) -> Result<(), String> {
    let mut words = text.split_whitespace();
    let n_inputs: usize = number(&mut words, "n_inputs")?;
    let n_layers: usize = number(&mut words, "n_layers")?;
    let mut layers = Vec::with_capacity(n_layers);
    for _ in 0..n_layers {
        let kind = match next(&mut words, "layer kind")? {
            "spiking" => LayerKind::Spiking,
            "readout" => LayerKind::Readout,
            other => return Err(format!("unknown layer kind {other:?}")),
        };
        layers.push((number(&mut words, "layer size")?, kind));
    }
    let params = LifParams {
        tau_mem: number(&mut words, "tau_mem")?,
        tau_syn: number(&mut words, "tau_syn")?,
        threshold: number(&mut words, "threshold")?,
    };
    let t_end = number(&mut words, "t_end")?;
    let loss_name = next(&mut words, "loss")?.to_string();
    let (tau0, tau1, alpha): (f64, f64, f64) = (
        number(&mut words, "tau0")?,
        number(&mut words, "tau1")?,
        number(&mut words, "alpha")?,
    );
    let mut net =
        FeedForwardNet::new(n_inputs, &layers, params, t_end).map_err(|e| e.to_string())?;
    for layer in &mut net.layers {
        // Post-major in the case, pre-major in the layer.
        for post in 0..layer.n_out {
            for pre in 0..layer.n_in {
                let k = layer.index(pre, post);
                layer.weights[k] = number(&mut words, "weight")?;
            }
        }
    }
    let n_samples: usize = number(&mut words, "n_samples")?;
    let mut sum = net.zero_gradient();
    for b in 0..n_samples {
        let label: usize = number(&mut words, "label")?;
        let n_spikes: usize = number(&mut words, "n_spikes")?;
        let mut input = Vec::with_capacity(n_spikes);
        for _ in 0..n_spikes {
            input.push(InputSpike {
                time: number(&mut words, "spike time")?,
                source: number(&mut words, "spike source")?,
            });
        }
        let loss = match loss_name.as_str() {
            "first_spike" => Loss::FirstSpike {
                label,
                tau0,
                tau1,
                alpha,
            },
            "max_voltage" => Loss::MaxVoltage { label },
            other => return Err(format!("unknown loss {other:?}")),
        };
        let r = net
            .loss_and_gradient(&input, &loss)
            .map_err(|e| e.to_string())?;
        println!("loss {b} {:?}", r.loss);
        for (acc, g) in sum.iter_mut().zip(&r.gradient) {
            for (a, &x) in acc.iter_mut().zip(g) {
                *a += x;
            }
        }
    }
    let scale = 1.0 / n_samples as f64;
    for (l, (g, layer)) in sum.iter().zip(&net.layers).enumerate() {
        let post_major = lif_network::eventprop::transpose(g, layer.n_in, layer.n_out);
        for (i, &x) in post_major.iter().enumerate() {
            println!("sum {l} {i} {x:?}");
            println!("mean {l} {i} {:?}", x * scale);
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("error: cannot read the case from standard input: {e}");
        return std::process::ExitCode::FAILURE;
    }
    match run(&text) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
