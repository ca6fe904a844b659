//! The encoded training, validation and test sets of an experiment, with the input and class
//! counts the data implies.

use rayon::prelude::*;

use crate::config::{EncodingConfig, ExperimentConfig};
use crate::error::{Result, TrainError};
use crate::events::{read_events, EventSet};
use crate::mnist::{check_dims, load_pair, LabeledImages};
use crate::model::Dataset;
use crate::source::{DataConfig, ValidationConfig};
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
    /// Input neurons the data needs.
    pub n_inputs: usize,
    /// Classes in the data (largest label + 1).
    pub n_classes: usize,
}

/// Splits `train` into (validation, rest) as `how` says, with clear errors for empty parts.
fn split_off<T>(mut train: Vec<T>, how: ValidationConfig) -> Result<(Vec<T>, Vec<T>)> {
    let n = train.len();
    let k = how.count(n);
    // As the user wrote it: `--validation 200` or `--validation 0.1`.
    let asked = match how {
        ValidationConfig::First(k) => k.to_string(),
        ValidationConfig::Fraction(f) => format!("{f} (= {k} examples)"),
        ValidationConfig::Files => "(files)".to_string(),
    };
    if k == 0 {
        return Err(TrainError::InvalidOption {
            name: "validation",
            value: format!("{asked} of {n} training examples"),
            reason: "gives an empty validation set: ask for more, or give a validation file",
        });
    }
    if k >= n {
        return Err(TrainError::InvalidOption {
            name: "validation",
            value: format!("{asked} of {n} training examples"),
            reason: "leaves no training example: ask for fewer",
        });
    }
    let rest = train.split_off(k);
    Ok((train, rest))
}

/// Cuts `set` to its first `limit` examples.
fn cut<T>(mut set: Vec<T>, limit: Option<usize>) -> Vec<T> {
    set.truncate(limit.unwrap_or(usize::MAX));
    set
}

/// One example before encoding.
enum Raw<'a> {
    Image(&'a [u8]),
    Events(&'a [f64], &'a [u32]),
}

/// Encodes `examples` (in parallel, order kept) into a dataset of `n_classes` classes.
fn encode(
    config: &ExperimentConfig,
    examples: Vec<(Raw<'_>, usize)>,
    n_classes: usize,
) -> Result<Dataset> {
    let inputs = examples
        .par_iter()
        .map(|(raw, _)| match (raw, &config.encoding) {
            (Raw::Image(p), EncodingConfig::Mnist(e)) => Ok(e.encode(p)),
            (Raw::Events(t, u), EncodingConfig::Events(e)) => Ok(e.encode(t, u)),
            _ => Err(TrainError::InvalidOption {
                name: "encoding",
                value: format!("{:?}", config.encoding),
                reason: "does not fit the data",
            }),
        })
        .collect::<Result<Vec<_>>>()?;
    let labels = examples.iter().map(|(_, l)| *l).collect();
    Dataset::new(inputs, labels, n_classes)
}

fn image_examples(set: &LabeledImages) -> Result<Vec<(Raw<'_>, usize)>> {
    set.labels
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            // read_idx checked the pixel count against the header, so every image exists.
            let pixels = set.image(i).ok_or(TrainError::ShapeMismatch {
                what: "pixels of the images",
                expected: set.len() * set.pixels_per_image(),
                found: set.pixels.len(),
            })?;
            Ok((Raw::Image(pixels), usize::from(label)))
        })
        .collect()
}

fn event_examples(set: &EventSet) -> Vec<(Raw<'_>, usize)> {
    (0..set.len())
        .map(|i| (Raw::Events(&set.times[i], &set.units[i]), set.labels[i]))
        .collect()
}

/// Loads and encodes the splits of `config`'s data, each cut to `config.limits`.
pub fn load_splits(config: &ExperimentConfig) -> Result<Splits> {
    config.validate()?;
    let limits = config.limits;
    match &config.data {
        DataConfig::YinYang => {
            let EncodingConfig::YinYang(enc) = &config.encoding else {
                return Err(TrainError::InvalidOption {
                    name: "encoding",
                    value: format!("{:?}", config.encoding),
                    reason: "does not fit the data",
                });
            };
            let encode = |samples: Vec<YinYangSample>, limit: Option<usize>| {
                let samples = cut(samples, limit);
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
                n_inputs: crate::encoding::YinYangEncoding::N_INPUTS,
                n_classes: yinyang::N_CLASSES,
            })
        }
        DataConfig::Images {
            train_images,
            train_labels,
            test_images,
            test_labels,
            validation,
        } => {
            let train = load_pair(train_images, train_labels)?;
            let test = load_pair(test_images, test_labels)?;
            check_dims(&test, test_images, train.rows, train.cols)?;
            let val_set = match validation {
                Some((images, labels)) => {
                    let v = load_pair(images, labels)?;
                    check_dims(&v, images, train.rows, train.cols)?;
                    Some(v)
                }
                None => None,
            };
            let n_classes = [Some(&train), Some(&test), val_set.as_ref()]
                .into_iter()
                .flatten()
                .map(LabeledImages::n_classes)
                .max()
                .unwrap_or(0);
            let (val, tr) = match &val_set {
                Some(v) => (image_examples(v)?, image_examples(&train)?),
                None => split_off(image_examples(&train)?, config.validation)?,
            };
            Ok(Splits {
                train: encode(config, cut(tr, limits.train), n_classes)?,
                validation: encode(config, cut(val, limits.validation), n_classes)?,
                test: encode(config, cut(image_examples(&test)?, limits.test), n_classes)?,
                n_inputs: train.pixels_per_image(),
                n_classes,
            })
        }
        DataConfig::Events {
            train,
            test,
            validation,
        } => {
            let train = read_events(train)?;
            let test = read_events(test)?;
            let val_set = validation.as_deref().map(read_events).transpose()?;
            let sets = [Some(&train), Some(&test), val_set.as_ref()];
            let all = sets.iter().flatten();
            let n_classes = all
                .clone()
                .flat_map(|s| s.labels.iter().map(|l| l + 1))
                .max()
                .unwrap_or(0);
            let n_inputs = all.map(|s| s.n_inputs()).max().unwrap_or(0);
            let (val, tr) = match &val_set {
                Some(v) => (event_examples(v), event_examples(&train)),
                None => split_off(event_examples(&train), config.validation)?,
            };
            Ok(Splits {
                train: encode(config, cut(tr, limits.train), n_classes)?,
                validation: encode(config, cut(val, limits.validation), n_classes)?,
                test: encode(config, cut(event_examples(&test), limits.test), n_classes)?,
                n_inputs,
                n_classes,
            })
        }
    }
}

/// The latest input spike over a dataset (0 without spikes), ms.
pub fn latest_spike(data: &Dataset) -> f64 {
    data.inputs
        .iter()
        .flatten()
        .map(|s| s.time)
        .fold(0.0, f64::max)
}

/// Checks the data fits a network of `config`'s sizes (resumed runs, saved weights).
pub fn check_sizes(config: &ExperimentConfig, splits: &Splits) -> Result<()> {
    if splits.n_inputs > config.n_inputs {
        return Err(TrainError::ShapeMismatch {
            what: "input neurons the data needs (the network has fewer)",
            expected: config.n_inputs,
            found: splits.n_inputs,
        });
    }
    if splits.n_classes > config.n_classes {
        return Err(TrainError::ShapeMismatch {
            what: "classes in the data (the network has fewer)",
            expected: config.n_classes,
            found: splits.n_classes,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::write_events;
    use crate::idx::{to_idx_bytes, IdxArray};
    use crate::test_util::TempDir;

    #[test]
    fn yin_yang_splits_have_published_sizes_and_five_spikes_each() {
        let splits = load_splits(&ExperimentConfig::yin_yang()).unwrap();
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
        let full = load_splits(&ExperimentConfig::yin_yang()).unwrap();
        let cut = load_splits(&config).unwrap();
        assert_eq!(cut.train.len(), 10);
        assert_eq!(cut.validation.len(), 1000);
        assert_eq!(cut.test.len(), 3);
        assert_eq!(cut.train.inputs[..], full.train.inputs[..10]);
    }

    fn write_idx(path: &std::path::Path, dims: Vec<usize>, data: Vec<u8>) {
        std::fs::write(path, to_idx_bytes(&IdxArray { dims, data })).unwrap();
    }

    /// `n` training and 3 test images of 2x3 pixels; labels `i % 4` (4 classes).
    fn image_config(dir: &std::path::Path, n: usize) -> ExperimentConfig {
        let p = |name: &str| dir.join(name);
        write_idx(
            &p("tri"),
            vec![n, 2, 3],
            (0..6 * n).map(|i| (i * 37 % 256) as u8).collect(),
        );
        write_idx(&p("trl"), vec![n], (0..n).map(|i| (i % 4) as u8).collect());
        write_idx(&p("tei"), vec![3, 2, 3], vec![255; 18]);
        write_idx(&p("tel"), vec![3], vec![0, 1, 2]);
        let mut c = ExperimentConfig::mnist();
        c.data = DataConfig::Images {
            train_images: p("tri"),
            train_labels: p("trl"),
            test_images: p("tei"),
            test_labels: p("tel"),
            validation: None,
        };
        c
    }

    #[test]
    fn images_of_any_size_give_input_and_class_counts_and_validation_splits() {
        let dir = TempDir::new("splits-images");
        let mut c = image_config(dir.path(), 10);
        c.validation = ValidationConfig::First(4);
        let s = load_splits(&c).unwrap();
        assert_eq!((s.n_inputs, s.n_classes), (6, 4));
        assert_eq!((s.train.len(), s.validation.len(), s.test.len()), (6, 4, 3));
        // The first four images validate; training starts at image 4 (label 0).
        assert_eq!(s.validation.labels, vec![0, 1, 2, 3]);
        assert_eq!(s.train.labels[0], 0);
        // Test image: six black pixels, all at 0 ms.
        assert_eq!(s.test.inputs[0].len(), 6);

        c.validation = ValidationConfig::Fraction(0.3);
        let s = load_splits(&c).unwrap();
        assert_eq!((s.train.len(), s.validation.len()), (7, 3));
    }

    #[test]
    fn empty_splits_are_reported_clearly() {
        let dir = TempDir::new("splits-empty");
        let mut c = image_config(dir.path(), 5);
        c.validation = ValidationConfig::Fraction(0.1);
        let err = load_splits(&c).unwrap_err().to_string();
        assert!(err.contains("empty validation set"), "{err}");
        // The numbers as the user gave them, not a Rust debug form.
        assert!(
            err.contains("0.1 (= 0 examples) of 5 training examples"),
            "{err}"
        );
        c.validation = ValidationConfig::First(5);
        let err = load_splits(&c).unwrap_err().to_string();
        assert!(err.contains("leaves no training example"), "{err}");
        assert!(err.contains("= 5 of 5 training examples"), "{err}");
    }

    #[test]
    fn separate_validation_files_are_used_and_must_match_the_image_size() {
        let dir = TempDir::new("splits-valfiles");
        let mut c = image_config(dir.path(), 6);
        write_idx(&dir.path().join("vi"), vec![2, 2, 3], vec![9; 12]);
        write_idx(&dir.path().join("vl"), vec![2], vec![7, 1]);
        if let DataConfig::Images { validation, .. } = &mut c.data {
            *validation = Some((dir.path().join("vi"), dir.path().join("vl")));
        }
        c.validation = ValidationConfig::Files;
        let s = load_splits(&c).unwrap();
        assert_eq!((s.train.len(), s.validation.len()), (6, 2));
        assert_eq!(s.n_classes, 8);
        write_idx(&dir.path().join("vi"), vec![2, 3, 2], vec![9; 12]);
        assert!(matches!(load_splits(&c), Err(TrainError::WrongDims { .. })));
    }

    #[test]
    fn event_files_give_inputs_classes_and_a_validation_fraction() {
        let dir = TempDir::new("splits-events");
        let examples: Vec<(Vec<f64>, Vec<u32>)> = (0..10)
            .map(|i| (vec![0.125 * i as f64, 0.25], vec![i as u32, 11]))
            .collect();
        let labels: Vec<u32> = (0..10).map(|i| i % 3).collect();
        write_events(&dir.path().join("train.h5"), &examples, &labels).unwrap();
        write_events(&dir.path().join("test.h5"), &examples[..2], &[4, 0]).unwrap();
        let mut c = ExperimentConfig::events();
        c.data = DataConfig::Events {
            train: dir.path().join("train.h5"),
            test: dir.path().join("test.h5"),
            validation: None,
        };
        c.validation = ValidationConfig::Fraction(0.2);
        let s = load_splits(&c).unwrap();
        assert_eq!((s.n_inputs, s.n_classes), (12, 5));
        assert_eq!((s.train.len(), s.validation.len(), s.test.len()), (8, 2, 2));
        // Example 3 (the second training example after the two validation ones): 0.25 s on
        // input 11 and 0.375 s on input 3, in ms and sorted.
        let t: Vec<(f64, u32)> = s.train.inputs[1]
            .iter()
            .map(|x| (x.time, x.source))
            .collect();
        assert_eq!(t, vec![(250.0, 11), (375.0, 3)]);
    }
}
