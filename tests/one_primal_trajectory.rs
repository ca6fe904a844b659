//! One primal trajectory for every pass: on every model in the repository, `simulate`,
//! `forward_gradient` and the adjoint's forward pass take the same number of steps and find
//! bit-identical event times (and both gradient methods report the same loss to rounding), with
//! both integrators. Guards against sensitivities, loss quadratures or observation times steering
//! the steps, which once let the forward method apply an event that the adjoint did not see
//! (docs/maths.md, "Event semantics").

#[allow(dead_code)]
use crate::oscillator;
#[allow(dead_code)]
use crate::thermostat;

use bouncing_ball::BouncingBall;
use hybrid_core::{
    adjoint_gradient, forward_gradient, simulate, Derivatives, EventRecord, HybridSystem,
    Integrator, Loss, Scalar, SolverOptions,
};
use lif_network::generic::LifNetwork;
use lif_network::{InputSpike, LifParams};

fn bits(events: &[EventRecord]) -> Vec<u64> {
    events.iter().map(|e| e.t.to_bits()).collect()
}

/// The three passes on one problem, with both integrators.
fn assert_one_trajectory<M: Derivatives, L: Loss>(
    name: &str,
    model: &M,
    p: &[f64],
    t_end: f64,
    loss: &L,
) {
    for integrator in [Integrator::Dopri5, Integrator::Dop853] {
        let opts = SolverOptions {
            integrator,
            ..SolverOptions::default()
        };
        let sim = simulate(model, p, 0.0, t_end, &opts).expect(name);
        let fwd = forward_gradient(model, p, 0.0, t_end, loss, &opts).expect(name);
        let adj = adjoint_gradient(model, p, 0.0, t_end, loss, &opts).expect(name);
        assert!(!sim.events.is_empty(), "{name}: the case must have events");
        assert_eq!(
            bits(&fwd.events),
            bits(&sim.events),
            "{name} {integrator:?}: forward"
        );
        assert_eq!(
            bits(&adj.events),
            bits(&sim.events),
            "{name} {integrator:?}: adjoint"
        );
        assert_eq!(
            fwd.stats.accepted, sim.stats.accepted,
            "{name} {integrator:?}: steps"
        );
        assert_eq!(
            adj.stats.accepted, sim.stats.accepted,
            "{name} {integrator:?}: steps"
        );
        // The loss terms are summed in another order by the two methods: equal to rounding.
        let scale = fwd.loss.abs().max(1.0);
        assert!(
            (fwd.loss - adj.loss).abs() <= 1e-14 * scale,
            "{name} {integrator:?}: loss"
        );
    }
}

/// `Σ_i x_i` observed at the given times, with a running `0.1 x_0²`.
struct SumOfStates(Vec<f64>);

impl Loss for SumOfStates {
    fn observation_times(&self) -> &[f64] {
        &self.0
    }
    fn observation<T: Scalar>(&self, _i: usize, x: &[T], _p: &[T]) -> Option<T> {
        Some(x.iter().fold(T::zero(), |a, &v| a + v))
    }
    fn running<T: Scalar>(&self, _t: T, x: &[T], _p: &[T]) -> Option<T> {
        Some(T::cst(0.1) * x[0] * x[0])
    }
}

#[test]
fn bouncing_ball_takes_one_trajectory_in_every_pass() {
    let loss = SumOfStates(vec![0.3, 1.0, 2.0]);
    assert_one_trajectory("ball", &BouncingBall, &[1.0, 0.5, 0.8, 9.81], 2.0, &loss);
}

#[test]
fn thermostat_takes_one_trajectory_in_every_pass() {
    let p = [15.0, 8.0, 0.25, 5.0, 19.0, 21.0];
    let loss = thermostat::ThermostatLoss::new(60.0, [1.0, 0.1, 1.0], 20.0);
    assert_one_trajectory("thermostat", &thermostat::Thermostat, &p, 60.0, &loss);
}

#[test]
fn oscillator_against_a_stop_takes_one_trajectory_in_every_pass() {
    let p = oscillator::params(0.1);
    let t_end = oscillator::end_time(p[3]);
    let loss = oscillator::Endpoint([t_end]);
    assert_one_trajectory(
        "stop oscillator",
        &oscillator::StopOscillator,
        &p,
        t_end,
        &loss,
    );
}

/// A 3-neuron recurrent LIF network driven by 2 inputs, with and without refractoriness.
fn lif(refractory: bool) -> (LifNetwork, Vec<f64>) {
    let input: Vec<InputSpike> = [(0.5, 0), (1.0, 1), (2.0, 0), (3.5, 1), (6.0, 0), (7.0, 1)]
        .iter()
        .map(|&(time, source)| InputSpike { time, source })
        .collect();
    let net = LifNetwork::new(LifParams::default(), vec![true; 3], 2, &input, |_, _| true).unwrap();
    let net = if refractory {
        net.with_refractory(vec![2.0; 3]).unwrap()
    } else {
        net
    };
    let m = net.dims().params;
    let w = (0..m)
        .map(|j| 1.5 + 0.7 * ((j * 7 % 5) as f64 - 2.0))
        .collect();
    (net, w)
}

#[test]
fn lif_network_takes_one_trajectory_in_every_pass() {
    for refractory in [false, true] {
        let (net, w) = lif(refractory);
        let loss = SumOfStates(vec![5.0, 15.0]);
        assert_one_trajectory(
            &format!("lif (refractory {refractory})"),
            &net,
            &w,
            15.0,
            &loss,
        );
    }
}
