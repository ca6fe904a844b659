//! What the training loop needs from a network, and encoded datasets.
//!
//! The loop ([`crate::train`]) is written against the [`Model`] trait so that it can be checked
//! on a model with a closed-form gradient; [`crate::snn::SnnClassifier`] implements it for the
//! EventProp networks of `lif-network`.

use crate::encoding::InputSpike;
use crate::error::{Result, TrainError};
pub use crate::gradient::GradientBuffer;

/// Loss, gradient and diagnostics of one example.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleOutcome {
    /// The example's loss (one term of the batch mean of eq. (3) or (4)); `+∞` is allowed (the
    /// first-spike loss of a silent label neuron), NaN is an error.
    pub loss: f64,
    /// `∂loss/∂θ`, one array per parameter array, in the layout of [`Model::params_mut`].
    pub gradient: Vec<Vec<f64>>,
    /// Predicted class; `None` when the network gives no answer (no output spike).
    pub prediction: Option<usize>,
    /// Number of spikes the network emitted (input spikes excluded), as recorded by the pass: a
    /// training pass under a first-spike loss stops each output neuron at its first spike (the
    /// same loss and gradient), so its later output spikes are not counted.
    pub spikes: usize,
}

/// Prediction of one example with its loss, without gradient.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplePrediction {
    /// The example's loss (`+∞` allowed, as in [`SampleOutcome`]).
    pub loss: f64,
    /// Predicted class, `None` when the network gives no answer.
    pub prediction: Option<usize>,
    /// Number of spikes the network emitted.
    pub spikes: usize,
}

/// A classifier trained by gradient descent on per-example losses.
///
/// `Sync` because examples of a minibatch are evaluated in parallel.
pub trait Model: Sync {
    /// Lengths of the parameter arrays (one per layer).
    fn param_lengths(&self) -> Vec<usize>;
    /// The parameter arrays, in the order of [`Model::param_lengths`].
    fn params_mut(&mut self) -> Vec<&mut [f64]>;
    /// Loss and gradient of one example.
    fn loss_and_gradient(&self, input: &[InputSpike], label: usize) -> Result<SampleOutcome>;
    /// Loss and gradient of one example, the gradient written into `grad`, which arrives with
    /// arrays of the lengths of [`Model::param_lengths`], every entry `0.0`. The training loop
    /// calls this (not [`Model::loss_and_gradient`]) and reuses the buffer, so a model that
    /// writes into it allocates nothing of the size of its parameters; a model that can tell
    /// which rows or columns of an array may be non-zero declares them with
    /// [`GradientBuffer::set_rows`] or [`GradientBuffer::set_columns`], and the loop then sums,
    /// checks and clears only those.
    /// The result must be the bits of [`Model::loss_and_gradient`]'s. By default: that method,
    /// its gradient handed over with [`GradientBuffer::replace`].
    fn gradient_into(
        &self,
        input: &[InputSpike],
        label: usize,
        grad: &mut GradientBuffer,
    ) -> Result<SamplePrediction> {
        let o = self.loss_and_gradient(input, label)?;
        grad.replace(o.gradient);
        Ok(SamplePrediction {
            loss: o.loss,
            prediction: o.prediction,
            spikes: o.spikes,
        })
    }
    /// For each parameter layer, which neurons stayed quiet (no spike) in this example, for
    /// [`crate::quiet::QuietBump`]; `None` (the default) when the model cannot tell.
    fn quiet_neurons(&self, _input: &[InputSpike]) -> Result<Option<Vec<Vec<bool>>>> {
        Ok(None)
    }
    /// Loss and prediction of one example; by default through
    /// [`Model::loss_and_gradient`], discarding the gradient.
    fn loss_and_prediction(&self, input: &[InputSpike], label: usize) -> Result<SamplePrediction> {
        let o = self.loss_and_gradient(input, label)?;
        Ok(SamplePrediction {
            loss: o.loss,
            prediction: o.prediction,
            spikes: o.spikes,
        })
    }
}

/// Examples already encoded as input spikes, with their labels.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    /// Input spikes of each example, sorted by time.
    pub inputs: Vec<Vec<InputSpike>>,
    /// Class of each example.
    pub labels: Vec<usize>,
    /// Number of classes.
    pub n_classes: usize,
}

impl Dataset {
    /// Builds a dataset, checking one label per input and every label below `n_classes`.
    pub fn new(inputs: Vec<Vec<InputSpike>>, labels: Vec<usize>, n_classes: usize) -> Result<Self> {
        let data = Self {
            inputs,
            labels,
            n_classes,
        };
        data.validate()?;
        Ok(data)
    }

    /// Checks one label per input and every label below `n_classes` (the fields are public, so
    /// [`crate::evaluate::evaluate`] and [`crate::train::train`] check again).
    pub fn validate(&self) -> Result<()> {
        if self.inputs.len() != self.labels.len() {
            return Err(TrainError::ShapeMismatch {
                what: "labels per example",
                expected: self.inputs.len(),
                found: self.labels.len(),
            });
        }
        if let Some(&bad) = self.labels.iter().find(|&&l| l >= self.n_classes) {
            return Err(TrainError::InvalidOption {
                name: "label",
                value: bad.to_string(),
                reason: "must be below the number of classes",
            });
        }
        Ok(())
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no example.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The first `n` examples (all when `n >= len`).
    pub fn truncated(mut self, n: usize) -> Self {
        self.inputs.truncate(n);
        self.labels.truncate(n);
        self
    }
}
