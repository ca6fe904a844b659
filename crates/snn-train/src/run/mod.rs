//! A whole experiment with its output directory, written so that nothing is lost: after every
//! epoch `weights.safetensors` (the last weights), `best.safetensors` (the best validation
//! accuracy so far), `metrics.csv`, `metrics.json` and `checkpoint.safetensors` are rewritten
//! atomically; a stop request (Ctrl-C) writes the checkpoint after the current minibatch, or
//! abandons the scoring under way (an epoch's validation, the final test scoring) after its
//! current chunk of examples. At the end, `summary.json` and `curves.svg`. A directory that
//! holds a run is never reused silently: [`OutMode`] says whether to refuse, replace or resume
//! it.

mod dir;
mod score;

pub use dir::{default_out_dir, files, read_run_config, OutMode};
pub use score::{evaluate_weights, weights_file, Split, WeightsEvaluation};

use dir::prepare_out_dir;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::checkpoint::{load_checkpoint, load_weights, save_checkpoint, save_weights, BestEpoch};
use crate::config::ExperimentConfig;
use crate::datasets::{check_sizes, load_splits, Splits};
use crate::error::{Result, TrainError};
use crate::evaluate::{evaluate_until, Evaluation};
use crate::model::{Dataset, Model};
use crate::report::{plot_curves, write_json, write_metrics_csv};
use crate::snn::SnnClassifier;
use crate::source::{check_same_data, data_files, ValidationConfig};
use crate::train::{BatchProgress, EpochEnd, EpochMetrics, Observer, Trainer};

/// Where and how a run writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// The run directory.
    pub out_dir: PathBuf,
    /// Refuse, replace or resume an existing run.
    pub mode: OutMode,
    /// Score the test set after every epoch too (`EpochMetrics::test_accuracy`), to compare
    /// learning curves with published ones; model selection still uses validation only.
    pub test_each_epoch: bool,
}

/// Final results of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The experiment.
    pub config: ExperimentConfig,
    /// Sizes of the training, validation and test sets used.
    pub sizes: [usize; 3],
    /// Test-set scores of the final weights.
    pub test: Evaluation,
    /// Validation accuracy of the last epoch.
    pub final_validation_accuracy: f64,
    /// The epoch of `best.safetensors`.
    #[serde(default)]
    pub best: Option<BestEpoch>,
    /// Test-set scores of the best-validation weights.
    #[serde(default)]
    pub best_test: Option<Evaluation>,
    /// Mean wall-clock seconds per epoch.
    pub mean_epoch_seconds: f64,
    /// Wall-clock seconds of this invocation, data loading included (not of earlier
    /// invocations of a resumed run).
    pub total_seconds: f64,
    /// Number of rayon threads used.
    pub threads: usize,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum RunOutcome {
    /// All epochs done, test set scored.
    Finished(Box<RunSummary>),
    /// Stopped on request during training; the checkpoint records where.
    Interrupted {
        /// The checkpoint file.
        checkpoint: PathBuf,
        /// Completed epochs.
        epochs_done: usize,
        /// Minibatches done in the next epoch.
        batches_done: usize,
        /// The stop came while the next epoch's validation (or test) set was scored: its
        /// minibatches are all done, and the resumed run scores it again.
        while_scoring: bool,
    },
    /// Stopped on request during the final test scoring: every epoch is trained and saved
    /// (weights, best weights, metrics, checkpoint), but there is no summary; resuming the run
    /// scores the test set again and writes it.
    FinalScoringStopped {
        /// The final weights (`None` for a run of 0 epochs, which has none).
        weights: Option<PathBuf>,
        /// The checkpoint file.
        checkpoint: PathBuf,
        /// Completed epochs: all of them.
        epochs_done: usize,
    },
}

/// Minibatches after which a network without any spike is reported.
const SILENCE_CHECK_BATCHES: usize = 10;

/// Passes progress on and warns once when the network has not spiked in the first minibatches.
struct Watch<'a> {
    inner: &'a mut dyn Observer,
    hint: String,
    checked: bool,
}

impl Observer for Watch<'_> {
    fn epoch_started(&mut self, epoch: usize, n_batches: usize, done: usize) {
        self.inner.epoch_started(epoch, n_batches, done);
    }

    fn batch_finished(&mut self, p: &BatchProgress) {
        self.inner.batch_finished(p);
        if !self.checked && p.batch >= SILENCE_CHECK_BATCHES.min(p.n_batches) {
            self.checked = true;
            if p.spikes == 0 {
                self.inner.warning(&format!(
                    "no spike in the network during the first {} training examples: the hidden \
                     layer is silent and no gradient reaches it; {}",
                    p.samples, self.hint
                ));
            }
        }
    }

    fn validation_progress(&mut self, done: usize, n: usize) {
        self.inner.validation_progress(done, n);
    }

    fn epoch_finished(&mut self, m: &EpochMetrics) {
        self.inner.epoch_finished(m);
    }

    fn message(&mut self, text: &str) {
        self.inner.message(text);
    }

    fn warning(&mut self, text: &str) {
        self.inner.warning(text);
    }
}

fn write_metrics(out_dir: &Path, history: &[EpochMetrics]) -> Result<()> {
    write_metrics_csv(&out_dir.join(files::METRICS_CSV), history)?;
    write_json(&out_dir.join(files::METRICS_JSON), &history)
}

/// Number of distinct classes among the labels of `data`.
fn classes_present(data: &Dataset) -> usize {
    let mut seen = vec![false; data.n_classes];
    for &label in &data.labels {
        seen[label] = true;
    }
    seen.into_iter().filter(|&s| s).count()
}

/// A warning when a validation set cut from the front of the training file lacks classes the
/// rest of it has: the usual sign of a file sorted by class, whose validation accuracy would
/// then measure one class only.
fn validation_classes_warning(config: &ExperimentConfig, splits: &Splits) -> Option<String> {
    let count = match config.validation {
        ValidationConfig::First(n) => n.to_string(),
        ValidationConfig::Fraction(f) => format!("{f} of the"),
        ValidationConfig::Files => return None,
    };
    let (v, t) = (
        classes_present(&splits.validation),
        classes_present(&splits.train),
    );
    (v < t).then(|| {
        format!(
            "the validation set (the first {count} training examples) holds {v} of the {t} \
             classes of the training set: is the training file sorted by class? Give a \
             validation file, or shuffle the training file"
        )
    })
}

/// A hint for a silent network: the initial hidden weights and the option that raises them.
fn silence_hint(config: &ExperimentConfig) -> String {
    format!(
        "raise the initial hidden weight mean (--hidden-mean, now {}; std {})",
        config.init_hidden.mean, config.init_hidden.std
    )
}

/// Runs the experiment `config`: loads and encodes its data (input and class counts from the
/// data for a new run; checked against the configuration for a resumed one), trains with a
/// checkpoint after every epoch (and on a stop request), evaluates on the test set and writes
/// every output file into `run.out_dir`. `stop` is asked before every minibatch and every chunk
/// of a scoring.
pub fn run_experiment(
    config: &ExperimentConfig,
    run: &RunOptions,
    observer: &mut dyn Observer,
    stop: &dyn Fn() -> bool,
) -> Result<RunOutcome> {
    let start = Instant::now();
    config.validate()?;
    let out_dir = run.out_dir.as_path();
    prepare_out_dir(out_dir, run.mode)?;
    let mut config = config.clone();
    observer.message("loading and encoding the data");
    let splits: Splits = load_splits(&config)?;
    let files_now = data_files(&config.data)?;
    if run.mode == OutMode::Resume {
        check_same_data(&config.data_files, &files_now, "")?;
        check_sizes(&config, &splits)?;
    } else {
        (config.n_inputs, config.n_classes) = (splits.n_inputs, splits.n_classes);
        config.data = config.data.absolute();
    }
    config.data_files = files_now;
    observer.message(&format!(
        "data: {} training, {} validation, {} test examples ({:.1} s)",
        splits.train.len(),
        splits.validation.len(),
        splits.test.len(),
        start.elapsed().as_secs_f64()
    ));
    for (name, set) in [
        ("training", &splits.train),
        ("validation", &splits.validation),
        ("test", &splits.test),
    ] {
        if set.is_empty() {
            return Err(TrainError::InvalidOption {
                name: "split",
                value: name.to_string(),
                reason: "is empty: give it examples (check the split options and data files)",
            });
        }
    }
    if let Some(warning) = validation_classes_warning(&config, &splits) {
        observer.warning(&warning);
    }
    let mut model = SnnClassifier::new(&config)?;
    let lengths = model.param_lengths();
    let checkpoint = out_dir.join(files::CHECKPOINT);
    let (mut trainer, mut best) = if run.mode == OutMode::Resume && checkpoint.is_file() {
        let c = load_checkpoint(&checkpoint)?;
        let mut expected = c.config.clone();
        expected.train.epochs = config.train.epochs;
        if expected != config {
            return Err(TrainError::Format {
                path: checkpoint.clone(),
                message: format!(
                    "was written by another configuration than {}",
                    files::CONFIG
                ),
            });
        }
        for (layer, w) in model.params_mut().into_iter().zip(&c.weights) {
            layer.copy_from_slice(w);
        }
        observer.message(&format!(
            "resuming after epoch {} (+{} minibatches) from {}",
            c.state.epochs_done,
            c.state.batches_done,
            checkpoint.display()
        ));
        (
            Trainer::resume(config.train, &lengths, c.adam, c.state)?,
            c.best,
        )
    } else {
        (Trainer::new(config.train, &lengths)?, None)
    };
    write_json(&out_dir.join(files::CONFIG), &config)?;
    // A resumed run goes on measuring what it measured: the choice is in the checkpoint's state
    // (older checkpoints: in the last epoch's metrics).
    let inferred = trainer
        .state
        .history
        .last()
        .is_some_and(|m| m.test_accuracy.is_some());
    trainer.state.test_each_epoch |= run.test_each_epoch || inferred;
    let test_each_epoch = trainer.state.test_each_epoch;
    let mut watch = Watch {
        inner: observer,
        hint: silence_hint(&config),
        checked: trainer.state.epochs_done > 0,
    };
    while trainer.state.epochs_done < config.train.epochs {
        let end = trainer.run_epoch(
            &mut model,
            &splits.train,
            &splits.validation,
            test_each_epoch.then_some(&splits.test),
            &mut watch,
            stop,
        )?;
        let save = |trainer: &Trainer, model: &SnnClassifier, best| {
            save_checkpoint(
                &checkpoint,
                model,
                &config,
                &trainer.adam.state(),
                trainer.adam.learning_rate(),
                &trainer.state,
                best,
            )
        };
        match end {
            EpochEnd::Interrupted | EpochEnd::ScoringStopped => {
                save(&trainer, &model, best)?;
                return Ok(RunOutcome::Interrupted {
                    checkpoint,
                    epochs_done: trainer.state.epochs_done,
                    batches_done: trainer.state.batches_done,
                    while_scoring: end == EpochEnd::ScoringStopped,
                });
            }
            EpochEnd::Finished(m) => {
                save_weights(&out_dir.join(files::WEIGHTS), &model, &config, m.epoch)?;
                if best.is_none_or(|b: BestEpoch| m.validation_accuracy > b.validation_accuracy) {
                    best = Some(BestEpoch {
                        epoch: m.epoch,
                        validation_accuracy: m.validation_accuracy,
                    });
                    save_weights(&out_dir.join(files::BEST), &model, &config, m.epoch)?;
                }
                write_metrics(out_dir, &trainer.state.history)?;
                save(&trainer, &model, best)?;
                watch.epoch_finished(&m);
            }
        }
    }
    let history = &trainer.state.history;
    watch.message("scoring the test set");
    // A stop now leaves every epoch saved: only the summary is missing.
    let scoring_stopped = || RunOutcome::FinalScoringStopped {
        weights: (!history.is_empty()).then(|| out_dir.join(files::WEIGHTS)),
        checkpoint: checkpoint.clone(),
        epochs_done: history.len(),
    };
    let Some(test) = evaluate_until(&model, &splits.test, &mut |_, _| {}, stop)? else {
        return Ok(scoring_stopped());
    };
    let best_test = match best {
        Some(b) if b.epoch != history.last().map_or(0, |m| m.epoch) => {
            let (best_model, _, _) = load_weights(&out_dir.join(files::BEST))?;
            match evaluate_until(&best_model, &splits.test, &mut |_, _| {}, stop)? {
                Some(e) => Some(e),
                None => return Ok(scoring_stopped()),
            }
        }
        Some(_) => Some(test.clone()),
        None => None,
    };
    let summary = RunSummary {
        config: config.clone(),
        sizes: [
            splits.train.len(),
            splits.validation.len(),
            splits.test.len(),
        ],
        final_validation_accuracy: history.last().map_or(f64::NAN, |m| m.validation_accuracy),
        best,
        best_test,
        mean_epoch_seconds: history.iter().map(|m| m.seconds).sum::<f64>()
            / history.len().max(1) as f64,
        test,
        total_seconds: start.elapsed().as_secs_f64(),
        threads: rayon::current_num_threads(),
    };
    write_json(&out_dir.join(files::SUMMARY), &summary)?;
    // An empty history (0 epochs) has no curve to draw.
    if !history.is_empty() {
        let title = format!("{}, seed {}", config.data.kind(), config.train.seed);
        plot_curves(
            &out_dir.join(files::PLOT),
            &title,
            history,
            Some(summary.test.accuracy),
        )?;
    }
    Ok(RunOutcome::Finished(Box::new(summary)))
}
