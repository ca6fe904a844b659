//! Everything the jump conditions need at one guard event, computed once per event in scratch
//! owned by the pass and shared by the forward sensitivities and the adjoint (docs/maths.md,
//! "Forward sensitivities" and "Adjoint").

use crate::derivatives::{At, Duals, Jump, RateDuals};
use crate::trajectory::EventRecord;
use crate::{Derivatives, Loss};

/// Partials at one guard event (no allocation once sized).
#[derive(Debug, Default)]
pub(crate) struct EventPartials {
    /// `ġ = g_t + g_x f⁻`.
    pub gdot: f64,
    /// `∂g/∂x` at `x⁻`.
    pub g_x: Vec<f64>,
    /// `∂g/∂p` at `x⁻` (zero, never written, when the model's guards do not depend on `p`).
    pub g_p: Vec<f64>,
    /// `f⁻ = f_{q⁻}(τ, x⁻)`.
    pub f_minus: Vec<f64>,
    /// `f⁺ = f_{q⁺}(τ, x⁺)`.
    pub f_plus: Vec<f64>,
    /// `v = h_t + h_x f⁻ − f⁺`: how the post-jump state moves when the event time moves.
    pub v: Vec<f64>,
    /// `ℓ(τ, x⁻) − ℓ(τ, x⁺)`: the running loss's jump.
    pub dl_running: f64,
    /// Scratch of `v`'s dual evaluation, the parameters seeded once per pass.
    rate: RateDuals,
    /// `(mode, guard)` whose `g_x` and `g_t` are held in `g_x` and `g_t`, when they are the
    /// same at every event of that guard in this pass (see [`Self::eval`]).
    held: Option<(usize, usize)>,
    g_t: f64,
}

impl EventPartials {
    /// Scratch for `n` states and `m` parameters.
    pub fn new(n: usize, m: usize) -> Self {
        Self {
            gdot: 0.0,
            g_x: vec![0.0; n],
            g_p: vec![0.0; m],
            f_minus: vec![0.0; n],
            f_plus: vec![0.0; n],
            v: vec![0.0; n],
            dl_running: 0.0,
            rate: RateDuals::default(),
            held: None,
            g_t: 0.0,
        }
    }

    /// Set the parameters of the coming pass: [`Self::eval`] must be called with these.
    pub fn set_parameters(&mut self, p: &[f64]) {
        self.rate.set_parameters(p);
        // `g_x` may depend on the parameters.
        self.held = None;
    }

    /// Evaluate at the guard event `record` of guard `k`, at the parameters `p` of
    /// [`Self::set_parameters`] (the caller has refused
    /// non-differentiable events first, see `events::checks::check_differentiable`). `running`
    /// says whether the loss has a running part (docs/maths.md §3: it enters `c` by its jump).
    pub fn eval<M: Derivatives, L: Loss>(
        &mut self,
        model: &M,
        loss: &L,
        running: bool,
        p: &[f64],
        record: &EventRecord,
        k: usize,
        ad: &mut Duals,
    ) {
        let (tau, xm, xpl) = (record.t, &record.x_minus[..], &record.x_plus[..]);
        let at = At {
            q: record.mode_before,
            t: tau,
            x: xm,
            p,
        };
        // `g_p` stays zero (as made) when the guards do not depend on `p`.
        let g_p = if model.guard_depends_on_parameters() {
            &mut self.g_p[..]
        } else {
            &mut self.g_p[..0]
        };
        // A guard affine in the state, free of time and of the parameters has one `g_x` (and
        // `g_t`) per mode and parameters, and no `g_p`: formed at its first event of the pass,
        // kept for the next ones (the same bits: the same evaluation at another state).
        let constant = !model.guard_gradient_depends_on_state()
            && !model.guard_depends_on_time()
            && !model.guard_depends_on_parameters();
        let key = (record.mode_before, k);
        if !(constant && self.held == Some(key)) {
            let (_, g_t) = model.guard_gradient(k, at, &mut self.g_x, g_p, ad);
            self.g_t = g_t;
            self.held = constant.then_some(key);
        }
        model.flow(record.mode_before, tau, xm, p, &mut self.f_minus);
        model.flow(record.mode_after, tau, xpl, p, &mut self.f_plus);
        self.gdot = self.g_t + dot(&self.g_x, &self.f_minus);
        // v = h_t + h_x f⁻ − f⁺, the first two terms by one dual evaluation.
        self.rate
            .jump_rate(model, Jump::Guard(k), at, &self.f_minus, &mut self.v);
        self.v
            .iter_mut()
            .zip(&self.f_plus)
            .for_each(|(v, f)| *v -= f);
        self.dl_running = if running {
            let l = |x: &[f64]| loss.running(tau, x, p).unwrap_or(0.0);
            l(xm) - l(xpl)
        } else {
            0.0
        };
    }
}

/// `a · b`.
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
