//! Voltage probes of the layered forward pass: validation, ordering, and recording `V` at fixed
//! times from the closed form (a voltage loss `l_V` with a Dirac delta, Algorithm 1's `∂l_V/∂V`).

use super::params::Kernel;
use super::trajectory::{VoltageProbe, Workspace};
use super::FeedForwardNet;
use crate::LifError;

/// The probes of one neuron (indices sorted by time) and where their results go.
pub(crate) struct NeuronProbes<'a> {
    pub order: &'a [u32],
    pub probes: &'a [VoltageProbe],
    pub values: &'a mut [f64],
    pub slots: &'a mut [u32],
    pub next: usize,
}

impl NeuronProbes<'_> {
    /// Time of the next unprocessed probe, or `+inf`.
    #[inline]
    pub fn next_time(&self) -> f64 {
        self.order
            .get(self.next)
            .map_or(f64::INFINITY, |&q| self.probes[q as usize].time)
    }

    /// Records the voltage of every probe with time `< before` (or `<= before` if `inclusive`),
    /// propagating from `(v, i)` at absolute time `t0`, in slot `slot`.
    #[inline]
    pub fn record(
        &mut self,
        k: &Kernel,
        v: f64,
        i: f64,
        t0: f64,
        before: f64,
        inclusive: bool,
        slot: usize,
    ) {
        if self.next < self.order.len() {
            self.record_due(k, v, i, t0, before, inclusive, slot);
        }
    }

    #[cold]
    #[inline(never)]
    fn record_due(
        &mut self,
        k: &Kernel,
        v: f64,
        i: f64,
        t0: f64,
        before: f64,
        inclusive: bool,
        slot: usize,
    ) {
        loop {
            let t = self.next_time();
            if !(t < before || (inclusive && t == before)) {
                return;
            }
            let q = self.order[self.next] as usize;
            self.values[q] = k.state_at(v, i, (t - t0).max(0.0)).0;
            self.slots[q] = slot as u32;
            self.next += 1;
        }
    }
}

impl FeedForwardNet {
    /// Validates the probes and sorts their indices by `(layer, neuron, time)`.
    pub(crate) fn load_probes(
        &self,
        probes: &[VoltageProbe],
        ws: &mut Workspace,
    ) -> Result<(), LifError> {
        for (index, p) in probes.iter().enumerate() {
            let ok = p.layer < self.layers.len()
                && p.neuron < self.layers[p.layer].n_out
                && p.time.is_finite()
                && (0.0..=self.t_end).contains(&p.time);
            if !ok {
                return Err(LifError::InvalidProbe {
                    index,
                    layer: p.layer,
                    neuron: p.neuron,
                    time: p.time,
                    t_end: self.t_end,
                });
            }
        }
        ws.probes.clear();
        ws.probes.extend_from_slice(probes);
        ws.probe_values.clear();
        ws.probe_values.resize(probes.len(), 0.0);
        ws.probe_slot.clear();
        ws.probe_slot.resize(probes.len(), 0);
        ws.probe_order.clear();
        ws.probe_order.extend(0..probes.len() as u32);
        let p = &ws.probes;
        ws.probe_order.sort_unstable_by(|&a, &b| {
            let (x, y) = (&p[a as usize], &p[b as usize]);
            (x.layer, x.neuron)
                .cmp(&(y.layer, y.neuron))
                .then(x.time.total_cmp(&y.time))
                .then(a.cmp(&b))
        });
        Ok(())
    }
}

pub(crate) fn no_probes() -> NeuronProbes<'static> {
    NeuronProbes {
        order: &[],
        probes: &[],
        values: &mut [],
        slots: &mut [],
        next: 0,
    }
}
