//! Everything the jump conditions need at one event, computed once and shared by the forward
//! sensitivities and the adjoint (docs/maths.md, "Forward sensitivities" and "Adjoint").

use crate::derivatives::{guard_partials, jump_partials, jump_rate, scheduled_jump_partials};
use crate::loss::scalar_partials;
use crate::trajectory::{EventKind, EventRecord};
use crate::{HybridSystem, Loss};

/// Partials at one event. For a scheduled event `dtau` terms vanish (its time is fixed), which is
/// encoded by `gdot = ∞`, `g_x = g_p = 0`.
pub(crate) struct EventPartials {
    /// `ġ = g_t + g_x f⁻`.
    pub gdot: f64,
    /// `∂g/∂x` at `x⁻`.
    pub g_x: Vec<f64>,
    /// `∂g/∂p` at `x⁻`.
    pub g_p: Vec<f64>,
    /// `∂h/∂x` (`n × n`, column-major); empty unless asked for (`dense`).
    pub h_x: Vec<f64>,
    /// `∂h/∂p` (`n × m`, column-major); empty unless asked for (`dense`).
    pub h_p: Vec<f64>,
    /// `v = h_t + h_x f⁻ − f⁺`: how the post-jump state moves when the event time moves.
    pub v: Vec<f64>,
    /// `ℓ(τ, x⁻) − ℓ(τ, x⁺)`: the running loss's jump.
    pub dl_running: f64,
    /// Whether this event's time is differentiable in `p` (a guard event).
    pub located: bool,
}

/// Evaluate the partials at `record` (the caller has refused non-differentiable events first,
/// see `events::checks::check_differentiable`).
///
/// With `dense` the full jump Jacobians `h_x`, `h_p` are built (`O(n (n + m))`, what the forward
/// sensitivities need); without, only `v`, by one dual evaluation, and the adjoint applies the
/// jump through [`HybridSystem::jump_vjp`].
pub(crate) fn event_partials<M: HybridSystem + ?Sized, L: Loss + ?Sized>(
    model: &M,
    loss: Option<&L>,
    p: &[f64],
    record: &EventRecord,
    dense: bool,
) -> EventPartials {
    let (n, m) = (record.x_minus.len(), p.len());
    let (tau, xm, xpl) = (record.t, &record.x_minus[..], &record.x_plus[..]);
    match record.kind {
        EventKind::Scheduled(i) => {
            let (h_x, h_p) = if dense {
                let jp = scheduled_jump_partials(model, i, tau, xm, p);
                (jp.h_x, jp.h_p)
            } else {
                (Vec::new(), Vec::new())
            };
            EventPartials {
                gdot: f64::INFINITY,
                g_x: vec![0.0; n],
                g_p: vec![0.0; m],
                h_x,
                h_p,
                v: vec![0.0; n],
                dl_running: 0.0,
                located: false,
            }
        }
        EventKind::Guard(k) => {
            let gp = guard_partials(model, record.mode_before, k, tau, xm, p);
            let mut f_minus = vec![0.0; n];
            let mut f_plus = vec![0.0; n];
            model.flow_in_mode(record.mode_before, tau, xm, p, &mut f_minus);
            model.flow_in_mode(record.mode_after, tau, xpl, p, &mut f_plus);
            let gdot = gp.g_t + gp.g_x.iter().zip(&f_minus).map(|(a, b)| a * b).sum::<f64>();
            let (h_x, h_p) = if dense {
                let jp = jump_partials(model, record.mode_before, k, tau, xm, p);
                (jp.h_x, jp.h_p)
            } else {
                (Vec::new(), Vec::new())
            };
            // v = h_t + h_x f⁻ − f⁺, the first two terms by one dual evaluation.
            let rate = jump_rate(model, record.mode_before, k, tau, xm, &f_minus, p);
            let v = rate.iter().zip(&f_plus).map(|(r, f)| r - f).collect();
            let dl_running = match loss {
                Some(l) if l.has_running() => l.running(tau, xm, p) - l.running(tau, xpl, p),
                _ => 0.0,
            };
            EventPartials {
                gdot,
                g_x: gp.g_x,
                g_p: gp.g_p,
                h_x,
                h_p,
                v,
                dl_running,
                located: true,
            }
        }
    }
}

/// Value, `∂ψ/∂τ` and `∂ψ/∂p` of event-time loss term `j` at `tau`.
pub(crate) fn event_time_partials<L: Loss + ?Sized>(
    loss: &L,
    j: usize,
    tau: f64,
    p: &[f64],
) -> (f64, f64, Vec<f64>) {
    let (v, d_tau, _, d_p) = scalar_partials(tau, &[], p, |t, _, pd| loss.event_time(j, t, pd));
    (v, d_tau, d_p)
}
