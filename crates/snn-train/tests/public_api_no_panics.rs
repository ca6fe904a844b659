//! Inputs a user can build by hand that used to panic inside the crate: a `Dataset` whose public
//! fields disagree (index out of bounds in `evaluate` and `train`), an image index past the end of
//! an MNIST set, and sizes that cannot be allocated (capacity overflow in the Yin-Yang generator,
//! the weight initialiser and Adam). Each must now be a typed `TrainError`.

use snn_train::encoding::InputSpike;
use snn_train::evaluate::evaluate;
use snn_train::init::{normal_weights, WeightInit};
use snn_train::mnist::LabeledImages;
use snn_train::model::{Dataset, Model, SampleOutcome};
use snn_train::optim::{Adam, AdamOptions};
use snn_train::train::{train, TrainOptions};
use snn_train::{yinyang, Result, TrainError};

/// Loss 1 and class 0 for every example; one parameter.
struct Constant(Vec<f64>);

impl Model for Constant {
    fn param_lengths(&self) -> Vec<usize> {
        vec![self.0.len()]
    }
    fn params_mut(&mut self) -> Vec<&mut [f64]> {
        vec![&mut self.0]
    }
    fn loss_and_gradient(&self, _input: &[InputSpike], _label: usize) -> Result<SampleOutcome> {
        Ok(SampleOutcome {
            loss: 1.0,
            gradient: vec![vec![0.0]],
            prediction: Some(0),
            spikes: 0,
        })
    }
}

fn inconsistent_datasets() -> [Dataset; 2] {
    let spikes = vec![InputSpike {
        time: 1.0,
        source: 0,
    }];
    [
        // Two examples, one label.
        Dataset {
            inputs: vec![spikes.clone(), spikes.clone()],
            labels: vec![0],
            n_classes: 2,
        },
        // A label past the classes.
        Dataset {
            inputs: vec![spikes],
            labels: vec![5],
            n_classes: 2,
        },
    ]
}

#[test]
fn evaluate_and_train_refuse_a_hand_built_inconsistent_dataset() {
    let good = Dataset::new(
        vec![vec![InputSpike {
            time: 1.0,
            source: 0,
        }]],
        vec![1],
        2,
    )
    .unwrap();
    for bad in inconsistent_datasets() {
        let mut model = Constant(vec![0.0]);
        let err = evaluate(&model, &bad).unwrap_err();
        assert!(
            matches!(
                err,
                TrainError::ShapeMismatch { .. } | TrainError::InvalidOption { name: "label", .. }
            ),
            "{err:?}"
        );
        let options = TrainOptions::default();
        for (t, v) in [(&bad, &good), (&good, &bad)] {
            let err = train(&mut model, t, v, &options, &mut ()).unwrap_err();
            assert!(
                matches!(
                    err,
                    TrainError::ShapeMismatch { .. }
                        | TrainError::InvalidOption { name: "label", .. }
                ),
                "{err:?}"
            );
        }
    }
    // The consistent set is evaluated: class 0 predicted, label 1, so nothing is correct.
    let eval = evaluate(&Constant(vec![0.0]), &good).unwrap();
    assert_eq!((eval.n, eval.correct), (1, 0));
}

#[test]
fn image_index_past_the_set_is_none_not_a_panic() {
    let set = LabeledImages {
        pixels: vec![7; 784],
        labels: vec![3],
        rows: 28,
        cols: 28,
    };
    assert_eq!(set.image(0).map(|p| p.len()), Some(784));
    assert_eq!(set.image(1), None);
    assert_eq!(set.image(usize::MAX), None);
    assert_eq!(set.slice(0..2), None);
    assert_eq!(set.slice(0..1).map(|s| s.labels), Some(vec![3]));
    // Hand-built sizes: zero-pixel images exist only up to the number of labels, and a size
    // whose pixel count overflows is no image rather than a multiply overflow.
    let empty = LabeledImages {
        pixels: vec![],
        labels: vec![1, 2],
        rows: 0,
        cols: 5,
    };
    assert_eq!(empty.image(1), Some(&[][..]));
    assert_eq!(empty.image(2), None);
    let huge = LabeledImages {
        pixels: vec![0; 4],
        labels: vec![0],
        rows: usize::MAX,
        cols: 2,
    };
    assert_eq!(huge.image(0), None);
    assert_eq!(huge.slice(0..1), None);
}

#[test]
fn sizes_that_cannot_be_allocated_are_typed_errors_not_a_capacity_overflow() {
    let too_large = |r: std::result::Result<_, TrainError>| matches!(r, Err(TrainError::TooLarge { len, .. }) if len == usize::MAX);
    assert!(too_large(yinyang::generate(42, usize::MAX).map(|_| ())));
    let init = WeightInit {
        mean: 0.0,
        std: 1.0,
    };
    assert!(too_large(
        normal_weights(&[init], &[usize::MAX], 0).map(|_| ())
    ));
    assert!(too_large(
        Adam::new(AdamOptions::default(), &[usize::MAX]).map(|_| ())
    ));
    // Ordinary sizes still work.
    assert_eq!(
        yinyang::generate(42, 3).unwrap(),
        yinyang::train_split()[..3]
    );
}
