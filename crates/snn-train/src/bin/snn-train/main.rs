//! `snn-train`: trains spiking networks with EventProp and evaluates saved weights.
//!
//! ```text
//! snn-train yin-yang [--epochs 100 --seed 0 --batch-size 32 --lr 5e-3 ... --out DIR]
//! snn-train mnist --data DIR [...]
//! snn-train images --train-images F --train-labels F --test-images F --test-labels F [...]
//! snn-train events --train FILE.h5 --test FILE.h5 [...]
//! snn-train <task> --resume DIR [--epochs N]
//! snn-train evaluate --weights FILE|RUN_DIR [--split test] [the data options of the run's
//!     task, when its files moved: --data DIR | --train-images F ... | --train F ...]
//!     [--other-data]
//! ```
//! Yin-Yang and MNIST defaults are the paper's Table 3 values. Errors print one line
//! `error: ...` and exit 1 (2 for arguments that do not parse); Ctrl-C (SIGINT) or SIGTERM
//! during a training command writes a checkpoint after the current minibatch (or abandons the
//! scoring under way after its current chunk of examples: an epoch's validation, or the final
//! test scoring, whose weights are then complete) and exits 130 (elsewhere, as in `evaluate`,
//! it exits 130 at once).

mod args;
mod common;
mod progress;

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use args::{validation, Cli, Command, DataPlaces, SplitArg};
use common::{set, CommonArgs, RESUME_OPTIONS};
use progress::Progress;
use snn_train::config::{DataConfig, EncodingConfig, ExperimentConfig, ValidationConfig};
use snn_train::run::{
    default_out_dir, evaluate_weights, files, read_run_config, run_experiment, weights_file,
    OutMode, RunOptions, RunOutcome, Split,
};
use snn_train::{Result, TrainError};

/// Exit status after an interruption (128 + SIGINT), as shells report Ctrl-C.
const EXIT_INTERRUPTED: u8 = 130;

/// Stop requests received (SIGINT, SIGTERM): the first asks the loop to checkpoint and stop,
/// the second exits at once.
static STOP_REQUESTS: AtomicUsize = AtomicUsize::new(0);

/// Whether a first stop request is answered by a checkpoint (set by a training command);
/// otherwise (`evaluate`, argument checks) it exits at once: there is nothing to save.
static CHECKPOINT_ON_STOP: AtomicBool = AtomicBool::new(false);

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

/// Outcome of a command: finished, or interrupted with a checkpoint.
enum Done {
    Finished,
    Interrupted,
}

/// A new run's configuration, or `None` with `--resume`.
type NewConfig = Option<ExperimentConfig>;

/// The configuration of a training subcommand (`None` with `--resume`) and its name.
fn training_config(command: &Command) -> Result<(&'static str, &CommonArgs, NewConfig)> {
    Ok(match command {
        Command::YinYang {
            first_spike,
            common,
        } => {
            let mut c = ExperimentConfig::yin_yang();
            first_spike.apply(&mut c);
            common.apply(&mut c)?;
            ("yin-yang", common, Some(c))
        }
        Command::Mnist {
            data,
            validation: v,
            t_max,
            common,
        } => {
            let config = match data {
                Some(dir) => {
                    let mut c = ExperimentConfig::mnist();
                    c.data = DataConfig::mnist_dir(dir)?;
                    c.validation = validation(&c.data, v.as_deref(), c.validation)?;
                    if let EncodingConfig::Mnist(e) = &mut c.encoding {
                        set(&mut e.t_max, *t_max);
                    }
                    common.apply(&mut c)?;
                    Some(c)
                }
                None => None,
            };
            ("mnist", common, config)
        }
        Command::Images {
            files,
            validation: v,
            t_max,
            common,
        } => {
            let config = match files.data() {
                Some(data) => {
                    let mut c = ExperimentConfig::mnist();
                    c.validation =
                        validation(&data, v.as_deref(), ValidationConfig::Fraction(0.1))?;
                    c.data = data;
                    if let EncodingConfig::Mnist(e) = &mut c.encoding {
                        set(&mut e.t_max, *t_max);
                    }
                    common.apply(&mut c)?;
                    Some(c)
                }
                None => None,
            };
            ("images", common, config)
        }
        Command::Events {
            train,
            test,
            validation_file,
            validation: v,
            time_scale,
            t_max,
            common,
        } => {
            let config = match (train, test) {
                (Some(train), Some(test)) => {
                    let mut c = ExperimentConfig::events();
                    c.data = DataConfig::Events {
                        train: train.clone(),
                        test: test.clone(),
                        validation: validation_file.clone(),
                    };
                    c.validation = validation(&c.data, v.as_deref(), c.validation)?;
                    if let EncodingConfig::Events(e) = &mut c.encoding {
                        set(&mut e.time_scale, *time_scale);
                        set(&mut e.t_max, *t_max);
                    }
                    common.apply(&mut c)?;
                    Some(c)
                }
                _ => None,
            };
            ("events", common, config)
        }
        Command::Evaluate { .. } => unreachable!("evaluate is not a training command"),
    })
}

fn train_command(command: &Command, given: &[String]) -> Result<Done> {
    let (name, args, new_config) = training_config(command)?;
    let (config, out, mode) = match (&args.resume, new_config) {
        (Some(dir), _) => {
            if let Some(other) = given.iter().find(|g| !RESUME_OPTIONS.contains(&g.as_str())) {
                return Err(TrainError::InvalidOption {
                    name: "resume",
                    value: format!("with --{}", other.replace('_', "-")),
                    reason: "a resumed run keeps its configuration and data; only --epochs, \
                             --threads, --quiet, --log-every and --test-each-epoch may be given",
                });
            }
            let mut config = read_run_config(dir)?;
            let kind = match name {
                "yin-yang" => "yinyang",
                "events" => "events",
                _ => "images",
            };
            let found = config.data.kind();
            if found != kind {
                return Err(TrainError::OtherTask {
                    dir: dir.clone(),
                    found,
                    asked: kind,
                    command: match found {
                        "yinyang" => "yin-yang",
                        "events" => "events",
                        _ => "images",
                    },
                });
            }
            set(&mut config.train.epochs, args.epochs);
            (config, dir.clone(), OutMode::Resume)
        }
        (None, Some(config)) => {
            let out = args
                .out
                .clone()
                .unwrap_or_else(|| default_out_dir(name, &config));
            let mode = if args.force {
                OutMode::Force
            } else {
                OutMode::New
            };
            (config, out, mode)
        }
        (None, None) => {
            return Err(TrainError::InvalidOption {
                name: "data",
                value: "(none)".into(),
                reason: "give the data files, or --resume DIR",
            })
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
    let mut progress = Progress::new(config.train.epochs, args.quiet, args.log_every);
    let run = RunOptions {
        out_dir: out.clone(),
        mode,
        test_each_epoch: args.test_each_epoch,
    };
    let stop = || STOP_REQUESTS.load(Ordering::SeqCst) > 0;
    CHECKPOINT_ON_STOP.store(true, Ordering::SeqCst);
    match run_experiment(&config, &run, &mut progress, &stop)? {
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
                    out.join(files::BEST).display()
                );
            }
            Ok(Done::Finished)
        }
        RunOutcome::Interrupted {
            checkpoint,
            epochs_done,
            batches_done,
            while_scoring,
        } => {
            let position = if while_scoring {
                format!(
                    "while scoring epoch {} (its training is done; the resumed run scores it \
                     again)",
                    epochs_done + 1
                )
            } else {
                format!("after epoch {epochs_done} + {batches_done} minibatches")
            };
            eprintln!(
                "interrupted {position}; checkpoint written to {}; continue with: snn-train \
                 {name} --resume {}",
                checkpoint.display(),
                out.display()
            );
            Ok(Done::Interrupted)
        }
        RunOutcome::FinalScoringStopped {
            weights,
            checkpoint,
            epochs_done,
        } => {
            let weights = match weights {
                Some(w) => format!(
                    "the weights are complete (epoch {epochs_done} of {epochs_done}) in {w} \
                     (best validation weights in {best}); score them with: snn-train evaluate \
                     --weights {w}; ",
                    w = w.display(),
                    best = out.join(files::BEST).display()
                ),
                None => "the run has 0 epochs, hence no weights; ".to_string(),
            };
            eprintln!(
                "interrupted during the final test scoring, which was abandoned; {weights}\
                 checkpoint in {}; finish the run (test scores, summary) with: snn-train {name} \
                 --resume {}",
                checkpoint.display(),
                out.display()
            );
            Ok(Done::Interrupted)
        }
    }
}

fn evaluate_command(
    weights: &Path,
    data: &DataPlaces,
    split: SplitArg,
    samples: Option<usize>,
    threads: Option<usize>,
) -> Result<Done> {
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
    println!(
        "scoring {} on the {} set",
        weights_file(weights)?.display(),
        format!("{split:?}").to_lowercase()
    );
    let r = evaluate_weights(weights, &data.locations(), data.other_data, split, samples)?;
    let e = &r.evaluation;
    println!("weights {} (after epoch {})", r.file.display(), r.epoch);
    println!(
        "{} accuracy {:.2}% ({}/{}), mean loss {:.4}, {:.1} spikes/sample, {} without answer \
         ({} data)",
        format!("{split:?}").to_lowercase(),
        100.0 * e.accuracy,
        e.correct,
        e.n,
        e.mean_loss,
        e.spikes_per_sample,
        e.no_prediction,
        r.config.data.kind()
    );
    Ok(Done::Finished)
}

fn run(cli: Cli, matches: &ArgMatches) -> Result<Done> {
    let given = matches
        .subcommand()
        .map(|(name, m)| given_options(name, m))
        .unwrap_or_default();
    match &cli.command {
        Command::Evaluate {
            weights,
            data,
            split,
            samples,
            threads,
        } => evaluate_command(weights, data, *split, *samples, *threads),
        command => train_command(command, &given),
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
    // First SIGINT/SIGTERM during a training command: finish the current minibatch (or chunk of
    // a scoring), checkpoint, exit 130; a second one, or any outside training (evaluate): exit
    // 130 now.
    let _ = ctrlc::set_handler(|| {
        let earlier = STOP_REQUESTS.fetch_add(1, Ordering::SeqCst);
        if earlier > 0 || !CHECKPOINT_ON_STOP.load(Ordering::SeqCst) {
            eprintln!("interrupted");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        // Say at once that the signal was heard (the minibatch, or a validation pass, may take
        // a while), so that nobody presses again and loses the checkpoint.
        eprintln!(
            "stop requested: the run stops after the current minibatch (or chunk of examples \
             being scored) and keeps its checkpoint; a second signal quits at once"
        );
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
