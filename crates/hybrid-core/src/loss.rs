//! Losses: observations at fixed times, a running loss, and event-time losses (docs/maths.md §1).

use crate::trajectory::EventRecord;
use crate::{Error, Scalar};

/// Which event an event-time loss term looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSelector {
    /// Guard whose events count; `None` counts the events of every guard (scheduled events
    /// never count: their times do not depend on the parameters).
    pub guard: Option<usize>,
    /// Which occurrence, from 0: `occurrence: 2` is the third such event.
    pub occurrence: usize,
}

impl EventSelector {
    /// The `occurrence`-th event (from 0) of guard `guard`.
    pub fn nth_of_guard(guard: usize, occurrence: usize) -> Self {
        Self {
            guard: Some(guard),
            occurrence,
        }
    }

    /// The `occurrence`-th guard event (from 0), whatever the guard.
    pub fn nth_event(occurrence: usize) -> Self {
        Self {
            guard: None,
            occurrence,
        }
    }

    pub(crate) fn matches(&self, record: &EventRecord) -> bool {
        match (record.guard(), self.guard) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(k), Some(want)) => k == want,
        }
    }

    /// For every event record, the index of the selector(s) it satisfies, as a list per selector:
    /// `result[j] = index of the record selected by selectors[j]`.
    pub fn resolve(
        selectors: &[EventSelector],
        events: &[EventRecord],
    ) -> Result<Vec<usize>, Error> {
        selectors
            .iter()
            .enumerate()
            .map(|(j, sel)| {
                let mut hits = events.iter().enumerate().filter(|(_, e)| sel.matches(e));
                hits.nth(sel.occurrence)
                    .map(|(i, _)| i)
                    .ok_or_else(|| Error::MissingEvent {
                        index: j,
                        selector: format!("{sel:?}"),
                        available: events.iter().filter(|e| sel.matches(e)).count(),
                    })
            })
            .collect()
    }
}

/// A loss `L = Σ_i φ_i(x(s_i), p) + ∫ ℓ(t, x, p) dt + Σ_j ψ_j(τ_j, p)` (docs/maths.md §1).
///
/// Every part defaults to absent, so a loss implements only what it uses. Methods are generic
/// over the scalar so the framework differentiates them with dual numbers.
pub trait Loss {
    /// Observation times `s_i`, sorted, within `[t0, t_end]`. At an event time the observation
    /// sees the state after the jump. Default: none.
    fn observation_times(&self) -> &[f64] {
        &[]
    }

    /// Observation term `φ_i(x(s_i), p)`. Default: zero.
    fn observation<T: Scalar>(&self, _i: usize, _x: &[T], _p: &[T]) -> T {
        T::zero()
    }

    /// Whether there is a running loss. Default: `false`.
    fn has_running(&self) -> bool {
        false
    }

    /// Running-loss integrand `ℓ(t, x, p)`; it may jump at events because `x` does. Default: zero.
    fn running<T: Scalar>(&self, _t: T, _x: &[T], _p: &[T]) -> T {
        T::zero()
    }

    /// The events whose times enter the loss. Default: none.
    fn event_selectors(&self) -> &[EventSelector] {
        &[]
    }

    /// Event-time term `ψ_j(τ_j, p)` of the event chosen by `event_selectors()[j]`. Default: zero.
    fn event_time<T: Scalar>(&self, _j: usize, _tau: T, _p: &[T]) -> T {
        T::zero()
    }
}

/// Value and gradient `(v, ∂v/∂t, ∂v/∂x, ∂v/∂p)` of a scalar function of `(t, x, p)` by dual numbers.
pub(crate) fn scalar_partials<F>(
    t: f64,
    x: &[f64],
    p: &[f64],
    f: F,
) -> (f64, f64, Vec<f64>, Vec<f64>)
where
    F: Fn(num_dual::Dual64, &[num_dual::Dual64], &[num_dual::Dual64]) -> num_dual::Dual64,
{
    let n = x.len();
    let mut z = Vec::with_capacity(1 + n + p.len());
    z.push(t);
    z.extend_from_slice(x);
    z.extend_from_slice(p);
    let (v, jac) = crate::derivatives::jacobian_tz(&z, 1, |zd, out| {
        out[0] = f(zd[0], &zd[1..1 + n], &zd[1 + n..])
    });
    (v[0], jac[0], jac[1..1 + n].to_vec(), jac[1 + n..].to_vec())
}
