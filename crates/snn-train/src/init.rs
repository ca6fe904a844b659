//! Weight initialisation: every weight drawn independently from a normal distribution
//! `N(mean, std)` whose parameters per layer are those of Table 3, from a seeded ChaCha stream.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// Normal distribution of one layer's initial weights.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightInit {
    /// Mean.
    pub mean: f64,
    /// Standard deviation (>= 0).
    pub std: f64,
}

/// Table 3, Yin-Yang, hidden layer: N(1.5, 0.78).
pub const YINYANG_HIDDEN: WeightInit = WeightInit {
    mean: 1.5,
    std: 0.78,
};
/// Table 3, Yin-Yang, output layer: N(0.93, 0.1).
pub const YINYANG_OUTPUT: WeightInit = WeightInit {
    mean: 0.93,
    std: 0.1,
};
/// Table 3, MNIST, hidden layer: N(0.078, 0.045).
pub const MNIST_HIDDEN: WeightInit = WeightInit {
    mean: 0.078,
    std: 0.045,
};
/// Table 3, MNIST, output layer: N(0.2, 0.37).
pub const MNIST_OUTPUT: WeightInit = WeightInit {
    mean: 0.2,
    std: 0.37,
};

impl WeightInit {
    /// Checks `mean` is finite and `std` finite and non-negative.
    pub fn validate(&self) -> Result<()> {
        if !self.mean.is_finite() {
            return Err(TrainError::InvalidOption {
                name: "weight mean",
                value: self.mean.to_string(),
                reason: "must be finite",
            });
        }
        if !(self.std.is_finite() && self.std >= 0.0) {
            return Err(TrainError::InvalidOption {
                name: "weight std",
                value: self.std.to_string(),
                reason: "must be a finite number >= 0",
            });
        }
        Ok(())
    }
}

/// Draws the weights of consecutive layers, `lengths[l]` values from `inits[l]`, all from one
/// ChaCha8 stream seeded with `seed` (layer after layer, in storage order).
pub fn normal_weights(inits: &[WeightInit], lengths: &[usize], seed: u64) -> Result<Vec<Vec<f64>>> {
    if inits.len() != lengths.len() {
        return Err(TrainError::ShapeMismatch {
            what: "weight initialisers per layer",
            expected: lengths.len(),
            found: inits.len(),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    inits
        .iter()
        .zip(lengths)
        .map(|(init, &n)| {
            init.validate()?;
            // validate() guarantees a finite std >= 0, which Normal::new accepts.
            let dist = Normal::new(init.mean, init.std).map_err(|_| TrainError::InvalidOption {
                name: "weight std",
                value: init.std.to_string(),
                reason: "must be a finite number >= 0",
            })?;
            let mut w = crate::error::with_capacity("layer weights", n)?;
            w.extend((0..n).map(|_| dist.sample(&mut rng)));
            Ok(w)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Sampling oracle: for n draws of N(μ, σ) the sample mean has standard error σ/√n and the
    // sample standard deviation about σ/√(2n); allow five standard errors.
    #[test]
    fn sample_moments_match_table_3_distributions() {
        let n = 200_000;
        let w = normal_weights(&[YINYANG_HIDDEN, MNIST_OUTPUT], &[n, n], 0).unwrap();
        for (values, init) in w.iter().zip([YINYANG_HIDDEN, MNIST_OUTPUT]) {
            let mean = values.iter().sum::<f64>() / n as f64;
            let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let se_mean = init.std / (n as f64).sqrt();
            let se_std = init.std / (2.0 * n as f64).sqrt();
            assert!(
                (mean - init.mean).abs() < 5.0 * se_mean,
                "mean {mean} vs {init:?}"
            );
            assert!(
                (var.sqrt() - init.std).abs() < 5.0 * se_std,
                "std {} vs {init:?}",
                var.sqrt()
            );
        }
    }

    #[test]
    fn same_seed_same_weights_other_seed_other_weights() {
        let a = normal_weights(&[YINYANG_HIDDEN, YINYANG_OUTPUT], &[1000, 600], 5).unwrap();
        let b = normal_weights(&[YINYANG_HIDDEN, YINYANG_OUTPUT], &[1000, 600], 5).unwrap();
        let c = normal_weights(&[YINYANG_HIDDEN, YINYANG_OUTPUT], &[1000, 600], 6).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a[0].len(), 1000);
        assert_eq!(a[1].len(), 600);
    }

    #[test]
    fn zero_std_gives_the_mean_and_negative_std_is_rejected() {
        let w = normal_weights(
            &[WeightInit {
                mean: 0.5,
                std: 0.0,
            }],
            &[10],
            1,
        )
        .unwrap();
        assert!(w[0].iter().all(|&x| x == 0.5));
        assert!(matches!(
            normal_weights(
                &[WeightInit {
                    mean: 0.5,
                    std: -1.0
                }],
                &[10],
                1
            ),
            Err(TrainError::InvalidOption {
                name: "weight std",
                ..
            })
        ));
        assert!(matches!(
            normal_weights(&[YINYANG_HIDDEN], &[10, 10], 1),
            Err(TrainError::ShapeMismatch { .. })
        ));
    }
}
