//! The command line of `snn-train`: one subcommand per kind of data, each with only the options
//! that apply to it, and the configuration they give.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use snn_train::config::{
    DataConfig, EncodingConfig, ExperimentConfig, LossConfig, ValidationConfig,
};
use snn_train::source::DataLocations;

use crate::common::{set, CommonArgs};
use snn_train::Result;

#[derive(Parser)]
#[command(
    name = "snn-train",
    version,
    about = "Train spiking networks with EventProp"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const YINYANG_DEFAULTS: &str = "Defaults are the paper's Table 3 values (5-200-3, first-spike \
loss eq. 3, batch 32, 100 epochs), except the trial length t_end = 2 t_max = 60 ms, which Table 3 \
does not give.";
const MNIST_DEFAULTS: &str = "Defaults are the paper's Table 3 values (784-350-10, readout, \
max-voltage loss eq. 4, batch 5, dropout 0.2, validation = the first 5000 training images), \
except t_end = 2 t_max = 40 ms and 50 epochs, which Table 3 does not give.";
const IMAGES_DEFAULTS: &str = "Any labelled IDX images: input count rows x cols and class count \
(largest label + 1) come from the files. Defaults are the paper's MNIST settings; validation is \
the first 10% of the training images unless --validation or validation files are given.";
const EVENTS_DEFAULTS: &str = "HDF5 files in the Spiking Heidelberg Digits layout (spikes/times, \
spikes/units, labels). Input and class counts come from the files. Defaults: the MNIST network \
settings with 128 hidden neurons, batch 32, no input dropout, 30 epochs, times in seconds (--time-scale 1000), \
events up to --t-max 1000 ms, t_end = 2 t_max; validation 10% of the training file.";

#[derive(Subcommand)]
pub enum Command {
    /// Train the 5-200-3 network on Yin-Yang (first-spike loss, eq. 3).
    #[command(after_help = YINYANG_DEFAULTS)]
    YinYang {
        #[command(flatten)]
        first_spike: FirstSpikeArgs,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Train the 784-350-10 network on MNIST (max-voltage loss, eq. 4).
    #[command(after_help = MNIST_DEFAULTS)]
    Mnist {
        /// Directory holding the four MNIST IDX files (raw or .gz) [default with --resume: the
        /// files recorded in the run].
        #[arg(long, required_unless_present = "resume")]
        data: Option<PathBuf>,
        /// Validation set: the first N training images, or a fraction (0.1) [default: 5000].
        #[arg(long, value_name = "N|FRACTION")]
        validation: Option<String>,
        /// Latest pixel spike time t_max, ms [default: 20].
        #[arg(long, allow_negative_numbers = true)]
        t_max: Option<f64>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Train on any labelled IDX image files (sizes from the files; max-voltage loss).
    #[command(after_help = IMAGES_DEFAULTS)]
    Images {
        #[command(flatten)]
        files: ImageFiles,
        /// Validation set: the first N training images, or a fraction (0.1) [default: 0.1
        /// without validation files].
        #[arg(long, value_name = "N|FRACTION")]
        validation: Option<String>,
        /// Latest pixel spike time t_max, ms [default: 20].
        #[arg(long, allow_negative_numbers = true)]
        t_max: Option<f64>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Train on spike-time events in HDF5 (Spiking Heidelberg Digits layout).
    #[command(after_help = EVENTS_DEFAULTS)]
    Events {
        /// Training file.
        #[arg(long, required_unless_present = "resume")]
        train: Option<PathBuf>,
        /// Test file.
        #[arg(long, required_unless_present = "resume")]
        test: Option<PathBuf>,
        /// Validation file [default: part of the training file, see --validation].
        #[arg(long, value_name = "FILE", conflicts_with = "validation")]
        validation_file: Option<PathBuf>,
        /// Validation set: the first N training examples, or a fraction [default: 0.1].
        #[arg(long, value_name = "N|FRACTION")]
        validation: Option<String>,
        /// Milliseconds per time unit of the files [default: 1000, times in seconds].
        #[arg(long, allow_negative_numbers = true)]
        time_scale: Option<f64>,
        /// Latest input spike kept, ms [default: 1000].
        #[arg(long, allow_negative_numbers = true)]
        t_max: Option<f64>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Score a saved weights file on a split of its data.
    Evaluate {
        /// A weights file (best.safetensors, weights.safetensors) or a run directory, whose
        /// best-validation weights are scored.
        #[arg(long)]
        weights: PathBuf,
        #[command(flatten)]
        data: DataPlaces,
        /// Which split.
        #[arg(long, value_enum, default_value_t = SplitArg::Test)]
        split: SplitArg,
        /// Use only the first N examples of the split.
        #[arg(long, value_name = "N")]
        samples: Option<usize>,
        /// Worker threads (default: all cores).
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
    },
}

/// The image and label files of `images`.
#[derive(Args)]
pub struct ImageFiles {
    /// Training images (IDX, raw or gzip).
    #[arg(long, required_unless_present = "resume")]
    train_images: Option<PathBuf>,
    /// Training labels.
    #[arg(long, required_unless_present = "resume")]
    train_labels: Option<PathBuf>,
    /// Test images.
    #[arg(long, required_unless_present = "resume")]
    test_images: Option<PathBuf>,
    /// Test labels.
    #[arg(long, required_unless_present = "resume")]
    test_labels: Option<PathBuf>,
    /// Validation images (with --validation-labels) instead of a part of the training set.
    #[arg(long, requires = "validation_labels", conflicts_with = "validation")]
    validation_images: Option<PathBuf>,
    /// Validation labels.
    #[arg(long, requires = "validation_images")]
    validation_labels: Option<PathBuf>,
}

/// Where `evaluate` finds the run's data files when they moved: each option replaces the
/// recorded file of the same role (the training option of the same name); the files must have
/// the recorded checksums unless --other-data.
#[derive(Args)]
#[command(next_help_heading = "Data (when the run's files moved)")]
pub struct DataPlaces {
    /// Directory holding the four MNIST IDX files (raw or .gz) of an image run.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["train_images", "train_labels", "test_images", "test_labels"])]
    data: Option<PathBuf>,
    /// Training images (IDX) of an image run.
    #[arg(long, value_name = "FILE")]
    train_images: Option<PathBuf>,
    /// Training labels of an image run.
    #[arg(long, value_name = "FILE")]
    train_labels: Option<PathBuf>,
    /// Test images of an image run.
    #[arg(long, value_name = "FILE")]
    test_images: Option<PathBuf>,
    /// Test labels of an image run.
    #[arg(long, value_name = "FILE")]
    test_labels: Option<PathBuf>,
    /// Validation images of an image run with validation files.
    #[arg(long, value_name = "FILE")]
    validation_images: Option<PathBuf>,
    /// Validation labels of an image run with validation files.
    #[arg(long, value_name = "FILE")]
    validation_labels: Option<PathBuf>,
    /// Training file (HDF5) of an events run.
    #[arg(long, value_name = "FILE")]
    train: Option<PathBuf>,
    /// Test file of an events run.
    #[arg(long, value_name = "FILE")]
    test: Option<PathBuf>,
    /// Validation file of an events run with one.
    #[arg(long, value_name = "FILE")]
    validation_file: Option<PathBuf>,
    /// Score files whose checksums differ from the run's (other data of the same layout; its
    /// sizes must fit the network) [default: refuse them].
    #[arg(long)]
    pub other_data: bool,
}

impl DataPlaces {
    /// The new places given.
    pub fn locations(&self) -> DataLocations {
        DataLocations {
            mnist_dir: self.data.clone(),
            train_images: self.train_images.clone(),
            train_labels: self.train_labels.clone(),
            test_images: self.test_images.clone(),
            test_labels: self.test_labels.clone(),
            validation_images: self.validation_images.clone(),
            validation_labels: self.validation_labels.clone(),
            train: self.train.clone(),
            test: self.test.clone(),
            validation_file: self.validation_file.clone(),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SplitArg {
    Train,
    Validation,
    Test,
}

/// Options of the first-spike loss and the Yin-Yang encoding.
#[derive(Args)]
pub struct FirstSpikeArgs {
    /// Latest feature spike time t_max, ms [default: 30].
    #[arg(long, allow_negative_numbers = true)]
    t_max: Option<f64>,
    /// Bias spike time, ms [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    t_bias: Option<f64>,
    /// Spike time of a feature of 0, ms (features span t_min..t_max) [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    t_min: Option<f64>,
    /// First-spike loss τ0, ms [default: 0.5].
    #[arg(long, allow_negative_numbers = true)]
    tau0: Option<f64>,
    /// First-spike loss τ1, ms [default: 6.4].
    #[arg(long, allow_negative_numbers = true)]
    tau1: Option<f64>,
    /// First-spike loss regularisation α [default: 3e-3].
    #[arg(long, allow_negative_numbers = true)]
    alpha: Option<f64>,
    /// Opt-in remedy for a silent label neuron: a silent output neuron gets the pseudo
    /// first-spike time t_end + KAPPA·(threshold - max V), in ms [default: off, as the paper].
    #[arg(long, value_name = "KAPPA", allow_negative_numbers = true)]
    silent_remedy: Option<f64>,
    /// Silent label neuron: use the finite limit of eq. (3)'s gradient, which pushes the other
    /// output neurons later, instead of giving the example no gradient [default: off].
    #[arg(long)]
    silent_label_limit: bool,
}

impl FirstSpikeArgs {
    /// Applies the Yin-Yang and first-spike options to `c`.
    pub fn apply(&self, c: &mut ExperimentConfig) {
        if let EncodingConfig::YinYang(e) = &mut c.encoding {
            set(&mut e.t_max, self.t_max);
            set(&mut e.t_bias, self.t_bias);
            set(&mut e.t_min, self.t_min);
        }
        if let LossConfig::FirstSpike {
            tau0,
            tau1,
            alpha,
            silent_remedy_kappa,
            skip_silent_label,
        } = &mut c.loss
        {
            *skip_silent_label = !self.silent_label_limit;
            set(tau0, self.tau0);
            set(tau1, self.tau1);
            set(alpha, self.alpha);
            if self.silent_remedy.is_some() {
                *silent_remedy_kappa = self.silent_remedy;
            }
        }
    }
}

impl ImageFiles {
    /// The data of `images`; `None` with `--resume` (the run's own files).
    pub fn data(&self) -> Option<DataConfig> {
        Some(DataConfig::Images {
            train_images: self.train_images.clone()?,
            train_labels: self.train_labels.clone()?,
            test_images: self.test_images.clone()?,
            test_labels: self.test_labels.clone()?,
            validation: self
                .validation_images
                .clone()
                .zip(self.validation_labels.clone()),
        })
    }
}

/// The validation choice: files when the data has them, else `--validation` or `default`.
pub fn validation(
    data: &DataConfig,
    option: Option<&str>,
    default: ValidationConfig,
) -> Result<ValidationConfig> {
    if data.has_validation_files() {
        return Ok(ValidationConfig::Files);
    }
    option.map_or(Ok(default), ValidationConfig::parse)
}
