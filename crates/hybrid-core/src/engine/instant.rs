//! What the event loop does at one instant (docs/maths.md, "Event semantics"): restart the
//! stepper and fire the guards that sit on zero moving into their direction, apply a guard event
//! or a scheduled jump, and locate the earliest crossing inside a step.

use super::{non_finite, rhs, Augment, Workspace};
use crate::derivatives::At;
use crate::events::detect::{Bracket, Fired};
use crate::events::locate::{polish, safeguarded_newton, INTERPOLANT_ROOT_WIDTH};
use crate::ode::Stepper;
use crate::trajectory::EventKind;
use crate::{Derivatives, Error, SolverOptions};

/// One run of the event loop: the model and its inputs, and the workspace it runs in.
pub(super) struct Engine<'a, M: Derivatives, A: Augment<M>, S: Stepper> {
    pub(super) model: &'a M,
    pub(super) p: &'a [f64],
    pub(super) opts: &'a SolverOptions,
    pub(super) aug: &'a mut A,
    pub(super) w: &'a mut Workspace<S>,
    pub(super) n: usize,
    pub(super) q: usize,
    pub(super) t: f64,
    /// Whether the stepper has been started in this run (later restarts reuse its step size).
    pub(super) started: bool,
}

impl<M: Derivatives, A: Augment<M>, S: Stepper> Engine<'_, M, A, S> {
    /// Restart the stepper at `(t, z)` and re-arm the guards; apply every guard that fires at
    /// once (on zero, moving into its direction), re-arming after each round, until none does.
    pub(super) fn restart(&mut self) -> Result<(), Error> {
        loop {
            let (model, p, n, q) = (self.model, self.p, self.n, self.q);
            let aug = &mut *self.aug;
            // After a jump, try the step the controller proposed before it (the error control
            // shrinks it if the jump changed the dynamics); at `t0`, the starting heuristic.
            let first = if self.started {
                self.w.stepper.next_step()
            } else {
                0.0
            };
            self.started = true;
            // The state's exact polynomial flow in this mode, or the pair's stages.
            let at = At {
                q,
                t: self.t,
                x: &self.w.z[..n],
                p,
            };
            if let Some(flow) = self.w.affine.for_mode(model, at) {
                self.w.stepper.set_polynomial_flow(flow);
            }
            self.w.stepper.reset_with_step(
                &mut |tt, zz, dz| rhs(model, aug, q, p, n, tt, zz, dz),
                self.t,
                &self.w.z,
                1.0,
                first,
            );
            let f = &self.w.stepper.dx()[..n];
            self.w
                .detector
                .arm(model, q, self.t, &self.w.z[..n], f, p, &self.w.fired)?;
            if self.w.detector.immediate.is_empty() {
                return Ok(());
            }
            let mut firing = std::mem::take(&mut self.w.firing);
            firing.clear();
            firing.extend_from_slice(&self.w.detector.immediate);
            let r = self.fire(&firing, self.t, true);
            self.w.firing = firing;
            r?;
        }
    }

    /// Apply the jumps of `guards` (ascending) at `tau`, where `z` holds `x⁻`.
    pub(super) fn fire(
        &mut self,
        guards: &[usize],
        tau: f64,
        immediate: bool,
    ) -> Result<(), Error> {
        let (model, p, n) = (self.model, self.p, self.n);
        let simultaneous = guards.len() > 1;
        self.w.fired.clear();
        // Until a jump is applied, `z` holds `x⁻` on the step just scanned: a located event's
        // diagnostics come in closed form when that step was scanned exactly.
        let mut on_step = !immediate;
        for &k in guards {
            let q = self.q;
            if !model.guard_active(q, k) {
                continue; // switched off by a simultaneous jump applied before it
            }
            let x = &self.w.z[..n];
            let err = &self.w.stepper.error_bound()[..n];
            let detector = &mut self.w.detector;
            let exact = on_step
                .then(|| detector.exact_diagnostics(model, q, k, tau, x, p, err))
                .flatten();
            let (g, gdot, grazing) = match exact {
                Some(d) => d,
                None => detector.probe().grazing_index(model, q, k, tau, x, p, err),
            };
            on_step = false;
            model.jump(q, k, tau, x, p, &mut self.w.xp);
            if self.w.xp.iter().any(|v| !v.is_finite()) {
                return Err(non_finite("state after jump", tau));
            }
            self.w
                .zeno
                .admit(k, tau, self.w.events.len() + 1, self.opts)?;
            let q_after = model.next_mode(q, k);
            let mut record = self.w.record();
            record.t = tau;
            record.kind = EventKind::Guard(k);
            record.mode_before = q;
            record.mode_after = q_after;
            record.x_minus.clear();
            record.x_minus.extend_from_slice(&self.w.z[..n]);
            record.x_plus.clear();
            record.x_plus.extend_from_slice(&self.w.xp);
            record.g = g;
            record.gdot = gdot;
            record.grazing = grazing;
            record.simultaneous = simultaneous;
            record.immediate = immediate;
            self.aug.event(model, p, &record, &mut self.w.z[n..])?;
            self.w.events.push(record);
            self.w.z[..n].copy_from_slice(&self.w.xp);
            self.q = q_after;
            self.w.fired.push(Fired {
                guard: k,
                g_minus: g,
                gdot_minus: gdot,
            });
        }
        Ok(())
    }

    /// Apply scheduled event `i` at the current instant.
    pub(super) fn scheduled(&mut self, i: usize) -> Result<(), Error> {
        let (model, p, n, t) = (self.model, self.p, self.n, self.t);
        model.scheduled_jump(i, t, &self.w.z[..n], p, &mut self.w.xp);
        if self.w.xp.iter().any(|v| !v.is_finite()) {
            return Err(non_finite("state after scheduled jump", t));
        }
        let mut record = self.w.record();
        record.t = t;
        record.kind = EventKind::Scheduled(i);
        record.mode_before = self.q;
        record.mode_after = self.q;
        record.x_minus.clear();
        record.x_minus.extend_from_slice(&self.w.z[..n]);
        record.x_plus.clear();
        record.x_plus.extend_from_slice(&self.w.xp);
        record.g = 0.0;
        record.gdot = f64::NAN;
        record.grazing = 0.0;
        record.simultaneous = false;
        record.immediate = false;
        self.aug.event(model, p, &record, &mut self.w.z[n..])?;
        self.w.z[..n].copy_from_slice(&self.w.xp);
        self.w.events.push(record);
        self.w.fired.clear();
        Ok(())
    }

    /// The earliest crossing time among the brackets of the last step, with the guards that
    /// cross then (within the simultaneity tolerance) in `self.w.firing`, ascending.
    pub(super) fn locate(&mut self) -> f64 {
        let (model, p, n, q) = (self.model, self.p, self.n, self.q);
        let ta = self.w.stepper.t_prev();
        self.w.located.clear();
        // States polished in an earlier step are not this step's (a time may repeat: an event
        // at a restart point is located at the step's start, where the last event was).
        self.w.polished_t = [f64::NAN; 2];
        for k in 0..self.w.detector.brackets.len() {
            let Some(br) = self.w.detector.brackets[k] else {
                continue;
            };
            let (br, lo): (Bracket, f64) = if br.from_zero {
                match self
                    .w
                    .detector
                    .lift_from_zero(model, q, k, p, n, &self.w.stepper, br)
                {
                    Some(b) => (b, b.a),
                    None => {
                        // Left zero and came back below what the step resolves.
                        self.w.located.push((br.a, k));
                        continue;
                    }
                }
            } else {
                (br, ta)
            };
            // The root on the interpolant, by Newton's method with the guard's rate along the
            // flow (one flow and one dual guard evaluation per point, the value included); that
            // rate at the last point is the slope of the polish's Newton step.
            // On a polynomial step with guards affine in the state, the root in closed form.
            let exact = self.w.detector.exact_root(k, &br, ta);
            let (stepper, buf, f) = (&mut self.w.stepper, &mut self.w.buf, &mut self.w.f);
            let probe = self.w.detector.probe();
            let (tau_interp, slope) = if let Some(root) = exact {
                root
            } else {
                let (tau_interp, slope) = safeguarded_newton(
                    |s| {
                        let x = &mut buf[..n];
                        stepper.interpolate(s, x);
                        model.flow(q, s, x, p, f);
                        probe.rate_with_flow(model, q, k, s, x, f, p)
                    },
                    br.a,
                    br.ga,
                    br.b,
                    br.gb,
                    INTERPOLANT_ROOT_WIDTH * (br.b - br.a).abs(),
                );
                let slope = if slope.is_finite() {
                    slope
                } else {
                    let x = &mut buf[..n];
                    stepper.interpolate(tau_interp, x);
                    model.flow(q, tau_interp, x, p, f);
                    probe.rate_with_flow(model, q, k, tau_interp, x, f, p).1
                };
                (tau_interp, slope)
            };
            // The guard reads the state only, and the state's stages do not depend on what rides
            // along (sensitivities, loss quadratures): the polish steps the state alone, as a
            // system of its own. Its last two states are kept (in turn), with their times: the
            // located time is usually one of them (the polish ends on a bracket's end).
            if exact.is_some() {
                // The closed-form root is the root of `G` itself (the dense output and the
                // full-order step are the same polynomial): nothing to polish but rounding. Measured on the
                // bench's ball: within one ulp of the closed-form impact times, and the
                // gradient's error 9.6e-16 against 9.8e-15 with the polish (docs/maths.md §9).
                self.w.located.push((tau_interp, k));
                continue;
            }
            let (polished, polished_t) = (&mut self.w.polished, &mut self.w.polished_t);
            let mut slot = 0;
            let tau = polish(
                |s| {
                    slot ^= 1;
                    let x = &mut polished[slot][..];
                    stepper.step_from_prev_to(&mut |tt, xx, dx| model.flow(q, tt, xx, p, dx), s, x);
                    polished_t[slot] = s;
                    model.guard(q, k, s, x, p)
                },
                tau_interp,
                slope,
                lo,
                br.b,
            );
            self.w.located.push((tau, k));
        }
        let tau = self
            .w
            .located
            .iter()
            .map(|l| l.0)
            .fold(f64::INFINITY, f64::min);
        let tol = self.opts.simultaneity_tolerance * tau.abs().max(1.0);
        self.w.firing.clear();
        self.w.firing.extend(
            self.w
                .located
                .iter()
                .filter(|l| l.0 - tau <= tol)
                .map(|l| l.1),
        );
        self.w.firing.sort_unstable();
        tau
    }
}
