//! Backward pass of a layered network: the adjoint of Table 2 in closed form between events, in
//! reverse time, with the gradient of eq. (2) (network weights) and eq. (56) (input weights).
//!
//! Convention (`docs/maths.md` §"3. The adjoint, derived" and §"10. The LIF network"): `λ_V, λ_I` are the generic adjoints, related to the
//! paper's by `λ_V(paper) = -λ_V/τ_mem`, `λ_I(paper) = -λ_I/τ_syn`. In reverse time `s`
//!
//! ```text
//! dλ_V/ds = -λ_V/τm,   dλ_I/ds = -λ_I/τs + λ_V/τm   (+ jumps of λ_V by ∂l/∂V at probes/maxima)
//! λ_V(s) = e^{-s/τm} λ_V0,   λ_I(s) = e^{-s/τs} λ_I0 + K(s) λ_V0        (same Decay as forward)
//! ```
//!
//! At a spike of neuron `n` (time `t`, current `I_n`), eq. (52a) in this convention reads
//!
//! ```text
//! λ_V,n⁻ = [ I_n λ_V,n⁺ + Σ_m w_mn (λ_V,m - ρ λ_I,m) - τm ∂l/∂t ] / (I_n - ϑ),   ρ = τm/τs,
//! ```
//!
//! `λ_I` is continuous (eq. 52c), and `dL/dw_jn = Σ_{spikes of n} λ_I,j(t)` (eq. 2: `-τs λ_I(paper)`);
//! the same sum over input spikes gives the input weights (eq. 56).
//!
//! Feed-forward networks are done layer by layer, downstream first. While walking neuron `j` of
//! layer `l` backwards through its input events, the error signal `w_jn (λ_V,j - ρ λ_I,j)` at each
//! spike of the layer below is added into that spike's `jump` numerator, which is complete when
//! layer `l - 1` is walked. A neuron whose adjoint is identically zero (no loss reaches it) is
//! skipped, and each neuron starts at its last loss-carrying item rather than at `t_end`.
//!
//! Maxima (eq. 4): `max_t V` is an observation `λ_V += ∂l/∂max` at the time of the maximum. At an
//! interior stationary point this is the envelope theorem. At a kink at the arrival of a spike of
//! the layer below (`MaxKind::AtEvent`, `V̇` jumping from `> 0` to `< 0` through a negative weight)
//! the maximum is `V⁻(t_k(w), w)`, whose derivative has the extra term `V̇⁻ dt_k/dw`: an event-time
//! loss on that spike with `∂l/∂t_k = (∂l/∂max) V̇⁻` (`docs/maths.md` §"The voltage maximum of a readout neuron").

use super::params::Kernel;
use super::trajectory::{Cotangents, Item, ItemKind, LayerTrace, MaxKind, Workspace};
use super::FeedForwardNet;
use crate::error::finite_cotangents;
use crate::LifError;

impl FeedForwardNet {
    /// Adds `dL/dw` to `grad` (shapes of the layers' weights), for the loss whose derivatives with
    /// respect to the recorded quantities of the last [`forward`](Self::forward) in `ws` are `cot`.
    ///
    /// The weights must be those of the forward pass. Cost: of the order of the forward pass, for
    /// the neurons the loss reaches.
    pub fn backward(
        &self,
        ws: &mut Workspace,
        cot: &Cotangents,
        grad: &mut [Vec<f64>],
    ) -> Result<(), LifError> {
        let k = self.params.kernel()?;
        self.check_backward_shapes(ws, cot, grad)?;
        let n_layers = self.layers.len();
        for l in 0..n_layers {
            let trace = &mut ws.layers[l];
            trace.jump.clear();
            trace
                .jump
                .extend(cot.spike_times[l].iter().map(|&c| -k.tau_mem * c));
        }
        for l in (0..n_layers).rev() {
            let layer = &self.layers[l];
            let (below, rest) = ws.layers.split_at_mut(l);
            let trace = &rest[0];
            let mut below = below.last_mut();
            if let Some(b) = below.as_deref_mut() {
                // Kink maxima at a spike of the layer below: ∂l/∂t_k = (∂l/∂max) V̇⁻.
                for (m, &c) in trace.maxima.iter().zip(&cot.max_voltage[l]) {
                    if let MaxKind::AtEvent(e) = m.kind {
                        b.jump[trace.ev_src[e] as usize] -= k.tau_mem * c * m.vdot_minus;
                    }
                }
            }
            let probes_start = ws
                .probe_order
                .partition_point(|&q| ws.probes[q as usize].layer < l);
            let mut cursor = probes_start;
            for j in 0..layer.n_out {
                let items = &mut ws.items;
                items.clear();
                let lo = trace.offsets[j] as usize;
                let hi = trace.offsets[j + 1] as usize;
                for (s, &jump) in trace.spikes[lo..hi].iter().zip(&trace.jump[lo..hi]) {
                    let kind = ItemKind::Spike {
                        i_syn: s.i_syn,
                        jump,
                    };
                    push(items, s.slot, s.time, kind);
                }
                while let Some(&q) = ws.probe_order.get(cursor) {
                    let p = &ws.probes[q as usize];
                    if (p.layer, p.neuron) != (l, j) {
                        break;
                    }
                    let dl_dv = cot.probes[q as usize];
                    if dl_dv != 0.0 {
                        push(
                            items,
                            ws.probe_slot[q as usize],
                            p.time,
                            ItemKind::Observe { dl_dv },
                        );
                    }
                    cursor += 1;
                }
                if let (Some(m), Some(&dl_dv)) = (trace.maxima.get(j), cot.max_voltage[l].get(j)) {
                    let observed = matches!(
                        m.kind,
                        MaxKind::Stationary | MaxKind::AtEvent(_) | MaxKind::End
                    );
                    if observed && dl_dv != 0.0 {
                        push(items, m.slot, m.time, ItemKind::Observe { dl_dv });
                    }
                }
                // Only items up to the latest loss-carrying one matter: after it λ = 0.
                let carries = |it: &Item| match it.kind {
                    ItemKind::Spike { jump, .. } => jump != 0.0,
                    ItemKind::Observe { .. } => true,
                };
                if !items.iter().any(carries) {
                    continue;
                }
                items.sort_unstable_by(|a, b| {
                    a.slot
                        .cmp(&b.slot)
                        .then(a.time.total_cmp(&b.time))
                        .then(a.order.cmp(&b.order))
                });
                let keep = items.iter().rposition(carries).unwrap_or(0);
                let lam = &mut ws.scratch_lam;
                walk_neuron(&k, trace, &items[..=keep], lam, (l, j))?;
                // Scatter after the walk: independent read-modify-writes that the CPU overlaps.
                let w_row = &layer.weights[j * layer.n_in..(j + 1) * layer.n_in];
                let g_row = &mut grad[l][j * layer.n_in..(j + 1) * layer.n_in];
                for (&pre, &(li, _)) in trace.ev_pre.iter().zip(lam.iter()) {
                    g_row[pre as usize] += li;
                }
                if let Some(b) = below.as_deref_mut() {
                    for ((&pre, &src), &(_, err)) in
                        trace.ev_pre.iter().zip(&trace.ev_src).zip(lam.iter())
                    {
                        b.jump[src as usize] += w_row[pre as usize] * err;
                    }
                }
            }
        }
        Ok(())
    }

    fn check_backward_shapes(
        &self,
        ws: &Workspace,
        cot: &Cotangents,
        grad: &[Vec<f64>],
    ) -> Result<(), LifError> {
        let same = ws.shape.len() == self.layers.len()
            && ws
                .shape
                .iter()
                .zip(&self.layers)
                .all(|(&(i, o), l)| (i, o) == (l.n_in, l.n_out));
        if !same {
            return Err(LifError::NoForwardPass);
        }
        let n = self.layers.len();
        let len = |what, layer, expected, found| {
            if expected == found {
                Ok(())
            } else {
                Err(LifError::WrongLength {
                    what,
                    layer,
                    expected,
                    found,
                })
            }
        };
        len("gradient (number of layers)", 0, n, grad.len())?;
        len(
            "spike-time cotangents (number of layers)",
            0,
            n,
            cot.spike_times.len(),
        )?;
        len(
            "max-voltage cotangents (number of layers)",
            0,
            n,
            cot.max_voltage.len(),
        )?;
        len(
            "probe cotangents",
            0,
            ws.probe_values.len(),
            cot.probes.len(),
        )?;
        for l in 0..n {
            let t = &ws.layers[l];
            len("gradient", l, self.layers[l].weights.len(), grad[l].len())?;
            len(
                "spike-time cotangents",
                l,
                t.spikes.len(),
                cot.spike_times[l].len(),
            )?;
            len(
                "max-voltage cotangents",
                l,
                t.maxima.len(),
                cot.max_voltage[l].len(),
            )?;
            finite_cotangents("spike-time cotangent", l, &cot.spike_times[l])?;
            finite_cotangents("max-voltage cotangent", l, &cot.max_voltage[l])?;
        }
        finite_cotangents("probe cotangent", 0, &cot.probes)
    }
}

fn push(items: &mut Vec<Item>, slot: u32, time: f64, kind: ItemKind) {
    let order = items.len() as u32;
    items.push(Item {
        slot,
        time,
        order,
        kind,
    });
}

/// Reverse walk of one neuron from its last loss-carrying item to time 0 (see module docs).
/// Leaves in `lam[e]`, for every input event `e` before that item, `(λ_I, λ_V - ρ λ_I)` of the
/// neuron at the event: its gradient term (eq. 2 / eq. 56) and its error signal per unit weight.
fn walk_neuron(
    k: &Kernel,
    trace: &LayerTrace,
    items: &[Item],
    lam: &mut Vec<(f64, f64)>,
    (layer, neuron): (usize, usize),
) -> Result<(), LifError> {
    let (mut lv, mut li) = (0.0_f64, 0.0_f64);
    let mut it = items.len();
    let mut s = items[it - 1].slot as usize;
    let mut pos = items[it - 1].time;
    lam.clear();
    lam.resize(s, (0.0, 0.0));
    loop {
        let slot_start = trace.slot_start(s);
        let mut touched = false;
        while it > 0 && items[it - 1].slot as usize == s {
            let item = items[it - 1];
            let dt = pos - item.time;
            if dt > 0.0 {
                let d = k.decay(dt);
                li = d.syn * li + d.cross * lv;
                lv *= d.mem;
            }
            match item.kind {
                ItemKind::Spike { i_syn, jump } => {
                    let denom = i_syn - k.threshold;
                    if denom == 0.0 {
                        return Err(LifError::GrazingSpike {
                            layer,
                            neuron,
                            time: item.time,
                            vdot: 0.0,
                        });
                    }
                    lv = (i_syn * lv + jump) / denom;
                    if !lv.is_finite() {
                        let what = "adjoint λ_V";
                        return Err(LifError::non_finite(what, layer, neuron, item.time));
                    }
                }
                ItemKind::Observe { dl_dv } => lv += dl_dv,
            }
            pos = item.time;
            it -= 1;
            touched = true;
        }
        let d = if touched {
            k.decay(pos - slot_start)
        } else {
            trace.decays[s]
        };
        li = d.syn * li + d.cross * lv;
        lv *= d.mem;
        if s == 0 {
            return Ok(());
        }
        lam[s - 1] = (li, lv - k.rho * li);
        pos = slot_start;
        s -= 1;
    }
}
