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

/// New places of a run's data files, for scoring saved weights after the files moved: each
/// path given replaces the recorded file of the same role (the option of the same name in
/// `snn-train`); `None` keeps the recorded one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataLocations {
    /// A directory holding the four MNIST files: an image run's training and test files.
    pub mnist_dir: Option<PathBuf>,
    /// Training images.
    pub train_images: Option<PathBuf>,
    /// Training labels.
    pub train_labels: Option<PathBuf>,
    /// Test images.
    pub test_images: Option<PathBuf>,
    /// Test labels.
    pub test_labels: Option<PathBuf>,
    /// Validation images.
    pub validation_images: Option<PathBuf>,
    /// Validation labels.
    pub validation_labels: Option<PathBuf>,
    /// Training events file.
    pub train: Option<PathBuf>,
    /// Test events file.
    pub test: Option<PathBuf>,
    /// Validation events file.
    pub validation_file: Option<PathBuf>,
}

impl DataLocations {
    /// `data` with the given paths in place of the recorded ones. A path for a file the run
    /// does not have (another kind of data, or validation files of a run that cut its
    /// validation set from the training file) is an error naming the option.
    pub fn apply(&self, data: &DataConfig) -> Result<DataConfig> {
        let image_options = [
            ("data", &self.mnist_dir),
            ("train-images", &self.train_images),
            ("train-labels", &self.train_labels),
            ("test-images", &self.test_images),
            ("test-labels", &self.test_labels),
            ("validation-images", &self.validation_images),
            ("validation-labels", &self.validation_labels),
        ];
        let event_options = [
            ("train", &self.train),
            ("test", &self.test),
            ("validation-file", &self.validation_file),
        ];
        let refuse = |options: &[(&'static str, &Option<PathBuf>)], reason| match options
            .iter()
            .find(|(_, p)| p.is_some())
        {
            Some((name, Some(path))) => Err(TrainError::InvalidOption {
                name,
                value: path.display().to_string(),
                reason,
            }),
            _ => Ok(()),
        };
        const IMAGES: &str = "the run trained on IDX images: give --data, --train-images, \
            --train-labels, --test-images, --test-labels, --validation-images or \
            --validation-labels";
        const EVENTS: &str = "the run trained on events: give --train, --test or --validation-file";
        let or =
            |given: &Option<PathBuf>, recorded: &PathBuf| given.clone().unwrap_or(recorded.clone());
        match data {
            DataConfig::YinYang => {
                let reason = "the run trained on the generated Yin-Yang data, which has no files";
                refuse(&image_options, reason)?;
                refuse(&event_options, reason)?;
                Ok(DataConfig::YinYang)
            }
            DataConfig::Images {
                train_images,
                train_labels,
                test_images,
                test_labels,
                validation,
            } => {
                refuse(&event_options, IMAGES)?;
                let (ti, tl, si, sl) = match &self.mnist_dir {
                    Some(dir) => match DataConfig::mnist_dir(dir)? {
                        DataConfig::Images {
                            train_images,
                            train_labels,
                            test_images,
                            test_labels,
                            ..
                        } => (train_images, train_labels, test_images, test_labels),
                        other => return Ok(other),
                    },
                    None => (
                        train_images.clone(),
                        train_labels.clone(),
                        test_images.clone(),
                        test_labels.clone(),
                    ),
                };
                let validation = match validation {
                    Some((i, l)) => Some((
                        or(&self.validation_images, i),
                        or(&self.validation_labels, l),
                    )),
                    None => {
                        refuse(
                            &image_options[5..],
                            "the run took its validation set from the training file; it has no \
                             validation files",
                        )?;
                        None
                    }
                };
                Ok(DataConfig::Images {
                    train_images: or(&self.train_images, &ti),
                    train_labels: or(&self.train_labels, &tl),
                    test_images: or(&self.test_images, &si),
                    test_labels: or(&self.test_labels, &sl),
                    validation,
                })
            }
            DataConfig::Events {
                train,
                test,
                validation,
            } => {
                refuse(&image_options, EVENTS)?;
                let validation = match validation {
                    Some(v) => Some(or(&self.validation_file, v)),
                    None => {
                        refuse(
                            &event_options[2..],
                            "the run took its validation set from the training file; it has no \
                             validation file",
                        )?;
                        None
                    }
                };
                Ok(DataConfig::Events {
                    train: or(&self.train, train),
                    test: or(&self.test, test),
                    validation,
                })
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

/// Checks that the data files now have the checksums recorded when a run started; `hint` ends
/// the error message ([`TrainError::DataChanged`]).
pub fn check_same_data(recorded: &[DataFile], now: &[DataFile], hint: &'static str) -> Result<()> {
    for (r, n) in recorded.iter().zip(now) {
        if r.sha256 != n.sha256 {
            return Err(TrainError::DataChanged {
                path: n.path.clone(),
                recorded: r.sha256.clone(),
                found: n.sha256.clone(),
                hint,
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
        assert!(check_same_data(&[f("a")], &[f("a")], "").is_ok());
        let err = check_same_data(&[f("a")], &[f("b")], "; hint").unwrap_err();
        assert!(matches!(err, TrainError::DataChanged { .. }));
        assert_eq!(
            err.to_string(),
            "x: SHA-256 b differs from a, recorded when the run started; hint"
        );
        assert!(check_same_data(&[f("a")], &[], "").is_err());
    }
}
