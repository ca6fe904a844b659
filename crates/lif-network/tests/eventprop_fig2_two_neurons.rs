//! The network of the paper's Fig. 2 must be expressible both ways, and both must agree: an upper
//! neuron driven by 100 Poisson inputs at 200 Hz, connected to a lower neuron by one weight `w`,
//! with the loss "sum of the lower neuron's spike times". Guards against the layered layout (two
//! populations, dense views of the layers' weights) and the recurrent layout (one population,
//! fan-out lists with a recurrent projection) drifting apart — they share the engine but not the
//! neuron numbering, the order of ties or the gradient layout — and against a wrong gradient on a
//! realistic input train.
//!
//! Oracles: the two paths against each other (spike times to 1e-10 ms, gradients to 1e-9
//! relative), and central finite differences for `w` and ten input weights (1e-6 relative; the
//! paper reports better than 1e-7 for its own figure).

use crate::support;

use lif_network::eventprop::{
    FeedForwardNet, InputSpike, LayerKind, LifParams, NetworkCotangents, NetworkWorkspace, Observe,
    RecurrentGradient, RecurrentNet, RecurrentWorkspace,
};
use rand::Rng;
use rand_distr::{Distribution, Exp, Normal};
use support::*;

const T_END: f64 = 50.0;

fn poisson_inputs(seed: u64) -> Vec<InputSpike> {
    let mut r = rng(seed);
    let gap = Exp::new(0.2).unwrap(); // 200 Hz = 0.2 per ms
    let mut input = Vec::new();
    for source in 0..100 {
        let mut t = gap.sample(&mut r);
        while t < T_END {
            input.push(InputSpike { time: t, source });
            t += gap.sample(&mut r);
        }
    }
    input
}

fn networks(seed: u64) -> (FeedForwardNet, RecurrentNet, Vec<InputSpike>) {
    let mut r = rng(seed ^ 0x5eed);
    let normal = Normal::new(0.12, 0.08).unwrap();
    let w_in: Vec<f64> = (0..100).map(|_| normal.sample(&mut r)).collect();
    let w = r.gen_range(3.0..5.0);
    let params = LifParams::default();
    let mut ff = FeedForwardNet::new(
        100,
        &[(1, LayerKind::Spiking), (1, LayerKind::Spiking)],
        params,
        T_END,
    )
    .unwrap();
    ff.layers[0].weights = w_in.clone();
    ff.layers[1].weights = vec![w];
    let mut rec = RecurrentNet::new(2, 100, params, T_END).unwrap();
    rec.input_weights[..100].copy_from_slice(&w_in); // row 0: upper neuron; row 1 stays 0
    rec.weights[2] = w; // w[post = 1][pre = 0]
    (ff, rec, poisson_inputs(seed))
}

fn ff_gradient(
    ff: &FeedForwardNet,
    input: &[InputSpike],
) -> (f64, Vec<Vec<f64>>, Vec<f64>, Vec<f64>) {
    let mut ws = NetworkWorkspace::new();
    ff.forward(input, Observe::default(), &mut ws).unwrap();
    // Global neuron 0 is the upper neuron (layer 0), 1 the lower one (layer 1).
    let mut cot = NetworkCotangents::zeros_for(&ws);
    for (c, s) in cot.spike_times.iter_mut().zip(ws.spikes()) {
        *c = if s.neuron == 1 { 1.0 } else { 0.0 };
    }
    let times = |n: u32| -> Vec<f64> {
        let of = ws.spikes().iter().filter(|s| s.neuron == n);
        of.map(|s| s.time).collect()
    };
    let (upper, lower) = (times(0), times(1));
    let loss: f64 = lower.iter().sum();
    let mut grad = ff.zero_gradient();
    ff.backward(&mut ws, &cot, &mut grad).unwrap();
    (loss, grad, upper, lower)
}

#[test]
fn fig2_network_as_two_layers_and_as_two_recurrent_neurons_agree_with_finite_differences() {
    for seed in 0..4 {
        let (ff, rec, input) = networks(seed);
        let (loss, grad, upper, lower) = ff_gradient(&ff, &input);
        assert!(
            upper.len() >= 3 && !lower.is_empty(),
            "seed {seed}: {upper:?} {lower:?}"
        );

        let mut rws = RecurrentWorkspace::default();
        rec.forward(&input, &[], &mut rws).unwrap();
        let times = |n: u32| -> Vec<f64> {
            rws.spikes()
                .iter()
                .filter(|s| s.neuron == n)
                .map(|s| s.time)
                .collect()
        };
        for (a, b) in [(times(0), &upper), (times(1), &lower)] {
            assert_eq!(a.len(), b.len());
            assert!(
                a.iter().zip(b.iter()).all(|(x, y)| (x - y).abs() <= 1e-10),
                "{a:?} vs {b:?}"
            );
        }
        let cot: Vec<f64> = rws
            .spikes()
            .iter()
            .map(|s| if s.neuron == 1 { 1.0 } else { 0.0 })
            .collect();
        let mut rg = RecurrentGradient::default();
        rec.backward(&rws, &cot, &[], &mut rg).unwrap();
        let scale = grad[0]
            .iter()
            .chain(&grad[1])
            .fold(0.0_f64, |m, x| m.max(x.abs()));
        assert!((rg.weights[2] - grad[1][0]).abs() <= 1e-9 * scale);
        for k in 0..100 {
            assert!((rg.input_weights[k] - grad[0][k]).abs() <= 1e-9 * scale);
        }
        // The lower neuron's input weights are 0 but not their gradient (eq. 56 samples λ_I of
        // the lower neuron at every input spike): check one against finite differences.
        let k = 100 + (seed as usize * 17) % 100;
        let mut p = rec.clone();
        let mut ws2 = RecurrentWorkspace::default();
        let fd_rec = fd4(
            |dw| {
                p.input_weights[k] = dw;
                p.forward(&input, &[], &mut ws2).ok()?;
                let lower: Vec<f64> = ws2
                    .spikes()
                    .iter()
                    .filter(|s| s.neuron == 1)
                    .map(|s| s.time)
                    .collect();
                (lower.len() == rws.spikes().iter().filter(|s| s.neuron == 1).count())
                    .then(|| lower.iter().sum())
            },
            FD_STEP,
        )
        .unwrap();
        compare(&[rg.input_weights[k]], &[fd_rec], loss).unwrap();

        assert!(ws_margin(&ff, &input) >= VDOT_MARGIN);
        let fd = |l: usize, k: usize| {
            let mut p = ff.clone();
            let w0 = p.layers[l].weights[k];
            fd4(
                |dw| {
                    p.layers[l].weights[k] = w0 + dw;
                    let (loss, _, u, lw) = ff_gradient(&p, &input);
                    (u.len() == upper.len() && lw.len() == lower.len()).then_some(loss)
                },
                FD_STEP,
            )
            .expect("spike counts change inside the stencil")
        };
        compare(&[grad[1][0]], &[fd(1, 0)], loss).unwrap();
        let active: Vec<usize> = (0..100).filter(|&k| grad[0][k] != 0.0).take(10).collect();
        let fds: Vec<f64> = active.iter().map(|&k| fd(0, k)).collect();
        let ours: Vec<f64> = active.iter().map(|&k| grad[0][k]).collect();
        compare(&ours, &fds, loss).unwrap();
    }
}

fn ws_margin(ff: &FeedForwardNet, input: &[InputSpike]) -> f64 {
    let mut ws = NetworkWorkspace::new();
    ff.forward(input, Observe::default(), &mut ws).unwrap();
    ws.min_abs_vdot()
}

/// `λ_I,j(t)` is the derivative of the loss with respect to a current kick into neuron `j` at `t`
/// (`docs/maths.md` §"3. The adjoint, derived"): the sampled adjoint trajectory (for plots like Fig. 2D-E) must
/// match central finite differences in the weight of an extra input spike at `t` into `j`.
#[test]
fn sampled_adjoint_is_the_loss_sensitivity_to_a_current_kick() {
    let (_, mut rec, mut input) = networks(1);
    let times = [3.7, 11.2, 19.9, 27.5, 41.3];
    // One extra input per sample time, initially with zero weight into both neurons.
    rec.n_inputs = 100 + times.len();
    let mut w_in = vec![0.0; 2 * rec.n_inputs];
    w_in[..100].copy_from_slice(&rec.input_weights[..100]);
    rec.input_weights = w_in;
    for (q, &t) in times.iter().enumerate() {
        input.push(InputSpike {
            time: t,
            source: 100 + q as u32,
        });
    }
    let loss_of = |rec: &RecurrentNet, ws: &mut RecurrentWorkspace| -> Option<(f64, usize)> {
        rec.forward(&input, &[], ws).ok()?;
        let lower: Vec<f64> = ws
            .spikes()
            .iter()
            .filter(|s| s.neuron == 1)
            .map(|s| s.time)
            .collect();
        Some((lower.iter().sum(), ws.spikes().len()))
    };
    let mut ws = RecurrentWorkspace::default();
    let (loss, count) = loss_of(&rec, &mut ws).unwrap();
    assert!(ws.min_abs_vdot() >= VDOT_MARGIN);
    let cot: Vec<f64> = ws
        .spikes()
        .iter()
        .map(|s| if s.neuron == 1 { 1.0 } else { 0.0 })
        .collect();
    let mut grad = RecurrentGradient::default();
    let mut samples = Vec::new();
    rec.backward_sampled(&ws, &cot, &[], &mut grad, &times, &mut samples)
        .unwrap();
    let mut ws2 = RecurrentWorkspace::default();
    for (q, s) in samples.iter().enumerate() {
        assert_eq!(s.time, times[q]);
        for j in 0..2 {
            let k = j * rec.n_inputs + 100 + q;
            let mut p = rec.clone();
            let fd = fd4(
                |dw| {
                    p.input_weights[k] = dw;
                    let (l, c) = loss_of(&p, &mut ws2)?;
                    (c == count).then_some(l)
                },
                FD_STEP,
            )
            .unwrap();
            compare(&[s.lambda_i[j]], &[fd], loss).unwrap();
            assert_eq!(
                grad.input_weights[k], s.lambda_i[j],
                "eq. 56 samples the same λ_I"
            );
        }
    }
    // After the last lower spike nothing depends on the state: the adjoint is zero there.
    let last = ws
        .spikes()
        .iter()
        .filter(|s| s.neuron == 1)
        .map(|s| s.time)
        .fold(0.0, f64::max);
    let mut late = Vec::new();
    rec.backward_sampled(&ws, &cot, &[], &mut grad, &[last + 1e-9, 50.0], &mut late)
        .unwrap();
    assert!(late
        .iter()
        .all(|s| s.lambda_v == [0.0, 0.0] && s.lambda_i == [0.0, 0.0]));
}
