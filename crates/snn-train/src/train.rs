//! The training loop: minibatch Adam on the batch-mean loss (eqs. (3), (4)), examples of a
//! batch evaluated in parallel and their gradients summed in batch order, so that a seed fixes
//! the result whatever the number of threads.
//!
//! The epoch-by-epoch, resumable driver of this step is [`crate::trainer`]; [`train`] runs it
//! from scratch to the last epoch.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::encoding::{drop_spikes, validate_dropout};
use crate::error::{Result, TrainError};
use crate::gradient::{BatchGradients, GradientBuffer};
use crate::model::{Dataset, Model, SamplePrediction};
use crate::optim::{Adam, AdamOptions};
use crate::quiet::QuietBump;
pub use crate::trainer::{BatchProgress, EpochEnd, Observer, PartialEpoch, TrainState, Trainer};

/// Options of the training loop.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Passes over the training set (Table 3, Yin-Yang: 100).
    pub epochs: usize,
    /// Examples per Adam step (Table 3: 32 Yin-Yang, 5 MNIST); the last batch of an epoch
    /// may be smaller.
    pub batch_size: usize,
    /// Seed of the per-epoch shuffles and of input dropout.
    pub seed: u64,
    /// Optimiser settings (Table 3 defaults).
    pub adam: AdamOptions,
    /// Probability of dropping each input spike during training (Table 3: 0.2 MNIST, 0
    /// Yin-Yang).
    pub input_dropout: f64,
    /// Skip the last minibatch of an epoch when it is smaller than `batch_size` (default: keep
    /// it).
    #[serde(default)]
    pub drop_last: bool,
    /// Step on the sum of the batch's gradients instead of their mean (eq. (3), (4) divide by
    /// the batch size; the paper's code sums). Under Adam this matters only through ε and the
    /// smaller last minibatch.
    #[serde(default)]
    pub batch_sum: bool,
    /// The paper code's quiet-neuron rule ([`QuietBump`]), applied before every Adam step;
    /// `None` (the default): off, as in the paper's text.
    #[serde(default)]
    pub quiet_bump: Option<QuietBump>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 100,
            batch_size: 32,
            seed: 0,
            adam: AdamOptions::default(),
            input_dropout: 0.0,
            drop_last: false,
            batch_sum: false,
            quiet_bump: None,
        }
    }
}

impl TrainOptions {
    /// Checks `batch_size >= 1`, the dropout probability and Adam's options.
    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(TrainError::InvalidOption {
                name: "batch-size",
                value: "0".into(),
                reason: "must be at least 1",
            });
        }
        validate_dropout(self.input_dropout)?;
        if let Some(b) = &self.quiet_bump {
            b.validate()?;
        }
        self.adam.validate()
    }
}

/// Metrics of one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Learning rate used during the epoch.
    pub learning_rate: f64,
    /// Mean training loss, each example scored by the weights of its batch's step (before the
    /// update), as is usual for a running training loss; examples with an infinite loss are left
    /// out of the mean and counted in `train_infinite_loss`.
    pub train_loss: f64,
    /// Fraction of training examples with an infinite loss (label neuron silent).
    pub train_infinite_loss: f64,
    /// Training accuracy, measured the same way.
    pub train_accuracy: f64,
    /// Mean network spikes per training example, as recorded by the training passes (under a
    /// first-spike loss each output neuron counts up to its first spike: the training pass
    /// stops it there, `SampleOutcome::spikes`).
    pub spikes_per_sample: f64,
    /// Fraction of training examples without a network answer.
    pub train_no_prediction: f64,
    /// Mean validation loss after the epoch (finite losses only).
    pub validation_loss: f64,
    /// Fraction of validation examples with an infinite loss after the epoch.
    pub validation_infinite_loss: f64,
    /// Validation accuracy after the epoch.
    pub validation_accuracy: f64,
    /// Test accuracy after the epoch, when the run measures it every epoch (`--test-each-epoch`).
    #[serde(default)]
    pub test_accuracy: Option<f64>,
    /// Wall-clock seconds of the epoch (training pass and validation).
    pub seconds: f64,
}

/// One example's quiet neurons, per layer and neuron ([`Model::quiet_neurons`]).
type QuietNeurons = Vec<Vec<bool>>;

/// Purposes of the random streams derived from the seed.
const STREAM_SHUFFLE: u64 = 1;
const STREAM_DROPOUT: u64 = 2;

/// An independent ChaCha8 stream for `(seed, purpose, epoch, index)`: the 256-bit key is the
/// four numbers, so no two purposes, epochs or examples share a stream.
fn stream_rng(seed: u64, purpose: u64, epoch: u64, index: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    for (chunk, word) in key.chunks_exact_mut(8).zip([seed, purpose, epoch, index]) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

/// The order of the training examples in `epoch`: a shuffle of `0..n` that depends only on
/// the seed and the epoch.
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut stream_rng(seed, STREAM_SHUFFLE, epoch as u64, 0));
    order
}

/// Loss and gradient (into `grad`) of training example `i` in `epoch`, after input dropout, and
/// its quiet neurons when `options` asks for the quiet-neuron rule.
fn training_outcome<M: Model>(
    model: &M,
    data: &Dataset,
    options: &TrainOptions,
    epoch: usize,
    i: usize,
    grad: &mut GradientBuffer,
) -> Result<(SamplePrediction, Option<QuietNeurons>)> {
    let dropped;
    let input = if options.input_dropout > 0.0 {
        let mut rng = stream_rng(options.seed, STREAM_DROPOUT, epoch as u64, i as u64);
        dropped = drop_spikes(&data.inputs[i], options.input_dropout, &mut rng);
        &dropped
    } else {
        &data.inputs[i]
    };
    let outcome = model.gradient_into(input, data.labels[i], grad)?;
    let quiet = match options.quiet_bump {
        Some(_) => Some(model.quiet_neurons(input)?.ok_or(TrainError::InvalidOption {
            name: "quiet-bump",
            value: "on".into(),
            reason: "this network does not report its quiet neurons (not available with --recurrent)",
        })?),
        None => None,
    };
    Ok((outcome, quiet))
}

/// Adds example `sample`'s gradient into `sum` after checking that its loss and gradient are
/// finite (`+∞` is a legitimate loss: a silent label neuron, with a finite gradient; NaN and
/// `-∞` are not) and that it has the shapes of `sum`. The checks, the sum and the clearing of
/// the example's buffer are one pass over the entries the example declared.
fn add_example(
    o: &SamplePrediction,
    grad: &mut GradientBuffer,
    sum: &mut [Vec<f64>],
    lengths: &[usize],
    sample: usize,
    epoch: usize,
) -> Result<()> {
    let bad = |what, value| TrainError::NonFinite {
        what,
        value,
        sample,
        epoch: Some(epoch),
    };
    if o.loss.is_nan() || o.loss == f64::NEG_INFINITY {
        return Err(bad("loss", o.loss));
    }
    if let Err(e) = grad.check_shapes(lengths) {
        // The values are reported before the shapes, as by the dense loop before.
        return Err(grad.any_non_finite().map_or(e, |g| bad("gradient", g)));
    }
    grad.add_into_and_clear(sum).map_err(|g| bad("gradient", g))
}

/// One minibatch step: per-example gradients in parallel (into `buffers`, reused from step to
/// step; on one thread each example is added as soon as it is computed), summed in batch order,
/// averaged, one Adam update. Returns the examples' predictions
/// for the running metrics.
pub(crate) fn batch_step<M: Model>(
    model: &mut M,
    adam: &mut Adam,
    buffers: &mut BatchGradients,
    data: &Dataset,
    options: &TrainOptions,
    epoch: usize,
    batch: &[usize],
) -> Result<Vec<SamplePrediction>> {
    let lengths = model.param_lengths();
    let mut predictions = Vec::with_capacity(batch.len());
    let mut quiet = Vec::new();
    if rayon::current_num_threads() == 1 {
        // One thread: each example is added to the sum right after it is computed, while its
        // buffer is still in cache, in the same order (one buffer serves the whole batch).
        buffers.prepare(&lengths, 1)?;
        buffers.sum_is_zero = false;
        let grad = &mut buffers.examples[0];
        for &i in batch {
            grad.reset(&lengths)?;
            let (o, q) = training_outcome(&*model, data, options, epoch, i, grad)?;
            quiet.extend(q);
            add_example(&o, grad, &mut buffers.sum, &lengths, i, epoch)?;
            predictions.push(o);
        }
    } else {
        buffers.prepare(&lengths, batch.len())?;
        let examples = &mut buffers.examples[..batch.len()];
        let outcomes: Vec<Result<(SamplePrediction, Option<QuietNeurons>)>> = {
            let (model, lengths) = (&*model, &lengths);
            batch
                .par_iter()
                .zip(examples.par_iter_mut())
                .map(|(&i, grad)| {
                    grad.reset(lengths)?;
                    training_outcome(model, data, options, epoch, i, grad)
                })
                .collect()
        };
        buffers.sum_is_zero = false;
        let examples = buffers.examples.iter_mut();
        for ((o, grad), &i) in outcomes.into_iter().zip(examples).zip(batch) {
            let (o, q) = o?;
            quiet.extend(q);
            add_example(&o, grad, &mut buffers.sum, &lengths, i, epoch)?;
            predictions.push(o);
        }
    }
    // The loss of eqs. (3), (4) is the batch mean, so is its gradient.
    let scale = (!options.batch_sum).then(|| 1.0 / batch.len() as f64);
    let mut params = model.params_mut();
    if let Some(bump) = &options.quiet_bump {
        bump.apply(&bump.shares(&quiet)?, &mut params)?;
    }
    adam.update_and_clear(&mut params, &mut buffers.sum, scale)?;
    buffers.sum_is_zero = true;
    Ok(predictions)
}

/// Trains `model` on `train` for `options.epochs` epochs, evaluating on `validation` after each
/// epoch; returns the metrics of every epoch.
pub fn train<M: Model>(
    model: &mut M,
    train: &Dataset,
    validation: &Dataset,
    options: &TrainOptions,
    observer: &mut dyn Observer,
) -> Result<Vec<EpochMetrics>> {
    let mut trainer = Trainer::new(*options, &model.param_lengths())?;
    while trainer.state.epochs_done < options.epochs {
        if let EpochEnd::Finished(m) =
            trainer.run_epoch(model, train, validation, None, observer, &|| false)?
        {
            observer.epoch_finished(&m);
        }
    }
    Ok(trainer.state.history)
}

#[cfg(test)]
mod tests;
