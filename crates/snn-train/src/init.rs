//! Weight initialisation: every weight drawn from a normal distribution `N(mean, std)` whose
//! parameters per layer are those of Table 3, from a seeded ChaCha stream.
//!
//! [`normal_weights`] (the default) draws all weights independently, layer after layer.
//! [`shared_normal_weights`] draws them as the paper's code does: every layer's generator is
//! seeded with the same seed, so every layer starts from the same standard normals `z`, laid out
//! input-major (`w[pre][post] = mean + std · z[pre · n_out + post]`); the output weights then
//! repeat the first hidden weights' standard normals.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, StandardNormal};
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
/// ChaCha8 stream seeded with `seed` (layer after layer, in the order of the returned arrays).
/// [`crate::snn::SnnClassifier::new`] reads each layer's array as a post-major `(n_out, n_in)`
/// matrix and stores its transpose (the layers are pre-major), so a seed gives the weights it
/// gave when the layers were post-major.
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

/// Draws the weights of consecutive layers as the paper's code does: one sequence of standard
/// normals `z` (ChaCha8 seeded with `seed`) shared by every layer, layer `l` of shape
/// `(n_out, n_in) = shapes[l]` taking `w[post · n_in + pre] = mean + std · z[pre · n_out + post]`
/// (a post-major `(n_out, n_in)` matrix filled from the paper code's input-major draw;
/// [`crate::snn::SnnClassifier::new`] stores its transpose in the pre-major layers).
pub fn shared_normal_weights(
    inits: &[WeightInit],
    shapes: &[(usize, usize)],
    seed: u64,
) -> Result<Vec<Vec<f64>>> {
    if inits.len() != shapes.len() {
        return Err(TrainError::ShapeMismatch {
            what: "weight initialisers per layer",
            expected: shapes.len(),
            found: inits.len(),
        });
    }
    let longest = shapes.iter().map(|&(o, i)| o * i).max().unwrap_or(0);
    let mut z = crate::error::with_capacity("standard normals", longest)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    z.extend((0..longest).map(|_| -> f64 { StandardNormal.sample(&mut rng) }));
    inits
        .iter()
        .zip(shapes)
        .map(|(init, &(n_out, n_in))| {
            init.validate()?;
            let mut w = crate::error::with_capacity("layer weights", n_out * n_in)?;
            for post in 0..n_out {
                w.extend((0..n_in).map(|pre| init.mean + init.std * z[pre * n_out + post]));
            }
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

    // Oracle: the definition of the paper code's draw, checked element by element. The output
    // weight from hidden neuron j to output neuron i repeats the standard normal of hidden
    // weight number 3j + i in input-major order (input (3j + i) / 200 to neuron (3j + i) % 200).
    #[test]
    fn shared_normals_repeat_the_hidden_draw_in_the_output_layer() {
        let shapes = [(200, 5), (3, 200)];
        let w = shared_normal_weights(&[YINYANG_HIDDEN, YINYANG_OUTPUT], &shapes, 3).unwrap();
        assert_eq!((w[0].len(), w[1].len()), (1000, 600));
        let z_hidden = |post: usize, pre: usize| (w[0][post * 5 + pre] - 1.5) / 0.78;
        let z_output = |post: usize, pre: usize| (w[1][post * 200 + pre] - 0.93) / 0.1;
        for j in 0..200 {
            for i in 0..3 {
                let k = 3 * j + i;
                let (a, b) = (z_output(i, j), z_hidden(k % 200, k / 200));
                assert!((a - b).abs() < 1e-12, "output ({i}, {j}): {a} vs {b}");
            }
        }
        // The hidden weights from inputs 3 and 4 are not repeated, and differ from each other.
        assert_ne!(z_hidden(0, 3), z_hidden(0, 4));
        let again = shared_normal_weights(&[YINYANG_HIDDEN, YINYANG_OUTPUT], &shapes, 3).unwrap();
        assert_eq!(w, again);
        assert!(matches!(
            shared_normal_weights(&[YINYANG_HIDDEN], &shapes, 3),
            Err(TrainError::ShapeMismatch { .. })
        ));
    }
}
