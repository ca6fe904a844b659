//! Recurrent networks (Table 1 in full: `N` neurons, `W` with zero diagonal, plus input weights):
//! forward pass in global event order and the backward pass of Table 2 in global reverse order.
//!
//! A thin layout over [`crate::engine`]: one population with dense input and recurrent
//! projections; the gradient is mapped back to the row-major weight matrices.

use super::layout::transpose;
use crate::engine::params::positive;
use crate::engine::{
    AdjointSample, InputSpike, LifParams, Network, NetworkCotangents, NetworkWorkspace,
    NeuronProbe, Population, Projection, Source, Spike,
};
use crate::error::{weight_count, zero_weights};
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

/// Buffers and record of one recurrent forward pass (reusable across samples).
#[derive(Clone, Debug)]
pub struct RecurrentWorkspace {
    /// Spike limit of the whole network per sample (runaway excitation). Default 100 000.
    pub max_spikes: usize,
    pub(crate) inner: NetworkWorkspace,
    pub(crate) probes: Vec<RecurrentProbe>,
}

impl Default for RecurrentWorkspace {
    fn default() -> Self {
        Self {
            max_spikes: 100_000,
            inner: NetworkWorkspace::default(),
            probes: Vec::new(),
        }
    }
}

impl RecurrentWorkspace {
    /// All spikes of the last forward pass, in time order (spike-time cotangents use this order).
    pub fn spikes(&self) -> &[Spike] {
        self.inner.spikes()
    }
    /// The input spikes of the last forward pass that fell in `[0, t_end]`, sorted by time.
    pub fn inputs(&self) -> &[InputSpike] {
        self.inner.inputs()
    }
    /// The probes of the last forward pass, in the order they were given.
    pub fn probes(&self) -> &[RecurrentProbe] {
        &self.probes
    }
    /// Probe voltages, in the order the probes were given.
    pub fn probe_values(&self) -> &[f64] {
        self.inner.probe_values()
    }
    /// `min |V̇⁻|` over all spikes (`+inf` without spikes).
    pub fn min_abs_vdot(&self) -> f64 {
        self.inner.min_abs_vdot()
    }
}

impl RecurrentNet {
    /// A network with zero weights.
    pub fn new(n: usize, n_inputs: usize, params: LifParams, t_end: f64) -> Result<Self, LifError> {
        let net = Self {
            n,
            n_inputs,
            weights: zero_weights("recurrent weights", n, n)?,
            input_weights: zero_weights("input weights", n, n_inputs)?,
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
        let expected = weight_count("recurrent weights", self.n, self.n)?;
        if self.weights.len() != expected {
            return Err(wrong("recurrent weights", expected, self.weights.len()));
        }
        let expected = weight_count("input weights", self.n, self.n_inputs)?;
        if self.input_weights.len() != expected {
            let found = self.input_weights.len();
            return Err(wrong("input weights", expected, found));
        }
        for neuron in 0..self.n {
            let value = self.weights[neuron * self.n + neuron];
            if value != 0.0 {
                return Err(LifError::NonZeroDiagonal { neuron, value });
            }
        }
        Ok(())
    }

    /// The same network on the event-driven engine: one population `"recurrent"`, a dense input
    /// projection (synapse `input · n + post`) and a dense recurrent one without the diagonal
    /// (synapse `pre · (n - 1) + k`, the `k`-th of `pre`'s targets in increasing order).
    pub fn to_network(&self) -> Network {
        let n = self.n;
        let mut net = Network::new(
            self.n_inputs,
            vec![Population::new("recurrent", n, self.params)],
            self.t_end,
        );
        // `Projection::dense` reads pre-major weights; this network's are post-major.
        net.projections.push(Projection::dense(
            Source::Input,
            0,
            self.n_inputs,
            n,
            &transpose(&self.input_weights, n, self.n_inputs),
        ));
        net.projections.push(Projection::dense(
            Source::Population(0),
            0,
            n,
            n,
            &transpose(&self.weights, n, n),
        ));
        net
    }

    /// Simulates one sample on `[0, t_end]` (the event-driven engine, [`Network::forward`]).
    pub fn forward(
        &self,
        input: &[InputSpike],
        probes: &[RecurrentProbe],
        ws: &mut RecurrentWorkspace,
    ) -> Result<(), LifError> {
        self.validate()?;
        let net = self.to_network();
        let np: Vec<NeuronProbe> = probes
            .iter()
            .map(|p| NeuronProbe {
                population: 0,
                neuron: p.neuron,
                time: p.time,
            })
            .collect();
        ws.inner.max_spikes = ws.max_spikes;
        ws.probes.clear();
        ws.probes.extend_from_slice(probes);
        net.forward(input, &np, &mut ws.inner)
    }

    /// Adds `dL/dW` and `dL/dW_in` into `grad` for a loss with `∂l/∂t_k` per spike (aligned with
    /// [`RecurrentWorkspace::spikes`]) and `∂l/∂V` per probe ([`Network::backward`]).
    pub fn backward(
        &self,
        ws: &RecurrentWorkspace,
        spike_cot: &[f64],
        probe_cot: &[f64],
        grad: &mut RecurrentGradient,
    ) -> Result<(), LifError> {
        self.backward_sampled(ws, spike_cot, probe_cot, grad, &[], &mut Vec::new())
    }

    /// [`backward`](Self::backward) that also records the adjoint of every neuron at the given
    /// times (any order, in `[0, t_end]`; at an event time the value just after the event), for
    /// plots such as the paper's Fig. 2D-E. `samples[q]` belongs to `times[q]`. The adjoints are
    /// the generic ones: the paper's are `-λ_V/τ_mem` and `-λ_I/τ_syn`, and `λ_I,j(t)` is the
    /// derivative of the loss with respect to a current kick into neuron `j` at `t` (which is why
    /// eq. 2 and eq. 56 sample it at spike arrivals).
    pub fn backward_sampled(
        &self,
        ws: &RecurrentWorkspace,
        spike_cot: &[f64],
        probe_cot: &[f64],
        grad: &mut RecurrentGradient,
        times: &[f64],
        samples: &mut Vec<AdjointSample>,
    ) -> Result<(), LifError> {
        self.validate()?;
        let n = self.n;
        let net = self.to_network();
        let mut inner = ws.inner.clone();
        let mut g = net.zero_gradient();
        let cot = NetworkCotangents {
            spike_times: spike_cot.to_vec(),
            probes: probe_cot.to_vec(),
            peaks: vec![0.0; n],
        };
        net.backward_sampled(&mut inner, &cot, &mut g, times, samples)?;
        grad.weights.resize(n * n, 0.0);
        grad.input_weights.resize(n * self.n_inputs, 0.0);
        let wrong = |what, expected, found| LifError::WrongLength {
            what,
            layer: 0,
            expected,
            found,
        };
        if grad.weights.len() != n * n {
            return Err(wrong("gradient weights", n * n, grad.weights.len()));
        }
        if grad.input_weights.len() != n * self.n_inputs {
            let found = grad.input_weights.len();
            return Err(wrong("gradient input weights", n * self.n_inputs, found));
        }
        for input in 0..self.n_inputs {
            for post in 0..n {
                grad.input_weights[post * self.n_inputs + input] += g[0][input * n + post];
            }
        }
        let mut s = 0;
        for pre in 0..n {
            for post in (0..n).filter(|&post| post != pre) {
                grad.weights[post * n + pre] += g[1][s];
                s += 1;
            }
        }
        Ok(())
    }
}
