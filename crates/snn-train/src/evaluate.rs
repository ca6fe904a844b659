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
#[derive(Clone, Debug)]
pub(crate) struct Tally {
    pub n: usize,
    pub correct: usize,
    pub loss_sum: f64,
    pub infinite_loss: usize,
    pub spikes: usize,
    pub no_prediction: usize,
    pub confusion: Vec<Vec<usize>>,
}

impl Tally {
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

    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.n.max(1) as f64
    }

    pub fn mean_loss(&self) -> f64 {
        let finite = self.n - self.infinite_loss;
        if finite == 0 && self.n > 0 {
            f64::INFINITY
        } else {
            self.loss_sum / finite.max(1) as f64
        }
    }

    pub fn spikes_per_sample(&self) -> f64 {
        self.spikes as f64 / self.n.max(1) as f64
    }

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
    if data.is_empty() {
        return Err(TrainError::InvalidOption {
            name: "dataset size",
            value: "0".into(),
            reason: "evaluation needs at least one example",
        });
    }
    let results: Vec<Result<SamplePrediction>> = (0..data.len())
        .into_par_iter()
        .map(|i| model.loss_and_prediction(&data.inputs[i], data.labels[i]))
        .collect();
    let mut tally = Tally::new(data.n_classes);
    for (i, r) in results.into_iter().enumerate() {
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
    Ok(tally.into_evaluation())
}
