//! The backward pass's work at each event (see the module docs of `backward.rs`): the adjoint
//! jumps of Table 2 at a spike, an input and a network arrival with their gradient terms, and the
//! lazy carrying of a neuron's adjoint back to the events that touch it.

use crate::engine::clock::{Clock, PopConsts};
use crate::engine::coeffs::Adjoint;
use crate::engine::model::{Fan, Model};
use crate::engine::workspace::{AdjointSample, NetworkWorkspace};
use crate::LifError;

impl Model<'_> {
    /// `λ_V,j += c` at `t` (neuron `j` carried back to `t`).
    pub(super) fn add_lambda_v(&self, ws: &mut NetworkWorkspace, j: usize, t: f64, c: f64) {
        let p = ws.pop_of[j] as usize;
        let clock = ws.clocks.at(&ws.consts, p, t);
        let a = &mut ws.cells[j];
        let (lv, li) = (a.lambda_v(&clock), a.lambda_i(&clock));
        a.set(lv + c, li, &clock);
    }

    /// The adjoint jump of spike `k` and the gradient terms of its synapses.
    pub(super) fn spike_back(
        &self,
        ws: &mut NetworkWorkspace,
        k: usize,
        dl_dt: f64,
        grad: &mut [Vec<f64>],
    ) -> Result<(), LifError> {
        let sp = ws.spikes[k];
        let (m, t) = (sp.neuron as usize, sp.time);
        let p = ws.pop_of[m] as usize;
        let pc = ws.consts[p];
        self.advance_back(ws, m, t);
        let own = ws.clocks.at(&ws.consts, p, t);
        let mut bracket = if pc.t_ref > 0.0 {
            // λ_V(t_w⁺) I(t_w)/τm with I(t_w) = I_n e^{-t_ref/τs} + Σ_window w e^{-(t_w-t_a)/τs}.
            ws.wake_scale[m] * (sp.i_syn * (ws.wake_es[m] * own.es_inv) + ws.wake_sum[m])
        } else {
            ws.cells[m].lambda_v(&own) * sp.i_syn * pc.k.inv_tau_mem
        } - dl_dt;
        let pre = m - ws.offsets[p];
        for kk in 0..ws.out_of[p].len() {
            let pj = ws.out_of[p][kk] as usize;
            let proj = &self.projs[pj];
            let q = proj.target;
            let base = ws.offsets[q];
            let qc = ws.consts[q];
            let clock = ws.clocks.at(&ws.consts, q, t);
            // Σ_targets w (λ_V - ρ λ_I), scaled by 1/τm of the target population below.
            let mut sum = 0.0;
            match proj.fan {
                Fan::Sparse { offsets, targets } => {
                    let range = offsets[pre] as usize..offsets[pre + 1] as usize;
                    let g = &mut grad[pj][range.clone()];
                    let syn = targets[range.clone()].iter().zip(&proj.weights[range]);
                    for ((&target, &w), g) in syn.zip(g) {
                        let j = base + target as usize;
                        sum += self.arrival_back(ws, j, t, &qc, &clock, w, g);
                    }
                }
                Fan::Dense { n_pre, n_post } => {
                    assert!(pre < n_pre);
                    let row = pre * n_post..(pre + 1) * n_post;
                    let w = proj.weights[row.clone()].iter().copied();
                    let g = grad[pj][row].iter_mut();
                    for ((target, w), g) in (0..n_post).zip(w).zip(g) {
                        sum += self.arrival_back(ws, base + target, t, &qc, &clock, w, g);
                    }
                }
            }
            bracket += sum * qc.k.inv_tau_mem;
        }
        let vdot = (sp.i_syn - pc.k.threshold) * pc.k.inv_tau_mem;
        if vdot == 0.0 {
            let (population, neuron) = self.name_of(m);
            return Err(LifError::GrazingSpikeIn {
                population,
                neuron,
                time: t,
            });
        }
        let lv = bracket / vdot;
        if !lv.is_finite() {
            return Err(self.non_finite("adjoint λ_V", m, t));
        }
        let li = ws.cells[m].lambda_i(&own);
        ws.cells[m].set(lv, li, &own);
        if pc.t_ref > 0.0 {
            // The spike is done: the neuron's previous spike (if any) becomes its current one.
            ws.cursor[m] -= 1;
            ws.wake_done[m] = false;
            ws.wake_scale[m] = 0.0;
            ws.wake_sum[m] = 0.0;
            ws.wake_es[m] = 0.0;
        }
        Ok(())
    }

    /// The arrival of an input spike at neuron `j` (weight `w`) at `t`, in reverse: carries `j`'s
    /// adjoint back to `t` and adds `λ_I,j` to the weight's gradient `g` (eq. 56).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn input_back(
        &self,
        ws: &mut NetworkWorkspace,
        j: usize,
        t: f64,
        pc: &PopConsts,
        clock: &Clock,
        w: f64,
        g: &mut f64,
    ) {
        if adjoint_is_zero(ws, j, pc) {
            return;
        }
        self.advance_with(ws, j, t, pc);
        if pc.t_ref > 0.0 && ws.wake_done[j] {
            ws.wake_sum[j] += w * (clock.es_inv * ws.wake_es[j]);
        }
        *g += ws.cells[j].lambda_i(clock);
    }

    /// The arrival of a spike at neuron `j` (weight `w`) at `t`, in reverse: carries `j`'s
    /// adjoint back to `t`, adds `λ_I,j` to the weight's gradient `g` (eq. 2) and returns the
    /// synapse's share `w (λ_V,j - ρ λ_I,j)` of the presynaptic jump (without `1/τm`).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn arrival_back(
        &self,
        ws: &mut NetworkWorkspace,
        j: usize,
        t: f64,
        qc: &PopConsts,
        clock: &Clock,
        w: f64,
        g: &mut f64,
    ) -> f64 {
        if adjoint_is_zero(ws, j, qc) {
            return 0.0;
        }
        self.advance_with(ws, j, t, qc);
        if qc.t_ref > 0.0 && ws.wake_done[j] {
            // Between the neuron's spike and its release (in forward order): the arrival's
            // share of the current at the release.
            ws.wake_sum[j] += w * (clock.es_inv * ws.wake_es[j]);
        }
        let (lv, li) = (ws.cells[j].lambda_v(clock), ws.cells[j].lambda_i(clock));
        *g += li;
        w * (lv - qc.k.rho * li)
    }

    /// Carries neuron `j`'s adjoint back to `t`: through the end of its current refractory
    /// period if that lies after `t` and was not yet passed (otherwise the coefficients hold).
    pub(super) fn advance_back(&self, ws: &mut NetworkWorkspace, j: usize, t: f64) {
        let p = ws.pop_of[j] as usize;
        let pc = ws.consts[p];
        self.advance_with(ws, j, t, &pc);
    }

    /// [`advance_back`](Self::advance_back) with the population's constants.
    #[inline(always)]
    fn advance_with(&self, ws: &mut NetworkWorkspace, j: usize, t: f64, pc: &PopConsts) {
        if pc.t_ref > 0.0 && !ws.wake_done[j] {
            if let Some(k) = current_spike(ws, j) {
                let t_w = ws.spikes[k].time + pc.t_ref;
                if t_w >= self.t_end {
                    ws.wake_done[j] = true;
                } else if t_w > t {
                    // `t_w` is at or below the epoch (`rebase_backward` takes the releases
                    // the epoch moves below), so `Es(t_w)` is at most `e^{span/τs}`.
                    let clock = pc.clock(t_w, ws.clocks.epoch);
                    let a = &mut ws.cells[j];
                    let (lv, li) = (a.lambda_v(&clock), a.lambda_i(&clock));
                    // The current at the release is summed while walking back to the spike.
                    ws.wake_scale[j] = lv * pc.k.inv_tau_mem;
                    ws.wake_es[j] = clock.es;
                    // Clamped before the release: λ_V = 0.
                    a.set(0.0, li, &clock);
                    ws.wake_done[j] = true;
                }
            }
        }
    }

    /// Whether neuron `j` is clamped at `t` (its current spike at or before `t`, less than
    /// `t_ref` ago).
    pub(super) fn refractory_at(&self, ws: &NetworkWorkspace, j: usize, t: f64) -> bool {
        let t_ref = ws.consts[ws.pop_of[j] as usize].t_ref;
        t_ref > 0.0
            && current_spike(ws, j).is_some_and(|k| {
                let ts = ws.spikes[k].time;
                ts <= t && t < ts + t_ref
            })
    }

    /// The adjoint of every neuron at `t` (all neurons carried back to `t`).
    pub(super) fn sample_all(&self, ws: &mut NetworkWorkspace, t: f64, n: usize) -> AdjointSample {
        for j in 0..n {
            self.advance_back(ws, j, t);
        }
        let mut sample = AdjointSample {
            time: t,
            lambda_v: Vec::with_capacity(n),
            lambda_i: Vec::with_capacity(n),
        };
        for j in 0..n {
            let clock = ws.clocks.at(&ws.consts, ws.pop_of[j] as usize, t);
            sample.lambda_v.push(ws.cells[j].lambda_v(&clock));
            sample.lambda_i.push(ws.cells[j].lambda_i(&clock));
        }
        sample
    }

    /// Zero adjoints at `t_end`, per-neuron spike lists (for refractory periods), fan-out tables.
    pub(super) fn prepare_backward(&self, ws: &mut NetworkWorkspace) {
        let n = ws.pop_of.len();
        let t0 = self.t_end;
        ws.clocks.reset(&ws.consts, t0);
        ws.cells.clear();
        ws.cells.resize(n, Adjoint::default());
        ws.wake_scale.clear();
        ws.wake_scale.resize(n, 0.0);
        ws.wake_sum.clear();
        ws.wake_sum.resize(n, 0.0);
        ws.wake_es.clear();
        ws.wake_es.resize(n, 0.0);
        ws.wake_done.clear();
        ws.wake_done.resize(n, false);
        ws.cursor.clear();
        ws.cursor.resize(n, 0);
        ws.spike_offsets.clear();
        ws.spike_index.clear();
        if ws.consts.iter().all(|c| c.t_ref == 0.0) {
            return;
        }
        // Spikes of each neuron in time order: spike_index[spike_offsets[j]..][..cursor[j]].
        for s in &ws.spikes {
            ws.cursor[s.neuron as usize] += 1;
        }
        ws.spike_offsets.push(0);
        for j in 0..n {
            let last = ws.spike_offsets[j];
            ws.spike_offsets.push(last + ws.cursor[j]);
        }
        ws.spike_index.resize(ws.spikes.len(), 0);
        // `cursor` counts up again to the number of spikes of each neuron.
        ws.cursor.iter_mut().for_each(|c| *c = 0);
        for (k, s) in ws.spikes.iter().enumerate() {
            let j = s.neuron as usize;
            ws.spike_index[(ws.spike_offsets[j] + ws.cursor[j]) as usize] = k as u32;
            ws.cursor[j] += 1;
        }
    }
}

/// Whether neuron `j`'s adjoint is identically zero from its mark back to the next event that
/// can make it jump (an own spike, a probe, a maximum): then `λ = 0` at every arrival in between,
/// which contributes nothing to the gradient or to the presynaptic jumps, and is skipped (a
/// neuron the loss does not reach costs nothing in the backward pass). With a refractory period,
/// only if no release term is pending.
#[inline(always)]
fn adjoint_is_zero(ws: &NetworkWorkspace, j: usize, pc: &PopConsts) -> bool {
    ws.cells[j].is_zero() && (pc.t_ref == 0.0 || ws.wake_scale[j] == 0.0)
}

/// Index in `ws.spikes` of neuron `j`'s latest spike not yet walked back over.
#[inline]
fn current_spike(ws: &NetworkWorkspace, j: usize) -> Option<usize> {
    let c = *ws.cursor.get(j)?;
    if c == 0 || ws.spike_index.is_empty() {
        return None;
    }
    Some(ws.spike_index[(ws.spike_offsets[j] + c - 1) as usize] as usize)
}

/// Moves the epoch to `t`, re-expressing every neuron's adjoint there. A release `t_w` still
/// pending above `t` is taken first, from the old epoch (as `Model::advance_with` would at
/// `t_w`): `λ_V(t_w⁺)` is read there, and the clamped adjoint below it is `λ_V = 0`,
/// `λ_I = λ_I(t_w) e^{-(t_w - t)/τs}` at the new epoch. Read lazily after the move, `λ_V(t_w)`
/// would come from coefficients carried below `t_w` and back up, which underflow when `t_w`
/// lies hundreds of time constants above the new epoch (a long refractory period).
pub(super) fn rebase_backward(ws: &mut NetworkWorkspace, t: f64, t_end: f64) {
    let shift = t - ws.clocks.epoch;
    // Releases pending above `t`: (neuron, λ_I(t_w) e^{-(t_w - t)/τs}).
    let mut released = std::mem::take(&mut ws.released);
    released.clear();
    for p in 0..ws.consts.len() {
        let pc = ws.consts[p];
        if pc.t_ref == 0.0 {
            continue;
        }
        // Es(t_w) in units of the epoch scales by e^{shift/τs} (to 0 when it underflows,
        // where every later factor e^{-(t_w - t_a)/τs} would too).
        let f = (shift * pc.k.inv_tau_syn).exp();
        for j in ws.offsets[p]..ws.offsets[p + 1] {
            if ws.wake_done[j] {
                ws.wake_es[j] *= f;
                continue;
            }
            let Some(k) = current_spike(ws, j) else {
                continue;
            };
            let t_w = ws.spikes[k].time + pc.t_ref;
            if t_w >= t_end {
                ws.wake_done[j] = true;
            } else if t_w > t {
                let clock = pc.clock(t_w, ws.clocks.epoch);
                let a = &ws.cells[j];
                let (lv, li) = (a.lambda_v(&clock), a.lambda_i(&clock));
                // `Es(t_w)` in units of the new epoch: `e^{-(t_w - t)/τs} <= 1`.
                let es = pc.clock(t_w, t).es;
                ws.wake_scale[j] = lv * pc.k.inv_tau_mem;
                ws.wake_es[j] = es;
                ws.wake_done[j] = true;
                released.push((j as u32, li * es));
            }
        }
    }
    for p in 0..ws.consts.len() {
        let clock = ws.clocks.at(&ws.consts, p, t);
        let pc = &ws.consts[p];
        for a in &mut ws.cells[ws.offsets[p]..ws.offsets[p + 1]] {
            a.rebase(pc, &clock);
        }
    }
    // At the new epoch `Em = Es = 1`: `λ_V = a`, `λ_I = b + a G_b`, here with `a = 0`.
    for &(j, li) in &released {
        ws.cells[j as usize] = Adjoint { a: 0.0, b: li };
    }
    ws.released = released;
    ws.clocks.set_epoch(t);
}
