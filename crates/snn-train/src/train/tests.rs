use super::*;
use crate::evaluate::evaluate;
use crate::test_util::{separable_dataset, Dense, SoftmaxOnSpikes};

// The fixture's closed-form gradient against central differences, so that the loop tests
// below rest on a correct gradient.
#[test]
fn fixture_gradient_matches_central_differences() {
    let model = SoftmaxOnSpikes::new(4, 3);
    let data = separable_dataset(5, 3);
    for (input, &label) in data.inputs.iter().zip(&data.labels) {
        let g = &model.loss_and_gradient(input, label).unwrap().gradient[0];
        for i in 0..model.weights.len() {
            let h = 1e-6;
            let (mut wp, mut wm) = (model.weights.clone(), model.weights.clone());
            wp[i] += h;
            wm[i] -= h;
            let fd =
                (model.loss_of(&wp, input, label) - model.loss_of(&wm, input, label)) / (2.0 * h);
            assert!((g[i] - fd).abs() < 1e-8, "weight {i}: {} vs {fd}", g[i]);
        }
    }
}

// With one full batch, one epoch makes exactly one Adam step, whose first update is
// -η·sign(mean gradient) (up to ε): this proves the loop averages the per-example gradients
// and applies them with the right sign.
#[test]
fn full_batch_epoch_is_one_adam_step_on_mean_gradient() {
    let data = separable_dataset(12, 3);
    let mut model = SoftmaxOnSpikes::new(4, 3);
    let w0 = model.weights.clone();
    let mut mean = vec![0.0; w0.len()];
    for (input, &label) in data.inputs.iter().zip(&data.labels) {
        let g = &model.loss_and_gradient(input, label).unwrap().gradient[0];
        for (m, x) in mean.iter_mut().zip(g) {
            *m += x / data.len() as f64;
        }
    }
    let options = TrainOptions {
        epochs: 1,
        batch_size: 12,
        adam: AdamOptions {
            lr: 0.01,
            ..AdamOptions::default()
        },
        ..TrainOptions::default()
    };
    train(&mut model, &data, &data, &options, &mut ()).unwrap();
    for i in 0..w0.len() {
        let expected = if mean[i].abs() < 1e-12 {
            w0[i]
        } else {
            w0[i] - 0.01 * mean[i].signum()
        };
        assert!((model.weights[i] - expected).abs() < 1e-6, "weight {i}");
    }
}

fn run_on_threads(threads: usize) -> (Vec<f64>, Vec<EpochMetrics>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let data = separable_dataset(100, 3);
        let mut model = SoftmaxOnSpikes::new(4, 3);
        let options = TrainOptions {
            epochs: 3,
            batch_size: 7,
            seed: 11,
            input_dropout: 0.3,
            ..TrainOptions::default()
        };
        let history = train(&mut model, &data, &data, &options, &mut ()).unwrap();
        (model.weights, history)
    })
}

// The fixture declares the columns of the inputs that spiked: training on those alone has
// the bits of training on the dense owned gradients (the default), on 1 and 2 threads.
#[test]
fn declared_columns_train_to_the_bits_of_the_dense_gradients() {
    let data = separable_dataset(60, 3);
    let options = TrainOptions {
        epochs: 2,
        batch_size: 7,
        seed: 4,
        input_dropout: 0.4,
        ..TrainOptions::default()
    };
    let mut dense = Dense(SoftmaxOnSpikes::new(5, 3));
    train(&mut dense, &data, &data, &options, &mut ()).unwrap();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut sparse = SoftmaxOnSpikes::new(5, 3);
        pool.install(|| train(&mut sparse, &data, &data, &options, &mut ()))
            .unwrap();
        let bits = |w: &[f64]| w.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&sparse.weights), bits(&dense.0.weights), "{threads}");
        // Input 4 never spikes: its column did not move.
        assert_eq!(sparse.weights[4], SoftmaxOnSpikes::new(5, 3).weights[4]);
    }
}

#[test]
fn same_seed_gives_identical_training_on_one_and_two_threads() {
    let (w1, h1) = run_on_threads(1);
    let (w2, h2) = run_on_threads(2);
    assert_eq!(w1, w2);
    for (a, b) in h1.iter().zip(&h2) {
        assert_eq!(a.train_loss, b.train_loss);
        assert_eq!(a.validation_accuracy, b.validation_accuracy);
    }
}

#[test]
fn training_lowers_loss_and_learns_separable_classes() {
    let data = separable_dataset(90, 3);
    let mut model = SoftmaxOnSpikes::new(4, 3);
    let options = TrainOptions {
        epochs: 20,
        batch_size: 10,
        adam: AdamOptions {
            lr: 0.05,
            ..AdamOptions::default()
        },
        ..TrainOptions::default()
    };
    let before = evaluate(&model, &data).unwrap();
    let history = train(&mut model, &data, &data, &options, &mut ()).unwrap();
    let last = history.last().unwrap();
    assert!(last.validation_loss < 0.5 * before.mean_loss);
    assert_eq!(last.validation_accuracy, 1.0);
    assert_eq!(history.len(), 20);
    // The paper's schedule: epochs 1 and 2 at η, then ×0.95 per epoch.
    assert_eq!(history[1].learning_rate, 0.05);
    assert!((history[2].learning_rate - 0.05 * 0.95).abs() < 1e-15);
}

// Adam's first step is -η g/(|g| + ε): with ε of the order of the gradient it shows whether
// the step was taken on the batch mean or on the batch sum (closed form per weight).
#[test]
fn batch_sum_steps_on_the_sum_of_the_gradients() {
    let data = separable_dataset(12, 3);
    let model = SoftmaxOnSpikes::new(4, 3);
    let mut sum = vec![0.0; model.weights.len()];
    for (input, &label) in data.inputs.iter().zip(&data.labels) {
        let g = &model.loss_and_gradient(input, label).unwrap().gradient[0];
        for (s, x) in sum.iter_mut().zip(g) {
            *s += x;
        }
    }
    let eps = 1e-2;
    let options = |batch_sum| TrainOptions {
        epochs: 1,
        batch_size: 12,
        batch_sum,
        adam: AdamOptions {
            lr: 1e-3,
            epsilon: eps,
            ..AdamOptions::default()
        },
        ..TrainOptions::default()
    };
    for batch_sum in [false, true] {
        let mut m = SoftmaxOnSpikes::new(4, 3);
        train(&mut m, &data, &data, &options(batch_sum), &mut ()).unwrap();
        for i in 0..sum.len() {
            let g = if batch_sum { sum[i] } else { sum[i] / 12.0 };
            let expected = model.weights[i] - 1e-3 * g / (g.abs() + eps);
            assert!(
                (m.weights[i] - expected).abs() < 1e-12,
                "batch_sum {batch_sum}, weight {i}: {} vs {expected}",
                m.weights[i]
            );
        }
    }
}

#[test]
fn epoch_order_is_a_seeded_permutation() {
    let a = epoch_order(50, 3, 1);
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..50).collect::<Vec<_>>());
    assert_eq!(a, epoch_order(50, 3, 1));
    assert_ne!(a, epoch_order(50, 3, 2));
    assert_ne!(a, epoch_order(50, 4, 1));
}

#[test]
fn invalid_options_and_empty_set_are_rejected() {
    let data = separable_dataset(6, 3);
    let mut model = SoftmaxOnSpikes::new(4, 3);
    let zero_batch = TrainOptions {
        batch_size: 0,
        ..TrainOptions::default()
    };
    assert!(matches!(
        train(&mut model, &data, &data, &zero_batch, &mut ()),
        Err(TrainError::InvalidOption {
            name: "batch-size",
            ..
        })
    ));
    let negative_lr = TrainOptions {
        adam: AdamOptions {
            lr: -1.0,
            ..AdamOptions::default()
        },
        ..TrainOptions::default()
    };
    assert!(matches!(
        train(&mut model, &data, &data, &negative_lr, &mut ()),
        Err(TrainError::InvalidOption { name: "lr", .. })
    ));
    let empty = Dataset::new(vec![], vec![], 3).unwrap();
    assert!(train(&mut model, &empty, &data, &TrainOptions::default(), &mut ()).is_err());
}

#[test]
fn non_finite_gradient_is_reported_with_its_example() {
    let data = separable_dataset(6, 3);
    let mut model = SoftmaxOnSpikes::new(4, 3);
    // Examples of class 1 spike on input 1.
    model.poison = Some(1);
    let options = TrainOptions {
        epochs: 1,
        batch_size: 6,
        ..TrainOptions::default()
    };
    // One thread adds each example as it is computed, two compute the batch first.
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        match pool.install(|| train(&mut model, &data, &data, &options, &mut ())) {
            Err(TrainError::NonFinite {
                what: "gradient",
                sample,
                epoch: Some(1),
                ..
            }) => assert_eq!(data.labels[sample], 1, "{threads} threads"),
            other => panic!("expected NonFinite, got {other:?}"),
        }
    }
}
