//! The price of generality: the same gradient of the same small LIF network by the specialised
//! EventProp path (closed form between events, Table 2's adjoint event by event) and by the generic
//! framework (the network as a `HybridSystem`, numerical integration with located events, the
//! adjoint of `docs/maths.md` §3, and forward sensitivities).
//!
//! - Feed-forward 5-8-3: the Yin-Yang network of Table 3 with 8 hidden neurons (Table 3
//!   initialisation, seed 0), 16 samples of the published training split, paper encoding.
//! - Recurrent N = 8 with 4 inputs: input weights `N(3, 1.5)`, recurrent `N(0, 0.7)`, 3 input
//!   spikes per input in `[0, 30] ms`, `t_end = 50 ms` (16 seeded draws of the inputs).
//!
//! Loss (linear, so both paths state it exactly): the sum of all output-layer spike times (all
//! spikes for the recurrent net) plus the sum of the output voltages at `0.9 t_end`. One
//! iteration computes the gradient of one sample, cycling through the 16. The generic path uses
//! the default `SolverOptions` (Dopri5, `rtol = atol = 1e-10`); before timing, the program
//! prints the largest difference between the EventProp and generic gradients.

#![allow(missing_docs)]

#[path = "support/recurrent_case.rs"]
mod recurrent_case;

use criterion::{criterion_group, criterion_main, Criterion};
use hybrid_core::{adjoint_gradient, forward_gradient, simulate, SolverOptions};
use lif_network::eventprop::{
    NetworkCotangents, NetworkWorkspace, NeuronProbe, Observe, RecurrentGradient, RecurrentProbe,
    RecurrentWorkspace,
};
use lif_network::generic::{
    layer_offsets, recurrent_gradient, spike_counts, LifNetwork, SpikeVoltageLoss,
};
use lif_network::{FeedForwardNet, InputSpike};
use recurrent_case::{recurrent_case, N, N_IN};
use snn_train::config::ExperimentConfig;
use snn_train::encoding::YinYangEncoding;
use snn_train::snn::SnnClassifier;
use std::time::Duration;

const SAMPLES: usize = 16;

/// One sample on both paths.
struct Generic {
    model: LifNetwork,
    p: Vec<f64>,
    loss: SpikeVoltageLoss,
    t_end: f64,
}

impl Generic {
    fn adjoint(&self, opts: &SolverOptions) -> Vec<f64> {
        adjoint_gradient(&self.model, &self.p, 0.0, self.t_end, &self.loss, opts)
            .expect("generic adjoint")
            .gradient
    }
    fn forward(&self, opts: &SolverOptions) -> Vec<f64> {
        forward_gradient(&self.model, &self.p, 0.0, self.t_end, &self.loss, opts)
            .expect("generic forward")
            .gradient
    }
}

/// The linear loss on the generic path: `Σ` spike times of `neurons` plus their voltages at `t_v`.
fn generic_case(
    model: LifNetwork,
    p: Vec<f64>,
    neurons: std::ops::Range<usize>,
    t_end: f64,
) -> Generic {
    let sol = simulate(&model, &p, 0.0, t_end, &SolverOptions::default()).expect("simulate");
    let counts = spike_counts(&sol.events, model.neurons());
    let mut loss = SpikeVoltageLoss::new(&model);
    for n in neurons {
        for k in 0..counts[n] {
            loss = loss.spike_time(n, k, 1.0).expect("a neuron of the model");
        }
        loss = loss
            .voltage(n, 0.9 * t_end, 1.0)
            .expect("a neuron of the model");
    }
    Generic {
        model,
        p,
        loss,
        t_end,
    }
}

fn max_rel_dev(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(1e-300f64, |m, x| m.max(x.abs()));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
        / scale
}

/// EventProp gradient of the feed-forward net for the linear loss (flat, layers concatenated).
fn eventprop_ff(
    net: &FeedForwardNet,
    input: &[InputSpike],
    probes: &[NeuronProbe],
    ws: &mut NetworkWorkspace,
    cot: &mut NetworkCotangents,
    grad: &mut [Vec<f64>],
) {
    net.forward(
        input,
        Observe {
            probes,
            silent_output_maxima: false,
            first_spike_output: false,
        },
        ws,
    )
    .expect("eventprop forward");
    cot.reset_for(ws);
    let first_out = net.layer_offset(net.layers.len() - 1) as u32;
    for (c, s) in cot.spike_times.iter_mut().zip(ws.spikes()) {
        *c = if s.neuron >= first_out { 1.0 } else { 0.0 };
    }
    cot.probes.fill(1.0);
    grad.iter_mut().for_each(|g| g.fill(0.0));
    net.backward(ws, cot, grad).expect("eventprop backward");
}

fn feed_forward(c: &mut Criterion, opts: &SolverOptions) {
    let mut config = ExperimentConfig::yin_yang();
    config.hidden = 8;
    let net = SnnClassifier::new(&config).expect("5-8-3 network").net;
    let enc = YinYangEncoding::default();
    let inputs: Vec<Vec<InputSpike>> = snn_train::yinyang::train_split()
        .iter()
        .take(SAMPLES)
        .map(|s| enc.encode(s))
        .collect();
    let out = net.layers.len() - 1;
    let offsets = layer_offsets(&net);
    let n_out = net.output().expect("a layer").n_out;
    let probes: Vec<NeuronProbe> = (0..n_out)
        .map(|neuron| NeuronProbe {
            population: out,
            neuron,
            time: 0.9 * net.t_end,
        })
        .collect();
    let generic: Vec<Generic> = inputs
        .iter()
        .map(|input| {
            let (model, p) = LifNetwork::from_feed_forward(&net, input).expect("convert");
            generic_case(model, p, offsets[out]..offsets[out] + n_out, net.t_end)
        })
        .collect();
    let (mut ws, mut cot, mut grad) = (
        NetworkWorkspace::new(),
        NetworkCotangents::default(),
        net.zero_gradient(),
    );
    let (mut dev_adj, mut dev_fwd, mut spikes) = (0.0f64, 0.0f64, 0);
    for (input, g) in inputs.iter().zip(&generic) {
        eventprop_ff(&net, input, &probes, &mut ws, &mut cot, &mut grad);
        spikes += ws.spikes().len();
        // The generic parameters are post-major; the layers' gradients pre-major.
        let ep: Vec<f64> = grad
            .iter()
            .zip(&net.layers)
            .flat_map(|(g, l)| lif_network::eventprop::transpose(g, l.n_in, l.n_out))
            .collect();
        dev_adj = dev_adj.max(max_rel_dev(&g.adjoint(opts), &ep));
        dev_fwd = dev_fwd.max(max_rel_dev(&g.forward(opts), &ep));
    }
    println!(
        "5-8-3: {:.1} spikes per sample, {} weights; max |generic - EventProp| / max |grad|: \
         adjoint {dev_adj:.1e}, forward {dev_fwd:.1e}",
        spikes as f64 / SAMPLES as f64,
        generic[0].p.len()
    );
    let mut g = c.benchmark_group("eventprop_vs_generic_ff_5_8_3");
    g.warm_up_time(Duration::from_secs(1));
    let mut k = 0;
    g.bench_function("eventprop", |b| {
        b.iter(|| {
            k = (k + 1) % SAMPLES;
            eventprop_ff(&net, &inputs[k], &probes, &mut ws, &mut cot, &mut grad);
        })
    });
    g.bench_function("generic_adjoint", |b| {
        b.iter(|| {
            k = (k + 1) % SAMPLES;
            generic[k].adjoint(opts)
        })
    });
    g.bench_function("generic_forward", |b| {
        b.iter(|| {
            k = (k + 1) % SAMPLES;
            generic[k].forward(opts)
        })
    });
    g.finish();
}

fn recurrent(c: &mut Criterion, opts: &SolverOptions) {
    let (net, inputs) = recurrent_case(SAMPLES);
    let probes: Vec<RecurrentProbe> = (0..N)
        .map(|neuron| RecurrentProbe {
            neuron,
            time: 0.9 * net.t_end,
        })
        .collect();
    let generic: Vec<Generic> = inputs
        .iter()
        .map(|input| {
            let (model, p) = LifNetwork::from_recurrent(&net, input).expect("convert");
            generic_case(model, p, 0..N, net.t_end)
        })
        .collect();
    let mut ws = RecurrentWorkspace::default();
    let mut grad = RecurrentGradient::default();
    let (probe_cot, mut spike_cot) = (vec![1.0; N], Vec::new());
    let mut eventprop =
        |input: &[InputSpike], ws: &mut RecurrentWorkspace, grad: &mut RecurrentGradient| {
            net.forward(input, &probes, ws).expect("eventprop forward");
            spike_cot.clear();
            spike_cot.resize(ws.spikes().len(), 1.0);
            grad.weights.clear();
            grad.weights.resize(N * N, 0.0);
            grad.input_weights.clear();
            grad.input_weights.resize(N * N_IN, 0.0);
            net.backward(ws, &spike_cot, &probe_cot, grad)
                .expect("eventprop backward");
        };
    let (mut dev_adj, mut dev_fwd, mut spikes) = (0.0f64, 0.0f64, 0);
    for (input, g) in inputs.iter().zip(&generic) {
        eventprop(input, &mut ws, &mut grad);
        spikes += ws.spikes().len();
        let flatten = |rg: RecurrentGradient| [rg.weights, rg.input_weights].concat();
        let ep = flatten(grad.clone());
        let adj = flatten(recurrent_gradient(&net, &g.adjoint(opts)).expect("layout"));
        let fwd = flatten(recurrent_gradient(&net, &g.forward(opts)).expect("layout"));
        dev_adj = dev_adj.max(max_rel_dev(&adj, &ep));
        dev_fwd = dev_fwd.max(max_rel_dev(&fwd, &ep));
    }
    println!(
        "recurrent N = 8: {:.1} spikes per sample, {} weights; max |generic - EventProp| / \
         max |grad|: adjoint {dev_adj:.1e}, forward {dev_fwd:.1e}",
        spikes as f64 / SAMPLES as f64,
        generic[0].p.len()
    );
    let mut g = c.benchmark_group("eventprop_vs_generic_recurrent_8");
    g.warm_up_time(Duration::from_secs(1));
    let mut k = 0;
    g.bench_function("eventprop", |b| {
        b.iter(|| {
            k = (k + 1) % SAMPLES;
            eventprop(&inputs[k], &mut ws, &mut grad);
        })
    });
    g.bench_function("generic_adjoint", |b| {
        b.iter(|| {
            k = (k + 1) % SAMPLES;
            generic[k].adjoint(opts)
        })
    });
    g.bench_function("generic_forward", |b| {
        b.iter(|| {
            k = (k + 1) % SAMPLES;
            generic[k].forward(opts)
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let opts = SolverOptions::default();
    feed_forward(c, &opts);
    recurrent(c, &opts);
}

criterion_group!(eventprop_vs_generic, benches);
criterion_main!(eventprop_vs_generic);
