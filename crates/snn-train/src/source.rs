//! Where the examples come from: the generated Yin-Yang data, IDX image files (MNIST or any
//! other labelled image set) or spike-time events in HDF5 (the Spiking Heidelberg Digits
//! layout), and how the validation set is taken. Recorded in a run's configuration with the
//! SHA-256 of every file read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::mnist::{find_file, TEST_FILES, TRAIN_FILES};
use crate::store::sha256_file;

/// The data of an experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataConfig {
    /// The Yin-Yang data, generated (published split: train, validation and test).
    YinYang,
    /// Labelled images in IDX files (images `n × rows × cols` of `u8`, labels `n` of `u8`),
    /// raw or gzip. Input count `rows · cols`; class count the largest label + 1.
    Images {
        /// Training images.
        train_images: PathBuf,
        /// Training labels.
        train_labels: PathBuf,
        /// Test images.
        test_images: PathBuf,
        /// Test labels.
        test_labels: PathBuf,
        /// Validation images and labels, when the validation set is a separate pair of files.
        #[serde(default)]
        validation: Option<(PathBuf, PathBuf)>,
    },
    /// Spike-time events in HDF5 files with the datasets `spikes/times` (one variable-length
    /// array of spike times per example, in the file's time unit), `spikes/units` (the input
    /// channel of each spike) and `labels`, as the Spiking Heidelberg Digits. Input count the
    /// largest unit + 1; class count the largest label + 1.
    Events {
        /// Training file.
        train: PathBuf,
        /// Test file.
        test: PathBuf,
        /// Validation file, when the validation set is a separate file.
        #[serde(default)]
        validation: Option<PathBuf>,
    },
}

impl DataConfig {
    /// The MNIST files in `dir` (`train-images-idx3-ubyte` etc., raw or `.gz`).
    pub fn mnist_dir(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(TrainError::io(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            ));
        }
        Ok(DataConfig::Images {
            train_images: find_file(dir, TRAIN_FILES.0)?,
            train_labels: find_file(dir, TRAIN_FILES.1)?,
            test_images: find_file(dir, TEST_FILES.0)?,
            test_labels: find_file(dir, TEST_FILES.1)?,
            validation: None,
        })
    }

    /// A short name: `yinyang`, `images` or `events`.
    pub fn kind(&self) -> &'static str {
        match self {
            DataConfig::YinYang => "yinyang",
            DataConfig::Images { .. } => "images",
            DataConfig::Events { .. } => "events",
        }
    }

    /// Whether the validation set comes from its own file(s) (always for Yin-Yang).
    pub fn has_validation_files(&self) -> bool {
        match self {
            DataConfig::YinYang => true,
            DataConfig::Images { validation, .. } => validation.is_some(),
            DataConfig::Events { validation, .. } => validation.is_some(),
        }
    }

    /// The same data with every path made absolute (so that a run can be resumed or
    /// evaluated from another directory); paths that do not resolve are kept as they are.
    pub fn absolute(&self) -> Self {
        let abs = |p: &PathBuf| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        match self {
            DataConfig::YinYang => DataConfig::YinYang,
            DataConfig::Images {
                train_images,
                train_labels,
                test_images,
                test_labels,
                validation,
            } => DataConfig::Images {
                train_images: abs(train_images),
                train_labels: abs(train_labels),
                test_images: abs(test_images),
                test_labels: abs(test_labels),
                validation: validation.as_ref().map(|(i, l)| (abs(i), abs(l))),
            },
            DataConfig::Events {
                train,
                test,
                validation,
            } => DataConfig::Events {
                train: abs(train),
                test: abs(test),
                validation: validation.as_ref().map(abs),
            },
        }
    }

    /// Every file read, in a fixed order.
    pub fn paths(&self) -> Vec<&Path> {
        match self {
            DataConfig::YinYang => Vec::new(),
            DataConfig::Images {
                train_images,
                train_labels,
                test_images,
                test_labels,
                validation,
            } => {
                let mut p: Vec<&Path> = vec![train_images, train_labels, test_images, test_labels];
                if let Some((i, l)) = validation {
                    p.extend([i.as_path(), l.as_path()]);
                }
                p
            }
            DataConfig::Events {
                train,
                test,
                validation,
            } => {
                let mut p: Vec<&Path> = vec![train, test];
                p.extend(validation.as_deref());
                p
            }
        }
    }
}

/// How the validation set is formed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValidationConfig {
    /// The data's own validation set: Yin-Yang's published split, or the validation file(s).
    Files,
    /// The first `n` training examples (MNIST in the paper: 5000); the rest train.
    First(usize),
    /// The first `⌊f · n⌋` training examples; the rest train.
    Fraction(f64),
}

impl ValidationConfig {
    /// Parses `--validation`: a count (`5000`) or a fraction in (0, 1) (`0.1`).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || TrainError::InvalidOption {
            name: "validation",
            value: text.to_string(),
            reason: "must be a count of training examples (e.g. 5000) or a fraction in (0, 1)",
        };
        if let Ok(n) = text.parse::<usize>() {
            return if n == 0 {
                Err(bad())
            } else {
                Ok(Self::First(n))
            };
        }
        match text.parse::<f64>() {
            Ok(f) if f > 0.0 && f < 1.0 => Ok(Self::Fraction(f)),
            _ => Err(bad()),
        }
    }

    /// How many of `n` training examples go to validation.
    pub fn count(&self, n: usize) -> usize {
        match *self {
            ValidationConfig::Files => 0,
            ValidationConfig::First(k) => k,
            ValidationConfig::Fraction(f) => (f * n as f64).floor() as usize,
        }
    }
}

/// A data file a run read, with its SHA-256 (of the bytes on disk), so that a resumed or
/// repeated run can check it trains on the same data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFile {
    /// The file's path (made absolute when possible).
    pub path: PathBuf,
    /// Lower-case hex SHA-256 of its content.
    pub sha256: String,
}

/// The files of `data` with their SHA-256.
pub fn data_files(data: &DataConfig) -> Result<Vec<DataFile>> {
    data.paths()
        .into_iter()
        .map(|path| {
            let sha256 = sha256_file(path)?;
            let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            Ok(DataFile { path, sha256 })
        })
        .collect()
}

/// Checks that the data files now have the checksums recorded when a run started.
pub fn check_same_data(recorded: &[DataFile], now: &[DataFile]) -> Result<()> {
    for (r, n) in recorded.iter().zip(now) {
        if r.sha256 != n.sha256 {
            return Err(TrainError::DataChanged {
                path: n.path.clone(),
                recorded: r.sha256.clone(),
                found: n.sha256.clone(),
            });
        }
    }
    if recorded.len() != now.len() {
        return Err(TrainError::ShapeMismatch {
            what: "data files of the run",
            expected: recorded.len(),
            found: now.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_option_is_a_count_or_a_fraction() {
        assert_eq!(
            ValidationConfig::parse("5000").unwrap(),
            ValidationConfig::First(5000)
        );
        assert_eq!(
            ValidationConfig::parse("0.1").unwrap(),
            ValidationConfig::Fraction(0.1)
        );
        for bad in ["0", "1.0", "-0.2", "abc", "1.5", "NaN"] {
            assert!(ValidationConfig::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(ValidationConfig::Fraction(0.25).count(10), 2);
        assert_eq!(ValidationConfig::First(7).count(10), 7);
    }

    #[test]
    fn changed_data_is_reported_with_both_checksums() {
        let f = |s: &str| DataFile {
            path: "x".into(),
            sha256: s.into(),
        };
        assert!(check_same_data(&[f("a")], &[f("a")]).is_ok());
        let err = check_same_data(&[f("a")], &[f("b")]).unwrap_err();
        assert!(matches!(err, TrainError::DataChanged { .. }));
        assert!(check_same_data(&[f("a")], &[]).is_err());
    }
}
