//! Scoring saved weights: a weights file, or a run directory's best weights, on one split of
//! the data recorded with them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::files;
use crate::checkpoint::load_weights;
use crate::config::ExperimentConfig;
use crate::datasets::{check_sizes, load_splits};
use crate::error::{Result, TrainError};
use crate::evaluate::{evaluate, Evaluation};
use crate::model::Dataset;
use crate::source::{check_same_data, data_files, DataLocations};

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

/// Resolves what `evaluate` scores: a weights file as given, or in a run directory its
/// `best.safetensors` (falling back to `weights.safetensors`).
pub fn weights_file(path: &Path) -> Result<PathBuf> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    for name in [files::BEST, files::WEIGHTS] {
        if path.join(name).is_file() {
            return Ok(path.join(name));
        }
    }
    Err(TrainError::NoRun {
        dir: path.to_path_buf(),
        file: files::BEST,
    })
}

/// What [`evaluate_weights`] scored.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightsEvaluation {
    /// The scores.
    pub evaluation: Evaluation,
    /// The configuration stored with the weights.
    pub config: ExperimentConfig,
    /// The file scored.
    pub file: PathBuf,
    /// The epoch after which the weights were saved.
    pub epoch: usize,
}

/// Scores a weights file (or a run directory's best weights) on one split of its data
/// (`limit`: first examples only): the data files recorded with the weights, or where
/// `locations` says they are now. Their checksums must be the recorded ones
/// ([`TrainError::DataChanged`] names both), unless `other_data`: then any files of the run's
/// kind are scored as they are (their sizes must fit the network).
pub fn evaluate_weights(
    weights: &Path,
    locations: &DataLocations,
    other_data: bool,
    split: Split,
    limit: Option<usize>,
) -> Result<WeightsEvaluation> {
    let file = weights_file(weights)?;
    let (model, mut config, epoch) = load_weights(&file)?;
    config.data = locations.apply(&config.data)?;
    if !other_data {
        check_same_data(
            &config.data_files,
            &data_files(&config.data)?,
            "; to score other data, give --other-data",
        )?;
    }
    config.limits = Default::default();
    match split {
        Split::Train => config.limits.train = limit,
        Split::Validation => config.limits.validation = limit,
        Split::Test => config.limits.test = limit,
    }
    let splits = load_splits(&config)?;
    check_sizes(&config, &splits)?;
    let data: &Dataset = match split {
        Split::Train => &splits.train,
        Split::Validation => &splits.validation,
        Split::Test => &splits.test,
    };
    Ok(WeightsEvaluation {
        evaluation: evaluate(&model, data)?,
        config,
        file,
        epoch,
    })
}
