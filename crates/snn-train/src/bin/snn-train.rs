//! `snn-train`: trains the paper's spiking networks with EventProp and evaluates saved weights.
//!
//! ```text
//! snn-train yin-yang [--epochs 100 --seed 0 --batch-size 32 --lr 5e-3 ... --out DIR]
//! snn-train mnist --data DIR [...]
//! snn-train evaluate --weights FILE [--data DIR] [--split test]
//! ```
//! Every default is the paper's Table 3 value. Errors print one line `error: ...` and exit 1.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use snn_train::config::{EncodingConfig, ExperimentConfig, LossConfig, Task};
use snn_train::run::{default_out_dir, evaluate_weights, run_experiment, Split};
use snn_train::train::{EpochMetrics, Observer};
use snn_train::{Result, TrainError};

#[derive(Parser)]
#[command(
    name = "snn-train",
    version,
    about = "Train spiking networks with EventProp"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Shown under the training options.
const DEFAULTS_NOTE: &str = "Defaults written \"A / B\" are Yin-Yang / MNIST; all are the paper's \
Table 3 values except t_end (2 t_max) and the MNIST epochs (50), which Table 3 does not give.";

#[derive(Subcommand)]
enum Command {
    /// Train the 5-200-3 network on Yin-Yang (first-spike loss, eq. 3).
    #[command(after_help = DEFAULTS_NOTE)]
    YinYang(TrainArgs),
    /// Train the 784-350-10 network on MNIST (max-voltage loss, eq. 4).
    #[command(after_help = DEFAULTS_NOTE)]
    Mnist {
        /// Directory holding the four MNIST IDX files (raw or .gz).
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        args: TrainArgs,
    },
    /// Score a saved weights file on a split of its task.
    Evaluate {
        /// Weights file written by a training run (weights.json).
        #[arg(long)]
        weights: PathBuf,
        /// MNIST directory (for MNIST weights).
        #[arg(long)]
        data: Option<PathBuf>,
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

#[derive(Clone, Copy, ValueEnum)]
enum SplitArg {
    Train,
    Validation,
    Test,
}

/// Training options; unset values take the task's Table 3 defaults (Yin-Yang / MNIST).
#[derive(Args)]
struct TrainArgs {
    /// Epochs [default: 100 / 50].
    #[arg(long, value_name = "N")]
    epochs: Option<usize>,
    /// Seed of the initial weights, shuffles and dropout [default: 0].
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Minibatch size [default: 32 / 5].
    #[arg(long, value_name = "N")]
    batch_size: Option<usize>,
    /// Adam learning rate [default: 5e-3].
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f64>,
    /// Learning-rate factor per epoch [default: 0.95].
    #[arg(long, allow_negative_numbers = true)]
    lr_decay: Option<f64>,
    /// Adam β1 [default: 0.9].
    #[arg(long, allow_negative_numbers = true)]
    beta1: Option<f64>,
    /// Adam β2 [default: 0.999].
    #[arg(long, allow_negative_numbers = true)]
    beta2: Option<f64>,
    /// Adam ε [default: 1e-8].
    #[arg(long, allow_negative_numbers = true)]
    epsilon: Option<f64>,
    /// Hidden neurons [default: 200 / 350].
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
    /// Latest input spike time t_max, ms [default: 30 / 20].
    #[arg(long, allow_negative_numbers = true)]
    t_max: Option<f64>,
    /// Trial duration, ms [default: 2 t_max].
    #[arg(long, allow_negative_numbers = true)]
    t_end: Option<f64>,
    /// Bias spike time, ms (Yin-Yang) [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    t_bias: Option<f64>,
    /// First-spike loss τ0, ms (Yin-Yang) [default: 0.5].
    #[arg(long, allow_negative_numbers = true)]
    tau0: Option<f64>,
    /// First-spike loss τ1, ms (Yin-Yang) [default: 6.4].
    #[arg(long, allow_negative_numbers = true)]
    tau1: Option<f64>,
    /// First-spike loss regularisation α (Yin-Yang) [default: 3e-3].
    #[arg(long, allow_negative_numbers = true)]
    alpha: Option<f64>,
    /// Opt-in remedy for a silent label neuron (Yin-Yang): a silent output neuron gets the
    /// pseudo first-spike time t_end + KAPPA·(threshold - max V), in ms [default: off, as the
    /// paper].
    #[arg(long, value_name = "KAPPA", allow_negative_numbers = true)]
    silent_remedy: Option<f64>,
    /// Silent label neuron (Yin-Yang): use the finite limit of eq. (3)'s gradient, which pushes
    /// the other output neurons later, instead of giving the example no gradient [default: off].
    #[arg(long)]
    silent_label_limit: bool,
    /// Input-spike dropout probability during training [default: 0 / 0.2].
    #[arg(long, allow_negative_numbers = true)]
    dropout: Option<f64>,
    /// Mean of the initial hidden weights [default: 1.5 / 0.078].
    #[arg(long, allow_negative_numbers = true)]
    hidden_mean: Option<f64>,
    /// Standard deviation of the initial hidden weights [default: 0.78 / 0.045].
    #[arg(long, allow_negative_numbers = true)]
    hidden_std: Option<f64>,
    /// Mean of the initial output weights [default: 0.93 / 0.2].
    #[arg(long, allow_negative_numbers = true)]
    output_mean: Option<f64>,
    /// Standard deviation of the initial output weights [default: 0.1 / 0.37].
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
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Output directory [default: runs/<task>-seed<seed>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// No progress bar and no per-epoch lines.
    #[arg(long)]
    quiet: bool,
}

/// Sets `target` to `value` when given.
fn set<T: Copy>(target: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *target = v;
    }
}

impl TrainArgs {
    /// The task's Table 3 configuration with every given option applied.
    fn config(&self, task: Task) -> Result<ExperimentConfig> {
        let mut c = ExperimentConfig::for_task(task);
        set(&mut c.train.epochs, self.epochs);
        set(&mut c.train.seed, self.seed);
        set(&mut c.train.batch_size, self.batch_size);
        set(&mut c.train.adam.lr, self.lr);
        set(&mut c.train.adam.lr_decay, self.lr_decay);
        set(&mut c.train.adam.beta1, self.beta1);
        set(&mut c.train.adam.beta2, self.beta2);
        set(&mut c.train.adam.epsilon, self.epsilon);
        set(&mut c.train.input_dropout, self.dropout);
        set(&mut c.hidden, self.hidden);
        set(&mut c.neuron.tau_mem, self.tau_mem);
        set(&mut c.neuron.tau_syn, self.tau_syn);
        set(&mut c.neuron.threshold, self.threshold);
        set(&mut c.init_hidden.mean, self.hidden_mean);
        set(&mut c.init_hidden.std, self.hidden_std);
        set(&mut c.init_output.mean, self.output_mean);
        set(&mut c.init_output.std, self.output_std);
        c.limits.train = self.train_samples;
        c.limits.validation = self.validation_samples;
        c.limits.test = self.test_samples;
        match &mut c.encoding {
            EncodingConfig::YinYang(e) => {
                set(&mut e.t_max, self.t_max);
                set(&mut e.t_bias, self.t_bias);
                c.t_end = 2.0 * e.t_max;
            }
            EncodingConfig::Mnist(e) => {
                set(&mut e.t_max, self.t_max);
                c.t_end = 2.0 * e.t_max;
                if self.t_bias.is_some() {
                    return Err(only_for("t-bias", "yin-yang"));
                }
            }
        }
        set(&mut c.t_end, self.t_end);
        match &mut c.loss {
            LossConfig::FirstSpike {
                tau0,
                tau1,
                alpha,
                silent_remedy_kappa,
                skip_silent_label,
            } => {
                *skip_silent_label = !self.silent_label_limit;
                set(tau0, self.tau0);
                set(tau1, self.tau1);
                set(alpha, self.alpha);
                if self.silent_remedy.is_some() {
                    *silent_remedy_kappa = self.silent_remedy;
                }
            }
            LossConfig::MaxVoltage => {
                for (name, v) in [
                    ("tau0", self.tau0),
                    ("tau1", self.tau1),
                    ("alpha", self.alpha),
                    ("silent-remedy", self.silent_remedy),
                    ("silent-label-limit", self.silent_label_limit.then_some(1.0)),
                ] {
                    if v.is_some() {
                        return Err(only_for(name, "yin-yang"));
                    }
                }
            }
        }
        c.validate()?;
        Ok(c)
    }
}

fn only_for(name: &'static str, task: &str) -> TrainError {
    TrainError::InvalidOption {
        name,
        value: "given".into(),
        reason: if task == "yin-yang" {
            "applies to yin-yang only"
        } else {
            "applies to mnist only"
        },
    }
}

/// A progress bar per epoch (hidden when stderr is not a terminal) and one line per epoch.
struct Progress {
    bar: Option<ProgressBar>,
    epochs: usize,
    quiet: bool,
}

impl Observer for Progress {
    fn epoch_started(&mut self, epoch: usize, n_batches: usize) {
        if self.quiet {
            return;
        }
        let bar = ProgressBar::new(n_batches as u64);
        if !std::io::stderr().is_terminal() {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        if let Ok(style) =
            ProgressStyle::with_template("epoch {msg} [{bar:40}] {pos}/{len} batches, {eta} left")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(format!("{epoch}/{}", self.epochs));
        self.bar = Some(bar);
    }

    fn batch_finished(&mut self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    fn epoch_finished(&mut self, m: &EpochMetrics) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if !self.quiet {
            println!(
                "epoch {:>3}/{}  loss {:.4}  train {:6.2}%  validation {:6.2}%  \
                 spikes/sample {:7.1}  {:6.2} s",
                m.epoch,
                self.epochs,
                m.train_loss,
                100.0 * m.train_accuracy,
                100.0 * m.validation_accuracy,
                m.spikes_per_sample,
                m.seconds
            );
        }
    }
}

fn set_threads(threads: Option<usize>) -> Result<()> {
    let Some(n) = threads else { return Ok(()) };
    if n == 0 {
        return Err(TrainError::InvalidOption {
            name: "threads",
            value: "0".into(),
            reason: "must be at least 1",
        });
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|_| TrainError::InvalidOption {
            name: "threads",
            value: n.to_string(),
            reason: "cannot start the thread pool",
        })
        .map(|_| ())
}

fn train_command(task: Task, args: &TrainArgs, data: Option<PathBuf>) -> Result<()> {
    let config = args.config(task)?;
    set_threads(args.threads)?;
    let out = args.out.clone().unwrap_or_else(|| default_out_dir(&config));
    let mut progress = Progress {
        bar: None,
        epochs: config.train.epochs,
        quiet: args.quiet,
    };
    let summary = run_experiment(&config, data.as_deref(), &out, &mut progress)?;
    let t = &summary.test;
    println!(
        "test accuracy {:.2}% ({}/{}), mean loss {:.4}, {:.1} spikes/sample, \
         {:.2} s/epoch; results in {}",
        100.0 * t.accuracy,
        t.correct,
        t.n,
        t.mean_loss,
        t.spikes_per_sample,
        summary.mean_epoch_seconds,
        out.display()
    );
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::YinYang(args) => train_command(Task::YinYang, &args, None),
        Command::Mnist { data, args } => train_command(Task::Mnist, &args, Some(data)),
        Command::Evaluate {
            weights,
            data,
            split,
            samples,
            threads,
        } => {
            if samples == Some(0) {
                return Err(TrainError::InvalidOption {
                    name: "samples",
                    value: "0".into(),
                    reason: "must be at least 1",
                });
            }
            set_threads(threads)?;
            let split = match split {
                SplitArg::Train => Split::Train,
                SplitArg::Validation => Split::Validation,
                SplitArg::Test => Split::Test,
            };
            let (e, config) = evaluate_weights(&weights, data.as_deref(), split, samples)?;
            println!(
                "{:?} {:?} accuracy {:.2}% ({}/{}), mean loss {:.4}, {:.1} spikes/sample, \
                 {} without answer",
                config.task,
                split,
                100.0 * e.accuracy,
                e.correct,
                e.n,
                e.mean_loss,
                e.spikes_per_sample,
                e.no_prediction
            );
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            {
                // Help and version go to stdout as clap renders them.
                let _ = e.print();
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            // One line: clap's message starts with "error: " and may continue on indented
            // lines (e.g. the missing arguments) before a blank line and the usage.
            let text = e.render().to_string();
            let message = text
                .split("\n\n")
                .next()
                .unwrap_or("error: invalid arguments");
            eprintln!("{}", one_line(message));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

/// Joins a possibly multi-line message into one line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
