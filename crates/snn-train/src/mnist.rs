//! Labelled images from IDX files (any size), and the MNIST digits (LeCun, Cortes & Burges; CC
//! BY-SA 3.0) from a directory holding the four standard IDX files, raw or gzip-compressed, with
//! the paper's split: the first 5000 training images are the validation set, the other 55000
//! the training set (`docs/datasets.md` §"MNIST").

use std::path::{Path, PathBuf};

use crate::error::{Result, TrainError};
use crate::idx::{read_idx, MAGIC_IMAGES, MAGIC_LABELS};

/// Image height and width of MNIST.
pub const SIDE: usize = 28;
/// Pixels per image.
pub const PIXELS: usize = SIDE * SIDE;
/// Number of classes (digits).
pub const N_CLASSES: usize = 10;
/// Number of training images moved to the validation set (the first ones of the file).
pub const VALIDATION_SIZE: usize = 5000;

/// File names of the training images and labels, without `.gz`.
pub const TRAIN_FILES: (&str, &str) = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte");
/// File names of the test images and labels, without `.gz`.
pub const TEST_FILES: (&str, &str) = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");

/// Labelled grey-level images of one size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabeledImages {
    /// Pixels, image after image, each row-major, 0 (white) to 255 (black).
    pub pixels: Vec<u8>,
    /// One label per image.
    pub labels: Vec<u8>,
    /// Rows of an image.
    pub rows: usize,
    /// Columns of an image.
    pub cols: usize,
}

impl LabeledImages {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image (`usize::MAX` if `rows · cols` overflows, which no image set holds).
    pub fn pixels_per_image(&self) -> usize {
        self.rows.saturating_mul(self.cols)
    }

    /// The pixels of image `i`, `None` if there is no image `i`.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        if i >= self.len() {
            return None;
        }
        let n = self.pixels_per_image();
        self.pixels
            .get(i.checked_mul(n)?..i.checked_add(1)?.checked_mul(n)?)
    }

    /// Images `range` as a new set, `None` if the range is not within the set.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Option<LabeledImages> {
        let n = self.pixels_per_image();
        let pixels = range.start.checked_mul(n)?..range.end.checked_mul(n)?;
        Some(LabeledImages {
            pixels: self.pixels.get(pixels)?.to_vec(),
            labels: self.labels.get(range)?.to_vec(),
            rows: self.rows,
            cols: self.cols,
        })
    }

    /// The largest label + 1 (0 for an empty set).
    pub fn n_classes(&self) -> usize {
        self.labels
            .iter()
            .map(|&l| usize::from(l) + 1)
            .max()
            .unwrap_or(0)
    }
}

/// MNIST split as in the paper.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mnist {
    /// Training images 5000..60000.
    pub train: LabeledImages,
    /// Training images 0..5000.
    pub validation: LabeledImages,
    /// The 10000 test images.
    pub test: LabeledImages,
}

/// Reads an image file (any image size) and its label file, checking that both hold the same
/// number of items.
pub fn load_pair(images_path: &Path, labels_path: &Path) -> Result<LabeledImages> {
    let images = read_idx(images_path, MAGIC_IMAGES)?;
    let labels = read_idx(labels_path, MAGIC_LABELS)?;
    if images.dims[0] != labels.dims[0] {
        return Err(TrainError::CountMismatch {
            images: images.dims[0],
            labels: labels.dims[0],
        });
    }
    Ok(LabeledImages {
        pixels: images.data,
        labels: labels.data,
        rows: images.dims[1],
        cols: images.dims[2],
    })
}

/// Checks that `set` has `rows × cols` images, as `path` must.
pub fn check_dims(set: &LabeledImages, path: &Path, rows: usize, cols: usize) -> Result<()> {
    if (set.rows, set.cols) != (rows, cols) {
        return Err(TrainError::WrongDims {
            path: path.to_path_buf(),
            rows: set.rows,
            cols: set.cols,
            expected_rows: rows,
            expected_cols: cols,
        });
    }
    Ok(())
}

/// Checks every label of `set` is below `n_classes`.
pub fn check_labels(set: &LabeledImages, path: &Path, n_classes: usize) -> Result<()> {
    match set
        .labels
        .iter()
        .enumerate()
        .find(|(_, &l)| usize::from(l) >= n_classes)
    {
        Some((index, &label)) => Err(TrainError::LabelOutOfRange {
            path: path.to_path_buf(),
            index,
            label,
            n_classes,
        }),
        None => Ok(()),
    }
}

/// Finds `name` or `name.gz` in `dir` (the raw file first).
pub fn find_file(dir: &Path, name: &str) -> Result<PathBuf> {
    let raw = dir.join(name);
    if raw.is_file() {
        return Ok(raw);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(TrainError::MissingFile {
        dir: dir.to_path_buf(),
        name: name.to_string(),
    })
}

/// Loads the four MNIST files from `dir` (28×28 images, digit labels) and splits off the
/// validation set.
pub fn load_mnist(dir: &Path) -> Result<Mnist> {
    if !dir.is_dir() {
        return Err(TrainError::io(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
        ));
    }
    let mut sets = Vec::new();
    for (images, labels) in [TRAIN_FILES, TEST_FILES] {
        let (images, labels) = (find_file(dir, images)?, find_file(dir, labels)?);
        let set = load_pair(&images, &labels)?;
        check_dims(&set, &images, SIDE, SIDE)?;
        check_labels(&set, &labels, N_CLASSES)?;
        sets.push(set);
    }
    let (full_train, test) = (sets.swap_remove(0), sets.swap_remove(0));
    let n_val = VALIDATION_SIZE.min(full_train.len());
    // load_pair checked one 28×28 image per label, so both ranges are within the set.
    let part = |range: std::ops::Range<usize>| {
        full_train.slice(range).ok_or(TrainError::ShapeMismatch {
            what: "pixels of the training images",
            expected: full_train.len() * PIXELS,
            found: full_train.pixels.len(),
        })
    };
    Ok(Mnist {
        validation: part(0..n_val)?,
        train: part(n_val..full_train.len())?,
        test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::{to_idx_bytes, IdxArray};
    use crate::test_util::TempDir;

    fn write_images(path: &Path, n: usize, rows: usize, cols: usize) {
        let a = IdxArray {
            dims: vec![n, rows, cols],
            data: (0..n * rows * cols).map(|i| (i % 256) as u8).collect(),
        };
        std::fs::write(path, to_idx_bytes(&a)).unwrap();
    }

    fn write_labels(path: &Path, labels: &[u8]) {
        let a = IdxArray {
            dims: vec![labels.len()],
            data: labels.to_vec(),
        };
        std::fs::write(path, to_idx_bytes(&a)).unwrap();
    }

    #[test]
    fn matching_pair_loads() {
        let dir = TempDir::new("mnist-pair");
        let (im, lb) = (dir.path().join("im"), dir.path().join("lb"));
        write_images(&im, 3, SIDE, SIDE);
        write_labels(&lb, &[7, 0, 9]);
        let set = load_pair(&im, &lb).unwrap();
        assert_eq!(set.len(), 3);
        assert_eq!(set.labels, vec![7, 0, 9]);
        assert_eq!(set.image(1).unwrap()[0], (PIXELS % 256) as u8);
        assert_eq!(set.image(set.len()), None);
        assert_eq!(set.image(usize::MAX), None);
    }

    #[test]
    fn count_mismatch_is_reported_with_both_counts() {
        let dir = TempDir::new("mnist-count");
        let (im, lb) = (dir.path().join("im"), dir.path().join("lb"));
        write_images(&im, 3, SIDE, SIDE);
        write_labels(&lb, &[1, 2]);
        assert!(matches!(
            load_pair(&im, &lb),
            Err(TrainError::CountMismatch {
                images: 3,
                labels: 2
            })
        ));
    }

    #[test]
    fn any_image_size_loads_and_mnist_checks_refuse_others() {
        let dir = TempDir::new("mnist-dims");
        let (im, lb) = (dir.path().join("im"), dir.path().join("lb"));
        write_images(&im, 2, 27, 5);
        write_labels(&lb, &[1, 12]);
        let set = load_pair(&im, &lb).unwrap();
        assert_eq!((set.rows, set.cols, set.pixels_per_image()), (27, 5, 135));
        assert_eq!(set.image(1).unwrap()[0], 135);
        assert_eq!(set.n_classes(), 13);
        assert!(matches!(
            check_dims(&set, &im, SIDE, SIDE),
            Err(TrainError::WrongDims {
                rows: 27,
                cols: 5,
                ..
            })
        ));
        assert!(matches!(
            check_labels(&set, &lb, N_CLASSES),
            Err(TrainError::LabelOutOfRange {
                index: 1,
                label: 12,
                ..
            })
        ));
    }

    #[test]
    fn missing_file_in_directory_is_reported_by_name() {
        let dir = TempDir::new("mnist-missing");
        let err = load_mnist(dir.path()).unwrap_err();
        assert!(matches!(err, TrainError::MissingFile { ref name, .. } if name == TRAIN_FILES.0));
    }

    #[test]
    fn split_takes_first_images_as_validation() {
        let dir = TempDir::new("mnist-split");
        let n = VALIDATION_SIZE + 2;
        write_images(&dir.path().join(TRAIN_FILES.0), n, SIDE, SIDE);
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        write_labels(&dir.path().join(TRAIN_FILES.1), &labels);
        write_images(&dir.path().join(TEST_FILES.0), 1, SIDE, SIDE);
        write_labels(&dir.path().join(TEST_FILES.1), &[4]);
        let m = load_mnist(dir.path()).unwrap();
        assert_eq!(m.validation.len(), VALIDATION_SIZE);
        assert_eq!(m.train.len(), 2);
        assert_eq!(m.train.labels, vec![0, 1]); // images 5000 and 5001
        assert_eq!(m.test.labels, vec![4]);
    }
}
