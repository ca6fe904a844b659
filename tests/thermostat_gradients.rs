//! The thermostat of `examples/thermostat/` (two modes, two guards, mode-dependent flows) proved
//! against independent oracles: its partial derivatives against central differences in both
//! modes; the gradient of a loss with all three kinds of terms by forward sensitivities, adjoint
//! and central differences; switching times, final state and gradients against the closed form of
//! the piecewise exponential approach, differentiated by dual numbers. Guards against the two
//! modes' flows being mixed up at a switch (the `f⁻ − f⁺` term of the saltation jump), guards
//! watched in the wrong mode, a wrong `ġ` in the event records, and near-grazing, vanishing-event
//! and Zeno cases failing silently instead of with a typed error.

use crate::thermostat as model;

use hybrid_core::EventPoint;

use hybrid_core::{
    adjoint_gradient, forward_gradient, simulate, Error, EventSelector, Loss, Scalar, SolverOptions,
};
use hybrid_testkit::{check_derivatives, check_gradients, Point, Tolerances};
use model::{Thermostat, ThermostatLoss, COOLING, HEATING, SWITCH_OFF, SWITCH_ON};
use num_dual::Dual64;
use proptest::prelude::*;

/// The example's parameters `[T0, P, k, T_a, T_low, T_high]`.
const P: [f64; 6] = [15.0, 8.0, 0.25, 5.0, 19.0, 21.0];

fn tight() -> SolverOptions {
    SolverOptions {
        rtol: 1e-12,
        atol: 1e-12,
        ..Default::default()
    }
}

/// The thermostat on `[0, t_end]` by explicit formulas: in each mode `T` relaxes exponentially
/// towards `A` (`T_a + P/k` heating, `T_a` cooling), `T(s) = A + (T_start − A) e^{−ks}`, so the
/// time to reach a threshold `θ` is `ln((T_start − A)/(θ − A))/k`. Requires `T0 < T_high`.
struct Exact<T> {
    taus: Vec<T>,
    temp_end: T,
    energy_end: T,
    /// `∫ (T − t_set)² dt`.
    discomfort: T,
}

fn exact<T: Scalar>(p: &[T], t_end: f64, t_set: f64) -> Exact<T> {
    let (power, k, t_a, lo, hi) = (p[1], p[2], p[3], p[4], p[5]);
    let (mut t, mut temp, mut heating) = (T::zero(), p[0], true);
    let (mut taus, mut energy, mut discomfort) = (Vec::new(), T::zero(), T::zero());
    loop {
        let a = if heating { t_a + power / k } else { t_a };
        let target = if heating { hi } else { lo };
        let dt = ((temp - a) / (target - a)).ln() / k;
        let last = t + dt > T::cst(t_end);
        let span = if last { T::cst(t_end) - t } else { dt };
        let (b, c, decay) = (temp - a, a - T::cst(t_set), (-k * span).exp());
        let two = T::cst(2.0);
        discomfort += c * c * span
            + two * c * b * (T::one() - decay) / k
            + b * b * (T::one() - decay * decay) / (two * k);
        if heating {
            energy += power * span;
        }
        if last {
            return Exact {
                taus,
                temp_end: a + b * decay,
                energy_end: energy,
                discomfort,
            };
        }
        t += dt;
        temp = target;
        taus.push(t);
        heating = !heating;
    }
}

/// [`ThermostatLoss`] from the closed form (switch-offs are events 0 and 2).
fn exact_loss<T: Scalar>(loss: &ThermostatLoss, p: &[T]) -> T {
    let e = exact(p, loss.obs[0], loss.t_set);
    let [wp, we, wc] = loss.weights.map(T::cst);
    wp * (e.taus[2] - e.taus[0]) + we * e.energy_end + wc * e.discomfort
}

fn dual_gradient(p: &[f64], f: impl Fn(&[Dual64]) -> Dual64) -> Vec<f64> {
    (0..p.len())
        .map(|j| {
            let mut pd: Vec<Dual64> = p.iter().map(|&v| Dual64::new(v, 0.0)).collect();
            pd[j].eps = 1.0;
            f(&pd).eps
        })
        .collect()
}

/// Largest `|a − b|`, relative to the largest `|b|`.
fn rel_dev(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / scale)
        .fold(0.0, f64::max)
}

#[test]
fn switching_times_modes_and_gdot_match_the_closed_form() {
    let t_end = 6.0;
    let sol = simulate(&Thermostat, &P, 0.0, t_end, &tight()).unwrap();
    let e = exact(&P, t_end, 20.0);
    assert_eq!(sol.events.len(), e.taus.len());
    let (power, k, t_a, lo, hi) = (P[1], P[2], P[3], P[4], P[5]);
    for (i, (rec, tau)) in sol.events.iter().zip(&e.taus).enumerate() {
        assert!(
            (rec.t - tau).abs() <= 1e-12 * tau,
            "event {i}: {} vs {tau}",
            rec.t
        );
        // Switches alternate off, on, off, ... and move the mode accordingly.
        let (guard, before, after, gdot) = if i % 2 == 0 {
            (SWITCH_OFF, HEATING, COOLING, power - k * (hi - t_a))
        } else {
            (SWITCH_ON, COOLING, HEATING, -k * (lo - t_a))
        };
        assert_eq!(rec.guard(), Some(guard), "event {i}");
        assert_eq!((rec.mode_before, rec.mode_after), (before, after));
        assert!((rec.gdot - gdot).abs() <= 1e-9, "event {i}: ġ {}", rec.gdot);
    }
    assert!((sol.x_end[0] - e.temp_end).abs() <= 1e-10 * e.temp_end);
    assert!((sol.x_end[1] - e.energy_end).abs() <= 1e-10 * e.energy_end);
}

#[test]
fn every_partial_derivative_matches_central_differences_in_both_modes() {
    for q in [HEATING, COOLING] {
        let point = Point {
            t: 1.3,
            x: vec![20.2, 3.0],
            q,
        };
        let report = check_derivatives(&Thermostat, &P, &point).unwrap();
        assert!(report.flow < 1e-6 && report.guards < 1e-6, "{report:?}");
    }
}

/// Forward, adjoint and central differences of whole simulations agree (test kit defaults:
/// `1e-8` between the methods, `1e-5` against central differences).
fn assert_three_way_agreement<L: Loss>(what: &str, loss: &L) {
    let tol = Tolerances::default();
    let report = check_gradients(&Thermostat, &P, 0.0, 6.0, loss, &tight(), &tol)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        report.adjoint_vs_forward <= tol.methods
            && report.forward_vs_central <= tol.finite_differences,
        "{what}: {report:?}"
    );
}

#[test]
fn forward_adjoint_and_central_differences_agree_for_each_loss_kind() {
    // The event-time term is the first switch-off time here: the period alone does not depend
    // on T0, and central differences of an exactly zero entry sit at the rounding floor, which
    // the kit judges against 1e-6 of the gradient's scale. The period is checked against the
    // closed form below.
    let first_off = FirstSwitchOff([EventSelector::nth_of_guard(SWITCH_OFF, 0)]);
    assert_three_way_agreement("event time", &first_off);
    let observation = ThermostatLoss::new(6.0, [0.0, 1.0, 0.0], 20.0);
    assert_three_way_agreement("observation", &observation);
    let running = ThermostatLoss::new(6.0, [0.0, 0.0, 1.0], 20.0);
    assert_three_way_agreement("running", &running);
    let all = ThermostatLoss::new(6.0, [1.0, 0.1, 1.0], 20.0);
    assert_three_way_agreement("all three", &all);
}

/// Time kept between the horizon and any switching time, so the number of events is constant
/// over the finite-difference and dual-number perturbations.
const MARGIN: f64 = 1e-3;

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn forward_and_adjoint_gradients_match_the_closed_form(
        t0 in 5.0..20.0f64, power in 8.0..14.0f64, k in 0.1..0.3f64, t_a in 0.0..10.0f64,
        lo in 17.0..19.5f64, band in 0.5..3.0f64, extra in 0.05..4.0f64,
        weights in prop::array::uniform3(0.1..1.0f64),
    ) {
        let p = [t0, power, k, t_a, lo, lo + band];
        prop_assume!(t0 < lo + band - 0.1);
        // Horizon after the second switch-off, away from every switching time.
        let t_end = exact(&p, 1e3, 20.0).taus[2] + extra;
        let taus = exact(&p, t_end, 20.0).taus;
        prop_assume!(taus.iter().all(|tau| (t_end - tau).abs() > MARGIN));
        let loss = ThermostatLoss::new(t_end, weights, 20.0);
        let want = dual_gradient(&p, |pd| exact_loss(&loss, pd));
        let value = exact_loss(&loss, &p);
        let fwd = forward_gradient(&Thermostat, &p, 0.0, t_end, &loss, &tight()).unwrap();
        let adj = adjoint_gradient(&Thermostat, &p, 0.0, t_end, &loss, &tight()).unwrap();
        prop_assert!((fwd.loss - value).abs() <= 1e-9 * value.abs(), "{} vs {value}", fwd.loss);
        prop_assert!((adj.loss - value).abs() <= 1e-9 * value.abs(), "{} vs {value}", adj.loss);
        let (f, a) = (rel_dev(&fwd.gradient, &want), rel_dev(&adj.gradient, &want));
        prop_assert!(f < 1e-8, "forward {f:e}: {:?} vs {want:?}", fwd.gradient);
        prop_assert!(a < 1e-8, "adjoint {a:e}: {:?} vs {want:?}", adj.gradient);
    }
}

/// The time of the first switch-off alone.
struct FirstSwitchOff([EventSelector; 1]);

impl Loss for FirstSwitchOff {
    fn event_selectors(&self) -> &[EventSelector] {
        &self.0
    }
    fn event_term<T: Scalar>(&self, _j: usize, event: EventPoint<'_, T>, _p: &[T]) -> Option<T> {
        let tau = event.t;
        Some(tau)
    }
}

/// Parameters whose heater ends `ġ` above the upper threshold: `P = k (T_high − T_a) + ġ`.
fn near_grazing(gdot: f64) -> [f64; 6] {
    let mut p = P;
    p[1] = P[2] * (P[5] - P[3]) + gdot;
    p
}

#[test]
fn switch_off_time_sensitivity_grows_like_one_over_gdot_near_grazing() {
    let loss = FirstSwitchOff([EventSelector::nth_of_guard(SWITCH_OFF, 0)]);
    for gdot in [1e-1, 1e-2, 1e-3] {
        let p = near_grazing(gdot);
        let adj = adjoint_gradient(&Thermostat, &p, 0.0, 60.0, &loss, &tight()).unwrap();
        assert!(
            (adj.min_abs_gdot - gdot).abs() <= 1e-6 * gdot,
            "{}",
            adj.min_abs_gdot
        );
        let want = dual_gradient(&p, |pd| exact(pd, 60.0, 20.0).taus[0]);
        assert!(
            rel_dev(&adj.gradient, &want) < 1e-7,
            "{:?} vs {want:?}",
            adj.gradient
        );
        // dτ/dP = 1/(k² (A − T0)) − 1/(k ġ) diverges as ġ → 0.
        assert!(adj.gradient[1] * P[2] * gdot < -0.9, "{}", adj.gradient[1]);
    }
}

#[test]
fn grazing_limit_turns_a_near_tangent_switch_into_an_error() {
    let p = near_grazing(1e-3);
    // The simulation runs and reports how close each event came to grazing ...
    let sol = simulate(&Thermostat, &p, 0.0, 60.0, &tight()).unwrap();
    assert!((sol.min_abs_gdot() - 1e-3).abs() < 1e-9);
    let kappa = sol.max_grazing();
    assert!(kappa > 0.0 && kappa <= tight().grazing_limit, "κ = {kappa}");
    // ... and a gradient refuses events whose grazing index is above the limit, naming the
    // first in time (by the adjoint as by the forward method).
    let opts = SolverOptions {
        grazing_limit: 0.5 * kappa,
        ..tight()
    };
    let loss = FirstSwitchOff([EventSelector::nth_of_guard(SWITCH_OFF, 0)]);
    let err = adjoint_gradient(&Thermostat, &p, 0.0, 60.0, &loss, &opts).unwrap_err();
    match err {
        Error::GrazingEvent { t, guard, gdot, .. } => {
            let first = sol.events.iter().find(|e| e.grazing > 0.5 * kappa);
            assert_eq!(Some(t), first.map(|e| e.t));
            assert_eq!(Some(guard), first.and_then(|e| e.guard()));
            assert!(gdot.abs() <= 1e-3 + 1e-9, "ġ = {gdot}");
        }
        other => panic!("expected GrazingEvent, got {other:?}"),
    }
}

#[test]
fn heater_too_weak_to_reach_the_upper_threshold_gives_missing_event() {
    // Past the grazing point the switch-off disappears: T tends to T_a + P/k < T_high.
    let p = near_grazing(-0.5);
    let sol = simulate(&Thermostat, &p, 0.0, 60.0, &tight()).unwrap();
    assert!(sol.events.is_empty());
    let loss = ThermostatLoss::new(60.0, [1.0, 0.1, 1.0], 20.0);
    let err = forward_gradient(&Thermostat, &p, 0.0, 60.0, &loss, &tight()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MissingEvent {
                index: 0,
                available: 0,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn thermostat_without_hysteresis_chatters_into_a_zeno_error() {
    // A band of 1e-10 °C: the heater switches every ~3e-11 h.
    let mut p = P;
    p[4] = p[5] - 1e-10;
    let err = simulate(&Thermostat, &p, 0.0, 6.0, &SolverOptions::default()).unwrap_err();
    match err {
        Error::EventsTooClose { t, dt, .. } => {
            let first = exact(&P, 6.0, 20.0).taus[0];
            assert!((t - first).abs() < 1e-6 && dt < 1e-9, "t = {t}, dt = {dt}");
        }
        other => panic!("expected EventsTooClose, got {other:?}"),
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    let opts = SolverOptions::default();
    let err = simulate(&Thermostat, &P[..5], 0.0, 6.0, &opts).unwrap_err();
    assert_eq!(
        err,
        Error::WrongLength {
            what: "parameters",
            expected: 6,
            got: 5
        }
    );
    let mut p = P;
    p[5] = f64::NAN;
    let err = simulate(&Thermostat, &p, 0.0, 6.0, &opts).unwrap_err();
    assert!(
        matches!(err, Error::NonFinite { ref what, .. } if what == "parameter 5"),
        "{err:?}"
    );
}
