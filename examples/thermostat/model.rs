//! A room heated by a thermostat with hysteresis: the heater switches off when the temperature
//! rises through `T_high` and on again when it falls through `T_low` (`docs/writing-a-model.md`).
//!
//! Time in hours, temperature in °C, heat capacity 1 kWh/°C (so a heater of `P` kW warms the
//! room by `P` °C/h). State `x = [T, E]`: temperature and energy used (kWh).
//! Parameters `p = [T0, P, k, T_a, T_low, T_high]`: initial temperature, heater power, loss rate
//! (1/h), outside temperature, lower and upper thresholds.

use hybrid_core::{
    Crossing, Derivatives, Dims, EventPoint, EventSelector, EventTermInputs, HybridSystem, Loss,
    Scalar,
};

/// Mode `q = 0`: heater on (the initial mode).
pub const HEATING: usize = 0;
/// Mode `q = 1`: heater off.
pub const COOLING: usize = 1;
/// Guard `T − T_high`, watched while heating; it switches the heater off.
pub const SWITCH_OFF: usize = 0;
/// Guard `T − T_low`, watched while cooling; it switches the heater on.
pub const SWITCH_ON: usize = 1;

/// The thermostat: `Ṫ = P·[heating] − k (T − T_a)`, `Ė = P·[heating]`.
pub struct Thermostat;

impl HybridSystem for Thermostat {
    fn dims(&self) -> Dims {
        Dims {
            states: 2,
            params: 6,
            guards: 2,
        }
    }

    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0[0] = p[0];
        x0[1] = T::zero();
    }

    /// The flow of mode `q`: the heater adds `P` while heating.
    fn flow<T: Scalar>(&self, q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
        let heat = if q == HEATING { p[1] } else { T::zero() };
        dx[0] = heat - p[2] * (x[0] - p[3]);
        dx[1] = heat;
    }

    fn guard<T: Scalar>(&self, _q: usize, k: usize, _t: T, x: &[T], p: &[T]) -> T {
        match k {
            SWITCH_OFF => x[0] - p[5],
            _ => x[0] - p[4],
        }
    }

    fn direction(&self, _q: usize, k: usize) -> Crossing {
        match k {
            SWITCH_OFF => Crossing::Rising,
            _ => Crossing::Falling,
        }
    }

    fn guard_active(&self, q: usize, k: usize) -> bool {
        (k == SWITCH_OFF) == (q == HEATING)
    }

    fn next_mode(&self, _q: usize, k: usize) -> usize {
        match k {
            SWITCH_OFF => COOLING,
            _ => HEATING,
        }
    }

    // No `jump`: switching changes the mode only, the state is continuous (the default
    // jump is the identity).
}

/// Derivative products by dual numbers.
impl Derivatives for Thermostat {}

/// `L = w_period (τ_off,2 − τ_off,1) + w_energy E(t_end) + w_comfort ∫ (T − T_set)² dt`:
/// the three loss kinds (event-time, observation, running) in one loss.
pub struct ThermostatLoss {
    /// Weights `[w_period, w_energy, w_comfort]`.
    pub weights: [f64; 3],
    /// Comfortable temperature `T_set` (°C).
    pub t_set: f64,
    /// `[t_end]`: the energy is observed at the end of the horizon.
    pub obs: [f64; 1],
    /// The first and second switch-off events: their difference is one period.
    pub sel: [EventSelector; 2],
}

impl ThermostatLoss {
    /// The loss over `[0, t_end]`.
    pub fn new(t_end: f64, weights: [f64; 3], t_set: f64) -> Self {
        Self {
            weights,
            t_set,
            obs: [t_end],
            sel: [
                EventSelector::nth_of_guard(SWITCH_OFF, 0),
                EventSelector::nth_of_guard(SWITCH_OFF, 1),
            ],
        }
    }
}

impl Loss for ThermostatLoss {
    fn observation_times(&self) -> &[f64] {
        &self.obs
    }
    fn observation<T: Scalar>(&self, _i: usize, x: &[T], _p: &[T]) -> Option<T> {
        Some(T::cst(self.weights[1]) * x[1])
    }
    fn running<T: Scalar>(&self, _t: T, x: &[T], _p: &[T]) -> Option<T> {
        let d = x[0] - T::cst(self.t_set);
        Some(T::cst(self.weights[2]) * d * d)
    }
    fn event_selectors(&self) -> &[EventSelector] {
        &self.sel
    }
    /// `−τ` for the first switch-off, `+τ` for the second: their sum is the period.
    fn event_term<T: Scalar>(&self, j: usize, event: EventPoint<'_, T>, _p: &[T]) -> Option<T> {
        let tau = event.t;
        let sign = if j == 0 { -1.0 } else { 1.0 };
        Some(T::cst(sign * self.weights[0]) * tau)
    }
    /// The period depends on the event times alone.
    fn event_term_inputs(&self, _j: usize) -> EventTermInputs {
        EventTermInputs::TIME
    }
}
