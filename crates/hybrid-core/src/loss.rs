//! Losses: observations at fixed times, a running loss, and event terms (docs/maths.md §1).

use crate::trajectory::EventRecord;
use crate::{Error, Scalar};
use num_dual::Dual64;

/// Which occurrences of the matching events a term looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occurrence {
    /// The `n`-th (from 0); missing is an error ([`Error::MissingEvent`]).
    Nth(usize),
    /// The last one; none at all is an error ([`Error::MissingEvent`]).
    Last,
    /// Every one (the term is summed over them; none is fine).
    Every,
}

/// Which events an event term looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSelector {
    /// Guard whose events count; `None` counts the events of every guard (scheduled events
    /// never count: their times do not depend on the parameters).
    pub guard: Option<usize>,
    /// Which of them.
    pub occurrence: Occurrence,
}

impl EventSelector {
    /// The `n`-th event (from 0) of guard `guard`.
    pub fn nth_of_guard(guard: usize, n: usize) -> Self {
        Self {
            guard: Some(guard),
            occurrence: Occurrence::Nth(n),
        }
    }

    /// The last event of guard `guard`.
    pub fn last_of_guard(guard: usize) -> Self {
        Self {
            guard: Some(guard),
            occurrence: Occurrence::Last,
        }
    }

    /// Every event of guard `guard`.
    pub fn every_of_guard(guard: usize) -> Self {
        Self {
            guard: Some(guard),
            occurrence: Occurrence::Every,
        }
    }

    /// The `n`-th guard event (from 0), whatever the guard.
    pub fn nth_event(n: usize) -> Self {
        Self {
            guard: None,
            occurrence: Occurrence::Nth(n),
        }
    }

    /// Whether `record` is one of the events this selector counts.
    pub fn matches(&self, record: &EventRecord) -> bool {
        match (record.guard(), self.guard) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(k), Some(want)) => k == want,
        }
    }

    /// The `(selector j, event index, occurrence)` triples the selectors pick from `events`, in
    /// event order, into `out`; fails with [`Error::MissingEvent`] for an `Nth` or `Last` that
    /// finds nothing.
    pub fn resolve(
        selectors: &[EventSelector],
        events: &[EventRecord],
        out: &mut Vec<(usize, usize, usize)>,
    ) -> Result<(), Error> {
        out.clear();
        for (j, sel) in selectors.iter().enumerate() {
            let start = out.len();
            let mut count = 0;
            for (e, _) in events.iter().enumerate().filter(|(_, r)| sel.matches(r)) {
                let take = match sel.occurrence {
                    Occurrence::Nth(n) => count == n,
                    Occurrence::Last | Occurrence::Every => true,
                };
                if take {
                    if sel.occurrence == Occurrence::Last {
                        out.truncate(start);
                    }
                    out.push((j, e, count));
                }
                count += 1;
            }
            if out.len() == start && sel.occurrence != Occurrence::Every {
                return Err(Error::MissingEvent {
                    index: j,
                    selector: format!("{sel:?}"),
                    available: count,
                });
            }
        }
        out.sort_by_key(|&(j, e, _)| (e, j));
        Ok(())
    }
}

/// What an event term sees of its event: the time, the state on both sides of the jump and
/// which occurrence of its selector it is.
#[derive(Debug, Clone, Copy)]
pub struct EventPoint<'a, T> {
    /// Event time `τ`.
    pub t: T,
    /// State just before the jump, `x⁻ = x(τ⁻)`.
    pub x_minus: &'a [T],
    /// State just after the jump, `x⁺ = h(τ, x⁻, p)`.
    pub x_plus: &'a [T],
    /// Which occurrence of the selector's events this is (from 0).
    pub occurrence: usize,
}

/// A loss `L = Σ_i φ_i(x(s_i), p) + ∫ ℓ(t, x, p) dt + Σ_j ψ_j(τ_j, x(τ_j⁻), x(τ_j⁺), p)`
/// (docs/maths.md §1).
///
/// Each part is one method returning `Option`: `None` (the default) means the part is absent,
/// so a part cannot be declared in one method and forgotten in another:
/// - observations: [`Loss::observation`] must return `Some` for every index of
///   [`Loss::observation_times`] (else [`Error::MissingLossTerm`]);
/// - running loss: present when [`Loss::running`] returns `Some` at `(t0, x0)`; it must then
///   return `Some` everywhere (a later `None` is [`Error::MissingLossTerm`]);
/// - event terms: [`Loss::event_term`] must return `Some` for every selector of
///   [`Loss::event_selectors`].
///
/// Methods are generic over the scalar so the framework differentiates them with dual numbers.
pub trait Loss {
    /// Observation times `s_i`, sorted, within `[t0, t_end]`. At an event time the observation
    /// sees the state after the jump. Default: none.
    fn observation_times(&self) -> &[f64] {
        &[]
    }

    /// Observation term `φ_i(x(s_i), p)`. Default: absent.
    fn observation<T: Scalar>(&self, _i: usize, _x: &[T], _p: &[T]) -> Option<T> {
        None
    }

    /// Running-loss integrand `ℓ(t, x, p)`; it may jump at events because `x` does. Default:
    /// absent.
    fn running<T: Scalar>(&self, _t: T, _x: &[T], _p: &[T]) -> Option<T> {
        None
    }

    /// The events the event terms look at, one selector per term. Default: none.
    fn event_selectors(&self) -> &[EventSelector] {
        &[]
    }

    /// Event term `ψ_j(τ, x⁻, x⁺, p)` of an event chosen by `event_selectors()[j]` (summed over
    /// the events an [`Occurrence::Every`] selector picks). Default: absent.
    fn event_term<T: Scalar>(&self, _j: usize, _event: EventPoint<'_, T>, _p: &[T]) -> Option<T> {
        None
    }
}

impl<L: Loss> Loss for &L {
    fn observation_times(&self) -> &[f64] {
        (**self).observation_times()
    }
    fn observation<T: Scalar>(&self, i: usize, x: &[T], p: &[T]) -> Option<T> {
        (**self).observation(i, x, p)
    }
    fn running<T: Scalar>(&self, t: T, x: &[T], p: &[T]) -> Option<T> {
        (**self).running(t, x, p)
    }
    fn event_selectors(&self) -> &[EventSelector] {
        (**self).event_selectors()
    }
    fn event_term<T: Scalar>(&self, j: usize, event: EventPoint<'_, T>, p: &[T]) -> Option<T> {
        (**self).event_term(j, event, p)
    }
}

/// A loss with no terms (sensitivities without a loss).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLoss;
impl Loss for NoLoss {}

fn missing(part: &'static str, index: usize) -> Error {
    Error::MissingLossTerm { part, index }
}

/// Dual-number scratch for the partials of loss terms (no allocation once warm).
#[derive(Debug, Default)]
pub(crate) struct LossDuals {
    z: Vec<Dual64>,
    /// Gradient of the last term with respect to its packed inputs.
    pub grad: Vec<f64>,
}

impl LossDuals {
    /// Value and gradient (into `self.grad`) of `f` at the packed inputs `z`.
    fn gradient<F>(&mut self, z: &[f64], mut f: F) -> Option<f64>
    where
        F: FnMut(&[Dual64]) -> Option<Dual64>,
    {
        self.z.clear();
        self.z.extend(z.iter().map(|&v| Dual64::new(v, 0.0)));
        self.grad.clear();
        let mut value = f(&self.z)?.re;
        for i in 0..z.len() {
            self.z[i].eps = 1.0;
            let d = f(&self.z)?;
            self.z[i].eps = 0.0;
            value = d.re;
            self.grad.push(d.eps);
        }
        Some(value)
    }

    /// `φ_i` and its gradient `[φ_x, φ_p]` (into `self.grad`).
    pub fn observation<L: Loss>(
        &mut self,
        loss: &L,
        i: usize,
        x: &[f64],
        p: &[f64],
        packed: &mut Vec<f64>,
    ) -> Result<f64, Error> {
        let n = x.len();
        packed.clear();
        packed.extend_from_slice(x);
        packed.extend_from_slice(p);
        self.gradient(packed, |z| loss.observation(i, &z[..n], &z[n..]))
            .ok_or(missing("observation", i))
    }

    /// `ℓ` and its gradient `[ℓ_x, ℓ_p]` (into `self.grad`) at `t`.
    pub fn running<L: Loss>(
        &mut self,
        loss: &L,
        t: f64,
        x: &[f64],
        p: &[f64],
        packed: &mut Vec<f64>,
    ) -> Option<f64> {
        let n = x.len();
        packed.clear();
        packed.extend_from_slice(x);
        packed.extend_from_slice(p);
        let td = Dual64::new(t, 0.0);
        self.gradient(packed, |z| loss.running(td, &z[..n], &z[n..]))
    }

    /// `ψ_j` at `record` (the `occurrence`-th pick of selector `j`) and its gradient
    /// `[ψ_τ, ψ_{x⁻}, ψ_{x⁺}, ψ_p]` (into `self.grad`, length `1 + 2n + m`).
    pub fn event_term<L: Loss>(
        &mut self,
        loss: &L,
        j: usize,
        record: &EventRecord,
        occurrence: usize,
        p: &[f64],
        packed: &mut Vec<f64>,
    ) -> Result<f64, Error> {
        let n = record.x_minus.len();
        packed.clear();
        packed.push(record.t);
        packed.extend_from_slice(&record.x_minus);
        packed.extend_from_slice(&record.x_plus);
        packed.extend_from_slice(p);
        self.gradient(packed, |z| {
            let point = EventPoint {
                t: z[0],
                x_minus: &z[1..1 + n],
                x_plus: &z[1 + n..1 + 2 * n],
                occurrence,
            };
            loss.event_term(j, point, &z[1 + 2 * n..])
        })
        .ok_or(missing("event term", j))
    }
}

/// Whether `loss` has a running part: it answers at `(t0, x0)`.
pub(crate) fn has_running<L: Loss>(loss: &L, t0: f64, x0: &[f64], p: &[f64]) -> bool {
    loss.running(t0, x0, p).is_some()
}
