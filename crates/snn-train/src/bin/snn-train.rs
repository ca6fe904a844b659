//! `snn-train`: trains the paper's spiking networks with EventProp and evaluates saved weights.
//!
//! ```text
//! snn-train yin-yang [--epochs 100 --seed 0 --batch-size 32 --lr 5e-3 ... --out DIR]
//! snn-train yin-yang --resume DIR [--epochs N]
//! snn-train mnist --data DIR [...]
//! snn-train evaluate --weights FILE|RUN_DIR [--data DIR] [--split test]
//! ```
//! Every default is the paper's Table 3 value. Errors print one line `error: ...` and exit 1;
//! Ctrl-C (SIGINT) or SIGTERM writes a checkpoint after the current minibatch and exits 130.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use snn_train::config::{EncodingConfig, ExperimentConfig, LossConfig, Task};
use snn_train::run::{
    default_out_dir, evaluate_weights, read_run_config, run_experiment, OutMode, RunOptions,
    RunOutcome, Split,
};
use snn_train::train::{BatchProgress, EpochMetrics, Observer};
use snn_train::{Result, TrainError};

/// Exit status after an interruption (128 + SIGINT), as shells report Ctrl-C.
const EXIT_INTERRUPTED: u8 = 130;

/// Stop requests received (SIGINT, SIGTERM): the first asks the loop to checkpoint and stop,
/// the second exits at once.
static STOP_REQUESTS: AtomicUsize = AtomicUsize::new(0);

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
        /// Directory holding the four MNIST IDX files (raw or .gz) [default with --resume: the
        /// one recorded in the run].
        #[arg(long, required_unless_present = "resume")]
        data: Option<PathBuf>,
        #[command(flatten)]
        args: TrainArgs,
    },
    /// Score a saved weights file on a split of its task.
    Evaluate {
        /// A weights file (best.safetensors, weights.safetensors) or a run directory, whose
        /// best-validation weights are scored.
        #[arg(long)]
        weights: PathBuf,
        /// MNIST directory [default: the one recorded in the run's configuration].
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
    /// Decay the learning rate after every epoch from this one on (2: the paper's code; 1:
    /// after every epoch) [default: 2].
    #[arg(long, value_name = "EPOCH")]
    lr_decay_start: Option<usize>,
    /// Skip the last, smaller minibatch of every epoch.
    #[arg(long)]
    drop_last: bool,
    /// Also score the test set after every epoch (a curve to compare with published ones).
    #[arg(long)]
    test_each_epoch: bool,
    /// Output directory [default: runs/<task>-seed<seed>]; must not hold another run.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Replace the run in the output directory.
    #[arg(long, conflicts_with = "resume")]
    force: bool,
    /// Continue the run in DIR from its checkpoint, with its configuration (only --epochs, the
    /// total number of epochs, and --data, --threads, --quiet, --log-every may be given).
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    /// When stdout is not a terminal, print a progress line every N minibatches [default: a
    /// tenth of an epoch].
    #[arg(long, value_name = "N")]
    log_every: Option<usize>,
    /// No progress bar and no per-epoch lines.
    #[arg(long)]
    quiet: bool,
}

/// Options that may accompany `--resume`.
const RESUME_OPTIONS: [&str; 6] = ["resume", "epochs", "data", "threads", "quiet", "log_every"];

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
        set(&mut c.train.adam.lr_decay_start, self.lr_decay_start);
        c.train.drop_last = self.drop_last;
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

/// Progress: a bar on a terminal; in a log file (stdout not a terminal) a plain line every
/// `log_every` minibatches and per validation chunk; one line per epoch either way.
struct Progress {
    bar: Option<ProgressBar>,
    epochs: usize,
    quiet: bool,
    terminal: bool,
    log_every: Option<usize>,
    epoch_start: Instant,
}

impl Progress {
    fn new(epochs: usize, quiet: bool, log_every: Option<usize>) -> Self {
        Self {
            bar: None,
            epochs,
            quiet,
            terminal: std::io::stdout().is_terminal() && std::io::stderr().is_terminal(),
            log_every,
            epoch_start: Instant::now(),
        }
    }

    fn new_bar(&mut self, len: usize, done: usize, message: String) {
        let bar = ProgressBar::new(len as u64);
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len}, {eta} left")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_position(done as u64);
        bar.set_message(message);
        self.bar = Some(bar);
    }
}

impl Observer for Progress {
    fn epoch_started(&mut self, epoch: usize, n_batches: usize, done: usize) {
        self.epoch_start = Instant::now();
        if self.quiet {
            return;
        }
        if self.terminal {
            self.new_bar(n_batches, done, format!("epoch {epoch}/{}", self.epochs));
        } else if done > 0 {
            println!(
                "epoch {epoch}/{}: resuming at minibatch {done}/{n_batches}",
                self.epochs
            );
        }
    }

    fn batch_finished(&mut self, p: &BatchProgress) {
        if let Some(bar) = &self.bar {
            bar.set_position(p.batch as u64);
            return;
        }
        if self.quiet {
            return;
        }
        let every = self.log_every.unwrap_or(p.n_batches.div_ceil(10)).max(1);
        if p.batch.is_multiple_of(every) && p.batch < p.n_batches {
            println!(
                "  epoch {}/{} minibatch {}/{} ({:.0}%), {:.1} s",
                p.epoch,
                self.epochs,
                p.batch,
                p.n_batches,
                100.0 * p.batch as f64 / p.n_batches as f64,
                self.epoch_start.elapsed().as_secs_f64()
            );
        }
    }

    fn validation_progress(&mut self, done: usize, n: usize) {
        if self.quiet {
            return;
        }
        if self.terminal {
            if done == n {
                self.bar = None;
            } else {
                let bar_is_validation = self
                    .bar
                    .as_ref()
                    .is_some_and(|b| b.length() == Some(n as u64));
                if !bar_is_validation {
                    if let Some(bar) = self.bar.take() {
                        bar.finish_and_clear();
                    }
                    self.new_bar(n, done, "validation".into());
                }
                if let Some(bar) = &self.bar {
                    bar.set_position(done as u64);
                }
            }
        } else if done < n {
            println!("  validation {done}/{n}");
        }
    }

    fn epoch_finished(&mut self, m: &EpochMetrics) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if !self.quiet {
            let test = m
                .test_accuracy
                .map(|a| format!("  test {:6.2}%", 100.0 * a))
                .unwrap_or_default();
            println!(
                "epoch {:>3}/{}  loss {:.4}  train {:6.2}%  validation {:6.2}%{test}  \
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

    fn message(&mut self, text: &str) {
        if !self.quiet {
            println!("{text}");
        }
    }

    fn warning(&mut self, text: &str) {
        if let Some(bar) = &self.bar {
            bar.suspend(|| eprintln!("warning: {text}"));
        } else {
            eprintln!("warning: {text}");
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

/// Options of subcommand `name` given on the command line (not defaults).
fn given_options(name: &str, matches: &ArgMatches) -> Vec<String> {
    let command = Cli::command();
    let Some(sub) = command.find_subcommand(name) else {
        return Vec::new();
    };
    sub.get_arguments()
        .map(|a| a.get_id().as_str())
        .filter(|id| matches.value_source(id) == Some(ValueSource::CommandLine))
        .map(str::to_string)
        .collect()
}

/// Outcome of a training command: finished, or interrupted with a checkpoint.
enum Done {
    Finished,
    Interrupted,
}

fn train_command(
    task: Task,
    args: &TrainArgs,
    data: Option<PathBuf>,
    given: &[String],
) -> Result<Done> {
    let (config, out, mode) = match &args.resume {
        Some(dir) => {
            if let Some(other) = given.iter().find(|g| !RESUME_OPTIONS.contains(&g.as_str())) {
                return Err(TrainError::InvalidOption {
                    name: "resume",
                    value: format!("with --{}", other.replace('_', "-")),
                    reason: "a resumed run keeps its configuration; only --epochs, --data, \
                             --threads, --quiet and --log-every may be given",
                });
            }
            let mut config = read_run_config(dir)?;
            if config.task != task {
                return Err(TrainError::InvalidOption {
                    name: "resume",
                    value: dir.display().to_string(),
                    reason: "holds a run of another task",
                });
            }
            set(&mut config.train.epochs, args.epochs);
            (config, dir.clone(), OutMode::Resume)
        }
        None => {
            let config = args.config(task)?;
            let out = args.out.clone().unwrap_or_else(|| default_out_dir(&config));
            let mode = if args.force {
                OutMode::Force
            } else {
                OutMode::New
            };
            (config, out, mode)
        }
    };
    set_threads(args.threads)?;
    if args.log_every == Some(0) {
        return Err(TrainError::InvalidOption {
            name: "log-every",
            value: "0".into(),
            reason: "must be at least 1",
        });
    }
    let data = data.or_else(|| {
        config
            .data_files
            .first()
            .and_then(|f| f.path.parent())
            .map(Path::to_path_buf)
    });
    let mut progress = Progress::new(config.train.epochs, args.quiet, args.log_every);
    let run = RunOptions {
        out_dir: out.clone(),
        mode,
        test_each_epoch: args.test_each_epoch,
    };
    let stop = || STOP_REQUESTS.load(Ordering::SeqCst) > 0;
    match run_experiment(&config, data.as_deref(), &run, &mut progress, &stop)? {
        RunOutcome::Finished(summary) => {
            let t = &summary.test;
            println!(
                "test accuracy {:.2}% ({}/{}), mean loss {:.4}, {:.1} spikes/sample, \
                 {:.2} s/epoch (final weights); results in {}",
                100.0 * t.accuracy,
                t.correct,
                t.n,
                t.mean_loss,
                t.spikes_per_sample,
                summary.mean_epoch_seconds,
                out.display()
            );
            if let (Some(b), Some(bt)) = (summary.best, &summary.best_test) {
                println!(
                    "best validation accuracy {:.2}% after epoch {}: test accuracy {:.2}% \
                     ({}/{}), weights in {}",
                    100.0 * b.validation_accuracy,
                    b.epoch,
                    100.0 * bt.accuracy,
                    bt.correct,
                    bt.n,
                    out.join(snn_train::run::files::BEST).display()
                );
            }
            Ok(Done::Finished)
        }
        RunOutcome::Interrupted {
            checkpoint,
            epochs_done,
            batches_done,
        } => {
            let task_name = match task {
                Task::YinYang => "yin-yang",
                Task::Mnist => "mnist",
            };
            eprintln!(
                "interrupted after epoch {epochs_done} + {batches_done} minibatches; checkpoint \
                 written to {}; continue with: snn-train {task_name} --resume {}",
                checkpoint.display(),
                out.display()
            );
            Ok(Done::Interrupted)
        }
    }
}

fn run(cli: Cli, matches: &ArgMatches) -> Result<Done> {
    let given = matches
        .subcommand()
        .map(|(name, m)| given_options(name, m))
        .unwrap_or_default();
    match cli.command {
        Command::YinYang(args) => train_command(Task::YinYang, &args, None, &given),
        Command::Mnist { data, args } => train_command(Task::Mnist, &args, data, &given),
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
            let r = evaluate_weights(&weights, data.as_deref(), split, samples)?;
            let (e, config) = (&r.evaluation, &r.config);
            println!("weights {} (after epoch {})", r.file.display(), r.epoch);
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
            Ok(Done::Finished)
        }
    }
}

fn main() -> ExitCode {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
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
    // First SIGINT/SIGTERM: finish the current minibatch, checkpoint, exit 130; second: now.
    let _ = ctrlc::set_handler(|| {
        if STOP_REQUESTS.fetch_add(1, Ordering::SeqCst) > 0 {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
    match run(cli, &matches) {
        Ok(Done::Finished) => ExitCode::SUCCESS,
        Ok(Done::Interrupted) => ExitCode::from(EXIT_INTERRUPTED),
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
