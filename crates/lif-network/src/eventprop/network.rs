//! Layered feed-forward networks: layers, their validation, and their forward and backward
//! passes, which are the engine's ([`crate::engine`]): a layered network is the special case of
//! populations `"layer 0"`, `"layer 1"`, .. with dense projections from the inputs to layer 0
//! and from each layer to the next, run without copying the layers' weights.

use crate::engine::model::{Model, Name};
use crate::engine::params::positive;
use crate::engine::{
    AdjointSample, InputSpike, Network, NetworkCotangents, NetworkWorkspace, NeuronProbe,
    Population, Projection, Source,
};
use crate::error::{weight_count, zero_weights};
use crate::kind::LayerKind;
use crate::{LifError, LifParams};

/// One layer: `n_out` neurons receiving the `n_in` spike trains of the layer below.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// Number of presynaptic neurons (inputs or the previous layer).
    pub n_in: usize,
    /// Number of neurons of this layer.
    pub n_out: usize,
    /// Spiking or readout.
    pub kind: LayerKind,
    /// Weights, pre-major `[pre * n_out + post]` ([`Layer::index`]; length `n_out * n_in`): a
    /// spike of `pre` adds `weights[pre * n_out + post]` to the synaptic current of `post`, so
    /// its fan-out is the contiguous row `pre`. Gradients have the same layout;
    /// [`crate::eventprop::transpose`] converts from and to a post-major `(n_out, n_in)` matrix.
    pub weights: Vec<f64>,
}

/// A layered feed-forward network (the paper's block-triangular special case of Table 1): the
/// engine's populations `"layer l"` with dense projections, weights in each layer's pre-major
/// layout. Spike and neuron indices of its [`NetworkWorkspace`] are global: neuron `j` of layer
/// `l` is `Σ_{m<l} n_out(m) + j` ([`FeedForwardNet::neuron_offsets`]).
#[derive(Clone, Debug, PartialEq)]
pub struct FeedForwardNet {
    /// Number of input neurons.
    pub n_inputs: usize,
    /// Layers, from the one receiving the inputs to the output layer.
    pub layers: Vec<Layer>,
    /// Neuron parameters shared by all layers.
    pub params: LifParams,
    /// End of the simulated interval `[0, t_end]` in ms (the paper's `T`).
    pub t_end: f64,
}

impl FeedForwardNet {
    /// A network with zero weights; `layers` lists `(n_out, kind)` from the first layer to the
    /// output. Fails on empty layers, a readout layer that is not last, or invalid parameters.
    pub fn new(
        n_inputs: usize,
        layers: &[(usize, LayerKind)],
        params: LifParams,
        t_end: f64,
    ) -> Result<Self, LifError> {
        let mut n_in = n_inputs;
        let layers = layers
            .iter()
            .map(|&(n_out, kind)| {
                let layer = Layer {
                    n_in,
                    n_out,
                    kind,
                    weights: zero_weights("layer weights", n_out, n_in)?,
                };
                n_in = n_out;
                Ok(layer)
            })
            .collect::<Result<_, LifError>>()?;
        let net = Self {
            n_inputs,
            layers,
            params,
            t_end,
        };
        net.validate()?;
        Ok(net)
    }

    /// Checks sizes, weight lengths, layer kinds, parameters and `t_end` (not the weight values:
    /// a non-finite weight that a sample uses is reported by the simulation as `NonFinite`).
    pub fn validate(&self) -> Result<(), LifError> {
        self.params.validate()?;
        positive("t_end", self.t_end)?;
        if self.n_inputs == 0 {
            return Err(LifError::EmptyLayer { layer: 0 });
        }
        if self.layers.is_empty() {
            return Err(LifError::EmptyLayer { layer: usize::MAX });
        }
        let mut n_in = self.n_inputs;
        for (l, layer) in self.layers.iter().enumerate() {
            if layer.n_out == 0 {
                return Err(LifError::EmptyLayer { layer: l + 1 });
            }
            if layer.n_in != n_in {
                return Err(LifError::WrongLength {
                    what: "layer n_in (size of the layer below)",
                    layer: l,
                    expected: n_in,
                    found: layer.n_in,
                });
            }
            let expected = weight_count("layer weights", layer.n_out, layer.n_in)?;
            if layer.weights.len() != expected {
                return Err(LifError::WrongLength {
                    what: "layer weights",
                    layer: l,
                    expected,
                    found: layer.weights.len(),
                });
            }
            if layer.kind == LayerKind::Readout && l + 1 != self.layers.len() {
                return Err(LifError::ReadoutNotLast {
                    layer: l,
                    n_layers: self.layers.len(),
                });
            }
            n_in = layer.n_out;
        }
        Ok(())
    }

    /// The output layer, or [`LifError::EmptyLayer`] (with `layer: usize::MAX`) for a network
    /// without layers.
    pub fn output(&self) -> Result<&Layer, LifError> {
        self.layers
            .last()
            .ok_or(LifError::EmptyLayer { layer: usize::MAX })
    }

    /// A zero gradient with the shapes of the layers' weights.
    pub fn zero_gradient(&self) -> Vec<Vec<f64>> {
        self.layers
            .iter()
            .map(|l| vec![0.0; l.weights.len()])
            .collect()
    }

    /// Global index of neuron 0 of every layer, and the total number of neurons last.
    pub fn neuron_offsets(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.layers.len() + 1);
        let mut total = 0;
        for l in &self.layers {
            out.push(total);
            total += l.n_out;
        }
        out.push(total);
        out
    }

    /// Global index of neuron 0 of layer `l` (the sum of the sizes of the layers below).
    pub fn layer_offset(&self, l: usize) -> usize {
        self.layers[..l.min(self.layers.len())]
            .iter()
            .map(|l| l.n_out)
            .sum()
    }

    /// The engine's view of this network: population `l` is layer `l`, projection `l` feeds it
    /// (from the inputs for `l = 0`), with the layer's weights as they are; a spiking output
    /// layer with its maxima tracked until the first spikes (`silent_output_maxima`) and / or
    /// stopped after them (`first_spike_output`, [`Observe::first_spike_output`]).
    pub(crate) fn model(
        &self,
        silent_output_maxima: bool,
        first_spike_output: bool,
    ) -> Result<Model<'_>, LifError> {
        self.validate()?;
        let last = self.layers.len() - 1;
        let mut m = Model {
            n_inputs: self.n_inputs,
            pops: Vec::with_capacity(self.layers.len()),
            projs: Vec::with_capacity(self.layers.len()),
            t_end: self.t_end,
        };
        for (l, layer) in self.layers.iter().enumerate() {
            let spiking = layer.kind == LayerKind::Spiking;
            m.pops.push(crate::engine::model::Pop {
                name: Name::Layer(l),
                size: layer.n_out,
                params: self.params,
                t_ref: 0.0,
                spiking,
                silent_maxima: silent_output_maxima && l == last && spiking,
                first_spike_only: first_spike_output && l == last && spiking,
            });
            m.projs.push(crate::engine::model::Proj {
                source: if l == 0 {
                    Source::Input
                } else {
                    Source::Population(l - 1)
                },
                target: l,
                fan: crate::engine::model::Fan::Dense {
                    n_pre: layer.n_in,
                    n_post: layer.n_out,
                },
                weights: &layer.weights,
            });
        }
        Ok(m)
    }

    /// Simulates one sample on the engine ([`Network::forward`]): spikes (global neuron
    /// indices), readout maxima and probe values (`population` = layer) go to `ws`.
    pub fn forward(
        &self,
        input: &[InputSpike],
        observe: Observe<'_>,
        ws: &mut NetworkWorkspace,
    ) -> Result<(), LifError> {
        if observe.first_spike_output {
            self.check_first_spike_output(observe.probes)?;
        }
        self.model(observe.silent_output_maxima, observe.first_spike_output)?
            .forward(input, observe.probes, ws)
    }

    /// [`LifError::FirstSpikeOnly`] unless the output layer can stop at its first spikes
    /// ([`Observe::first_spike_output`]): it spikes and no probe reads it.
    #[inline(never)]
    fn check_first_spike_output(&self, probes: &[NeuronProbe]) -> Result<(), LifError> {
        let layer = self.layers.len().saturating_sub(1);
        let reason = if self.output()?.kind != LayerKind::Spiking {
            "a readout layer does not spike"
        } else if probes.iter().any(|p| p.population == layer) {
            "a probe reads it, but its state after the first spike is not simulated"
        } else {
            return Ok(());
        };
        Err(LifError::FirstSpikeOnly { layer, reason })
    }

    /// The view of this network that the forward pass in `ws` ran on (the fingerprint tells
    /// which of the output layer's options were set), and those options `(silent maxima, first
    /// spike only)`; `None` if no view matches.
    pub(crate) fn view_of(
        &self,
        ws: &NetworkWorkspace,
    ) -> Result<Option<(Model<'_>, bool, bool)>, LifError> {
        let mut m = self.model(false, false)?;
        let last = m.pops.len() - 1;
        let spiking = m.pops[last].spiking;
        for (silent, first) in [(false, false), (true, false), (false, true), (true, true)] {
            m.pops[last].silent_maxima = silent && spiking;
            m.pops[last].first_spike_only = first && spiking;
            if ws.fingerprint == m.fingerprint() {
                return Ok(Some((m, silent, first)));
            }
        }
        Ok(None)
    }

    /// Adds `dL/dw` to `grad` (shapes of the layers' weights) for the loss whose derivatives
    /// with respect to the recorded spike times, probes and maxima of the last
    /// [`forward`](Self::forward) in `ws` are `cot` ([`Network::backward`]).
    pub fn backward(
        &self,
        ws: &mut NetworkWorkspace,
        cot: &NetworkCotangents,
        grad: &mut [Vec<f64>],
    ) -> Result<(), LifError> {
        self.backward_sampled(ws, cot, grad, &[], &mut Vec::new())
    }

    /// [`backward`](Self::backward) that also records the adjoint of every neuron at the given
    /// times ([`Network::backward_sampled`]).
    pub fn backward_sampled(
        &self,
        ws: &mut NetworkWorkspace,
        cot: &NetworkCotangents,
        grad: &mut [Vec<f64>],
        times: &[f64],
        samples: &mut Vec<AdjointSample>,
    ) -> Result<(), LifError> {
        // The forward pass fixed the output layer's options (the fingerprint includes them):
        // take the view that matches (without one, the engine refuses the pass).
        match self.view_of(ws)? {
            Some((m, _, _)) => m.backward(ws, cot, grad, times, samples),
            None => self
                .model(false, false)?
                .backward(ws, cot, grad, times, samples),
        }
    }
}

/// What the forward pass of a layered network records besides spikes (readout maxima always).
#[derive(Clone, Copy, Debug, Default)]
pub struct Observe<'a> {
    /// Voltage probes (`population` = layer); their values are in
    /// [`NetworkWorkspace::probe_values`], in this order.
    pub probes: &'a [NeuronProbe],
    /// Also track the membrane maximum of every neuron of a *spiking* output layer until it
    /// first fires (used by the silent-label remedy of the first-spike loss). Default `false`.
    pub silent_output_maxima: bool,
    /// A time-to-first-spike readout: every neuron of the *spiking* output layer stops after its
    /// first spike (as after an infinite refractory period, e.g. Göltz et al. 2021), so the
    /// record holds at most one spike per output neuron. The output layer projects nowhere, so
    /// every other spike, every first output spike (time and current) and the maxima of
    /// `silent_output_maxima` are the bits of the full simulation, and so are the loss and
    /// gradient of a loss that reads only first output spikes ([`Loss::FirstSpike`],
    /// [`Loss::FirstSpikeSilentRemedy`]), at a fraction of the cost (the later output spikes'
    /// exact searches and backward steps are not made: Yin-Yang 143 k → 114 k instructions per
    /// sample). What differs: the record (and its count) lacks the later output spikes, and
    /// [`NetworkWorkspace::min_abs_vdot`] is over the recorded spikes. Default `false` (the full
    /// simulation). [`LifError::FirstSpikeOnly`] for a readout output layer or a probe on it.
    ///
    /// [`Loss::FirstSpike`]: super::Loss::FirstSpike
    /// [`Loss::FirstSpikeSilentRemedy`]: super::Loss::FirstSpikeSilentRemedy
    pub first_spike_output: bool,
}

impl Network {
    /// The layered network `net` as populations `"layer 0"`, `"layer 1"`, .. with sparse
    /// projections holding every pair (projection `l` feeds layer `l`; its synapse
    /// `pre · n_out + post` is `net.layers[l].weights[pre · n_out + post]`). A readout layer
    /// becomes a readout population. (Layered networks run on the engine without this copy;
    /// this is for building on them, e.g. adding recurrent projections.)
    pub fn from_feed_forward(net: &FeedForwardNet) -> Result<Self, LifError> {
        net.validate()?;
        let mut out = Network::new(net.n_inputs, Vec::new(), net.t_end);
        for (l, layer) in net.layers.iter().enumerate() {
            let name = format!("layer {l}");
            out.populations.push(match layer.kind {
                LayerKind::Spiking => Population::new(name, layer.n_out, net.params),
                LayerKind::Readout => Population::readout(name, layer.n_out, net.params),
            });
            let source = if l == 0 {
                Source::Input
            } else {
                Source::Population(l - 1)
            };
            out.projections.push(Projection::dense(
                source,
                l,
                layer.n_in,
                layer.n_out,
                &layer.weights,
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_builds_zero_weights_of_the_right_shapes() {
        let net = FeedForwardNet::new(
            784,
            &[(350, LayerKind::Spiking), (10, LayerKind::Readout)],
            LifParams::default(),
            20.0,
        )
        .unwrap();
        assert_eq!(net.layers[0].weights.len(), 350 * 784);
        assert_eq!((net.layers[1].n_in, net.layers[1].n_out), (350, 10));
        assert!(net
            .layers
            .iter()
            .all(|l| l.weights.iter().all(|&w| w == 0.0)));
    }

    #[test]
    fn readout_in_the_middle_and_empty_layers_are_rejected() {
        let p = LifParams::default();
        let err = FeedForwardNet::new(
            3,
            &[(2, LayerKind::Readout), (2, LayerKind::Spiking)],
            p,
            1.0,
        );
        assert_eq!(
            err,
            Err(LifError::ReadoutNotLast {
                layer: 0,
                n_layers: 2
            })
        );
        let err = FeedForwardNet::new(
            3,
            &[(2, LayerKind::Spiking), (0, LayerKind::Spiking)],
            p,
            1.0,
        );
        assert_eq!(err, Err(LifError::EmptyLayer { layer: 2 }));
        assert!(matches!(
            FeedForwardNet::new(3, &[(2, LayerKind::Spiking)], p, f64::INFINITY),
            Err(LifError::InvalidParameter { name: "t_end", .. })
        ));
    }
}
