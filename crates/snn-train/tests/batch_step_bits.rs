//! The training loop's buffers, sparse sums and vectorised Adam change no bit: weights trained
//! by [`snn_train::train::train`] on 1 and 2 threads are compared with a reference kept here,
//! the minibatch step as it was before (every example's gradient owned and dense, summed in
//! batch order over every entry, scaled, the indexed Adam loop), on Yin-Yang and on an
//! MNIST-like task where most inputs never spike, with input dropout, the quiet-neuron rule,
//! the batch sum and the recurrent network.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use snn_train::config::ExperimentConfig;
use snn_train::datasets::load_splits;
use snn_train::encoding::{drop_spikes, MnistEncoding};
use snn_train::init::WeightInit;
use snn_train::model::{Dataset, Model};
use snn_train::quiet::QuietBump;
use snn_train::snn::SnnClassifier;
use snn_train::train::{epoch_order, train, TrainOptions};

/// The dropout stream of example `i` in `epoch`, as the loop documents it: ChaCha8 keyed by
/// `(seed, purpose 2, epoch, i)`, little-endian words.
fn dropout_rng(seed: u64, epoch: u64, i: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    for (chunk, word) in key.chunks_exact_mut(8).zip([seed, 2, epoch, i]) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

/// Adam's moments and step count, updated by the loop the optimiser had before.
struct OldAdam {
    step: i32,
    m: Vec<Vec<f64>>,
    v: Vec<Vec<f64>>,
}

impl OldAdam {
    fn update(
        &mut self,
        options: &TrainOptions,
        lr: f64,
        params: &mut [&mut [f64]],
        grads: &[Vec<f64>],
    ) {
        self.step = self.step.saturating_add(1);
        let (beta1, beta2, epsilon) =
            (options.adam.beta1, options.adam.beta2, options.adam.epsilon);
        let (correction1, correction2) = if options.adam.fixed_bias_correction {
            (1.0 - beta1, 1.0 - beta2)
        } else {
            (1.0 - beta1.powi(self.step), 1.0 - beta2.powi(self.step))
        };
        for (layer, grad) in grads.iter().enumerate() {
            let theta = &mut *params[layer];
            let (m, v) = (&mut self.m[layer], &mut self.v[layer]);
            for i in 0..grad.len() {
                let g = grad[i];
                m[i] = beta1 * m[i] + (1.0 - beta1) * g;
                v[i] = beta2 * v[i] + (1.0 - beta2) * g * g;
                let m_hat = m[i] / correction1;
                let v_hat = v[i] / correction2;
                theta[i] -= lr * m_hat / (v_hat.sqrt() + epsilon);
            }
        }
    }
}

/// The old training loop, minibatch by minibatch, on one thread.
fn reference_training(model: &mut SnnClassifier, data: &Dataset, options: &TrainOptions) {
    let lengths = model.param_lengths();
    let zeros = || lengths.iter().map(|&n| vec![0.0; n]).collect::<Vec<_>>();
    let mut adam = OldAdam {
        step: 0,
        m: zeros(),
        v: zeros(),
    };
    for epoch in 1..=options.epochs {
        let lr = options.adam.learning_rate(epoch);
        let order = epoch_order(data.len(), options.seed, epoch);
        for batch in order.chunks(options.batch_size) {
            if options.drop_last && batch.len() < options.batch_size {
                continue;
            }
            let mut sum = zeros();
            let mut quiet = Vec::new();
            for &i in batch {
                let mut rng = dropout_rng(options.seed, epoch as u64, i as u64);
                let input = drop_spikes(&data.inputs[i], options.input_dropout, &mut rng);
                let o = model.loss_and_gradient(&input, data.labels[i]).unwrap();
                assert!(o.gradient.iter().flatten().all(|g| g.is_finite()));
                if options.quiet_bump.is_some() {
                    quiet.push(model.quiet_neurons(&input).unwrap().unwrap());
                }
                for (acc, g) in sum.iter_mut().zip(&o.gradient) {
                    for (a, &x) in acc.iter_mut().zip(g) {
                        *a += x;
                    }
                }
            }
            if !options.batch_sum {
                let scale = 1.0 / batch.len() as f64;
                sum.iter_mut().flatten().for_each(|g| *g *= scale);
            }
            let mut params = model.params_mut();
            if let Some(bump) = &options.quiet_bump {
                bump.apply(&bump.shares(&quiet).unwrap(), &mut params)
                    .unwrap();
            }
            adam.update(options, lr, &mut params, &sum);
        }
    }
}

/// Trains a copy of `model` with the crate's loop on `threads` threads and another with the
/// reference, and compares every weight bit for bit; returns how many weights moved.
fn assert_same_bits(model: &SnnClassifier, data: &Dataset, options: &TrainOptions) -> usize {
    let mut reference = model.clone();
    reference_training(&mut reference, data, options);
    let mut expected = reference.clone();
    let expected: Vec<Vec<f64>> = expected.params_mut().iter().map(|p| p.to_vec()).collect();
    let mut initial = model.clone();
    let initial: Vec<Vec<f64>> = initial.params_mut().iter().map(|p| p.to_vec()).collect();
    let validation = Dataset::new(
        data.inputs[..2].to_vec(),
        data.labels[..2].to_vec(),
        data.n_classes,
    )
    .unwrap();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut trained = model.clone();
        pool.install(|| train(&mut trained, data, &validation, options, &mut ()))
            .unwrap();
        let got: Vec<Vec<f64>> = trained.params_mut().iter().map(|p| p.to_vec()).collect();
        for (l, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(g.len(), e.len());
            for (k, (a, b)) in g.iter().zip(e).enumerate() {
                assert_eq!(
                    a.to_bits(),
                    b.to_bits(),
                    "{threads} threads, array {l}, entry {k}: {a} vs {b}"
                );
            }
        }
    }
    expected
        .iter()
        .flatten()
        .zip(initial.iter().flatten())
        .filter(|(a, b)| a != b)
        .count()
}

fn yin_yang(hidden: usize, recurrent: Option<WeightInit>) -> (SnnClassifier, Dataset) {
    let mut config = ExperimentConfig::yin_yang();
    config.hidden = hidden;
    config.init_recurrent = recurrent;
    config.limits.train = Some(48);
    config.limits.validation = Some(1);
    config.limits.test = Some(1);
    let splits = load_splits(&config).unwrap();
    (SnnClassifier::new(&config).unwrap(), splits.train)
}

fn options(batch_size: usize, input_dropout: f64) -> TrainOptions {
    TrainOptions {
        epochs: 2,
        batch_size,
        seed: 3,
        input_dropout,
        ..TrainOptions::default()
    }
}

#[test]
fn yin_yang_training_has_the_bits_of_the_old_batch_step() {
    let (model, data) = yin_yang(30, None);
    let moved = assert_same_bits(&model, &data, &options(10, 0.2));
    assert!(moved > 100, "{moved} weights moved");
    let quiet_and_sum = TrainOptions {
        quiet_bump: Some(QuietBump::default()),
        batch_sum: true,
        drop_last: true,
        ..options(7, 0.1)
    };
    assert_same_bits(&model, &data, &quiet_and_sum);
}

#[test]
fn recurrent_training_has_the_bits_of_the_old_batch_step() {
    let init = WeightInit {
        mean: 0.0,
        std: 0.3,
    };
    let (model, data) = yin_yang(12, Some(init));
    let moved = assert_same_bits(&model, &data, &options(8, 0.2));
    assert!(moved > 100, "{moved} weights moved");
}

/// `n` 28×28 images: each lights about 150 of the 784 pixels (fewer than a fifth), a band
/// that depends on the class plus random pixels, at random intensities.
fn mnist_like(n: usize) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let encoding = MnistEncoding::default();
    let mut inputs = Vec::new();
    let mut labels = Vec::new();
    for k in 0..n {
        let label = k % 10;
        let mut pixels = [0u8; 784];
        for (p, px) in pixels.iter_mut().enumerate() {
            let row = p / 28;
            let lit = (row / 3 == label && rng.gen::<f64>() < 0.8) || rng.gen::<f64>() < 0.1;
            if lit {
                *px = rng.gen_range(2..=255);
            }
        }
        inputs.push(encoding.encode(&pixels));
        labels.push(label);
    }
    Dataset::new(inputs, labels, 10).unwrap()
}

#[test]
fn mnist_like_training_with_silent_inputs_has_the_bits_of_the_old_batch_step() {
    let data = mnist_like(40);
    let spikes: usize = data.inputs.iter().map(Vec::len).sum();
    let mean = spikes as f64 / data.len() as f64;
    assert!(
        (100.0..200.0).contains(&mean),
        "{mean} input spikes per image"
    );
    let mut config = ExperimentConfig::mnist();
    config.hidden = 30;
    let model = SnnClassifier::new(&config).unwrap();
    // Table 3's MNIST options: batch 5, input dropout 0.2.
    let moved = assert_same_bits(&model, &data, &options(5, 0.2));
    // The first layer's weights of inputs that spiked in some example moved.
    assert!(moved > 10_000, "{moved} weights moved");
    let quiet = TrainOptions {
        quiet_bump: Some(QuietBump::default()),
        ..options(6, 0.2)
    };
    assert_same_bits(&model, &data, &quiet);
}
