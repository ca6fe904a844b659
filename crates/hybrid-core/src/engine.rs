//! The event loop shared by simulation, forward sensitivities and the adjoint's forward pass:
//! step, look for guard crossings on the dense output, locate and polish the event, jump,
//! restart in place (reference §4).
//!
//! What rides along with the state (sensitivities, loss quadratures) is an [`Augment`]: extra
//! components integrated with the same steps and transformed at every event.

use crate::locate::{illinois, polish};
use crate::ode::{StepStats, Stepper, StepperOptions};
use crate::trajectory::{EventKind, EventRecord, Trajectory};
use crate::{Crossing, Error, HybridSystem, SolverOptions};
use num_dual::Dual64;

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
}

#[derive(Clone, Copy)]
enum Stop {
    Scheduled(usize),
    Observe(usize),
}

/// `ġ = g_t + g_x f` by one dual evaluation along the direction `(1, f, 0)`.
pub(crate) fn guard_rate<M: HybridSystem + ?Sized>(
    model: &M,
    q: usize,
    k: usize,
    t: f64,
    x: &[f64],
    p: &[f64],
) -> (f64, f64) {
    let n = x.len();
    let mut f = vec![0.0; n];
    model.flow_in_mode(q, t, x, p, &mut f);
    let xd: Vec<Dual64> = x.iter().zip(&f).map(|(&v, &d)| Dual64::new(v, d)).collect();
    let pd: Vec<Dual64> = p.iter().map(|&v| Dual64::new(v, 0.0)).collect();
    let g = model.guard_in_mode(q, k, Dual64::new(t, 1.0), &xd, &pd);
    (g.re, g.eps)
}

/// `ġ = g_t + g_x f` at `(t, x)` for a given flow value `f`, in preallocated dual buffers.
fn guard_rate_with<M: HybridSystem + ?Sized>(
    model: &M,
    q: usize,
    k: usize,
    t: f64,
    x: &[f64],
    f: &[f64],
    p: &[f64],
    xd: &mut [Dual64],
    pd: &mut [Dual64],
) -> f64 {
    for ((d, &v), &r) in xd.iter_mut().zip(x).zip(f) {
        *d = Dual64::new(v, r);
    }
    for (d, &v) in pd.iter_mut().zip(p) {
        *d = Dual64::new(v, 0.0);
    }
    model.guard_in_mode(q, k, Dual64::new(t, 1.0), xd, pd).eps
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

/// Integrate from `t0` to `t_end`, handling guard events, scheduled events and stops.
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

    let mut stops: Vec<(f64, Stop)> = model
        .scheduled_times()
        .iter()
        .enumerate()
        .filter(|(_, &t)| t >= t0 && t <= t_end)
        .map(|(i, &t)| (t, Stop::Scheduled(i)))
        .chain(
            stop_times
                .iter()
                .enumerate()
                .map(|(i, &t)| (t, Stop::Observe(i))),
        )
        .collect();
    // Stable: at equal times scheduled jumps come first, so observations see the state after them.
    stops.sort_by(|a, b| a.0.total_cmp(&b.0));

    let step_opts = StepperOptions {
        rtol: opts.rtol,
        atol: opts.atol,
        max_step: opts.max_step,
        first_step: 0.0,
        max_steps: opts.max_steps,
    };
    let mut stepper = S::new(nn, step_opts);
    let mut trajectory = store.then(|| Trajectory::new(n, S::METHOD));
    let mut q = model.initial_mode();
    let mut t = t0;
    let mut next_stop = 0;
    let mut events: Vec<EventRecord> = Vec::new();
    let mut last_fired = vec![f64::NEG_INFINITY; n_guards];
    // Scratch, allocated once: guard values at the current sample, brackets found, a state buffer.
    let mut g_cur = vec![0.0; n_guards];
    let mut bracket: Vec<Option<(f64, f64, f64, f64)>> = vec![None; n_guards];
    let mut buf = vec![0.0; nn];
    let mut xp = vec![0.0; n];
    let mut g_start = vec![0.0; n_guards];
    let mut f_start = vec![0.0; n];
    let mut f_buf = vec![0.0; n];
    let mut xd = vec![Dual64::new(0.0, 0.0); n];
    let mut pd = vec![Dual64::new(0.0, 0.0); p.len()];
    let mut just_fired: Vec<usize> = Vec::new();
    let mut need_reset = true;

    loop {
        while next_stop < stops.len() && stops[next_stop].0 <= t {
            match stops[next_stop].1 {
                Stop::Scheduled(i) => {
                    model.scheduled_jump(i, t, &z[..n], p, &mut xp);
                    if xp.iter().any(|v| !v.is_finite()) {
                        return Err(non_finite("state after scheduled jump", t));
                    }
                    let record = EventRecord {
                        t,
                        kind: EventKind::Scheduled(i),
                        mode_before: q,
                        mode_after: q,
                        x_minus: z[..n].to_vec(),
                        x_plus: xp.clone(),
                        g: 0.0,
                        gdot: f64::NAN,
                        simultaneous: false,
                    };
                    aug.event(model, p, &record, &mut z[n..])?;
                    z[..n].copy_from_slice(&xp);
                    events.push(record);
                    need_reset = true;
                }
                Stop::Observe(i) => aug.stop(model, p, i, t, &z[..n], &z[n..])?,
            }
            next_stop += 1;
        }
        if t >= t_end {
            break;
        }
        if need_reset {
            stepper.reset(
                &mut |tt, zz, dz| rhs(model, aug, q, p, n, tt, zz, dz),
                t,
                &z,
                1.0,
            );
            for k in 0..n_guards {
                g_cur[k] = if just_fired.contains(&k) {
                    0.0
                } else {
                    model.guard_in_mode(q, k, t, &z[..n], p)
                };
            }
            need_reset = false;
        }
        let t_bound = stops.get(next_stop).map_or(t_end, |s| s.0.min(t_end));
        g_start.copy_from_slice(&g_cur);
        f_start.copy_from_slice(&stepper.dx()[..n]);
        stepper
            .step(
                &mut |tt, zz, dz| rhs(model, aug, q, p, n, tt, zz, dz),
                t_bound,
            )
            .map_err(Error::from_step)?;
        let (ta, tb) = (stepper.t_prev(), stepper.t());

        // Sample every active guard at interior points of the step and at its end; keep, per
        // guard, the first sub-interval where it crosses in its direction.
        let samples = opts.guard_samples + 1;
        bracket.iter_mut().for_each(|b| *b = None);
        let mut any = false;
        for j in 1..=samples {
            let s = if j == samples {
                tb
            } else {
                ta + (tb - ta) * j as f64 / samples as f64
            };
            if j == samples {
                buf.copy_from_slice(stepper.x());
            } else {
                stepper.interpolate(s, &mut buf);
            }
            let s_prev = ta + (tb - ta) * (j - 1) as f64 / samples as f64;
            for k in 0..n_guards {
                if bracket[k].is_some() || !model.guard_active(k, q) {
                    continue;
                }
                let g = model.guard_in_mode(q, k, s, &buf[..n], p);
                if model.direction(k).crosses(g_cur[k], g) {
                    bracket[k] = Some((s_prev, g_cur[k], s, g));
                    any = true;
                }
                g_cur[k] = g;
            }
            if any {
                break;
            }
        }
        if !any {
            // A guard that turns towards zero and away again inside the step (its rate changes
            // sign between the step ends while its value does not) may have crossed and come
            // back between samples: locate the extremum and look at the guard there.
            for k in 0..n_guards {
                let side = g_start[k].signum();
                let watched = match model.direction(k) {
                    Crossing::Rising => side < 0.0,
                    Crossing::Falling => side > 0.0,
                    Crossing::Either => side != 0.0,
                };
                if !watched || !model.guard_active(k, q) || g_cur[k].signum() != side {
                    continue;
                }
                let (xa, xb) = (stepper.x_prev(), stepper.x());
                let rate_a =
                    guard_rate_with(model, q, k, ta, &xa[..n], &f_start, p, &mut xd, &mut pd);
                let rate_b = guard_rate_with(
                    model,
                    q,
                    k,
                    tb,
                    &xb[..n],
                    &stepper.dx()[..n],
                    p,
                    &mut xd,
                    &mut pd,
                );
                if !(side * rate_a < 0.0 && side * rate_b > 0.0) {
                    continue;
                }
                let t_ext = illinois(
                    |s| {
                        stepper.interpolate(s, &mut buf);
                        model.flow_in_mode(q, s, &buf[..n], p, &mut f_buf);
                        guard_rate_with(model, q, k, s, &buf[..n], &f_buf, p, &mut xd, &mut pd)
                    },
                    ta,
                    rate_a,
                    tb,
                    rate_b,
                );
                stepper.interpolate(t_ext, &mut buf);
                let g_ext = model.guard_in_mode(q, k, t_ext, &buf[..n], p);
                if model.direction(k).crosses(g_start[k], g_ext) {
                    bracket[k] = Some((ta, g_start[k], t_ext, g_ext));
                    any = true;
                }
            }
        }

        if !any {
            if let Some(tr) = trajectory.as_mut() {
                tr.push(&stepper.segment(), tb, q);
            }
            z.copy_from_slice(stepper.x());
            t = tb;
            just_fired.clear();
            continue;
        }

        // Locate each crossing: bracket on the interpolant, then polish on the full-order step.
        let mut located: Vec<(f64, usize)> = Vec::new();
        for k in 0..n_guards {
            let Some((a, ga, b, gb)) = bracket[k] else {
                continue;
            };
            let tau_interp = illinois(
                |s| {
                    stepper.interpolate(s, &mut buf);
                    model.guard_in_mode(q, k, s, &buf[..n], p)
                },
                a,
                ga,
                b,
                gb,
            );
            let tau = polish(
                |s| {
                    stepper.step_from_prev_to(
                        &mut |tt, zz, dz| rhs(model, aug, q, p, n, tt, zz, dz),
                        s,
                        &mut buf,
                    );
                    model.guard_in_mode(q, k, s, &buf[..n], p)
                },
                tau_interp,
                ta,
                b,
            );
            located.push((tau, k));
        }
        let tau = located.iter().map(|l| l.0).fold(f64::INFINITY, f64::min);
        let tol = opts.simultaneity_tolerance * tau.abs().max(1.0);
        let mut firing: Vec<usize> = located
            .iter()
            .filter(|l| l.0 - tau <= tol)
            .map(|l| l.1)
            .collect();
        firing.sort_unstable();
        let simultaneous = firing.len() > 1;

        stepper.step_from_prev_to(
            &mut |tt, zz, dz| rhs(model, aug, q, p, n, tt, zz, dz),
            tau,
            &mut z,
        );
        if let Some(tr) = trajectory.as_mut() {
            tr.push(&stepper.segment(), tau, q);
        }
        just_fired.clear();
        for &k in &firing {
            if !model.guard_active(k, q) {
                continue; // switched off by a simultaneous jump applied before it
            }
            let (g, gdot) = guard_rate(model, q, k, tau, &z[..n], p);
            model.jump_in_mode(q, k, tau, &z[..n], p, &mut xp);
            if xp.iter().any(|v| !v.is_finite()) {
                return Err(non_finite("state after jump", tau));
            }
            let count = events.len() + 1;
            if count > opts.max_events {
                return Err(Error::TooManyEvents {
                    t: tau,
                    count: opts.max_events,
                });
            }
            let dt = tau - last_fired[k];
            if dt < opts.min_event_separation * tau.abs().max(1.0) {
                return Err(Error::EventsTooClose {
                    t: tau,
                    guard: k,
                    dt,
                    count,
                });
            }
            last_fired[k] = tau;
            let q_after = model.next_mode(k, q);
            let record = EventRecord {
                t: tau,
                kind: EventKind::Guard(k),
                mode_before: q,
                mode_after: q_after,
                x_minus: z[..n].to_vec(),
                x_plus: xp.clone(),
                g,
                gdot,
                simultaneous,
            };
            aug.event(model, p, &record, &mut z[n..])?;
            events.push(record);
            z[..n].copy_from_slice(&xp);
            q = q_after;
            just_fired.push(k);
        }
        // A jump that leaves its own guard at zero, moving into its crossing direction, would
        // fire again at once without end.
        for &k in &just_fired {
            if !model.guard_active(k, q) {
                continue;
            }
            let (g_after, rate_after) = guard_rate(model, q, k, tau, &z[..n], p);
            let at_zero =
                g_after.abs() <= 1e-12 * (1.0 + z[..n].iter().fold(0.0f64, |a, v| a.max(v.abs())));
            let into = match model.direction(k) {
                Crossing::Rising => rate_after > 0.0 && g_after >= 0.0,
                Crossing::Falling => rate_after < 0.0 && g_after <= 0.0,
                Crossing::Either => false,
            };
            if at_zero && into {
                return Err(Error::Retrigger {
                    t: tau,
                    guard: k,
                    g_after,
                    gdot_after: rate_after,
                });
            }
        }
        t = tau;
        need_reset = true;
    }

    Ok(Run {
        events,
        mode_end: q,
        stats: stepper.stats(),
        trajectory,
        z_end: z,
    })
}
