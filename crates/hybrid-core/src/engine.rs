//! The one event loop behind simulation, forward sensitivities and the adjoint's forward pass
//! (docs/maths.md, "Event semantics"): settle everything due at the current instant, take one
//! step, detect crossings on its dense output, locate the earliest, jump, restart in place.
//!
//! What rides along with the state (sensitivities, loss quadratures) is an [`Augment`]: extra
//! components integrated on the steps the state alone chooses (unless
//! `SolverOptions::sensitivities_in_error_control`), so every pass sees one primal trajectory,
//! bit for bit, and one event sequence.

use crate::events::checks::ZenoCheck;
use crate::events::detect::{Bracket, Detector, Fired, NearMiss};
use crate::events::locate::{illinois, polish};
use crate::ode::{StepStats, Stepper, StepperOptions};
use crate::trajectory::{EventKind, EventRecord, Trajectory};
use crate::{Error, HybridSystem, SolverOptions};

/// Run `$body` with `$S` bound to the stepper type that `$integrator` names.
macro_rules! with_stepper {
    ($integrator:expr, $S:ident => $body:expr) => {
        match $integrator {
            $crate::Integrator::Dopri5 => {
                type $S = $crate::ode::Dopri5;
                $body
            }
            $crate::Integrator::Dop853 => {
                type $S = $crate::ode::Dop853;
                $body
            }
        }
    };
}
pub(crate) use with_stepper;

/// Extra components carried along the state, and what happens to them at events and stops.
pub(crate) trait Augment<M: HybridSystem + ?Sized> {
    /// Number of extra components.
    fn extra(&self) -> usize;
    /// Initial value of the extra components.
    fn init(&mut self, model: &M, p: &[f64], x0: &[f64], z: &mut [f64]) -> Result<(), Error>;
    /// Their time derivative.
    fn rhs(&mut self, model: &M, q: usize, t: f64, x: &[f64], p: &[f64], z: &[f64], dz: &mut [f64]);
    /// Their jump at an event (the record holds `x⁻`, `x⁺`, modes and `ġ`).
    fn event(
        &mut self,
        model: &M,
        p: &[f64],
        record: &EventRecord,
        z: &mut [f64],
    ) -> Result<(), Error>;
    /// A requested stop (observation or sample time) was reached.
    fn stop(
        &mut self,
        model: &M,
        p: &[f64],
        i: usize,
        t: f64,
        x: &[f64],
        z: &[f64],
    ) -> Result<(), Error>;
}

/// Nothing carried along: plain simulation.
pub(crate) struct NoAugment;

impl<M: HybridSystem + ?Sized> Augment<M> for NoAugment {
    fn extra(&self) -> usize {
        0
    }
    fn init(&mut self, _: &M, _: &[f64], _: &[f64], _: &mut [f64]) -> Result<(), Error> {
        Ok(())
    }
    fn rhs(&mut self, _: &M, _: usize, _: f64, _: &[f64], _: &[f64], _: &[f64], _: &mut [f64]) {}
    fn event(&mut self, _: &M, _: &[f64], _: &EventRecord, _: &mut [f64]) -> Result<(), Error> {
        Ok(())
    }
    fn stop(
        &mut self,
        _: &M,
        _: &[f64],
        _: usize,
        _: f64,
        _: &[f64],
        _: &[f64],
    ) -> Result<(), Error> {
        Ok(())
    }
}

/// What a run produced.
pub(crate) struct Run {
    pub events: Vec<EventRecord>,
    pub z_end: Vec<f64>,
    pub mode_end: usize,
    pub stats: StepStats,
    pub trajectory: Option<Trajectory>,
    pub near_misses: Vec<NearMiss>,
}

/// Check parameters, span, options and stop times before any work.
pub(crate) fn validate<M: HybridSystem + ?Sized>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    stop_times: &[f64],
    opts: &SolverOptions,
) -> Result<(), Error> {
    opts.validate()?;
    let dims = model.dims();
    if p.len() != dims.params {
        return Err(Error::WrongLength {
            what: "parameters",
            expected: dims.params,
            got: p.len(),
        });
    }
    if let Some(i) = p.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: format!("parameter {i}"),
            t: t0,
        });
    }
    if !(t0.is_finite() && t_end.is_finite() && t0 < t_end) {
        return Err(Error::InvalidTimeSpan { t0, t_end });
    }
    // A step below 16 ulps of the times in the span cannot advance `t` reliably (`t + h == t`):
    // refuse it now rather than after `max_steps` steps that go nowhere.
    if opts.max_step < 16.0 * f64::EPSILON * t0.abs().max(t_end.abs()) {
        return Err(Error::InvalidOption {
            name: "max_step",
            value: opts.max_step,
        });
    }
    let check = |what: &'static str, times: &[f64], clamp: bool| -> Result<(), Error> {
        let mut last = f64::NEG_INFINITY;
        for &t in times {
            let outside = !clamp && !(t0..=t_end).contains(&t);
            if !t.is_finite() || t < last || outside {
                return Err(Error::InvalidTime { what, t, t0, t_end });
            }
            last = t;
        }
        Ok(())
    };
    check("observation", stop_times, false)?;
    check("scheduled event", model.scheduled_times(), true)
}

fn rhs<M: HybridSystem + ?Sized, A: Augment<M>>(
    model: &M,
    aug: &mut A,
    q: usize,
    p: &[f64],
    n: usize,
    t: f64,
    z: &[f64],
    dz: &mut [f64],
) {
    let (x, extra) = z.split_at(n);
    let (dx, dextra) = dz.split_at_mut(n);
    model.flow_in_mode(q, t, x, p, dx);
    aug.rhs(model, q, t, x, p, extra, dextra);
}

fn non_finite(what: &str, t: f64) -> Error {
    Error::NonFinite {
        what: what.to_string(),
        t,
    }
}

/// The event loop's state: the model and its inputs, the stepper, the detector and the
/// records; every scratch buffer is allocated here, once.
struct Engine<'a, M: HybridSystem + ?Sized, A: Augment<M>, S: Stepper> {
    model: &'a M,
    p: &'a [f64],
    opts: &'a SolverOptions,
    aug: &'a mut A,
    stepper: S,
    detector: Detector,
    zeno: ZenoCheck,
    n: usize,
    q: usize,
    t: f64,
    z: Vec<f64>,
    xp: Vec<f64>,
    /// Scratch of the full integrated vector, for event location.
    buf: Vec<f64>,
    events: Vec<EventRecord>,
    trajectory: Option<Trajectory>,
    /// Guards whose jumps were applied at the current instant (for re-arming).
    fired: Vec<Fired>,
    /// Scratch: guards to fire, and located crossing times.
    firing: Vec<usize>,
    located: Vec<(f64, usize)>,
}

impl<M: HybridSystem + ?Sized, A: Augment<M>, S: Stepper> Engine<'_, M, A, S> {
    /// Restart the stepper at `(t, z)` and re-arm the guards; apply every guard that fires at
    /// once (on zero, moving into its direction), re-arming after each round, until none does.
    fn restart(&mut self) -> Result<(), Error> {
        loop {
            let (model, p, n, q) = (self.model, self.p, self.n, self.q);
            let aug = &mut *self.aug;
            self.stepper.reset(
                &mut |tt, zz, dz| rhs(model, aug, q, p, n, tt, zz, dz),
                self.t,
                &self.z,
                1.0,
            );
            let f = &self.stepper.dx()[..n];
            self.detector
                .arm(model, q, self.t, &self.z[..n], f, p, &self.fired)?;
            if self.detector.immediate.is_empty() {
                return Ok(());
            }
            let mut firing = std::mem::take(&mut self.firing);
            firing.clear();
            firing.extend_from_slice(&self.detector.immediate);
            let r = self.fire(&firing, self.t, true);
            self.firing = firing;
            r?;
        }
    }

    /// Apply the jumps of `guards` (ascending) at `tau`, where `z` holds `x⁻`.
    fn fire(&mut self, guards: &[usize], tau: f64, immediate: bool) -> Result<(), Error> {
        let (model, p, n) = (self.model, self.p, self.n);
        let simultaneous = guards.len() > 1;
        self.fired.clear();
        for &k in guards {
            let q = self.q;
            if !model.guard_active(k, q) {
                continue; // switched off by a simultaneous jump applied before it
            }
            let x = &self.z[..n];
            let err = &self.stepper.error_bound()[..n];
            let probe = self.detector.probe();
            let (g, gdot, grazing) = probe.grazing_index(model, q, k, tau, x, p, err);
            model.jump_in_mode(q, k, tau, x, p, &mut self.xp);
            if self.xp.iter().any(|v| !v.is_finite()) {
                return Err(non_finite("state after jump", tau));
            }
            self.zeno.admit(k, tau, self.events.len() + 1, self.opts)?;
            let q_after = model.next_mode(k, q);
            let record = EventRecord {
                t: tau,
                kind: EventKind::Guard(k),
                mode_before: q,
                mode_after: q_after,
                x_minus: x.to_vec(),
                x_plus: self.xp.clone(),
                g,
                gdot,
                grazing,
                simultaneous,
                immediate,
            };
            self.aug.event(model, p, &record, &mut self.z[n..])?;
            self.events.push(record);
            self.z[..n].copy_from_slice(&self.xp);
            self.q = q_after;
            self.fired.push(Fired {
                guard: k,
                g_minus: g,
                gdot_minus: gdot,
            });
        }
        Ok(())
    }

    /// Apply scheduled event `i` at the current instant.
    fn scheduled(&mut self, i: usize) -> Result<(), Error> {
        let (model, p, n, t) = (self.model, self.p, self.n, self.t);
        model.scheduled_jump(i, t, &self.z[..n], p, &mut self.xp);
        if self.xp.iter().any(|v| !v.is_finite()) {
            return Err(non_finite("state after scheduled jump", t));
        }
        let record = EventRecord {
            t,
            kind: EventKind::Scheduled(i),
            mode_before: self.q,
            mode_after: self.q,
            x_minus: self.z[..n].to_vec(),
            x_plus: self.xp.clone(),
            g: 0.0,
            gdot: f64::NAN,
            grazing: 0.0,
            simultaneous: false,
            immediate: false,
        };
        self.aug.event(model, p, &record, &mut self.z[n..])?;
        self.z[..n].copy_from_slice(&self.xp);
        self.events.push(record);
        self.fired.clear();
        Ok(())
    }

    /// The earliest crossing time among the brackets of the last step, with the guards that
    /// cross then (within the simultaneity tolerance) in `self.firing`, ascending.
    fn locate(&mut self) -> f64 {
        let (model, p, n, q) = (self.model, self.p, self.n, self.q);
        let ta = self.stepper.t_prev();
        self.located.clear();
        for k in 0..self.detector.brackets.len() {
            let Some(br) = self.detector.brackets[k] else {
                continue;
            };
            let (br, lo): (Bracket, f64) = if br.from_zero {
                match self
                    .detector
                    .lift_from_zero(model, q, k, p, n, &self.stepper, br)
                {
                    Some(b) => (b, b.a),
                    None => {
                        // Left zero and came back below what the step resolves.
                        self.located.push((br.a, k));
                        continue;
                    }
                }
            } else {
                (br, ta)
            };
            let (stepper, buf) = (&mut self.stepper, &mut self.buf);
            let tau_interp = illinois(
                |s| {
                    stepper.interpolate(s, buf);
                    model.guard_in_mode(q, k, s, &buf[..n], p)
                },
                br.a,
                br.ga,
                br.b,
                br.gb,
            );
            let aug = &mut *self.aug;
            let tau = polish(
                |s| {
                    stepper.step_from_prev_to(
                        &mut |tt, zz, dz| rhs(model, aug, q, p, n, tt, zz, dz),
                        s,
                        buf,
                    );
                    model.guard_in_mode(q, k, s, &buf[..n], p)
                },
                tau_interp,
                lo,
                br.b,
            );
            self.located.push((tau, k));
        }
        let tau = self
            .located
            .iter()
            .map(|l| l.0)
            .fold(f64::INFINITY, f64::min);
        let tol = self.opts.simultaneity_tolerance * tau.abs().max(1.0);
        self.firing.clear();
        self.firing.extend(
            self.located
                .iter()
                .filter(|l| l.0 - tau <= tol)
                .map(|l| l.1),
        );
        self.firing.sort_unstable();
        tau
    }
}

/// Integrate from `t0` to `t_end`, handling guard events, scheduled events and stops.
///
/// At one instant, in this order: guards that sit on zero moving into their direction fire
/// (re-arming after each round), then each scheduled jump due (each followed by the same), then
/// the stops. Stop times (observations, samples) never end a step: inside a step they are
/// evaluated by the full-order formula from its start, so every pass takes the same steps. An
/// event located exactly at `t_end` is applied, so the state at `t_end` is the one after its
/// jump.
pub(crate) fn run<M, A, S>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    stop_times: &[f64],
    opts: &SolverOptions,
    aug: &mut A,
    store: bool,
) -> Result<Run, Error>
where
    M: HybridSystem + ?Sized,
    A: Augment<M>,
    S: Stepper,
{
    validate(model, p, t0, t_end, stop_times, opts)?;
    let dims = model.dims();
    let (n, n_guards) = (dims.states, dims.guards);
    let nn = n + aug.extra();
    let mut z = vec![0.0; nn];
    model.initial_state(p, &mut z[..n]);
    if z[..n].iter().any(|v| !v.is_finite()) {
        return Err(non_finite("initial state", t0));
    }
    let x0 = z[..n].to_vec();
    aug.init(model, p, &x0, &mut z[n..])?;

    // Scheduled jumps end steps (their times are the model's, the same in every pass); stop
    // times never do, so that what a pass observes cannot change the steps it takes.
    let scheduled: Vec<(f64, usize)> = model
        .scheduled_times()
        .iter()
        .enumerate()
        .filter(|(_, &t)| t >= t0 && t <= t_end)
        .map(|(i, &t)| (t, i))
        .collect();
    let step_opts = StepperOptions {
        rtol: opts.rtol,
        atol: opts.atol,
        max_step: opts.max_step,
        first_step: 0.0,
        max_steps: opts.max_steps,
    };
    let mut stepper = S::new(nn, step_opts);
    if !opts.sensitivities_in_error_control {
        stepper.set_error_components(n);
    }
    let mut e = Engine {
        model,
        p,
        opts,
        aug,
        stepper,
        detector: Detector::new(n_guards, n, nn, p.len()),
        zeno: ZenoCheck::new(n_guards),
        n,
        q: model.initial_mode(),
        t: t0,
        z,
        xp: vec![0.0; n],
        buf: vec![0.0; nn],
        events: Vec::new(),
        trajectory: store.then(|| Trajectory::new(n, S::METHOD)),
        fired: Vec::with_capacity(n_guards),
        firing: Vec::with_capacity(n_guards),
        located: Vec::with_capacity(n_guards),
    };
    let (mut next_scheduled, mut next_stop) = (0, 0);
    let mut need_restart = true;

    loop {
        // Everything due at this instant: releases, scheduled jumps (stable order), then stops.
        loop {
            if need_restart {
                e.restart()?;
                need_restart = false;
            }
            match scheduled.get(next_scheduled) {
                Some(&(ts, i)) if ts <= e.t => {
                    next_scheduled += 1;
                    e.scheduled(i)?;
                    need_restart = true;
                }
                _ => break,
            }
        }
        while next_stop < stop_times.len() && stop_times[next_stop] <= e.t {
            let (x, extra) = e.z.split_at(n);
            e.aug.stop(model, p, next_stop, e.t, x, extra)?;
            next_stop += 1;
        }
        if e.t >= t_end {
            break;
        }
        let t_bound = scheduled
            .get(next_scheduled)
            .map_or(t_end, |s| s.0.min(t_end));
        e.detector.f_start.copy_from_slice(&e.stepper.dx()[..n]);
        {
            let (q, aug) = (e.q, &mut *e.aug);
            e.stepper
                .step(
                    &mut |tt, zz, dz| rhs(model, aug, q, p, n, tt, zz, dz),
                    t_bound,
                )
                .map_err(Error::from_step)?;
        }
        e.fired.clear();
        let crossed = e
            .detector
            .scan(model, e.q, p, n, &e.stepper, opts.guard_samples)?;
        let t_stop = if crossed { e.locate() } else { e.stepper.t() };
        // Stops strictly inside the step, by the full-order formula from the step start (as
        // accurate as landing there, without changing the step).
        while next_stop < stop_times.len() && stop_times[next_stop] < t_stop {
            let s = stop_times[next_stop];
            let (q, aug) = (e.q, &mut *e.aug);
            e.stepper.step_from_prev_to(
                &mut |tt, zz, dz| rhs(model, aug, q, p, n, tt, zz, dz),
                s,
                &mut e.buf,
            );
            let (x, extra) = e.buf.split_at(n);
            e.aug.stop(model, p, next_stop, s, x, extra)?;
            next_stop += 1;
        }
        if !crossed {
            if let Some(tr) = e.trajectory.as_mut() {
                tr.push(&e.stepper.segment(), t_stop, e.q);
            }
            e.z.copy_from_slice(e.stepper.x());
            e.t = t_stop;
            e.detector.advance();
            continue;
        }
        let tau = t_stop;
        {
            let (q, aug) = (e.q, &mut *e.aug);
            e.stepper.step_from_prev_to(
                &mut |tt, zz, dz| rhs(model, aug, q, p, n, tt, zz, dz),
                tau,
                &mut e.z,
            );
        }
        if let Some(tr) = e.trajectory.as_mut() {
            tr.push(&e.stepper.segment(), tau, e.q);
        }
        let firing = std::mem::take(&mut e.firing);
        let r = e.fire(&firing, tau, false);
        e.firing = firing;
        r?;
        e.t = tau;
        need_restart = true;
    }

    Ok(Run {
        events: e.events,
        mode_end: e.q,
        stats: e.stepper.stats(),
        trajectory: e.trajectory,
        near_misses: e.detector.near_misses,
        z_end: e.z,
    })
}
