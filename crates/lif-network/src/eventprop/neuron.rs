//! One neuron (or `LANES` neurons in lockstep) through its layer's sorted input events: exact
//! integration between events (closed form), every threshold crossing located exactly
//! (`Kernel::first_crossing`), and for readout neurons the exact voltage maximum.

use super::closed_form::Decay;
use super::params::Kernel;
use super::probes::{no_probes, NeuronProbes};
use super::trajectory::{MaxKind, Spike, VoltageMax, LANES};
use crate::LifError;

/// The shared input of one layer: its sorted events and the decay of every slot.
pub(crate) struct LayerInput<'a> {
    pub ev_time: &'a [f64],
    pub decays: &'a [Decay],
    pub t_end: f64,
    pub layer: usize,
}

impl LayerInput<'_> {
    #[inline]
    pub fn slot_start(&self, s: usize) -> f64 {
        if s == 0 {
            0.0
        } else {
            self.ev_time[s - 1]
        }
    }
    #[inline]
    pub fn slot_end(&self, s: usize) -> f64 {
        self.ev_time.get(s).copied().unwrap_or(self.t_end)
    }
}

/// Cheap necessary condition for a crossing in a slot from `(v, i)` to `(v_end, i_end)`: `V(end) >= ϑ`,
/// or an interior maximum (`V̇ > 0` at the start, `< 0` at the end) whose upper bound
/// `Kernel::max_upper_bound` reaches `thr_bound` (the same tests as `Kernel::first_crossing`).
/// Written without short-circuits so that lanes of it vectorise.
#[inline(always)]
fn may_cross(k: &Kernel, thr_bound: f64, v: f64, i: f64, v_end: f64, i_end: f64) -> bool {
    let thr = k.threshold;
    (v_end >= thr)
        | (v >= thr)
        | ((i > thr) & (i_end < v_end) & (k.max_upper_bound(v, i) >= thr_bound))
}

/// Below this, the bound of the interior maximum excludes a crossing (margin for rounding).
fn bound_threshold(k: &Kernel) -> f64 {
    k.threshold * (1.0 - 8.0 * f64::EPSILON)
}

/// Slot `s` of one spiking neuron, from `(v, i)` at its start to its end: every crossing located
/// exactly (spike, reset, search again), probes recorded. `first` is the index of the neuron's
/// first spike in `spikes`.
#[allow(clippy::too_many_arguments)]
fn spiking_slot(
    k: &Kernel,
    inp: &LayerInput<'_>,
    s: usize,
    (v, i): (&mut f64, &mut f64),
    j: usize,
    probes: &mut NeuronProbes<'_>,
    spikes: &mut Vec<Spike>,
    first: usize,
    max_spikes: usize,
) -> Result<(), LifError> {
    let start = inp.slot_start(s);
    let slot_end = inp.slot_end(s);
    let len = slot_end - start;
    let mut off = 0.0;
    loop {
        if !i.is_finite() {
            return Err(LifError::non_finite(
                "synaptic current",
                inp.layer,
                j,
                start + off,
            ));
        }
        let dd = if off == 0.0 {
            inp.decays[s]
        } else {
            k.decay(len - off)
        };
        match k.first_crossing(*v, *i, len - off, &dd) {
            Some(tau) => {
                let t_spike = (start + off + tau).min(slot_end);
                probes.record(k, *v, *i, start + off, t_spike, false, s);
                *i *= (-tau * k.inv_tau_syn).exp();
                spikes.push(Spike {
                    time: t_spike,
                    neuron: j as u32,
                    i_syn: *i,
                    slot: s as u32,
                });
                if spikes.len() - first >= max_spikes {
                    return Err(LifError::TooManySpikes {
                        layer: inp.layer,
                        neuron: j,
                        time: t_spike,
                        count: spikes.len() - first,
                    });
                }
                *v = 0.0;
                off += tau;
            }
            None => {
                probes.record(k, *v, *i, start + off, slot_end, true, s);
                *v = dd.voltage(*v, *i);
                *i *= dd.syn;
                return Ok(());
            }
        }
    }
}

/// One spiking neuron through its layer's events (`w_ev[s]`: its weight of event `s`); appends
/// its spikes in time order.
pub(crate) fn run_spiking(
    k: &Kernel,
    inp: &LayerInput<'_>,
    w_ev: &[f64],
    j: usize,
    probes: &mut NeuronProbes<'_>,
    spikes: &mut Vec<Spike>,
    max_spikes: usize,
) -> Result<(), LifError> {
    let n_ev = inp.ev_time.len();
    let first = spikes.len();
    let thr_bound = bound_threshold(k);
    let (mut v, mut i) = (0.0_f64, 0.0_f64);
    for s in 0..=n_ev {
        let d = &inp.decays[s];
        let v_end = d.voltage(v, i);
        let i_end = d.syn * i;
        if may_cross(k, thr_bound, v, i, v_end, i_end) || probes.next_time() <= inp.slot_end(s) {
            let state = (&mut v, &mut i);
            spiking_slot(k, inp, s, state, j, probes, spikes, first, max_spikes)?;
        } else {
            v = v_end;
            i = i_end;
        }
        if s < n_ev {
            i += w_ev[s];
        }
    }
    if !(v.is_finite() && i.is_finite()) {
        return Err(LifError::non_finite(
            "membrane state",
            inp.layer,
            j,
            inp.t_end,
        ));
    }
    Ok(())
}

/// Neurons `j0..j0 + LANES` (without probes) through the layer's events in lockstep: their
/// independent update chains overlap in the CPU (and vectorise), which the single-neuron loop,
/// bound by the latency of one chain, cannot. `w_lanes[s * LANES + l]` is the weight of event `s`
/// into neuron `j0 + l`; a lane that may cross in a slot takes the exact slow path for that slot.
/// Results are identical to [`run_spiking`] neuron by neuron.
pub(crate) fn run_spiking_lanes(
    k: &Kernel,
    inp: &LayerInput<'_>,
    w_lanes: &[f64],
    j0: usize,
    spikes: &mut [Vec<Spike>; LANES],
    max_spikes: usize,
) -> Result<(), LifError> {
    let n_ev = inp.ev_time.len();
    let thr_bound = bound_threshold(k);
    let (mut v, mut i) = ([0.0_f64; LANES], [0.0_f64; LANES]);
    for s in 0..=n_ev {
        let d = &inp.decays[s];
        let mut v_end = [0.0_f64; LANES];
        let mut i_end = [0.0_f64; LANES];
        let mut slow = [false; LANES];
        for l in 0..LANES {
            v_end[l] = d.voltage(v[l], i[l]);
            i_end[l] = d.syn * i[l];
            slow[l] = may_cross(k, thr_bound, v[l], i[l], v_end[l], i_end[l]);
        }
        if slow.iter().any(|&x| x) {
            for l in 0..LANES {
                if slow[l] {
                    let state = (&mut v[l], &mut i[l]);
                    let p = &mut no_probes();
                    spiking_slot(k, inp, s, state, j0 + l, p, &mut spikes[l], 0, max_spikes)?;
                } else {
                    v[l] = v_end[l];
                    i[l] = i_end[l];
                }
            }
        } else {
            v = v_end;
            i = i_end;
        }
        if s < n_ev {
            for l in 0..LANES {
                i[l] += w_lanes[s * LANES + l];
            }
        }
    }
    for l in 0..LANES {
        if !(v[l].is_finite() && i[l].is_finite()) {
            return Err(LifError::non_finite(
                "membrane state",
                inp.layer,
                j0 + l,
                inp.t_end,
            ));
        }
    }
    Ok(())
}

/// One non-spiking neuron through its layer's events; returns its exact voltage maximum.
///
/// Candidates (`docs/maths.md` §"The voltage maximum of a readout neuron"): the interior stationary point of each slot (only if `V̇ > 0`
/// at the slot start and `V̇ < 0` at its end, and only if its upper bound
/// `Kernel::max_upper_bound` can beat the best so far) and every slot end.
pub(crate) fn run_readout(
    k: &Kernel,
    inp: &LayerInput<'_>,
    w_ev: &[f64],
    j: usize,
    probes: &mut NeuronProbes<'_>,
) -> Result<VoltageMax, LifError> {
    let n_ev = inp.ev_time.len();
    let (mut v, mut i) = (0.0_f64, 0.0_f64);
    let mut best = VoltageMax::INITIAL;
    for s in 0..=n_ev {
        let d = &inp.decays[s];
        let slot_end = inp.slot_end(s);
        let v_end = d.voltage(v, i);
        let i_end = d.syn * i;
        if i > v && i_end < v_end && k.max_upper_bound(v, i) > best.value {
            let start = inp.slot_start(s);
            if let Some((ts, vm)) = k.maximum(v, i) {
                if ts < slot_end - start && vm > best.value {
                    best = VoltageMax {
                        value: vm,
                        time: start + ts,
                        kind: MaxKind::Stationary,
                        slot: s as u32,
                        vdot_minus: 0.0,
                    };
                }
            }
        }
        if v_end > best.value {
            best = VoltageMax {
                value: v_end,
                time: slot_end,
                kind: if s < n_ev {
                    MaxKind::AtEvent(s)
                } else {
                    MaxKind::End
                },
                slot: s as u32,
                vdot_minus: (i_end - v_end) * k.inv_tau_mem,
            };
        }
        if probes.next_time() <= slot_end {
            probes.record(k, v, i, inp.slot_start(s), slot_end, true, s);
        }
        v = v_end;
        i = i_end;
        if s < n_ev {
            i += w_ev[s];
        }
    }
    if !(v.is_finite() && i.is_finite() && best.value.is_finite()) {
        return Err(LifError::non_finite(
            "membrane state",
            inp.layer,
            j,
            inp.t_end,
        ));
    }
    Ok(best)
}
