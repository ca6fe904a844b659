//! A loss of spike times and voltages for the generic path (hybrid-sensitivity.md §1: event-time
//! terms `ψ_j` and observations `φ_i`), linear in both so that the same loss is easy to state on
//! the EventProp side (its cotangents are the coefficients).

use hybrid_core::{EventRecord, EventSelector, Loss, Scalar};

/// `L = Σ_j a_j t_j + Σ_i b_i V_{n_i}(s_i)`: weighted spike times (each chosen as "the `k`-th
/// spike of neuron `n`", an [`EventSelector`] of guard `n`) and weighted voltages at fixed times.
///
/// A voltage at a time `s_i` where its neuron spikes is the value after the reset.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpikeVoltageLoss {
    selectors: Vec<EventSelector>,
    spike_coefficients: Vec<f64>,
    times: Vec<f64>,
    probes: Vec<(usize, f64)>,
}

impl SpikeVoltageLoss {
    /// The zero loss.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `coefficient · t`, with `t` the `occurrence`-th spike (from 0) of `neuron`.
    pub fn spike_time(mut self, neuron: usize, occurrence: usize, coefficient: f64) -> Self {
        self.selectors
            .push(EventSelector::nth_of_guard(neuron, occurrence));
        self.spike_coefficients.push(coefficient);
        self
    }

    /// Adds `coefficient · t` for every spike of `neuron` among a simulation's `events`.
    pub fn all_spikes(mut self, neuron: usize, events: &[EventRecord], coefficient: f64) -> Self {
        let count = events.iter().filter(|e| e.guard() == Some(neuron)).count();
        for occurrence in 0..count {
            self = self.spike_time(neuron, occurrence, coefficient);
        }
        self
    }

    /// Adds `coefficient · V_neuron(time)` (the voltage state is `x[neuron]`, see
    /// [`super::LifNetwork::v_index`]).
    pub fn voltage(mut self, neuron: usize, time: f64, coefficient: f64) -> Self {
        // Observation times must be sorted: insert after every earlier-or-equal time.
        let at = self.times.partition_point(|&t| t <= time);
        self.times.insert(at, time);
        self.probes.insert(at, (neuron, coefficient));
        self
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
            .map(|(s, &c)| (s.guard.unwrap_or(0), s.occurrence, c))
    }
}

impl Loss for SpikeVoltageLoss {
    fn observation_times(&self) -> &[f64] {
        &self.times
    }

    fn observation<T: Scalar>(&self, i: usize, x: &[T], _p: &[T]) -> T {
        let (neuron, c) = self.probes[i];
        x[neuron] * T::cst(c)
    }

    fn event_selectors(&self) -> &[EventSelector] {
        &self.selectors
    }

    fn event_time<T: Scalar>(&self, j: usize, tau: T, _p: &[T]) -> T {
        tau * T::cst(self.spike_coefficients[j])
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
