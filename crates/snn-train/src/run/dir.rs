//! The run directory: the names of the files a run writes, and what to do with a directory
//! that already holds a run.

use std::path::{Path, PathBuf};

use crate::config::ExperimentConfig;
use crate::error::{Result, TrainError};
use crate::report::read_json;

/// File names inside a run directory.
pub mod files {
    /// The experiment configuration, data files and their checksums included.
    pub const CONFIG: &str = "config.json";
    /// Per-epoch metrics, CSV.
    pub const METRICS_CSV: &str = "metrics.csv";
    /// Per-epoch metrics, JSON.
    pub const METRICS_JSON: &str = "metrics.json";
    /// The weights after the last epoch (safetensors, configuration in its metadata).
    pub const WEIGHTS: &str = "weights.safetensors";
    /// The weights of the epoch with the best validation accuracy.
    pub const BEST: &str = "best.safetensors";
    /// Everything needed to resume: weights, Adam state, position, metrics.
    pub const CHECKPOINT: &str = "checkpoint.safetensors";
    /// Final results.
    pub const SUMMARY: &str = "summary.json";
    /// Accuracy and loss curves.
    pub const PLOT: &str = "curves.svg";
    /// Every file a run writes.
    pub const ALL: [&str; 8] = [
        CONFIG,
        CHECKPOINT,
        WEIGHTS,
        BEST,
        METRICS_CSV,
        METRICS_JSON,
        SUMMARY,
        PLOT,
    ];
}

/// What to do with an output directory that already holds a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutMode {
    /// Refuse ([`TrainError::RunExists`]).
    New,
    /// Delete the old run's files and start afresh.
    Force,
    /// Continue the run from its checkpoint (from scratch when it has none yet).
    Resume,
}

/// The run file in `dir`, if any.
fn existing_run_file(dir: &Path) -> Option<&'static str> {
    files::ALL.into_iter().find(|f| dir.join(f).exists())
}

/// Creates `out_dir`, and refuses or clears an old run in it according to `mode`.
pub(super) fn prepare_out_dir(out_dir: &Path, mode: OutMode) -> Result<()> {
    std::fs::create_dir_all(out_dir).map_err(|e| TrainError::io(out_dir, e))?;
    match (mode, existing_run_file(out_dir)) {
        (OutMode::New, Some(found)) => Err(TrainError::RunExists {
            dir: out_dir.to_path_buf(),
            found: found.to_string(),
        }),
        (OutMode::Force, Some(_)) => {
            for f in files::ALL {
                let path = out_dir.join(f);
                if path.exists() {
                    std::fs::remove_file(&path).map_err(|e| TrainError::io(&path, e))?;
                }
            }
            Ok(())
        }
        (OutMode::Resume, _) if !out_dir.join(files::CONFIG).is_file() => Err(TrainError::NoRun {
            dir: out_dir.to_path_buf(),
            file: files::CONFIG,
        }),
        _ => Ok(()),
    }
}

/// The configuration of the run in `dir` (for `--resume`).
pub fn read_run_config(dir: &Path) -> Result<ExperimentConfig> {
    let path = dir.join(files::CONFIG);
    if !path.is_file() {
        return Err(TrainError::NoRun {
            dir: dir.to_path_buf(),
            file: files::CONFIG,
        });
    }
    read_json(&path)
}

/// The default output directory of a run: `runs/<name>-seed<seed>`.
pub fn default_out_dir(name: &str, config: &ExperimentConfig) -> PathBuf {
    PathBuf::from("runs").join(format!("{name}-seed{}", config.train.seed))
}
