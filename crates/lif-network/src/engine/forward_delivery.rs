//! The event queue's delivery of a spike (or an input spike) through a fan-out list: every
//! synapse adds its weight to its target's current, and the targets whose next crossing may have
//! come closer are (re)scheduled; a spiking population's loop in two passes behind a branch-free
//! gate, per projection or through a source's merged fan (`prepared.rs`).

use super::clock::{Clock, PopConsts};
use super::coeffs::Neuron;
use super::forward_queue::{crossing_possible, is_exact, push_neuron, tangent_time};
use super::model::{Fan, Model};
use super::prepared::MergedFans;
use super::queue::{EventQueue, Kind};
use super::workspace::{NetworkWorkspace, PeakCause};

impl Model<'_> {
    /// A spike of presynaptic neuron `pre` of projection `pj` at `t`: every synapse touches its
    /// target.
    #[inline]
    /// `excitatory`: no weight of the projection is negative.
    pub(super) fn deliver(
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
    pub(super) fn deliver_merged(
        &self,
        ws: &mut NetworkWorkspace,
        m: &MergedFans,
        pre: usize,
        t: f64,
    ) {
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
