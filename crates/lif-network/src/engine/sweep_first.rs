//! Spiking populations read only by their first spikes (`Pop::first_spike_only`, the layered
//! network's time-to-first-spike output, `Observe::first_spike_output`): each neuron stops at its
//! first spike, as after an infinite refractory period (a model of e.g. Göltz et al. 2021).
//!
//! Such a population projects nowhere, so its later spikes change nothing but the record: every
//! other spike, its first spikes (times and currents, located by the same `slot_spikes` from the
//! same state) and the maxima tracked until them are the bits of the full simulation. So is the
//! gradient of a loss that reads only first spikes: after a neuron's first spike its adjoint is
//! `0` in both (no cotangent, probe or maximum after it; a later spike's jump of a zero adjoint
//! without cotangent is zero, and its arrivals add `τs λ_I = 0`), and the backward pass of the
//! shorter record skips what the full one multiplied by zero. What it saves: the exact searches,
//! spike bookkeeping and backward steps of the later spikes (Yin-Yang: ~30 of 33 output spikes per
//! sample), and, neuron by neuron, the slots after the first spike.
//!
//! The full simulation's loops (`slot_spikes`, `neurons_through_slots`) have no test of it: the
//! callers choose these functions per population.

use super::closed_form::Crossing;
use super::closed_form::Decay;
use super::model::Model;
use super::sweep::{may_cross, Arrival, Slot};
use super::sweep_neuron::{next_slot_decay, BY_NEURON_MAX};
use super::workspace::{NetworkWorkspace, NO_SPIKE};
use crate::LifError;

impl Model<'_> {
    /// [`slot_spikes`](Self::slot_spikes) for neuron `j` (global) of a first-spike-only
    /// population (`Pop::first_spike_only`): the neuron stops at its first spike. Only that one
    /// is kept (a later one of the same slot is dropped, and `min |V̇⁻|` is as over the kept
    /// spikes: the same formula on the recorded current), and `first_spike[j]` marks it during
    /// the sweep (any value but `NO_SPIKE`; `merge_spikes` writes the true index), so that in
    /// the later slots, where the slot loop may still flag it, it neither searches nor records:
    /// it decays as a readout would (its state is no longer read but for finiteness).
    #[inline(never)]
    pub(crate) fn slot_first_spike(
        &self,
        ws: &mut NetworkWorkspace,
        j: usize,
        (v, i): (f64, f64),
        slot: &Slot,
        first: Option<Option<Crossing>>,
    ) -> Result<(f64, f64), LifError> {
        if ws.first_spike[j] != NO_SPIKE {
            return Ok((slot.d.voltage(v, i), slot.d.syn * i));
        }
        let (from, before) = (ws.spikes.len(), ws.min_abs_vdot);
        let out = self.slot_spikes(ws, j, (v, i), slot, first)?;
        if ws.spikes.len() > from {
            ws.spikes.truncate(from + 1);
            ws.first_spike[j] = 0;
            let k = &ws.consts[ws.pop_of[j] as usize].k;
            let vdot = (ws.spikes[from].i_syn - k.threshold).abs() * k.inv_tau_mem;
            ws.min_abs_vdot = if vdot < before { vdot } else { before };
        }
        Ok(out)
    }

    /// The slot loop's exact searches (`sweep_population`) for a first-spike-only population:
    /// each candidate `cands[c]` (local index; `found[c]`, its first search, if `lanes`) by
    /// `slot_first_spike`, its state at the slot's end into `v_next`, `i_next`.
    #[inline(never)]
    pub(crate) fn candidates_to_first_spike(
        &self,
        ws: &mut NetworkWorkspace,
        base: usize,
        slot: &Slot,
        lanes: bool,
    ) -> Result<(), LifError> {
        for c in 0..ws.sweep.cands.len() {
            let j = ws.sweep.cands[c] as usize;
            let first = lanes.then(|| ws.sweep.found[c]);
            let v0 = (ws.sweep.v[j], ws.sweep.i[j]);
            let out = self.slot_first_spike(ws, base + j, v0, slot, first)?;
            (ws.sweep.v_next[j], ws.sweep.i_next[j]) = out;
        }
        Ok(())
    }

    /// `neurons_through_slots` (`sweep_neuron.rs`) for a first-spike-only population: each
    /// neuron through its slots with the same update, necessary condition and exact search
    /// (`slot_first_spike`) until its first spike, where it stops (its later slots and weights
    /// are not run). The slot that ends at `events[s]` (the last one at `t_end`) has the
    /// `Decay` `decays[from + s]`, pushed by `next_slot_decay` when the first neuron reaches it
    /// (the same bits as computed in advance); the slots no neuron reached get `(NaN,
    /// Decay::IDENTITY)`, whose length matches no slot's, so that the backward sweep
    /// (`forward_decay`) computes their decays itself if it needs them (it does not: no item of
    /// the population lies in them) and the populations after this one find theirs at the same
    /// place. Neuron `j`'s spike (if any) ends at `ends[j]` in the record.
    #[inline(never)]
    pub(crate) fn neurons_to_first_spike(
        &self,
        ws: &mut NetworkWorkspace,
        p: usize,
        events: &[Arrival],
        (decays, from): (&mut Vec<(f64, Decay)>, usize),
        ends: &mut [u32],
    ) -> Result<(), LifError> {
        debug_assert!(ends.len() <= BY_NEURON_MAX);
        let n = self.pops[p].size;
        let base = ws.offsets[p];
        let pc = ws.consts[p];
        let t_end = self.t_end;
        // One projection in (Yin-Yang's output): its weights read without the projection's
        // look-up.
        let mut into = self.projs.iter().filter(|pr| pr.target == p);
        let single = match (into.next(), into.next()) {
            (Some(pr), None) => Some(pr.weights),
            _ => None,
        };
        let mut decay_of = |s: usize| {
            while decays.len() <= from + s {
                decays.push(next_slot_decay(&pc, events, decays.len() - from, t_end));
            }
            decays[from + s].1
        };
        for (j, run_end) in ends.iter_mut().enumerate() {
            let (mut v, mut i) = (0.0_f64, 0.0_f64);
            let mut start = 0.0;
            let run_start = ws.spikes.len();
            // A slot of length zero changes no state; else the slot loop's update, necessary
            // condition and exact search.
            let slot = |ws: &mut NetworkWorkspace, (v, i), start, end, d: Decay| {
                if end == start {
                    return Ok((v, i));
                }
                let (v1, i1) = (d.voltage(v, i), d.syn * i);
                if may_cross(&pc, v, i, v1, i1) {
                    let slot = Slot {
                        start,
                        end,
                        d,
                        probes: 0..0,
                    };
                    self.slot_first_spike(ws, base + j, (v, i), &slot, None)
                } else {
                    Ok((v1, i1))
                }
            };
            let mut fired = false;
            for (s, ev) in events.iter().enumerate() {
                (v, i) = slot(ws, (v, i), start, ev.time, decay_of(s))?;
                fired = ws.spikes.len() > run_start;
                if fired {
                    break;
                }
                // Entry `j` of row `pre` of the pre-major weights (`by_neuron`: dense).
                let row = ev.pre as usize * n + j;
                i += match single {
                    Some(w) => w[row],
                    None => self.projs[ev.proj as usize].weights[row],
                };
                start = ev.time;
            }
            if !fired {
                (v, i) = slot(ws, (v, i), start, t_end, decay_of(events.len()))?;
            }
            if !(v.is_finite() && i.is_finite()) {
                return Err(self.non_finite("membrane state", base + j, self.t_end));
            }
            *run_end = ws.spikes.len() as u32;
        }
        decays.resize(from + events.len() + 1, (f64::NAN, Decay::IDENTITY));
        Ok(())
    }
}

#[cfg(test)]
mod tests;
