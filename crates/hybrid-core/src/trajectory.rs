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
        for c in seg.coefficients.chunks_exact(big_n) {
            self.coefficients.extend_from_slice(&c[..self.n]);
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
