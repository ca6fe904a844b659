//! Evaluation of a trained model on a dataset: accuracy, mean loss, spike counts and the
//! confusion matrix, computed in parallel and reduced in example order (deterministic).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::model::{Dataset, Model, SamplePrediction};

/// Scores of a model on a dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Number of examples.
    pub n: usize,
    /// Examples classified correctly.
    pub correct: usize,
    /// `correct / n`.
    pub accuracy: f64,
    /// Mean per-example loss over the examples with a finite loss (`+∞` if none).
    pub mean_loss: f64,
    /// Examples whose loss is `+∞` (first-spike loss: the label neuron never fired).
    pub infinite_loss: usize,
    /// Mean number of network spikes per example.
    pub spikes_per_sample: f64,
    /// Examples for which the network gave no answer (counted as wrong).
    pub no_prediction: usize,
    /// `confusion[label][predicted]`; examples without a prediction are not in it.
    pub confusion: Vec<Vec<usize>>,
}

/// Running sums of per-example results, added in example order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Examples added.
    pub n: usize,
    /// Examples classified correctly.
    pub correct: usize,
    /// Sum of the finite losses.
    pub loss_sum: f64,
    /// Examples with an infinite loss.
    pub infinite_loss: usize,
    /// Network spikes.
    pub spikes: usize,
    /// Examples without a prediction.
    pub no_prediction: usize,
    /// `confusion[label][predicted]`.
    pub confusion: Vec<Vec<usize>>,
}

impl Tally {
    /// Zero sums for `n_classes` classes.
    pub fn new(n_classes: usize) -> Self {
        Self {
            n: 0,
            correct: 0,
            loss_sum: 0.0,
            infinite_loss: 0,
            spikes: 0,
            no_prediction: 0,
            confusion: vec![vec![0; n_classes]; n_classes],
        }
    }

    /// Adds one example's result.
    pub fn add(&mut self, p: &SamplePrediction, label: usize) {
        self.n += 1;
        if p.loss.is_finite() {
            self.loss_sum += p.loss;
        } else {
            self.infinite_loss += 1;
        }
        self.spikes += p.spikes;
        match p.prediction {
            Some(k) => {
                if k == label {
                    self.correct += 1;
                }
                if let Some(cell) = self.confusion[label].get_mut(k) {
                    *cell += 1;
                }
            }
            None => self.no_prediction += 1,
        }
    }

    /// `correct / n`.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.n.max(1) as f64
    }

    /// Mean of the finite losses (`+∞` when every loss is infinite).
    pub fn mean_loss(&self) -> f64 {
        let finite = self.n - self.infinite_loss;
        if finite == 0 && self.n > 0 {
            f64::INFINITY
        } else {
            self.loss_sum / finite.max(1) as f64
        }
    }

    /// Mean spikes per example.
    pub fn spikes_per_sample(&self) -> f64 {
        self.spikes as f64 / self.n.max(1) as f64
    }

    /// The final scores.
    pub fn into_evaluation(self) -> Evaluation {
        Evaluation {
            n: self.n,
            correct: self.correct,
            accuracy: self.accuracy(),
            mean_loss: self.mean_loss(),
            infinite_loss: self.infinite_loss,
            spikes_per_sample: self.spikes_per_sample(),
            no_prediction: self.no_prediction,
            confusion: self.confusion,
        }
    }
}

/// Evaluates `model` on every example of `data` (in parallel; sums in example order, so the
/// result does not depend on the number of threads).
pub fn evaluate<M: Model>(model: &M, data: &Dataset) -> Result<Evaluation> {
    evaluate_with_progress(model, data, &mut |_, _| {})
}

/// Examples scored in parallel between two progress reports.
const PROGRESS_CHUNK: usize = 1024;

/// [`evaluate`], calling `progress(done, n)` after every chunk of examples.
pub fn evaluate_with_progress<M: Model>(
    model: &M,
    data: &Dataset,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Evaluation> {
    let tally = score_until(model, data, progress, &|| false)?;
    Ok(tally
        .unwrap_or_else(|| Tally::new(data.n_classes))
        .into_evaluation())
}

/// [`evaluate_with_progress`] that asks `stop` before every chunk of examples (the first
/// included) and abandons the scoring when it says yes: `Ok(None)`, nothing scored is kept.
pub fn evaluate_until<M: Model>(
    model: &M,
    data: &Dataset,
    progress: &mut dyn FnMut(usize, usize),
    stop: &dyn Fn() -> bool,
) -> Result<Option<Evaluation>> {
    Ok(score_until(model, data, progress, stop)?.map(Tally::into_evaluation))
}

/// The sums of every example of `data` in example order, chunk by chunk; `None` when `stop`
/// says yes before a chunk.
fn score_until<M: Model>(
    model: &M,
    data: &Dataset,
    progress: &mut dyn FnMut(usize, usize),
    stop: &dyn Fn() -> bool,
) -> Result<Option<Tally>> {
    data.validate()?;
    if data.is_empty() {
        return Err(TrainError::InvalidOption {
            name: "dataset size",
            value: "0".into(),
            reason: "evaluation needs at least one example",
        });
    }
    let mut tally = Tally::new(data.n_classes);
    let mut start = 0;
    while start < data.len() {
        if stop() {
            return Ok(None);
        }
        let end = (start + PROGRESS_CHUNK).min(data.len());
        let results: Vec<Result<SamplePrediction>> = (start..end)
            .into_par_iter()
            .map(|i| model.loss_and_prediction(&data.inputs[i], data.labels[i]))
            .collect();
        for (i, r) in (start..end).zip(results) {
            let p = r?;
            if p.loss.is_nan() || p.loss == f64::NEG_INFINITY {
                return Err(TrainError::NonFinite {
                    what: "loss",
                    value: p.loss,
                    sample: i,
                    epoch: None,
                });
            }
            tally.add(&p, data.labels[i]);
        }
        progress(end, data.len());
        start = end;
    }
    Ok(Some(tally))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::InputSpike;
    use crate::model::SampleOutcome;

    /// Predicts the source of the first input spike; its loss is `+∞` for label 2 and
    /// `label + 1` otherwise, so every expected number below is countable by hand.
    struct FirstSource;

    impl Model for FirstSource {
        fn param_lengths(&self) -> Vec<usize> {
            vec![]
        }
        fn params_mut(&mut self) -> Vec<&mut [f64]> {
            vec![]
        }
        fn loss_and_gradient(&self, input: &[InputSpike], label: usize) -> Result<SampleOutcome> {
            Ok(SampleOutcome {
                loss: if label == 2 {
                    f64::INFINITY
                } else {
                    label as f64 + 1.0
                },
                gradient: vec![],
                prediction: input.first().map(|s| s.source as usize),
                spikes: 2 * input.len(),
            })
        }
    }

    fn spike(source: u32) -> Vec<InputSpike> {
        vec![InputSpike { time: 1.0, source }]
    }

    #[test]
    fn counts_accuracy_confusion_and_infinite_losses_by_hand() {
        // (input source, label): correct, correct, wrong (1 → 0), no prediction, label 2 correct.
        let data = Dataset::new(
            vec![spike(0), spike(1), spike(0), vec![], spike(2)],
            vec![0, 1, 1, 0, 2],
            3,
        )
        .unwrap();
        let e = evaluate(&FirstSource, &data).unwrap();
        assert_eq!(
            (e.n, e.correct, e.no_prediction, e.infinite_loss),
            (5, 3, 1, 1)
        );
        assert_eq!(e.accuracy, 0.6);
        // Finite losses 1, 2, 2, 1 → mean 1.5.
        assert_eq!(e.mean_loss, 1.5);
        // Spikes 2 + 2 + 2 + 0 + 2 over 5 examples.
        assert_eq!(e.spikes_per_sample, 1.6);
        assert_eq!(
            e.confusion,
            vec![vec![1, 0, 0], vec![1, 1, 0], vec![0, 0, 1]]
        );
    }

    // A stop request is heeded before every chunk of examples: asked once per chunk, the
    // scoring of 2500 examples (3 chunks) stopped at the second question has reported one
    // chunk and returns nothing; never stopped, it equals `evaluate`.
    #[test]
    fn scoring_is_abandoned_between_chunks_when_asked() {
        let n = 2 * PROGRESS_CHUNK + 452;
        let data = Dataset::new(
            (0..n).map(|i| spike((i % 3) as u32)).collect(),
            (0..n).map(|i| i % 2).collect(),
            3,
        )
        .unwrap();
        let asked = std::cell::Cell::new(0);
        let mut reports = Vec::new();
        let stopped = evaluate_until(
            &FirstSource,
            &data,
            &mut |d, n| reports.push((d, n)),
            &|| {
                asked.set(asked.get() + 1);
                asked.get() == 2
            },
        )
        .unwrap();
        assert_eq!(stopped, None);
        assert_eq!(reports, vec![(PROGRESS_CHUNK, n)]);
        let whole = evaluate_until(&FirstSource, &data, &mut |_, _| {}, &|| false).unwrap();
        assert_eq!(whole, Some(evaluate(&FirstSource, &data).unwrap()));
        assert!(
            evaluate_until(&FirstSource, &data, &mut |_, _| {}, &|| true)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn all_infinite_losses_give_infinite_mean_and_empty_set_is_an_error() {
        let data = Dataset::new(vec![spike(2)], vec![2], 3).unwrap();
        assert_eq!(
            evaluate(&FirstSource, &data).unwrap().mean_loss,
            f64::INFINITY
        );
        let empty = Dataset::new(vec![], vec![], 3).unwrap();
        assert!(matches!(
            evaluate(&FirstSource, &empty),
            Err(TrainError::InvalidOption { .. })
        ));
    }
}
