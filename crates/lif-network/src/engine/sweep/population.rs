//! One population's sweep (see the module docs of `sweep.rs`): its sorted input events as slots,
//! the branch-free slot loop over the neurons' state, the exact search of the flagged neurons,
//! and the merge of the populations' spikes into the record.

use super::{
    at_least, batch, may_cross, record_probes, slot_decay, spike_order, surely_silent, Slot,
    ARRIVAL, PROBE,
};
use crate::engine::closed_form::{Crossing, Decay};
use crate::engine::model::{Fan, Model};
use crate::engine::peak::track_peak;
use crate::engine::simd::{self, Isa};
use crate::engine::workspace::{NetworkWorkspace, PeakCause, Spike, VoltagePeak, NO_SPIKE};
use crate::LifError;

impl Model<'_> {
    /// Runs population `p` through its events (module docs). Returns whether its spikes came
    /// sorted (time, ties by neuron): each slot's are, so it is whether every slot's first
    /// spike comes after the last spike of the slots before.
    pub(super) fn sweep_population(
        &self,
        ws: &mut NetworkWorkspace,
        p: usize,
    ) -> Result<bool, LifError> {
        let n = self.pops[p].size;
        let base = ws.offsets[p];
        let pc = ws.consts[p];
        let sw = &mut ws.sweep;
        // The state at rest; `v_next`, `i_next` are written for every neuron of a slot that is
        // not skipped (by `simd::slot_update` or `slot_scalar`, the flagged neurons then by
        // `slot_spikes`) before the swap makes them the state.
        for buf in [&mut sw.v, &mut sw.i] {
            buf.clear();
            buf.resize(n, 0.0);
        }
        at_least(&mut sw.v_next, n);
        at_least(&mut sw.i_next, n);
        sw.slow.clear();
        sw.slow.resize(n.div_ceil(8) * 8, 0);
        let scalar = !pc.spiking || pc.silent;
        let isa = Isa::select(ws.vectors);
        let n_ev = ws.sweep.events.len();
        let (mut prev, mut e) = (0.0, 0);
        let mut slot_spikes_from = ws.spikes.len();
        let (mut sorted, mut last) = (true, None);
        loop {
            // Probes are read inside their slot (they do not split it).
            let first_probe = e;
            while e < n_ev && ws.sweep.events[e].class == PROBE {
                e += 1;
            }
            let probes = first_probe..e;
            let (end, cause) = match ws.sweep.events.get(e) {
                Some(ev) => (
                    ev.time,
                    if ev.class == ARRIVAL {
                        PeakCause::SpikeArrival(ev.spike as usize)
                    } else {
                        PeakCause::InputArrival
                    },
                ),
                None => (self.t_end, PeakCause::End),
            };
            // A slot of length zero between simultaneous events (many input spikes of an MNIST
            // image share a time) changes no state of a spiking population: its `Decay` is the
            // identity and no neuron crosses in it, so it is skipped unless a probe reads it.
            let empty = end == prev && probes.is_empty() && !scalar;
            let d = if empty {
                Decay::IDENTITY
            } else {
                slot_decay(&pc, end - prev)
            };
            ws.sweep.slot_decays.push((end - prev, d));
            let slot = Slot {
                start: prev,
                end,
                d,
                probes,
            };
            if empty {
                // Nothing to update, sort or swap.
            } else if scalar {
                self.slot_scalar(ws, p, &slot, cause)?;
            } else {
                let sw = &mut ws.sweep;
                let (v, i) = (&sw.v[..n], &sw.i[..n]);
                let (v1, i1, slow) = (&mut sw.v_next[..n], &mut sw.i_next[..n], &mut sw.slow[..n]);
                let mut any = simd::slot_update(isa, &pc, &d, v, i, v1, i1, slow);
                for q in slot.probes.clone() {
                    let neuron = ws.probes[sw.events[q].proj as usize].neuron;
                    sw.slow[neuron] = 1;
                    any = true;
                }
                if any {
                    // The flagged neurons, eight flags per word read (the state slices cut
                    // to `n` once, so that one bounds check serves all four).
                    let sw = &mut ws.sweep;
                    sw.cands.clear();
                    let (v, i) = (&sw.v[..n], &sw.i[..n]);
                    let (v1s, i1s) = (&sw.v_next[..n], &sw.i_next[..n]);
                    for w in 0..n.div_ceil(8) {
                        let bytes = sw.slow[8 * w..8 * w + 8].try_into();
                        let mut word = u64::from_le_bytes(bytes.unwrap_or_default());
                        while word != 0 {
                            let j = 8 * w + (word.trailing_zeros() / 8) as usize;
                            word &= word - 1;
                            let (v0, v1) = ((v[j], i[j]), (v1s[j], i1s[j]));
                            // Unless surely silent, when the slot loop's end state stands.
                            if !(slot.probes.is_empty() && surely_silent(&pc, v0, v1)) {
                                sw.cands.push(j as u32);
                            }
                        }
                    }
                    let lanes = batch::batched(&pc, ws.sweep.cands.len());
                    if lanes {
                        batch::first_searches(&pc, isa, &mut ws.sweep, &slot);
                    }
                    if pc.first_only {
                        self.candidates_to_first_spike(ws, base, &slot, lanes)?;
                    } else if slot.probes.is_empty() && !pc.silent {
                        self.candidates_plain(ws, p, &slot, lanes)?;
                    } else {
                        for c in 0..ws.sweep.cands.len() {
                            let j = ws.sweep.cands[c] as usize;
                            let first = lanes.then(|| ws.sweep.found[c]);
                            let v0 = (ws.sweep.v[j], ws.sweep.i[j]);
                            let out = self.slot_spikes(ws, base + j, v0, &slot, first)?;
                            (ws.sweep.v_next[j], ws.sweep.i_next[j]) = out;
                        }
                    }
                }
            }
            // The slot's spikes in time order (ties by neuron); the slots follow each other, so
            // the population's segment is then sorted but for ties across a slot boundary.
            if !empty {
                let fresh = &mut ws.spikes[slot_spikes_from..];
                if fresh.len() > 1 {
                    // Pushed neuron after neuron (flags read in index order), each neuron's in
                    // time order: a stable sort by time gives ties by neuron. Spike times are
                    // positive and finite, so their bits order them as `total_cmp` does (the
                    // same order as `spike_order`, with integer comparisons).
                    let sw = &mut ws.sweep;
                    sort_by_time(fresh, &mut sw.keys, &mut sw.spikes);
                }
                if let (Some(l), Some(f)) = (&last, fresh.first()) {
                    sorted &= spike_order(l, f).is_le();
                }
                last = fresh.last().copied().or(last);
                slot_spikes_from = ws.spikes.len();
                let sw = &mut ws.sweep;
                std::mem::swap(&mut sw.v, &mut sw.v_next);
                std::mem::swap(&mut sw.i, &mut sw.i_next);
            }
            let sw = &mut ws.sweep;
            let Some(&ev) = sw.events.get(e) else {
                break;
            };
            let proj = &self.projs[ev.proj as usize];
            let pre = ev.pre as usize;
            let i = &mut sw.i[..n];
            match proj.fan {
                Fan::Dense { n_pre, n_post } => {
                    assert!(pre < n_pre && n_post == n);
                    // Row `pre` of the pre-major weights.
                    simd::add_row(isa, i, &proj.weights[pre * n_post..(pre + 1) * n_post]);
                    ws.events += n_post;
                }
                Fan::Sparse { offsets, targets } => {
                    let range = offsets[pre] as usize..offsets[pre + 1] as usize;
                    let syn = targets[range.clone()].iter().zip(&proj.weights[range]);
                    for (&t, &w) in syn {
                        i[t as usize] += w;
                        ws.events += 1;
                    }
                }
            }
            prev = end;
            e += 1;
        }
        // One pass without branches (an `|` of flags, which vectorises), the failing neuron
        // looked for only on failure.
        let (v, i) = (&ws.sweep.v[..n], &ws.sweep.i[..n]);
        let bad = |j: usize| !(v[j].is_finite() & i[j].is_finite());
        if (0..n).fold(false, |any, j| any | bad(j)) {
            let j = (0..n).find(|&j| bad(j)).unwrap_or_default();
            return Err(self.non_finite("membrane state", base + j, self.t_end));
        }
        Ok(sorted)
    }

    /// One slot of a readout or silent-output population, neuron by neuron: maxima tracked,
    /// crossings (of a spiking population) searched when they may occur.
    fn slot_scalar(
        &self,
        ws: &mut NetworkWorkspace,
        p: usize,
        slot: &Slot,
        cause: PeakCause,
    ) -> Result<(), LifError> {
        let pc = ws.consts[p];
        let base = ws.offsets[p];
        let d = &slot.d;
        let n = self.pops[p].size;
        if !pc.spiking && slot.probes.is_empty() {
            // A readout population between probes: decay and maxima only.
            let sw = &mut ws.sweep;
            let (v, i) = (&sw.v[..n], &sw.i[..n]);
            let (v1s, i1s) = (&mut sw.v_next[..n], &mut sw.i_next[..n]);
            let peaks = &mut ws.peaks[base..base + n];
            for j in 0..n {
                let (v0, i0) = (v[j], i[j]);
                let (v1, i1) = (d.voltage(v0, i0), d.syn * i0);
                (v1s[j], i1s[j]) = (v1, i1);
                if peaks[j].cause != PeakCause::NotTracked {
                    let (a, b) = ((v0, i0, slot.start), (v1, i1, slot.end));
                    track_peak(&pc, &mut peaks[j], a, b, cause);
                }
            }
            return Ok(());
        }
        for j in 0..n {
            let (v0, i0) = (ws.sweep.v[j], ws.sweep.i[j]);
            let (v1, i1) = (d.voltage(v0, i0), d.syn * i0);
            let g = base + j;
            if ws.peaks[g].cause != PeakCause::NotTracked {
                let (a, b) = ((v0, i0, slot.start), (v1, i1, slot.end));
                track_peak(&pc, &mut ws.peaks[g], a, b, cause);
            }
            let probed = slot
                .probes
                .clone()
                .any(|q| ws.probes[ws.sweep.events[q].proj as usize].neuron == j);
            let out = if pc.spiking && (probed || may_cross(&pc, v0, i0, v1, i1)) {
                if pc.first_only {
                    self.slot_first_spike(ws, g, (v0, i0), slot, None)?
                } else {
                    self.slot_spikes(ws, g, (v0, i0), slot, None)?
                }
            } else {
                if probed {
                    record_probes(ws, slot, j, (v0, i0, slot.start), slot.end, true);
                }
                (v1, i1)
            };
            (ws.sweep.v_next[j], ws.sweep.i_next[j]) = out;
        }
        Ok(())
    }

    /// Neuron `j` (global) of a spiking population through `slot` from `(v, i)`: every crossing
    /// located exactly (spike, reset, search again), its probes read. Returns the state at the
    /// slot's end. `first`: the first search's outcome (`Kernel::first_crossing` over the slot
    /// from `(v, i)`) when the caller made it (`batch.rs`).
    pub(crate) fn slot_spikes(
        &self,
        ws: &mut NetworkWorkspace,
        j: usize,
        (v, i): (f64, f64),
        slot: &Slot,
        first: Option<Option<Crossing>>,
    ) -> Result<(f64, f64), LifError> {
        self.slot_spikes_at(ws, j, (v, i), slot, first, (0.0, 1.0, 1.0))
    }

    /// [`slot_spikes`](Self::slot_spikes) from the state `(v, i)` at `slot.start + off`, where
    /// its loop stands after a crossing (`candidates_plain`'s rare cases): `em_off`, `es_off`
    /// as there; the first search from that state is made here.
    #[inline(never)]
    fn slot_spikes_after(
        &self,
        ws: &mut NetworkWorkspace,
        j: usize,
        (v, i): (f64, f64),
        slot: &Slot,
        (off, em_off, es_off): (f64, f64, f64),
    ) -> Result<(f64, f64), LifError> {
        self.slot_spikes_at(ws, j, (v, i), slot, None, (off, em_off, es_off))
    }

    /// The loop of [`slot_spikes`](Self::slot_spikes) from the state `(v, i)` at
    /// `slot.start + off` (`em_off`, `es_off`: see there).
    #[inline(always)]
    fn slot_spikes_at(
        &self,
        ws: &mut NetworkWorkspace,
        j: usize,
        (mut v, mut i): (f64, f64),
        slot: &Slot,
        mut first: Option<Option<Crossing>>,
        (mut off, mut em_off, mut es_off): (f64, f64, f64),
    ) -> Result<(f64, f64), LifError> {
        let p = ws.pop_of[j] as usize;
        let local = j - ws.offsets[p];
        // The constants are read in place (a copy of the population's constants, with the
        // chords of its kernel, would be a `memcpy` call per slot).
        let (silent, inv_tau_mem, thr) = {
            let pc = &ws.consts[p];
            (pc.silent, pc.k.inv_tau_mem, pc.k.threshold)
        };
        let len = slot.end - slot.start;
        // `e^{-off/τm}`, `e^{-off/τs}` (`em_off`, `es_off`): the products of the crossings'
        // exponentials, so that the rest of the slot decays by the ratios `slot.d / e^{-off/τ}`
        // (no transcendental call) while both stay far from underflow.
        loop {
            if !i.is_finite() {
                return Err(self.non_finite("synaptic current", j, slot.start + off));
            }
            let pc = &ws.consts[p];
            let k = &pc.k;
            let dd = if off == 0.0 {
                slot.d
            } else if em_off.min(es_off) > 1e-100 {
                pc.decay(slot.d.mem / em_off, slot.d.syn / es_off, len - off)
            } else {
                k.decay_swept(len - off)
            };
            let now = slot.start + off;
            let found = match first.take() {
                Some(found) => found,
                None => k.first_crossing(v, i, len - off, &dd),
            };
            let Some(c) = found else {
                if !slot.probes.is_empty() {
                    record_probes(ws, slot, local, (v, i, now), slot.end, true);
                }
                return Ok((dd.voltage(v, i), dd.syn * i));
            };
            let tau = c.t;
            // `(now + τ).min(slot.end)` without `min`'s NaN handling: the end is a number and
            // both are positive, so the comparison picks the same bits (the end for NaN too).
            let t = if now + tau < slot.end {
                now + tau
            } else {
                slot.end
            };
            if !slot.probes.is_empty() {
                record_probes(ws, slot, local, (v, i, now), t, false);
            }
            i *= c.syn;
            em_off *= c.mem;
            es_off *= c.syn;
            // `min_abs_vdot.min(|V̇|)` by a comparison: the same bits (both are `+0.0` or
            // positive, never NaN on the left; a NaN `|V̇|` keeps the left).
            let vdot = (i - thr).abs() * inv_tau_mem;
            if vdot < ws.min_abs_vdot {
                ws.min_abs_vdot = vdot;
            }
            if silent {
                ws.peaks[j] = VoltagePeak::NOT_TRACKED;
            }
            self.push_spike(ws, j, t, i)?;
            v = 0.0;
            off += tau;
        }
    }

    /// The slot loop's exact searches (`sweep_population`) for a population that is not silent,
    /// in a slot without probes: each candidate `cands[c]` (local index; `found[c]`, its first
    /// search, if `lanes`) through the slot as by [`slot_spikes`](Self::slot_spikes), its state
    /// at the slot's end into `v_next`, `i_next`. The common case, one crossing and no second
    /// one in the rest of the slot, runs here in straight-line code: the first iteration of
    /// `slot_spikes`'s loop, then of the second one's decay (the same ratios) and search
    /// (`Kernel::bracket` from `V = 0`) only the tests by which the search ends without a
    /// crossing, on the same numbers; anything else (a crossing at once, exponentials near
    /// underflow, another crossing possible) goes on in `slot_spikes`'s loop from the state
    /// after the first spike (`slot_spikes_after`), which repeats that second iteration in
    /// full. The same operations in the same order, so the same bits, spikes, errors and
    /// `min |V̇⁻|`.
    fn candidates_plain(
        &self,
        ws: &mut NetworkWorkspace,
        p: usize,
        slot: &Slot,
        lanes: bool,
    ) -> Result<(), LifError> {
        let base = ws.offsets[p];
        let (d, len) = (slot.d, slot.end - slot.start);
        let (thr, thr_bound, inv_tau_mem) = {
            let pc = &ws.consts[p];
            (pc.k.threshold, pc.thr_bound, pc.k.inv_tau_mem)
        };
        for c in 0..ws.sweep.cands.len() {
            let jl = ws.sweep.cands[c] as usize;
            let j = base + jl;
            let (v, i) = (ws.sweep.v[jl], ws.sweep.i[jl]);
            // `slot_spikes`'s first iteration (`off = 0`).
            let off = 0.0;
            if !i.is_finite() {
                return Err(self.non_finite("synaptic current", j, slot.start + off));
            }
            let found = if lanes {
                ws.sweep.found[c]
            } else {
                ws.consts[p].k.first_crossing(v, i, len - off, &d)
            };
            let Some(cr) = found else {
                (ws.sweep.v_next[jl], ws.sweep.i_next[jl]) = (d.voltage(v, i), d.syn * i);
                continue;
            };
            let now = slot.start + off;
            let tau = cr.t;
            let t = if now + tau < slot.end {
                now + tau
            } else {
                slot.end
            };
            let i = i * cr.syn;
            let (em_off, es_off) = (1.0 * cr.mem, 1.0 * cr.syn);
            let vdot = (i - thr).abs() * inv_tau_mem;
            if vdot < ws.min_abs_vdot {
                ws.min_abs_vdot = vdot;
            }
            self.push_spike(ws, j, t, i)?;
            let off = off + tau;
            // The second iteration, from `V = 0`.
            if !i.is_finite() {
                return Err(self.non_finite("synaptic current", j, slot.start + off));
            }
            let pc = &ws.consts[p];
            let quiet = if off == 0.0 || !(em_off.min(es_off) > 1e-100) || 0.0 >= thr {
                None
            } else {
                let dd = pc.decay(d.mem / em_off, d.syn / es_off, len - off);
                let v_end = dd.voltage(0.0, i);
                // `bracket`'s ways to `Never` before the maximum, in its order.
                let never = !(i > thr)
                    || (v_end < thr
                        && (dd.syn * i >= v_end || pc.k.max_chord_bound(0.0, i) < thr_bound));
                never.then_some((v_end, dd.syn * i))
            };
            (ws.sweep.v_next[jl], ws.sweep.i_next[jl]) = match quiet {
                Some(end) => end,
                None => self.slot_spikes_after(ws, j, (0.0, i), slot, (off, em_off, es_off))?,
            };
        }
        Ok(())
    }

    /// Puts the populations' spikes in one time order (ties by neuron), renumbers the spike
    /// arrivals of the maxima, and records each neuron's first spike.
    pub(super) fn merge_spikes(&self, ws: &mut NetworkWorkspace) {
        let sw = &mut ws.sweep;
        let sorted = spike_order;
        if !ws.spikes.windows(2).all(|w| sorted(&w[0], &w[1]).is_le()) {
            let sp = &ws.spikes;
            sw.order.clear();
            if let [(a0, b0), (a1, b1)] = sw.seg[..] {
                // Two populations: a two-way merge (ties to the first, as below).
                let (mut a, mut b) = (a0 as usize, a1 as usize);
                let (ea, eb) = (b0 as usize, b1 as usize);
                while a < ea && b < eb {
                    if sorted(&sp[b], &sp[a]).is_lt() {
                        sw.order.push(b as u32);
                        b += 1;
                    } else {
                        sw.order.push(a as u32);
                        a += 1;
                    }
                }
                sw.order.extend(a as u32..ea as u32);
                sw.order.extend(b as u32..eb as u32);
            } else if sw.seg.len() <= 4 {
                // Merge the populations' sorted segments.
                sw.heads.clone_from(&sw.seg);
                for _ in 0..sp.len() {
                    let mut best = usize::MAX;
                    for (h, &(a, b)) in sw.heads.iter().enumerate() {
                        let earlier = |o: usize| {
                            let o = sw.heads[o].0 as usize;
                            sorted(&sp[a as usize], &sp[o]).is_lt()
                        };
                        if a < b && (best == usize::MAX || earlier(best)) {
                            best = h;
                        }
                    }
                    sw.order.push(sw.heads[best].0);
                    sw.heads[best].0 += 1;
                }
            } else {
                sw.order.extend(0..sp.len() as u32);
                sw.order
                    .sort_unstable_by(|&a, &b| sorted(&sp[a as usize], &sp[b as usize]));
            }
            // `order[new] = old`; the maxima need `old -> new`.
            sw.remap.clear();
            sw.remap.resize(sp.len(), 0);
            for (new, &old) in sw.order.iter().enumerate() {
                sw.remap[old as usize] = new as u32;
            }
            for pk in &mut ws.peaks {
                if let PeakCause::SpikeArrival(k) = pk.cause {
                    pk.cause = PeakCause::SpikeArrival(sw.remap[k] as usize);
                }
            }
            let kept = sw.kept[..sw.kept_pops].iter_mut().flatten();
            for e in kept.filter(|e| e.class == ARRIVAL) {
                e.spike = sw.remap[e.spike as usize];
            }
            sw.spikes.clear();
            sw.spikes.extend(sw.order.iter().map(|&o| sp[o as usize]));
            std::mem::swap(&mut ws.spikes, &mut sw.spikes);
        }
        // The marks of first-spike-only neurons that fired (`slot_first_spike`) undone.
        if ws.consts.iter().any(|c| c.first_only) {
            ws.first_spike.fill(NO_SPIKE);
        }
        for (k, s) in ws.spikes.iter().enumerate() {
            let f = &mut ws.first_spike[s.neuron as usize];
            if *f == NO_SPIKE {
                *f = k as u32;
            }
        }
    }
}

/// Sorts a slot's spikes by the bits of their times, stably (ties in their order): the
/// stable `sort_by_key` for a few; for more (MNIST's hidden slots after a run of simultaneous
/// inputs hold up to a few hundred), when the times' bits span less than `2^54`, by one
/// unstable sort of `u64` keys `(bits - least bits) · 2^10 + position`, unique and ordered as
/// (time, position), so the same order (a branch-free integer sort instead of a merge sort of
/// 24-byte records with a comparison closure), then the spikes permuted by the keys.
fn sort_by_time(fresh: &mut [Spike], keys: &mut Vec<u64>, scratch: &mut Vec<Spike>) {
    const POS_BITS: u32 = 10;
    let n = fresh.len();
    if n > 20 && n < 1 << POS_BITS {
        let bits = |s: &Spike| s.time.to_bits();
        let lo = fresh.iter().map(bits).min().unwrap_or(0);
        let hi = fresh.iter().map(bits).max().unwrap_or(0);
        if hi - lo < 1 << (64 - POS_BITS) {
            keys.clear();
            let key = |(k, s): (usize, &Spike)| ((bits(s) - lo) << POS_BITS) | k as u64;
            keys.extend(fresh.iter().enumerate().map(key));
            keys.sort_unstable();
            scratch.clear();
            let mask = (1 << POS_BITS) - 1;
            scratch.extend(keys.iter().map(|&key| fresh[(key & mask) as usize]));
            fresh.copy_from_slice(scratch);
            return;
        }
    }
    fresh.sort_by_key(|s| s.time.to_bits());
}
