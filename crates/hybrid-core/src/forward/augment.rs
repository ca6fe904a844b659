//! What the forward method adds to the engine's run (docs/maths.md §2): `S` (and the running
//! loss with its gradient) beside the state, the jump rule for `S` at every event, and the loss
//! terms' gradients through `S`.

use super::{FwdState, SensitivitySample};
use crate::derivatives::{initial_state_jacobian, At};
use crate::engine::Augment;
use crate::event_partials::dot;
use crate::events::checks::refusal;
use crate::loss::Occurrence;
use crate::trajectory::{EventKind, EventRecord};
use crate::{Derivatives, Error, Loss, SolverOptions};

/// The augment of one forward run: the buffers and the loss.
pub(super) struct ForwardAugment<'a, L: Loss> {
    pub(super) n: usize,
    pub(super) m: usize,
    pub(super) t0: f64,
    pub(super) loss: &'a L,
    pub(super) opts: &'a SolverOptions,
    pub(super) fw: &'a mut FwdState,
}

impl<M: Derivatives, L: Loss> Augment<M> for ForwardAugment<'_, L> {
    fn extra(&self) -> usize {
        // S, then the running loss and its gradient ∫ (ℓ_x S + ℓ_p) dt; nothing when S moves
        // by its exact propagator.
        if self.fw.exact.is_some() {
            return 0;
        }
        self.n * self.m + if self.fw.running { 1 + self.m } else { 0 }
    }

    fn init(&mut self, model: &M, p: &[f64], _x0: &[f64], z: &mut [f64]) -> Result<(), Error> {
        let nm = self.n * self.m;
        self.fw.loss.set_parameters(p);
        self.fw.ep.set_parameters(p);
        if let Some(ex) = &mut self.fw.exact {
            initial_state_jacobian(model, p, &mut ex.s, &mut self.fw.duals);
            ex.t_sync = self.t0;
            ex.mode = model.initial_mode();
            // The matrices of the last run's parameters are stale.
            ex.prop.forget();
            return Ok(());
        }
        initial_state_jacobian(model, p, &mut z[..nm], &mut self.fw.duals);
        z[nm..].fill(0.0);
        Ok(())
    }

    fn rhs(
        &mut self,
        model: &M,
        q: usize,
        t: f64,
        x: &[f64],
        p: &[f64],
        z: &[f64],
        dz: &mut [f64],
    ) {
        let (n, m) = (self.n, self.m);
        let nm = n * m;
        if self.fw.exact.is_some() {
            return; // S moves by its exact propagator: nothing rides on the steps
        }
        let (s, ds) = (&z[..nm], &mut dz[..nm]);
        model.flow_jvp(At { q, t, x, p }, s, ds, &mut self.fw.duals);
        if self.fw.running {
            let fw = &mut *self.fw;
            match fw.loss.running(self.loss, t, x, p) {
                Some(l) => {
                    dz[nm] = l;
                    // ℓ_x S_j + ℓ_p,j.
                    let (l_x, l_p) = (&fw.loss.grad, &fw.loss.grad_p);
                    for j in 0..m {
                        dz[nm + 1 + j] = dot(l_x, &s[n * j..n * (j + 1)]) + l_p[j];
                    }
                }
                None => fw.missing_running = true,
            }
        }
    }

    fn event(
        &mut self,
        model: &M,
        p: &[f64],
        record: &EventRecord,
        z: &mut [f64],
    ) -> Result<(), Error> {
        let nm = self.n * self.m;
        if self.fw.exact.is_none() {
            let (s, quadrature) = z.split_at_mut(nm);
            return self.jump(model, p, record, s, quadrature);
        }
        debug_assert_eq!(
            self.fw.exact.as_ref().map(|ex| ex.mode),
            Some(record.mode_before)
        );
        self.advance(model, p, record.t, &record.x_minus)?;
        // `S` out of the state for the jump (its buffer alone: moving the whole `ExactS`, the
        // propagator's buffers with it, out and back took two `memcpy` calls per event).
        let ex = self.fw.exact.as_mut().expect("exact");
        let mut s = std::mem::take(&mut ex.s);
        ex.mode = record.mode_after;
        let r = self.jump(model, p, record, &mut s, &mut []);
        self.fw.exact.as_mut().expect("exact").s = s;
        r
    }

    fn stop(
        &mut self,
        model: &M,
        p: &[f64],
        i: usize,
        t: f64,
        x: &[f64],
        z: &[f64],
    ) -> Result<(), Error> {
        let (n, m) = (self.n, self.m);
        if self.fw.exact.is_some() {
            self.advance(model, p, t, x)?;
        }
        let fw = &mut *self.fw;
        let s = match &fw.exact {
            Some(ex) => &ex.s[..],
            None => &z[..n * m],
        };
        if fw.record {
            fw.samples.push(SensitivitySample {
                t,
                x: x.to_vec(),
                s: s.to_vec(),
            });
            return Ok(());
        }
        fw.value += fw.loss.observation(self.loss, i, x, p)?;
        let (phi_x, phi_p) = (&fw.loss.grad, &fw.loss.grad_p);
        for j in 0..m {
            fw.grad[j] += phi_p[j] + dot(phi_x, &s[n * j..n * (j + 1)]);
        }
        Ok(())
    }
}

impl<L: Loss> ForwardAugment<'_, L> {
    /// `S⁻ → S⁺` in `s` (and the running loss's gradient in `quadrature`, `[L, ∇L]`, or empty)
    /// at the event of `record`.
    fn jump<M: Derivatives>(
        &mut self,
        model: &M,
        p: &[f64],
        record: &EventRecord,
        s: &mut [f64],
        quadrature: &mut [f64],
    ) -> Result<(), Error> {
        let (n, m) = (self.n, self.m);
        let fw = &mut *self.fw;
        let refused = record
            .guard()
            .is_some_and(|k| refusal(record, k, self.opts).is_some());
        if refused {
            // Not differentiable: the pass is refused once the run ends (`check_differentiable`,
            // which names the first such event); keep `S` finite until then.
            if fw.record {
                fw.event_s.push((s.to_vec(), s.to_vec()));
            }
            return Ok(());
        }
        fw.s_minus.copy_from_slice(s);
        let at = At {
            q: record.mode_before,
            t: record.t,
            x: &record.x_minus,
            p,
        };
        // S⁺ = h_x S⁻ + h_p + (h_t + h_x f⁻ − f⁺) dτ/dp, dτ/dp = −(g_x S⁻ + g_p)/ġ.
        match record.kind {
            EventKind::Scheduled(i) => {
                model.scheduled_jump_jvp(i, at, &fw.s_minus, s, &mut fw.duals);
                fw.dtau.fill(0.0);
            }
            EventKind::Guard(k) => {
                fw.ep
                    .eval(model, self.loss, fw.running, p, record, k, &mut fw.duals);
                for j in 0..m {
                    let gs = dot(&fw.ep.g_x, &fw.s_minus[n * j..n * (j + 1)]);
                    fw.dtau[j] = -(gs + fw.ep.g_p[j]) / fw.ep.gdot;
                }
                model.jump_jvp(k, at, &fw.s_minus, s, &mut fw.duals);
                for j in 0..m {
                    for i in 0..n {
                        s[i + n * j] += fw.ep.v[i] * fw.dtau[j];
                    }
                }
                if fw.running {
                    for j in 0..m {
                        quadrature[1 + j] += fw.ep.dl_running * fw.dtau[j];
                    }
                }
                event_terms(self.loss, fw, record, &*s, p, n, m)?;
            }
        }
        if fw.record {
            fw.event_s.push((fw.s_minus.clone(), s.to_vec()));
        }
        Ok(())
    }

    /// Move `S` (exact propagator) from its last time to `t`, where the state is `x` (in the
    /// current mode: the matrix of a mode met for the first time is formed there).
    fn advance<M: Derivatives>(
        &mut self,
        model: &M,
        p: &[f64],
        t: f64,
        x: &[f64],
    ) -> Result<(), Error> {
        let FwdState { exact, duals, .. } = &mut *self.fw;
        let ex = exact.as_mut().expect("exact");
        if t <= ex.t_sync {
            return Ok(());
        }
        if !ex.prop.holds(ex.mode) {
            let at = At {
                q: ex.mode,
                t,
                x,
                p,
            };
            ex.prop.form(model, at, duals);
        }
        ex.prop
            .propagate(&mut ex.s, t - ex.t_sync, t, ex.max_steps)
            .map_err(Error::from_step)?;
        ex.t_sync = t;
        Ok(())
    }
}

/// The event terms at a guard event: `dψ/dp = ψ_τ τ_p + ψ_{x⁻}(S⁻ + f⁻ τ_p) + ψ_{x⁺}(S⁺ + f⁺ τ_p)
/// + ψ_p` (docs/maths.md §2), added now (`Nth`, `Every`) or held until the run ends (`Last`).
fn event_terms<L: Loss>(
    loss: &L,
    fw: &mut FwdState,
    record: &EventRecord,
    s_plus: &[f64],
    p: &[f64],
    n: usize,
    m: usize,
) -> Result<(), Error> {
    for (j, sel) in loss.event_selectors().iter().enumerate() {
        if !sel.matches(record) {
            continue;
        }
        let count = fw.hits[j];
        fw.hits[j] += 1;
        let take = match sel.occurrence {
            Occurrence::Nth(c) => c == count,
            Occurrence::Last | Occurrence::Every => true,
        };
        if !take {
            continue;
        }
        let inputs = loss.event_term_inputs(j);
        let v = fw.loss.event_term(loss, j, record, count, p, inputs)?;
        let (d, d_p) = (&fw.loss.grad, &fw.loss.grad_p);
        let (d_tau, d_xm, d_xp) = (d[0], &d[1..1 + n], &d[1 + n..1 + 2 * n]);
        let rate = d_tau + dot(d_xm, &fw.ep.f_minus) + dot(d_xp, &fw.ep.f_plus);
        for jj in 0..m {
            let col = n * jj..n * (jj + 1);
            fw.contribution[jj] = rate * fw.dtau[jj]
                + dot(d_xm, &fw.s_minus[col.clone()])
                + dot(d_xp, &s_plus[col])
                + d_p[jj];
        }
        fw.taken[j] = true;
        if sel.occurrence == Occurrence::Last {
            let slot = &mut fw.last[j * (1 + m)..(j + 1) * (1 + m)];
            slot[0] = v;
            slot[1..].copy_from_slice(&fw.contribution);
        } else {
            fw.value += v;
            fw.grad
                .iter_mut()
                .zip(&fw.contribution)
                .for_each(|(g, c)| *g += c);
        }
    }
    Ok(())
}
