//! The weights file of a [`SnnClassifier`]: its configuration and every layer's weights as JSON,
//! written by [`SnnClassifier::to_saved`] and checked shape by shape by
//! [`SnnClassifier::from_saved`].

use lif_network::eventprop::{transpose, transpose_into, LayerKind};
use serde::{Deserialize, Serialize};

use super::{empty_network, zero_diagonal, SnnClassifier};
use crate::config::ExperimentConfig;
use crate::error::{Result, TrainError};

/// Format tag of weights files written by this version.
pub const WEIGHTS_FORMAT: &str = "snn-train-weights-v1";

impl SnnClassifier {
    /// The weights file content: the configuration and every layer, post-major (the transpose
    /// of [`lif_network::Layer::weights`]; then the recurrent hidden→hidden weights as a third,
    /// square layer, if any).
    pub fn to_saved(&self, config: &ExperimentConfig) -> SavedNetwork {
        let mut layers: Vec<SavedLayer> = self
            .net
            .layers
            .iter()
            .map(|l| SavedLayer {
                n_in: l.n_in,
                n_out: l.n_out,
                spiking: l.kind == LayerKind::Spiking,
                weights: transpose(&l.weights, l.n_in, l.n_out),
            })
            .collect();
        if let Some(w) = &self.recurrent {
            let h = self.net.layers[0].n_out;
            layers.push(SavedLayer {
                n_in: h,
                n_out: h,
                spiking: true,
                weights: w.clone(),
            });
        }
        SavedNetwork {
            format: WEIGHTS_FORMAT.to_string(),
            config: config.clone(),
            layers,
        }
    }

    /// Rebuilds a classifier from a weights file's content, checking the format tag, the
    /// configuration, every layer's shape and kind against it and that every weight is finite.
    pub fn from_saved(saved: &SavedNetwork, path: &std::path::Path) -> Result<Self> {
        let bad = |message: String| TrainError::Format {
            path: path.to_path_buf(),
            message,
        };
        if saved.format != WEIGHTS_FORMAT {
            return Err(bad(format!(
                "format {:?}, expected {WEIGHTS_FORMAT:?}",
                saved.format
            )));
        }
        saved.config.validate()?;
        let mut net = empty_network(&saved.config)?;
        let expected = net.layers.len() + usize::from(saved.config.init_recurrent.is_some());
        if saved.layers.len() != expected {
            return Err(bad(format!(
                "{} layers, expected {expected}",
                saved.layers.len()
            )));
        }
        let recurrent = match saved.layers.get(net.layers.len()) {
            None => None,
            Some(s) => {
                let h = saved.config.hidden;
                if (s.n_in, s.n_out, s.weights.len()) != (h, h, h * h) {
                    return Err(bad(format!(
                        "the recurrent layer is {}x{} with {} weights, expected {h}x{h}",
                        s.n_out,
                        s.n_in,
                        s.weights.len()
                    )));
                }
                if let Some(i) = s.weights.iter().position(|w| !w.is_finite()) {
                    return Err(bad(format!("recurrent weight {i} is not finite")));
                }
                let mut w = s.weights.clone();
                zero_diagonal(&mut w, h);
                Some(w)
            }
        };
        for (l, (layer, s)) in net.layers.iter_mut().zip(&saved.layers).enumerate() {
            if (s.n_in, s.n_out) != (layer.n_in, layer.n_out) {
                return Err(bad(format!(
                    "layer {l} is {}x{}, the configuration needs {}x{}",
                    s.n_out, s.n_in, layer.n_out, layer.n_in
                )));
            }
            if s.spiking != (layer.kind == LayerKind::Spiking) {
                return Err(bad(format!("layer {l} has the wrong kind for the task")));
            }
            if s.weights.len() != layer.weights.len() {
                return Err(bad(format!(
                    "layer {l} has {} weights, expected {}",
                    s.weights.len(),
                    layer.weights.len()
                )));
            }
            if let Some(i) = s.weights.iter().position(|w| !w.is_finite()) {
                return Err(bad(format!("layer {l} weight {i} is not finite")));
            }
            transpose_into(&s.weights, s.n_out, s.n_in, &mut layer.weights);
        }
        Ok(Self {
            net,
            loss: saved.config.loss,
            recurrent,
        })
    }
}

/// Content of a weights file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedNetwork {
    /// [`WEIGHTS_FORMAT`].
    pub format: String,
    /// The experiment the weights belong to.
    pub config: ExperimentConfig,
    /// Hidden layer, then output layer.
    pub layers: Vec<SavedLayer>,
}

/// One layer of a weights file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedLayer {
    /// Presynaptic neurons.
    pub n_in: usize,
    /// Neurons of the layer.
    pub n_out: usize,
    /// LIF (`true`) or leaky-integrator readout (`false`).
    pub spiking: bool,
    /// Post-major `[post * n_in + pre]` (an `(n_out, n_in)` matrix, row-major; the transpose of
    /// the layer's pre-major [`lif_network::Layer::weights`]).
    pub weights: Vec<f64>,
}
