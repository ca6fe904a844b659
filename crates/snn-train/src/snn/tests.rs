use super::*;
use crate::datasets::load_splits;
use crate::model::Model;

fn small_config() -> ExperimentConfig {
    let mut c = ExperimentConfig::yin_yang();
    c.hidden = 12;
    c.limits.train = Some(20);
    c.limits.validation = Some(1);
    c.limits.test = Some(1);
    c
}

// Central differences of the forward-only loss (an independent path through
// `loss_value`) against the adapter's gradient, for every weight of both layers on samples
// whose output neurons all fire: checks the layer order, the label and the loss wiring.
#[test]
fn adapter_gradient_matches_central_differences_of_its_loss() {
    let config = small_config();
    let splits = load_splits(&config).unwrap();
    let model = SnnClassifier::new(&config).unwrap();
    let mut checked = 0;
    for (input, &label) in splits.train.inputs.iter().zip(&splits.train.labels) {
        let o = model.loss_and_gradient(input, label).unwrap();
        if !o.loss.is_finite() {
            continue;
        }
        for l in 0..2 {
            for i in 0..model.net.layers[l].weights.len() {
                let h = 1e-6;
                let loss_at = |delta: f64| {
                    let mut m = model.clone();
                    m.net.layers[l].weights[i] += delta;
                    m.loss_and_prediction(input, label).unwrap().loss
                };
                let fd = (loss_at(h) - loss_at(-h)) / (2.0 * h);
                let g = o.gradient[l][i];
                assert!(
                    (g - fd).abs() <= 1e-5 * (1.0 + g.abs()),
                    "layer {l} weight {i}: gradient {g}, central difference {fd}"
                );
            }
        }
        checked += 1;
        if checked == 3 {
            break;
        }
    }
    assert_eq!(checked, 3, "too few samples with a finite loss");
}

#[test]
fn saved_weights_round_trip_and_tampered_files_are_rejected() {
    let config = small_config();
    let model = SnnClassifier::new(&config).unwrap();
    let saved = model.to_saved(&config);
    let text = serde_json::to_string(&saved).unwrap();
    let back: SavedNetwork = serde_json::from_str(&text).unwrap();
    let path = std::path::Path::new("w.json");
    let loaded = SnnClassifier::from_saved(&back, path).unwrap();
    assert_eq!(loaded.net, model.net);

    let mut wrong_shape = saved.clone();
    wrong_shape.layers[1].weights.pop();
    assert!(matches!(
        SnnClassifier::from_saved(&wrong_shape, path),
        Err(TrainError::Format { .. })
    ));
    let mut non_finite = saved.clone();
    non_finite.layers[0].weights[3] = f64::NAN;
    let err = SnnClassifier::from_saved(&non_finite, path).unwrap_err();
    assert!(err.to_string().contains("weight 3"), "{err}");
    let mut wrong_kind = saved.clone();
    wrong_kind.layers[1].spiking = false;
    assert!(SnnClassifier::from_saved(&wrong_kind, path).is_err());
    let mut wrong_format = saved;
    wrong_format.format = "v0".into();
    assert!(SnnClassifier::from_saved(&wrong_format, path).is_err());
}

// A label neuron with zero input weights never fires: its loss is +∞; the default keeps
// lif-network's finite-limit gradient (non-zero: it pushes the firing neurons later), the
// skip option zeroes it.
#[test]
fn silent_label_gives_no_gradient_by_default_and_the_limit_on_request() {
    let mut config = small_config();
    if let LossConfig::FirstSpike {
        skip_silent_label, ..
    } = &mut config.loss
    {
        assert!(*skip_silent_label, "no gradient is the default");
        *skip_silent_label = false;
    }
    let splits = load_splits(&config).unwrap();
    let mut model = SnnClassifier::new(&config).unwrap();
    let (label, out) = (1, &mut model.net.layers[1]);
    for pre in 0..out.n_in {
        let k = out.index(pre, label);
        out.weights[k] = 0.0;
    }
    let input = &splits.train.inputs[0];
    let limit = model.loss_and_gradient(input, label).unwrap();
    assert_eq!(limit.loss, f64::INFINITY);
    assert!(limit.gradient.iter().flatten().any(|&g| g != 0.0));

    if let LossConfig::FirstSpike {
        skip_silent_label, ..
    } = &mut config.loss
    {
        *skip_silent_label = true;
    }
    model.loss = config.loss;
    let skipped = model.loss_and_gradient(input, label).unwrap();
    assert_eq!(skipped.loss, f64::INFINITY);
    assert!(skipped.gradient.iter().flatten().all(|&g| g == 0.0));
}

#[test]
fn same_seed_same_initial_weights_drawn_from_table_3() {
    let config = ExperimentConfig::yin_yang();
    let a = SnnClassifier::new(&config).unwrap();
    let b = SnnClassifier::new(&config).unwrap();
    assert_eq!(a.net, b.net);
    let hidden = &a.net.layers[0].weights;
    assert_eq!(hidden.len(), 5 * 200);
    let mean = hidden.iter().sum::<f64>() / hidden.len() as f64;
    // N(1.5, 0.78) over 1000 weights: standard error 0.025; five of them.
    assert!((mean - 1.5).abs() < 0.125, "{mean}");
}
