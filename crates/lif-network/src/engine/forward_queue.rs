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

use super::clock::PopConsts;
use super::coeffs::{Neuron, Segment};
use super::model::Model;
use super::prepared::QueuePlan;
use super::queue::{EventQueue, Kind};
use super::workspace::{NetworkWorkspace, PeakCause, VoltagePeak, NO_SPIKE};
use crate::LifError;

impl Model<'_> {
    /// The event-driven loop of [`forward`](Self::forward) (module docs).
    pub(super) fn run_queue(
        &self,
        ws: &mut NetworkWorkspace,
        plan: &QueuePlan,
    ) -> Result<(), LifError> {
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

    /// The next crossing of neuron `j` fired at `t`: record, reset, deliver. A neuron of a
    /// first-spike-only population (`Pop::first_spike_only`, which projects nowhere) records
    /// its first spike only: its later crossings are reset and rescheduled unrecorded, so that
    /// nothing read (its first spike, the other populations) changes.
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
        let recorded = !(pc.first_only && ws.first_spike[j] != NO_SPIKE);
        let vdot = (i - pc.k.threshold).abs() * pc.k.inv_tau_mem;
        // The check after the reset (`V = 0`), if no refractory period.
        let at = if t_ref > 0.0 {
            None
        } else {
            check_time(pc, t, 0.0, i, self.t_end)
        };
        if recorded {
            ws.min_abs_vdot = ws.min_abs_vdot.min(vdot);
            if ws.first_spike[j] == NO_SPIKE {
                ws.first_spike[j] = ws.spikes.len() as u32;
                if silent {
                    ws.peaks[j] = VoltagePeak::NOT_TRACKED;
                }
            }
            self.push_spike(ws, j, t, i)?;
        }
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
        if !recorded {
            debug_assert!(ws.out_of[p].is_empty());
            return Ok(());
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
pub(super) fn check_at(pc: &PopConsts, t: f64, v: f64, i: f64) -> f64 {
    // A selection by index, which compiles to a conditional move rather than a branch.
    [f64::INFINITY, tangent_time(pc, t, v, i)][usize::from(crossing_possible(pc, v, i))]
}

/// Whether a check is needed for `(v, i)` (see [`check_time`]).
#[inline(always)]
pub(super) fn crossing_possible(pc: &PopConsts, v: f64, i: f64) -> bool {
    let k = &pc.k;
    (v >= k.threshold) | ((i > k.threshold) & (k.max_chord_bound(v, i) >= pc.thr_bound))
}

/// The check time for `(v, i)` at `t` if [`crossing_possible`]: `t` at or above the threshold,
/// else where the tangent reaches it (see [`check_time`]).
#[inline(always)]
pub(super) fn tangent_time(pc: &PopConsts, t: f64, v: f64, i: f64) -> f64 {
    let k = &pc.k;
    let bound = t + k.tau_mem * (k.threshold - v).max(0.0) / (i - v);
    [bound, t][usize::from(v >= k.threshold)]
}

/// Whether a neuron's queue entry (`NetworkWorkspace::pending`) is an exact crossing.
#[inline(always)]
pub(super) fn is_exact(pending: f64) -> bool {
    pending.is_sign_negative()
}

/// Queues `kind` for neuron `j` at `time`, invalidating its previous entry.
#[inline]
fn push(ws: &mut NetworkWorkspace, j: usize, time: f64, kind: Kind) {
    push_neuron(&mut ws.queue, &mut ws.pending[j], j, time, kind);
}

#[inline]
pub(super) fn push_neuron(
    queue: &mut EventQueue,
    pending: &mut f64,
    j: usize,
    time: f64,
    kind: Kind,
) {
    *pending = if kind == Kind::Spike { -time } else { time };
    queue.set(j, time, kind);
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
pub(super) fn rebase_forward(ws: &mut NetworkWorkspace, t: f64) {
    for p in 0..ws.consts.len() {
        let clock = ws.clocks.at(&ws.consts, p, t);
        let pc = &ws.consts[p];
        for c in &mut ws.neurons[ws.offsets[p]..ws.offsets[p + 1]] {
            c.rebase(pc, &clock);
        }
    }
    ws.clocks.set_epoch(t);
}
