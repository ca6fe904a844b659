//! The backward pass of a feed-forward network, population by population in reverse: the
//! adjoint of `backward.rs` (Table 2, Algorithm 1) organised like the forward sweeps
//! (`sweep.rs`).
//!
//! Populations run from the last to the first, so that when population `p` runs, every
//! population its spikes reach has already added its share `Σ_targets w (λ_V - ρ λ_I)/τm` to the
//! jump of each of `p`'s spikes. Population `p` walks its input events backwards: between two of
//! them every neuron's adjoint decays by the slot's `Decay` (`λ_I ← e^{-Δ/τs} λ_I + K(Δ) λ_V`,
//! `λ_V ← e^{-Δ/τm} λ_V`, arrays, vectorised); a neuron with an item in the slot (its own spike,
//! a probe, its maximum) walks through its items exactly; at each input event `λ_I` of every
//! target is the weight's gradient (eq. 2 and eq. 56) and, for a spike arrival, the targets'
//! `w (λ_V - ρ λ_I)` summed in target order is that spike's share. The jump at a spike is
//! eq. (52a) as in `backward.rs`.
//!
//! Used exactly when the forward pass sweeps ([`Model::sweeps`]), unless adjoint samples are
//! requested (those take the event-driven backward pass, which reads the same record).

use super::arrival_lanes::{self, ArrivalRun, ArrivalSlot};
use super::closed_form::Decay;
use super::model::{Fan, Model};
use super::simd::{self, Isa};
use super::sweep::{at_least, slot_decay, Arrival, ARRIVAL, PROBE};
use super::sweep_neuron::BY_NEURON_MAX;
use super::workspace::NetworkWorkspace;
use crate::LifError;

/// Something that changes one neuron's adjoint at a time inside a slot, in the order handled
/// backwards at equal times: probes, own spikes, maxima.
#[derive(Clone, Copy, Debug, Default)]
struct Item {
    slot: u32,
    neuron: u32,
    time: f64,
    /// 0: probe (`∂l/∂V` in `value`), 1: own spike (`index` into the record), 2: maximum.
    rank: u32,
    index: u32,
    value: f64,
}

/// Scratch of the backward sweeps (emptied after each pass).
#[derive(Clone, Debug, Default)]
pub(crate) struct BackScratch {
    /// The input events of the population without probes, when they are not a range of the
    /// forward pass's kept events (`collect_events_back`).
    bounds: Vec<Arrival>,
    /// Per probe: its slot.
    probe_slot: Vec<u32>,
    items: Vec<Item>,
    sorted: Vec<Item>,
    counts: Vec<u32>,
    /// Per spike: `Σ_targets w (λ_V - ρ λ_I)/τm` over the populations done so far.
    jump: Vec<f64>,
    /// Per neuron of the population: the last slot (+ 1) in which it met an item, and the time
    /// its walk stands at; the neurons met in the current slot.
    stamp: Vec<u32>,
    pos: Vec<f64>,
    touched: Vec<u32>,
    /// A run of arrival slots (`Model::arrival_slots`).
    run: Vec<ArrivalSlot>,
}

impl BackScratch {
    fn clear(&mut self) {
        self.bounds.clear();
        self.probe_slot.clear();
        self.items.clear();
        self.sorted.clear();
        self.counts.clear();
        self.jump.clear();
        self.stamp.clear();
        self.touched.clear();
    }
}

/// Where the forward pass recorded the slots' `Decay`s of population `p` in `slot_decays`, if
/// it did with the population's time constants ([`forward_decay`]).
fn recorded_decays(ws: &NetworkWorkspace, p: usize) -> Option<usize> {
    let k = &ws.consts[p].k;
    let &(from, inv_m, inv_s) = ws.sweep.slot_pops.get(p)?;
    let same =
        inv_m.to_bits() == k.inv_tau_mem.to_bits() && inv_s.to_bits() == k.inv_tau_syn.to_bits();
    same.then_some(from)
}

/// The `Decay` of slot `s` (length `dt`) of population `p`: the forward pass's (the same slot,
/// so the same bits; `from` of [`recorded_decays`]), recomputed if that pass did not record it.
#[inline(always)]
fn forward_decay(ws: &NetworkWorkspace, p: usize, from: Option<usize>, s: usize, dt: f64) -> Decay {
    let recorded = from.and_then(|from| {
        let &(len, d) = ws.sweep.slot_decays.get(from + s)?;
        (len.to_bits() == dt.to_bits()).then_some(d)
    });
    recorded.unwrap_or_else(|| slot_decay(&ws.consts[p], dt))
}

/// The slots of `run` in order, neuron by neuron in scalar code (`arrival_lanes::step`).
fn arrival_slots_scalar(run: &[ArrivalSlot], r: &mut ArrivalRun<'_>) {
    let n = r.lv.len();
    let (lv, li) = (&mut *r.lv, &mut r.li[..n]);
    for sl in run {
        let d = &sl.d;
        let (g, w) = (
            &mut r.grad[sl.row..sl.row + n],
            &r.weights[sl.row..sl.row + n],
        );
        let mut sum = 0.0;
        for j in 0..n {
            sum += arrival_lanes::step(d, r.rho, (&mut lv[j], &mut li[j]), &mut g[j], w[j]);
        }
        r.jump[sl.spike] += sum * r.inv_tau_mem;
    }
}

/// Each slot's items (`items` grouped by slot) by time, last first, then rank.
fn sort_slots(items: &mut [Item]) {
    let order = |a: &Item, b: &Item| b.time.total_cmp(&a.time).then(a.rank.cmp(&b.rank));
    for group in items.chunk_by_mut(|a, b| a.slot == b.slot) {
        if !group.is_sorted_by(|a, b| order(a, b).is_le()) {
            group.sort_unstable_by(order);
        }
    }
}

impl Model<'_> {
    /// The backward pass by sweeps (module docs); the common checks and the observations of
    /// `backward.rs` have run, `ws.spike_cot` holds `∂l/∂t_k` with the kink terms of maxima.
    pub(crate) fn sweep_backward(
        &self,
        ws: &mut NetworkWorkspace,
        probe_cot: &[f64],
        grad: &mut [Vec<f64>],
    ) -> Result<(), LifError> {
        let back = &mut ws.sweep_back;
        back.jump.clear();
        back.jump.resize(ws.spikes.len(), 0.0);
        // The kept events and the bounds' own copy are taken out of the workspace while a
        // population's bounds borrow them.
        let kept = std::mem::take(&mut ws.sweep.kept);
        let mut own = std::mem::take(&mut ws.sweep_back.bounds);
        let mut run = || {
            for p in (0..self.pops.len()).rev() {
                let bounds = if self.collect_events_back(ws, p, &kept, &mut own) {
                    &kept[p][..]
                } else {
                    &own[..]
                };
                self.collect_items(ws, p, bounds, probe_cot);
                self.sweep_population_back(ws, p, bounds, grad)?;
            }
            Ok(())
        };
        let done = run();
        ws.sweep.kept = kept;
        ws.sweep_back.bounds = own;
        ws.sweep.clear();
        ws.sweep_back.clear();
        done
    }

    /// The input events of population `p` without its probes (slot boundaries), and each of its
    /// probes' slot: those the forward sweep kept (in the record's numbering), or collected
    /// again from the record (the same events in the same order) if it kept none. Returns
    /// whether they are `kept[p]` (kept, without a probe), else writes them to `own`.
    fn collect_events_back(
        &self,
        ws: &mut NetworkWorkspace,
        p: usize,
        kept: &[Vec<Arrival>],
        own: &mut Vec<Arrival>,
    ) -> bool {
        let in_kept = ws.sweep.kept_pops == self.pops.len();
        let events = if in_kept {
            &kept[p][..]
        } else {
            self.collect_events(ws, p, true);
            &ws.sweep.events[..]
        };
        let b = &mut ws.sweep_back;
        b.probe_slot.clear();
        b.probe_slot.resize(ws.probes.len(), 0);
        own.clear();
        if in_kept && !events.iter().any(|e| e.class == PROBE) {
            return true;
        }
        for e in events {
            if e.class == PROBE {
                b.probe_slot[e.proj as usize] = own.len() as u32;
            } else {
                own.push(*e);
            }
        }
        false
    }

    /// The items of population `p` (slot boundaries `bounds`), sorted by slot (last first),
    /// time (last first), rank.
    fn collect_items(
        &self,
        ws: &mut NetworkWorkspace,
        p: usize,
        bounds: &[Arrival],
        probe_cot: &[f64],
    ) {
        let (lo, hi) = (ws.offsets[p], ws.offsets[p + 1]);
        let sw = &mut ws.sweep_back;
        // The slot of time `t` (the number of bounds before `t`) for times met last first: a
        // cursor moving down from `at` (the same count as a binary search).
        let slot_of = |t: f64, at: &mut usize| {
            while *at > 0 && bounds[*at - 1].time >= t {
                *at -= 1;
            }
            *at as u32
        };
        sw.items.clear();
        // Pushed last first: a slot of spikes alone (the common case) needs no sort below.
        let mut at = bounds.len();
        for (k, s) in ws.spikes.iter().enumerate().rev() {
            let j = s.neuron as usize;
            if (lo..hi).contains(&j) {
                sw.items.push(Item {
                    slot: slot_of(s.time, &mut at),
                    neuron: (j - lo) as u32,
                    time: s.time,
                    rank: 1,
                    index: k as u32,
                    value: 0.0,
                });
            }
        }
        // Spikes alone come last first by time (the record's order reversed), so each slot's
        // are in `sort_slots`'s order already (times not increasing, one rank): nothing to sort.
        let spikes = sw.items.len();
        let mut at = bounds.len();
        for &(time, j, c) in ws.observations.iter().rev() {
            let j = j as usize;
            if (lo..hi).contains(&j) {
                sw.items.push(Item {
                    slot: slot_of(time, &mut at),
                    neuron: (j - lo) as u32,
                    time,
                    rank: 2,
                    index: 0,
                    value: c,
                });
            }
        }
        for (q, (pr, &c)) in ws.probes.iter().zip(probe_cot).enumerate() {
            if pr.population == p && c != 0.0 {
                sw.items.push(Item {
                    slot: sw.probe_slot[q],
                    neuron: pr.neuron as u32,
                    time: pr.time,
                    rank: 0,
                    index: q as u32,
                    value: c,
                });
            }
        }
        if sw.items.len() == spikes {
            return;
        }
        // By slot (counting sort, last slot first), then each slot's few items.
        if sw.items.windows(2).all(|w| w[0].slot >= w[1].slot) {
            sort_slots(&mut sw.items);
            return;
        }
        let n_slots = bounds.len() + 1;
        sw.counts.clear();
        sw.counts.resize(n_slots + 1, 0);
        for x in &sw.items {
            sw.counts[n_slots - x.slot as usize] += 1;
        }
        for k in 1..=n_slots {
            sw.counts[k] += sw.counts[k - 1];
        }
        sw.sorted.clear();
        sw.sorted.resize(
            sw.items.len(),
            sw.items.first().copied().unwrap_or_default(),
        );
        for x in &sw.items {
            let at = &mut sw.counts[n_slots - 1 - x.slot as usize];
            sw.sorted[*at as usize] = *x;
            *at += 1;
        }
        std::mem::swap(&mut sw.items, &mut sw.sorted);
        sort_slots(&mut sw.items);
    }

    /// Walks population `p` backwards through its slots (boundaries `bounds`; module docs).
    fn sweep_population_back(
        &self,
        ws: &mut NetworkWorkspace,
        p: usize,
        bounds: &[Arrival],
        grad: &mut [Vec<f64>],
    ) -> Result<(), LifError> {
        let n = self.pops[p].size;
        let sw = &mut ws.sweep;
        // The adjoints at `t_end` are 0; `v_next`, `i_next` are written for every neuron by
        // `simd::adjoint_decay` before `walk_items` reads its neurons' (after writing them) and
        // the swap makes them the adjoints; `pos[j]` is written with `stamp[j]` before it is read.
        for buf in [&mut sw.v, &mut sw.i] {
            buf.clear();
            buf.resize(n, 0.0);
        }
        at_least(&mut sw.v_next, n);
        at_least(&mut sw.i_next, n);
        let b = &mut ws.sweep_back;
        b.stamp.clear();
        b.stamp.resize(n, 0);
        at_least(&mut b.pos, n);
        let n_b = bounds.len();
        let isa = Isa::select(ws.vectors);
        let from = recorded_decays(ws, p);
        let small = n <= BY_NEURON_MAX;
        let mut it = 0;
        let mut active = false;
        let mut s = n_b + 1;
        while s > 0 {
            s -= 1;
            if !active {
                // Until an item carries something, a slot without items does nothing (no
                // decay, no arrival): straight to the next item's slot.
                let next = ws.sweep_back.items.get(it).map_or(0, |x| x.slot as usize);
                s = s.min(next);
            }
            // A small population's run of slots without items, each opened by a spike arrival.
            let no_item = |b: &BackScratch| b.items.get(it).is_none_or(|x| (x.slot as usize) < s);
            if small && active && s > 0 && no_item(&ws.sweep_back) {
                let stop = self.arrival_slots(ws, p, (bounds, from), s, it, grad, isa);
                if stop < s {
                    // Slots `stop + 1..=s` done, arrivals included; slot `stop` is next.
                    s = stop + 1;
                    continue;
                }
            }
            let start = if s == 0 { 0.0 } else { bounds[s - 1].time };
            let end = bounds.get(s).map_or(self.t_end, |e| e.time);
            // Until an item carries something (an observation, or a spike with `∂l/∂t` or a
            // share of a later population), every adjoint of the population is 0.
            let first = it;
            let b = &ws.sweep_back;
            // (Once active, the slot's items are only counted.)
            while let Some(x) = b.items.get(it).filter(|x| x.slot as usize == s) {
                if !active {
                    let k = x.index as usize;
                    active = x.rank != 1 || ws.spike_cot[k] != 0.0 || b.jump[k] != 0.0;
                }
                it += 1;
            }
            // A slot of length zero without items (simultaneous input events) leaves every
            // adjoint as it is: `Decay::IDENTITY`.
            if active && (end > start || first < it) {
                let d = forward_decay(ws, p, from, s, end - start);
                let sw = &mut ws.sweep;
                let (lv, li) = (&sw.v[..n], &sw.i[..n]);
                let (lv1, li1) = (&mut sw.v_next[..n], &mut sw.i_next[..n]);
                simd::adjoint_decay(isa, &d, lv, li, lv1, li1);
                if first < it {
                    self.walk_items(ws, p, first..it, end, start, s as u32 + 1)?;
                }
                let sw = &mut ws.sweep;
                std::mem::swap(&mut sw.v, &mut sw.v_next);
                std::mem::swap(&mut sw.i, &mut sw.i_next);
            }
            if s == 0 {
                break;
            }
            if active {
                let e = bounds[s - 1];
                self.event_back(ws, p, e, grad, isa);
            }
        }
        Ok(())
    }

    /// The neurons with items in `range` (all in the slot `[start, end]`, last first) through
    /// them, each from its adjoint at `end`; writes their adjoints at `start` (`stamp` marks the
    /// neurons met in this slot; each neuron meets its items in the order of `collect_items`).
    fn walk_items(
        &self,
        ws: &mut NetworkWorkspace,
        p: usize,
        range: std::ops::Range<usize>,
        end: f64,
        start: f64,
        stamp: u32,
    ) -> Result<(), LifError> {
        let k = &ws.consts[p].k;
        let b = &mut ws.sweep_back;
        b.touched.clear();
        for a in range {
            let item = b.items[a];
            let j = item.neuron as usize;
            // The neuron's adjoint where its walk stands (`pos`), kept in the `_next` arrays.
            let (mut lv, mut li, pos) = if b.stamp[j] == stamp {
                (ws.sweep.v_next[j], ws.sweep.i_next[j], b.pos[j])
            } else {
                b.stamp[j] = stamp;
                b.touched.push(j as u32);
                (ws.sweep.v[j], ws.sweep.i[j], end)
            };
            // (A zero adjoint stays zero: no decay needed.)
            if pos > item.time && (lv != 0.0 || li != 0.0) {
                let d = k.decay_swept(pos - item.time);
                li = d.syn * li + d.cross * lv;
                lv *= d.mem;
            }
            b.pos[j] = item.time;
            if item.rank == 1 {
                let sp = ws.spikes[item.index as usize];
                let kk = item.index as usize;
                let bracket = lv * sp.i_syn * k.inv_tau_mem - ws.spike_cot[kk] + b.jump[kk];
                let vdot = (sp.i_syn - k.threshold) * k.inv_tau_mem;
                if vdot == 0.0 {
                    let (population, neuron) = self.name_of(sp.neuron as usize);
                    return Err(LifError::GrazingSpikeIn {
                        population,
                        neuron,
                        time: sp.time,
                    });
                }
                lv = bracket / vdot;
                if !lv.is_finite() {
                    return Err(self.non_finite("adjoint λ_V", sp.neuron as usize, sp.time));
                }
            } else {
                lv += item.value;
            }
            (ws.sweep.v_next[j], ws.sweep.i_next[j]) = (lv, li);
        }
        for &j in &b.touched {
            let j = j as usize;
            let (mut lv, mut li, pos) = (ws.sweep.v_next[j], ws.sweep.i_next[j], b.pos[j]);
            if pos > start && (lv != 0.0 || li != 0.0) {
                let d = k.decay_swept(pos - start);
                li = d.syn * li + d.cross * lv;
                lv *= d.mem;
            }
            (ws.sweep.v_next[j], ws.sweep.i_next[j]) = (lv, li);
        }
        Ok(())
    }

    /// For a small population (at most `BY_NEURON_MAX` neurons: MNIST's readout, Yin-Yang's
    /// output), from slot `s` down: each slot of positive length without items (`it`: the
    /// next item, of an earlier slot) that a spike arrival through a dense projection (the
    /// same for the whole run) opens, its decay (`simd::adjoint_decay`) and the arrival
    /// (`event_back`) in one loop, the adjoints updated in place, with the same operations per
    /// neuron and the share summed in the same order (the vector calls on rows of ~10 were
    /// mostly their set-up), without going back to the slot loop between two such slots: in
    /// AVX2 lanes where the CPU has them (`arrival_lanes.rs`), else in scalar code. Returns the
    /// first slot not done (`s` if none was). `bounds`: the population's slot boundaries;
    /// `from`: its recorded decays ([`recorded_decays`]).
    fn arrival_slots(
        &self,
        ws: &mut NetworkWorkspace,
        p: usize,
        (bounds, from): (&[Arrival], Option<usize>),
        s: usize,
        it: usize,
        grad: &mut [Vec<f64>],
        isa: Isa,
    ) -> usize {
        let n = self.pops[p].size;
        let before = ws
            .sweep_back
            .items
            .get(it)
            .map_or(0, |x| x.slot as usize + 1);
        // The run's slots, from `s` down to `stop + 1`.
        let mut run = std::mem::take(&mut ws.sweep_back.run);
        run.clear();
        let mut stop = s;
        let mut pj = None;
        while stop > 0 && stop >= before.max(1) {
            let e = bounds[stop - 1];
            let end = bounds.get(stop).map_or(self.t_end, |e| e.time);
            let proj = &self.projs[e.proj as usize];
            let pre = e.pre as usize;
            let dense =
                matches!(proj.fan, Fan::Dense { n_pre, n_post } if pre < n_pre && n_post == n);
            let same = pj.is_none_or(|pj| pj == e.proj);
            if !(dense && same && e.class == ARRIVAL && end > e.time) {
                break;
            }
            pj = Some(e.proj);
            run.push(ArrivalSlot {
                d: forward_decay(ws, p, from, stop, end - e.time),
                row: pre * n,
                spike: e.spike as usize,
            });
            stop -= 1;
        }
        if let Some(pj) = pj {
            let k = &ws.consts[p].k;
            let sw = &mut ws.sweep;
            let mut r = ArrivalRun {
                lv: &mut sw.v[..n],
                li: &mut sw.i[..n],
                grad: &mut grad[pj as usize],
                weights: self.projs[pj as usize].weights,
                jump: &mut ws.sweep_back.jump,
                rho: k.rho,
                inv_tau_mem: k.inv_tau_mem,
            };
            if !simd::arrival_lanes(isa, &run, &mut r) {
                arrival_slots_scalar(&run, &mut r);
            }
        }
        ws.sweep_back.run = run;
        stop
    }

    /// Input event `e` of population `p` backwards: `λ_I` of each target into the weight's
    /// gradient; for a spike arrival, the targets' share of the spike's jump.
    fn event_back(
        &self,
        ws: &mut NetworkWorkspace,
        p: usize,
        e: Arrival,
        grad: &mut [Vec<f64>],
        isa: Isa,
    ) {
        let k = &ws.consts[p].k;
        let pj = e.proj as usize;
        let proj = &self.projs[pj];
        let pre = e.pre as usize;
        let sw = &ws.sweep;
        let n = self.pops[p].size;
        let (lv, li) = (&sw.v[..n], &sw.i[..n]);
        let mut sum = 0.0;
        let arrival = e.class == ARRIVAL;
        match proj.fan {
            Fan::Dense { n_pre, n_post } => {
                assert!(pre < n_pre && n_post == n);
                // Row `pre` of the pre-major gradient and weights: contiguous.
                let row = pre * n_post..(pre + 1) * n_post;
                let g = &mut grad[pj][row.clone()];
                if arrival {
                    sum = simd::arrival_row(isa, g, &proj.weights[row], lv, li, k.rho);
                } else {
                    simd::add_to_row(isa, g, li);
                }
            }
            Fan::Sparse { offsets, targets } => {
                let range = offsets[pre] as usize..offsets[pre + 1] as usize;
                let g = &mut grad[pj][range.clone()];
                let syn = targets[range.clone()].iter().zip(&proj.weights[range]);
                for ((&t, &w), g) in syn.zip(g) {
                    let t = t as usize;
                    *g += li[t];
                    sum += w * (lv[t] - k.rho * li[t]);
                }
            }
        }
        if arrival {
            ws.sweep_back.jump[e.spike as usize] += sum * k.inv_tau_mem;
        }
    }
}
