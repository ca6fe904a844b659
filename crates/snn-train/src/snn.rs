//! The EventProp networks of `lif-network` as a [`Model`]: a hidden LIF layer and an output
//! layer (LIF with the first-spike loss eq. (3), or leaky-integrator readout with the
//! max-voltage loss eq. (4)), built from an [`ExperimentConfig`], saved to and loaded from JSON.

use std::cell::RefCell;

use lif_network::eventprop::{
    transpose, transpose_into, FeedForwardNet, LayerKind, LifParams, Loss, NetworkWorkspace,
    Observe, SampleScratch,
};
use serde::{Deserialize, Serialize};

use crate::config::{ExperimentConfig, LossConfig};
use crate::encoding::InputSpike;
use crate::error::{Result, TrainError};
use crate::init::{normal_weights, shared_normal_weights};
use crate::model::{GradientBuffer, Model, SampleOutcome, SamplePrediction};

/// Format tag of weights files written by this version.
pub const WEIGHTS_FORMAT: &str = "snn-train-weights-v1";

thread_local! {
    /// Forward-pass buffers of [`SnnClassifier`]'s quiet-neuron count, one per thread.
    static QUIET_WORKSPACE: RefCell<NetworkWorkspace> = RefCell::new(NetworkWorkspace::new());
    /// Forward and backward buffers of [`SnnClassifier`]'s gradients, one per thread.
    static TRAIN_SCRATCH: RefCell<SampleScratch> = RefCell::new(SampleScratch::default());
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
        let mut r = self.net.loss_and_gradient(input, &self.loss_for(label))?;
        if r.loss == f64::INFINITY && self.skips_silent_label() {
            r.gradient.iter_mut().flatten().for_each(|g| *g = 0.0);
        }
        Ok(SampleOutcome {
            loss: r.loss,
            gradient: r.gradient,
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
            self.net.forward(input, Observe::default(), ws)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::load_splits;
    use crate::model::Model;

    fn small_config() -> ExperimentConfig {
        let mut c = ExperimentConfig::yin_yang();
        c.hidden = 12;
        c.limits.train = Some(20);
        c.limits.validation = Some(1);
        c.limits.test = Some(1);
        c
    }

    // Central differences of the forward-only loss (an independent path through
    // `loss_value`) against the adapter's gradient, for every weight of both layers on samples
    // whose output neurons all fire: checks the layer order, the label and the loss wiring.
    #[test]
    fn adapter_gradient_matches_central_differences_of_its_loss() {
        let config = small_config();
        let splits = load_splits(&config).unwrap();
        let model = SnnClassifier::new(&config).unwrap();
        let mut checked = 0;
        for (input, &label) in splits.train.inputs.iter().zip(&splits.train.labels) {
            let o = model.loss_and_gradient(input, label).unwrap();
            if !o.loss.is_finite() {
                continue;
            }
            for l in 0..2 {
                for i in 0..model.net.layers[l].weights.len() {
                    let h = 1e-6;
                    let loss_at = |delta: f64| {
                        let mut m = model.clone();
                        m.net.layers[l].weights[i] += delta;
                        m.loss_and_prediction(input, label).unwrap().loss
                    };
                    let fd = (loss_at(h) - loss_at(-h)) / (2.0 * h);
                    let g = o.gradient[l][i];
                    assert!(
                        (g - fd).abs() <= 1e-5 * (1.0 + g.abs()),
                        "layer {l} weight {i}: gradient {g}, central difference {fd}"
                    );
                }
            }
            checked += 1;
            if checked == 3 {
                break;
            }
        }
        assert_eq!(checked, 3, "too few samples with a finite loss");
    }

    #[test]
    fn saved_weights_round_trip_and_tampered_files_are_rejected() {
        let config = small_config();
        let model = SnnClassifier::new(&config).unwrap();
        let saved = model.to_saved(&config);
        let text = serde_json::to_string(&saved).unwrap();
        let back: SavedNetwork = serde_json::from_str(&text).unwrap();
        let path = std::path::Path::new("w.json");
        let loaded = SnnClassifier::from_saved(&back, path).unwrap();
        assert_eq!(loaded.net, model.net);

        let mut wrong_shape = saved.clone();
        wrong_shape.layers[1].weights.pop();
        assert!(matches!(
            SnnClassifier::from_saved(&wrong_shape, path),
            Err(TrainError::Format { .. })
        ));
        let mut non_finite = saved.clone();
        non_finite.layers[0].weights[3] = f64::NAN;
        let err = SnnClassifier::from_saved(&non_finite, path).unwrap_err();
        assert!(err.to_string().contains("weight 3"), "{err}");
        let mut wrong_kind = saved.clone();
        wrong_kind.layers[1].spiking = false;
        assert!(SnnClassifier::from_saved(&wrong_kind, path).is_err());
        let mut wrong_format = saved;
        wrong_format.format = "v0".into();
        assert!(SnnClassifier::from_saved(&wrong_format, path).is_err());
    }

    // A label neuron with zero input weights never fires: its loss is +∞; the default keeps
    // lif-network's finite-limit gradient (non-zero: it pushes the firing neurons later), the
    // skip option zeroes it.
    #[test]
    fn silent_label_gives_no_gradient_by_default_and_the_limit_on_request() {
        let mut config = small_config();
        if let LossConfig::FirstSpike {
            skip_silent_label, ..
        } = &mut config.loss
        {
            assert!(*skip_silent_label, "no gradient is the default");
            *skip_silent_label = false;
        }
        let splits = load_splits(&config).unwrap();
        let mut model = SnnClassifier::new(&config).unwrap();
        let (label, out) = (1, &mut model.net.layers[1]);
        for pre in 0..out.n_in {
            let k = out.index(pre, label);
            out.weights[k] = 0.0;
        }
        let input = &splits.train.inputs[0];
        let limit = model.loss_and_gradient(input, label).unwrap();
        assert_eq!(limit.loss, f64::INFINITY);
        assert!(limit.gradient.iter().flatten().any(|&g| g != 0.0));

        if let LossConfig::FirstSpike {
            skip_silent_label, ..
        } = &mut config.loss
        {
            *skip_silent_label = true;
        }
        model.loss = config.loss;
        let skipped = model.loss_and_gradient(input, label).unwrap();
        assert_eq!(skipped.loss, f64::INFINITY);
        assert!(skipped.gradient.iter().flatten().all(|&g| g == 0.0));
    }

    #[test]
    fn same_seed_same_initial_weights_drawn_from_table_3() {
        let config = ExperimentConfig::yin_yang();
        let a = SnnClassifier::new(&config).unwrap();
        let b = SnnClassifier::new(&config).unwrap();
        assert_eq!(a.net, b.net);
        let hidden = &a.net.layers[0].weights;
        assert_eq!(hidden.len(), 5 * 200);
        let mean = hidden.iter().sum::<f64>() / hidden.len() as f64;
        // N(1.5, 0.78) over 1000 weights: standard error 0.025; five of them.
        assert!((mean - 1.5).abs() < 0.125, "{mean}");
    }
}
