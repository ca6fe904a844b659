//! The one event loop behind simulation, forward sensitivities and the adjoint's forward pass
//! (docs/maths.md, "Event semantics"): settle everything due at the current instant, take one
//! step, detect crossings on its dense output, locate the earliest, jump, restart in place.
//!
//! What rides along with the state (sensitivities, loss quadratures) is an [`Augment`]: extra
//! components integrated on the steps the state alone chooses (unless
//! `SolverOptions::sensitivities_in_error_control`), so every pass sees one primal trajectory,
//! bit for bit, and one event sequence.

use crate::events::checks::ZenoCheck;
use crate::events::detect::{Detector, Fired, NearMiss};
use crate::ode::{Stepper, StepperOptions};
use crate::trajectory::{EventRecord, Trajectory};
use crate::{Derivatives, Error, HybridSystem, SolverOptions};

mod affine;
mod instant;

use affine::AffineModes;
use instant::Engine;

/// Extra components carried along the state, and what happens to them at events and stops.
pub(crate) trait Augment<M: HybridSystem> {
    /// Number of extra components.
    fn extra(&self) -> usize;
    /// Initial value of the extra components.
    fn init(&mut self, model: &M, p: &[f64], x0: &[f64], z: &mut [f64]) -> Result<(), Error>;
    /// Their time derivative. Called only when [`Self::extra`] is not zero.
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

impl<M: HybridSystem> Augment<M> for NoAugment {
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

/// Check the parameters: their number and that they are finite.
pub(crate) fn validate_params<M: HybridSystem>(model: &M, p: &[f64], t0: f64) -> Result<(), Error> {
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
    Ok(())
}

/// Check span, options, stop times and scheduled times before any work.
pub(crate) fn validate_setup<M: HybridSystem>(
    model: &M,
    t0: f64,
    t_end: f64,
    stop_times: &[f64],
    opts: &SolverOptions,
) -> Result<(), Error> {
    opts.validate()?;
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

#[inline]
fn rhs<M: HybridSystem, A: Augment<M>>(
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
    model.flow(q, t, x, p, dx);
    // Nothing rides along (plain simulation, the adjoint's forward pass without a running loss,
    // forward sensitivities by their exact propagator): no call at all, rather than one per
    // stage that returns at once.
    if !dextra.is_empty() {
        aug.rhs(model, q, t, x, p, extra, dextra);
    }
}

fn non_finite(what: &str, t: f64) -> Error {
    Error::NonFinite {
        what: what.to_string(),
        t,
    }
}

/// Every buffer a run needs, owned by a solver and reused from run to run (no allocation once
/// warm): the stepper, the detector, the event records (and a pool of spare ones), the stored
/// trajectory and the scratch of the loop.
pub(crate) struct Workspace<S: Stepper> {
    pub stepper: S,
    detector: Detector,
    zeno: ZenoCheck,
    /// The integrated vector; after a run, its value at `t_end`.
    pub z: Vec<f64>,
    xp: Vec<f64>,
    /// Scratch: a flow value.
    f: Vec<f64>,
    /// Scratch of the full integrated vector, for event location.
    buf: Vec<f64>,
    /// The states of the polish's last two full-order steps and their times (see
    /// [`Engine::locate`]): when the event time is one of them, the state there is at hand.
    polished: [Vec<f64>; 2],
    polished_t: [f64; 2],
    /// One record per event of the last run.
    pub events: Vec<EventRecord>,
    /// Spare records, recycled so that a warm event allocates nothing.
    pool: Vec<EventRecord>,
    /// The dense trajectory of the last run (when stored).
    pub trajectory: Trajectory,
    /// Mode at the end of the last run.
    pub mode_end: usize,
    /// Guards whose jumps were applied at the current instant (for re-arming).
    fired: Vec<Fired>,
    /// Scratch: guards to fire, and located crossing times.
    firing: Vec<usize>,
    located: Vec<(f64, usize)>,
    /// Scheduled events inside the span, `(time, index)`.
    scheduled: Vec<(f64, usize)>,
    /// The modes whose state moves by its exact polynomial flow.
    affine: AffineModes,
}

impl<S: Stepper> Workspace<S> {
    /// A workspace for `dims` with `nn` integrated components.
    pub fn new(dims: crate::Dims, nn: usize, opts: &SolverOptions) -> Self {
        let (n, guards) = (dims.states, dims.guards);
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
        Self {
            stepper,
            detector: Detector::new(guards, n, nn, dims.params),
            zeno: ZenoCheck::new(guards),
            z: vec![0.0; nn],
            xp: vec![0.0; n],
            f: vec![0.0; n],
            buf: vec![0.0; nn],
            polished: [vec![0.0; n], vec![0.0; n]],
            polished_t: [f64::NAN; 2],
            events: Vec::new(),
            pool: Vec::new(),
            trajectory: Trajectory::new(n, S::METHOD),
            mode_end: 0,
            fired: Vec::with_capacity(guards),
            firing: Vec::with_capacity(guards),
            located: Vec::with_capacity(guards),
            scheduled: Vec::new(),
            affine: AffineModes::new(n, dims.params),
        }
    }

    /// Number of integrated components.
    pub fn len(&self) -> usize {
        self.z.len()
    }

    /// Forget the last run (keeping every buffer).
    fn clear(&mut self) {
        self.stepper.clear_accounting();
        self.detector.near_misses.clear();
        self.zeno.clear();
        self.pool.append(&mut self.events);
        self.trajectory.clear();
    }

    /// Move the stored trajectory out, leaving an empty one.
    pub fn take_trajectory(&mut self) -> Trajectory {
        let empty = Trajectory::new(self.xp.len(), S::METHOD);
        std::mem::replace(&mut self.trajectory, empty)
    }

    /// Take back the records of `events` (emptied) for later runs.
    pub fn recycle(&mut self, events: &mut Vec<EventRecord>) {
        self.pool.append(events);
    }

    /// A blank record from the pool.
    fn record(&mut self) -> EventRecord {
        self.pool.pop().unwrap_or_else(EventRecord::blank)
    }

    /// Near misses of the last run.
    pub fn near_misses(&self) -> &[NearMiss] {
        &self.detector.near_misses
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
    w: &mut Workspace<S>,
    store: bool,
) -> Result<(), Error>
where
    M: Derivatives,
    A: Augment<M>,
    S: Stepper,
{
    validate_params(model, p, t0)?;
    let n = model.dims().states;
    debug_assert_eq!(w.len(), n + aug.extra());
    w.clear();
    w.affine.begin(model, opts);
    w.detector.set_exact(
        affine::polynomial_flow_allowed(model, opts)
            && !model.guard_gradient_depends_on_state()
            && !model.guard_depends_on_time(),
    );
    w.detector.probe().set_parameters(p);
    model.initial_state(p, &mut w.z[..n]);
    if w.z[..n].iter().any(|v| !v.is_finite()) {
        return Err(non_finite("initial state", t0));
    }
    w.xp.copy_from_slice(&w.z[..n]);
    // The workspace holds the last run's values: every carried component starts from zero
    // unless the augment says otherwise.
    w.z[n..].fill(0.0);
    aug.init(model, p, &w.xp, &mut w.z[n..])?;

    // Scheduled jumps end steps (their times are the model's, the same in every pass); stop
    // times never do, so that what a pass observes cannot change the steps it takes.
    w.scheduled.clear();
    w.scheduled.extend(
        model
            .scheduled_times()
            .iter()
            .enumerate()
            .filter(|(_, &t)| t >= t0 && t <= t_end)
            .map(|(i, &t)| (t, i)),
    );
    let mut e = Engine {
        model,
        p,
        opts,
        aug,
        w,
        n,
        q: model.initial_mode(),
        t: t0,
        started: false,
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
            match e.w.scheduled.get(next_scheduled) {
                Some(&(ts, i)) if ts <= e.t => {
                    next_scheduled += 1;
                    e.scheduled(i)?;
                    need_restart = true;
                }
                _ => break,
            }
        }
        while next_stop < stop_times.len() && stop_times[next_stop] <= e.t {
            let (x, extra) = e.w.z.split_at(n);
            e.aug.stop(model, p, next_stop, e.t, x, extra)?;
            next_stop += 1;
        }
        if e.t >= t_end {
            break;
        }
        let t_bound =
            e.w.scheduled
                .get(next_scheduled)
                .map_or(t_end, |s| s.0.min(t_end));
        e.w.detector.f_start.copy_from_slice(&e.w.stepper.dx()[..n]);
        {
            let (q, aug) = (e.q, &mut *e.aug);
            e.w.stepper
                .step(
                    &mut |tt, zz, dz| rhs(model, aug, q, p, n, tt, zz, dz),
                    t_bound,
                )
                .map_err(Error::from_step)?;
        }
        e.w.fired.clear();
        let crossed =
            e.w.detector
                .scan(model, e.q, p, n, &e.w.stepper, opts.guard_samples)?;
        let t_stop = if crossed {
            let tau = e.locate();
            e.w.detector.keep_near_misses_to(tau);
            tau
        } else {
            e.w.stepper.t()
        };
        // Stops strictly inside the step, by the full-order formula from the step start (as
        // accurate as landing there, without changing the step).
        while next_stop < stop_times.len() && stop_times[next_stop] < t_stop {
            let s = stop_times[next_stop];
            let (q, aug) = (e.q, &mut *e.aug);
            e.w.stepper.step_from_prev_to(
                &mut |tt, zz, dz| rhs(model, aug, q, p, n, tt, zz, dz),
                s,
                &mut e.w.buf,
            );
            let (x, extra) = e.w.buf.split_at(n);
            e.aug.stop(model, p, next_stop, s, x, extra)?;
            next_stop += 1;
        }
        if !crossed {
            if store {
                e.w.trajectory.push(&e.w.stepper.segment(), t_stop, e.q);
            }
            e.w.z.copy_from_slice(e.w.stepper.x());
            e.t = t_stop;
            e.w.detector.advance();
            continue;
        }
        let tau = t_stop;
        // `x⁻` by the full-order step from the step start to `τ`. When nothing rides along, the
        // polish already took that step (the same step of the same components, bit for bit) if
        // `τ` is one of its last two times.
        let at_hand = (e.w.z.len() == n)
            .then(|| e.w.polished_t.iter().position(|&t| t == tau))
            .flatten();
        if let Some(i) = at_hand {
            e.w.z.copy_from_slice(&e.w.polished[i]);
        } else {
            let (q, aug) = (e.q, &mut *e.aug);
            e.w.stepper.step_from_prev_to(
                &mut |tt, zz, dz| rhs(model, aug, q, p, n, tt, zz, dz),
                tau,
                &mut e.w.z,
            );
        }
        if store {
            e.w.trajectory.push(&e.w.stepper.segment(), tau, e.q);
        }
        let firing = std::mem::take(&mut e.w.firing);
        let r = e.fire(&firing, tau, false);
        e.w.firing = firing;
        r?;
        e.t = tau;
        need_restart = true;
    }

    e.w.mode_end = e.q;
    // Room in the pool for every record of this run, so that recycling them costs nothing.
    e.w.pool.reserve(e.w.events.len());
    Ok(())
}
