//! Every invalid input to the event-driven engine is a typed error that names the population or
//! projection involved, never a panic or a silent NaN: empty populations, out-of-range parameters
//! and refractory periods, malformed projections (missing populations, offsets, targets,
//! self-connections), bad inputs and probes, a backward pass without its forward pass or with
//! mis-sized cotangents, runaway excitation and non-finite weights.

use lif_network::engine::{
    Network, NetworkCotangents, NetworkWorkspace, NeuronProbe, Population, Projection, Source,
};
use lif_network::{InputSpike, LifError, LifParams};

fn two_populations() -> Network {
    let p = LifParams::default();
    let mut net = Network::new(
        1,
        vec![Population::new("exc", 2, p), Population::new("inh", 1, p)],
        20.0,
    );
    net.projections
        .push(Projection::dense(Source::Input, 0, 1, 2, &[10.0, 10.0]));
    net.projections.push(Projection::dense(
        Source::Population(0),
        1,
        2,
        1,
        &[2.0, 2.0],
    ));
    net
}

fn spike(time: f64) -> InputSpike {
    InputSpike { time, source: 0 }
}

#[test]
fn structural_errors_name_the_population_or_projection() {
    let mut net = two_populations();
    net.populations[1].size = 0;
    assert_eq!(
        net.validate(),
        Err(LifError::EmptyPopulation {
            population: "inh".into()
        })
    );
    let mut net = two_populations();
    net.populations[1].refractory = -1.0;
    assert!(matches!(
        net.validate(),
        Err(LifError::InvalidPopulationParameter { ref population, name: "refractory", .. }) if population == "inh"
    ));
    let mut net = two_populations();
    net.populations[0].params.tau_syn = f64::NAN;
    assert!(matches!(
        net.validate(),
        Err(LifError::InvalidPopulationParameter { ref population, name: "tau_syn", .. }) if population == "exc"
    ));
    let mut net = two_populations();
    net.projections[1].target = 7;
    assert!(matches!(
        net.validate(),
        Err(LifError::InvalidProjection { projection: 1, .. })
    ));
    let mut net = two_populations();
    net.projections[1].targets[0] = 5;
    assert!(matches!(
        net.validate(),
        Err(LifError::InvalidProjection { projection: 1, ref target, .. }) if target == "inh"
    ));
    let mut net = two_populations();
    net.projections[0].offsets.pop();
    assert!(matches!(
        net.validate(),
        Err(LifError::InvalidProjection { projection: 0, .. })
    ));
    let mut net = two_populations();
    net.projections.push(Projection::sparse(
        Source::Population(0),
        0,
        2,
        &[(1, 1, 0.5)],
    ));
    assert_eq!(
        net.validate(),
        Err(LifError::SelfConnection {
            population: "exc".into(),
            neuron: 1
        })
    );
    assert!(matches!(
        Network::new(1, vec![], 10.0).validate(),
        Err(LifError::EmptyPopulation { .. })
    ));
}

#[test]
fn bad_inputs_probes_and_cotangents_are_rejected() {
    let net = two_populations();
    let mut ws = NetworkWorkspace::new();
    assert!(matches!(
        net.forward(&[spike(f64::NAN)], &[], &mut ws),
        Err(LifError::InvalidInputTime { index: 0, .. })
    ));
    assert!(matches!(
        net.forward(
            &[InputSpike {
                time: 1.0,
                source: 3
            }],
            &[],
            &mut ws
        ),
        Err(LifError::InputSourceOutOfRange {
            source_index: 3,
            ..
        })
    ));
    let probe = NeuronProbe {
        population: 1,
        neuron: 4,
        time: 1.0,
    };
    assert!(matches!(
        net.forward(&[spike(1.0)], &[probe], &mut ws),
        Err(LifError::InvalidNeuronProbe {
            index: 0,
            population: 1,
            neuron: 4,
            ..
        })
    ));
    let mut grad = net.zero_gradient();
    let fresh = &mut NetworkWorkspace::new();
    assert_eq!(
        net.backward(fresh, &NetworkCotangents::default(), &mut grad),
        Err(LifError::NoForwardPass)
    );
    net.forward(&[spike(1.0)], &[], &mut ws).unwrap();
    assert!(!ws.spikes().is_empty());
    let mut cot = NetworkCotangents::zeros_for(&ws);
    cot.spike_times.push(1.0);
    assert!(matches!(
        net.backward(&mut ws, &cot, &mut grad),
        Err(LifError::WrongLength { .. })
    ));
    let cot = NetworkCotangents::zeros_for(&ws);
    grad[1].pop();
    assert!(matches!(
        net.backward(&mut ws, &cot, &mut grad),
        Err(LifError::WrongLength { .. })
    ));
}

#[test]
fn runaway_excitation_and_non_finite_weights_are_errors_naming_the_population() {
    let p = LifParams::default();
    let mut net = Network::new(1, vec![Population::new("loop", 2, p)], 50.0);
    net.projections
        .push(Projection::dense(Source::Input, 0, 1, 2, &[50.0, 0.0]));
    net.projections.push(Projection::sparse(
        Source::Population(0),
        0,
        2,
        &[(0, 1, 50.0), (1, 0, 50.0)],
    ));
    let mut ws = NetworkWorkspace::new();
    ws.max_spikes = 100;
    assert!(matches!(
        net.forward(&[spike(1.0)], &[], &mut ws),
        Err(LifError::SpikeLimit { ref population, count: 100, .. }) if population == "loop"
    ));
    let mut net = two_populations();
    net.projections[1].weights[0] = f64::NAN;
    let e = net.forward(&[spike(1.0)], &[], &mut NetworkWorkspace::new());
    assert!(
        matches!(e, Err(LifError::NonFiniteIn { ref population, .. }) if population == "inh"),
        "{e:?}"
    );
}
