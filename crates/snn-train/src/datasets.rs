//! The encoded training, validation and test sets of an experiment.

use std::path::Path;

use rayon::prelude::*;

use crate::config::{DataFile, EncodingConfig, ExperimentConfig, Task};
use crate::error::{Result, TrainError};
use crate::mnist::{
    find_file, load_mnist, LabeledImages, N_CLASSES, PIXELS, TEST_FILES, TRAIN_FILES,
};
use crate::model::Dataset;
use crate::store::sha256_file;
use crate::yinyang::{self, YinYangSample};

/// The three splits, encoded as input spikes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Splits {
    /// Training set.
    pub train: Dataset,
    /// Validation set (model selection, per-epoch accuracy).
    pub validation: Dataset,
    /// Test set (reported once, at the end).
    pub test: Dataset,
}

/// The data files `config`'s task reads from `data_dir`, with their SHA-256 (none for the
/// generated Yin-Yang data).
pub fn data_files(config: &ExperimentConfig, data_dir: Option<&Path>) -> Result<Vec<DataFile>> {
    match config.task {
        Task::YinYang => Ok(Vec::new()),
        Task::Mnist => {
            let dir = data_dir.ok_or(TrainError::InvalidOption {
                name: "data",
                value: "(none)".into(),
                reason: "MNIST needs the directory of its IDX files",
            })?;
            [TRAIN_FILES.0, TRAIN_FILES.1, TEST_FILES.0, TEST_FILES.1]
                .into_iter()
                .map(|name| {
                    let path = find_file(dir, name)?;
                    let sha256 = sha256_file(&path)?;
                    let path = std::fs::canonicalize(&path).unwrap_or(path);
                    Ok(DataFile { path, sha256 })
                })
                .collect()
        }
    }
}

/// Loads and encodes the splits of `config`'s task, each cut to `config.limits`. MNIST needs
/// `data_dir` (the directory of the IDX files); Yin-Yang is generated.
pub fn load_splits(config: &ExperimentConfig, data_dir: Option<&Path>) -> Result<Splits> {
    config.validate()?;
    let limits = config.limits;
    match (&config.encoding, config.task) {
        (EncodingConfig::YinYang(enc), Task::YinYang) => {
            let encode = |samples: Vec<YinYangSample>, limit: Option<usize>| {
                let samples = &samples[..limit.unwrap_or(usize::MAX).min(samples.len())];
                Dataset::new(
                    samples.iter().map(|s| enc.encode(s)).collect(),
                    samples.iter().map(|s| s.label).collect(),
                    yinyang::N_CLASSES,
                )
            };
            Ok(Splits {
                train: encode(yinyang::train_split(), limits.train)?,
                validation: encode(yinyang::validation_split(), limits.validation)?,
                test: encode(yinyang::test_split(), limits.test)?,
            })
        }
        (EncodingConfig::Mnist(enc), Task::Mnist) => {
            let dir = data_dir.ok_or(TrainError::InvalidOption {
                name: "data",
                value: "(none)".into(),
                reason: "MNIST needs the directory of its IDX files",
            })?;
            let mnist = load_mnist(dir)?;
            let encode = |set: &LabeledImages, limit: Option<usize>| {
                let n = limit.unwrap_or(usize::MAX).min(set.len());
                Dataset::new(
                    (0..n)
                        .into_par_iter()
                        .map(|i| enc.encode(&set.pixels[i * PIXELS..(i + 1) * PIXELS]))
                        .collect(),
                    set.labels[..n].iter().map(|&l| usize::from(l)).collect(),
                    N_CLASSES,
                )
            };
            Ok(Splits {
                train: encode(&mnist.train, limits.train)?,
                validation: encode(&mnist.validation, limits.validation)?,
                test: encode(&mnist.test, limits.test)?,
            })
        }
        _ => Err(TrainError::InvalidOption {
            name: "encoding",
            value: format!("{:?}", config.encoding),
            reason: "does not fit the task",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yin_yang_splits_have_published_sizes_and_five_spikes_each() {
        let splits = load_splits(&ExperimentConfig::yin_yang(), None).unwrap();
        assert_eq!(
            (
                splits.train.len(),
                splits.validation.len(),
                splits.test.len()
            ),
            (5000, 1000, 1000)
        );
        assert!(splits.train.inputs.iter().all(|s| s.len() == 5));
        // Published first training sample: (0.680307538588, 0.45049925197), class 2; its x
        // spike is at 30·x ms on input 0.
        let x_spike = splits.train.inputs[0]
            .iter()
            .find(|s| s.source == 0)
            .unwrap();
        assert!((x_spike.time - 30.0 * 0.680307538588).abs() < 1e-9);
        assert_eq!(splits.train.labels[0], 2);
    }

    #[test]
    fn limits_cut_each_split_to_its_first_examples() {
        let mut config = ExperimentConfig::yin_yang();
        config.limits.train = Some(10);
        config.limits.test = Some(3);
        let full = load_splits(&ExperimentConfig::yin_yang(), None).unwrap();
        let cut = load_splits(&config, None).unwrap();
        assert_eq!(cut.train.len(), 10);
        assert_eq!(cut.validation.len(), 1000);
        assert_eq!(cut.test.len(), 3);
        assert_eq!(cut.train.inputs[..], full.train.inputs[..10]);
    }

    #[test]
    fn mnist_without_directory_is_an_option_error() {
        assert!(matches!(
            load_splits(&ExperimentConfig::mnist(), None),
            Err(TrainError::InvalidOption { name: "data", .. })
        ));
    }
}
