//! The checks that turn an ill-posed event sequence into a typed error (docs/maths.md, "Event
//! semantics" and "Grazing"): Zeno behaviour while simulating, and, before any gradient is
//! formed, events at which the loss is not differentiable.

use crate::events::detect::NearMiss;
use crate::trajectory::EventRecord;
use crate::{Error, SolverOptions};

/// Zeno protection: a cap on the number of events and a floor on the time between two events of
/// one guard.
pub(crate) struct ZenoCheck {
    last_fired: Vec<f64>,
}

impl ZenoCheck {
    pub fn new(guards: usize) -> Self {
        Self {
            last_fired: vec![f64::NEG_INFINITY; guards],
        }
    }

    /// Admit event number `count` (from 1) of guard `k` at `tau`, or name the Zeno symptom.
    pub fn admit(
        &mut self,
        k: usize,
        tau: f64,
        count: usize,
        opts: &SolverOptions,
    ) -> Result<(), Error> {
        if count > opts.max_events {
            return Err(Error::TooManyEvents {
                t: tau,
                count: opts.max_events,
            });
        }
        let dt = tau - self.last_fired[k];
        if dt < opts.min_event_separation * tau.abs().max(1.0) {
            return Err(Error::EventsTooClose {
                t: tau,
                guard: k,
                dt,
                count,
            });
        }
        self.last_fired[k] = tau;
        Ok(())
    }
}

/// Refuse a gradient through events at which the loss is not differentiable, naming the first in
/// time: an event that fired at a restart point (its guard sat on zero at `t0` or right after
/// another jump), an event at an observation time, a grazing event (grazing index above
/// `opts.grazing_limit`), and a near miss (a guard that turned back within the integration noise
/// of zero, so that whether it crossed is not resolved).
pub(crate) fn check_differentiable(
    events: &[EventRecord],
    near_misses: &[NearMiss],
    observation_times: &[f64],
    opts: &SolverOptions,
) -> Result<(), Error> {
    let first_miss = near_misses.first();
    let miss_error = |m: &NearMiss| Error::NearMiss {
        t: m.t,
        guard: m.guard,
        g: m.g,
        noise: m.noise,
    };
    let mut oi = 0;
    for e in events {
        if let Some(m) = first_miss.filter(|m| m.t < e.t) {
            return Err(miss_error(m));
        }
        let Some(guard) = e.guard() else { continue };
        if e.immediate {
            return Err(Error::EventAtRestart {
                t: e.t,
                guard,
                g: e.g,
                gdot: e.gdot,
            });
        }
        if !(e.grazing <= opts.grazing_limit) {
            return Err(Error::GrazingEvent {
                t: e.t,
                guard,
                gdot: e.gdot,
                index: e.grazing,
                limit: opts.grazing_limit,
            });
        }
        let tol = opts.simultaneity_tolerance * e.t.abs().max(1.0);
        while oi < observation_times.len() && observation_times[oi] < e.t - tol {
            oi += 1;
        }
        if let Some(&s) = observation_times.get(oi) {
            if (s - e.t).abs() <= tol {
                return Err(Error::EventAtObservation {
                    t: e.t,
                    guard,
                    observation: oi,
                    t_observation: s,
                });
            }
        }
    }
    match first_miss {
        Some(m) => Err(miss_error(m)),
        None => Ok(()),
    }
}
