//! Refractory periods hundreds to thousands of synaptic time constants long. The backward pass
//! rebuilds the synaptic current at each release `t_w` from the arrivals between the spike and
//! the release; it kept that sum in units of the epoch's exponentials, which overflowed (and
//! returned `NonFiniteIn { what: "adjoint λ_V" }`) for refractory periods beyond about 700 τs,
//! and a release far above the epoch would have been read from coefficients that underflow.
//! Checked against five-point central differences of the forward pass, which has no such
//! bookkeeping, for the release taken lazily (an input touches the neuron inside its refractory
//! window) and at a move of the epoch (nothing touches it for the whole window), up to 1000 τs;
//! beyond, where the differences of spike times near `t_end` drown in the rounding of the times
//! themselves (`ulp(15 s)/step`), against the gradient at 1000 τs: the dynamics after the first
//! spikes are the same, shifted (`e^{-t_ref/τs}` is 0 in `f64` from about 750 τs on).

use crate::generic_common::{central_differences, max_rel_dev};
use lif_network::engine::{
    Network, NetworkCotangents, NetworkWorkspace, Population, Projection, Source,
};
use lif_network::{InputSpike, LifParams};

const FD_STEP: f64 = 1e-4;
const FD_TOL: f64 = 1e-6;
const FLOOR: f64 = 1e-3;

/// Three refractory neurons (Table 3's parameters, `τs = 5 ms`) with recurrent synapses; input
/// 0 makes each fire once near 4 ms, input 1 arrives just before, during and after their
/// releases near `t_ref + 4 ms` (they fire again after the release, at times that depend on the
/// current there), and, if `mid_window`, once in the middle of the refractory periods.
fn network(t_ref: f64, mid_window: bool) -> (Network, Vec<InputSpike>) {
    let params = LifParams::default();
    let pop = Population::new("refractory", 3, params).with_refractory(t_ref);
    let mut net = Network::new(2, vec![pop], t_ref + 40.0);
    let input_syn = [
        (0, 0, 10.0),
        (0, 1, 9.0),
        (0, 2, 8.0),
        (1, 0, 5.0),
        (1, 1, 6.0),
        (1, 2, 4.5),
    ];
    net.projections
        .push(Projection::sparse(Source::Input, 0, 2, &input_syn));
    let recurrent = [(0, 1, 0.3), (1, 2, 0.4), (2, 0, -0.2)];
    net.projections
        .push(Projection::sparse(Source::Population(0), 0, 3, &recurrent));
    let mut input = vec![InputSpike {
        time: 1.0,
        source: 0,
    }];
    for dt in [-2.0, 1.2, 2.9, 9.0, 15.0] {
        input.push(InputSpike {
            time: 1.0 + t_ref + dt,
            source: 1,
        });
    }
    if mid_window {
        input.push(InputSpike {
            time: 0.5 * t_ref,
            source: 1,
        });
    }
    (net, input)
}

/// Loss `Σ c_k t_k` over the spikes (`c_k` alternating 1, -0.5, 2 by neuron).
fn coefficient(neuron: u32) -> f64 {
    [1.0, -0.5, 2.0][neuron as usize]
}

fn loss(net: &Network, input: &[InputSpike], ws: &mut NetworkWorkspace) -> f64 {
    net.forward(input, &[], ws).expect("forward");
    ws.spikes()
        .iter()
        .map(|s| coefficient(s.neuron) * s.time)
        .sum()
}

/// EventProp's gradient (flat, projection by projection) and central differences of the loss.
fn gradients(net: &Network, input: &[InputSpike]) -> (Vec<f64>, Vec<f64>, usize) {
    let mut ws = NetworkWorkspace::new();
    loss(net, input, &mut ws);
    let spikes = ws.spikes().len();
    let mut cot = NetworkCotangents::zeros_for(&ws);
    cot.spike_times = ws.spikes().iter().map(|s| coefficient(s.neuron)).collect();
    let mut grad = net.zero_gradient();
    net.backward(&mut ws, &cot, &mut grad).expect("backward");
    let flat: Vec<f64> = net
        .projections
        .iter()
        .flat_map(|p| p.weights.clone())
        .collect();
    let fd = central_differences(&flat, FD_STEP, |w| {
        let mut moved = net.clone();
        let mut rest = w;
        for p in &mut moved.projections {
            let (head, tail) = rest.split_at(p.weights.len());
            p.weights.copy_from_slice(head);
            rest = tail;
        }
        loss(&moved, input, &mut NetworkWorkspace::new())
    });
    (grad.concat(), fd, spikes)
}

#[test]
fn eventprop_matches_central_differences_for_refractory_periods_up_to_1000_synaptic_time_constants()
{
    let tau_syn = LifParams::default().tau_syn;
    // 2 τs (no move of the epoch), then beyond the old limit of about 700 τs.
    for units in [2.0, 300.0, 700.0, 1000.0] {
        for mid_window in [false, true] {
            let (net, input) = network(units * tau_syn, mid_window);
            let (ep, fd, spikes) = gradients(&net, &input);
            let case = format!("t_ref {units} τs, mid-window input {mid_window}");
            // Each neuron fires before and after its refractory period.
            assert!(spikes >= 6, "{case}: {spikes} spikes");
            let dev = max_rel_dev(&ep, &fd, FLOOR);
            assert!(dev <= FD_TOL, "{case}: deviation {dev:e}\n{ep:?}\n{fd:?}");
            // The release term carries the gradient of the weights into the first spikes.
            assert!(ep[..3].iter().all(|g| g.abs() > 0.1), "{case}: {ep:?}");
        }
    }
}

/// The old failure (`NonFiniteIn { what: "adjoint λ_V" }` from about 700 τs on) is gone up to
/// refractory periods of 10^5 τs (500 s): the backward pass returns the gradient it returns at
/// 1000 τs (checked against central differences above), to 1e-9 relative.
#[test]
fn refractory_periods_beyond_the_old_limit_give_the_gradient_of_a_shorter_one() {
    let tau_syn = LifParams::default().tau_syn;
    let gradient = |units: f64, mid_window: bool| {
        let (net, input) = network(units * tau_syn, mid_window);
        let mut ws = NetworkWorkspace::new();
        loss(&net, &input, &mut ws);
        let mut cot = NetworkCotangents::zeros_for(&ws);
        cot.spike_times = ws.spikes().iter().map(|s| coefficient(s.neuron)).collect();
        let mut grad = net.zero_gradient();
        let result = net.backward(&mut ws, &cot, &mut grad);
        assert!(result.is_ok(), "t_ref {units} τs: {result:?}");
        grad.concat()
    };
    for mid_window in [false, true] {
        let reference = gradient(1000.0, mid_window);
        for units in [3000.0, 1e4, 1e5] {
            let g = gradient(units, mid_window);
            let dev = max_rel_dev(&g, &reference, FLOOR);
            assert!(
                dev <= 1e-9,
                "t_ref {units} τs, mid-window input {mid_window}: {dev:e}\n{g:?}\n{reference:?}"
            );
        }
    }
}
