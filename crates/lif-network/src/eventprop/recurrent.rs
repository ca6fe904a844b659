//! Recurrent networks (Table 1 in full: `N` neurons, `W` with zero diagonal, plus input weights):
//! forward pass in global event order and the backward pass of Table 2 in global reverse order.
//!
//! Same closed form, crossing search and adjoint jump as the layered path (see `backward.rs` for
//! the convention); here every event advances all `N` neurons, so the cost is `O(N)` per event.

use super::closed_form::Decay;
use super::params::positive;
use super::trajectory::Spike;
use super::{InputSpike, LifParams};
use crate::LifError;

/// A recurrent network of `n` LIF neurons with input weights.
#[derive(Clone, Debug, PartialEq)]
pub struct RecurrentNet {
    /// Number of neurons `N`.
    pub n: usize,
    /// Number of input neurons.
    pub n_inputs: usize,
    /// `W`, row-major `[post * n + pre]`, zero diagonal (Table 1).
    pub weights: Vec<f64>,
    /// Input weights, row-major `[post * n_inputs + input]`.
    pub input_weights: Vec<f64>,
    /// Neuron parameters.
    pub params: LifParams,
    /// End of the simulated interval (ms).
    pub t_end: f64,
}

/// A voltage probe of a recurrent network: neuron `neuron` at `time` (ms, in `[0, t_end]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecurrentProbe {
    /// Neuron index.
    pub neuron: usize,
    /// Time (ms).
    pub time: f64,
}

/// Gradient of a recurrent network, shaped like its weights.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecurrentGradient {
    /// `dL/dW`, `[post * n + pre]` (the diagonal stays 0).
    pub weights: Vec<f64>,
    /// `dL/dW_in`, `[post * n_inputs + input]`.
    pub input_weights: Vec<f64>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Logged {
    Input(u32),
    Spike(u32),
    Probe(u32),
}

/// Buffers and record of one recurrent forward pass (reusable across samples).
#[derive(Clone, Debug)]
pub struct RecurrentWorkspace {
    /// Spike limit of the whole network per sample (runaway excitation). Default 100 000.
    pub max_spikes: usize,
    pub(crate) inputs: Vec<InputSpike>,
    pub(crate) probes: Vec<RecurrentProbe>,
    pub(crate) probe_values: Vec<f64>,
    pub(crate) spikes: Vec<Spike>,
    pub(crate) log: Vec<Logged>,
    v: Vec<f64>,
    i: Vec<f64>,
    min_abs_vdot: f64,
    pub(crate) n: usize,
}

impl Default for RecurrentWorkspace {
    fn default() -> Self {
        Self {
            max_spikes: 100_000,
            inputs: Vec::new(),
            probes: Vec::new(),
            probe_values: Vec::new(),
            spikes: Vec::new(),
            log: Vec::new(),
            v: Vec::new(),
            i: Vec::new(),
            min_abs_vdot: f64::INFINITY,
            n: 0,
        }
    }
}

impl RecurrentWorkspace {
    /// All spikes of the last forward pass, in time order (spike-time cotangents use this order).
    pub fn spikes(&self) -> &[Spike] {
        &self.spikes
    }
    /// The input spikes of the last forward pass that fell in `[0, t_end]`, sorted by time.
    pub fn inputs(&self) -> &[InputSpike] {
        &self.inputs
    }
    /// The probes of the last forward pass, in the order they were given.
    pub fn probes(&self) -> &[RecurrentProbe] {
        &self.probes
    }
    /// Probe voltages, in the order the probes were given.
    pub fn probe_values(&self) -> &[f64] {
        &self.probe_values
    }
    /// `min |V̇⁻|` over all spikes (`+inf` without spikes).
    pub fn min_abs_vdot(&self) -> f64 {
        self.min_abs_vdot
    }
}

impl RecurrentNet {
    /// A network with zero weights.
    pub fn new(n: usize, n_inputs: usize, params: LifParams, t_end: f64) -> Result<Self, LifError> {
        let net = Self {
            n,
            n_inputs,
            weights: vec![0.0; n * n],
            input_weights: vec![0.0; n * n_inputs],
            params,
            t_end,
        };
        net.validate()?;
        Ok(net)
    }

    /// Checks sizes, the zero diagonal, parameters and `t_end`.
    pub fn validate(&self) -> Result<(), LifError> {
        self.params.validate()?;
        positive("t_end", self.t_end)?;
        if self.n == 0 {
            return Err(LifError::EmptyLayer { layer: 1 });
        }
        let wrong = |what, expected, found| LifError::WrongLength {
            what,
            layer: 0,
            expected,
            found,
        };
        if self.weights.len() != self.n * self.n {
            return Err(wrong(
                "recurrent weights",
                self.n * self.n,
                self.weights.len(),
            ));
        }
        if self.input_weights.len() != self.n * self.n_inputs {
            let found = self.input_weights.len();
            return Err(wrong("input weights", self.n * self.n_inputs, found));
        }
        for neuron in 0..self.n {
            let value = self.weights[neuron * self.n + neuron];
            if value != 0.0 {
                return Err(LifError::NonZeroDiagonal { neuron, value });
            }
        }
        Ok(())
    }

    /// Simulates one sample on `[0, t_end]` in global event order.
    pub fn forward(
        &self,
        input: &[InputSpike],
        probes: &[RecurrentProbe],
        ws: &mut RecurrentWorkspace,
    ) -> Result<(), LifError> {
        self.validate()?;
        let k = self.params.kernel()?;
        let n = self.n;
        ws.n = 0;
        ws.inputs.clear();
        for (index, s) in input.iter().enumerate() {
            if !(s.time.is_finite() && s.time >= 0.0) {
                return Err(LifError::InvalidInputTime {
                    index,
                    time: s.time,
                });
            }
            if s.source as usize >= self.n_inputs {
                let n_inputs = self.n_inputs;
                return Err(LifError::InputSourceOutOfRange {
                    index,
                    source_index: s.source,
                    n_inputs,
                });
            }
            if s.time <= self.t_end {
                ws.inputs.push(*s);
            }
        }
        ws.inputs.sort_by(|a, b| a.time.total_cmp(&b.time));
        for (index, p) in probes.iter().enumerate() {
            if p.neuron >= n || !(p.time.is_finite() && (0.0..=self.t_end).contains(&p.time)) {
                let (layer, neuron, time, t_end) = (0, p.neuron, p.time, self.t_end);
                return Err(LifError::InvalidProbe {
                    index,
                    layer,
                    neuron,
                    time,
                    t_end,
                });
            }
        }
        ws.probes.clear();
        ws.probes.extend_from_slice(probes);
        ws.probe_values.clear();
        ws.probe_values.resize(probes.len(), 0.0);
        // Probes are visited in time order through a sorted index list kept in the log.
        let mut order: Vec<u32> = (0..probes.len() as u32).collect();
        order.sort_by(|&a, &b| probes[a as usize].time.total_cmp(&probes[b as usize].time));
        ws.spikes.clear();
        ws.log.clear();
        ws.v.clear();
        ws.v.resize(n, 0.0);
        ws.i.clear();
        ws.i.resize(n, 0.0);
        ws.min_abs_vdot = f64::INFINITY;

        let (mut t, mut p_in, mut p_pr) = (0.0_f64, 0usize, 0usize);
        loop {
            let t_in = ws.inputs.get(p_in).map_or(f64::INFINITY, |s| s.time);
            let t_pr = order
                .get(p_pr)
                .map_or(f64::INFINITY, |&q| probes[q as usize].time);
            let t_stop = t_in.min(t_pr).min(self.t_end).max(t);
            let dt = t_stop - t;
            let d = k.decay(dt);
            let mut first: Option<(f64, usize)> = None;
            for m in 0..n {
                if let Some(tau) = k.first_crossing(ws.v[m], ws.i[m], dt, &d) {
                    if first.is_none_or(|(b, _)| tau < b) {
                        first = Some((tau, m));
                    }
                }
            }
            if let Some((tau, m)) = first {
                advance(&mut ws.v, &mut ws.i, &k.decay(tau));
                let time = (t + tau).min(t_stop);
                let i_syn = ws.i[m];
                if !i_syn.is_finite() {
                    return Err(LifError::non_finite("synaptic current", 0, m, time));
                }
                ws.min_abs_vdot = ws
                    .min_abs_vdot
                    .min((i_syn - k.threshold).abs() * k.inv_tau_mem);
                ws.log.push(Logged::Spike(ws.spikes.len() as u32));
                ws.spikes.push(Spike {
                    time,
                    neuron: m as u32,
                    i_syn,
                    slot: 0,
                });
                if ws.spikes.len() >= ws.max_spikes {
                    let count = ws.spikes.len();
                    return Err(LifError::TooManySpikes {
                        layer: 0,
                        neuron: m,
                        time,
                        count,
                    });
                }
                ws.v[m] = 0.0;
                for q in 0..n {
                    ws.i[q] += self.weights[q * n + m];
                }
                t = time;
                continue;
            }
            advance(&mut ws.v, &mut ws.i, &d);
            t = t_stop;
            if p_pr < order.len() && t_pr <= t_in && t_pr == t_stop {
                let q = order[p_pr] as usize;
                ws.probe_values[q] = ws.v[probes[q].neuron];
                ws.log.push(Logged::Probe(q as u32));
                p_pr += 1;
            } else if p_in < ws.inputs.len() && t_in == t_stop {
                let src = ws.inputs[p_in].source as usize;
                for q in 0..n {
                    ws.i[q] += self.input_weights[q * self.n_inputs + src];
                }
                ws.log.push(Logged::Input(p_in as u32));
                p_in += 1;
            } else {
                break;
            }
        }
        if let Some(m) = (0..n).find(|&m| !(ws.v[m].is_finite() && ws.i[m].is_finite())) {
            return Err(LifError::non_finite("membrane state", 0, m, self.t_end));
        }
        ws.n = n;
        Ok(())
    }
}

fn advance(v: &mut [f64], i: &mut [f64], d: &Decay) {
    for (v, i) in v.iter_mut().zip(i.iter_mut()) {
        *v = d.voltage(*v, *i);
        *i *= d.syn;
    }
}
