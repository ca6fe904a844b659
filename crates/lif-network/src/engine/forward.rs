//! The forward pass: exact, event-driven, lazy.
//!
//! Events are the input spikes, the probes, and per neuron at most one pending event in a
//! priority queue: its next threshold crossing, or the end of its refractory period. An event
//! touches only the neurons it reaches: a spike of neuron `n` advances each target of `n`'s
//! fan-out lists to the spike time in closed form (`clock.rs`: two multiplications for the
//! decays), adds the weight to its current, and recomputes that target's next crossing only if
//! a crossing is possible at all (`I > ϑ` and the bound of the membrane maximum reaches `ϑ`,
//! else there is none: `V <= max(V, I)` until the next input). A spike costs
//! `O(fan-out · log N)`; neurons no event reaches cost nothing.
//!
//! Ties at one time: queue events first (ends of refractory periods before crossings, then by
//! neuron), then probes, then inputs. The next crossing is located by
//! `Kernel::first_crossing` over `[t, t_end]` from the touched state, which misses none (one
//! stationary point per inter-event interval).

use super::clock::{Mark, PopConsts};
use super::model::{Fan, Model, Proj};
use super::network::{InputSpike, Network, Source};
use super::queue::{EventQueue, Kind};
use super::workspace::{
    Cell, NetworkWorkspace, NeuronProbe, PeakCause, Spike, VoltagePeak, NO_SPIKE,
};
use crate::LifError;

impl Network {
    /// Simulates one sample on `[0, t_end]`, recording spikes and probe values in `ws`. Input
    /// spikes need not be sorted; spikes later than `t_end` are ignored.
    pub fn forward(
        &self,
        input: &[InputSpike],
        probes: &[NeuronProbe],
        ws: &mut NetworkWorkspace,
    ) -> Result<(), LifError> {
        Model::of_network(self)?.forward(input, probes, ws)
    }
}

impl Model<'_> {
    /// The forward pass of a validated model (see [`Network::forward`]).
    pub(crate) fn forward(
        &self,
        input: &[InputSpike],
        probes: &[NeuronProbe],
        ws: &mut NetworkWorkspace,
    ) -> Result<(), LifError> {
        ws.fingerprint = 0;
        self.load(input, probes, ws)?;
        let n = ws.pop_of.len();
        ws.first_spike.clear();
        ws.first_spike.resize(n, NO_SPIKE);
        ws.spikes.clear();
        ws.min_abs_vdot = f64::INFINITY;
        ws.events = 0;
        ws.peaks.clear();
        ws.peaks.extend(ws.pop_of.iter().map(|&p| {
            let c = &ws.consts[p as usize];
            if c.spiking && !c.silent {
                VoltagePeak::NOT_TRACKED
            } else {
                VoltagePeak::REST
            }
        }));

        if ws.allow_sweeps && self.sweeps() {
            self.sweep_forward(ws)?;
        } else {
            self.run_queue(ws)?;
        }
        ws.fingerprint = self.fingerprint();
        Ok(())
    }

    /// The event-driven loop of [`forward`](Self::forward) (module docs).
    fn run_queue(&self, ws: &mut NetworkWorkspace) -> Result<(), LifError> {
        let n = ws.pop_of.len();
        ws.queue.reset(n);
        ws.clocks.reset(&ws.consts, 0.0);
        // At the epoch every exponential is exactly 1.
        ws.cells.clear();
        ws.cells.resize(n, Cell::at(Mark::at_epoch(0.0)));
        let (mut next_in, mut next_pr) = (0usize, 0usize);
        loop {
            let t_q = ws.queue.peek().map_or(f64::INFINITY, |e| e.0);
            let t_in = ws.inputs.get(next_in).map_or(f64::INFINITY, |s| s.time);
            let t_pr = ws
                .probe_order
                .get(next_pr)
                .map_or(f64::INFINITY, |&q| ws.probes[q as usize].time);
            let t = t_q.min(t_in).min(t_pr);
            if t == f64::INFINITY {
                break;
            }
            if ws.clocks.needs_rebase(t) {
                rebase_forward(ws, t);
            }
            if t_q == t {
                let Some((_, j, kind)) = ws.queue.pop() else {
                    break;
                };
                ws.cells[j].pending = f64::INFINITY;
                ws.cells[j].kind = Kind::Check;
                match kind {
                    Kind::Wake => self.wake(ws, j, t),
                    Kind::Spike => self.spike(ws, j, t)?,
                    Kind::Check => self.check(ws, j, t),
                }
            } else if t_pr == t {
                let q = ws.probe_order[next_pr] as usize;
                let p = ws.probes[q];
                let j = ws.offsets[p.population] + p.neuron;
                ws.probe_values[q] = voltage_at(ws, j, t);
                next_pr += 1;
            } else {
                let src = ws.inputs[next_in].source as usize;
                for k in 0..ws.from_inputs.len() {
                    let proj = &self.projs[ws.from_inputs[k] as usize];
                    self.deliver(ws, proj, src, t, PeakCause::InputArrival);
                }
                next_in += 1;
            }
        }
        self.finish_peaks(ws);
        for j in 0..n {
            if !(ws.cells[j].v.is_finite() && ws.cells[j].i.is_finite()) {
                return Err(self.non_finite("membrane state", j, self.t_end));
            }
        }
        Ok(())
    }

    /// Validates and loads inputs and probes, the per-population constants and the fan-out
    /// tables.
    fn load(
        &self,
        input: &[InputSpike],
        probes: &[NeuronProbe],
        ws: &mut NetworkWorkspace,
    ) -> Result<(), LifError> {
        ws.inputs.clear();
        for (index, s) in input.iter().enumerate() {
            s.check(index, self.n_inputs)?;
            if s.time <= self.t_end {
                ws.inputs.push(*s);
            }
        }
        if !ws.inputs.windows(2).all(|w| w[0].time <= w[1].time) {
            ws.inputs.sort_by(|a, b| a.time.total_cmp(&b.time));
        }
        for (index, p) in probes.iter().enumerate() {
            let ok = self
                .pops
                .get(p.population)
                .is_some_and(|pop| p.neuron < pop.size)
                && p.time.is_finite()
                && (0.0..=self.t_end).contains(&p.time);
            if !ok {
                return Err(LifError::InvalidNeuronProbe {
                    index,
                    population: p.population,
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
        ws.probe_order.clear();
        ws.probe_order.extend(0..probes.len() as u32);
        let pr = &ws.probes;
        ws.probe_order
            .sort_by(|&a, &b| pr[a as usize].time.total_cmp(&pr[b as usize].time));
        ws.consts.clear();
        ws.offsets.clear();
        ws.pop_of.clear();
        for (p, pop) in self.pops.iter().enumerate() {
            ws.consts.push(PopConsts::new(pop)?);
            ws.offsets.push(ws.pop_of.len());
            ws.pop_of.extend(std::iter::repeat_n(p as u32, pop.size));
        }
        ws.offsets.push(ws.pop_of.len());
        ws.out_of.iter_mut().for_each(Vec::clear);
        ws.out_of.resize_with(self.pops.len(), Vec::new);
        ws.from_inputs.clear();
        for (k, proj) in self.projs.iter().enumerate() {
            match proj.source {
                Source::Input => ws.from_inputs.push(k as u32),
                Source::Population(p) => ws.out_of[p].push(k as u32),
            }
        }
        Ok(())
    }

    /// A spike of presynaptic neuron `pre` of `proj` at `t`: every synapse touches its target.
    #[inline]
    fn deliver(
        &self,
        ws: &mut NetworkWorkspace,
        proj: &Proj<'_>,
        pre: usize,
        t: f64,
        cause: PeakCause,
    ) {
        match proj.fan {
            Fan::Sparse { offsets, targets } => {
                let range = offsets[pre] as usize..offsets[pre + 1] as usize;
                let targets = targets[range.clone()].iter().map(|&t| t as usize);
                let syn = targets.zip(proj.weights[range].iter().copied());
                self.deliver_to(ws, proj.target, syn, t, cause);
            }
            Fan::Dense { n_pre, n_post } => {
                assert!(pre < n_pre);
                let w = proj.weights.chunks_exact(n_pre).map(|row| row[pre]);
                self.deliver_to(ws, proj.target, (0..n_post).zip(w), t, cause);
            }
        }
    }

    /// Delivers weight `w` to neuron `post` of population `p` for every `(post, w)` of `syn`.
    #[inline(always)]
    fn deliver_to(
        &self,
        ws: &mut NetworkWorkspace,
        p: usize,
        syn: impl Iterator<Item = (usize, f64)>,
        t: f64,
        cause: PeakCause,
    ) {
        let base = ws.offsets[p];
        let pc = ws.consts[p];
        let clock = ws.clocks.at(&ws.consts, p, t);
        if !pc.spiking {
            for (target, w) in syn {
                ws.events += 1;
                let j = base + target;
                let c = &mut ws.cells[j];
                let d = c.mark.decay_to(&pc, &clock);
                let (v1, i1) = (d.voltage(c.v, c.i), d.syn * c.i);
                track_peak(
                    &pc,
                    &mut ws.peaks[j],
                    (c.v, c.i, c.mark.t),
                    (v1, i1, t),
                    cause,
                );
                c.mark = Mark::forward(&clock);
                c.v = v1;
                c.i = i1 + w;
            }
            return;
        }
        let (cells, queue, peaks) = (&mut ws.cells, &mut ws.queue, &mut ws.peaks);
        let mut events = 0;
        for (target, w) in syn {
            events += 1;
            let j = base + target;
            let c = &mut cells[j];
            let d = c.mark.decay_to(&pc, &clock);
            if c.ref_until > t {
                // Refractory: V stays clamped at 0, I integrates; the wake-up schedules.
                c.mark = Mark::forward(&clock);
                c.i = d.syn * c.i + w;
                continue;
            }
            let (v1, i1) = (d.voltage(c.v, c.i), d.syn * c.i);
            if pc.silent && peaks[j].cause != PeakCause::NotTracked {
                track_peak(&pc, &mut peaks[j], (c.v, c.i, c.mark.t), (v1, i1, t), cause);
            }
            c.mark = Mark::forward(&clock);
            c.v = v1;
            c.i = i1 + w;
            let was_exact = c.kind == Kind::Spike;
            if was_exact {
                // The exact crossing was computed from the state before this input. (`kind`
                // says `Spike` only while that entry is pending, so this branch is rarely taken.)
                c.pending = f64::INFINITY;
                c.kind = Kind::Check;
            }
            // One branch (rarely taken) instead of one per condition: `at` is `+inf` when no
            // check is needed, which fails both comparisons.
            let at = check_at(&pc, t, c.v, c.i);
            if (at < c.pending) & (at <= self.t_end) {
                push_cell(queue, c, j, at, Kind::Check);
            } else if was_exact {
                queue.remove(j);
            }
        }
        ws.events += events;
    }

    /// A lower bound of neuron `j`'s next crossing was reached at `t`: locate the crossing
    /// exactly from the state at `t`.
    fn check(&self, ws: &mut NetworkWorkspace, j: usize, t: f64) {
        let p = ws.pop_of[j] as usize;
        let pc = ws.consts[p];
        let clock = ws.clocks.at(&ws.consts, p, t);
        let d = ws.cells[j].mark.decay_to(&pc, &clock);
        let (v, i) = (
            d.voltage(ws.cells[j].v, ws.cells[j].i),
            d.syn * ws.cells[j].i,
        );
        ws.cells[j].v = v;
        ws.cells[j].i = i;
        ws.cells[j].mark = Mark::forward(&clock);
        let k = &pc.k;
        let len = self.t_end - t;
        if let Some(tau) = k.first_crossing(v, i, len, &k.decay(len)) {
            push(ws, j, (t + tau).min(self.t_end), Kind::Spike);
        }
    }

    /// The next crossing of neuron `j` fired at `t`: record, reset, deliver.
    fn spike(&self, ws: &mut NetworkWorkspace, j: usize, t: f64) -> Result<(), LifError> {
        let p = ws.pop_of[j] as usize;
        let pc = ws.consts[p];
        let clock = ws.clocks.at(&ws.consts, p, t);
        let d = ws.cells[j].mark.decay_to(&pc, &clock);
        let i = d.syn * ws.cells[j].i;
        ws.cells[j].mark = Mark::forward(&clock);
        if !i.is_finite() {
            return Err(self.non_finite("synaptic current", j, t));
        }
        ws.min_abs_vdot = ws
            .min_abs_vdot
            .min((i - pc.k.threshold).abs() * pc.k.inv_tau_mem);
        if ws.first_spike[j] == NO_SPIKE {
            ws.first_spike[j] = ws.spikes.len() as u32;
            if pc.silent {
                ws.peaks[j] = VoltagePeak::NOT_TRACKED;
            }
        }
        self.push_spike(ws, j, t, i)?;
        ws.cells[j].v = 0.0;
        ws.cells[j].i = i;
        if pc.t_ref > 0.0 {
            let until = t + pc.t_ref;
            ws.cells[j].ref_until = until;
            if until < self.t_end {
                push(ws, j, until, Kind::Wake);
            }
        } else {
            schedule(ws, &pc, j, t, 0.0, i, self.t_end);
        }
        for k in 0..ws.out_of[p].len() {
            let proj = &self.projs[ws.out_of[p][k] as usize];
            let cause = PeakCause::SpikeArrival(ws.spikes.len() - 1);
            self.deliver(ws, proj, j - ws.offsets[p], t, cause);
        }
        Ok(())
    }

    /// End of neuron `j`'s refractory period at `t`: its current is recorded, the membrane is
    /// released from 0, and its next crossing scheduled.
    fn wake(&self, ws: &mut NetworkWorkspace, j: usize, t: f64) {
        let p = ws.pop_of[j] as usize;
        let pc = ws.consts[p];
        let clock = ws.clocks.at(&ws.consts, p, t);
        let d = ws.cells[j].mark.decay_to(&pc, &clock);
        let i = d.syn * ws.cells[j].i;
        ws.cells[j].mark = Mark::forward(&clock);
        ws.cells[j].v = 0.0;
        ws.cells[j].i = i;
        ws.cells[j].ref_until = f64::NEG_INFINITY;
        schedule(ws, &pc, j, t, 0.0, i, self.t_end);
    }

    /// The last segment of every readout neuron, up to `t_end`.
    fn finish_peaks(&self, ws: &mut NetworkWorkspace) {
        if ws.consts.iter().all(|c| c.spiking && !c.silent) {
            return;
        }
        if ws.clocks.needs_rebase(self.t_end) {
            rebase_forward(ws, self.t_end);
        }
        for j in 0..ws.cells.len() {
            let p = ws.pop_of[j] as usize;
            let pc = ws.consts[p];
            if ws.peaks[j].cause == PeakCause::NotTracked {
                continue;
            }
            let clock = ws.clocks.at(&ws.consts, p, self.t_end);
            let c = &ws.cells[j];
            let d = c.mark.decay_to(&pc, &clock);
            let end = (d.voltage(c.v, c.i), d.syn * c.i, self.t_end);
            let start = (c.v, c.i, c.mark.t);
            track_peak(&pc, &mut ws.peaks[j], start, end, PeakCause::End);
        }
    }

    /// Record a spike of neuron `j` at `t` with synaptic current `i_syn` just before it (the
    /// record the backward pass reads), or fail with [`LifError::SpikeLimit`] at the workspace's
    /// limit. Shared by the event queue and the population sweeps.
    pub(crate) fn push_spike(
        &self,
        ws: &mut NetworkWorkspace,
        j: usize,
        t: f64,
        i_syn: f64,
    ) -> Result<(), LifError> {
        ws.spikes.push(Spike {
            time: t,
            neuron: j as u32,
            i_syn,
        });
        if ws.spikes.len() >= ws.max_spikes {
            let (population, neuron) = self.name_of(j);
            return Err(LifError::SpikeLimit {
                population,
                neuron,
                time: t,
                count: ws.spikes.len(),
            });
        }
        Ok(())
    }

    pub(crate) fn non_finite(&self, what: &'static str, j: usize, time: f64) -> LifError {
        let (population, neuron) = self.name_of(j);
        LifError::NonFiniteIn {
            what,
            population,
            neuron,
            time,
        }
    }
}

/// Makes sure neuron `j`'s queue entry is not later than its next threshold crossing from
/// `(v, i)` at `t` (free evolution). None is needed if `V, I < ϑ` (then `V <= max(V, I) < ϑ`)
/// or the bound of the membrane maximum stays below `ϑ`. Otherwise `I > ϑ > V`, `V` rises and
/// is concave while rising (`V̈ = -(I/τs + V̇)/τm < 0`), so it stays below its tangent and cannot
/// reach `ϑ` before `t + τm (ϑ - V)/(I - V)`: a [`Kind::Check`] is queued there unless the
/// neuron's entry is already earlier (a division instead of the exact root, which is located
/// only when a check is reached before the next input touches the neuron).
#[inline]
fn schedule(
    ws: &mut NetworkWorkspace,
    pc: &PopConsts,
    j: usize,
    t: f64,
    v: f64,
    i: f64,
    t_end: f64,
) {
    if let Some(at) = check_time(pc, t, v, i, t_end) {
        if at < ws.cells[j].pending {
            push(ws, j, at, Kind::Check);
        }
    }
}

/// The time of the [`Kind::Check`] for `(v, i)` at `t` (see [`schedule`]), if one is needed.
#[inline(always)]
fn check_time(pc: &PopConsts, t: f64, v: f64, i: f64, t_end: f64) -> Option<f64> {
    let at = check_at(pc, t, v, i);
    (at <= t_end).then_some(at)
}

/// [`check_time`] before the comparison with `t_end`, `+inf` when no check is needed; written
/// without branches on the state (they would be unpredictable).
#[inline(always)]
fn check_at(pc: &PopConsts, t: f64, v: f64, i: f64) -> f64 {
    let k = &pc.k;
    let above = v >= k.threshold;
    let possible = above | ((i > k.threshold) & (k.max_upper_bound(v, i) >= pc.thr_bound));
    let bound = t + k.tau_mem * (k.threshold - v).max(0.0) / (i - v);
    // Selections by index, which compile to conditional moves rather than branches.
    let at = [bound, t][usize::from(above)];
    [f64::INFINITY, at][usize::from(possible)]
}

/// Queues `kind` for neuron `j` at `time`, invalidating its previous entry.
#[inline]
fn push(ws: &mut NetworkWorkspace, j: usize, time: f64, kind: Kind) {
    push_cell(&mut ws.queue, &mut ws.cells[j], j, time, kind);
}

#[inline]
fn push_cell(queue: &mut EventQueue, c: &mut Cell, j: usize, time: f64, kind: Kind) {
    c.pending = time;
    c.kind = kind;
    queue.set(j, time, kind);
}

/// Updates a readout neuron's maximum with the segment from `(v0, i0)` at `t0` to `(v1, i1)`
/// at `t1` (no input in between): its interior stationary point, if `V̇ > 0` at the start, `< 0`
/// at the end and the bound of the maximum can beat the best so far, and its end, attained at
/// `cause`.
#[inline]
pub(super) fn track_peak(
    pc: &PopConsts,
    best: &mut VoltagePeak,
    (v0, i0, t0): (f64, f64, f64),
    (v1, i1, t1): (f64, f64, f64),
    cause: PeakCause,
) {
    let k = &pc.k;
    if i0 > v0 && i1 < v1 && k.max_upper_bound(v0, i0) > best.value {
        if let Some((ts, vm)) = k.maximum(v0, i0) {
            if ts < t1 - t0 && vm > best.value {
                *best = VoltagePeak {
                    value: vm,
                    time: t0 + ts,
                    cause: PeakCause::Stationary,
                    vdot_minus: 0.0,
                };
            }
        }
    }
    if v1 > best.value {
        *best = VoltagePeak {
            value: v1,
            time: t1,
            cause,
            vdot_minus: (i1 - v1) * k.inv_tau_mem,
        };
    }
}

/// The membrane voltage of neuron `j` at `t` (0 while refractory), without changing its state.
fn voltage_at(ws: &mut NetworkWorkspace, j: usize, t: f64) -> f64 {
    if ws.cells[j].ref_until > t {
        return 0.0;
    }
    let p = ws.pop_of[j] as usize;
    let clock = ws.clocks.at(&ws.consts, p, t);
    let d = ws.cells[j].mark.decay_to(&ws.consts[p], &clock);
    d.voltage(ws.cells[j].v, ws.cells[j].i)
}

/// Moves the epoch to `t`, rescaling every neuron's mark.
fn rebase_forward(ws: &mut NetworkWorkspace, t: f64) {
    let shift = t - ws.clocks.epoch;
    for (c, &p) in ws.cells.iter_mut().zip(&ws.pop_of) {
        c.mark.rebase(&ws.consts[p as usize], shift, true);
    }
    ws.clocks.set_epoch(t);
}
