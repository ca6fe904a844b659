//! Shared by the generic-path tests: random small networks and inputs, the margin from critical
//! points, and relative deviations.

#![allow(dead_code)]

use hybrid_core::{EventRecord, HybridSystem, Integrator, Solution, SolverOptions};
use lif_network::generic::LifNetwork;
use lif_network::{FeedForwardNet, InputSpike, LayerKind, LifParams, RecurrentNet};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Tight tolerances for the generic integrator, so it is accurate enough to be compared with the
/// closed-form EventProp path at 1e-9 even on gradient entries 1000 times below the largest, and
/// on small losses (the absolute tolerance is far below the scale of states and adjoints).
pub fn tight() -> SolverOptions {
    SolverOptions {
        rtol: 1e-13,
        atol: 1e-15,
        integrator: Integrator::Dop853,
        ..Default::default()
    }
}

/// Neuron parameters around Table 3, sometimes with `τ_mem = τ_syn` (the degenerate closed form).
pub fn random_params(rng: &mut ChaCha8Rng) -> LifParams {
    let tau_mem = rng.gen_range(10.0..25.0);
    let tau_syn = if rng.gen_bool(0.15) {
        tau_mem
    } else {
        rng.gen_range(3.0..8.0)
    };
    LifParams {
        tau_mem,
        tau_syn,
        threshold: rng.gen_range(0.5..1.5),
    }
}

/// `count` input spikes of `n_inputs` inputs, uniform on `[0, t_max)`.
pub fn random_input(
    rng: &mut ChaCha8Rng,
    n_inputs: usize,
    count: usize,
    t_max: f64,
) -> Vec<InputSpike> {
    (0..count)
        .map(|_| InputSpike {
            time: rng.gen_range(0.0..t_max),
            source: rng.gen_range(0..n_inputs as u32),
        })
        .collect()
}

/// A layered network of 1-3 layers (at most 8 neurons), the last one a readout if `readout`.
pub fn random_feed_forward(seed: u64, readout: bool) -> (FeedForwardNet, Vec<InputSpike>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let params = random_params(&mut rng);
    let n_inputs = rng.gen_range(1..=4);
    let n_layers = rng.gen_range(1..=3);
    let mut sizes: Vec<(usize, LayerKind)> = (0..n_layers)
        .map(|_| (rng.gen_range(1..=8 / n_layers), LayerKind::Spiking))
        .collect();
    if readout {
        sizes.last_mut().expect("one layer at least").1 = LayerKind::Readout;
    }
    let t_end = rng.gen_range(20.0..40.0);
    let mut net = FeedForwardNet::new(n_inputs, &sizes, params, t_end).expect("valid network");
    let scale = params.threshold / params.tau_syn.min(params.tau_mem) * 20.0;
    for (l, layer) in net.layers.iter_mut().enumerate() {
        // Layers above the first see few spikes: stronger weights keep them active.
        let gain = if l == 0 { 1.5 } else { 3.0 };
        let fan_in = layer.n_in as f64;
        for w in &mut layer.weights {
            *w = gain * scale * rng.gen_range(-0.1..0.6) / fan_in.sqrt();
        }
    }
    let count = rng.gen_range(4..=14);
    let input = random_input(&mut rng, n_inputs, count, 0.8 * t_end);
    (net, input)
}

/// A recurrent network of 2-6 neurons, every pair connected.
pub fn random_recurrent(seed: u64) -> (RecurrentNet, Vec<InputSpike>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let params = random_params(&mut rng);
    let n = rng.gen_range(2..=6);
    let n_inputs = rng.gen_range(1..=3);
    let t_end = rng.gen_range(20.0..40.0);
    let mut net = RecurrentNet::new(n, n_inputs, params, t_end).expect("valid network");
    let scale = params.threshold / params.tau_syn.min(params.tau_mem) * 20.0;
    for (k, w) in net.weights.iter_mut().enumerate() {
        if k / n != k % n {
            *w = scale * rng.gen_range(-0.3..0.3) / (n as f64).sqrt();
        }
    }
    for w in &mut net.input_weights {
        *w = scale * rng.gen_range(-0.1..0.5);
    }
    let count = rng.gen_range(4..=12);
    let input = random_input(&mut rng, n_inputs, count, 0.8 * t_end);
    (net, input)
}

/// Distances from the critical points where a gradient is undefined or jumps, for one simulation:
/// the smallest `|V̇⁻|` at a spike (`|ġ|`), the smallest distance of a spike from `t_end`, and the
/// smallest `ϑ - V` at a local maximum of a spiking neuron's membrane that stays below threshold
/// (a spike about to appear), and the smallest time between a spike and any other event (where
/// two events swap order the spike times have a kink).
#[derive(Debug, Clone, Copy)]
pub struct Margins {
    pub min_abs_gdot: f64,
    pub end_gap: f64,
    pub near_miss: f64,
    pub event_gap: f64,
}

/// The generic model of a random network, its weights and `t_end`: recurrent for an even seed,
/// layered for an odd one (with a readout when the seed is a multiple of 3). `None` when the
/// conversion refuses the network.
pub fn random_model(seed: u64) -> Option<(LifNetwork, Vec<f64>, f64)> {
    if seed.is_multiple_of(2) {
        let (net, input) = random_recurrent(seed);
        let (m, p) = LifNetwork::from_recurrent(&net, &input).ok()?;
        Some((m, p, net.t_end))
    } else {
        let (net, input) = random_feed_forward(seed, seed.is_multiple_of(3));
        let (m, p) = LifNetwork::from_feed_forward(&net, &input).ok()?;
        Some((m, p, net.t_end))
    }
}

pub fn margins(model: &LifNetwork, sol: &Solution, t_end: f64) -> Margins {
    let n = model.neurons();
    let thr = model.lif_params().threshold;
    let guards: Vec<&EventRecord> = sol.events.iter().filter(|e| e.guard().is_some()).collect();
    let min_abs_gdot = guards
        .iter()
        .map(|e| e.gdot.abs())
        .fold(f64::INFINITY, f64::min);
    let end_gap = guards
        .iter()
        .map(|e| t_end - e.t)
        .fold(f64::INFINITY, f64::min);
    let mut event_gap = f64::INFINITY;
    for (a, ea) in sol.events.iter().enumerate() {
        for eb in &sol.events[a + 1..] {
            if ea.guard().is_some() || eb.guard().is_some() {
                event_gap = event_gap.min((ea.t - eb.t).abs());
            }
        }
    }
    // Between consecutive event times V_n has at most one interior maximum (where I_n - V_n
    // changes sign from + to -); it and the left limit at the interval's end are the candidates.
    let mut bounds: Vec<f64> = std::iter::once(0.0)
        .chain(sol.events.iter().map(|e| e.t))
        .chain(std::iter::once(t_end))
        .collect();
    bounds.dedup();
    let mut near_miss = f64::INFINITY;
    let mut x = vec![0.0; model.dims().states];
    for w in bounds.windows(2) {
        let (a, b) = (w[0], w[1]);
        for k in (0..n).filter(|&k| model.is_spiking(k) == Ok(true)) {
            let fires_at_b = guards.iter().any(|e| e.t == b && e.guard() == Some(k));
            let vdot = |t: f64, x: &mut [f64], left: bool| {
                if left {
                    sol.trajectory.eval_left(t, x);
                } else {
                    sol.trajectory.eval(t, x);
                }
                x[n + k] - x[k]
            };
            let mut cands = Vec::new();
            if !fires_at_b {
                sol.trajectory.eval_left(b, &mut x);
                cands.push(x[k]);
            }
            if vdot(a, &mut x, false) > 0.0 && vdot(b, &mut x, true) < 0.0 {
                let (mut lo, mut hi) = (a, b);
                for _ in 0..60 {
                    let mid = 0.5 * (lo + hi);
                    if vdot(mid, &mut x, false) > 0.0 {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                sol.trajectory.eval(0.5 * (lo + hi), &mut x);
                cands.push(x[k]);
            }
            for v in cands {
                if v < thr {
                    near_miss = near_miss.min(thr - v);
                }
            }
        }
    }
    Margins {
        min_abs_gdot,
        end_gap,
        near_miss,
        event_gap,
    }
}

/// Largest `|got_j − want_j| / max(|want_j|, floor · max_k |want_k|)`: relative per entry, with
/// entries far below the largest judged on `floor` times its scale.
pub fn max_rel_dev(got: &[f64], want: &[f64], floor: f64) -> f64 {
    assert_eq!(got.len(), want.len(), "lengths differ");
    let scale = want.iter().fold(0.0f64, |a, w| a.max(w.abs()));
    let den_floor = (floor * scale).max(f64::MIN_POSITIVE);
    got.iter()
        .zip(want)
        .map(|(g, w)| {
            if g == w {
                0.0
            } else {
                (g - w).abs() / w.abs().max(den_floor)
            }
        })
        .fold(0.0, f64::max)
}

/// Five-point central differences of `f` at `p`, step `h · max(1, |p_j|)`:
/// `(-f(p+2h) + 8 f(p+h) - 8 f(p-h) + f(p-2h)) / 12h`, truncation error `O(h⁴)`.
pub fn central_differences(p: &[f64], h: f64, mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let mut pp = p.to_vec();
    (0..p.len())
        .map(|j| {
            let step = h * p[j].abs().max(1.0);
            let mut at = |k: f64| {
                pp[j] = p[j] + k * step;
                let v = f(&pp);
                pp[j] = p[j];
                v
            };
            (-at(2.0) + 8.0 * at(1.0) - 8.0 * at(-1.0) + at(-2.0)) / (12.0 * step)
        })
        .collect()
}
