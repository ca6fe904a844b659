//! A small spiking population of the forward sweeps, neuron by neuron instead of slot by slot.
//!
//! The slot loop of `sweep.rs` pays per slot for what it shares between the population's
//! neurons: the call of the vectorised update, the flags, the sort of the slot's spikes, the
//! swap of the state arrays and the weight row's call. With few neurons and many input events
//! (Yin-Yang's 3 output neurons receive each of ~55 hidden spikes) that is most of the work.
//! Here each slot's `Decay` is computed once (as there, and kept for the backward sweeps the
//! same way), then each neuron runs through all slots with its `(V, I)` in registers: the same
//! update, the same necessary condition before the exact search (`slot_spikes`), the same
//! weight added, in the same order of operations per neuron, so the same bits. Its spikes come
//! neuron after neuron, one sorted run each; a stable sort by time puts them in the record's
//! order (time, ties by neuron) that the slot loop gives them.
//!
//! Used for spiking populations (not silent) of at most [`BY_NEURON_MAX`] neurons whose
//! projections in are all dense and that no probe reads. Only where a population fails in a
//! non-finite state or at the spike limit can the error differ: it names the first failing
//! neuron in neuron order instead of time order.
//!
//! A readout population under the same conditions (MNIST's 10 neurons receive each of ~540-810
//! hidden spikes) runs neuron by neuron too: its slot loop (`slot_scalar`) was scalar already,
//! but paid per slot for the constants' copy, the state arrays' loads and stores, the maxima
//! written back to memory and the weight row's call; here each neuron keeps `(V, I)` and its
//! maximum in registers through the slots, with the same update and the tests of `track_peak`
//! per slot (`PeakTracker`: the maximum's cause and `V̇⁻` made once at the end).

use super::clock::PopConsts;
use super::closed_form::Decay;
use super::model::{Fan, Model};
use super::peak::PeakTracker;
use super::peak_lanes::{PeakLanes, ReadoutSlots, LANES_MAX};
use super::simd::{self, Isa};
use super::sweep::{may_cross, slot_decay, Arrival, Slot, ARRIVAL};
use super::workspace::{NetworkWorkspace, PeakCause, Spike};
use crate::LifError;

/// The largest population run neuron by neuron.
pub(crate) const BY_NEURON_MAX: usize = 16;

impl Model<'_> {
    /// Whether population `p` runs neuron by neuron (module docs).
    pub(crate) fn by_neuron(&self, ws: &NetworkWorkspace, p: usize) -> bool {
        let pc = &ws.consts[p];
        ws.by_neuron
            && self.pops[p].size <= BY_NEURON_MAX
            && pc.spiking
            && !pc.silent
            && !ws.probes.iter().any(|pr| pr.population == p)
            && self.projs.iter().filter(|pr| pr.target == p).all(
                |pr| matches!(pr.fan, Fan::Dense { n_post, .. } if n_post == self.pops[p].size),
            )
    }

    /// Whether population `p` is a readout (not spiking) that runs neuron by neuron: at most
    /// [`BY_NEURON_MAX`] neurons, dense projections in, no probe.
    pub(crate) fn readout_by_neuron(&self, ws: &NetworkWorkspace, p: usize) -> bool {
        ws.by_neuron
            && self.pops[p].size <= BY_NEURON_MAX
            && !ws.consts[p].spiking
            && !ws.probes.iter().any(|pr| pr.population == p)
            && self.projs.iter().filter(|pr| pr.target == p).all(
                |pr| matches!(pr.fan, Fan::Dense { n_post, .. } if n_post == self.pops[p].size),
            )
    }

    /// Runs readout population `p` through its sorted events neuron by neuron: each slot's
    /// `Decay` once (every slot, those of length zero included, as `sweep_population` computes
    /// them for a readout), then each neuron through all slots with `(V, I)` and its maximum in
    /// registers: the update and the maximum's tracking of `slot_scalar` (the tests of
    /// `track_peak` by `PeakTracker`, `peak.rs`), then the weight added, in the same order of
    /// operations per neuron.
    pub(crate) fn sweep_readout_by_neuron(
        &self,
        ws: &mut NetworkWorkspace,
        p: usize,
    ) -> Result<(), LifError> {
        let n = self.pops[p].size;
        let base = ws.offsets[p];
        let pc = ws.consts[p];
        let from = ws.sweep.slot_decays.len();
        let mut prev = 0.0;
        for e in 0..=ws.sweep.events.len() {
            let end = ws.sweep.events.get(e).map_or(self.t_end, |ev| ev.time);
            ws.sweep
                .slot_decays
                .push((end - prev, slot_decay(&pc, end - prev)));
            prev = end;
        }
        ws.events += n * ws.sweep.events.len();
        // Each event's weight row as an offset into its projection's weights (pre-major, dense),
        // so that the neurons' loops below index one slice.
        let sw = &mut ws.sweep;
        sw.rows.clear();
        sw.rows
            .extend(sw.events.iter().map(|ev| (ev.proj, ev.pre as usize * n)));
        let (events, rows) = (&sw.events, &sw.rows);
        let decays = &sw.slot_decays[from..];
        let (last, decays) = decays.split_last().expect("one slot more than events");
        // One projection in (MNIST's readout): its weights read without the projection's look-up.
        let mut into = self.projs.iter().filter(|pr| pr.target == p);
        let single = match (into.next(), into.next()) {
            (Some(pr), None) => Some(pr.weights),
            _ => None,
        };
        let cause = |s: usize| match events.get(s) {
            Some(ev) if ev.class == ARRIVAL => PeakCause::SpikeArrival(ev.spike as usize),
            Some(_) => PeakCause::InputArrival,
            None => PeakCause::End,
        };
        // Blocks of up to `LANES_MAX` tracked neurons in AVX2 lanes (`peak_lanes.rs`, the same bits as
        // the loop below), when the weights come from one projection; else neuron by neuron.
        let mut j_lanes = 0;
        if let Some(weights) = single {
            let slots = ReadoutSlots {
                decays,
                events,
                rows,
                last: last.1,
                t_end: self.t_end,
                weights,
            };
            let isa = Isa::select(ws.vectors);
            let peaks = &mut ws.peaks[base..base + n];
            while j_lanes < n {
                let lanes = (n - j_lanes).min(LANES_MAX);
                let block = &peaks[j_lanes..j_lanes + lanes];
                if block.iter().any(|pk| pk.cause == PeakCause::NotTracked) {
                    break;
                }
                let mut out = PeakLanes::new(j_lanes, lanes, peaks);
                if !simd::readout_lanes(isa, &pc.k, &slots, &mut out) {
                    break;
                }
                for l in 0..lanes {
                    let j = j_lanes + l;
                    peaks[j] = out.finish(l, &pc.k, &slots, peaks[j], cause);
                    if !(out.v[l].is_finite() && out.i[l].is_finite()) {
                        return Err(self.non_finite("membrane state", base + j, self.t_end));
                    }
                }
                j_lanes += lanes;
            }
        }
        for j in j_lanes..n {
            let (mut v, mut i) = (0.0_f64, 0.0_f64);
            let mut start = 0.0;
            let tracked = ws.peaks[base + j].cause != PeakCause::NotTracked;
            let mut peak = PeakTracker::new(ws.peaks[base + j]);
            for (s, ((&(_, d), ev), &(proj, row))) in
                decays.iter().zip(events).zip(rows).enumerate()
            {
                let (v1, i1) = (d.voltage(v, i), d.syn * i);
                if tracked {
                    peak.slot(&pc, (v, i, start), (v1, i1, ev.time), s);
                }
                // Entry `j` of the event's weight row.
                let w = match single {
                    Some(w) => w[row + j],
                    None => self.projs[proj as usize].weights[row + j],
                };
                (v, i) = (v1, i1 + w);
                start = ev.time;
            }
            let d = last.1;
            let (v1, i1) = (d.voltage(v, i), d.syn * i);
            if tracked {
                let end = (v1, i1, self.t_end);
                peak.slot(&pc, (v, i, start), end, events.len());
            }
            (v, i) = (v1, i1);
            ws.peaks[base + j] = peak.finish(&pc, cause);
            if !(v.is_finite() && i.is_finite()) {
                return Err(self.non_finite("membrane state", base + j, self.t_end));
            }
        }
        Ok(())
    }

    /// Runs population `p` through its sorted events neuron by neuron (module docs); its slots'
    /// `Decay`s go to `slot_decays` as in `sweep_population`.
    pub(crate) fn sweep_by_neuron(
        &self,
        ws: &mut NetworkWorkspace,
        p: usize,
    ) -> Result<(), LifError> {
        let n = self.pops[p].size;
        let pc = ws.consts[p];
        let from = ws.sweep.slot_decays.len();
        // A first-spike-only population computes its slots' decays as its neurons reach them
        // (`neurons_to_first_spike`).
        if !pc.first_only {
            for e in 0..=ws.sweep.events.len() {
                let d = next_slot_decay(&pc, &ws.sweep.events, e, self.t_end);
                ws.sweep.slot_decays.push(d);
            }
        }
        ws.events += n * ws.sweep.events.len();
        let first = ws.spikes.len();
        // Where each neuron's run of spikes ends in the record.
        let mut ends = [0_u32; BY_NEURON_MAX];
        // The events and decays are read beside `slot_spikes`, which uses neither (no probes).
        let events = std::mem::take(&mut ws.sweep.events);
        let mut decays = std::mem::take(&mut ws.sweep.slot_decays);
        let (ev, e) = (&events[..], &mut ends[..n]);
        let out = if pc.first_only {
            self.neurons_to_first_spike(ws, p, ev, (&mut decays, from), e)
        } else {
            self.neurons_through_slots(ws, p, ev, &decays[from..], e)
        };
        ws.sweep.events = events;
        ws.sweep.slot_decays = decays;
        out?;
        merge_runs(&mut ws.spikes, first, &ends[..n], &mut ws.sweep.spikes);
        Ok(())
    }
}

/// `(length, Decay)` of slot `s` of a population neuron by neuron, the one that ends at
/// `events[s]` (the last one at `t_end`): the identity for a slot of length zero, which changes
/// no state (`sweep_population`).
#[inline]
pub(crate) fn next_slot_decay(
    pc: &PopConsts,
    events: &[Arrival],
    s: usize,
    t_end: f64,
) -> (f64, Decay) {
    let start = if s == 0 { 0.0 } else { events[s - 1].time };
    let end = events.get(s).map_or(t_end, |ev| ev.time);
    let d = if end == start {
        Decay::IDENTITY
    } else {
        slot_decay(pc, end - start)
    };
    (end - start, d)
}

impl Model<'_> {
    /// Each neuron of spiking population `p` (`sweep_by_neuron`) through its slots: `decays[s]`
    /// is the `Decay` of the slot that ends at `events[s]` (the last one at `t_end`); run `j`
    /// of the neuron's spikes ends at `ends[j]` in the record.
    fn neurons_through_slots(
        &self,
        ws: &mut NetworkWorkspace,
        p: usize,
        events: &[Arrival],
        decays: &[(f64, Decay)],
        ends: &mut [u32],
    ) -> Result<(), LifError> {
        let n = self.pops[p].size;
        let base = ws.offsets[p];
        let pc = ws.consts[p];
        // One projection in (Yin-Yang's output): its weights read without the projection's
        // look-up.
        let mut into = self.projs.iter().filter(|pr| pr.target == p);
        let single = match (into.next(), into.next()) {
            (Some(pr), None) => Some(pr.weights),
            _ => None,
        };
        let (last, decays) = decays.split_last().expect("one slot more than events");
        for (j, run_end) in ends.iter_mut().enumerate() {
            let (mut v, mut i) = (0.0_f64, 0.0_f64);
            let mut start = 0.0;
            // A slot of length zero changes no state (`sweep_population`); else the slot
            // loop's update, necessary condition and exact search.
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
                    self.slot_spikes(ws, base + j, (v, i), &slot, None)
                } else {
                    Ok((v1, i1))
                }
            };
            for (ev, &(_, d)) in events.iter().zip(decays) {
                (v, i) = slot(ws, (v, i), start, ev.time, d)?;
                // Entry `j` of row `pre` of the pre-major weights (`by_neuron`: dense).
                let row = ev.pre as usize * n + j;
                i += match single {
                    Some(w) => w[row],
                    None => self.projs[ev.proj as usize].weights[row],
                };
                start = ev.time;
            }
            (v, i) = slot(ws, (v, i), start, self.t_end, last.1)?;
            if !(v.is_finite() && i.is_finite()) {
                return Err(self.non_finite("membrane state", base + j, self.t_end));
            }
            *run_end = ws.spikes.len() as u32;
        }
        Ok(())
    }
}

/// Puts the spikes from `first` on, pushed neuron after neuron (run `j` ends at `ends[j]`),
/// each neuron's in time order, into the record's order (time, ties by neuron) by merging the
/// runs (`out` is scratch): the next spike is the earliest head, the lowest neuron among equal
/// times. Compared by the bits of the times: spike times are finite and not negative (a
/// crossing lies strictly after its slot's start or at a non-negative start), so their bits
/// order them as `total_cmp` does. The same order as a stable sort by time, without its
/// set-up (`driftsort` above 20 spikes).
fn merge_runs(spikes: &mut [Spike], first: usize, ends: &[u32], out: &mut Vec<Spike>) {
    // The non-empty runs, in neuron order: `(head, end)`.
    let mut runs = [(0_usize, 0_usize); BY_NEURON_MAX];
    let mut m = 0;
    let mut start = first;
    for &e in ends {
        let e = e as usize;
        if e > start {
            runs[m] = (start, e);
            m += 1;
        }
        start = e;
    }
    if m < 2 {
        return;
    }
    out.clear();
    while m > 1 {
        let mut best = 0;
        let mut key = spikes[runs[0].0].time.to_bits();
        for (r, &(h, _)) in runs[..m].iter().enumerate().skip(1) {
            let k = spikes[h].time.to_bits();
            if k < key {
                (best, key) = (r, k);
            }
        }
        let (h, e) = &mut runs[best];
        out.push(spikes[*h]);
        *h += 1;
        if *h == *e {
            runs.copy_within(best + 1..m, best);
            m -= 1;
        }
    }
    let (h, e) = runs[0];
    out.extend_from_slice(&spikes[h..e]);
    spikes[first..].copy_from_slice(out);
}

#[cfg(test)]
mod tests {
    use crate::eventprop::{FeedForwardNet, InputSpike, LayerKind, LifParams, Loss, SampleScratch};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    /// Spikes (neuron, time, current), loss and gradient of each sample, as bits.
    type Bits = (Vec<(u32, u64, u64)>, u64, Vec<u64>);

    fn run(
        net: &FeedForwardNet,
        samples: &[(Vec<InputSpike>, Loss)],
        by_neuron: bool,
    ) -> Vec<Bits> {
        let mut scratch = SampleScratch::default();
        scratch.workspace.by_neuron = by_neuron;
        let mut out = Vec::new();
        for (input, loss) in samples {
            let mut grad = net.zero_gradient();
            let st = net
                .accumulate_gradient(input, loss, &mut scratch, &mut grad)
                .unwrap();
            let spikes = (scratch.workspace.spikes().iter())
                .map(|s| (s.neuron, s.time.to_bits(), s.i_syn.to_bits()))
                .collect();
            let grad = grad.iter().flatten().map(|g| g.to_bits()).collect();
            out.push((spikes, st.loss.to_bits(), grad));
        }
        out
    }

    /// Oracle: the slot-by-slot sweep of the same populations (`by_neuron = false`). Layered
    /// spiking networks shaped like Yin-Yang (5 inputs, the paper's coding and Table 3
    /// initialisation moments, first-spike loss) with output and hidden layers at or below the size
    /// limit, one hidden layer above it, and inputs on a coarse time grid (simultaneous
    /// events, slots of length zero, spikes tied across neurons): every spike, loss and
    /// gradient entry bit-identical, with every small population firing.
    #[test]
    fn small_populations_neuron_by_neuron_give_the_bits_of_the_slot_sweep() {
        let shapes: [&[usize]; 4] = [&[200, 3], &[16, 16, 3], &[17, 5], &[30, 1]];
        for (seed, sizes) in shapes.iter().enumerate() {
            for grid in [0.0, 2.5] {
                let mut r = ChaCha8Rng::seed_from_u64(seed as u64 + 40);
                let layers: Vec<_> = sizes.iter().map(|&n| (n, LayerKind::Spiking)).collect();
                let mut net = FeedForwardNet::new(5, &layers, LifParams::default(), 60.0).unwrap();
                for (l, layer) in net.layers.iter_mut().enumerate() {
                    // Table 3's output moments behind the wide hidden layer, else the hidden
                    // ones (a few presynaptic neurons must still make the layer fire).
                    let wide_in = l > 0 && sizes[l - 1] >= 100;
                    let (mean, std) = if wide_in { (0.93, 0.1) } else { (1.5, 0.78) };
                    let d = Normal::new(mean, std).unwrap();
                    layer.weights.iter_mut().for_each(|w| *w = d.sample(&mut r));
                }
                let samples: Vec<_> = (0..16)
                    .map(|k| {
                        let (x, y): (f64, f64) = (r.gen(), r.gen());
                        let snap = |t: f64| {
                            if grid > 0.0 {
                                (t / grid).round() * grid
                            } else {
                                t
                            }
                        };
                        let mut s: Vec<InputSpike> = [x, y, 1.0 - x, 1.0 - y, 0.0]
                            .iter()
                            .enumerate()
                            .map(|(src, &f)| InputSpike {
                                time: snap(f * 30.0),
                                source: src as u32,
                            })
                            .collect();
                        s.sort_by(|a, b| a.time.total_cmp(&b.time));
                        let loss = Loss::FirstSpike {
                            label: k % sizes[sizes.len() - 1],
                            tau0: 0.5,
                            tau1: 6.4,
                            alpha: 3e-3,
                        };
                        (s, loss)
                    })
                    .collect();
                let slots = run(&net, &samples, false);
                let neurons = run(&net, &samples, true);
                let mut fired = vec![0usize; sizes.len()];
                for (k, (a, b)) in neurons.iter().zip(&slots).enumerate() {
                    assert!(
                        a == b,
                        "{sizes:?} grid {grid} sample {k}: the two sweeps differ"
                    );
                    for &(j, _, _) in &a.0 {
                        let mut layer = 0;
                        let mut first = sizes[0] as u32;
                        while j >= first {
                            layer += 1;
                            first += sizes[layer] as u32;
                        }
                        fired[layer] += 1;
                    }
                }
                assert!(
                    fired.iter().all(|&f| f > 16),
                    "{sizes:?} grid {grid}: {fired:?}"
                );
            }
        }
    }

    /// Oracle: the slot-by-slot sweep of the readout (`by_neuron = false`, `slot_scalar`).
    /// MNIST-shaped networks in small (784 inputs at the paper's pixel-like latencies on a
    /// coarse grid, so that many share a time, a spiking hidden layer, a readout of 10 or
    /// 16 neurons, the maximum-voltage loss): every spike, loss and gradient entry
    /// bit-identical, with every readout neuron's maximum carrying a gradient.
    #[test]
    fn readouts_neuron_by_neuron_give_the_bits_of_the_slot_sweep() {
        for (seed, &(hidden, out)) in [(60, 10), (40, 16)].iter().enumerate() {
            let mut r = ChaCha8Rng::seed_from_u64(seed as u64 + 70);
            let layers = [(hidden, LayerKind::Spiking), (out, LayerKind::Readout)];
            let mut net = FeedForwardNet::new(784, &layers, LifParams::default(), 40.0).unwrap();
            for (l, layer) in net.layers.iter_mut().enumerate() {
                let (mean, std) = if l == 0 { (0.078, 0.045) } else { (0.2, 0.37) };
                let d = Normal::new(mean, std).unwrap();
                layer.weights.iter_mut().for_each(|w| *w = d.sample(&mut r));
            }
            let samples: Vec<_> = (0..8)
                .map(|k| {
                    let mut s = Vec::new();
                    for src in 0..784 {
                        let (on, t): (f64, f64) = (r.gen(), r.gen());
                        if on < 0.2 {
                            let time = (t * 16.0).round() * 1.25;
                            s.push(InputSpike { time, source: src });
                        }
                    }
                    s.sort_by(|a: &InputSpike, b| a.time.total_cmp(&b.time));
                    (s, Loss::MaxVoltage { label: k % out })
                })
                .collect();
            let slots = run(&net, &samples, false);
            let neurons = run(&net, &samples, true);
            for (k, (a, b)) in neurons.iter().zip(&slots).enumerate() {
                assert!(a == b, "{hidden}-{out} sample {k}: the two sweeps differ");
                assert!(
                    a.0.len() > 20,
                    "{hidden}-{out} sample {k}: {} spikes",
                    a.0.len()
                );
                let readout = &a.2[784 * hidden..];
                for j in 0..out {
                    let column = readout.iter().skip(j).step_by(out);
                    assert!(
                        column.clone().any(|&g| f64::from_bits(g) != 0.0),
                        "neuron {j}"
                    );
                }
            }
        }
    }
}
