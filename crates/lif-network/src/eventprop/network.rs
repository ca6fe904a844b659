//! Layered feed-forward networks: inputs, layers and their validation.

use super::params::positive;
use super::LifParams;
use crate::error::{weight_count, zero_weights};
use crate::LifError;

/// A fixed input spike: at `time` (ms) the input neuron `source` sends a spike across its weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputSpike {
    /// Spike time in ms; must be finite and `>= 0`. Spikes after the network's `t_end` are ignored.
    pub time: f64,
    /// Index of the input neuron, `< n_inputs`.
    pub source: u32,
}

impl InputSpike {
    /// The one validation of an input spike, shared by every path (layered, engine, generic):
    /// a finite time `>= 0` and a source `< n_inputs`; `index` is its position in the input.
    #[inline]
    pub fn check(&self, index: usize, n_inputs: usize) -> Result<(), LifError> {
        if !(self.time.is_finite() && self.time >= 0.0) {
            return Err(LifError::InvalidInputTime {
                index,
                time: self.time,
            });
        }
        if self.source as usize >= n_inputs {
            return Err(LifError::InputSourceOutOfRange {
                index,
                source_index: self.source,
                n_inputs,
            });
        }
        Ok(())
    }
}

/// What a layer's neurons do at the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// Leaky integrate-and-fire neurons (Table 1): spike and reset at the threshold.
    Spiking,
    /// Non-spiking leaky integrators (the paper's MNIST readout): the same flow, no threshold.
    /// Only allowed as the last layer.
    Readout,
}

/// One layer: `n_out` neurons receiving the `n_in` spike trains of the layer below.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// Number of presynaptic neurons (inputs or the previous layer).
    pub n_in: usize,
    /// Number of neurons of this layer.
    pub n_out: usize,
    /// Spiking or readout.
    pub kind: LayerKind,
    /// Weights, row-major `[post * n_in + pre]` (length `n_out * n_in`): a spike of `pre` adds
    /// `weights[post * n_in + pre]` to the synaptic current of `post`.
    pub weights: Vec<f64>,
}

/// A layered feed-forward network (the paper's block-triangular special case of Table 1),
/// simulated and differentiated layer by layer.
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
