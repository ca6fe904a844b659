//! The forward pass of a feed-forward network, population by population ("sweeps").
//!
//! When every projection comes from the inputs or from a population with a smaller index, the
//! spikes reaching population `p` are all known before `p` runs: its input events can be sorted
//! once, and between two of them every neuron of `p` decays by the same three numbers
//! (`Decay` of the interval, two exponentials per interval instead of per touched neuron; one
//! `expm1`, or none for a short interval, when `τm = n τs`, `Kernel::decay_pow`). So the
//! populations run in index order, each as one loop over its sorted input events ("slots"); a
//! slot updates the neurons' state held as a structure of arrays (`V`, `I`), in a loop without
//! branches that the compiler vectorises, and flags the neurons that may cross the threshold
//! in it (the necessary conditions of `Kernel::first_crossing`); only these take the exact
//! search (their first searches of a slot together, in lanes: `sweep/batch.rs`). The event
//! then adds its weights to its targets (a dense column or a fan-out list).
//! Events at one time (the pixel latencies of an image share few values) leave slots of length
//! zero between them, which a spiking population skips: its `Decay` is the identity.
//! Probes are read inside their slot (the probed neuron takes the exact path there), so they
//! change nothing; readout (and silent output) neurons track their maxima per slot.
//!
//! It computes the same trajectory as the event-driven pass (`forward_queue.rs`) up to rounding: the
//! decays are those of each interval between the population's input events instead of ratios of
//! shared exponentials between the events that touch a neuron, and crossings are searched from
//! the start of their slot. The record is the same (spikes in time order, ties by neuron, with
//! the same meaning of every field), so the backward pass does not know which pass ran.
//!
//! Used when every population is without refractory period and every projection into it is
//! dense enough that touching all its neurons per event is not wasteful (on average at least
//! 1/8 of the target per presynaptic spike, [`Model::sweeps`]); otherwise `forward_queue.rs` runs.

use super::clock::PopConsts;
use super::closed_form::{Crossing, Decay};
use super::model::Model;
use super::network::Source;
use super::workspace::{NetworkWorkspace, Spike};
use crate::LifError;

mod batch;
mod population;

/// One input event of the population being swept, in the order handled at equal times.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Arrival {
    pub time: f64,
    /// Order at equal times: spike arrivals (0), probes (1), inputs (2); then `tie`.
    pub class: u32,
    /// Spike arrival: the global neuron that fired; probe: its index; input: its position.
    pub tie: u32,
    /// Projection (spike arrival and input) or probe index.
    pub proj: u32,
    /// Presynaptic neuron in the source (spike arrival and input).
    pub pre: u32,
    /// Index of the spike in the record (spike arrival).
    pub spike: u32,
}

pub(crate) const ARRIVAL: u32 = 0;
pub(crate) const PROBE: u32 = 1;
const INPUT: u32 = 2;

/// One inter-event interval of a population: `[start, end]`, its `Decay`, and the range of its
/// probes in the event list.
pub(crate) struct Slot {
    pub start: f64,
    pub end: f64,
    pub d: Decay,
    pub probes: std::ops::Range<usize>,
}

/// Records the probes of neuron `local` in `slot` whose time lies in `[state time, upto)` (or
/// `[.., upto]` if `inclusive`), from its state `(v, i)` at that time (no spike in between).
fn record_probes(
    ws: &mut NetworkWorkspace,
    slot: &Slot,
    local: usize,
    (v, i, t0): (f64, f64, f64),
    upto: f64,
    inclusive: bool,
) {
    for q in slot.probes.clone() {
        let index = ws.sweep.events[q].proj as usize;
        let pr = ws.probes[index];
        let inside = pr.time >= t0 && (pr.time < upto || (inclusive && pr.time == upto));
        if pr.neuron == local && inside {
            let k = &ws.consts[pr.population].k;
            ws.probe_values[index] = k.decay_swept(pr.time - t0).voltage(v, i);
        }
    }
}

/// Scratch of the sweeps (emptied after each pass: nothing here is part of the record).
#[derive(Clone, Debug, Default)]
pub(crate) struct SweepScratch {
    pub events: Vec<Arrival>,
    pub v: Vec<f64>,
    pub i: Vec<f64>,
    /// The state (or adjoint) at a slot's other end, swapped with `v`, `i` after the slot: at
    /// least as long as the population, entries written before they are read (kept between
    /// passes: [`at_least`] does not fill them).
    pub v_next: Vec<f64>,
    pub i_next: Vec<f64>,
    /// Per neuron: 1 if it takes the exact path in this slot (padded to whole 8-byte words).
    pub slow: Vec<u8>,
    /// The neurons of the slot that take the exact search, and their first crossings
    /// (`batch.rs`).
    pub cands: Vec<u32>,
    pub found: Vec<Option<Crossing>>,
    /// Per population: its spikes' range in the record (sorted by time, ties by neuron).
    pub seg: Vec<(u32, u32)>,
    /// Merge cursors into `seg`.
    pub heads: Vec<(u32, u32)>,
    pub order: Vec<u32>,
    /// Per event of a readout swept neuron by neuron: its projection and weight row's offset.
    pub rows: Vec<(u32, usize)>,
    pub remap: Vec<u32>,
    /// Scratch of the merge, and of a slot's sort (`population.rs`) with `keys`.
    pub spikes: Vec<Spike>,
    pub keys: Vec<u64>,
    /// The forward pass's slots, population after population: each slot's length and `Decay`
    /// (kept after the pass, for the backward sweeps over the same slots).
    pub slot_decays: Vec<(f64, Decay)>,
    /// Per population: where its slots start in `slot_decays`, and its `(1/τm, 1/τs)`.
    pub slot_pops: Vec<(usize, f64, f64)>,
    /// The forward pass's sorted input events of each population, their spike arrivals
    /// renumbered into the record's order (kept after the pass: the backward sweeps walk the
    /// same events): those of the first `kept_pops` populations, each swapped with `events`
    /// after its sweep (no copy). `kept_pops` is set to 0 at the start of every forward pass,
    /// so only a sweeping pass leaves them.
    pub kept: Vec<Vec<Arrival>>,
    pub kept_pops: usize,
}

impl SweepScratch {
    pub fn clear(&mut self) {
        self.events.clear();
        self.v.clear();
        self.i.clear();
        self.slow.clear();
        self.cands.clear();
        self.found.clear();
        self.order.clear();
        self.rows.clear();
        self.remap.clear();
        self.spikes.clear();
        self.keys.clear();
    }
}

/// Makes `buf` at least `n` long, without writing the entries it has: for scratch whose
/// entries `..n` are each written before they are read (a fill would be ~3 KB per population
/// and pass for MNIST's hidden layer).
#[inline]
pub(crate) fn at_least(buf: &mut Vec<f64>, n: usize) {
    if buf.len() < n {
        buf.resize(n, 0.0);
    }
}

/// The record's order: time, ties by neuron.
#[inline]
fn spike_order(a: &Spike, b: &Spike) -> std::cmp::Ordering {
    a.time.total_cmp(&b.time).then(a.neuron.cmp(&b.neuron))
}

/// `Decay` over `dt >= 0` with one transcendental call when `τm = n τs`
/// (`Kernel::decay_pow`), else two exponentials (three when the time constants are close).
#[inline]
pub(crate) fn slot_decay(pc: &PopConsts, dt: f64) -> Decay {
    let k = &pc.k;
    if k.pow != 0 {
        return k.decay_pow(dt);
    }
    pc.decay((-dt * k.inv_tau_mem).exp(), (-dt * k.inv_tau_syn).exp(), dt)
}

/// Cheap necessary condition for a crossing in a slot from `(v, i)` to `(v1, i1)` (the tests of
/// `Kernel::first_crossing` before its exact search), without short-circuits so that it
/// vectorises.
#[inline(always)]
pub(crate) fn may_cross(pc: &PopConsts, v: f64, i: f64, v1: f64, i1: f64) -> bool {
    let k = &pc.k;
    let thr = k.threshold;
    (v1 >= thr) | (v >= thr) | ((i > thr) & (i1 < v1) & (k.max_upper_bound(v, i) >= pc.thr_bound))
}

/// Whether a neuron flagged by the slot loop (`simd::slot_update`) is proven not to cross in
/// its slot without the exact search, from its state `(v, i)` at the slot's start and
/// `(v1, i1)` at its end: below `ϑ (1 - 8 ε)` at both ends and either still rising at the end
/// (then `V` rose monotonically) or with the chord bound of its maximum
/// (`Kernel::max_chord_bound`, tighter than the slot loop's single chord) below `ϑ (1 - 8 ε)`.
/// These are the tests by which `Kernel::first_crossing` returns `None` before any root or
/// maximum is computed, on the same numbers (the slot loop's `(v1, i1)` are the bits
/// `first_crossing` computes from the slot's `Decay`), so the outcome is the same; a NaN
/// state is not skipped.
#[inline(always)]
fn surely_silent(pc: &PopConsts, (v, i): (f64, f64), (v1, i1): (f64, f64)) -> bool {
    let tb = pc.thr_bound;
    (v < tb) & (v1 < tb) & ((i1 >= v1) | (pc.k.max_chord_bound(v, i) < tb))
}

impl Model<'_> {
    /// Whether the forward pass runs population by population: every projection comes from the
    /// inputs or from a population with a smaller index, no population has a refractory period,
    /// and the projections into each population hold on average at least 1/8 of its neurons per
    /// presynaptic neuron.
    pub(crate) fn sweeps(&self) -> bool {
        self.pops.iter().enumerate().all(|(p, pop)| {
            let (mut pre, mut syn) = (0usize, 0usize);
            for pr in self.projs.iter().filter(|pr| pr.target == p) {
                pre += match pr.source {
                    Source::Input => self.n_inputs,
                    Source::Population(q) if q < p => self.pops[q].size,
                    Source::Population(_) => return false,
                };
                syn += pr.weights.len();
            }
            pop.t_ref == 0.0 && syn.saturating_mul(8) >= pre.saturating_mul(pop.size)
        })
    }

    /// The forward pass by sweeps (module docs); `load` has run.
    pub(crate) fn sweep_forward(&self, ws: &mut NetworkWorkspace) -> Result<(), LifError> {
        ws.sweep.seg.clear();
        ws.sweep.slot_decays.clear();
        ws.sweep.slot_pops.clear();
        ws.sweep.kept_pops = 0;
        for p in 0..self.pops.len() {
            let k = &ws.consts[p].k;
            let from = ws.sweep.slot_decays.len();
            ws.sweep
                .slot_pops
                .push((from, k.inv_tau_mem, k.inv_tau_syn));
            let start = ws.spikes.len() as u32;
            self.collect_events(ws, p, false);
            if self.by_neuron(ws, p) {
                // Its spikes come merged into the record's order.
                self.sweep_by_neuron(ws, p)?;
            } else if self.readout_by_neuron(ws, p) {
                self.sweep_readout_by_neuron(ws, p)?;
            } else {
                let sorted = self.sweep_population(ws, p)?;
                let seg = &mut ws.spikes[start as usize..];
                debug_assert!(!sorted || seg.is_sorted_by(|a, b| spike_order(a, b).is_le()));
                if !sorted {
                    seg.sort_unstable_by(spike_order);
                }
            }
            ws.sweep.seg.push((start, ws.spikes.len() as u32));
            // The events, which the sweep no longer reads, kept for the backward sweeps.
            let sw = &mut ws.sweep;
            if sw.kept.len() == p {
                sw.kept.push(Vec::new());
            }
            std::mem::swap(&mut sw.events, &mut sw.kept[p]);
            sw.kept_pops = p + 1;
        }
        self.merge_spikes(ws);
        ws.sweep.clear();
        Ok(())
    }

    /// The sorted input events of population `p`: spikes of the populations feeding it (already
    /// swept; `in_record`: taken from the record in its final order, else from their segments
    /// during the forward pass), its probes, the network's inputs. The order is the same either
    /// way.
    pub(crate) fn collect_events(&self, ws: &mut NetworkWorkspace, p: usize, in_record: bool) {
        let ev = &mut ws.sweep.events;
        ev.clear();
        let (mut sources, mut from_segment) = (0, false);
        for (k, pr) in self.projs.iter().enumerate() {
            if pr.target != p {
                continue;
            }
            sources += 1;
            match pr.source {
                Source::Input => ev.extend(ws.inputs.iter().enumerate().map(|(n, s)| Arrival {
                    time: s.time,
                    class: INPUT,
                    tie: n as u32,
                    proj: k as u32,
                    pre: s.source,
                    spike: 0,
                })),
                Source::Population(q) => {
                    let (a, b) = if in_record {
                        (0, ws.spikes.len() as u32)
                    } else {
                        ws.sweep.seg[q]
                    };
                    let (first, last) = (ws.offsets[q] as u32, ws.offsets[q + 1] as u32);
                    let arrival = |(n, s): (usize, &Spike)| Arrival {
                        time: s.time,
                        class: ARRIVAL,
                        tie: s.neuron,
                        proj: k as u32,
                        pre: s.neuron - first,
                        spike: a + n as u32,
                    };
                    let spikes = ws.spikes[a as usize..b as usize].iter().enumerate();
                    if in_record {
                        let own = |(_, s): &(usize, &Spike)| (first..last).contains(&s.neuron);
                        ev.extend(spikes.filter(own).map(arrival));
                    } else {
                        // The population's own segment (no filter), in the record's order.
                        ev.extend(spikes.map(arrival));
                        from_segment = true;
                    }
                }
            }
        }
        for (q, pr) in ws.probes.iter().enumerate() {
            if pr.population == p {
                sources += 2;
                ev.push(Arrival {
                    time: pr.time,
                    class: PROBE,
                    tie: q as u32,
                    proj: q as u32,
                    pre: 0,
                    spike: 0,
                });
            }
        }
        // One source (MNIST's hidden layer: the inputs; its readout: the hidden spikes) comes
        // in its order: inputs by position, spikes by neuron (in the record's order), the keys
        // below after the time. Then events sorted by time are sorted, in the only order of
        // their unique keys, and one comparison per pair checks it. A population's segment
        // is sorted by time (`sweep_forward` sorts it), so it needs no check.
        if sources == 1
            && (from_segment
                || ev
                    .windows(2)
                    .all(|w| w[0].time.total_cmp(&w[1].time).is_le()))
        {
            return;
        }
        ev.sort_unstable_by(|a, b| {
            (a.time.total_cmp(&b.time))
                .then(a.class.cmp(&b.class))
                .then(a.tie.cmp(&b.tie))
                .then(a.proj.cmp(&b.proj))
        });
    }
}
