//! The EventProp networks of `lif-network` as a [`Model`]: a hidden LIF layer and an output
//! layer (LIF with the first-spike loss eq. (3), or leaky-integrator readout with the
//! max-voltage loss eq. (4)), built from an [`ExperimentConfig`], saved to and loaded from JSON.

use std::cell::RefCell;

use lif_network::eventprop::{
    transpose, FeedForwardNet, LayerKind, LifParams, Loss, NetworkWorkspace, Observe, SampleScratch,
};

use crate::config::{ExperimentConfig, LossConfig};
use crate::encoding::InputSpike;
use crate::error::{Result, TrainError};
use crate::init::{normal_weights, shared_normal_weights};
use crate::model::{GradientBuffer, Model, SampleOutcome, SamplePrediction};

mod saved;

pub use saved::{SavedLayer, SavedNetwork, WEIGHTS_FORMAT};

thread_local! {
    /// Forward-pass buffers of [`SnnClassifier`]'s quiet-neuron count, one per thread.
    static QUIET_WORKSPACE: RefCell<NetworkWorkspace> = RefCell::new(NetworkWorkspace::new());
    /// Forward and backward buffers of [`SnnClassifier`]'s gradients, one per thread, with the
    /// time-to-first-spike output allowed (`SampleScratch::first_spike_output`): under a
    /// first-spike loss each output neuron stops at its first spike, the same loss, gradient
    /// and prediction bits as the full simulation, fewer instructions (Yin-Yang 5-200-3: ~20 %),
    /// but without the later output spikes in the spike count.
    static TRAIN_SCRATCH: RefCell<SampleScratch> = RefCell::new({
        let mut s = SampleScratch::default();
        s.first_spike_output = true;
        s
    });
}

/// A two-layer spiking classifier and its loss.
#[derive(Clone, Debug)]
pub struct SnnClassifier {
    /// The network (weights included).
    pub net: FeedForwardNet,
    /// The loss of its task.
    pub loss: LossConfig,
    /// Recurrent hidden→hidden weights `[post * hidden + pre]` (the diagonal is not a synapse
    /// and stays 0), if the configuration has a recurrent hidden population; the network then
    /// runs on the event-driven engine (`crate::recurrent`).
    pub recurrent: Option<Vec<f64>>,
}

impl SnnClassifier {
    /// Builds the network of `config` with weights drawn from its initialisers, seeded by
    /// `config.train.seed`.
    pub fn new(config: &ExperimentConfig) -> Result<Self> {
        config.validate()?;
        let mut net = empty_network(config)?;
        let mut lengths: Vec<usize> = net.layers.iter().map(|l| l.weights.len()).collect();
        let mut inits = vec![config.init_hidden, config.init_output];
        if let Some(init) = config.init_recurrent {
            lengths.push(config.hidden * config.hidden);
            inits.push(init);
        }
        let mut weights = if config.init_shared_normals {
            let mut shapes: Vec<(usize, usize)> =
                net.layers.iter().map(|l| (l.n_out, l.n_in)).collect();
            if config.init_recurrent.is_some() {
                shapes.push((config.hidden, config.hidden));
            }
            shared_normal_weights(&inits, &shapes, config.train.seed)?
        } else {
            normal_weights(&inits, &lengths, config.train.seed)?
        };
        let recurrent = (weights.len() > 2).then(|| {
            let mut w = weights.pop().unwrap_or_default();
            zero_diagonal(&mut w, config.hidden);
            w
        });
        // Drawn as post-major `(n_out, n_in)` matrices (the order of the draws since the first
        // version), placed in the layers' pre-major layout.
        for (layer, w) in net.layers.iter_mut().zip(weights) {
            layer.weights = transpose(&w, layer.n_out, layer.n_in);
        }
        Ok(Self {
            net,
            loss: config.loss,
            recurrent,
        })
    }

    /// The `lif-network` loss of one example.
    pub fn loss_for(&self, label: usize) -> Loss {
        match self.loss {
            LossConfig::FirstSpike {
                tau0,
                tau1,
                alpha,
                silent_remedy_kappa: None,
                ..
            } => Loss::FirstSpike {
                label,
                tau0,
                tau1,
                alpha,
            },
            LossConfig::FirstSpike {
                tau0,
                tau1,
                alpha,
                silent_remedy_kappa: Some(kappa),
                ..
            } => Loss::FirstSpikeSilentRemedy {
                label,
                tau0,
                tau1,
                alpha,
                kappa,
            },
            LossConfig::MaxVoltage => Loss::MaxVoltage { label },
        }
    }

    /// Whether an example whose label neuron stays silent contributes no gradient
    /// (`skip_silent_label` of the first-spike loss).
    fn skips_silent_label(&self) -> bool {
        matches!(
            self.loss,
            LossConfig::FirstSpike {
                skip_silent_label: true,
                ..
            }
        )
    }
}

/// Sets `w[n * h + n]` to 0 (no self-connections).
fn zero_diagonal(w: &mut [f64], h: usize) {
    for n in 0..h {
        if let Some(d) = w.get_mut(n * h + n) {
            *d = 0.0;
        }
    }
}

/// The network of `config` with zero weights.
fn empty_network(config: &ExperimentConfig) -> Result<FeedForwardNet> {
    let output_kind = match config.loss {
        LossConfig::FirstSpike { .. } => LayerKind::Spiking,
        LossConfig::MaxVoltage => LayerKind::Readout,
    };
    let params = LifParams {
        tau_mem: config.neuron.tau_mem,
        tau_syn: config.neuron.tau_syn,
        threshold: config.neuron.threshold,
    };
    for (name, n) in [("inputs", config.n_inputs), ("classes", config.n_classes)] {
        if n == 0 {
            return Err(TrainError::InvalidOption {
                name,
                value: "0".into(),
                reason: "the network needs at least one (are the data files empty?)",
            });
        }
    }
    Ok(FeedForwardNet::new(
        config.n_inputs,
        &[
            (config.hidden, LayerKind::Spiking),
            (config.n_classes, output_kind),
        ],
        params,
        config.t_end,
    )?)
}

impl Model for SnnClassifier {
    fn param_lengths(&self) -> Vec<usize> {
        let mut l: Vec<usize> = self.net.layers.iter().map(|l| l.weights.len()).collect();
        l.extend(self.recurrent.as_ref().map(Vec::len));
        l
    }

    fn params_mut(&mut self) -> Vec<&mut [f64]> {
        let mut p: Vec<&mut [f64]> = self
            .net
            .layers
            .iter_mut()
            .map(|l| l.weights.as_mut_slice())
            .collect();
        p.extend(self.recurrent.as_deref_mut());
        p
    }

    fn loss_and_gradient(&self, input: &[InputSpike], label: usize) -> Result<SampleOutcome> {
        if let Some(w) = &self.recurrent {
            return crate::recurrent::outcome(self, w, input, label, true);
        }
        // The pass of `gradient_into` (`TRAIN_SCRATCH`), so that both give the same bits and
        // spike count.
        let mut gradient = self.net.zero_gradient();
        let r = TRAIN_SCRATCH.with(|s| {
            self.net.accumulate_gradient(
                input,
                &self.loss_for(label),
                &mut s.borrow_mut(),
                &mut gradient,
            )
        })?;
        if r.loss == f64::INFINITY && self.skips_silent_label() {
            gradient.iter_mut().flatten().for_each(|g| *g = 0.0);
        }
        Ok(SampleOutcome {
            loss: r.loss,
            gradient,
            prediction: r.prediction,
            spikes: r.spikes,
        })
    }

    /// The layered network adds its gradient into `grad` with a per-thread scratch (nothing of
    /// the size of the weights is allocated) and declares the first layer's rows of the
    /// inputs that spiked: the engine adds `λ_I` of every neuron into row `pre` of a
    /// (pre-major) projection at each arrival from `pre` and writes nothing else, so an input
    /// without a spike leaves its row zero. With a recurrent hidden population: the default (the
    /// owned gradient of [`Model::loss_and_gradient`]).
    fn gradient_into(
        &self,
        input: &[InputSpike],
        label: usize,
        grad: &mut GradientBuffer,
    ) -> Result<SamplePrediction> {
        if let Some(w) = &self.recurrent {
            let o = crate::recurrent::outcome(self, w, input, label, true)?;
            grad.replace(o.gradient);
            return Ok(SamplePrediction {
                loss: o.loss,
                prediction: o.prediction,
                spikes: o.spikes,
            });
        }
        let loss = self.loss_for(label);
        let r = TRAIN_SCRATCH.with(|s| {
            self.net
                .accumulate_gradient(input, &loss, &mut s.borrow_mut(), grad.arrays_mut())
        })?;
        grad.set_rows(
            0,
            self.net.layers[0].n_out,
            input.iter().map(|s| s.source as usize),
        );
        if r.loss == f64::INFINITY && self.skips_silent_label() {
            grad.clear();
        }
        Ok(SamplePrediction {
            loss: r.loss,
            prediction: r.prediction,
            spikes: r.spikes,
        })
    }

    /// One forward pass: which neurons of each layer emitted no spike (readout neurons, which
    /// never spike, count as not quiet). `None` with a recurrent hidden population.
    fn quiet_neurons(&self, input: &[InputSpike]) -> Result<Option<Vec<Vec<bool>>>> {
        if self.recurrent.is_some() {
            return Ok(None);
        }
        QUIET_WORKSPACE.with(|ws| {
            let ws = &mut ws.borrow_mut();
            // Only first spikes are read: a spiking output layer may stop at them.
            let observe = Observe {
                first_spike_output: self.net.output()?.kind == LayerKind::Spiking,
                ..Observe::default()
            };
            self.net.forward(input, observe, ws)?;
            Ok(Some(
                self.net
                    .layers
                    .iter()
                    .enumerate()
                    .map(|(l, layer)| {
                        let offset = self.net.layer_offset(l);
                        (0..layer.n_out)
                            .map(|j| {
                                layer.kind == LayerKind::Spiking
                                    && ws.first_spike(offset + j).is_none()
                            })
                            .collect()
                    })
                    .collect(),
            ))
        })
    }

    fn loss_and_prediction(&self, input: &[InputSpike], label: usize) -> Result<SamplePrediction> {
        if let Some(w) = &self.recurrent {
            let o = crate::recurrent::outcome(self, w, input, label, false)?;
            return Ok(SamplePrediction {
                loss: o.loss,
                prediction: o.prediction,
                spikes: o.spikes,
            });
        }
        let r = self.net.loss_value(input, &self.loss_for(label))?;
        Ok(SamplePrediction {
            loss: r.loss,
            prediction: r.prediction,
            spikes: r.spikes,
        })
    }
}

#[cfg(test)]
mod tests;
