//! A whole experiment with its output directory: `config.json`, `metrics.csv` and
//! `metrics.json` (rewritten after every epoch, so a long run can be watched), then
//! `weights.json`, `summary.json` and `curves.svg`; and the evaluation of a weights file.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::config::ExperimentConfig;
use crate::datasets::{load_splits, Splits};
use crate::error::{Result, TrainError};
use crate::evaluate::{evaluate, Evaluation};
use crate::model::Dataset;
use crate::report::{plot_curves, read_json, write_json, write_metrics_csv};
use crate::snn::{SavedNetwork, SnnClassifier};
use crate::train::{train, EpochMetrics, Observer};

/// File names inside a run directory.
pub mod files {
    /// The experiment configuration.
    pub const CONFIG: &str = "config.json";
    /// Per-epoch metrics, CSV.
    pub const METRICS_CSV: &str = "metrics.csv";
    /// Per-epoch metrics, JSON.
    pub const METRICS_JSON: &str = "metrics.json";
    /// Trained weights with their configuration.
    pub const WEIGHTS: &str = "weights.json";
    /// Final results.
    pub const SUMMARY: &str = "summary.json";
    /// Accuracy and loss curves.
    pub const PLOT: &str = "curves.svg";
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
    /// Mean wall-clock seconds per epoch.
    pub mean_epoch_seconds: f64,
    /// Wall-clock seconds of the whole run, data loading included.
    pub total_seconds: f64,
    /// Number of rayon threads used.
    pub threads: usize,
}

/// Passes progress on and rewrites the metrics files after every epoch.
struct Recorder<'a> {
    out_dir: &'a Path,
    history: Vec<EpochMetrics>,
    inner: &'a mut dyn Observer,
    error: Option<TrainError>,
}

impl Observer for Recorder<'_> {
    fn epoch_started(&mut self, epoch: usize, n_batches: usize) {
        self.inner.epoch_started(epoch, n_batches);
    }

    fn batch_finished(&mut self) {
        self.inner.batch_finished();
    }

    fn epoch_finished(&mut self, metrics: &EpochMetrics) {
        self.history.push(metrics.clone());
        // Keep the first write error; training goes on and the error is returned at the end.
        if self.error.is_none() {
            self.error = write_metrics(self.out_dir, &self.history).err();
        }
        self.inner.epoch_finished(metrics);
    }
}

fn write_metrics(out_dir: &Path, history: &[EpochMetrics]) -> Result<()> {
    write_metrics_csv(&out_dir.join(files::METRICS_CSV), history)?;
    write_json(&out_dir.join(files::METRICS_JSON), &history)
}

/// Creates `out_dir` (and parents) if needed.
fn create_dir(out_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(out_dir).map_err(|e| TrainError::io(out_dir, e))
}

/// Runs the experiment `config`: loads and encodes the data (`data_dir` for MNIST), trains,
/// evaluates on the test set and writes every output file into `out_dir`.
pub fn run_experiment(
    config: &ExperimentConfig,
    data_dir: Option<&Path>,
    out_dir: &Path,
    observer: &mut dyn Observer,
) -> Result<RunSummary> {
    let start = Instant::now();
    config.validate()?;
    let splits: Splits = load_splits(config, data_dir)?;
    let mut model = SnnClassifier::new(config)?;
    create_dir(out_dir)?;
    write_json(&out_dir.join(files::CONFIG), config)?;
    let mut recorder = Recorder {
        out_dir,
        history: Vec::new(),
        inner: observer,
        error: None,
    };
    let history = train(
        &mut model,
        &splits.train,
        &splits.validation,
        &config.train,
        &mut recorder,
    )?;
    if let Some(e) = recorder.error {
        return Err(e);
    }
    write_json(&out_dir.join(files::WEIGHTS), &model.to_saved(config))?;
    let test = evaluate(&model, &splits.test)?;
    let summary = RunSummary {
        config: config.clone(),
        sizes: [
            splits.train.len(),
            splits.validation.len(),
            splits.test.len(),
        ],
        final_validation_accuracy: history.last().map_or(f64::NAN, |m| m.validation_accuracy),
        mean_epoch_seconds: history.iter().map(|m| m.seconds).sum::<f64>()
            / history.len().max(1) as f64,
        test,
        total_seconds: start.elapsed().as_secs_f64(),
        threads: rayon::current_num_threads(),
    };
    write_json(&out_dir.join(files::SUMMARY), &summary)?;
    // An empty history (0 epochs) has no curve to draw.
    if !history.is_empty() {
        let title = format!("{:?}, seed {}", config.task, config.train.seed);
        plot_curves(
            &out_dir.join(files::PLOT),
            &title,
            &history,
            Some(summary.test.accuracy),
        )?;
    }
    Ok(summary)
}

/// Which split [`evaluate_weights`] scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    /// The training set.
    Train,
    /// The validation set.
    Validation,
    /// The test set.
    Test,
}

/// Loads a weights file.
pub fn load_weights(path: &Path) -> Result<(SnnClassifier, ExperimentConfig)> {
    let saved: SavedNetwork = read_json(path)?;
    let model = SnnClassifier::from_saved(&saved, path)?;
    Ok((model, saved.config))
}

/// Scores a weights file on one split of its task (`limit`: first examples only).
pub fn evaluate_weights(
    weights: &Path,
    data_dir: Option<&Path>,
    split: Split,
    limit: Option<usize>,
) -> Result<(Evaluation, ExperimentConfig)> {
    let (model, mut config) = load_weights(weights)?;
    config.limits = Default::default();
    match split {
        Split::Train => config.limits.train = limit,
        Split::Validation => config.limits.validation = limit,
        Split::Test => config.limits.test = limit,
    }
    let splits = load_splits(&config, data_dir)?;
    let data: &Dataset = match split {
        Split::Train => &splits.train,
        Split::Validation => &splits.validation,
        Split::Test => &splits.test,
    };
    Ok((evaluate(&model, data)?, config))
}

/// The default output directory of a run: `runs/<task>-seed<seed>`.
pub fn default_out_dir(config: &ExperimentConfig) -> PathBuf {
    let task = match config.task {
        crate::config::Task::YinYang => "yinyang",
        crate::config::Task::Mnist => "mnist",
    };
    PathBuf::from("runs").join(format!("{task}-seed{}", config.train.seed))
}
