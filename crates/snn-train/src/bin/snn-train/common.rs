//! The training options every subcommand shares (epochs, seed, Adam, network sizes and
//! initialisation, neuron constants, dataset limits), and how they change a configuration.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use snn_train::config::{EncodingConfig, ExperimentConfig};
use snn_train::Result;

/// `--quiet-measure` values.
#[derive(Clone, Copy, ValueEnum)]
pub enum QuietMeasureArg {
    /// Share of quiet neurons per example, averaged over the minibatch.
    Example,
    /// Share of neurons quiet in every example of the minibatch.
    Batch,
}

/// Options of every training subcommand; unset values keep the subcommand's defaults.
#[derive(Args)]
pub struct CommonArgs {
    /// Epochs (with --resume: the new total).
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Seed of the initial weights, shuffles and dropout [default: 0].
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Minibatch size.
    #[arg(long, value_name = "N")]
    batch_size: Option<usize>,
    /// Skip the last, smaller minibatch of every epoch.
    #[arg(long)]
    drop_last: bool,
    /// Step on the sum of the minibatch's gradients, as the paper's code, instead of their mean
    /// (the paper's equations).
    #[arg(long)]
    batch_sum: bool,
    /// The paper code's quiet-neuron rule: before every Adam step add INC to every hidden
    /// weight when the hidden layer's share of silent neurons (mean over the minibatch's
    /// examples) exceeds the hidden threshold, else to every output weight when the output
    /// layer's share exceeds the output threshold (the paper's code: INC 5e-3) [default: off].
    #[arg(long, value_name = "INC", allow_negative_numbers = true)]
    quiet_bump: Option<f64>,
    /// Hidden threshold of --quiet-bump [default: 0.3].
    #[arg(long, value_name = "SHARE", requires = "quiet_bump")]
    quiet_hidden_threshold: Option<f64>,
    /// Output threshold of --quiet-bump [default: 0].
    #[arg(long, value_name = "SHARE", requires = "quiet_bump")]
    quiet_output_threshold: Option<f64>,
    /// How --quiet-bump measures a layer's share of quiet neurons on a minibatch: per example
    /// and averaged, or neurons silent in every example of the minibatch [default: example].
    #[arg(long, value_enum, requires = "quiet_bump")]
    quiet_measure: Option<QuietMeasureArg>,
    /// Draw every layer's initial weights from the same standard normals, as the paper's code
    /// (each layer's generator seeded with the run's seed) [default: independent draws].
    #[arg(long)]
    init_shared_normals: bool,
    /// Adam learning rate [default: 5e-3].
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f64>,
    /// Learning-rate factor per epoch [default: 0.95].
    #[arg(long, allow_negative_numbers = true)]
    lr_decay: Option<f64>,
    /// Decay the learning rate after every epoch from this one on (2: the paper's code, no
    /// decay after the first epoch; 1: after every epoch) [default: 2].
    #[arg(long, value_name = "EPOCH")]
    lr_decay_start: Option<usize>,
    /// Bias-correct Adam's moments with the constants 1-β1 and 1-β2 instead of 1-β^t, as one
    /// published version of the paper's code: steps up to ~2× Adam's in the first ~50 updates,
    /// then ~0.32× once 1-β2^t ≈ 1 [default: off, Kingma & Ba's 1-β^t].
    #[arg(long)]
    adam_fixed_bias_correction: bool,
    /// Adam β1 [default: 0.9].
    #[arg(long, allow_negative_numbers = true)]
    beta1: Option<f64>,
    /// Adam β2 [default: 0.999].
    #[arg(long, allow_negative_numbers = true)]
    beta2: Option<f64>,
    /// Adam ε [default: 1e-8].
    #[arg(long, allow_negative_numbers = true)]
    epsilon: Option<f64>,
    /// Hidden neurons.
    #[arg(long, value_name = "N")]
    hidden: Option<usize>,
    /// Membrane time constant, ms [default: 20].
    #[arg(long, allow_negative_numbers = true)]
    tau_mem: Option<f64>,
    /// Synaptic time constant, ms [default: 5].
    #[arg(long, allow_negative_numbers = true)]
    tau_syn: Option<f64>,
    /// Firing threshold [default: 1].
    #[arg(long, allow_negative_numbers = true)]
    threshold: Option<f64>,
    /// Trial duration, ms [default: 2 t_max].
    #[arg(long, allow_negative_numbers = true)]
    t_end: Option<f64>,
    /// Input-spike dropout probability during training.
    #[arg(long, allow_negative_numbers = true)]
    dropout: Option<f64>,
    /// Mean of the initial hidden weights.
    #[arg(long, allow_negative_numbers = true)]
    hidden_mean: Option<f64>,
    /// Standard deviation of the initial hidden weights.
    #[arg(long, allow_negative_numbers = true)]
    hidden_std: Option<f64>,
    /// A recurrent hidden population: every ordered pair of distinct hidden neurons connected,
    /// trained with the event-driven engine (`lif_network::engine`).
    #[arg(long)]
    recurrent: bool,
    /// Mean of the initial recurrent (hidden→hidden) weights [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    recurrent_mean: Option<f64>,
    /// Standard deviation of the initial recurrent weights [default: 0.1].
    #[arg(long, allow_negative_numbers = true)]
    recurrent_std: Option<f64>,
    /// Mean of the initial output weights.
    #[arg(long, allow_negative_numbers = true)]
    output_mean: Option<f64>,
    /// Standard deviation of the initial output weights.
    #[arg(long, allow_negative_numbers = true)]
    output_std: Option<f64>,
    /// Use only the first N training examples.
    #[arg(long, value_name = "N")]
    train_samples: Option<usize>,
    /// Use only the first N validation examples.
    #[arg(long, value_name = "N")]
    validation_samples: Option<usize>,
    /// Use only the first N test examples.
    #[arg(long, value_name = "N")]
    test_samples: Option<usize>,
    /// Also score the test set after every epoch (a curve to compare with published ones).
    #[arg(long)]
    pub test_each_epoch: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Output directory [default: runs/<task>-seed<seed>]; must not hold another run.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Replace the run in the output directory.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Continue the run in DIR from its checkpoint, with its configuration (only --epochs, the
    /// new total, and --threads, --quiet, --log-every, --test-each-epoch may be given).
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// When stdout is not a terminal, print a progress line every N minibatches [default: a
    /// tenth of an epoch].
    #[arg(long, value_name = "N")]
    pub log_every: Option<usize>,
    /// No progress bar and no per-epoch lines.
    #[arg(long)]
    pub quiet: bool,
}

/// Options that may accompany `--resume`.
pub const RESUME_OPTIONS: [&str; 6] = [
    "resume",
    "epochs",
    "threads",
    "quiet",
    "log_every",
    "test_each_epoch",
];

/// Sets `target` to `value` when given.
pub fn set<T: Copy>(target: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *target = v;
    }
}

impl CommonArgs {
    /// Applies the given options to `c` (whose t_end is then `2 t_max` unless given).
    pub fn apply(&self, c: &mut ExperimentConfig) -> Result<()> {
        set(&mut c.train.epochs, self.epochs);
        set(&mut c.train.seed, self.seed);
        set(&mut c.train.batch_size, self.batch_size);
        set(&mut c.train.adam.lr, self.lr);
        set(&mut c.train.adam.lr_decay, self.lr_decay);
        set(&mut c.train.adam.lr_decay_start, self.lr_decay_start);
        set(&mut c.train.adam.beta1, self.beta1);
        set(&mut c.train.adam.beta2, self.beta2);
        set(&mut c.train.adam.epsilon, self.epsilon);
        c.train.adam.fixed_bias_correction = self.adam_fixed_bias_correction;
        set(&mut c.train.input_dropout, self.dropout);
        c.train.drop_last = self.drop_last;
        c.train.batch_sum = self.batch_sum;
        c.init_shared_normals = self.init_shared_normals;
        c.train.quiet_bump = self.quiet_bump.map(|increment| {
            let mut b = snn_train::quiet::QuietBump {
                increment,
                ..Default::default()
            };
            set(&mut b.hidden_threshold, self.quiet_hidden_threshold);
            set(&mut b.output_threshold, self.quiet_output_threshold);
            if let Some(m) = self.quiet_measure {
                b.measure = match m {
                    QuietMeasureArg::Example => snn_train::quiet::QuietMeasure::Example,
                    QuietMeasureArg::Batch => snn_train::quiet::QuietMeasure::Batch,
                };
            }
            b
        });
        set(&mut c.hidden, self.hidden);
        set(&mut c.neuron.tau_mem, self.tau_mem);
        set(&mut c.neuron.tau_syn, self.tau_syn);
        set(&mut c.neuron.threshold, self.threshold);
        set(&mut c.init_hidden.mean, self.hidden_mean);
        set(&mut c.init_hidden.std, self.hidden_std);
        set(&mut c.init_output.mean, self.output_mean);
        set(&mut c.init_output.std, self.output_std);
        if self.recurrent {
            let mut init = snn_train::init::WeightInit {
                mean: 0.0,
                std: 0.1,
            };
            set(&mut init.mean, self.recurrent_mean);
            set(&mut init.std, self.recurrent_std);
            c.init_recurrent = Some(init);
        }
        c.limits.train = self.train_samples;
        c.limits.validation = self.validation_samples;
        c.limits.test = self.test_samples;
        c.t_end = 2.0
            * match c.encoding {
                EncodingConfig::YinYang(e) => e.t_max,
                EncodingConfig::Mnist(e) => e.t_max,
                EncodingConfig::Events(e) => e.t_max,
            };
        set(&mut c.t_end, self.t_end);
        c.validate()
    }
}
