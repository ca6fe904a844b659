//! The Yin-Yang dataset of Kriener et al. (2021), regenerated bit for bit from its seeds
//! (`docs/datasets.md` §"The Yin-Yang data set"): rejection sampling in the unit square with numpy's legacy
//! `RandomState` draws, provided here by [`Mt19937`].

use crate::error::{with_capacity, Result};
use crate::mt19937::Mt19937;

/// Radius of the two dots.
pub const R_SMALL: f64 = 0.1;
/// Radius of the big circle.
pub const R_BIG: f64 = 0.5;
/// Number of classes: yin (0), yang (1) and the dots (2).
pub const N_CLASSES: usize = 3;

/// Seed and size of the published training split.
pub const TRAIN_SPLIT: (u32, usize) = (42, 5000);
/// Seed and size of the published validation split.
pub const VALIDATION_SPLIT: (u32, usize) = (41, 1000);
/// Seed and size of the published test split.
pub const TEST_SPLIT: (u32, usize) = (40, 1000);

/// One Yin-Yang sample: the point `(x, y)` in `[0, 1]²` and its class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct YinYangSample {
    /// Horizontal coordinate.
    pub x: f64,
    /// Vertical coordinate.
    pub y: f64,
    /// Class: 0 yin, 1 yang, 2 dots.
    pub label: usize,
}

impl YinYangSample {
    /// The four features `[x, y, 1 - x, 1 - y]` in the order of the published data files.
    pub fn features(&self) -> [f64; 4] {
        [self.x, self.y, 1.0 - self.x, 1.0 - self.y]
    }
}

/// Class of a point (`docs/datasets.md` §"The Yin-Yang data set"): 2 inside a dot, else 1 (yang) when
/// `d_R <= r_small`, `r_small < d_L <= r_big / 2` or `y > r_big` and `d_R > r_big / 2`, else 0 (yin).
pub fn class_of(x: f64, y: f64) -> usize {
    let d_right = ((x - 1.5 * R_BIG).powi(2) + (y - R_BIG).powi(2)).sqrt();
    let d_left = ((x - 0.5 * R_BIG).powi(2) + (y - R_BIG).powi(2)).sqrt();
    if d_right < R_SMALL || d_left < R_SMALL {
        return 2;
    }
    let yang = d_right <= R_SMALL
        || (d_left > R_SMALL && d_left <= 0.5 * R_BIG)
        || (y > R_BIG && d_right > 0.5 * R_BIG);
    usize::from(yang)
}

/// Draws one sample of class `goal`: points uniform in the square, rejected outside the big
/// circle or when their class differs from `goal`.
fn sample_of_class(rng: &mut Mt19937, goal: usize) -> YinYangSample {
    loop {
        // numpy computes rand(2) * 2. * r_big; both scalings are exact powers of two.
        let x = rng.rand() * 2.0 * R_BIG;
        let y = rng.rand() * 2.0 * R_BIG;
        if ((x - R_BIG).powi(2) + (y - R_BIG).powi(2)).sqrt() > R_BIG {
            continue;
        }
        let label = class_of(x, y);
        if label == goal {
            return YinYangSample { x, y, label };
        }
    }
}

/// Generates `size` samples from `seed`: for each, a goal class `randint(3)`, then a point of
/// that class by rejection (`docs/datasets.md` §"The Yin-Yang data set"). Fails with
/// [`crate::TrainError::TooLarge`] if `size` samples cannot be allocated.
pub fn generate(seed: u32, size: usize) -> Result<Vec<YinYangSample>> {
    let mut samples = with_capacity("Yin-Yang samples", size)?;
    fill(seed, size, &mut samples);
    Ok(samples)
}

/// Appends `size` samples from `seed` to `samples`.
fn fill(seed: u32, size: usize, samples: &mut Vec<YinYangSample>) {
    let mut rng = Mt19937::new(seed);
    samples.extend((0..size).map(|_| {
        let goal = rng.randint(N_CLASSES as u32) as usize;
        sample_of_class(&mut rng, goal)
    }));
}

/// One of the published splits (a few thousand samples: no allocation concern).
fn split((seed, size): (u32, usize)) -> Vec<YinYangSample> {
    let mut samples = Vec::with_capacity(size);
    fill(seed, size, &mut samples);
    samples
}

/// The published training split (5000 samples, seed 42).
pub fn train_split() -> Vec<YinYangSample> {
    split(TRAIN_SPLIT)
}

/// The published validation split (1000 samples, seed 41).
pub fn validation_split() -> Vec<YinYangSample> {
    split(VALIDATION_SPLIT)
}

/// The published test split (1000 samples, seed 40).
pub fn test_split() -> Vec<YinYangSample> {
    split(TEST_SPLIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every expected number below is a test vector of `docs/datasets.md`, computed from numpy's generator
    // and the published files, not from this code.

    fn class_counts(samples: &[YinYangSample]) -> [usize; 3] {
        let mut counts = [0; 3];
        for s in samples {
            counts[s.label] += 1;
        }
        counts
    }

    /// Neumaier-compensated sum, the algorithm of Python's built-in `sum` of floats (3.12+), with
    /// which the published sums were computed; a plain left-to-right sum differs in the last
    /// digits, so this lets the comparison be bit for bit.
    fn compensated_sum(values: impl Iterator<Item = f64>) -> f64 {
        let (mut sum, mut compensation) = (0.0f64, 0.0f64);
        for v in values {
            let t = sum + v;
            compensation += if sum.abs() >= v.abs() {
                (sum - t) + v
            } else {
                (v - t) + sum
            };
            sum = t;
        }
        sum + compensation
    }

    fn sum_x(samples: &[YinYangSample]) -> f64 {
        compensated_sum(samples.iter().map(|s| s.x))
    }

    fn assert_sample(s: &YinYangSample, x: f64, y: f64, label: usize) {
        // The vectors are printed with 12 significant digits.
        assert!((s.x - x).abs() < 1e-12, "x {} vs {}", s.x, x);
        assert!((s.y - y).abs() < 1e-12, "y {} vs {}", s.y, y);
        assert_eq!(s.label, label);
    }

    #[test]
    fn train_split_first_samples_match_published() {
        let train = train_split();
        assert_eq!(train.len(), 5000);
        assert_sample(&train[0], 0.680307538588, 0.45049925197, 2);
        assert_sample(&train[1], 0.097672114006, 0.684233026512, 1);
        assert_sample(&train[2], 0.755361410318, 0.425155874491, 2);
    }

    #[test]
    fn train_split_sums_and_counts_match_published_exactly() {
        let train = train_split();
        assert_eq!(sum_x(&train), 2528.3224565688233);
        assert_eq!(
            compensated_sum(train.iter().map(|s| s.y)),
            2505.7668617482846
        );
        assert_eq!(class_counts(&train), [1681, 1702, 1617]);
    }

    #[test]
    fn validation_split_sum_and_counts_match_published() {
        let validation = validation_split();
        assert_eq!(validation.len(), 1000);
        assert_eq!(sum_x(&validation), 496.4088964866451);
        assert_eq!(class_counts(&validation), [316, 336, 348]);
    }

    #[test]
    fn test_split_first_sample_sum_and_counts_match_published() {
        let test = test_split();
        assert_eq!(test.len(), 1000);
        assert_sample(&test[0], 0.234096645596, 0.401724975183, 2);
        assert_eq!(sum_x(&test), 498.2569893484742);
        assert_eq!(class_counts(&test), [350, 316, 334]);
    }

    #[test]
    fn features_are_coordinates_then_mirrors() {
        let s = YinYangSample {
            x: 0.25,
            y: 0.75,
            label: 0,
        };
        assert_eq!(s.features(), [0.25, 0.75, 0.75, 0.25]);
    }

    // Geometric oracle: the centres of the dots are class 2, a point in the upper half far from
    // both dots is yang (1), one in the lower half far from both dots is yin (0).
    #[test]
    fn class_regions_match_geometry() {
        assert_eq!(class_of(0.25, 0.5), 2);
        assert_eq!(class_of(0.75, 0.5), 2);
        assert_eq!(class_of(0.5, 0.95), 1);
        assert_eq!(class_of(0.5, 0.05), 0);
    }
}
