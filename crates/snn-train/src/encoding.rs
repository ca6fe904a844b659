//! Latency encodings of the paper (Wunderlich & Pehle 2021, "Simulation results" and Table 3):
//! each feature becomes one input spike, earlier for larger values, and input-spike dropout for
//! training. Times are in milliseconds.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::yinyang::YinYangSample;

/// An input spike: its time (ms) and the index of the input neuron that emits it.
pub use lif_network::eventprop::InputSpike;

/// Sorts spikes by time; ties keep the order of their sources (a stable sort on `time`).
fn sort_by_time(spikes: &mut [InputSpike]) {
    spikes.sort_by(|a, b| a.time.total_cmp(&b.time));
}

/// Yin-Yang latency encoding: the features `[x, y, 1 - x, 1 - y]` become spikes at
/// `t_min + feature · (t_max - t_min)` on inputs 0..4 (Table 3: `t_min = 0`, so
/// `feature · t_max`), and a bias input 4 spikes at `t_bias` (5 inputs).
///
/// Input order: the published data files (`docs/datasets.md`) give the features as
/// `[x, y, 1 - x, 1 - y]`; the paper's Fig. 3D draws them as `(x, 1 - x, y, 1 - y)`. With weights
/// drawn independently per synapse the two orders are the same network up to a relabelling of
/// inputs; this crate uses the data files' order, with the bias last.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct YinYangEncoding {
    /// Latest feature spike time, for a feature of 1 (Table 3: 30 ms).
    pub t_max: f64,
    /// Time of the bias spike (Table 3: 0 ms).
    pub t_bias: f64,
    /// Spike time of a feature of 0 (Table 3: 0 ms; the original code's class default is
    /// 10 ms with `t_max` 40 ms and `t_bias` 20 ms).
    #[serde(default)]
    pub t_min: f64,
}

impl Default for YinYangEncoding {
    fn default() -> Self {
        Self {
            t_max: 30.0,
            t_bias: 0.0,
            t_min: 0.0,
        }
    }
}

impl YinYangEncoding {
    /// Number of input neurons: four features and the bias.
    pub const N_INPUTS: usize = 5;
    /// Index of the bias input.
    pub const BIAS_INPUT: u32 = 4;

    /// Checks that both times are finite and non-negative.
    pub fn validate(&self) -> Result<()> {
        check_time("t_max", self.t_max)?;
        check_time("t_bias", self.t_bias)?;
        check_time("t_min", self.t_min)?;
        if self.t_min > self.t_max {
            return Err(TrainError::InvalidOption {
                name: "t_min",
                value: self.t_min.to_string(),
                reason: "must not exceed t_max",
            });
        }
        Ok(())
    }

    /// The five input spikes of a sample, sorted by time.
    pub fn encode(&self, sample: &YinYangSample) -> Vec<InputSpike> {
        let mut spikes: Vec<InputSpike> = sample
            .features()
            .iter()
            .enumerate()
            .map(|(i, &f)| InputSpike {
                time: self.t_min + f * (self.t_max - self.t_min),
                source: i as u32,
            })
            .collect();
        spikes.push(InputSpike {
            time: self.t_bias,
            source: Self::BIAS_INPUT,
        });
        sort_by_time(&mut spikes);
        spikes
    }
}

/// MNIST latency encoding: pixel `v` (0-255) on input `i` spikes at `(1 - v/255) · t_max`;
/// pixels with `v <= min_value` do not spike (paper: values 0 and 1 give no spike).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MnistEncoding {
    /// Spike time of a white pixel limit, `v → 0` (Table 3: 20 ms).
    pub t_max: f64,
    /// Largest pixel value that gives no spike (paper: 1).
    pub min_value: u8,
}

impl Default for MnistEncoding {
    fn default() -> Self {
        Self {
            t_max: 20.0,
            min_value: 1,
        }
    }
}

impl MnistEncoding {
    /// Checks that `t_max` is finite and non-negative.
    pub fn validate(&self) -> Result<()> {
        check_time("t_max", self.t_max)
    }

    /// The input spikes of one image, sorted by time.
    pub fn encode(&self, pixels: &[u8]) -> Vec<InputSpike> {
        let mut spikes: Vec<InputSpike> = pixels
            .iter()
            .enumerate()
            .filter(|(_, &v)| v > self.min_value)
            .map(|(i, &v)| InputSpike {
                time: (1.0 - f64::from(v) / 255.0) * self.t_max,
                source: i as u32,
            })
            .collect();
        sort_by_time(&mut spikes);
        spikes
    }
}

/// Input-spike dropout: keeps each spike independently with probability `1 - p`
/// (paper, MNIST: `p_drop = 0.2` during training). Order is preserved.
pub fn drop_spikes(spikes: &[InputSpike], p: f64, rng: &mut impl Rng) -> Vec<InputSpike> {
    if p <= 0.0 {
        return spikes.to_vec();
    }
    spikes
        .iter()
        .filter(|_| rng.gen::<f64>() >= p)
        .copied()
        .collect()
}

/// Checks a dropout probability is in `[0, 1]`.
pub fn validate_dropout(p: f64) -> Result<()> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(TrainError::InvalidOption {
            name: "dropout",
            value: p.to_string(),
            reason: "must be a probability in [0, 1]",
        })
    }
}

fn check_time(name: &'static str, t: f64) -> Result<()> {
    if t.is_finite() && t >= 0.0 {
        Ok(())
    } else {
        Err(TrainError::InvalidOption {
            name,
            value: t.to_string(),
            reason: "must be a finite time >= 0 ms",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn pairs(spikes: &[InputSpike]) -> Vec<(f64, u32)> {
        spikes.iter().map(|s| (s.time, s.source)).collect()
    }

    #[test]
    fn yin_yang_features_spike_at_feature_times_tmax_with_bias_first() {
        let s = YinYangSample {
            x: 0.25,
            y: 0.75,
            label: 1,
        };
        let spikes = YinYangEncoding::default().encode(&s);
        // By hand: x → 7.5 ms, y → 22.5, 1-x → 22.5, 1-y → 7.5, bias at 0.
        assert_eq!(
            pairs(&spikes),
            vec![(0.0, 4), (7.5, 0), (7.5, 3), (22.5, 1), (22.5, 2)]
        );
    }

    // The original code's class default: features span 10..40 ms, bias at 20 ms. By hand:
    // x = 0.25 → 10 + 0.25·30 = 17.5, y = 0.75 → 32.5, 1-x → 32.5, 1-y → 17.5.
    #[test]
    fn yin_yang_features_span_t_min_to_t_max() {
        let enc = YinYangEncoding {
            t_max: 40.0,
            t_bias: 20.0,
            t_min: 10.0,
        };
        let s = YinYangSample {
            x: 0.25,
            y: 0.75,
            label: 1,
        };
        assert_eq!(
            pairs(&enc.encode(&s)),
            vec![(17.5, 0), (17.5, 3), (20.0, 4), (32.5, 1), (32.5, 2)]
        );
        let bad = YinYangEncoding { t_min: 50.0, ..enc };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn yin_yang_bias_time_is_respected() {
        let enc = YinYangEncoding {
            t_max: 10.0,
            t_bias: 4.0,
            t_min: 0.0,
        };
        let s = YinYangSample {
            x: 0.1,
            y: 0.9,
            label: 0,
        };
        let p = pairs(&enc.encode(&s));
        assert_eq!(p.len(), 5);
        assert!(p.contains(&(4.0, 4)));
        assert!(p.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn mnist_pixels_spike_at_inverted_intensity_and_dim_pixels_are_silent() {
        let pixels = [0u8, 1, 2, 255, 128, 51];
        let spikes = MnistEncoding::default().encode(&pixels);
        // By hand: 255 → 0 ms; 51 → (1 - 0.2)·20 = 16; 128 → (127/255)·20; 2 → (253/255)·20.
        assert_eq!(
            pairs(&spikes),
            vec![
                (0.0, 3),
                (127.0 / 255.0 * 20.0, 4),
                (16.0, 5),
                (253.0 / 255.0 * 20.0, 2)
            ]
        );
    }

    #[test]
    fn invalid_times_and_probabilities_are_rejected() {
        let enc = YinYangEncoding {
            t_max: -1.0,
            t_bias: 0.0,
            t_min: 0.0,
        };
        assert!(matches!(
            enc.validate(),
            Err(TrainError::InvalidOption { name: "t_max", .. })
        ));
        let enc = MnistEncoding {
            t_max: f64::NAN,
            min_value: 1,
        };
        assert!(enc.validate().is_err());
        assert!(validate_dropout(1.5).is_err());
        assert!(validate_dropout(-0.1).is_err());
        assert!(validate_dropout(0.2).is_ok());
    }

    #[test]
    fn dropout_zero_keeps_all_and_one_drops_all() {
        let spikes = MnistEncoding::default().encode(&[200u8; 50]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(drop_spikes(&spikes, 0.0, &mut rng), spikes);
        assert!(drop_spikes(&spikes, 1.0, &mut rng).is_empty());
    }

    // Binomial oracle: with p = 0.2 over n = 100000 spikes the kept fraction has mean 0.8 and
    // standard deviation sqrt(0.16 / n) ≈ 0.00126; allow five standard deviations.
    #[test]
    fn dropout_keeps_fraction_one_minus_p() {
        let spikes: Vec<InputSpike> = (0..100_000)
            .map(|i| InputSpike {
                time: 0.0,
                source: i,
            })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let kept = drop_spikes(&spikes, 0.2, &mut rng);
        let frac = kept.len() as f64 / spikes.len() as f64;
        assert!((frac - 0.8).abs() < 5.0 * 0.00126, "kept fraction {frac}");
        // Order preserved.
        assert!(kept.windows(2).all(|w| w[0].source < w[1].source));
    }

    #[test]
    fn dropout_is_reproducible_from_the_seed() {
        let spikes = MnistEncoding::default().encode(&[200u8; 100]);
        let a = drop_spikes(&spikes, 0.5, &mut ChaCha8Rng::seed_from_u64(3));
        let b = drop_spikes(&spikes, 0.5, &mut ChaCha8Rng::seed_from_u64(3));
        let c = drop_spikes(&spikes, 0.5, &mut ChaCha8Rng::seed_from_u64(4));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
