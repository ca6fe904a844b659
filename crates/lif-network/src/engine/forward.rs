//! The forward pass: exact, event-driven, lazy.
//!
//! Events are the input spikes, the probes, and per neuron at most one pending event in a
//! priority queue: its next threshold crossing, or the end of its refractory period. An event
//! touches only the neurons it reaches: a spike of neuron `n` adds the weight to the current of
//! each target of `n`'s fan-out lists (two multiply-adds on its absolute-time coefficients,
//! `coeffs.rs`, with the exponentials of the spike time shared by the population, `clock.rs`),
//! reads its `V` and `I` at the spike time (three multiplications), and schedules a check of
//! its next crossing only if a crossing is possible at all (`V >= ϑ`, or the bound of the
//! membrane maximum reaches `ϑ`, else there is none until the next input; a predictable
//! branch). A spike costs `O(fan-out · log N)`; neurons no event reaches cost nothing. A
//! handled queue entry is moved (to the neuron's next event) or removed, not popped first.
//!
//! Ties at one time: queue events first (ends of refractory periods before crossings, then by
//! neuron), then probes, then inputs. The next crossing is located by
//! `Kernel::first_crossing` over `[t, t_end]` from the touched state, which misses none (one
//! stationary point per inter-event interval).

use super::clock::{Clock, PopConsts};
use super::coeffs::{Neuron, Segment};
use super::model::{Fan, Model};
use super::network::{InputSpike, Network, Source};
use super::prepared::{MergedFans, QueuePlan};
use super::queue::{EventQueue, Kind};
use super::workspace::{NetworkWorkspace, NeuronProbe, PeakCause, Spike, VoltagePeak, NO_SPIKE};
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
    /// The forward pass of a validated model (see [`Network::forward`]), the event queue's
    /// [`QueuePlan`] built for this pass.
    pub(crate) fn forward(
        &self,
        input: &[InputSpike],
        probes: &[NeuronProbe],
        ws: &mut NetworkWorkspace,
    ) -> Result<(), LifError> {
        self.forward_planned(input, probes, ws, None)
    }

    /// [`forward`](Self::forward) with the event queue's plan built before
    /// (`super::PreparedNetwork`), or, for `None`, built now in the workspace's buffers.
    pub(crate) fn forward_planned(
        &self,
        input: &[InputSpike],
        probes: &[NeuronProbe],
        ws: &mut NetworkWorkspace,
        plan: Option<&QueuePlan>,
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
        for (c, size) in ws
            .consts
            .iter()
            .zip(ws.offsets.windows(2).map(|w| w[1] - w[0]))
        {
            let peak = if c.spiking && !c.silent {
                VoltagePeak::NOT_TRACKED
            } else {
                VoltagePeak::REST
            };
            ws.peaks.extend(std::iter::repeat_n(peak, size));
        }

        // Only a sweeping pass leaves its input events for the backward sweeps.
        ws.sweep.kept_at.clear();
        if ws.allow_sweeps && self.sweeps() {
            self.sweep_forward(ws)?;
        } else if let Some(plan) = plan {
            self.run_queue(ws, plan)?;
        } else {
            let mut own = std::mem::take(&mut ws.plan);
            own.build(self, ws.allow_merge);
            let run = self.run_queue(ws, &own);
            ws.plan = own;
            run?;
        }
        ws.fingerprint = self.fingerprint();
        Ok(())
    }

    /// The event-driven loop of [`forward`](Self::forward) (module docs).
    fn run_queue(&self, ws: &mut NetworkWorkspace, plan: &QueuePlan) -> Result<(), LifError> {
        let n = ws.pop_of.len();
        ws.queue.reset(n);
        ws.clocks.reset(&ws.consts, 0.0);
        ws.neurons.clear();
        ws.neurons.resize(n, Neuron::rest());
        ws.pending.clear();
        ws.pending.resize(n, self.idle());
        ws.ref_until.clear();
        ws.ref_until.resize(n, f64::NEG_INFINITY);
        ws.segments.clear();
        ws.segments.resize(n, Segment::default());
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
                // The entry stays in the queue while it is handled: a handler that queues the
                // neuron's next event moves it from the top (usually not far), else it goes.
                let Some((_, j, kind)) = ws.queue.peek() else {
                    break;
                };
                ws.pending[j] = self.idle();
                match kind {
                    Kind::Wake => self.wake(ws, j, t),
                    Kind::Spike => self.spike(ws, plan, j, t)?,
                    Kind::Check => self.check(ws, j, t),
                }
                if ws.pending[j] == self.idle() {
                    ws.queue.remove(j);
                }
            } else if t_pr == t {
                let q = ws.probe_order[next_pr] as usize;
                let p = ws.probes[q];
                let j = ws.offsets[p.population] + p.neuron;
                ws.probe_values[q] = voltage_at(ws, j, t);
                next_pr += 1;
            } else {
                let src = ws.inputs[next_in].source as usize;
                if plan.merged[0].on {
                    self.deliver_merged(ws, &plan.merged[0], src, t);
                } else {
                    for k in 0..ws.from_inputs.len() {
                        let pj = ws.from_inputs[k] as usize;
                        let exc = plan.excitatory[pj];
                        self.deliver(ws, pj, exc, src, t, PeakCause::InputArrival);
                    }
                }
                next_in += 1;
            }
        }
        self.finish_peaks(ws);
        for j in 0..n {
            if !(ws.neurons[j].a.is_finite() && ws.neurons[j].c.is_finite()) {
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
        // The constants (a few logarithms per population) are kept while the populations'
        // parameters stay the same.
        let kept = ws.consts.len() == self.pops.len()
            && ws
                .consts
                .iter()
                .zip(&self.pops)
                .all(|(c, pop)| c.built_from(pop));
        if !kept {
            ws.consts.clear();
            for pop in &self.pops {
                ws.consts.push(PopConsts::new(pop)?);
            }
        }
        ws.offsets.clear();
        ws.pop_of.clear();
        for (p, pop) in self.pops.iter().enumerate() {
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

    /// A spike of presynaptic neuron `pre` of projection `pj` at `t`: every synapse touches its
    /// target.
    #[inline]
    /// `excitatory`: no weight of the projection is negative.
    fn deliver(
        &self,
        ws: &mut NetworkWorkspace,
        pj: usize,
        excitatory: bool,
        pre: usize,
        t: f64,
        cause: PeakCause,
    ) {
        let proj = &self.projs[pj];
        match proj.fan {
            Fan::Sparse { offsets, targets } => {
                let range = offsets[pre] as usize..offsets[pre + 1] as usize;
                let targets = targets[range.clone()].iter().map(|&t| t as usize);
                let syn = targets.zip(proj.weights[range].iter().copied());
                self.deliver_to(ws, proj.target, excitatory, syn, t, cause);
            }
            Fan::Dense { n_pre, n_post } => {
                assert!(pre < n_pre);
                let w = proj.weights[pre * n_post..(pre + 1) * n_post]
                    .iter()
                    .copied();
                let syn = (0..n_post).zip(w);
                self.deliver_to(ws, proj.target, excitatory, syn, t, cause);
            }
        }
    }

    /// Delivers weight `w` to neuron `post` of population `p` for every `(post, w)` of `syn`;
    /// `excitatory`: no `w` is negative.
    #[inline(always)]
    fn deliver_to(
        &self,
        ws: &mut NetworkWorkspace,
        p: usize,
        excitatory: bool,
        syn: impl ExactSizeIterator<Item = (usize, f64)>,
        t: f64,
        cause: PeakCause,
    ) {
        let pc = &ws.consts[p];
        if !pc.spiking || pc.silent {
            self.deliver_tracked(ws, p, syn, t, cause);
            return;
        }
        let clock = ws.clocks.at_ref(&ws.consts, p, t);
        let pc = &ws.consts[p];
        let base = ws.offsets[p];
        let range = base..ws.offsets[p + 1];
        let pop = PopState {
            neurons: &mut ws.neurons[range.clone()],
            pending: &mut ws.pending[range.clone()],
            ref_until: &ws.ref_until[range],
            marked: &mut ws.marked,
            base,
        };
        let q = &mut ws.queue;
        ws.events += self.deliver_spiking_any(pop, q, pc, clock, excitatory, syn);
    }

    /// A spike of presynaptic neuron `pre` of a source (an input, or a neuron of a population)
    /// at `t`, through the source's merged fan `m` ([`MergedFans`]): one delivery loop instead
    /// of one per projection.
    fn deliver_merged(&self, ws: &mut NetworkWorkspace, m: &MergedFans, pre: usize, t: f64) {
        let range = m.offsets[pre] as usize..m.offsets[pre + 1] as usize;
        let targets = m.targets[range.clone()].iter().map(|&t| t as usize);
        let syn = targets.zip(m.weights[range].iter().copied());
        let (p, excitatory) = (m.pop, m.excitatory);
        let clock = ws.clocks.at_ref(&ws.consts, p, t);
        let pop = PopState {
            neurons: &mut ws.neurons,
            pending: &mut ws.pending,
            ref_until: &ws.ref_until,
            marked: &mut ws.marked,
            base: 0,
        };
        let (q, pc) = (&mut ws.queue, &ws.consts[p]);
        ws.events += self.deliver_spiking_any(pop, q, pc, clock, excitatory, syn);
    }

    /// [`deliver_spiking`](Self::deliver_spiking) for the population's refractoriness and the
    /// projection's sign.
    #[inline(always)]
    fn deliver_spiking_any(
        &self,
        pop: PopState<'_>,
        q: &mut EventQueue,
        pc: &PopConsts,
        clock: &Clock,
        excitatory: bool,
        syn: impl ExactSizeIterator<Item = (usize, f64)>,
    ) -> usize {
        match (pc.t_ref > 0.0, excitatory) {
            (true, true) => self.deliver_spiking::<true, true>(pop, q, pc, clock, syn),
            (true, false) => self.deliver_spiking::<true, false>(pop, q, pc, clock, syn),
            (false, true) => self.deliver_spiking::<false, true>(pop, q, pc, clock, syn),
            (false, false) => self.deliver_spiking::<false, false>(pop, q, pc, clock, syn),
        }
    }

    /// The delivery loop of a spiking population whose maxima are not tracked; `neurons` are
    /// the population's, `base` the global index of its first; returns the number of synapses.
    /// `REFRACTORY`: the population has a refractory period (tested in the second pass only).
    /// `EXCITATORY`: no weight is
    /// negative, so an input to a neuron with an exact crossing pending always passes the gate
    /// (its trajectory only rises, and the pending crossing says that its maximum reaches `ϑ`,
    /// so the gate's upper bound of it does), and the test for an exact crossing to invalidate
    /// after a failed gate is left out.
    ///
    /// Two passes: the first adds every weight and notes, without a branch, the targets that
    /// pass the gate (about one in ten, at random: as a branch it was mispredicted about as
    /// often as taken) in `marked`; the second settles the marked ones in the same order. A
    /// target that occurs once in the fan is settled from the same state as in one pass; a
    /// target listed twice is settled from its state after both weights (the queue then holds
    /// the check of that state, which is what one pass ends with up to where the check lies).
    #[inline(always)]
    fn deliver_spiking<const REFRACTORY: bool, const EXCITATORY: bool>(
        &self,
        pop: PopState<'_>,
        queue: &mut EventQueue,
        pc: &PopConsts,
        clock: &Clock,
        syn: impl ExactSizeIterator<Item = (usize, f64)>,
    ) -> usize {
        let PopState {
            neurons,
            pending,
            ref_until,
            marked,
            base,
        } = pop;
        // Equal lengths: one bounds check per delivery serves the three arrays.
        assert!(pending.len() == neurons.len() && ref_until.len() == neurons.len());
        let t = clock.t;
        // `κ0/(1 - κ0) I = C gate_c` (the gate below).
        let gate_c = clock.es * pc.gate_i;
        let events = syn.len();
        if marked.len() < events {
            marked.resize(events, 0);
        }
        let marked = &mut marked[..events];
        let gate = Gate {
            c: gate_c,
            v: pc.gate_v,
            thr: pc.gate_thr,
        };
        let n_marked = add_and_mark::<EXCITATORY>(neurons, pending, marked, syn, clock, gate);
        let (thr_bound, gate_thr) = (pc.thr_bound, pc.gate_thr);
        for &target in &marked[..n_marked] {
            let target = target as usize;
            let c = &neurons[target];
            let v = c.voltage(clock);
            let i = c.current(clock);
            // The gate again (the same numbers as above), then the tighter test of
            // `crossing_possible`, which two thirds of the neurons through the gate fail: the
            // check time if both pass, else `+inf` (selected, not branched on). An exact
            // crossing (negative `pending`) is replaced by the check, or invalidated; an idle
            // neuron's `pending` is just above `t_end`, so `at < pending` also says
            // `at <= t_end`.
            let gate = (v >= thr_bound) | (v.max(0.0) + c.c * gate_c >= gate_thr);
            // Refractory: V stays clamped at 0, I integrates; the wake-up schedules. (Such a
            // neuron's `pending` is its wake-up or idle, neither exact, so `at = +inf` leaves
            // it as it is.)
            let free = !REFRACTORY || ref_until[target] <= t;
            let possible = gate & free & crossing_possible(pc, v, i);
            let at = [f64::INFINITY, tangent_time(pc, t, v, i)][usize::from(possible)];
            debug_assert!(
                !EXCITATORY || gate || !is_exact(pending[target]),
                "an exact crossing failed the gate"
            );
            let j = base + target;
            if is_exact(pending[target]) {
                if at <= self.t_end {
                    push_neuron(queue, &mut pending[target], j, at, Kind::Check);
                } else {
                    pending[target] = self.idle();
                    queue.remove(j);
                }
            } else if at < pending[target] {
                push_neuron(queue, &mut pending[target], j, at, Kind::Check);
            }
        }
        events
    }

    /// [`deliver_to`](Self::deliver_to) for a readout population, or a spiking one whose
    /// neurons' maxima are tracked until they first fire: the segment since each target's last
    /// input is checked for its maximum first.
    fn deliver_tracked(
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
        for (target, w) in syn {
            ws.events += 1;
            let j = base + target;
            let c = &mut ws.neurons[j];
            let tracked = ws.peaks[j].cause != PeakCause::NotTracked;
            if tracked && ws.ref_until[j] <= t {
                let (v1, i1) = (c.voltage(&clock), c.current(&clock));
                let s = &mut ws.segments[j];
                track_peak(&pc, &mut ws.peaks[j], (s.v, s.i, s.t), (v1, i1, t), cause);
                *s = Segment {
                    v: v1,
                    i: i1 + w,
                    t,
                };
            }
            c.receive(w, &clock);
            if !pc.spiking || ws.ref_until[j] > t {
                continue;
            }
            let at = check_at(&pc, t, c.voltage(&clock), c.current(&clock));
            if (at < ws.pending[j]) & (at <= self.t_end) {
                push_neuron(&mut ws.queue, &mut ws.pending[j], j, at, Kind::Check);
            } else if is_exact(ws.pending[j]) {
                if at <= self.t_end {
                    push_neuron(&mut ws.queue, &mut ws.pending[j], j, at, Kind::Check);
                } else {
                    ws.pending[j] = self.idle();
                    ws.queue.remove(j);
                }
            }
        }
    }

    /// A lower bound of neuron `j`'s next crossing was reached at `t`: locate the crossing
    /// exactly from the state at `t`.
    fn check(&self, ws: &mut NetworkWorkspace, j: usize, t: f64) {
        let p = ws.pop_of[j] as usize;
        let clock = ws.clocks.at(&ws.consts, p, t);
        let (v, i) = (ws.neurons[j].voltage(&clock), ws.neurons[j].current(&clock));
        let len = self.t_end - t;
        let tau = ws.consts[p].k.next_crossing(v, i);
        if let Some(tau) = tau.filter(|&tau| tau <= len) {
            push(ws, j, (t + tau).min(self.t_end), Kind::Spike);
        }
    }

    /// The next crossing of neuron `j` fired at `t`: record, reset, deliver.
    fn spike(
        &self,
        ws: &mut NetworkWorkspace,
        plan: &QueuePlan,
        j: usize,
        t: f64,
    ) -> Result<(), LifError> {
        let p = ws.pop_of[j] as usize;
        let clock = ws.clocks.at(&ws.consts, p, t);
        let pc = &ws.consts[p];
        let i = ws.neurons[j].current(&clock);
        if !i.is_finite() {
            return Err(self.non_finite("synaptic current", j, t));
        }
        let (silent, t_ref) = (pc.silent, pc.t_ref);
        let vdot = (i - pc.k.threshold).abs() * pc.k.inv_tau_mem;
        // The check after the reset (`V = 0`), if no refractory period.
        let at = if t_ref > 0.0 {
            None
        } else {
            check_time(pc, t, 0.0, i, self.t_end)
        };
        ws.min_abs_vdot = ws.min_abs_vdot.min(vdot);
        if ws.first_spike[j] == NO_SPIKE {
            ws.first_spike[j] = ws.spikes.len() as u32;
            if silent {
                ws.peaks[j] = VoltagePeak::NOT_TRACKED;
            }
        }
        self.push_spike(ws, j, t, i)?;
        ws.neurons[j].reset_voltage(&clock);
        if t_ref > 0.0 {
            let until = t + t_ref;
            ws.ref_until[j] = until;
            if until < self.t_end {
                push(ws, j, until, Kind::Wake);
            }
        } else {
            schedule(ws, j, at);
        }
        if plan.merged[1 + p].on {
            self.deliver_merged(ws, &plan.merged[1 + p], j - ws.offsets[p], t);
            return Ok(());
        }
        for k in 0..ws.out_of[p].len() {
            let pj = ws.out_of[p][k] as usize;
            let cause = PeakCause::SpikeArrival(ws.spikes.len() - 1);
            self.deliver(ws, pj, plan.excitatory[pj], j - ws.offsets[p], t, cause);
        }
        Ok(())
    }

    /// End of neuron `j`'s refractory period at `t`: its current is recorded, the membrane is
    /// released from 0, and its next crossing scheduled.
    fn wake(&self, ws: &mut NetworkWorkspace, j: usize, t: f64) {
        let p = ws.pop_of[j] as usize;
        let clock = ws.clocks.at(&ws.consts, p, t);
        let n = &mut ws.neurons[j];
        let i = n.current(&clock);
        n.reset_voltage(&clock);
        ws.ref_until[j] = f64::NEG_INFINITY;
        let at = check_time(&ws.consts[p], t, 0.0, i, self.t_end);
        schedule(ws, j, at);
    }

    /// The last segment of every readout neuron, up to `t_end`.
    fn finish_peaks(&self, ws: &mut NetworkWorkspace) {
        if ws.consts.iter().all(|c| c.spiking && !c.silent) {
            return;
        }
        if ws.clocks.needs_rebase(self.t_end) {
            rebase_forward(ws, self.t_end);
        }
        for j in 0..ws.neurons.len() {
            let p = ws.pop_of[j] as usize;
            let pc = ws.consts[p];
            if ws.peaks[j].cause == PeakCause::NotTracked {
                continue;
            }
            let clock = ws.clocks.at(&ws.consts, p, self.t_end);
            let c = &ws.neurons[j];
            let end = (c.voltage(&clock), c.current(&clock), self.t_end);
            let s = ws.segments[j];
            track_peak(&pc, &mut ws.peaks[j], (s.v, s.i, s.t), end, PeakCause::End);
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

    /// The `pending` time of a neuron without queue entry: the next number above `t_end`, so
    /// that `at < pending` also says `at <= t_end`.
    #[inline(always)]
    pub(crate) fn idle(&self) -> f64 {
        f64::from_bits(self.t_end.to_bits() + 1)
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

/// Makes sure neuron `j`'s queue entry is not later than its next threshold crossing: `at` is
/// the [`check_time`] of its state (free evolution); a [`Kind::Check`] is queued there unless
/// the neuron's entry is already earlier.
#[inline]
fn schedule(ws: &mut NetworkWorkspace, j: usize, at: Option<f64>) {
    if let Some(at) = at {
        if at < ws.pending[j] {
            push(ws, j, at, Kind::Check);
        }
    }
}

/// The time of the [`Kind::Check`] for `(v, i)` at `t`, if one is needed before `t_end`: none
/// is needed if `V, I < ϑ` (then `V <= max(V, I) < ϑ`) or the bound of the membrane maximum
/// stays below `ϑ`. Otherwise `I > ϑ > V`, `V` rises and is concave while rising
/// (`V̈ = -(I/τs + V̇)/τm < 0`), so it stays below its tangent and cannot reach `ϑ` before
/// `t + τm (ϑ - V)/(I - V)` (a division instead of the exact root, which is located only when
/// a check is reached before the next input touches the neuron).
#[inline(always)]
fn check_time(pc: &PopConsts, t: f64, v: f64, i: f64, t_end: f64) -> Option<f64> {
    let at = check_at(pc, t, v, i);
    (at <= t_end).then_some(at)
}

/// [`check_time`] before the comparison with `t_end`, `+inf` when no check is needed; written
/// without branches on the state (they would be unpredictable).
#[inline(always)]
fn check_at(pc: &PopConsts, t: f64, v: f64, i: f64) -> f64 {
    // A selection by index, which compiles to a conditional move rather than a branch.
    [f64::INFINITY, tangent_time(pc, t, v, i)][usize::from(crossing_possible(pc, v, i))]
}

/// Whether a check is needed for `(v, i)` (see [`check_time`]).
#[inline(always)]
fn crossing_possible(pc: &PopConsts, v: f64, i: f64) -> bool {
    let k = &pc.k;
    (v >= k.threshold) | ((i > k.threshold) & (k.max_chord_bound(v, i) >= pc.thr_bound))
}

/// The check time for `(v, i)` at `t` if [`crossing_possible`]: `t` at or above the threshold,
/// else where the tangent reaches it (see [`check_time`]).
#[inline(always)]
fn tangent_time(pc: &PopConsts, t: f64, v: f64, i: f64) -> f64 {
    let k = &pc.k;
    let bound = t + k.tau_mem * (k.threshold - v).max(0.0) / (i - v);
    [bound, t][usize::from(v >= k.threshold)]
}

/// Whether a neuron's queue entry (`NetworkWorkspace::pending`) is an exact crossing.
#[inline(always)]
fn is_exact(pending: f64) -> bool {
    pending.is_sign_negative()
}

/// The delivery loop's gate for one event (`Model::deliver_spiking`): `C`'s factor `gate_c`,
/// `PopConsts::gate_v` and `PopConsts::gate_thr`.
#[derive(Clone, Copy)]
struct Gate {
    c: f64,
    v: f64,
    thr: f64,
}

/// The first pass of `Model::deliver_spiking`: adds each weight of `syn` to its target and
/// writes the targets that pass the (widened) gate, or need the second pass otherwise, to the
/// front of `marked` (at least as long as `syn`); returns their number. A function of its own,
/// so that its loop keeps everything in registers. Refractory or not, the same loop: the
/// second pass leaves out the refractory targets (a few per cent of the marked ones), which
/// costs less than loading and testing the end of the refractory period of every target.
#[inline(never)]
fn add_and_mark<const EXCITATORY: bool>(
    neurons: &mut [Neuron],
    pending: &[f64],
    marked: &mut [u32],
    syn: impl Iterator<Item = (usize, f64)>,
    clock: &Clock,
    gate: Gate,
) -> usize {
    // Equal lengths: one bounds check per delivery serves both arrays.
    assert!(pending.len() == neurons.len());
    let mut n_marked = 0;
    for (target, w) in syn {
        let c = &mut neurons[target];
        c.receive(w, clock);
        let v = c.voltage(clock);
        // A crossing before the next input needs `v >= ϑ` or the bound of the membrane
        // maximum to reach `ϑ` (see `check_at`), which is rare. The gate is the
        // single-chord bound (`Kernel::max_upper_bound`) divided by `1 - κ0`, `max(V, 0)
        // + C gate_c >= gate_thr` (`PopConsts::gate_i`), slightly wider than `check_at`'s.
        // Here both halves in one comparison, `max(V gate_v, max(V, 0) + C gate_c) >=
        // gate_thr` (`PopConsts::gate_v`): a gate at least as wide (the second pass
        // applies the gate itself, and the refractory test). An exact crossing (negative
        // `pending`) of a neuron that fails it is invalidated by an inhibitory input (the
        // second pass).
        let (scaled, bound) = (v * gate.v, v.max(0.0) + c.c * gate.c);
        let wide = if scaled > bound { scaled } else { bound } >= gate.thr;
        let invalidates = !EXCITATORY && is_exact(pending[target]);
        marked[n_marked] = target as u32;
        n_marked += usize::from(wide | invalidates);
    }
    n_marked
}

/// One population's part of the forward state, for its delivery loop: the neurons'
/// coefficients, queue entries and ends of refractory periods, and the global index of its
/// first neuron.
struct PopState<'a> {
    neurons: &'a mut [Neuron],
    pending: &'a mut [f64],
    ref_until: &'a [f64],
    /// Scratch of the delivery loop: the targets that passed the gate.
    marked: &'a mut Vec<u32>,
    base: usize,
}

/// Queues `kind` for neuron `j` at `time`, invalidating its previous entry.
#[inline]
fn push(ws: &mut NetworkWorkspace, j: usize, time: f64, kind: Kind) {
    push_neuron(&mut ws.queue, &mut ws.pending[j], j, time, kind);
}

#[inline]
fn push_neuron(queue: &mut EventQueue, pending: &mut f64, j: usize, time: f64, kind: Kind) {
    *pending = if kind == Kind::Spike { -time } else { time };
    queue.set(j, time, kind);
}

/// Updates a readout neuron's maximum with the segment from `(v0, i0)` at `t0` to `(v1, i1)`
/// at `t1` (no input in between): its interior stationary point, if `V̇ > 0` at the start, `< 0`
/// at the end and the bound of the maximum can beat the best so far, and its end, attained at
/// `cause`. A segment of length zero (events at one time) adds nothing: its one point was the
/// end of the segment before (or the rest state at 0), whatever rounding the event-driven
/// pass's coefficients put into `v1` there.
#[inline]
pub(super) fn track_peak(
    pc: &PopConsts,
    best: &mut VoltagePeak,
    (v0, i0, t0): (f64, f64, f64),
    (v1, i1, t1): (f64, f64, f64),
    cause: PeakCause,
) {
    if t1 <= t0 {
        return;
    }
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
    if ws.ref_until[j] > t {
        return 0.0;
    }
    let p = ws.pop_of[j] as usize;
    let clock = ws.clocks.at(&ws.consts, p, t);
    ws.neurons[j].voltage(&clock)
}

/// Moves the epoch to `t`, re-expressing every neuron's coefficients there.
fn rebase_forward(ws: &mut NetworkWorkspace, t: f64) {
    for p in 0..ws.consts.len() {
        let clock = ws.clocks.at(&ws.consts, p, t);
        let pc = &ws.consts[p];
        for c in &mut ws.neurons[ws.offsets[p]..ws.offsets[p + 1]] {
            c.rebase(pc, &clock);
        }
    }
    ws.clocks.set_epoch(t);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{LifParams, NetworkCotangents, Population, Projection};

    /// Two populations with equal parameters (40 excitatory, 10 inhibitory neurons) and 40
    /// inputs projecting to both, every pair connected with probability 0.3. `unmergeable`:
    /// also a second projection from the inputs to the first population (the same target
    /// twice) and one negative weight among the first population's excitatory ones (mixed
    /// signs), so that neither source may be merged.
    fn two_populations(seed: u64, t_ref: f64, unmergeable: bool) -> (Network, Vec<InputSpike>) {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut uniform = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let params = LifParams {
            tau_mem: 20.0,
            tau_syn: 5.0,
            threshold: 1.0,
        };
        let sizes = [40, 10];
        let pops = vec![
            Population::new("exc", sizes[0], params).with_refractory(t_ref),
            Population::new("inh", sizes[1], params).with_refractory(t_ref),
        ];
        let (n_inputs, t_end) = (40, 300.0);
        let mut net = Network::new(n_inputs, pops, t_end);
        let mut synapses = |n_pre: usize, n_post: usize, w: f64, recurrent: bool| {
            let mut out = Vec::new();
            for pre in 0..n_pre as u32 {
                for post in 0..n_post as u32 {
                    if !(recurrent && pre == post) && uniform() < 0.3 {
                        out.push((pre, post, w * (0.5 + uniform())));
                    }
                }
            }
            out
        };
        for (post, &n_post) in sizes.iter().enumerate() {
            let syn = synapses(n_inputs, n_post, 0.6, false);
            net.projections
                .push(Projection::sparse(Source::Input, post, n_inputs, &syn));
        }
        for (pre, &n_pre) in sizes.iter().enumerate() {
            for (post, &n_post) in sizes.iter().enumerate() {
                let w = if pre == 0 { 0.1 } else { -0.3 };
                let mut syn = synapses(n_pre, n_post, w, pre == post);
                if unmergeable && pre == 0 && post == 1 {
                    syn[0].2 = -0.1;
                }
                net.projections.push(Projection::sparse(
                    Source::Population(pre),
                    post,
                    n_pre,
                    &syn,
                ));
            }
        }
        if unmergeable {
            let syn = synapses(n_inputs, sizes[0], 0.2, false);
            net.projections
                .push(Projection::sparse(Source::Input, 0, n_inputs, &syn));
        }
        let mut input = Vec::new();
        for source in 0..n_inputs as u32 {
            let mut t = 0.0;
            loop {
                t -= 25.0 * (1.0 - uniform()).ln();
                if t >= t_end {
                    break;
                }
                input.push(InputSpike { time: t, source });
            }
        }
        (net, input)
    }

    /// Spikes (neuron, bits of the time and of the current) and the bits of the gradient of
    /// the loss Σ spike times, with merged fans allowed or not; and which sources were merged.
    #[allow(clippy::type_complexity)]
    fn run(
        net: &Network,
        input: &[InputSpike],
        allow_merge: bool,
    ) -> (Vec<(u32, u64, u64)>, Vec<Vec<u64>>, usize, Vec<bool>) {
        let mut ws = NetworkWorkspace::new();
        ws.allow_merge = allow_merge;
        run_in(net, input, &mut ws)
    }

    /// [`run`] in the workspace `ws` (its plan built by `Network::forward`).
    #[allow(clippy::type_complexity)]
    fn run_in(
        net: &Network,
        input: &[InputSpike],
        ws: &mut NetworkWorkspace,
    ) -> (Vec<(u32, u64, u64)>, Vec<Vec<u64>>, usize, Vec<bool>) {
        net.forward(input, &[], ws).unwrap();
        let spikes = ws
            .spikes()
            .iter()
            .map(|s| (s.neuron, s.time.to_bits(), s.i_syn.to_bits()))
            .collect();
        let mut cot = NetworkCotangents::zeros_for(ws);
        cot.spike_times.fill(1.0);
        let mut grad = net.zero_gradient();
        net.backward(ws, &cot, &mut grad).unwrap();
        let grad = grad
            .iter()
            .map(|g| g.iter().map(|x| x.to_bits()).collect())
            .collect();
        let merged = ws.plan.merged.iter().map(|m| m.on).collect();
        (spikes, grad, ws.synaptic_events(), merged)
    }

    /// [`run`] through `Network::prepare` (the plan built once, kept outside the workspace).
    #[allow(clippy::type_complexity)]
    fn run_prepared(
        net: &Network,
        input: &[InputSpike],
    ) -> (Vec<(u32, u64, u64)>, Vec<Vec<u64>>, usize, Vec<bool>) {
        let prepared = net.prepare().unwrap();
        let mut ws = NetworkWorkspace::new();
        // Twice: the second pass reuses the workspace and the plan.
        prepared.forward(input, &[], &mut ws).unwrap();
        prepared.forward(input, &[], &mut ws).unwrap();
        let spikes = ws
            .spikes()
            .iter()
            .map(|s| (s.neuron, s.time.to_bits(), s.i_syn.to_bits()))
            .collect();
        let mut cot = NetworkCotangents::zeros_for(&ws);
        cot.spike_times.fill(1.0);
        let mut grad = net.zero_gradient();
        prepared.backward(&mut ws, &cot, &mut grad).unwrap();
        let grad = grad
            .iter()
            .map(|g| g.iter().map(|x| x.to_bits()).collect())
            .collect();
        let merged = prepared.plan_merged();
        (spikes, grad, ws.synaptic_events(), merged)
    }

    /// Oracle: `Network::forward` and `Network::backward` with a fresh workspace (their plan
    /// built in that pass).
    #[test]
    fn prepared_network_gives_the_bits_of_network_forward_and_backward() {
        for seed in 1..=3 {
            for t_ref in [0.0, 2.0] {
                for unmergeable in [false, true] {
                    let (net, input) = two_populations(seed, t_ref, unmergeable);
                    let case = format!("seed {seed}, t_ref {t_ref}, unmergeable {unmergeable}");
                    let prepared = run_prepared(&net, &input);
                    let fresh = run(&net, &input, true);
                    assert!(fresh.0.len() > 300, "{case}: {} spikes", fresh.0.len());
                    assert_eq!(prepared, fresh, "{case}");
                }
            }
        }
    }

    /// A workspace that ran one network runs the network changed in place (weights scaled, a
    /// weight's sign flipped, a projection added) as a fresh workspace does: nothing of the
    /// first network's fans is kept.
    #[test]
    fn a_reused_workspace_sees_weights_and_projections_changed_in_place() {
        let (mut net, input) = two_populations(4, 2.0, false);
        let mut ws = NetworkWorkspace::new();
        let before = run_in(&net, &input, &mut ws);
        assert_eq!(before.3, [true, true, true]);
        for w in &mut net.projections[0].weights {
            *w *= 1.25;
        }
        let scaled = run_in(&net, &input, &mut ws);
        assert_ne!(scaled.0, before.0, "the scaled weights change the spikes");
        assert_eq!(scaled, run(&net, &input, true), "scaled weights");
        // A negative weight among the excitatory population's: its source is not merged.
        net.projections[2].weights[0] = -0.05;
        let mixed = run_in(&net, &input, &mut ws);
        assert_eq!(mixed.3, [true, false, true]);
        assert_eq!(mixed, run(&net, &input, true), "mixed signs");
        let extra = net.projections[0].clone();
        net.projections.push(extra);
        let added = run_in(&net, &input, &mut ws);
        assert_eq!(added.3, [false, false, true]);
        assert_eq!(added, run(&net, &input, true), "a projection added");
        assert_eq!(
            added,
            run_prepared(&net, &input),
            "prepared after the change"
        );
    }

    /// Oracle: the delivery loop per projection (the path of every network before the merge,
    /// and of every source that cannot be merged).
    #[test]
    fn merged_fans_give_the_same_spikes_and_gradients_to_the_bit() {
        for seed in 1..=3 {
            for t_ref in [0.0, 2.0] {
                for unmergeable in [false, true] {
                    let (net, input) = two_populations(seed, t_ref, unmergeable);
                    let merged = run(&net, &input, true);
                    let single = run(&net, &input, false);
                    let case = format!("seed {seed}, t_ref {t_ref}, unmergeable {unmergeable}");
                    assert!(merged.0.len() > 300, "{case}: {} spikes", merged.0.len());
                    assert_eq!(merged.0, single.0, "{case}: spikes");
                    assert_eq!(merged.1, single.1, "{case}: gradients");
                    assert_eq!(merged.2, single.2, "{case}: synaptic events");
                    // Inputs, excitatory, inhibitory sources.
                    let expected = if unmergeable {
                        [false, false, true]
                    } else {
                        [true, true, true]
                    };
                    assert_eq!(merged.3, expected, "{case}: merged sources");
                    assert_eq!(single.3, [false; 3], "{case}: nothing merged");
                }
            }
        }
    }
}
