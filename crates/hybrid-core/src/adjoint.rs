//! The adjoint gradient (docs/maths.md §3): one forward pass that stores the dense trajectory, then a
//! backward pass for `λ` and the parameter quadrature with the jump conditions at every event.

use crate::engine::{run, with_stepper, Augment, Run};
use crate::event_partials::{event_partials, event_time_partials};
use crate::events::checks::check_differentiable;
use crate::loss::{scalar_partials, EventSelector};
use crate::ode::{Stepper, StepperOptions};
use crate::trajectory::{max_grazing, min_abs_gdot, EventKind, EventRecord, Trajectory};
use crate::{derivatives, Error, Gradient, HybridSystem, Loss, SolverOptions};
use num_dual::Dual64;

/// Carries the running-loss integral and collects observation values.
struct LossValue<'a, L: Loss + ?Sized> {
    loss: &'a L,
    value: f64,
}

impl<M: HybridSystem + ?Sized, L: Loss + ?Sized> Augment<M> for LossValue<'_, L> {
    fn extra(&self) -> usize {
        usize::from(self.loss.has_running())
    }
    fn init(&mut self, _: &M, _: &[f64], _: &[f64], _: &mut [f64]) -> Result<(), Error> {
        Ok(())
    }
    fn rhs(&mut self, _: &M, _: usize, t: f64, x: &[f64], p: &[f64], _: &[f64], dz: &mut [f64]) {
        if let Some(d) = dz.first_mut() {
            *d = self.loss.running(t, x, p);
        }
    }
    fn event(&mut self, _: &M, _: &[f64], _: &EventRecord, _: &mut [f64]) -> Result<(), Error> {
        Ok(())
    }
    fn stop(
        &mut self,
        _: &M,
        p: &[f64],
        i: usize,
        _: f64,
        x: &[f64],
        _: &[f64],
    ) -> Result<(), Error> {
        self.value += self.loss.observation(i, x, p);
        Ok(())
    }
}

fn forward_pass<M: HybridSystem + ?Sized, L: Loss + ?Sized>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    loss: &L,
    opts: &SolverOptions,
    store: bool,
) -> Result<(f64, Run, Vec<usize>), Error> {
    let mut aug = LossValue { loss, value: 0.0 };
    let obs = loss.observation_times();
    let r = with_stepper!(opts.integrator, S => run::<M, _, S>(model, p, t0, t_end, obs, opts, &mut aug, store)?);
    let selected = EventSelector::resolve(loss.event_selectors(), &r.events)?;
    let mut value = aug.value + r.z_end.get(model.dims().states).copied().unwrap_or(0.0);
    for (j, &e) in selected.iter().enumerate() {
        value += loss.event_time(j, r.events[e].t, p);
    }
    if !value.is_finite() {
        return Err(Error::NonFinite {
            what: "loss".into(),
            t: t_end,
        });
    }
    Ok((value, r, selected))
}

/// The loss `L(p)` by one simulation, without gradient (e.g. for finite differences).
pub fn loss_value<M: HybridSystem + ?Sized, L: Loss + ?Sized>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    loss: &L,
    opts: &SolverOptions,
) -> Result<f64, Error> {
    Ok(forward_pass(model, p, t0, t_end, loss, opts, false)?.0)
}

/// What happens at one breakpoint of the backward pass.
enum Breakpoint {
    Event(usize),
    Observation(usize),
}

/// `dL/dp` by the adjoint method (docs/maths.md §3).
///
/// Backwards from `λ(T⁺) = 0`: `λ̇ = −f_xᵀλ − ℓ_xᵀ` between breakpoints, `λ ← λ + φ_xᵀ` at
/// observations, and at each event `λ⁻ = h_xᵀλ⁺ − (c/ġ) g_xᵀ` with
/// `c = λ⁺·(h_t + h_x f⁻ − f⁺) + ψ_τ + ℓ⁻ − ℓ⁺`; the gradient collects `∫(λᵀf_p + ℓ_p) dt`,
/// `λ⁺ᵀh_p − (c/ġ) g_p + ψ_p` per event, `φ_p` per observation and `λ(t0)ᵀ ∂x0/∂p`.
/// Its cost is one simulation plus `n + m` backward quadratures, whatever `m` is.
pub fn adjoint_gradient<M: HybridSystem + ?Sized, L: Loss + ?Sized>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    loss: &L,
    opts: &SolverOptions,
) -> Result<Gradient, Error> {
    let (value, run, selected) = forward_pass(model, p, t0, t_end, loss, opts, true)?;
    // Refuse non-differentiable events before the backward pass, naming the first in time (the
    // forward method names the same one: both see one event sequence).
    check_differentiable(
        &run.events,
        &run.near_misses,
        loss.observation_times(),
        opts,
    )?;
    let traj = run
        .trajectory
        .as_ref()
        .expect("forward pass stores the trajectory");
    let gradient = with_stepper!(opts.integrator, S => backward::<M, L, S>(
            model,
            p,
            t0,
            t_end,
            loss,
            opts,
            traj,
            &run.events,
            &selected,
        )?);
    Ok(Gradient {
        loss: value,
        gradient,
        min_abs_gdot: min_abs_gdot(&run.events),
        max_grazing: max_grazing(&run.events),
        events: run.events,
        stats: run.stats,
    })
}

fn backward<M: HybridSystem + ?Sized, L: Loss + ?Sized, S: Stepper>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    loss: &L,
    opts: &SolverOptions,
    traj: &Trajectory,
    events: &[EventRecord],
    selected: &[usize],
) -> Result<Vec<f64>, Error> {
    let dims = model.dims();
    let (n, m) = (dims.states, dims.params);
    // Breakpoints in forward order: events as applied; an observation after every event at or
    // before its time (the forward pass applies events at τ before observing at τ).
    let obs = loss.observation_times();
    let mut points: Vec<(f64, Breakpoint)> = Vec::with_capacity(events.len() + obs.len());
    let mut oi = 0;
    for (e, rec) in events.iter().enumerate() {
        while oi < obs.len() && obs[oi] < rec.t {
            points.push((obs[oi], Breakpoint::Observation(oi)));
            oi += 1;
        }
        points.push((rec.t, Breakpoint::Event(e)));
    }
    points.extend(
        obs[oi..]
            .iter()
            .enumerate()
            .map(|(k, &t)| (t, Breakpoint::Observation(oi + k))),
    );

    let step_opts = StepperOptions {
        rtol: opts.rtol,
        atol: opts.atol,
        max_step: opts.max_step,
        first_step: 0.0,
        max_steps: opts.max_steps,
    };
    let mut stepper = S::new(n + m, step_opts);
    let mut z = vec![0.0; n + m]; // [λ, μ]: μ accumulates ∫ (λᵀ f_p + ℓ_p) dt from t to T
    let mut grad = vec![0.0; m];
    let mut t_cur = t_end;
    let mut scratch = Scratch::new(n, m);

    for (t_bp, bp) in points.iter().rev() {
        integrate_back(
            model,
            loss,
            p,
            traj,
            &mut stepper,
            &mut scratch,
            &mut z,
            *t_bp,
            t_cur,
        )?;
        t_cur = *t_bp;
        let lambda = z[..n].to_vec();
        match *bp {
            Breakpoint::Observation(i) => {
                let (_, _, phi_x, phi_p) =
                    scalar_partials(t_cur, &observed(traj, t_cur, n), p, |_, xd, pd| {
                        loss.observation(i, xd, pd)
                    });
                z[..n].iter_mut().zip(&phi_x).for_each(|(l, d)| *l += d);
                grad.iter_mut().zip(&phi_p).for_each(|(g, d)| *g += d);
            }
            Breakpoint::Event(e) => {
                let rec = &events[e];
                let ep = event_partials(model, Some(loss), p, rec, false);
                let (mut psi_tau, mut psi_p) = (0.0, vec![0.0; m]);
                for (j, _) in selected.iter().enumerate().filter(|(_, &s)| s == e) {
                    let (_, d_tau, d_p) = event_time_partials(loss, j, rec.t, p);
                    psi_tau += d_tau;
                    psi_p.iter_mut().zip(&d_p).for_each(|(a, b)| *a += b);
                }
                // c = λ⁺·(h_t + h_x f⁻ − f⁺) + ψ_τ + ℓ⁻ − ℓ⁺, zero for scheduled events.
                let c_over_gdot = if ep.located {
                    let lv: f64 = lambda.iter().zip(&ep.v).map(|(a, b)| a * b).sum();
                    (lv + psi_tau + ep.dl_running) / ep.gdot
                } else {
                    0.0
                };
                // λᵀh_x and λᵀh_p through the model's (possibly sparse) jump product.
                let (vjp_x, vjp_p) = (&mut scratch.vjp_x, &mut scratch.vjp_p);
                match rec.kind {
                    EventKind::Guard(k) => model.jump_vjp(
                        rec.mode_before,
                        k,
                        rec.t,
                        &rec.x_minus,
                        p,
                        &lambda,
                        vjp_x,
                        vjp_p,
                    ),
                    EventKind::Scheduled(i) => {
                        model.scheduled_jump_vjp(i, rec.t, &rec.x_minus, p, &lambda, vjp_x, vjp_p)
                    }
                }
                for i in 0..n {
                    z[i] = vjp_x[i] - c_over_gdot * ep.g_x[i];
                }
                for j in 0..m {
                    grad[j] += vjp_p[j] - c_over_gdot * ep.g_p[j] + psi_p[j];
                }
            }
        }
    }
    integrate_back(
        model,
        loss,
        p,
        traj,
        &mut stepper,
        &mut scratch,
        &mut z,
        t0,
        t_cur,
    )?;
    let x0_p = derivatives::initial_state_jacobian(model, p);
    for j in 0..m {
        grad[j] += z[n + j] + (0..n).map(|i| x0_p[i + n * j] * z[i]).sum::<f64>();
    }
    if let Some(j) = grad.iter().position(|g| !g.is_finite()) {
        return Err(Error::NonFinite {
            what: format!("gradient component {j}"),
            t: t0,
        });
    }
    Ok(grad)
}

fn observed(traj: &Trajectory, t: f64, n: usize) -> Vec<f64> {
    let mut x = vec![0.0; n];
    traj.eval(t, &mut x);
    x
}

struct Scratch {
    x: Vec<f64>,
    vjp_x: Vec<f64>,
    vjp_p: Vec<f64>,
    xd: Vec<Dual64>,
    pd: Vec<Dual64>,
}

impl Scratch {
    fn new(n: usize, m: usize) -> Self {
        let zero = Dual64::new(0.0, 0.0);
        Self {
            x: vec![0.0; n],
            vjp_x: vec![0.0; n],
            vjp_p: vec![0.0; m],
            xd: vec![zero; n],
            pd: vec![zero; m],
        }
    }
}

/// Integrate `[λ, μ]` backwards from `hi` to `lo` on one inter-breakpoint interval, reading the
/// forward state from the stored trajectory (left limit at `hi`, right limit at `lo`).
fn integrate_back<M: HybridSystem + ?Sized, L: Loss + ?Sized, S: Stepper>(
    model: &M,
    loss: &L,
    p: &[f64],
    traj: &Trajectory,
    stepper: &mut S,
    sc: &mut Scratch,
    z: &mut [f64],
    lo: f64,
    hi: f64,
) -> Result<(), Error> {
    if hi <= lo {
        return Ok(());
    }
    let n = traj.states();
    let q = traj.mode_at(0.5 * (lo + hi));
    let running = loss.has_running();
    let mut rhs = |t: f64, zz: &[f64], dz: &mut [f64]| {
        if t >= hi {
            traj.eval_left(hi, &mut sc.x);
        } else if t <= lo {
            traj.eval(lo, &mut sc.x);
        } else {
            traj.eval(t, &mut sc.x);
        }
        let lambda = &zz[..n];
        model.flow_vjp(q, t, &sc.x, p, lambda, &mut sc.vjp_x, &mut sc.vjp_p);
        for i in 0..n {
            dz[i] = -sc.vjp_x[i];
        }
        for j in 0..sc.vjp_p.len() {
            dz[n + j] = -sc.vjp_p[j];
        }
        if running {
            // ℓ_x and ℓ_p by one dual evaluation per component.
            let td = Dual64::new(t, 0.0);
            sc.xd
                .iter_mut()
                .zip(&sc.x)
                .for_each(|(d, &v)| *d = Dual64::new(v, 0.0));
            sc.pd
                .iter_mut()
                .zip(p)
                .for_each(|(d, &v)| *d = Dual64::new(v, 0.0));
            for i in 0..n {
                sc.xd[i].eps = 1.0;
                dz[i] -= loss.running(td, &sc.xd, &sc.pd).eps;
                sc.xd[i].eps = 0.0;
            }
            for j in 0..sc.pd.len() {
                sc.pd[j].eps = 1.0;
                dz[n + j] -= loss.running(td, &sc.xd, &sc.pd).eps;
                sc.pd[j].eps = 0.0;
            }
        }
    };
    stepper.reset(&mut rhs, hi, z, -1.0);
    while stepper.t() > lo {
        stepper.step(&mut rhs, lo).map_err(Error::from_step)?;
    }
    z.copy_from_slice(stepper.x());
    Ok(())
}
