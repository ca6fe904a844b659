//! The paper code's remedy for quiet neurons, as an option (off by default; not in the paper's
//! text): before every Adam step, when the share of hidden neurons that emitted no spike,
//! averaged over the minibatch's examples, exceeds a threshold, a constant is added to every
//! hidden weight; otherwise, when the share of quiet output neurons exceeds its threshold, the
//! constant is added to every output weight.
//!
//! The published training loop of the paper's code applies this rule with its defaults
//! (increment 5e-3, thresholds 0.3 hidden and 0.0 output, [`QuietBump::default`]) unless a
//! script overrides them; its Yin-Yang script does not. `docs/results.md` measures it.

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
}

impl Default for QuietBump {
    /// The paper code's defaults: increment 5e-3, thresholds 0.3 (hidden) and 0.0 (output).
    fn default() -> Self {
        Self {
            increment: 5e-3,
            hidden_threshold: 0.3,
            output_threshold: 0.0,
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
        for (weight, expected) in [(0.0, 1.0), (10.0, 0.0)] {
            for layer in net.params_mut() {
                layer.iter_mut().for_each(|w| *w = weight);
            }
            assert_eq!(
                net.quiet_shares(&input).unwrap(),
                Some(vec![expected, expected])
            );
        }
    }

    /// Two layers of one weight each, no gradient, a fixed share of quiet neurons per layer.
    struct Quiet {
        weights: [Vec<f64>; 2],
        shares: Vec<f64>,
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
        fn quiet_shares(&self, _input: &[crate::encoding::InputSpike]) -> Result<Option<Vec<f64>>> {
            Ok(Some(self.shares.clone()))
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
        let run = |shares: Vec<f64>, bump: Option<QuietBump>| {
            let mut m = Quiet {
                weights: [vec![1.0], vec![1.0]],
                shares,
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
        assert_eq!(run(vec![0.5, 0.5], bump), [vec![1.5], vec![1.0]]);
        assert_eq!(run(vec![0.0, 0.5], bump), [vec![1.0], vec![1.5]]);
        assert_eq!(run(vec![0.0, 0.0], bump), [vec![1.0], vec![1.0]]);
        assert_eq!(run(vec![0.5, 0.5], None), [vec![1.0], vec![1.0]]);
    }
}
