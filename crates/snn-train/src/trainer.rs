//! The resumable training loop: a [`Trainer`] holds everything that changes during training
//! apart from the weights (Adam's state and a [`TrainState`]: epochs done, minibatches done in the
//! current epoch, running metrics). The random streams (shuffles, dropout) are pure functions of
//! `(seed, epoch, example)` ([`crate::train::epoch_order`]), so they need no state of their own: a
//! run stopped after any minibatch and restarted from its checkpoint continues bit for bit. A
//! run stopped while an epoch's validation (or test) set is scored keeps the epoch as trained
//! but unscored (every minibatch done, the epoch not complete): the resumed run scores it again.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::evaluate::{evaluate_until, Evaluation, Tally};
use crate::gradient::BatchGradients;
use crate::model::{Dataset, Model};
use crate::optim::{Adam, AdamState};
use crate::train::{batch_step, epoch_order, EpochMetrics, TrainOptions};

/// Where an epoch stands after a minibatch, for progress reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchProgress {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Minibatches done in this epoch.
    pub batch: usize,
    /// Minibatches in the epoch.
    pub n_batches: usize,
    /// Training examples seen so far in this epoch.
    pub samples: usize,
    /// Network spikes emitted by those examples.
    pub spikes: usize,
}

/// Receives progress of the training loop; every method defaults to doing nothing.
pub trait Observer {
    /// An epoch of `n_batches` minibatches starts (or resumes after `done` of them).
    fn epoch_started(&mut self, _epoch: usize, _n_batches: usize, _done: usize) {}
    /// A minibatch step is done.
    fn batch_finished(&mut self, _progress: &BatchProgress) {}
    /// `done` of `n` validation examples are scored.
    fn validation_progress(&mut self, _done: usize, _n: usize) {}
    /// An epoch is done, with its metrics (called by whoever drives [`Trainer::run_epoch`],
    /// after adding what it measures itself, such as the test accuracy).
    fn epoch_finished(&mut self, _metrics: &EpochMetrics) {}
    /// A step of the run outside the loop (loading data, writing files).
    fn message(&mut self, _text: &str) {}
    /// Something the user should know (e.g. a silent network).
    fn warning(&mut self, _text: &str) {}
}

impl Observer for () {}

/// Running metrics of an unfinished epoch, kept in a checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartialEpoch {
    /// Sums over the examples seen so far.
    pub tally: Tally,
    /// Seconds spent in the epoch before the checkpoint.
    pub seconds: f64,
}

/// Where training stands, apart from the weights and Adam's moments.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Completed epochs.
    pub epochs_done: usize,
    /// Minibatches done in epoch `epochs_done + 1` (0 at an epoch boundary; all of them when
    /// the stop came while the epoch was scored).
    pub batches_done: usize,
    /// Running metrics of that epoch when `batches_done > 0`.
    pub partial: Option<PartialEpoch>,
    /// Metrics of the completed epochs.
    pub history: Vec<EpochMetrics>,
    /// Whether the run scores the test set after every epoch (`--test-each-epoch`), kept in the
    /// checkpoint so that a run stopped before its first epoch ended resumes doing so.
    /// Checkpoints written before this field existed read `false` (the run then infers it from
    /// its last epoch's metrics).
    #[serde(default)]
    pub test_each_epoch: bool,
}

/// How an epoch ended.
#[derive(Clone, Debug, PartialEq)]
pub enum EpochEnd {
    /// The epoch is complete, with its metrics.
    Finished(EpochMetrics),
    /// The stop request was seen between two minibatches; the state records the position.
    Interrupted,
    /// The stop request was seen between two chunks of the epoch's scoring (validation, or
    /// test with `test` given): every minibatch is done, the scoring is abandoned, and the
    /// state records the trained but unscored epoch, to be scored again on resume.
    ScoringStopped,
}

/// The minibatches of an epoch, in order: consecutive chunks of `order` (the last one smaller,
/// or dropped with `drop_last`).
fn minibatches<'a>(order: &'a [usize], options: &TrainOptions) -> Vec<&'a [usize]> {
    order
        .chunks(options.batch_size)
        .filter(|b| !options.drop_last || b.len() == options.batch_size)
        .collect()
}

/// The resumable training loop: options, Adam and the [`TrainState`].
#[derive(Clone, Debug)]
pub struct Trainer {
    /// Loop options.
    pub options: TrainOptions,
    /// The optimiser.
    pub adam: Adam,
    /// Position and metrics so far.
    pub state: TrainState,
    /// The minibatch's gradient buffers, reused from one minibatch to the next (scratch space:
    /// not part of a checkpoint, empty in a clone).
    gradients: BatchGradients,
}

impl Trainer {
    /// A fresh run for parameter arrays of the given lengths.
    pub fn new(options: TrainOptions, param_lengths: &[usize]) -> Result<Self> {
        options.validate()?;
        Ok(Self {
            options,
            adam: Adam::new(options.adam, param_lengths)?,
            state: TrainState::default(),
            gradients: BatchGradients::default(),
        })
    }

    /// A run continuing from a checkpoint's Adam state and position.
    pub fn resume(
        options: TrainOptions,
        param_lengths: &[usize],
        adam: AdamState,
        state: TrainState,
    ) -> Result<Self> {
        options.validate()?;
        let mut adam = Adam::restore(options.adam, param_lengths, adam)?;
        adam.start_epoch(state.epochs_done + 1);
        Ok(Self {
            options,
            adam,
            state,
            gradients: BatchGradients::default(),
        })
    }

    /// Trains epoch `state.epochs_done + 1` from minibatch `state.batches_done` on, then scores
    /// the validation set (and `test`, when given: `EpochMetrics::test_accuracy`). `stop` is
    /// asked before every minibatch and every chunk of the scoring; when it says yes the epoch
    /// is left unfinished (the state records where: after a stop during the scoring, every
    /// minibatch done and the epoch's running metrics kept, so that the resumed run scores the
    /// same weights again) and [`EpochEnd::Interrupted`] (or [`EpochEnd::ScoringStopped`]) is
    /// returned.
    pub fn run_epoch<M: Model>(
        &mut self,
        model: &mut M,
        train: &Dataset,
        validation: &Dataset,
        test: Option<&Dataset>,
        observer: &mut dyn Observer,
        stop: &dyn Fn() -> bool,
    ) -> Result<EpochEnd> {
        let options = self.options;
        train.validate()?;
        if train.is_empty() {
            return Err(TrainError::InvalidOption {
                name: "training set size",
                value: "0".into(),
                reason: "training needs at least one example",
            });
        }
        let epoch = self.state.epochs_done + 1;
        let start = Instant::now();
        self.adam.start_epoch(epoch);
        let learning_rate = self.adam.learning_rate();
        let order = epoch_order(train.len(), options.seed, epoch);
        let batches = minibatches(&order, &options);
        if batches.is_empty() {
            return Err(TrainError::InvalidOption {
                name: "batch-size",
                value: options.batch_size.to_string(),
                reason: "with --drop-last must not exceed the training set size",
            });
        }
        let (mut tally, seconds_before) = match self.state.partial.take() {
            Some(p) => (p.tally, p.seconds),
            None => (Tally::new(train.n_classes), 0.0),
        };
        observer.epoch_started(epoch, batches.len(), self.state.batches_done);
        for (b, batch) in batches.iter().enumerate().skip(self.state.batches_done) {
            if stop() {
                self.state.partial = Some(PartialEpoch {
                    tally,
                    seconds: seconds_before + start.elapsed().as_secs_f64(),
                });
                return Ok(EpochEnd::Interrupted);
            }
            let predictions = batch_step(
                model,
                &mut self.adam,
                &mut self.gradients,
                train,
                &options,
                epoch,
                batch,
            )?;
            for (p, &i) in predictions.iter().zip(batch.iter()) {
                tally.add(p, train.labels[i]);
            }
            self.state.batches_done = b + 1;
            observer.batch_finished(&BatchProgress {
                epoch,
                batch: b + 1,
                n_batches: batches.len(),
                samples: tally.n,
                spikes: tally.spikes,
            });
        }
        // A stop during the scoring keeps the trained epoch as a partial one of every minibatch.
        let mut unscored = |tally: Tally| -> Result<EpochEnd> {
            self.state.partial = Some(PartialEpoch {
                tally,
                seconds: seconds_before + start.elapsed().as_secs_f64(),
            });
            Ok(EpochEnd::ScoringStopped)
        };
        let scored = evaluate_until(
            model,
            validation,
            &mut |done, n| observer.validation_progress(done, n),
            stop,
        )?;
        let Some(val): Option<Evaluation> = scored else {
            return unscored(tally);
        };
        let test_accuracy = match test {
            Some(test) => match evaluate_until(model, test, &mut |_, _| {}, stop)? {
                Some(e) => Some(e.accuracy),
                None => return unscored(tally),
            },
            None => None,
        };
        let metrics = EpochMetrics {
            epoch,
            learning_rate,
            train_loss: tally.mean_loss(),
            train_infinite_loss: tally.infinite_loss as f64 / tally.n.max(1) as f64,
            train_accuracy: tally.accuracy(),
            spikes_per_sample: tally.spikes_per_sample(),
            train_no_prediction: tally.no_prediction as f64 / tally.n.max(1) as f64,
            validation_loss: val.mean_loss,
            validation_infinite_loss: val.infinite_loss as f64 / val.n.max(1) as f64,
            validation_accuracy: val.accuracy,
            test_accuracy,
            seconds: seconds_before + start.elapsed().as_secs_f64(),
        };
        self.state.epochs_done = epoch;
        self.state.batches_done = 0;
        self.state.history.push(metrics.clone());
        Ok(EpochEnd::Finished(metrics))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::AdamOptions;
    use crate::test_util::{separable_dataset, SoftmaxOnSpikes};
    use crate::train::train;

    fn resume_options() -> TrainOptions {
        TrainOptions {
            epochs: 4,
            batch_size: 7,
            seed: 5,
            input_dropout: 0.25,
            adam: AdamOptions {
                lr: 0.02,
                ..AdamOptions::default()
            },
            ..TrainOptions::default()
        }
    }

    // Stopping after any minibatch and continuing from (weights, Adam state, TrainState) gives
    // the same weights and metrics bit for bit as an uninterrupted run.
    #[test]
    fn interrupted_and_resumed_training_is_bit_identical() {
        let data = separable_dataset(60, 3);
        let options = resume_options();
        let mut reference = SoftmaxOnSpikes::new(4, 3);
        let full = train(&mut reference, &data, &data, &options, &mut ()).unwrap();

        for stop_after in [3usize, 9, 17, 35] {
            let mut model = SoftmaxOnSpikes::new(4, 3);
            let mut trainer = Trainer::new(options, &model.param_lengths()).unwrap();
            let calls = std::cell::Cell::new(0usize);
            let stop = || {
                calls.set(calls.get() + 1);
                calls.get() > stop_after
            };
            // Stopped between minibatches, or (a question asked before the validation) while
            // scoring.
            while let EpochEnd::Finished(_) = trainer
                .run_epoch(&mut model, &data, &data, None, &mut (), &stop)
                .unwrap()
            {
                assert!(trainer.state.epochs_done < 4);
            }
            // A new process: only the checkpointed values survive.
            let (weights, adam, state) = (
                model.weights.clone(),
                trainer.adam.state(),
                trainer.state.clone(),
            );
            let mut resumed = SoftmaxOnSpikes::new(4, 3);
            resumed.weights = weights;
            let mut trainer =
                Trainer::resume(options, &resumed.param_lengths(), adam, state).unwrap();
            while trainer.state.epochs_done < options.epochs {
                trainer
                    .run_epoch(&mut resumed, &data, &data, None, &mut (), &|| false)
                    .unwrap();
            }
            assert_eq!(
                resumed.weights, reference.weights,
                "stop after {stop_after}"
            );
            for (a, b) in trainer.state.history.iter().zip(&full) {
                assert_eq!(
                    (a.train_loss, a.train_accuracy, a.validation_loss),
                    (b.train_loss, b.train_accuracy, b.validation_loss)
                );
            }
        }
    }

    // A stop while an epoch's validation or test set is scored (asked before every chunk)
    // abandons the scoring and leaves the epoch trained but incomplete; resumed from (weights,
    // Adam state, TrainState), the run scores it again and ends with the weights and metrics of
    // an uninterrupted run, bit for bit. Questions per epoch: 9 minibatches (60 examples in 7s),
    // then one chunk of validation, then one of test.
    #[test]
    fn a_stop_while_scoring_leaves_the_epoch_to_be_scored_again_on_resume() {
        let data = separable_dataset(60, 3);
        let test = separable_dataset(30, 3);
        let options = resume_options();
        let run = |model: &mut SoftmaxOnSpikes, trainer: &mut Trainer, stop: &dyn Fn() -> bool| {
            while trainer.state.epochs_done < options.epochs {
                let end = trainer
                    .run_epoch(model, &data, &data, Some(&test), &mut (), stop)
                    .unwrap();
                if end == EpochEnd::ScoringStopped {
                    return true;
                }
            }
            false
        };
        let mut reference = SoftmaxOnSpikes::new(4, 3);
        let mut full = Trainer::new(options, &reference.param_lengths()).unwrap();
        assert!(!run(&mut reference, &mut full, &|| false));
        assert!(full.state.history.iter().all(|m| m.test_accuracy.is_some()));

        // (stop at question, epochs done, what was being scored)
        for (stop_at, epochs_done, scoring) in [
            (10, 0, "validation"),
            (11, 0, "test"),
            (21, 1, "validation"),
        ] {
            let mut model = SoftmaxOnSpikes::new(4, 3);
            let mut trainer = Trainer::new(options, &model.param_lengths()).unwrap();
            let asked = std::cell::Cell::new(0usize);
            let stop = || {
                asked.set(asked.get() + 1);
                asked.get() == stop_at
            };
            assert!(run(&mut model, &mut trainer, &stop), "{scoring}");
            let state = trainer.state.clone();
            assert_eq!(
                (state.epochs_done, state.batches_done, state.history.len()),
                (epochs_done, 9, epochs_done),
                "stopped in the {scoring} of epoch {}",
                epochs_done + 1
            );
            assert!(state.partial.is_some());
            let mut resumed = SoftmaxOnSpikes::new(4, 3);
            resumed.weights = model.weights.clone();
            let mut trainer = Trainer::resume(
                options,
                &resumed.param_lengths(),
                trainer.adam.state(),
                state,
            )
            .unwrap();
            assert!(!run(&mut resumed, &mut trainer, &|| false));
            assert_eq!(resumed.weights, reference.weights, "{stop_at}");
            for (a, b) in trainer.state.history.iter().zip(&full.state.history) {
                assert_eq!(
                    (a.train_loss, a.validation_loss, a.test_accuracy),
                    (b.train_loss, b.validation_loss, b.test_accuracy)
                );
            }
            assert_eq!(trainer.state.history.len(), options.epochs);
        }
    }

    #[test]
    fn drop_last_skips_the_smaller_minibatch() {
        let order: Vec<usize> = (0..10).collect();
        let keep = TrainOptions {
            batch_size: 4,
            ..TrainOptions::default()
        };
        assert_eq!(minibatches(&order, &keep).len(), 3);
        let drop = TrainOptions {
            drop_last: true,
            ..keep
        };
        let batches = minibatches(&order, &drop);
        assert_eq!(batches, vec![&order[0..4], &order[4..8]]);
    }
}
