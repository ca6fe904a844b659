//! Inputs a user can build by hand that used to panic inside the crate, or pass through as a
//! silent NaN: a network with no layer (subtract overflow in `output()`), a loss naming a neuron
//! the network lacks (index out of bounds when the framework evaluated it), sizes whose weight
//! count overflows `usize` (multiply overflow, or an allocation abort), and a NaN or infinite
//! cotangent given to a backward pass (an `Ok` gradient of NaN). Each must now be the typed
//! `LifError` naming the offending numbers.

use lif_network::engine::{Network, NetworkCotangents, NetworkWorkspace, Projection, Source};
use lif_network::eventprop::{
    FeedForwardNet, LayerKind, LifParams, Loss, NeuronProbe, Observe, RecurrentNet,
};
use lif_network::generic::{LifNetwork, SpikeVoltageLoss};
use lif_network::{InputSpike, LifError};

fn empty_net() -> FeedForwardNet {
    FeedForwardNet {
        n_inputs: 2,
        layers: vec![],
        params: LifParams::default(),
        t_end: 20.0,
    }
}

#[test]
fn network_without_layers_has_no_output_layer_error_not_a_panic() {
    let net = empty_net();
    let no_layer = LifError::EmptyLayer { layer: usize::MAX };
    assert_eq!(net.output(), Err(no_layer.clone()));
    for loss in [
        Loss::MaxVoltage { label: 0 },
        Loss::FirstSpike {
            label: 0,
            tau0: 0.5,
            tau1: 6.4,
            alpha: 3e-3,
        },
    ] {
        assert_eq!(loss.validate(&net), Err(no_layer.clone()), "{loss:?}");
        let input = [InputSpike {
            time: 1.0,
            source: 0,
        }];
        assert_eq!(net.loss_value(&input, &loss).unwrap_err(), no_layer);
        assert_eq!(net.predict(&input, &loss).unwrap_err(), no_layer);
    }
}

#[test]
fn spike_voltage_loss_refuses_a_neuron_the_network_lacks() {
    let input = [InputSpike {
        time: 1.0,
        source: 0,
    }];
    let model = LifNetwork::all_to_all(LifParams::default(), 2, 1, &input).unwrap();
    let out_of_range = LifError::NeuronOutOfRange {
        neuron: 99,
        neurons: 2,
    };
    let loss = SpikeVoltageLoss::new(&model);
    assert_eq!(
        loss.clone().voltage(99, 5.0, 1.0),
        Err(out_of_range.clone())
    );
    assert_eq!(
        loss.clone().spike_time(99, 0, 1.0),
        Err(out_of_range.clone())
    );
    assert_eq!(
        loss.clone().all_spikes(99, &[], 1.0),
        Err(out_of_range.clone())
    );
    assert_eq!(model.is_spiking(99), Err(out_of_range));
    assert!(matches!(
        loss.clone().voltage(1, f64::NAN, 1.0),
        Err(LifError::InvalidParameter { name: "time", .. })
    ));
    assert!(matches!(
        loss.clone().spike_time(1, 0, f64::INFINITY),
        Err(LifError::InvalidParameter {
            name: "coefficient",
            ..
        })
    ));
    // The neurons it has are accepted.
    assert!(loss
        .voltage(1, 5.0, 1.0)
        .unwrap()
        .spike_time(0, 0, 1.0)
        .is_ok());
}

#[test]
fn weight_counts_overflowing_usize_are_refused_not_a_panic() {
    let p = LifParams::default();
    let huge = usize::MAX / 2 + 1; // 2 · huge overflows
    assert_eq!(
        FeedForwardNet::new(huge, &[(3, LayerKind::Spiking)], p, 20.0).unwrap_err(),
        LifError::TooLarge {
            what: "layer weights",
            rows: 3,
            cols: huge,
        }
    );
    assert_eq!(
        RecurrentNet::new(huge, 1, p, 20.0).unwrap_err(),
        LifError::TooLarge {
            what: "recurrent weights",
            rows: huge,
            cols: huge,
        }
    );
    // A hand-built layer whose stated sizes overflow is caught by validate().
    let mut net = FeedForwardNet::new(2, &[(2, LayerKind::Spiking)], p, 20.0).unwrap();
    net.n_inputs = huge;
    net.layers[0].n_in = huge;
    assert!(matches!(
        net.validate(),
        Err(LifError::TooLarge {
            what: "layer weights",
            ..
        })
    ));
    assert!(matches!(
        LifNetwork::all_to_all(p, huge, 1, &[]),
        Err(LifError::TooLarge { .. })
    ));
}

#[test]
fn synapse_lookup_outside_the_projection_is_none_not_a_panic() {
    // 2 presynaptic × 3 postsynaptic neurons, all connected.
    let proj = Projection::dense(Source::Input, 0, 2, 3, &[1.0; 6]);
    assert_eq!(proj.synapse(1, 2), Some(5));
    assert_eq!(proj.synapse(2, 0), None);
    assert_eq!(proj.synapse(usize::MAX, 0), None);
    assert_eq!(proj.synapse(0, 7), None);
}

#[test]
fn non_finite_cotangents_are_refused_not_a_silent_nan_gradient() {
    // Two inputs straight into a readout layer: no spike of the network, so nothing downstream of
    // the cotangent would have caught a NaN adjoint (the backward pass returned Ok with NaN).
    let mut net =
        FeedForwardNet::new(2, &[(2, LayerKind::Readout)], LifParams::default(), 20.0).unwrap();
    net.layers[0].weights.fill(1.0);
    let input = [
        InputSpike {
            time: 1.0,
            source: 0,
        },
        InputSpike {
            time: 1.5,
            source: 1,
        },
    ];
    let probes = [NeuronProbe {
        population: 0,
        neuron: 0,
        time: 19.0,
    }];
    let observe = Observe {
        probes: &probes,
        silent_output_maxima: false,
        first_spike_output: false,
    };
    let mut ws = NetworkWorkspace::new();
    net.forward(&input, observe, &mut ws).unwrap();
    let mut grad = net.zero_gradient();
    let mut cot = NetworkCotangents::zeros_for(&ws);
    cot.probes[0] = f64::NAN;
    assert!(matches!(
        net.backward(&mut ws, &cot, &mut grad),
        Err(LifError::NonFiniteCotangent {
            what: "probe cotangent",
            index: 0,
            ..
        })
    ));
    let mut cot = NetworkCotangents::zeros_for(&ws);
    cot.peaks[1] = f64::INFINITY;
    assert_eq!(
        net.backward(&mut ws, &cot, &mut grad),
        Err(LifError::NonFiniteCotangent {
            what: "peak cotangent",
            layer: 0,
            index: 1,
            value: f64::INFINITY,
        })
    );
    // Finite cotangents still give a finite gradient.
    let mut cot = NetworkCotangents::zeros_for(&ws);
    cot.probes[0] = 1.0;
    net.backward(&mut ws, &cot, &mut grad).unwrap();
    assert!(grad.iter().flatten().all(|g| g.is_finite()));

    // The population engine checks the same.
    let engine = Network::from_feed_forward(&net).unwrap();
    let mut ews = NetworkWorkspace::new();
    engine.forward(&input, &[], &mut ews).unwrap();
    let mut ecot = NetworkCotangents::zeros_for(&ews);
    ecot.peaks[0] = f64::NAN;
    let mut egrad = engine.zero_gradient();
    assert!(matches!(
        engine.backward(&mut ews, &ecot, &mut egrad),
        Err(LifError::NonFiniteCotangent {
            what: "peak cotangent",
            index: 0,
            ..
        })
    ));
}
