//! Guards against panics, silent NaNs and unhelpful errors on bad input: every misuse must give
//! the typed `LifError` variant carrying the offending numbers.

use lif_network::eventprop::{
    FeedForwardNet, InputSpike, LayerKind, LifParams, Loss, NetworkCotangents, NetworkWorkspace,
    NeuronProbe, Observe, RecurrentGradient, RecurrentNet, RecurrentWorkspace,
};
use lif_network::LifError;

fn net() -> FeedForwardNet {
    let mut net = FeedForwardNet::new(
        2,
        &[(2, LayerKind::Spiking), (2, LayerKind::Readout)],
        LifParams::default(),
        20.0,
    )
    .unwrap();
    net.layers[0].weights.fill(9.0);
    net.layers[1].weights.fill(1.0);
    net
}

fn spike(time: f64, source: u32) -> InputSpike {
    InputSpike { time, source }
}

#[test]
fn bad_input_spikes_are_reported_with_their_position_and_value() {
    let net = net();
    let loss = Loss::MaxVoltage { label: 0 };
    let e = net
        .loss_and_gradient(&[spike(1.0, 0), spike(2.0, 7)], &loss)
        .unwrap_err();
    assert_eq!(
        e,
        LifError::InputSourceOutOfRange {
            index: 1,
            source_index: 7,
            n_inputs: 2
        }
    );
    let e = net.loss_and_gradient(&[spike(-1.0, 0)], &loss).unwrap_err();
    assert_eq!(
        e,
        LifError::InvalidInputTime {
            index: 0,
            time: -1.0
        }
    );
    let e = net
        .loss_and_gradient(&[spike(f64::NAN, 0)], &loss)
        .unwrap_err();
    assert!(matches!(e, LifError::InvalidInputTime { index: 0, time } if time.is_nan()));
}

#[test]
fn unsorted_and_late_input_spikes_are_accepted() {
    let net = net();
    let loss = Loss::MaxVoltage { label: 0 };
    let sorted = net
        .loss_and_gradient(&[spike(1.0, 0), spike(2.0, 1)], &loss)
        .unwrap();
    let unsorted = net
        .loss_and_gradient(&[spike(25.0, 1), spike(2.0, 1), spike(1.0, 0)], &loss)
        .unwrap();
    assert_eq!(
        sorted, unsorted,
        "order does not matter and spikes after t_end are ignored"
    );
}

#[test]
fn non_finite_weights_in_use_are_reported_not_propagated() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut net = net();
        let k = net.layers[0].index(1, 0); // neuron 0 <- input 1
        net.layers[0].weights[k] = bad;
        let e = net
            .loss_and_gradient(&[spike(1.0, 1)], &Loss::MaxVoltage { label: 0 })
            .unwrap_err();
        assert!(
            matches!(
                e,
                LifError::NonFiniteIn {
                    ref population,
                    neuron: 0,
                    ..
                } if population == "layer 0"
            ),
            "{bad}: {e:?}"
        );
    }
}

#[test]
fn losses_check_label_and_output_kind() {
    let net = net();
    let input = [spike(1.0, 0)];
    let e = net
        .loss_and_gradient(&input, &Loss::MaxVoltage { label: 2 })
        .unwrap_err();
    assert_eq!(e, LifError::LabelOutOfRange { label: 2, n_out: 2 });
    let fs = Loss::FirstSpike {
        label: 0,
        tau0: 0.5,
        tau1: 6.4,
        alpha: 3e-3,
    };
    let e = net.loss_and_gradient(&input, &fs).unwrap_err();
    assert_eq!(
        e,
        LifError::LossNeedsOutputKind {
            loss: "FirstSpike",
            needs: LayerKind::Spiking
        }
    );
    assert_eq!(net.predict(&input, &fs).unwrap_err(), e);
    let mut spiking = net.clone();
    spiking.layers[1].kind = LayerKind::Spiking;
    let bad = Loss::FirstSpike {
        label: 0,
        tau0: 0.0,
        tau1: 6.4,
        alpha: 3e-3,
    };
    assert!(matches!(
        spiking.loss_and_gradient(&input, &bad),
        Err(LifError::InvalidParameter {
            name: "tau0",
            value: 0.0,
            ..
        })
    ));
}

#[test]
fn probes_outside_the_network_or_time_span_are_rejected() {
    let net = net();
    let mut ws = NetworkWorkspace::new();
    for (index, p) in [
        NeuronProbe {
            population: 2,
            neuron: 0,
            time: 1.0,
        },
        NeuronProbe {
            population: 1,
            neuron: 2,
            time: 1.0,
        },
        NeuronProbe {
            population: 0,
            neuron: 0,
            time: 20.5,
        },
    ]
    .into_iter()
    .enumerate()
    {
        let probes = [
            NeuronProbe {
                population: 0,
                neuron: 0,
                time: 3.0,
            },
            p,
        ];
        let obs = Observe {
            probes: &probes,
            silent_output_maxima: false,
            first_spike_output: false,
        };
        let e = net.forward(&[spike(1.0, 0)], obs, &mut ws).unwrap_err();
        assert_eq!(
            e,
            LifError::InvalidNeuronProbe {
                index: 1,
                population: p.population,
                neuron: p.neuron,
                time: p.time,
                t_end: 20.0
            },
            "case {index}"
        );
    }
}

#[test]
fn backward_needs_a_matching_forward_and_matching_shapes() {
    let net = net();
    let mut ws = NetworkWorkspace::new();
    let mut grad = net.zero_gradient();
    let e = net
        .backward(&mut ws, &NetworkCotangents::default(), &mut grad)
        .unwrap_err();
    assert_eq!(e, LifError::NoForwardPass);
    net.forward(&[spike(1.0, 0), spike(1.5, 1)], Observe::default(), &mut ws)
        .unwrap();
    let mut cot = NetworkCotangents::zeros_for(&ws);
    cot.spike_times.push(1.0);
    let e = net.backward(&mut ws, &cot, &mut grad).unwrap_err();
    assert!(matches!(
        e,
        LifError::WrongLength {
            what: "spike-time cotangents",
            layer: 0,
            ..
        }
    ));
    let cot = NetworkCotangents::zeros_for(&ws);
    grad[1].pop();
    let e = net.backward(&mut ws, &cot, &mut grad).unwrap_err();
    assert_eq!(
        e,
        LifError::WrongLength {
            what: "gradient",
            layer: 1,
            expected: 4,
            found: 3
        }
    );
}

#[test]
fn runaway_firing_stops_with_too_many_spikes() {
    let mut net = net();
    net.layers[0].weights.fill(1e6);
    let mut ws = NetworkWorkspace::new();
    ws.max_spikes = 50;
    let e = net
        .forward(&[spike(1.0, 0)], Observe::default(), &mut ws)
        .unwrap_err();
    assert!(
        matches!(
            e,
            LifError::SpikeLimit {
                ref population,
                count: 50,
                ..
            } if population == "layer 0"
        ),
        "{e:?}"
    );
}

#[test]
fn recurrent_networks_reject_self_connections_and_excite_runaway_loops_boundedly() {
    let mut rec = RecurrentNet::new(2, 1, LifParams::default(), 20.0).unwrap();
    rec.weights[3] = 0.5; // w[1][1]
    let mut ws = RecurrentWorkspace::default();
    let e = rec.forward(&[spike(1.0, 0)], &[], &mut ws).unwrap_err();
    assert_eq!(
        e,
        LifError::NonZeroDiagonal {
            neuron: 1,
            value: 0.5
        }
    );
    rec.weights = vec![0.0, 50.0, 50.0, 0.0];
    rec.input_weights = vec![50.0, 0.0];
    ws.max_spikes = 200;
    let e = rec.forward(&[spike(1.0, 0)], &[], &mut ws).unwrap_err();
    assert!(
        matches!(e, LifError::SpikeLimit { count: 200, .. }),
        "{e:?}"
    );
    let mut g = RecurrentGradient::default();
    let fresh = RecurrentWorkspace::default();
    assert_eq!(
        rec.backward(&fresh, &[], &[], &mut g).unwrap_err(),
        LifError::NoForwardPass
    );
}

#[test]
fn invalid_network_definitions_are_rejected() {
    let p = LifParams::default();
    let e = FeedForwardNet::new(0, &[(2, LayerKind::Spiking)], p, 1.0).unwrap_err();
    assert_eq!(e, LifError::EmptyLayer { layer: 0 });
    assert_eq!(
        FeedForwardNet::new(2, &[], p, 1.0).unwrap_err(),
        LifError::EmptyLayer { layer: usize::MAX }
    );
    let mut net = net();
    net.layers[0].weights.pop();
    assert_eq!(
        net.loss_and_gradient(&[], &Loss::MaxVoltage { label: 0 })
            .unwrap_err(),
        LifError::WrongLength {
            what: "layer weights",
            layer: 0,
            expected: 4,
            found: 3
        }
    );
}
