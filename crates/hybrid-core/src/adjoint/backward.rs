//! The adjoint's backward pass (docs/maths.md §3): `λ` and the parameter quadrature `μ` from
//! `T` back to `t0` over the stored trajectory, with the jump conditions at every event.

use super::{AdjointWork, Breakpoint, Scratch};
use crate::derivatives::At;
use crate::event_partials::dot;
use crate::ode::Stepper;
use crate::trajectory::{EventKind, Trajectory};
use crate::{Derivatives, Error, Loss};

/// The backward pass of [`super::adjoint`] after its forward pass, into `w.grad`.
pub(super) fn backward<M: Derivatives, L: Loss, S: Stepper>(
    model: &M,
    loss: &L,
    p: &[f64],
    (t0, t_end): (f64, f64),
    w: &mut AdjointWork<S>,
) -> Result<(), Error> {
    let (n, m) = (model.dims().states, p.len());
    let AdjointWork {
        fwd,
        back,
        z,
        grad,
        points,
        observed,
        picks,
        sc,
        running,
        quadrature,
    } = w;
    let (events, traj) = (&fwd.events, &fwd.trajectory);
    // Breakpoints in forward order: events as applied; an observation after every event at or
    // before its time (the forward pass applies events at τ before observing at τ).
    let obs = loss.observation_times();
    points.clear();
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

    back.clear_accounting();
    // The Jacobians of the last run's parameters are stale.
    sc.jac.forget();
    sc.loss.set_parameters(p);
    sc.ep.set_parameters(p);
    z.fill(0.0);
    grad.fill(0.0);
    let guard_p = model.guard_depends_on_parameters();
    let mut t_cur = t_end;
    let mut pick = picks.len();
    let mut first = 0.0;
    // The mode of the interval below the breakpoint at hand, and a state of it at the interval's
    // upper end (its left limit there): the state at `T`, then each event's `x⁻` and each
    // observed state as they are passed (an observation at an event's time comes after the
    // event in forward order, so before it here).
    let mut q = fwd.mode_end;
    let mut x_hi: &[f64] = &fwd.z[..n];
    for &(t_bp, bp) in points.iter().rev() {
        let interval = Interval {
            lo: t_bp,
            hi: t_cur,
            q,
            x_hi,
        };
        integrate_back(model, loss, *running, p, traj, back, sc, z, interval, first)?;
        if t_bp < t_cur {
            first = back.next_step();
        }
        t_cur = t_bp;
        match bp {
            Breakpoint::Observation(i) => {
                // The state where the forward pass evaluated the loss.
                x_hi = &observed[i * n..(i + 1) * n];
                sc.loss.observation(loss, i, x_hi, p)?;
                let d = &sc.loss.grad;
                z[..n].iter_mut().zip(&d[..n]).for_each(|(l, d)| *l += d);
                if loss.observation_depends_on_parameters(i) {
                    grad.iter_mut()
                        .zip(&sc.loss.grad_p)
                        .for_each(|(g, d)| *g += d);
                }
            }
            Breakpoint::Event(e) => {
                let rec = &events[e];
                q = rec.mode_before;
                x_hi = &rec.x_minus;
                sc.lambda.copy_from_slice(&z[..n]);
                sc.psi_xm.fill(0.0);
                let at = At {
                    q: rec.mode_before,
                    t: rec.t,
                    x: &rec.x_minus,
                    p,
                };
                match rec.kind {
                    EventKind::Scheduled(i) => {
                        // grad += λᵀh_p straight into the gradient (a jump that touches few
                        // parameters adds those alone).
                        model.scheduled_jump_vjp_add(
                            i,
                            at,
                            &sc.lambda,
                            &mut sc.vjp_x,
                            grad,
                            &mut sc.vjp_p,
                            &mut sc.duals,
                        );
                        z[..n].copy_from_slice(&sc.vjp_x);
                    }
                    EventKind::Guard(k) => {
                        sc.ep.eval(model, loss, *running, p, rec, k, &mut sc.duals);
                        // Event terms: λ̃ = λ⁺ + ψ_{x⁺}, and their share of c.
                        let mut psi_c = 0.0;
                        while pick > 0 && picks[pick - 1].1 == e {
                            pick -= 1;
                            let (j, _, occurrence) = picks[pick];
                            let inputs = loss.event_term_inputs(j);
                            sc.loss.event_term(loss, j, rec, occurrence, p, inputs)?;
                            let (d, d_p) = (&sc.loss.grad, &sc.loss.grad_p);
                            let (d_tau, d_xm, d_xp) = (d[0], &d[1..1 + n], &d[1 + n..1 + 2 * n]);
                            // The parts of undeclared inputs are zero: skipped, not added.
                            let mut c_j = d_tau;
                            if inputs.x_minus {
                                c_j += dot(d_xm, &sc.ep.f_minus);
                                sc.psi_xm.iter_mut().zip(d_xm).for_each(|(a, d)| *a += d);
                            }
                            if inputs.x_plus {
                                c_j += dot(d_xp, &sc.ep.f_plus);
                                sc.lambda.iter_mut().zip(d_xp).for_each(|(l, d)| *l += d);
                            }
                            if inputs.p {
                                grad.iter_mut().zip(d_p).for_each(|(g, d)| *g += d);
                            }
                            psi_c += c_j;
                        }
                        // c = λ̃·(h_t + h_x f⁻ − f⁺) + ψ-terms + ℓ⁻ − ℓ⁺.
                        let c = dot(&sc.lambda, &sc.ep.v) + psi_c + sc.ep.dl_running;
                        let c_over_gdot = c / sc.ep.gdot;
                        if guard_p {
                            model.jump_vjp(
                                k,
                                at,
                                &sc.lambda,
                                &mut sc.vjp_x,
                                &mut sc.vjp_p,
                                &mut sc.duals,
                            );
                            grad.iter_mut()
                                .zip(sc.vjp_p.iter().zip(&sc.ep.g_p))
                                .for_each(|(d, (v, g))| *d += v - c_over_gdot * g);
                        } else {
                            // g_p = 0: grad += λ̃ᵀh_p, added by the jump itself (the same bits:
                            // `v − (c/ġ)·0` is `v` up to the sign of a zero, and `grad`, a sum
                            // from +0, never holds −0, on which alone that sign would show).
                            model.jump_vjp_add(
                                k,
                                at,
                                &sc.lambda,
                                &mut sc.vjp_x,
                                grad,
                                &mut sc.vjp_p,
                                &mut sc.duals,
                            );
                        }
                        let ep = &sc.ep;
                        z[..n]
                            .iter_mut()
                            .zip(sc.vjp_x.iter().zip(&ep.g_x).zip(&sc.psi_xm))
                            .for_each(|(z, ((v, g), a))| *z = v - c_over_gdot * g + a);
                    }
                }
            }
        }
    }
    let interval = Interval {
        lo: t0,
        hi: t_cur,
        q,
        x_hi,
    };
    integrate_back(model, loss, *running, p, traj, back, sc, z, interval, first)?;
    // μ(t0) + λ(t0)ᵀ ∂x0/∂p.
    model.initial_state_vjp(p, &z[..n], &mut sc.vjp_p, &mut sc.duals);
    for j in 0..m {
        grad[j] += sc.vjp_p[j] + if *quadrature { z[n + j] } else { 0.0 };
    }
    if let Some(j) = grad.iter().position(|g| !g.is_finite()) {
        return Err(Error::NonFinite {
            what: format!("gradient component {j}"),
            t: t0,
        });
    }
    Ok(())
}

/// One inter-breakpoint interval `(lo, hi)` of the backward pass: its mode `q` and the forward
/// state at `hi` (left limit).
struct Interval<'a> {
    lo: f64,
    hi: f64,
    q: usize,
    x_hi: &'a [f64],
}

/// Integrate `[λ, μ]` backwards from `hi` to `lo` on one inter-breakpoint interval, reading the
/// forward state from the stored trajectory (left limit at `hi`, right limit at `lo`) when the
/// flow's Jacobians or a running loss vary along it (else the trajectory is not stored).
fn integrate_back<M: Derivatives, L: Loss, S: Stepper>(
    model: &M,
    loss: &L,
    running: bool,
    p: &[f64],
    traj: &Trajectory,
    stepper: &mut S,
    sc: &mut Scratch,
    z: &mut [f64],
    Interval { lo, hi, q, x_hi }: Interval<'_>,
    first: f64,
) -> Result<(), Error> {
    if hi <= lo {
        return Ok(());
    }
    let n = traj.states();
    // The stepper runs forwards in `s = −t`: `dz/ds = [λᵀf_x + ℓ_x, λᵀf_p + ℓ_p]`, the
    // products as the model returns them, where `d/dt` would need them negated. Every number of
    // the integration (step sizes, stage times and arguments, stages, sums, error norms) is the
    // one of stepping backwards in `t` with its sign flipped, and IEEE rounding is symmetric
    // under negation: `z` comes out the same bits.
    // With `f_x` independent of the state (and no running loss), `λᵀ f_x` is the same at every
    // state of the mode: read the trajectory once, at `hi`, not at every stage.
    let read_state = running || model.flow_jacobian_depends_on_state();
    if !read_state && !model.flow_jacobian_depends_on_time() {
        // ... and of time: `[λᵀf_x, λᵀf_p] = λᵀ[f_x, f_p]`, one matrix per mode, formed by `n`
        // products the first time the mode is met, at the interval's upper end (the trajectory
        // is not stored: the state there is an event's `x⁻`, an observed state or `x(T)`).
        if !sc.jac.holds(q) {
            let at = At {
                q,
                t: hi,
                x: x_hi,
                p,
            };
            sc.jac.form(model, at, &mut sc.duals);
        }
        // `dz/ds = λᵀ[f_x, f_p]` is linear with constant coefficients: across the interval by
        // its exact propagator, no Runge-Kutta steps.
        return sc
            .jac
            .propagate(z, hi - lo, hi, sc.max_steps)
            .map_err(Error::from_step);
    }
    if !read_state {
        traj.eval_left(hi, &mut sc.x);
    }
    // The stage times move down through the stored steps: each read starts its search at the
    // segment of the one before.
    let mut seg = traj.segment_at(hi, false);
    let mut rhs = |s: f64, zz: &[f64], dz: &mut [f64]| {
        let t = -s;
        if read_state {
            if t >= hi {
                traj.eval_left(hi, &mut sc.x);
            } else if t <= lo {
                traj.eval_near(&mut seg, lo, &mut sc.x);
            } else {
                traj.eval_near(&mut seg, t, &mut sc.x);
            }
        }
        let at = At { q, t, x: &sc.x, p };
        // `λᵀf_x` and `λᵀf_p` straight into `dz`. With no quadrature `dz` holds `λ` only and
        // `λᵀf_p` (zero) is not asked for (`dm` is empty).
        let (dl, dm) = dz.split_at_mut(n);
        model.flow_vjp(at, &zz[..n], dl, dm, &mut sc.duals);
        if running {
            // ℓ_x and ℓ_p by one dual evaluation per component.
            match sc.loss.running(loss, t, &sc.x, p) {
                Some(_) => {
                    let (dl, dm) = dz.split_at_mut(n);
                    dl.iter_mut().zip(&sc.loss.grad).for_each(|(d, g)| *d += g);
                    dm.iter_mut()
                        .zip(&sc.loss.grad_p)
                        .for_each(|(d, g)| *d += g);
                }
                None => sc.missing_running = true,
            }
        }
    };
    march(stepper, &mut rhs, z, lo, hi, first)?;
    if std::mem::take(&mut sc.missing_running) {
        return Err(Error::MissingLossTerm {
            part: "running",
            index: 0,
        });
    }
    Ok(())
}

/// Step `z` from `s = −hi` to `s = −lo` with the backward right-hand side `rhs`. Every piece
/// after the first starts with the step the controller proposed at the end of the previous one
/// (`λ` only jumps at a breakpoint; its dynamics go on), not from scratch.
fn march<S: Stepper, F: FnMut(f64, &[f64], &mut [f64])>(
    stepper: &mut S,
    rhs: &mut F,
    z: &mut [f64],
    lo: f64,
    hi: f64,
    first: f64,
) -> Result<(), Error> {
    stepper.reset_with_step(rhs, -hi, z, 1.0, first);
    while stepper.t() < -lo {
        stepper
            .step(rhs, -lo)
            .map_err(|e| Error::from_step(e.in_reversed_time()))?;
    }
    z.copy_from_slice(stepper.x());
    Ok(())
}
