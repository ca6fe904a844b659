//! The complete description of an experiment: data, network sizes, encoding, loss,
//! initialisation and training options, with the paper's Table 3 values as defaults for its two
//! tasks. Input and class counts come from the data (see [`crate::source`]). Saved beside every run
//! and inside every weights file, so that a run can be evaluated or repeated from its files.

use serde::{Deserialize, Serialize};

use crate::encoding::{MnistEncoding, YinYangEncoding};
use crate::error::{Result, TrainError};
use crate::events::EventEncoding;
use crate::init::{WeightInit, MNIST_HIDDEN, MNIST_OUTPUT, YINYANG_HIDDEN, YINYANG_OUTPUT};
use crate::optim::AdamOptions;
pub use crate::source::{DataConfig, DataFile, ValidationConfig};
use crate::train::TrainOptions;

/// Neuron constants shared by all layers (Table 1; Table 3 values).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeuronConfig {
    /// Membrane time constant τ_mem in ms (20).
    pub tau_mem: f64,
    /// Synaptic time constant τ_syn in ms (5).
    pub tau_syn: f64,
    /// Threshold ϑ (1).
    pub threshold: f64,
}

impl Default for NeuronConfig {
    fn default() -> Self {
        Self {
            tau_mem: 20.0,
            tau_syn: 5.0,
            threshold: 1.0,
        }
    }
}

/// The loss of a task.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossConfig {
    /// Eq. (3): cross-entropy of the softmax of `-t_k/τ₀` over the first output spike times plus
    /// `α (exp(t_label/τ₁) - 1)`.
    FirstSpike {
        /// τ₀ in ms (Table 3: 0.5).
        tau0: f64,
        /// τ₁ in ms (Table 3: 6.4).
        tau1: f64,
        /// α (Table 3: 3e-3).
        alpha: f64,
        /// Remedy for a silent label neuron, off (`None`) by default as in the paper: with
        /// `Some(κ)` a silent output neuron gets the pseudo first-spike time
        /// `t_end + κ (ϑ - max_t V)` (ms), so the loss stays finite and pushes it towards the
        /// threshold (`lif-network`'s `Loss::FirstSpikeSilentRemedy`).
        #[serde(default)]
        silent_remedy_kappa: Option<f64>,
        /// A silent label neuron makes eq. (3) infinite. With `true` (the default: the paper's
        /// loss as `docs/datasets.md` reads it: "that sample gives no gradient") the example's
        /// gradient is dropped (it still counts in the batch size). With `false` the finite
        /// limit of the gradient is used, which pushes the other output neurons' spikes later;
        /// measured to collapse training on 6 of 10 Yin-Yang seeds (`docs/results.md`).
        #[serde(default = "default_true")]
        skip_silent_label: bool,
    },
    /// Eq. (4): cross-entropy of the softmax of the readout voltage maxima.
    MaxVoltage,
}

/// The input encoding of a task.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncodingConfig {
    /// Features and bias spike (see [`YinYangEncoding`]).
    YinYang(YinYangEncoding),
    /// Pixel latencies (see [`MnistEncoding`]), for MNIST and any IDX images.
    Mnist(MnistEncoding),
    /// Event times (see [`EventEncoding`]).
    Events(EventEncoding),
}

/// How many examples of each split to use (`None`: all).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SampleLimits {
    /// Training examples (the first ones of the split).
    pub train: Option<usize>,
    /// Validation examples.
    pub validation: Option<usize>,
    /// Test examples.
    pub test: Option<usize>,
}

/// Everything needed to build, train and evaluate a network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExperimentConfig {
    /// Where the examples come from.
    pub data: DataConfig,
    /// How the validation set is formed.
    pub validation: ValidationConfig,
    /// Input neurons (from the data: 5 Yin-Yang, `rows · cols` images, largest unit + 1 events).
    pub n_inputs: usize,
    /// Classes, the output layer's size (from the data: the largest label + 1).
    pub n_classes: usize,
    /// Hidden layer size (Table 3: 200 Yin-Yang, 350 MNIST).
    pub hidden: usize,
    /// Neuron constants.
    pub neuron: NeuronConfig,
    /// Trial duration T in ms. Not given in Table 3; the default is twice the latest input
    /// spike, `2 t_max` (60 ms Yin-Yang, 40 ms MNIST), which leaves output neurons a full
    /// `t_max` after the last input.
    pub t_end: f64,
    /// Input encoding.
    pub encoding: EncodingConfig,
    /// Loss.
    pub loss: LossConfig,
    /// Initial weights of the hidden layer.
    pub init_hidden: WeightInit,
    /// Initial weights of the output layer.
    pub init_output: WeightInit,
    /// A recurrent hidden population (`--recurrent`): the initial weights of its hidden→hidden
    /// synapses (every ordered pair of distinct hidden neurons). `None` (the default): the
    /// paper's feed-forward network. Needs the first-spike loss without the silent remedy, or
    /// the max-voltage loss.
    #[serde(default)]
    pub init_recurrent: Option<WeightInit>,
    /// Draw every layer from the same standard normals, as the paper's code does (it seeds
    /// each layer's generator with the run's seed; see [`crate::init::shared_normal_weights`]).
    /// `false` (the default): independent draws.
    #[serde(default)]
    pub init_shared_normals: bool,
    /// Training loop options (seed included: it also seeds the initial weights).
    pub train: TrainOptions,
    /// Subsets for quick runs.
    pub limits: SampleLimits,
    /// The data files read (none for the generated Yin-Yang data), filled in when the data is
    /// loaded.
    #[serde(default)]
    pub data_files: Vec<DataFile>,
}

impl ExperimentConfig {
    /// Table 3, Yin-Yang column: 5-200-3, t_max 30 ms, t_bias 0, first-spike loss with τ₀ 0.5
    /// ms, τ₁ 6.4 ms, α 3e-3; weights N(1.5, 0.78) and N(0.93, 0.1); Adam 5e-3 × 0.95 per epoch,
    /// batch 32, 100 epochs.
    pub fn yin_yang() -> Self {
        let encoding = YinYangEncoding::default();
        Self {
            data: DataConfig::YinYang,
            validation: ValidationConfig::Files,
            n_inputs: YinYangEncoding::N_INPUTS,
            n_classes: crate::yinyang::N_CLASSES,
            hidden: 200,
            neuron: NeuronConfig::default(),
            t_end: 2.0 * encoding.t_max,
            encoding: EncodingConfig::YinYang(encoding),
            loss: LossConfig::FirstSpike {
                tau0: 0.5,
                tau1: 6.4,
                alpha: 3e-3,
                silent_remedy_kappa: None,
                skip_silent_label: true,
            },
            init_hidden: YINYANG_HIDDEN,
            init_output: YINYANG_OUTPUT,
            init_recurrent: None,
            init_shared_normals: false,
            train: TrainOptions {
                epochs: 100,
                batch_size: 32,
                seed: 0,
                adam: AdamOptions::default(),
                input_dropout: 0.0,
                drop_last: false,
                batch_sum: false,
                quiet_bump: None,
            },
            limits: SampleLimits::default(),
            data_files: Vec::new(),
        }
    }

    /// Table 3, MNIST column: 784-350-10 with a readout layer, t_max 20 ms, max-voltage loss;
    /// weights N(0.078, 0.045) and N(0.2, 0.37); Adam 5e-3 × 0.95 per epoch, batch 5, input
    /// dropout 0.2; validation = the first 5000 training images. The number of epochs is not in
    /// Table 3; the default is 50. The data files are to be set (e.g. [`DataConfig::mnist_dir`]).
    pub fn mnist() -> Self {
        let encoding = MnistEncoding::default();
        Self {
            data: DataConfig::Images {
                train_images: Default::default(),
                train_labels: Default::default(),
                test_images: Default::default(),
                test_labels: Default::default(),
                validation: None,
            },
            validation: ValidationConfig::First(crate::mnist::VALIDATION_SIZE),
            n_inputs: crate::mnist::PIXELS,
            n_classes: crate::mnist::N_CLASSES,
            hidden: 350,
            neuron: NeuronConfig::default(),
            t_end: 2.0 * encoding.t_max,
            encoding: EncodingConfig::Mnist(encoding),
            loss: LossConfig::MaxVoltage,
            init_hidden: MNIST_HIDDEN,
            init_output: MNIST_OUTPUT,
            init_recurrent: None,
            init_shared_normals: false,
            train: TrainOptions {
                epochs: 50,
                batch_size: 5,
                seed: 0,
                adam: AdamOptions::default(),
                input_dropout: 0.2,
                drop_last: false,
                batch_sum: false,
                quiet_bump: None,
            },
            limits: SampleLimits::default(),
            data_files: Vec::new(),
        }
    }

    /// Event data (not in the paper): the MNIST network settings (readout layer, max-voltage
    /// loss, initialisation, Adam) with 128 hidden neurons, batch 32, no dropout, 30 epochs,
    /// events up to 1000 ms with times in seconds, trial `2 t_max`; validation 10 % of the
    /// training file unless a validation file is given. Sizes come from the files.
    pub fn events() -> Self {
        let encoding = EventEncoding::default();
        let mut c = Self::mnist();
        c.data = DataConfig::Events {
            train: Default::default(),
            test: Default::default(),
            validation: None,
        };
        c.validation = ValidationConfig::Fraction(0.1);
        (c.n_inputs, c.n_classes) = (0, 0);
        c.hidden = 128;
        c.t_end = 2.0 * encoding.t_max;
        c.encoding = EncodingConfig::Events(encoding);
        c.train.batch_size = 32;
        c.train.input_dropout = 0.0;
        c.train.epochs = 30;
        c
    }

    /// Checks every value a user can set (the neuron constants and `t_end` are checked again
    /// by `lif-network` when the network is built).
    pub fn validate(&self) -> Result<()> {
        let bad = |name, value: String, reason| {
            Err(TrainError::InvalidOption {
                name,
                value,
                reason,
            })
        };
        if self.hidden == 0 {
            return bad("hidden", "0".into(), "must be at least 1");
        }
        for (name, v) in [
            ("tau-mem", self.neuron.tau_mem),
            ("tau-syn", self.neuron.tau_syn),
            ("threshold", self.neuron.threshold),
            ("t-end", self.t_end),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(name, v.to_string(), "must be a finite number > 0");
            }
        }
        match (&self.data, &self.encoding) {
            (DataConfig::YinYang, EncodingConfig::YinYang(e)) => e.validate()?,
            (DataConfig::Images { .. }, EncodingConfig::Mnist(e)) => e.validate()?,
            (DataConfig::Events { .. }, EncodingConfig::Events(e)) => e.validate()?,
            _ => {
                return bad(
                    "encoding",
                    format!("{:?}", self.encoding),
                    "does not fit the data",
                )
            }
        }
        match (self.validation, self.data.has_validation_files()) {
            (ValidationConfig::Files, false) => return bad(
                "validation",
                "files".into(),
                "no validation file given: give one, or a count or fraction of the training set",
            ),
            (ValidationConfig::First(_) | ValidationConfig::Fraction(_), true) => {
                return bad(
                    "validation",
                    format!("{:?}", self.validation),
                    "the data has its own validation set",
                )
            }
            (ValidationConfig::Fraction(f), _) if !(f > 0.0 && f < 1.0) => {
                return bad("validation", f.to_string(), "a fraction must be in (0, 1)")
            }
            _ => {}
        }
        if let LossConfig::FirstSpike {
            tau0,
            tau1,
            alpha,
            silent_remedy_kappa,
            ..
        } = self.loss
        {
            if let Some(kappa) = silent_remedy_kappa {
                if !(kappa.is_finite() && kappa > 0.0) {
                    return bad(
                        "silent-remedy",
                        kappa.to_string(),
                        "must be a finite number > 0",
                    );
                }
            }
            for (name, v) in [("tau0", tau0), ("tau1", tau1)] {
                if !(v.is_finite() && v > 0.0) {
                    return bad(name, v.to_string(), "must be a finite number > 0");
                }
            }
            if !(alpha.is_finite() && alpha >= 0.0) {
                return bad("alpha", alpha.to_string(), "must be a finite number >= 0");
            }
        }
        self.init_hidden.validate()?;
        self.init_output.validate()?;
        if let Some(init) = self.init_recurrent {
            init.validate()?;
            if matches!(
                self.loss,
                LossConfig::FirstSpike {
                    silent_remedy_kappa: Some(_),
                    ..
                }
            ) {
                return bad(
                    "recurrent",
                    "with --silent-remedy".into(),
                    "the recurrent network has no silent-label remedy (use the plain first-spike loss)",
                );
            }
            if self.train.quiet_bump.is_some() {
                return bad(
                    "recurrent",
                    "with --quiet-bump".into(),
                    "the recurrent network does not report its quiet neurons",
                );
            }
        }
        for (name, limit) in [
            ("train-samples", self.limits.train),
            ("validation-samples", self.limits.validation),
            ("test-samples", self.limits.test),
        ] {
            if limit == Some(0) {
                return bad(name, "0".into(), "must be at least 1");
            }
        }
        self.train.validate()
    }
}

fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    // Table 3 of the paper, read off the table (not from this code's constants).
    #[test]
    fn yin_yang_defaults_are_table_3() {
        let c = ExperimentConfig::yin_yang();
        assert_eq!((c.n_inputs, c.hidden, c.n_classes), (5, 200, 3));
        assert_eq!(
            (c.neuron.tau_mem, c.neuron.tau_syn, c.neuron.threshold),
            (20.0, 5.0, 1.0)
        );
        assert_eq!(
            c.encoding,
            EncodingConfig::YinYang(YinYangEncoding {
                t_max: 30.0,
                t_bias: 0.0,
                t_min: 0.0
            })
        );
        assert_eq!(
            c.loss,
            LossConfig::FirstSpike {
                tau0: 0.5,
                tau1: 6.4,
                alpha: 3e-3,
                silent_remedy_kappa: None,
                skip_silent_label: true
            }
        );
        assert_eq!((c.init_hidden.mean, c.init_hidden.std), (1.5, 0.78));
        assert_eq!((c.init_output.mean, c.init_output.std), (0.93, 0.1));
        assert_eq!((c.train.batch_size, c.train.epochs), (32, 100));
        assert_eq!((c.train.adam.lr, c.train.adam.lr_decay), (5e-3, 0.95));
        assert_eq!(
            (c.train.adam.beta1, c.train.adam.beta2, c.train.adam.epsilon),
            (0.9, 0.999, 1e-8)
        );
        assert_eq!(c.train.input_dropout, 0.0);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn mnist_defaults_are_table_3() {
        let c = ExperimentConfig::mnist();
        assert_eq!((c.n_inputs, c.hidden, c.n_classes), (784, 350, 10));
        assert_eq!(c.loss, LossConfig::MaxVoltage);
        assert_eq!(
            c.encoding,
            EncodingConfig::Mnist(MnistEncoding {
                t_max: 20.0,
                min_value: 1
            })
        );
        assert_eq!((c.init_hidden.mean, c.init_hidden.std), (0.078, 0.045));
        assert_eq!((c.init_output.mean, c.init_output.std), (0.2, 0.37));
        assert_eq!((c.train.batch_size, c.train.input_dropout), (5, 0.2));
        assert_eq!((c.train.adam.lr, c.train.adam.lr_decay), (5e-3, 0.95));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn out_of_range_values_are_rejected_by_option_name() {
        type Case = (Box<dyn Fn(&mut ExperimentConfig)>, &'static str);
        let cases: Vec<Case> = vec![
            (Box::new(|c| c.hidden = 0), "hidden"),
            (Box::new(|c| c.t_end = -1.0), "t-end"),
            (Box::new(|c| c.neuron.tau_syn = f64::NAN), "tau-syn"),
            (
                Box::new(|c| {
                    c.loss = LossConfig::FirstSpike {
                        tau0: 0.0,
                        tau1: 6.4,
                        alpha: 0.0,
                        silent_remedy_kappa: None,
                        skip_silent_label: false,
                    }
                }),
                "tau0",
            ),
            (Box::new(|c| c.train.batch_size = 0), "batch-size"),
            (Box::new(|c| c.train.adam.lr = -5e-3), "lr"),
            (Box::new(|c| c.limits.train = Some(0)), "train-samples"),
            (Box::new(|c| c.train.input_dropout = 2.0), "dropout"),
        ];
        for (mutate, name) in cases {
            let mut c = ExperimentConfig::yin_yang();
            mutate(&mut c);
            match c.validate() {
                Err(TrainError::InvalidOption { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{name}: expected InvalidOption, got {other:?}"),
            }
        }
        let mut c = ExperimentConfig::yin_yang();
        c.encoding = EncodingConfig::Mnist(MnistEncoding::default());
        assert!(c.validate().is_err());
    }

    #[test]
    fn config_round_trips_through_json() {
        for c in [
            ExperimentConfig::yin_yang(),
            ExperimentConfig::mnist(),
            ExperimentConfig::events(),
        ] {
            let text = serde_json::to_string(&c).unwrap();
            let back: ExperimentConfig = serde_json::from_str(&text).unwrap();
            assert_eq!(back, c);
        }
    }
}
