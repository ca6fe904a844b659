//! The paper code's remedy for quiet neurons, as an option (off by default; not in the paper's
//! text): before every Adam step, when the hidden layer's share of quiet neurons (no spike)
//! exceeds a threshold, a constant is added to every hidden weight; otherwise, when the output
//! layer's share exceeds its threshold, the constant is added to every output weight.
//!
//! The share is measured on the minibatch, either per example and averaged
//! ([`QuietMeasure::Example`], as in the versions of the paper's code whose measure is
//! published) or over the whole minibatch, a neuron counting as quiet when it fires in none of
//! its examples ([`QuietMeasure::Batch`]). Several published versions of that code's training
//! loop apply the rule by default (increment 5e-3, thresholds 0.3 hidden and 0.0 output,
//! [`QuietBump::default`]); others default to no increment. `docs/results.md` measures both
//! measures.

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// The quiet-neuron rule's constants.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuietBump {
    /// Added to every weight of the bumped layer.
    pub increment: f64,
    /// The hidden layer is bumped when its mean share of quiet neurons exceeds this.
    pub hidden_threshold: f64,
    /// Otherwise the output layer is bumped when its mean share of quiet neurons exceeds this.
    pub output_threshold: f64,
    /// How the shares are measured on a minibatch.
    #[serde(default)]
    pub measure: QuietMeasure,
}

/// How a layer's share of quiet neurons is measured on a minibatch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QuietMeasure {
    /// The share of neurons without a spike in each example, averaged over the examples.
    #[default]
    Example,
    /// The share of neurons without a spike in any example of the minibatch.
    Batch,
}

impl Default for QuietBump {
    /// The paper code's defaults: increment 5e-3, thresholds 0.3 (hidden) and 0.0 (output).
    fn default() -> Self {
        Self {
            increment: 5e-3,
            hidden_threshold: 0.3,
            output_threshold: 0.0,
            measure: QuietMeasure::Example,
        }
    }
}

impl QuietBump {
    /// Checks a finite increment and thresholds in `[0, 1]`.
    pub fn validate(&self) -> Result<()> {
        if !self.increment.is_finite() {
            return Err(TrainError::InvalidOption {
                name: "quiet-bump",
                value: self.increment.to_string(),
                reason: "must be finite",
            });
        }
        for (name, value) in [
            ("quiet-hidden-threshold", self.hidden_threshold),
            ("quiet-output-threshold", self.output_threshold),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(TrainError::InvalidOption {
                    name,
                    value: value.to_string(),
                    reason: "must be a share in [0, 1]",
                });
            }
        }
        Ok(())
    }

    /// Each layer's share of quiet neurons on a minibatch, from each example's quiet neurons
    /// (per layer, per neuron), by [`QuietBump::measure`].
    pub fn shares(&self, examples: &[Vec<Vec<bool>>]) -> Result<Vec<f64>> {
        let first = examples.first().ok_or(TrainError::ShapeMismatch {
            what: "examples with quiet-neuron records",
            expected: 1,
            found: 0,
        })?;
        let mut shares = Vec::with_capacity(first.len());
        for (l, neurons) in first.iter().enumerate() {
            let n = neurons.len();
            let mut counts = vec![0usize; n];
            for e in examples {
                let layer = e.get(l).filter(|x| x.len() == n && e.len() == first.len());
                let layer = layer.ok_or(TrainError::ShapeMismatch {
                    what: "quiet-neuron records per layer",
                    expected: n,
                    found: e.get(l).map_or(0, Vec::len),
                })?;
                for (c, &q) in counts.iter_mut().zip(layer) {
                    *c += usize::from(q);
                }
            }
            let quiet = match self.measure {
                QuietMeasure::Example => {
                    counts.iter().sum::<usize>() as f64 / examples.len() as f64
                }
                QuietMeasure::Batch => {
                    counts.iter().filter(|&&c| c == examples.len()).count() as f64
                }
            };
            shares.push(quiet / n.max(1) as f64);
        }
        Ok(shares)
    }

    /// Applies the rule to `params` (hidden layer first, output layer last) given each layer's
    /// share of quiet neurons averaged over the minibatch; returns the bumped layer, if any.
    pub fn apply(&self, quiet: &[f64], params: &mut [&mut [f64]]) -> Result<Option<usize>> {
        if quiet.len() != params.len() || params.is_empty() {
            return Err(TrainError::ShapeMismatch {
                what: "quiet-neuron shares per layer",
                expected: params.len(),
                found: quiet.len(),
            });
        }
        let last = params.len() - 1;
        let layer = if quiet[0] > self.hidden_threshold {
            Some(0)
        } else if quiet[last] > self.output_threshold {
            Some(last)
        } else {
            None
        };
        if let Some(l) = layer {
            params[l].iter_mut().for_each(|w| *w += self.increment);
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(quiet: &[f64]) -> (Option<usize>, Vec<Vec<f64>>) {
        let (mut h, mut o) = (vec![1.0, 2.0], vec![3.0]);
        let bumped = QuietBump::default()
            .apply(quiet, &mut [&mut h, &mut o])
            .unwrap();
        (bumped, vec![h, o])
    }

    // Oracle: the rule as stated in the module documentation, on hand-picked shares.
    #[test]
    fn hidden_first_then_output_and_only_above_the_thresholds() {
        assert_eq!(
            apply(&[0.5, 0.5]),
            (Some(0), vec![vec![1.005, 2.005], vec![3.0]])
        );
        assert_eq!(
            apply(&[0.3, 0.1]),
            (Some(1), vec![vec![1.0, 2.0], vec![3.005]])
        );
        assert_eq!(apply(&[0.3, 0.0]), (None, vec![vec![1.0, 2.0], vec![3.0]]));
    }

    // Oracle: hand counts. Layer 0: neuron 0 quiet in both examples, neuron 1 in one;
    // layer 1: its one neuron quiet in the second example only.
    #[test]
    fn shares_per_example_average_and_per_batch_count_neurons_quiet_throughout() {
        let examples = vec![
            vec![vec![true, true], vec![false]],
            vec![vec![true, false], vec![true]],
        ];
        let by = |measure| {
            QuietBump {
                measure,
                ..QuietBump::default()
            }
            .shares(&examples)
            .unwrap()
        };
        assert_eq!(by(QuietMeasure::Example), vec![0.75, 0.5]);
        assert_eq!(by(QuietMeasure::Batch), vec![0.5, 0.0]);
        let ragged = vec![vec![vec![true, true]], vec![vec![true]]];
        assert!(QuietBump::default().shares(&ragged).is_err());
        assert!(QuietBump::default().shares(&[]).is_err());
    }

    #[test]
    fn shares_must_match_the_layers_and_options_be_valid() {
        let mut h = vec![0.0];
        assert!(matches!(
            QuietBump::default().apply(&[0.5], &mut [&mut h, &mut [0.0]]),
            Err(TrainError::ShapeMismatch { .. })
        ));
        let bad = |b: QuietBump| b.validate().is_err();
        let d = QuietBump::default();
        assert!(!bad(d));
        assert!(bad(QuietBump {
            increment: f64::NAN,
            ..d
        }));
        assert!(bad(QuietBump {
            hidden_threshold: 1.5,
            ..d
        }));
        assert!(bad(QuietBump {
            output_threshold: -0.1,
            ..d
        }));
    }

    // Oracle: physics. Without weights no neuron can reach the threshold (all quiet); with
    // weights far above threshold every neuron receiving an input spike fires (none quiet).
    #[test]
    fn the_network_counts_quiet_neurons_per_layer() {
        use crate::config::ExperimentConfig;
        use crate::encoding::InputSpike;
        use crate::model::Model;
        use crate::snn::SnnClassifier;
        let mut config = ExperimentConfig::yin_yang();
        config.hidden = 12;
        let mut net = SnnClassifier::new(&config).unwrap();
        let input: Vec<InputSpike> = (0..5)
            .map(|k| InputSpike {
                time: k as f64,
                source: k,
            })
            .collect();
        for (weight, expected) in [(0.0, true), (10.0, false)] {
            for layer in net.params_mut() {
                layer.iter_mut().for_each(|w| *w = weight);
            }
            let quiet = net.quiet_neurons(&input).unwrap().unwrap();
            assert_eq!(quiet.iter().map(Vec::len).collect::<Vec<_>>(), [12, 3]);
            assert!(quiet.iter().flatten().all(|&q| q == expected));
        }
    }

    /// Two layers of one weight each, no gradient, the same quiet neurons in every example.
    struct Quiet {
        weights: [Vec<f64>; 2],
        quiet: Vec<Vec<bool>>,
    }

    impl crate::model::Model for Quiet {
        fn param_lengths(&self) -> Vec<usize> {
            vec![1, 1]
        }
        fn params_mut(&mut self) -> Vec<&mut [f64]> {
            let [h, o] = &mut self.weights;
            vec![h, o]
        }
        fn loss_and_gradient(
            &self,
            _input: &[crate::encoding::InputSpike],
            _label: usize,
        ) -> Result<crate::model::SampleOutcome> {
            Ok(crate::model::SampleOutcome {
                loss: 1.0,
                gradient: vec![vec![0.0], vec![0.0]],
                prediction: Some(0),
                spikes: 0,
            })
        }
        fn quiet_neurons(
            &self,
            _input: &[crate::encoding::InputSpike],
        ) -> Result<Option<Vec<Vec<bool>>>> {
            Ok(Some(self.quiet.clone()))
        }
    }

    // Oracle: with a zero gradient Adam does not move a weight (m = 0), so after one epoch of
    // two minibatches a bumped layer has moved by exactly two increments and the other not at
    // all; without the option nothing moves.
    #[test]
    fn the_training_loop_bumps_before_every_step_only_when_asked() {
        use crate::model::Dataset;
        use crate::train::{train, TrainOptions};
        let data = Dataset::new(vec![vec![]; 4], vec![0; 4], 1).unwrap();
        let run = |quiet: [bool; 2], bump: Option<QuietBump>| {
            let mut m = Quiet {
                weights: [vec![1.0], vec![1.0]],
                quiet: vec![vec![quiet[0]], vec![quiet[1]]],
            };
            let options = TrainOptions {
                epochs: 1,
                batch_size: 2,
                quiet_bump: bump,
                ..TrainOptions::default()
            };
            train(&mut m, &data, &data, &options, &mut ()).unwrap();
            m.weights
        };
        let bump = Some(QuietBump {
            increment: 0.25,
            ..QuietBump::default()
        });
        assert_eq!(run([true, true], bump), [vec![1.5], vec![1.0]]);
        assert_eq!(run([false, true], bump), [vec![1.0], vec![1.5]]);
        assert_eq!(run([false, false], bump), [vec![1.0], vec![1.0]]);
        assert_eq!(run([true, true], None), [vec![1.0], vec![1.0]]);
    }
}
