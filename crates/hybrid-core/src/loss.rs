//! Losses: observations at fixed times, a running loss, and event terms (docs/maths.md §1).

use crate::trajectory::EventRecord;
use crate::{Error, Scalar};

mod duals;

pub(crate) use duals::{has_running, LossDuals};

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
    ///
    /// `O((E + S) log E)` for `E` events and `S` selectors, not `O(E S)`: the guard events are
    /// listed by guard (in `out`, before the picks), and a selector of one guard finds its
    /// events there by binary search. A selector of every guard walks the events.
    pub fn resolve(
        selectors: &[EventSelector],
        events: &[EventRecord],
        out: &mut Vec<(usize, usize, usize)>,
    ) -> Result<(), Error> {
        out.clear();
        // `(guard, event, 0)` for every guard event, sorted by guard then time: each guard's
        // events in order, its occurrences counted from the start of its run.
        out.extend(
            events
                .iter()
                .enumerate()
                .filter_map(|(e, r)| r.guard().map(|k| (k, e, 0))),
        );
        out.sort_unstable_by_key(|&(k, e, _)| (k, e));
        let listed = out.len();
        for (j, sel) in selectors.iter().enumerate() {
            let start = out.len();
            let count = match sel.guard {
                Some(g) => {
                    let lo = out[..listed].partition_point(|&(k, _, _)| k < g);
                    let hi = out[..listed].partition_point(|&(k, _, _)| k <= g);
                    let count = hi - lo;
                    let mut pick = |c: usize| {
                        let e = out[lo + c].1;
                        out.push((j, e, c));
                    };
                    match sel.occurrence {
                        Occurrence::Nth(n) if n < count => pick(n),
                        Occurrence::Last if count > 0 => pick(count - 1),
                        Occurrence::Every => (0..count).for_each(&mut pick),
                        _ => {}
                    }
                    count
                }
                None => {
                    let mut guard_events = events
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| sel.matches(r))
                        .map(|(e, _)| e);
                    let count = guard_events.clone().count();
                    match sel.occurrence {
                        Occurrence::Nth(n) => {
                            if let Some(e) = guard_events.nth(n) {
                                out.push((j, e, n));
                            }
                        }
                        Occurrence::Last => {
                            if let Some(e) = guard_events.next_back() {
                                out.push((j, e, count - 1));
                            }
                        }
                        Occurrence::Every => {
                            out.extend(guard_events.zip(0..).map(|(e, c)| (j, e, c)))
                        }
                    }
                    count
                }
            };
            if out.len() == start && sel.occurrence != Occurrence::Every {
                return Err(Error::MissingEvent {
                    index: j,
                    selector: format!("{sel:?}"),
                    available: count,
                });
            }
        }
        out.drain(..listed);
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

/// Which inputs of an event term `ψ_j(τ, x⁻, x⁺, p)` it depends on ([`Loss::event_term_inputs`]).
///
/// The gradient of a term costs one dual-number evaluation per input it is declared to depend on
/// (`1 + 2n + m` for [`Self::ALL`]); the partials with respect to the others are taken to be zero
/// without evaluating anything. A term of the event time alone ([`Self::TIME`], a weighted spike
/// time) costs one evaluation instead of `1 + 2n + m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTermInputs {
    /// Whether `ψ` depends on the event time `τ`.
    pub t: bool,
    /// Whether `ψ` depends on the state before the jump `x⁻`.
    pub x_minus: bool,
    /// Whether `ψ` depends on the state after the jump `x⁺`.
    pub x_plus: bool,
    /// Whether `ψ` depends on the parameters `p` directly.
    pub p: bool,
}

impl EventTermInputs {
    /// Every input (the default: always correct).
    pub const ALL: Self = Self {
        t: true,
        x_minus: true,
        x_plus: true,
        p: true,
    };
    /// The event time alone.
    pub const TIME: Self = Self {
        t: true,
        x_minus: false,
        x_plus: false,
        p: false,
    };
}

impl Default for EventTermInputs {
    fn default() -> Self {
        Self::ALL
    }
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

    /// Whether observation `i` depends on the parameters directly (`φ_p ≢ 0`). Default: `true`.
    /// An observation of the state alone returns `false` and its gradient costs `n` dual
    /// evaluations instead of `n + m`. The declaration must be true (`φ_p` is then taken as
    /// zero); `hybrid_testkit::check_loss_inputs` checks it.
    fn observation_depends_on_parameters(&self, _i: usize) -> bool {
        true
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

    /// Which inputs event term `j` depends on. Default: [`EventTermInputs::ALL`]. A term that
    /// depends on fewer (a weighted spike time: [`EventTermInputs::TIME`]) declares it and its
    /// gradient costs one dual evaluation per declared input instead of `1 + 2n + m`. The
    /// declaration must be true (the partials of undeclared inputs are taken as zero);
    /// `hybrid_testkit::check_loss_inputs` checks it.
    fn event_term_inputs(&self, _j: usize) -> EventTermInputs {
        EventTermInputs::ALL
    }
}

impl<L: Loss> Loss for &L {
    fn observation_times(&self) -> &[f64] {
        (**self).observation_times()
    }
    fn observation<T: Scalar>(&self, i: usize, x: &[T], p: &[T]) -> Option<T> {
        (**self).observation(i, x, p)
    }
    fn observation_depends_on_parameters(&self, i: usize) -> bool {
        (**self).observation_depends_on_parameters(i)
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
    fn event_term_inputs(&self, j: usize) -> EventTermInputs {
        (**self).event_term_inputs(j)
    }
}

/// A loss with no terms (sensitivities without a loss).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLoss;
impl Loss for NoLoss {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trajectory::EventKind;

    /// The selection by its definition, selector after selector over every event (`O(E S)`).
    fn resolve_by_definition(
        selectors: &[EventSelector],
        events: &[EventRecord],
    ) -> Result<Vec<(usize, usize, usize)>, usize> {
        let mut out = Vec::new();
        for (j, sel) in selectors.iter().enumerate() {
            let matching: Vec<usize> = (0..events.len())
                .filter(|&e| sel.matches(&events[e]))
                .collect();
            let picked: Vec<usize> = match sel.occurrence {
                Occurrence::Nth(n) => matching.get(n).map(|_| vec![n]).unwrap_or_default(),
                Occurrence::Last => matching.len().checked_sub(1).into_iter().collect(),
                Occurrence::Every => (0..matching.len()).collect(),
            };
            if picked.is_empty() && sel.occurrence != Occurrence::Every {
                return Err(j);
            }
            out.extend(picked.into_iter().map(|c| (j, matching[c], c)));
        }
        out.sort_by_key(|&(j, e, _)| (e, j));
        Ok(out)
    }

    /// `resolve` picks what the definition picks (every occurrence kind, one guard and every
    /// guard, scheduled events in between, selectors in any order and repeated), and names the
    /// same first selector that finds nothing.
    #[test]
    fn resolve_picks_what_the_definition_picks() {
        let kinds = [
            EventKind::Guard(2),
            EventKind::Scheduled(0),
            EventKind::Guard(0),
            EventKind::Guard(2),
            EventKind::Guard(1),
            EventKind::Scheduled(1),
            EventKind::Guard(2),
            EventKind::Guard(0),
        ];
        let events: Vec<EventRecord> = kinds
            .iter()
            .enumerate()
            .map(|(i, &kind)| EventRecord {
                t: i as f64,
                kind,
                ..EventRecord::blank()
            })
            .collect();
        let mut all = Vec::new();
        for guard in [None, Some(0), Some(1), Some(2), Some(3)] {
            for occurrence in [
                Occurrence::Nth(0),
                Occurrence::Nth(1),
                Occurrence::Nth(2),
                Occurrence::Nth(9),
                Occurrence::Last,
                Occurrence::Every,
            ] {
                all.push(EventSelector { guard, occurrence });
            }
        }
        let mut out = Vec::new();
        // Every selector alone, then growing prefixes of the list in two orders.
        let mut reversed = all.clone();
        reversed.reverse();
        let sets: Vec<Vec<EventSelector>> = all
            .iter()
            .map(|&s| vec![s, s])
            .chain((0..=all.len()).map(|k| all[..k].to_vec()))
            .chain((0..=all.len()).map(|k| reversed[..k].to_vec()))
            .collect();
        for sels in &sets {
            let got = EventSelector::resolve(sels, &events, &mut out).map(|()| out.clone());
            match (got, resolve_by_definition(sels, &events)) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{sels:?}"),
                (Err(Error::MissingEvent { index, .. }), Err(want)) => {
                    assert_eq!(index, want, "{sels:?}")
                }
                (got, want) => panic!("{sels:?}: {got:?} against {want:?}"),
            }
        }
    }
}
