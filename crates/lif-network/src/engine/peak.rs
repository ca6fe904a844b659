//! The membrane maxima of readout neurons (and of silent spiking ones until they first fire):
//! the event queue's delivery into such neurons, which checks the segment since each target's
//! last input for its maximum first, the last segment up to `t_end`, and the per-segment update
//! the population sweeps share.

use super::clock::PopConsts;
use super::coeffs::Segment;
use super::forward_queue::{check_at, is_exact, push_neuron, rebase_forward};
use super::model::Model;
use super::queue::Kind;
use super::workspace::{NetworkWorkspace, PeakCause, VoltagePeak};

impl Model<'_> {
    /// [`deliver_to`](Self::deliver_to) for a readout population, or a spiking one whose
    /// neurons' maxima are tracked until they first fire: the segment since each target's last
    /// input is checked for its maximum first.
    pub(super) fn deliver_tracked(
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

    /// The last segment of every readout neuron, up to `t_end`.
    pub(super) fn finish_peaks(&self, ws: &mut NetworkWorkspace) {
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
    if let Some(stationary) = interior_maximum(pc, best.value, (v0, i0, t0), (v1, i1, t1)) {
        *best = stationary;
    }
    if v1 > best.value {
        *best = VoltagePeak {
            value: v1,
            time: t1,
            cause,
            vdot_minus: (i1 - v1) * pc.k.inv_tau_mem,
        };
    }
}

/// The segment's interior stationary point as a maximum, if `V̇ > 0` at its start, `< 0` at its
/// end, and the point lies inside the segment above `best` (the bound `max_upper_bound` tried
/// first): the first test of [`track_peak`] and [`PeakTracker::slot`].
#[inline(always)]
fn interior_maximum(
    pc: &PopConsts,
    best: f64,
    (v0, i0, t0): (f64, f64, f64),
    (v1, i1, t1): (f64, f64, f64),
) -> Option<VoltagePeak> {
    let k = &pc.k;
    if i0 > v0 && i1 < v1 && k.max_upper_bound(v0, i0) > best {
        if let Some((ts, vm)) = k.maximum(v0, i0) {
            if ts < t1 - t0 && vm > best {
                return Some(VoltagePeak {
                    value: vm,
                    time: t0 + ts,
                    cause: PeakCause::Stationary,
                    vdot_minus: 0.0,
                });
            }
        }
    }
    None
}

/// A readout neuron's maximum over a run of slots, by the tests of [`track_peak`] in the same
/// order on the same numbers, for the readouts swept neuron by neuron: a slot's end that beats
/// the maximum so far keeps only its slot's index and `(V, I)` there; the cause and `V̇⁻` of
/// the maximum are made once, by [`finish`](Self::finish), from the slot that set it last.
/// The same `VoltagePeak` as `track_peak` slot after slot, without writing a cause and
/// computing `V̇⁻` at every slot whose end is a new maximum (most slots while the readout's
/// voltages rise).
pub(super) struct PeakTracker {
    best: VoltagePeak,
    /// The slot whose end is the maximum, if one is (else `best` is complete).
    end_slot: Option<usize>,
    /// `(V, I)` at that end.
    end_state: (f64, f64),
}

impl PeakTracker {
    #[inline]
    pub fn new(best: VoltagePeak) -> Self {
        Self {
            best,
            end_slot: None,
            end_state: (0.0, 0.0),
        }
    }

    /// [`track_peak`] for slot `s`, from `(v0, i0)` at `t0` to `(v1, i1)` at `t1`.
    #[inline(always)]
    pub fn slot(
        &mut self,
        pc: &PopConsts,
        (v0, i0, t0): (f64, f64, f64),
        (v1, i1, t1): (f64, f64, f64),
        s: usize,
    ) {
        if t1 <= t0 {
            return;
        }
        if let Some(stationary) = interior_maximum(pc, self.best.value, (v0, i0, t0), (v1, i1, t1))
        {
            self.best = stationary;
            self.end_slot = None;
        }
        if v1 > self.best.value {
            (self.best.value, self.best.time) = (v1, t1);
            self.end_slot = Some(s);
            self.end_state = (v1, i1);
        }
    }

    /// The maximum, with `cause(s)` the cause of slot `s`'s end (as passed to `track_peak`).
    #[inline]
    pub fn finish(self, pc: &PopConsts, cause: impl Fn(usize) -> PeakCause) -> VoltagePeak {
        let mut best = self.best;
        if let Some(s) = self.end_slot {
            let (v1, i1) = self.end_state;
            best.cause = cause(s);
            best.vdot_minus = (i1 - v1) * pc.k.inv_tau_mem;
        }
        best
    }
}
