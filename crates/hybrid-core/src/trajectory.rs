//! What a simulation returns: the dense trajectory and one record per event.

use crate::ode::{dense::interpolate, DenseSegment, Method, StepStats};

/// What triggered an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Guard `k` crossed zero in its direction (located by root finding).
    Guard(usize),
    /// Scheduled event `i` (at `HybridSystem::scheduled_times()[i]`).
    Scheduled(usize),
}

/// Diagnostics of one event: when, which, the state around it and the transversality margin.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EventRecord {
    /// Event time `τ`.
    pub t: f64,
    /// Which guard or scheduled event.
    pub kind: EventKind,
    /// Mode before the event.
    pub mode_before: usize,
    /// Mode after the event.
    pub mode_after: usize,
    /// State before the jump `x⁻`.
    pub x_minus: Vec<f64>,
    /// State after the jump `x⁺`.
    pub x_plus: Vec<f64>,
    /// Guard value at `x⁻` (zero up to the location accuracy); `0.0` for scheduled events.
    pub g: f64,
    /// `ġ = g_t + g_x f⁻`, the guard's rate at the event (transversality margin); `NaN` for
    /// scheduled events, which need none.
    pub gdot: f64,
    /// Grazing index `κ = |g̈| σ_g / ġ²` (docs/maths.md, "Grazing"): the estimated relative
    /// error of `ġ` at the tolerances; gradients refuse events above
    /// `SolverOptions::grazing_limit`. `0.0` for scheduled events.
    pub grazing: f64,
    /// Whether another event was located at the same time (applied in ascending guard order).
    pub simultaneous: bool,
    /// Whether the event fired at a restart point (`t0`, or right after another jump) because its
    /// guard sat on zero there moving into its crossing direction (docs/maths.md, "Event
    /// semantics"). Gradients refuse such events ([`crate::Error::EventAtRestart`]).
    pub immediate: bool,
}

impl EventRecord {
    /// An empty record, filled in by the event loop.
    pub(crate) fn blank() -> Self {
        Self {
            t: 0.0,
            kind: EventKind::Scheduled(0),
            mode_before: 0,
            mode_after: 0,
            x_minus: Vec::new(),
            x_plus: Vec::new(),
            g: 0.0,
            gdot: f64::NAN,
            grazing: 0.0,
            simultaneous: false,
            immediate: false,
        }
    }

    /// Guard index, if the event came from a guard.
    pub fn guard(&self) -> Option<usize> {
        match self.kind {
            EventKind::Guard(k) => Some(k),
            EventKind::Scheduled(_) => None,
        }
    }
}

/// The continuous trajectory, stored as the dense output of every accepted step.
///
/// Between events it is evaluable at any time; at an event time [`Trajectory::eval`] returns the
/// state after the jump and [`Trajectory::eval_left`] the state before it.
#[derive(Debug, Clone)]
pub struct Trajectory {
    n: usize,
    method: Method,
    /// Per segment: start, end of validity, step size, mode.
    t_start: Vec<f64>,
    t_stop: Vec<f64>,
    h: Vec<f64>,
    mode: Vec<usize>,
    coefficients: Vec<f64>,
}

impl Trajectory {
    pub(crate) fn new(n: usize, method: Method) -> Self {
        Self {
            n,
            method,
            t_start: Vec::new(),
            t_stop: Vec::new(),
            h: Vec::new(),
            mode: Vec::new(),
            coefficients: Vec::new(),
        }
    }

    /// Forget every segment, keeping the buffers.
    pub(crate) fn clear(&mut self) {
        self.t_start.clear();
        self.t_stop.clear();
        self.h.clear();
        self.mode.clear();
        self.coefficients.clear();
    }

    /// Store the first `n` components of a step's dense output, valid on `[seg.t0, t_stop]`.
    pub(crate) fn push(&mut self, seg: &DenseSegment<'_>, t_stop: f64, mode: usize) {
        let big_n = seg.coefficients.len() / self.method.coefficient_vectors();
        if big_n == self.n {
            // Nothing rides along (the adjoint's forward pass without a running loss): the
            // coefficients as they are, in one copy.
            self.coefficients.extend_from_slice(seg.coefficients);
        } else {
            for c in seg.coefficients.chunks_exact(big_n) {
                self.coefficients.extend_from_slice(&c[..self.n]);
            }
        }
        self.t_start.push(seg.t0);
        self.t_stop.push(t_stop);
        self.h.push(seg.h);
        self.mode.push(mode);
    }

    /// Number of states.
    pub fn states(&self) -> usize {
        self.n
    }

    /// Number of stored steps.
    pub fn segments(&self) -> usize {
        self.t_start.len()
    }

    /// Start and end time of every stored step (the end is cut at an event).
    pub fn steps(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.t_start
            .iter()
            .copied()
            .zip(self.t_stop.iter().copied())
    }

    /// Start and end of the stored span, or `None` when nothing is stored.
    pub fn span(&self) -> Option<(f64, f64)> {
        Some((*self.t_start.first()?, *self.t_stop.last()?))
    }

    #[inline]
    fn eval_segment(&self, s: usize, t: f64, out: &mut [f64]) {
        let len = self.n * self.method.coefficient_vectors();
        let c = &self.coefficients[s * len..(s + 1) * len];
        interpolate(self.method, self.t_start[s], self.h[s], c, t, out);
    }

    /// Index of the segment holding `t`: the last one starting at or before `t` (right-continuous
    /// at events) or, with `left`, the first one ending at or after `t`.
    pub(crate) fn segment_at(&self, t: f64, left: bool) -> usize {
        let last = self.segments().saturating_sub(1);
        if left {
            self.t_stop.partition_point(|&e| e < t).min(last)
        } else {
            self.t_start
                .partition_point(|&s| s <= t)
                .saturating_sub(1)
                .min(last)
        }
    }

    /// State at `t` (after the jump if an event happened exactly at `t`). Clamped to the span.
    pub fn eval(&self, t: f64, out: &mut [f64]) {
        if self.segments() > 0 {
            self.eval_segment(self.segment_at(t, false), t, out)
        }
    }

    /// [`Self::eval`] for a caller whose reads move through the segments in order (the adjoint's
    /// backward pass): `hint` is a segment index, tried first (the segment of the last read), and
    /// set to the segment read. The same segment as [`Self::eval`], hence the same value.
    pub(crate) fn eval_near(&self, hint: &mut usize, t: f64, out: &mut [f64]) {
        if self.segments() > 0 {
            let s = self.segment_near(*hint, t);
            *hint = s;
            self.eval_segment(s, t, out)
        }
    }

    /// [`Self::segment_at`]`(t, false)`, checking the segment `hint` first: when `t` lies in
    /// `[t_start[hint], t_start[hint + 1])` (or `hint` is the last segment and starts at or
    /// before `t`), `hint` is the last segment starting at or before `t`, which is what the
    /// search returns.
    pub(crate) fn segment_near(&self, hint: usize, t: f64) -> usize {
        let starts = &self.t_start;
        match starts.get(hint) {
            Some(&a) if a <= t && starts.get(hint + 1).is_none_or(|&b| b > t) => hint,
            _ => self.segment_at(t, false),
        }
    }

    /// State at `t` approached from the left (before the jump at an event time).
    pub fn eval_left(&self, t: f64, out: &mut [f64]) {
        if self.segments() > 0 {
            self.eval_segment(self.segment_at(t, true), t, out)
        }
    }

    /// Mode of the segment holding `t` (right-continuous).
    pub fn mode_at(&self, t: f64) -> usize {
        self.mode
            .get(self.segment_at(t, false))
            .copied()
            .unwrap_or(0)
    }

    /// `count` equally spaced samples `(t, x(t))` over the stored span, for plotting or export.
    pub fn sample(&self, count: usize) -> Vec<(f64, Vec<f64>)> {
        let Some((a, b)) = self.span() else {
            return Vec::new();
        };
        (0..count)
            .map(|i| {
                let t = if count > 1 {
                    a + (b - a) * i as f64 / (count - 1) as f64
                } else {
                    a
                };
                let mut x = vec![0.0; self.n];
                self.eval(t, &mut x);
                (t, x)
            })
            .collect()
    }
}

/// Result of [`crate::simulate`].
#[derive(Debug, Clone)]
pub struct Solution {
    /// The dense trajectory.
    pub trajectory: Trajectory,
    /// One record per event, in the order applied.
    pub events: Vec<EventRecord>,
    /// Guards that turned back within their noise of zero without an event: where the
    /// trajectory may or may not cross at these tolerances (gradients refuse them).
    pub near_misses: Vec<crate::NearMiss>,
    /// State at `t_end`.
    pub x_end: Vec<f64>,
    /// Mode at `t_end`.
    pub mode_end: usize,
    /// Integrator work.
    pub stats: StepStats,
}

impl Solution {
    /// Smallest `|ġ|` over the guard events (`INFINITY` when there were none): the distance to a
    /// grazing point where gradients diverge.
    pub fn min_abs_gdot(&self) -> f64 {
        min_abs_gdot(&self.events)
    }

    /// Largest grazing index `κ` over the guard events (`0` when there were none): above
    /// `SolverOptions::grazing_limit` a gradient through this trajectory is refused.
    pub fn max_grazing(&self) -> f64 {
        max_grazing(&self.events)
    }
}

/// Largest grazing index over the guard events (`0` when there were none).
pub(crate) fn max_grazing(events: &[EventRecord]) -> f64 {
    events
        .iter()
        .filter(|e| e.guard().is_some())
        .map(|e| e.grazing)
        .fold(0.0, f64::max)
}

pub(crate) fn min_abs_gdot(events: &[EventRecord]) -> f64 {
    events
        .iter()
        .filter(|e| e.guard().is_some())
        .map(|e| e.gdot.abs())
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps of a trajectory with an event at 0.25 (a segment cut there) and a zero-length step.
    fn trajectory() -> Trajectory {
        let mut traj = Trajectory::new(1, Method::Dopri5);
        let steps = [
            (0.0, 0.1, 0.1),
            (0.1, 0.25, 0.2),
            (0.25, 0.4, 0.15),
            (0.4, 0.4, 0.0),
            (0.4, 0.7, 0.3),
            (0.7, 1.0, 0.3),
        ];
        for (i, &(t0, t_stop, h)) in steps.iter().enumerate() {
            let c: Vec<f64> = (0..5).map(|j| (10 * i + j) as f64).collect();
            let seg = DenseSegment {
                method: Method::Dopri5,
                t0,
                h,
                coefficients: &c,
            };
            traj.push(&seg, t_stop, i);
        }
        traj
    }

    /// The hinted search returns the segment of the binary search for every hint, at the
    /// segments' starts and ends, inside them and outside the span (the adjoint's backward pass
    /// reads through it; a different segment would change the gradient).
    #[test]
    fn hinted_segment_search_equals_the_binary_search_for_every_hint() {
        let traj = trajectory();
        let mut times: Vec<f64> = traj.steps().flat_map(|(a, b)| [a, b]).collect();
        times.extend([
            -0.5,
            0.05,
            0.2,
            0.3,
            0.55,
            0.9,
            1.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]);
        for &t in &times {
            let expected = traj.segment_at(t, false);
            for hint in 0..traj.segments() + 2 {
                assert_eq!(traj.segment_near(hint, t), expected, "t = {t}, hint {hint}");
                let (mut hinted, mut hint) = ([0.0], hint);
                let mut plain = [0.0];
                traj.eval_near(&mut hint, t, &mut hinted);
                traj.eval(t, &mut plain);
                assert_eq!(hint, expected);
                assert_eq!(hinted[0].to_bits(), plain[0].to_bits(), "t = {t}");
            }
        }
    }

    /// A segment pushed from a dense output with extra components keeps the leading `n` of each
    /// vector; one without extra components is stored as it is.
    #[test]
    fn push_keeps_the_leading_components_of_every_vector() {
        let c: Vec<f64> = (0..10).map(f64::from).collect();
        let seg = DenseSegment {
            method: Method::Dopri5,
            t0: 0.0,
            h: 1.0,
            coefficients: &c,
        };
        let (mut one, mut two) = (
            Trajectory::new(1, Method::Dopri5),
            Trajectory::new(2, Method::Dopri5),
        );
        one.push(&seg, 1.0, 0);
        two.push(&seg, 1.0, 0);
        assert_eq!(one.coefficients, [0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(two.coefficients, c);
    }
}
