//! The forward pass's neuron state: absolute-time coefficients, 16 bytes per neuron.
//!
//! Between events Table 1's flow is linear, and with the population's shared exponentials of the
//! time since the epoch `T` (`clock.rs`), `Em(t) = e^{-(t-T)/τm}`, `Es(t) = e^{-(t-T)/τs}`, its
//! free solution is
//!
//! ```text
//! I(t) = C Es(t)
//! V(t) = A Em(t) + C G(t),   G' = (Es - G)/τm,
//! ```
//!
//! with two constant coefficients `A`, `C` and one particular solution `G` per population:
//! `G = c Es` with `c = τs/(τs - τm)` when the time constants are well apart (`|c| <= 4`),
//! `G = Em (t - T)/τm` when they are equal, and `G = Em (t - T)/τm φ(δ (t - T))` (the `expm1`
//! form of `docs/maths.md`) when they are close. A neuron's state is `(A, C)`, valid at every
//! time until the next event that touches it: no stored time, no decay per touch.
//!
//! - A weight `w` arriving at `t` adds `w` to `I` and leaves `V`: `C += w / Es(t)`,
//!   `A += w g_w(t)` with `g_w = -G/(Em Es)`, two multiply-adds with numbers shared by the
//!   event ([`Clock::es_inv`], [`Clock::g_w`]).
//! - Reading the state at `t` is `V = A Em + C G`, `I = C Es`.
//! - A reset (spike, end of a refractory period) sets `A = -C G / Em`, i.e. `V(t) = 0`.
//!
//! Precision: `A Em = V - C G` is of the size of `V` and `|c| I` when `G = c Es`; with equal or
//! close time constants `C G = I (e^{δ (t-T)} - 1)/(δ τm)` grows with `t - T`, so the forward
//! pass moves the epoch every `2 τm` there ([`PopConsts::span`]), which bounds the
//! cancellation by a factor of about 2.6. Moving the epoch re-expresses every state at the new
//! epoch ([`Neuron::rebase`]).

use super::clock::{Clock, PopConsts};

/// One neuron's membrane state in the forward pass: its two coefficients (16 bytes, a quarter
/// of a cache line; the forward pass keeps the end of its refractory period and its queue entry
/// in arrays of their own, `forward_queue.rs`, so that the deliveries sweep half the memory).
#[derive(Clone, Copy, Debug)]
#[repr(align(16))]
pub(crate) struct Neuron {
    /// Coefficient of `Em` in `V`.
    pub a: f64,
    /// Coefficient of `Es` in `I` (and of `G` in `V`).
    pub c: f64,
}

impl Neuron {
    /// At rest (`V = I = 0`).
    pub fn rest() -> Self {
        Self { a: 0.0, c: 0.0 }
    }

    /// `V(t)` of the free solution.
    #[inline(always)]
    pub fn voltage(&self, clock: &Clock) -> f64 {
        self.a * clock.em + self.c * clock.g
    }

    /// `I(t)`.
    #[inline(always)]
    pub fn current(&self, clock: &Clock) -> f64 {
        self.c * clock.es
    }

    /// A weight `w` arriving at the clock's time.
    #[inline(always)]
    pub fn receive(&mut self, w: f64, clock: &Clock) {
        self.a += w * clock.g_w;
        self.c += w * clock.es_inv;
    }

    /// Sets `V = 0` at the clock's time, `I` unchanged.
    #[inline]
    pub fn reset_voltage(&mut self, clock: &Clock) {
        self.a = -self.c * clock.g * clock.em_inv;
    }

    /// Re-expresses the state for a new epoch `t`: `old` is the clock at `t` for the old epoch;
    /// at the new one `Em = Es = 1` and `G = pc.g_at_epoch()`.
    #[inline]
    pub fn rebase(&mut self, pc: &PopConsts, old: &Clock) {
        let (v, i) = (self.voltage(old), self.current(old));
        self.c = i;
        self.a = v - i * pc.g_at_epoch();
    }
}

/// One neuron's adjoint in the backward pass (`backward.rs`), by the same device in reverse
/// time: between the events that make it jump, `λ_V` decays with `τm` and drives `λ_I`, which
/// decays with `τs`, so
///
/// ```text
/// λ_V(t) = a / Em(t),   λ_I(t) = b / Es(t) + a G_b(t),
/// ```
///
/// with `G_b = -c / Em` when the time constants are well apart, else
/// `G_b(t) = e^{-(T-t)/τm} ((T-t)/τm) φ(δ (T-t))` (0 at the epoch), the backward pass's epoch
/// `T` lying after `t`. Reading the adjoint at an arrival is three multiplications; nothing is
/// written.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Adjoint {
    pub a: f64,
    pub b: f64,
}

impl Adjoint {
    /// `λ_V(t)`.
    #[inline(always)]
    pub fn lambda_v(&self, clock: &Clock) -> f64 {
        self.a * clock.em_inv
    }

    /// `λ_I(t)`.
    #[inline(always)]
    pub fn lambda_i(&self, clock: &Clock) -> f64 {
        self.b * clock.es_inv + self.a * clock.g_back
    }

    /// Whether the adjoint is identically zero.
    #[inline(always)]
    pub fn is_zero(&self) -> bool {
        (self.a == 0.0) & (self.b == 0.0)
    }

    /// Sets `(λ_V, λ_I)` at the clock's time.
    #[inline]
    pub fn set(&mut self, lv: f64, li: f64, clock: &Clock) {
        self.a = lv * clock.em;
        self.b = (li - self.a * clock.g_back) * clock.es;
    }

    /// Re-expresses the adjoint for a new epoch `t`: `old` is the clock at `t` for the old
    /// epoch; at the new one `Em = Es = 1` and `G_b = pc.g_back_at_epoch()`.
    #[inline]
    pub fn rebase(&mut self, pc: &PopConsts, old: &Clock) {
        let (lv, li) = (self.lambda_v(old), self.lambda_i(old));
        self.a = lv;
        self.b = li - lv * pc.g_back_at_epoch();
    }
}

/// The start of the current segment of a neuron whose membrane maximum is tracked (readouts,
/// silent output neurons): `V`, `I` and the time of the last input that touched it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Segment {
    pub v: f64,
    pub i: f64,
    pub t: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::{Name, Pop};
    use crate::engine::params::LifParams;

    fn consts(tau_mem: f64, tau_syn: f64) -> PopConsts {
        let pop = Pop {
            name: Name::Layer(0),
            size: 1,
            params: LifParams {
                tau_mem,
                tau_syn,
                threshold: 1.0,
            },
            t_ref: 0.0,
            spiking: true,
            silent_maxima: false,
            first_spike_only: false,
        };
        PopConsts::new(&pop).unwrap()
    }

    /// Oracle: the closed form from `(v0, i0)` at `t0` (`Kernel::state_at`, relative time).
    #[test]
    fn coefficients_follow_the_closed_form_through_inputs_resets_and_a_new_epoch() {
        // Apart (Split), equal, and close time constants (Exact).
        for (tm, ts) in [(20.0, 5.0), (10.0, 10.0), (20.0, 19.0), (5.0, 20.0)] {
            let pc = consts(tm, ts);
            let mut n = Neuron::rest();
            let (mut v, mut i, mut t0) = (0.0, 0.0, 0.0);
            let mut epoch = 0.0;
            let events = [
                (1.0, 2.0),
                (3.5, -0.7),
                (9.0, 1.3),
                (30.0, 0.4),
                (31.0, 0.0),
            ];
            for (k, &(t, w)) in events.iter().enumerate() {
                if k == 3 {
                    // A new epoch between events.
                    let old = pc.clock(25.0, epoch);
                    n.rebase(&pc, &old);
                    epoch = 25.0;
                }
                let clock = pc.clock(t, epoch);
                let (ve, ie) = pc.k.state_at(v, i, t - t0);
                let scale = ve.abs().max(ie.abs()).max(1.0);
                assert!(
                    (n.voltage(&clock) - ve).abs() < 1e-14 * scale,
                    "{tm} {ts} {t}"
                );
                assert!(
                    (n.current(&clock) - ie).abs() < 1e-14 * scale,
                    "{tm} {ts} {t}"
                );
                n.receive(w, &clock);
                (v, i, t0) = (ve, ie + w, t);
                assert!((n.current(&clock) - i).abs() < 1e-14 * scale);
                assert!((n.voltage(&clock) - v).abs() < 1e-14 * scale);
                if k == 2 {
                    n.reset_voltage(&clock);
                    v = 0.0;
                    assert!(n.voltage(&clock).abs() < 1e-14 * scale);
                }
            }
        }
    }

    /// Oracle: the reverse-time flow of the adjoint, `λ_V ← e^{-Δ/τm} λ_V`,
    /// `λ_I ← e^{-Δ/τs} λ_I + K(Δ) λ_V` (`Kernel::decay`).
    #[test]
    fn adjoint_coefficients_follow_the_reverse_flow_through_jumps_and_a_new_epoch() {
        for (tm, ts) in [(20.0, 5.0), (10.0, 10.0), (20.0, 19.0), (5.0, 20.0)] {
            let pc = consts(tm, ts);
            let mut epoch = 60.0;
            let mut adj = Adjoint::default();
            let (mut lv, mut li, mut t0) = (0.0, 0.0, epoch);
            // (time, jump of λ_V), walked backwards.
            let events = [
                (55.0, 1.5),
                (50.0, -0.4),
                (41.0, 0.0),
                (30.0, 2.0),
                (28.0, 0.0),
            ];
            for (k, &(t, jump)) in events.iter().enumerate() {
                if k == 3 {
                    let old = pc.clock(35.0, epoch);
                    adj.rebase(&pc, &old);
                    epoch = 35.0;
                }
                let clock = pc.clock(t, epoch);
                let d = pc.k.decay(t0 - t);
                (lv, li, t0) = (d.mem * lv, d.syn * li + d.cross * lv, t);
                let scale = lv.abs().max(li.abs()).max(1.0);
                assert!(
                    (adj.lambda_v(&clock) - lv).abs() < 1e-14 * scale,
                    "{tm} {ts} {t}"
                );
                assert!(
                    (adj.lambda_i(&clock) - li).abs() < 1e-14 * scale,
                    "{tm} {ts} {t}"
                );
                lv += jump;
                adj.set(lv, li, &clock);
                assert!((adj.lambda_v(&clock) - lv).abs() < 1e-14 * scale);
                assert!((adj.lambda_i(&clock) - li).abs() < 1e-14 * scale);
            }
        }
    }
}
