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

    /// Forget every event (a new run).
    pub fn clear(&mut self) {
        self.last_fired.fill(f64::NEG_INFINITY);
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

/// Why the event itself (whatever the loss) admits no gradient: released at a restart point, or
/// grazing. `None` for a differentiable guard event.
pub(crate) fn refusal(e: &EventRecord, guard: usize, opts: &SolverOptions) -> Option<Error> {
    if e.immediate {
        return Some(Error::EventAtRestart {
            t: e.t,
            guard,
            g: e.g,
            gdot: e.gdot,
        });
    }
    (!(e.grazing <= opts.grazing_limit)).then_some(Error::GrazingEvent {
        t: e.t,
        guard,
        gdot: e.gdot,
        index: e.grazing,
        limit: opts.grazing_limit,
    })
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
        if let Some(err) = refusal(e, guard, opts) {
            return Err(err);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trajectory::EventKind;

    fn record(t: f64, guard: usize, grazing: f64, immediate: bool) -> EventRecord {
        EventRecord {
            t,
            kind: EventKind::Guard(guard),
            mode_before: 0,
            mode_after: 0,
            x_minus: vec![0.0],
            x_plus: vec![0.0],
            g: 0.0,
            gdot: -1.0,
            grazing,
            simultaneous: false,
            immediate,
        }
    }

    #[test]
    fn zeno_check_refuses_close_events_of_one_guard_and_too_many_events() {
        let opts = SolverOptions::default();
        let mut z = ZenoCheck::new(2);
        z.admit(0, 1.0, 1, &opts).unwrap();
        z.admit(1, 1.0, 2, &opts).unwrap(); // another guard at the same time is fine
        let e = z.admit(0, 1.0 + 1e-12, 3, &opts).unwrap_err();
        assert!(
            matches!(
                e,
                Error::EventsTooClose {
                    guard: 0,
                    count: 3,
                    ..
                }
            ),
            "{e:?}"
        );
        let few = SolverOptions {
            max_events: 3,
            ..opts
        };
        let e = z.admit(1, 5.0, 4, &few).unwrap_err();
        assert!(matches!(e, Error::TooManyEvents { count: 3, .. }), "{e:?}");
    }

    #[test]
    fn first_non_differentiable_event_in_time_is_named() {
        let opts = SolverOptions::default();
        let fine = record(0.5, 0, 1e-9, false);
        let grazing = record(1.0, 1, 1.0, false);
        let released = record(2.0, 0, 0.0, true);
        let on_obs = record(3.0, 0, 0.0, false);
        assert!(check_differentiable(std::slice::from_ref(&fine), &[], &[0.7], &opts).is_ok());
        let e = check_differentiable(
            &[fine.clone(), grazing.clone(), released.clone()],
            &[],
            &[],
            &opts,
        )
        .unwrap_err();
        assert!(matches!(e, Error::GrazingEvent { guard: 1, .. }), "{e:?}");
        let e = check_differentiable(&[fine.clone(), released], &[], &[], &opts).unwrap_err();
        assert!(matches!(e, Error::EventAtRestart { guard: 0, .. }), "{e:?}");
        let e = check_differentiable(&[fine.clone(), on_obs], &[], &[1.0, 3.0], &opts).unwrap_err();
        assert!(
            matches!(e, Error::EventAtObservation { observation: 1, .. }),
            "{e:?}"
        );
        let miss = NearMiss {
            t: 0.2,
            guard: 1,
            g: 1e-12,
            noise: 1e-12,
        };
        let e = check_differentiable(&[fine, grazing], &[miss], &[], &opts).unwrap_err();
        assert!(matches!(e, Error::NearMiss { guard: 1, .. }), "{e:?}");
    }
}
