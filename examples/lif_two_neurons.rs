//! The EventProp paper's Fig. 2: an upper LIF neuron driven by 100 Poisson inputs at 200 Hz
//! (seeded), connected by one weight `w` to a lower neuron; loss `L = Σ` of the lower neuron's
//! spike times. Compares EventProp's gradient over all 101 weights with five-point central
//! differences and with the generic adjoint of the same network, and draws membrane potentials,
//! `λ_I` (paper convention, `-λ_I/τ_syn`) and the gradients accumulated over backward time into
//! `out/lif_two_neurons.svg`. Run with `cargo run --release --example lif_two_neurons`.

use hybrid_core::{simulate, Integrator, SolverOptions};
use lif_network::eventprop::{NetworkCotangents, NetworkWorkspace, Observe};
use lif_network::generic::{adjoint_at, set_layer_weights, LifNetwork, SpikeVoltageLoss};
use lif_network::{FeedForwardNet, InputSpike, LayerKind, LifParams};
use plotters::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const T_END: f64 = 100.0; // ms

/// EventProp loss (sum of the lower neuron's spike times), flat gradient and spike times.
fn eventprop(net: &FeedForwardNet, input: &[InputSpike]) -> (f64, Vec<f64>, [Vec<f64>; 2]) {
    let mut ws = NetworkWorkspace::new();
    net.forward(input, Observe::default(), &mut ws)
        .expect("forward");
    // One neuron per layer: global neuron `l` is layer `l`'s.
    let mut cot = NetworkCotangents::zeros_for(&ws);
    for (c, s) in cot.spike_times.iter_mut().zip(ws.spikes()) {
        *c = if s.neuron == 1 { 1.0 } else { 0.0 };
    }
    let mut grad = net.zero_gradient();
    net.backward(&mut ws, &cot, &mut grad).expect("backward");
    let times = |l: u32| {
        let of = ws.spikes().iter().filter(|s| s.neuron == l);
        of.map(|s| s.time).collect::<Vec<_>>()
    };
    (times(1).iter().sum(), grad.concat(), [times(0), times(1)])
}

/// Largest `|a_j − b_j| / max(|b_j|, 1e-3 max_k |b_k|)`.
fn max_rel_dev(a: &[f64], b: &[f64]) -> f64 {
    let floor = 1e-3 * b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let dev = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(floor));
    dev.fold(0.0, f64::max)
}

/// `L(t) = Σ_{k: t_k ≥ t} v_k` as a step curve from `T` down to 0: a gradient accumulated over
/// backward time (eq. 2 sums `λ_I` of the target at the spikes crossing the weight).
fn accumulated(times: &[f64], values: &[f64]) -> Vec<(f64, f64)> {
    let mut kicks: Vec<(f64, f64)> = times.iter().copied().zip(values.iter().copied()).collect();
    kicks.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut pts = vec![(T_END, 0.0)];
    for (t, v) in kicks {
        let last = pts[pts.len() - 1].1;
        pts.extend([(t, last), (t, last + v)]);
    }
    pts.push((0.0, pts[pts.len() - 1].1));
    pts
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = ChaCha8Rng::seed_from_u64(2021);
    let (mut input, mut in0) = (Vec::new(), Vec::new()); // in0: spike times of input 0
    for source in 0..100 {
        // Exponential gaps of mean 5 ms: 200 Hz.
        let mut t = -5.0 * (1.0 - rng.gen::<f64>()).ln();
        while t < T_END {
            input.push(InputSpike { time: t, source });
            in0.extend((source == 0).then_some(t));
            t -= 5.0 * (1.0 - rng.gen::<f64>()).ln();
        }
    }
    let layers = [(1, LayerKind::Spiking), (1, LayerKind::Spiking)];
    let mut net = FeedForwardNet::new(100, &layers, LifParams::default(), T_END)?;
    net.layers[0].weights = (0..100).map(|_| rng.gen_range(-0.02..0.06)).collect();
    net.layers[1].weights = vec![4.0];

    let (loss, grad, spikes) = eventprop(&net, &input);
    let (upper, lower) = (spikes[0].len(), spikes[1].len());
    println!("spikes: upper {upper}, lower {lower}; loss {loss:.9} ms");
    let p: Vec<f64> = net.layers.iter().flat_map(|l| l.weights.clone()).collect();
    let mut central = vec![0.0; p.len()];
    for (j, c) in central.iter_mut().enumerate() {
        let h = 1e-5 * p[j].abs().max(1.0);
        let mut at = |k: f64| {
            let mut pk = p.clone();
            pk[j] += k * h;
            set_layer_weights(&mut net, &pk).expect("length");
            eventprop(&net, &input).0
        };
        *c = (8.0 * (at(1.0) - at(-1.0)) - (at(2.0) - at(-2.0))) / (12.0 * h);
    }
    set_layer_weights(&mut net, &p)?;
    let fd_dev = max_rel_dev(&grad, &central);
    println!("eventprop vs central differences: max relative deviation {fd_dev:.2e}");

    // The same network on the generic path, with λ_I probed on a grid and at the spikes crossing
    // input weight 0 (panel F) and w (panel G).
    let (model, p) = LifNetwork::from_feed_forward(&net, &input)?;
    let mut opts = SolverOptions::default();
    (opts.rtol, opts.atol, opts.integrator) = (1e-12, 1e-12, Integrator::Dop853);
    let sol = simulate(&model, &p, 0.0, T_END, &opts)?;
    let gen_loss = SpikeVoltageLoss::new(&model).all_spikes(1, &sol.events, 1.0)?;
    let grid: Vec<f64> = (0..=400).map(|i| T_END * i as f64 / 400.0).collect();
    let (iu, il) = (model.i_index(0), model.i_index(1)); // I_upper, I_lower in the state
    let mut probes: Vec<_> = grid.iter().flat_map(|&t| [(t, iu), (t, il)]).collect();
    probes.extend(in0.iter().map(|&t| (t, iu)));
    probes.extend(spikes[0].iter().map(|&t| (t, il)));
    let trace = adjoint_at(&model, &p, 0.0, T_END, &gen_loss, &opts, &probes)?;
    let gen_dev = max_rel_dev(&grad, &trace.gradient.gradient);
    println!("eventprop vs generic adjoint: max relative deviation {gen_dev:.2e}");

    // λ_I in the paper's convention, -λ_I/τ_syn; dashed lines: central differences.
    let (lambda, tau_syn) = (&trace.lambda, net.params.tau_syn);
    let samples = sol.trajectory.sample(1001);
    let volts = |k: usize| samples.iter().map(|(t, x)| (*t, x[k])).collect();
    let lam = |c: usize| {
        (0..grid.len())
            .map(|i| (grid[i], -lambda[2 * i + c] / tau_syn))
            .collect()
    };
    let (f_vals, g_vals) = lambda[2 * grid.len()..].split_at(in0.len());
    let panels: [(&str, Vec<(f64, f64)>); 6] = [
        ("B: V upper", volts(0)),
        ("C: V lower", volts(1)),
        ("D: λ_I upper", lam(0)),
        ("E: λ_I lower", lam(1)),
        ("F: dL/dw_in[0] accumulated", accumulated(&in0, f_vals)),
        ("G: dL/dw accumulated", accumulated(&spikes[0], g_vals)),
    ];
    let reference = [None, None, None, None, Some(central[0]), Some(central[100])];
    std::fs::create_dir_all("out")?;
    let root = SVGBackend::new("out/lif_two_neurons.svg", (1100, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    for ((area, (title, pts)), fd) in root.split_evenly((3, 2)).iter().zip(&panels).zip(reference) {
        let ys = pts.iter().map(|p| p.1).chain(fd);
        let (lo, hi) = (
            ys.clone().fold(f64::INFINITY, f64::min),
            ys.fold(-f64::INFINITY, f64::max),
        );
        let pad = 0.05 * (hi - lo).max(1e-9);
        let mut chart = ChartBuilder::on(area)
            .caption(*title, ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..T_END, (lo - pad)..(hi + pad))?;
        chart.configure_mesh().x_desc("t [ms]").draw()?;
        chart.draw_series(LineSeries::new(pts.iter().copied(), &BLUE))?;
        let dash = |i: usize| (T_END * i as f64 / 40.0, T_END * (i as f64 + 0.5) / 40.0);
        let dashes = fd.iter().flat_map(|&v| (0..40).map(move |i| (dash(i), v)));
        chart.draw_series(dashes.map(|((a, b), v)| PathElement::new([(a, v), (b, v)], RED)))?;
    }
    root.present()?;
    println!("wrote out/lif_two_neurons.svg");
    Ok(())
}
