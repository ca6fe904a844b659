//! A loss of spike times and voltages for the generic path (`docs/maths.md` §"The loss": event-time
//! terms `ψ_j` and observations `φ_i`), linear in both so that the same loss is easy to state on
//! the EventProp side (its cotangents are the coefficients).

use super::LifNetwork;
use crate::LifError;
use hybrid_core::{
    EventPoint, EventRecord, EventSelector, EventTermInputs, Loss, Occurrence, Scalar,
};

/// `L = Σ_j a_j t_j + Σ_i b_i V_{n_i}(s_i)`: weighted spike times (each chosen as "the `k`-th
/// spike of neuron `n`", an [`EventSelector`] of guard `n`) and weighted voltages at fixed times.
///
/// A voltage at a time `s_i` where its neuron spikes is the value after the reset. The loss is
/// built for one network ([`SpikeVoltageLoss::new`]) and refuses neurons it does not have; use it
/// with that network.
#[derive(Clone, Debug, PartialEq)]
pub struct SpikeVoltageLoss {
    neurons: usize,
    selectors: Vec<EventSelector>,
    spike_coefficients: Vec<f64>,
    times: Vec<f64>,
    probes: Vec<(usize, f64)>,
}

impl SpikeVoltageLoss {
    /// The zero loss on the neurons of `net`.
    pub fn new(net: &LifNetwork) -> Self {
        Self {
            neurons: net.neurons(),
            selectors: Vec::new(),
            spike_coefficients: Vec::new(),
            times: Vec::new(),
            probes: Vec::new(),
        }
    }

    /// `NeuronOutOfRange` unless `neuron` is one of the network's, `InvalidParameter` unless
    /// `value` is finite.
    fn check(&self, neuron: usize, name: &'static str, value: f64) -> Result<(), LifError> {
        if neuron >= self.neurons {
            return Err(LifError::NeuronOutOfRange {
                neuron,
                neurons: self.neurons,
            });
        }
        if !value.is_finite() {
            return Err(LifError::InvalidParameter {
                name,
                value,
                requirement: "finite",
            });
        }
        Ok(())
    }

    /// Adds `coefficient · t`, with `t` the `occurrence`-th spike (from 0) of `neuron`.
    pub fn spike_time(
        mut self,
        neuron: usize,
        occurrence: usize,
        coefficient: f64,
    ) -> Result<Self, LifError> {
        self.check(neuron, "coefficient", coefficient)?;
        self.selectors
            .push(EventSelector::nth_of_guard(neuron, occurrence));
        self.spike_coefficients.push(coefficient);
        Ok(self)
    }

    /// Adds `coefficient · t` for every spike of `neuron` among a simulation's `events`.
    pub fn all_spikes(
        mut self,
        neuron: usize,
        events: &[EventRecord],
        coefficient: f64,
    ) -> Result<Self, LifError> {
        self.check(neuron, "coefficient", coefficient)?;
        let count = events.iter().filter(|e| e.guard() == Some(neuron)).count();
        for occurrence in 0..count {
            self = self.spike_time(neuron, occurrence, coefficient)?;
        }
        Ok(self)
    }

    /// Adds `coefficient · V_neuron(time)` (the voltage state is `x[neuron]`, see
    /// [`super::LifNetwork::v_index`]). The time must lie in the simulated span (checked by the
    /// framework when the loss is used).
    pub fn voltage(mut self, neuron: usize, time: f64, coefficient: f64) -> Result<Self, LifError> {
        self.check(neuron, "coefficient", coefficient)?;
        self.check(neuron, "time", time)?;
        // Observation times must be sorted: insert after every earlier-or-equal time.
        let at = self.times.partition_point(|&t| t <= time);
        self.times.insert(at, time);
        self.probes.insert(at, (neuron, coefficient));
        Ok(self)
    }

    /// The voltage terms `(neuron, time, coefficient)`, sorted by time.
    pub fn voltage_terms(&self) -> impl Iterator<Item = (usize, f64, f64)> + '_ {
        self.times
            .iter()
            .zip(&self.probes)
            .map(|(&t, &(n, c))| (n, t, c))
    }

    /// The spike terms `(neuron, occurrence, coefficient)`.
    pub fn spike_terms(&self) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
        self.selectors
            .iter()
            .zip(&self.spike_coefficients)
            .filter_map(|(s, &c)| match s.occurrence {
                Occurrence::Nth(k) => Some((s.guard.unwrap_or(0), k, c)),
                Occurrence::Last | Occurrence::Every => None, // never built here
            })
    }
}

impl Loss for SpikeVoltageLoss {
    fn observation_times(&self) -> &[f64] {
        &self.times
    }

    fn observation<T: Scalar>(&self, i: usize, x: &[T], _p: &[T]) -> Option<T> {
        let (neuron, c) = self.probes[i];
        // A network other than the one the loss was built for: NaN, not a panic.
        Some(x.get(neuron).map_or(T::cst(f64::NAN), |&v| v * T::cst(c)))
    }

    /// A voltage does not depend on the weights directly.
    fn observation_depends_on_parameters(&self, _i: usize) -> bool {
        false
    }

    fn event_selectors(&self) -> &[EventSelector] {
        &self.selectors
    }

    fn event_term<T: Scalar>(&self, j: usize, event: EventPoint<'_, T>, _p: &[T]) -> Option<T> {
        let tau = event.t;
        Some(tau * T::cst(self.spike_coefficients[j]))
    }

    /// A weighted spike time depends on the time alone.
    fn event_term_inputs(&self, _j: usize) -> EventTermInputs {
        EventTermInputs::TIME
    }
}

/// Number of spikes of every neuron (`0..neurons`) among a simulation's event records.
pub fn spike_counts(events: &[EventRecord], neurons: usize) -> Vec<usize> {
    let mut counts = vec![0; neurons];
    for k in events.iter().filter_map(EventRecord::guard) {
        if k < neurons {
            counts[k] += 1;
        }
    }
    counts
}
