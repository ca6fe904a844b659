//! The backward pass: the adjoint of Table 2 in reverse event order (Algorithm 1), lazily per
//! neuron, with the gradients of eq. (2) (projections between populations) and eq. (56) (input
//! projections).
//!
//! Convention (see `eventprop/backward.rs`): `λ_V = dL/dV`, `λ_I = dL/dI`, in reverse time
//! `dλ_V/ds = -λ_V/τm`, `dλ_I/ds = -λ_I/τs + λ_V/τm`, solved by the same `Decay` as the forward
//! pass. Each neuron's adjoint is carried back only to the events that touch it: a spike arriving
//! at it (its `λ_I` is the gradient of the synapse's weight; `(λ_V - ρ λ_I)/τm` its share of the
//! presynaptic jump), its own spikes, probes of it, and the end of its refractory periods.
//!
//! At a spike of neuron `n` (time `t`, current `I_n`, `V̇⁻ = (I_n - ϑ)/τm`), eq. (52a) reads
//!
//! ```text
//! λ_V,n⁻ = [ λ_V,n⁺ I_n/τm + Σ_targets j w_jn (λ_V,j - ρ_j λ_I,j)/τm_j - ∂l/∂t ] / V̇⁻
//! ```
//!
//! With an absolute refractory period `t_ref` the membrane is clamped at 0 on `[t, t + t_ref]`
//! and released at `t_w = t + t_ref`, whose time moves with `t`. Then `V̇⁺ = 0` at the spike, so
//! the term `λ_V,n⁺ I_n/τm` is replaced by the release's: the flow of `V` switches on at `t_w`,
//! `δV(t_w⁺) = -(I(t_w)/τm) δt_w` with `δt_w = δt`, which gives `λ_V,n(t_w⁺) I(t_w)/τm` (the
//! same term, moved to the release; it vanishes if `t_w >= t_end`). The forward pass does not
//! record `I(t_w)`: it is `I_n e^{-t_ref/τs} + Σ_a w_a e^{-(t_w - t_a)/τs}` over the arrivals
//! `a` between the spike and the release, which the backward pass meets on its way from `t_w`
//! back to `t`; it keeps `λ_V(t_w⁺)/τm` and the sum per neuron, each factor
//! `e^{-(t_w - t_a)/τs} = Es(t_w)/Es(t_a)` (`Es(x) = e^{-(x-T)/τs}`, `T` the epoch) at most 1,
//! so that no refractory period is too long for the sum (it was kept in units of the epoch's
//! exponentials before, which overflowed beyond about 700 τs). A release still pending when
//! the epoch moves below it is taken there, from the old epoch (the coefficients are read
//! downwards only). While clamped, `V` does not depend on anything, so `λ_V = 0` on `[t, t_w)`:
//! probes there carry no gradient and a spike arriving there sees only `-ρ λ_I`.

use super::model::{Fan, Model};
use super::network::Network;
use super::workspace::{AdjointSample, NetworkCotangents, NetworkWorkspace, PeakCause};
use crate::error::finite_cotangents;
use crate::LifError;

mod jumps;

use jumps::rebase_backward;

impl Network {
    /// Adds `dL/dw` into `grad` (one vector per projection, aligned with its weights) for a loss
    /// whose derivatives with respect to the recorded spike times, probe voltages and readout
    /// maxima of the last forward pass in `ws` are `cot`. The weights must be those of the
    /// forward pass.
    ///
    /// A maximum is an observation `λ_V += ∂l/∂max` at its time; at the arrival of a network
    /// spike `k` (a kink, [`PeakCause::SpikeArrival`]) it also adds `(∂l/∂max) V̇⁻` to
    /// `∂l/∂t_k`, because the kink moves with that spike.
    pub fn backward(
        &self,
        ws: &mut NetworkWorkspace,
        cot: &NetworkCotangents,
        grad: &mut [Vec<f64>],
    ) -> Result<(), LifError> {
        self.backward_sampled(ws, cot, grad, &[], &mut Vec::new())
    }

    /// [`backward`](Self::backward) that also records the adjoint of every neuron at the given
    /// times (any order, in `[0, t_end]`; at an event time the value just after the event).
    pub fn backward_sampled(
        &self,
        ws: &mut NetworkWorkspace,
        cot: &NetworkCotangents,
        grad: &mut [Vec<f64>],
        times: &[f64],
        samples: &mut Vec<AdjointSample>,
    ) -> Result<(), LifError> {
        Model::of_network(self)?.backward(ws, cot, grad, times, samples)
    }
}

impl Model<'_> {
    /// The backward pass of a validated model (see [`Network::backward_sampled`]).
    pub(crate) fn backward(
        &self,
        ws: &mut NetworkWorkspace,
        cot: &NetworkCotangents,
        grad: &mut [Vec<f64>],
        times: &[f64],
        samples: &mut Vec<AdjointSample>,
    ) -> Result<(), LifError> {
        if ws.fingerprint == 0 || ws.fingerprint != self.fingerprint() {
            return Err(LifError::NoForwardPass);
        }
        let wrong = |what, expected: usize, found: usize| LifError::WrongLength {
            what,
            layer: 0,
            expected,
            found,
        };
        let (spike_cot, probe_cot) = (&cot.spike_times, &cot.probes);
        if cot.peaks.len() != ws.peaks.len() {
            return Err(wrong("peak cotangents", ws.peaks.len(), cot.peaks.len()));
        }
        if spike_cot.len() != ws.spikes.len() {
            return Err(wrong(
                "spike-time cotangents",
                ws.spikes.len(),
                spike_cot.len(),
            ));
        }
        if probe_cot.len() != ws.probe_values.len() {
            let n = ws.probe_values.len();
            return Err(wrong("probe cotangents", n, probe_cot.len()));
        }
        finite_cotangents("peak cotangent", 0, &cot.peaks)?;
        finite_cotangents("spike-time cotangent", 0, spike_cot)?;
        finite_cotangents("probe cotangent", 0, probe_cot)?;
        if grad.len() != self.projs.len() {
            let n = self.projs.len();
            return Err(wrong("gradient (number of projections)", n, grad.len()));
        }
        for (k, (g, p)) in grad.iter().zip(&self.projs).enumerate() {
            if g.len() != p.weights.len() {
                return Err(LifError::WrongLength {
                    what: "gradient",
                    layer: k,
                    expected: p.weights.len(),
                    found: g.len(),
                });
            }
        }
        if let Some(&bad) = times
            .iter()
            .find(|t| !(t.is_finite() && (0.0..=self.t_end).contains(*t)))
        {
            return Err(LifError::InvalidParameter {
                name: "adjoint sample time",
                value: bad,
                requirement: "finite and in [0, t_end]",
            });
        }
        // Maxima as observations, and their kink terms on the spike-time cotangents.
        ws.spike_cot.clear();
        ws.spike_cot.extend_from_slice(spike_cot);
        ws.observations.clear();
        // Most losses give no peak a cotangent (first-spike losses: every entry `+0.0`): one
        // pass without branches (an `|` of flags, which vectorises) skips the loop then.
        let any_peak = (cot.peaks.iter()).fold(false, |any, &c| any | (c != 0.0));
        let peaks = if any_peak { &ws.peaks[..] } else { &[] };
        for (j, (peak, &c)) in peaks.iter().zip(&cot.peaks).enumerate() {
            if c == 0.0 {
                continue;
            }
            match peak.cause {
                PeakCause::NotTracked | PeakCause::Rest => continue,
                PeakCause::SpikeArrival(k) => ws.spike_cot[k] += c * peak.vdot_minus,
                PeakCause::Stationary | PeakCause::InputArrival | PeakCause::End => {}
            }
            ws.observations.push((peak.time, j as u32, c));
        }
        ws.observations.sort_by(|a, b| a.0.total_cmp(&b.0));
        if times.is_empty() && ws.allow_sweeps && self.sweeps() {
            return self.sweep_backward(ws, probe_cot, grad);
        }
        self.prepare_backward(ws);
        let n = ws.pop_of.len();
        let mut order: Vec<usize> = Vec::new();
        if !times.is_empty() {
            order.extend(0..times.len());
            order.sort_by(|&a, &b| times[b].total_cmp(&times[a]));
            samples.clear();
            samples.resize(times.len(), AdjointSample::default());
        }
        let mut next_sample = 0;
        let mut k_ob = ws.observations.len();
        let (mut k_sp, mut k_in, mut k_pr) = (ws.spikes.len(), ws.inputs.len(), ws.probes.len());
        loop {
            let t_ob = k_ob
                .checked_sub(1)
                .map_or(f64::NEG_INFINITY, |k| ws.observations[k].0);
            let t_sp = k_sp
                .checked_sub(1)
                .map_or(f64::NEG_INFINITY, |k| ws.spikes[k].time);
            let t_in = k_in
                .checked_sub(1)
                .map_or(f64::NEG_INFINITY, |k| ws.inputs[k].time);
            let t_pr = k_pr.checked_sub(1).map_or(f64::NEG_INFINITY, |k| {
                ws.probes[ws.probe_order[k] as usize].time
            });
            let t = t_sp.max(t_in).max(t_pr).max(t_ob);
            while let Some(&q) = order.get(next_sample) {
                if times[q] < t {
                    break;
                }
                samples[q] = self.sample_all(ws, times[q], n);
                next_sample += 1;
            }
            if t == f64::NEG_INFINITY {
                break;
            }
            if ws.clocks.needs_rebase(t) {
                rebase_backward(ws, t, self.t_end);
            }
            // Reverse of the forward order at equal times: inputs, then probes, then spikes, then
            // maxima (a maximum at an arrival is the value just before it).
            if t_in == t {
                k_in -= 1;
                let src = ws.inputs[k_in].source as usize;
                for k in 0..ws.from_inputs.len() {
                    let pj = ws.from_inputs[k] as usize;
                    let proj = &self.projs[pj];
                    let base = ws.offsets[proj.target];
                    let pc = ws.consts[proj.target];
                    let clock = ws.clocks.at(&ws.consts, proj.target, t);
                    match proj.fan {
                        Fan::Sparse { offsets, targets } => {
                            let range = offsets[src] as usize..offsets[src + 1] as usize;
                            let g = &mut grad[pj][range.clone()];
                            let syn = targets[range.clone()].iter().zip(&proj.weights[range]);
                            for ((&target, &w), g) in syn.zip(g) {
                                let j = base + target as usize;
                                self.input_back(ws, j, t, &pc, &clock, w, g);
                            }
                        }
                        Fan::Dense { n_pre, n_post } => {
                            assert!(src < n_pre);
                            let row = src * n_post..(src + 1) * n_post;
                            let w = proj.weights[row.clone()].iter().copied();
                            let g = grad[pj][row].iter_mut();
                            for ((target, w), g) in (0..n_post).zip(w).zip(g) {
                                self.input_back(ws, base + target, t, &pc, &clock, w, g);
                            }
                        }
                    }
                }
            } else if t_pr == t {
                k_pr -= 1;
                let q = ws.probe_order[k_pr] as usize;
                let p = ws.probes[q];
                let j = ws.offsets[p.population] + p.neuron;
                self.advance_back(ws, j, t);
                if !self.refractory_at(ws, j, t) {
                    self.add_lambda_v(ws, j, t, probe_cot[q]);
                }
            } else if t_sp == t {
                k_sp -= 1;
                self.spike_back(ws, k_sp, ws.spike_cot[k_sp], grad)?;
            } else {
                k_ob -= 1;
                let (_, j, c) = ws.observations[k_ob];
                let j = j as usize;
                self.advance_back(ws, j, t);
                self.add_lambda_v(ws, j, t, c);
            }
        }
        // A non-finite adjoint does not heal (its λ_I carries it to the end, and a presynaptic
        // jump that reads it is refused by `spike_back`): one check at the end, O(neurons), says
        // whether the gradient added above can be trusted.
        if let Some(j) = ws
            .cells
            .iter()
            .position(|a| !(a.a.is_finite() && a.b.is_finite()))
        {
            return Err(self.non_finite("adjoint", j, 0.0));
        }
        Ok(())
    }
}
