//! Helpers shared by the unit tests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the system temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `snn-train-<tag>-<pid>-<n>`.
    pub fn new(tag: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("snn-train-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

use crate::encoding::InputSpike;
use crate::model::{Dataset, GradientBuffer, Model, SampleOutcome, SamplePrediction};

/// A model with a closed-form gradient for testing the training loop: softmax regression on the
/// features `x_j = Σ exp(-t/10)` over the spikes of input `j`, loss `-log softmax(Wx)_label`,
/// gradient `(p_k - [k = label]) x_j`. An input spike from source `poison` makes the gradient NaN
/// (in that input's column).
pub struct SoftmaxOnSpikes {
    pub n_inputs: usize,
    pub n_classes: usize,
    pub weights: Vec<f64>,
    pub poison: Option<u32>,
}

impl SoftmaxOnSpikes {
    pub fn new(n_inputs: usize, n_classes: usize) -> Self {
        // Deterministic, non-symmetric start.
        let weights = (0..n_inputs * n_classes)
            .map(|i| 0.1 * ((i * 7 % 5) as f64 - 2.0))
            .collect();
        Self {
            n_inputs,
            n_classes,
            weights,
            poison: None,
        }
    }

    pub fn features(&self, input: &[InputSpike]) -> Vec<f64> {
        let mut x = vec![0.0; self.n_inputs];
        for s in input {
            if let Some(v) = x.get_mut(s.source as usize) {
                *v += (-s.time / 10.0).exp();
            }
        }
        x
    }

    pub fn loss_of(&self, weights: &[f64], input: &[InputSpike], label: usize) -> f64 {
        let x = self.features(input);
        let z: Vec<f64> = (0..self.n_classes)
            .map(|k| {
                (0..self.n_inputs)
                    .map(|j| weights[k * self.n_inputs + j] * x[j])
                    .sum()
            })
            .collect();
        let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let log_sum = z.iter().map(|v| (v - max).exp()).sum::<f64>().ln() + max;
        log_sum - z[label]
    }
}

impl Model for SoftmaxOnSpikes {
    fn param_lengths(&self) -> Vec<usize> {
        vec![self.weights.len()]
    }

    fn params_mut(&mut self) -> Vec<&mut [f64]> {
        vec![self.weights.as_mut_slice()]
    }

    fn loss_and_gradient(
        &self,
        input: &[InputSpike],
        label: usize,
    ) -> crate::Result<SampleOutcome> {
        let x = self.features(input);
        let z: Vec<f64> = (0..self.n_classes)
            .map(|k| {
                (0..self.n_inputs)
                    .map(|j| self.weights[k * self.n_inputs + j] * x[j])
                    .sum()
            })
            .collect();
        let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = z.iter().map(|v| (v - max).exp()).collect();
        let total: f64 = e.iter().sum();
        let mut gradient = vec![0.0; self.weights.len()];
        for k in 0..self.n_classes {
            let p = e[k] / total - if k == label { 1.0 } else { 0.0 };
            for j in 0..self.n_inputs {
                gradient[k * self.n_inputs + j] = p * x[j];
            }
        }
        if let Some(p) = self.poison.filter(|&p| input.iter().any(|s| s.source == p)) {
            gradient[p as usize % self.n_inputs] = f64::NAN;
        }
        let prediction = (0..self.n_classes).max_by(|&a, &b| z[a].total_cmp(&z[b]));
        Ok(SampleOutcome {
            loss: total.ln() + max - z[label],
            gradient: vec![gradient],
            prediction,
            spikes: input.len(),
        })
    }

    /// Column `j` of the gradient is `(p_k - [k = label]) x_j`, zero for an input without a
    /// spike: declares the columns of the inputs that spiked.
    fn gradient_into(
        &self,
        input: &[InputSpike],
        label: usize,
        grad: &mut GradientBuffer,
    ) -> crate::Result<SamplePrediction> {
        let o = self.loss_and_gradient(input, label)?;
        grad.arrays_mut()[0].copy_from_slice(&o.gradient[0]);
        let spiked = input.iter().map(|s| s.source as usize);
        grad.set_columns(0, self.n_inputs, spiked.filter(|&j| j < self.n_inputs));
        Ok(SamplePrediction {
            loss: o.loss,
            prediction: o.prediction,
            spikes: o.spikes,
        })
    }
}

/// [`SoftmaxOnSpikes`] with [`Model::gradient_into`]'s default (the owned gradient, every
/// entry declared), to compare with its declared columns.
pub struct Dense(pub SoftmaxOnSpikes);

impl Model for Dense {
    fn param_lengths(&self) -> Vec<usize> {
        self.0.param_lengths()
    }

    fn params_mut(&mut self) -> Vec<&mut [f64]> {
        self.0.params_mut()
    }

    fn loss_and_gradient(
        &self,
        input: &[InputSpike],
        label: usize,
    ) -> crate::Result<SampleOutcome> {
        self.0.loss_and_gradient(input, label)
    }
}

/// `n` examples of `n_classes` classes: an example of class `c` has one spike on input `c` at a
/// time in [0, 10) and one on input `n_classes` (a shared distractor) at a time in [0, 10).
pub fn separable_dataset(n: usize, n_classes: usize) -> Dataset {
    let mut inputs = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % n_classes;
        let t1 = (i * 37 % 100) as f64 / 10.0;
        let t2 = (i * 53 % 100) as f64 / 10.0;
        let mut spikes = vec![
            InputSpike {
                time: t1,
                source: c as u32,
            },
            InputSpike {
                time: t2,
                source: n_classes as u32,
            },
        ];
        spikes.sort_by(|a, b| a.time.total_cmp(&b.time));
        inputs.push(spikes);
        labels.push(c);
    }
    Dataset::new(inputs, labels, n_classes).unwrap()
}
