//! Forward pass of a layered network (Table 1, Algorithm 1's first half): exact integration
//! between events with the closed form, spike times by bracketing root finding, layer by layer.
//!
//! In a feed-forward layer the neurons do not interact, so each neuron is run on its own through
//! the layer's sorted input events. The decay factors of every inter-event interval ("slot") are
//! shared by all neurons of the layer and computed once; a slot in which the neuron cannot reach
//! the threshold (see `Kernel::first_crossing`) costs a few multiply-adds and comparisons.

use super::closed_form::Decay;
use super::params::Kernel;
use super::probes::{no_probes, NeuronProbes};
use super::trajectory::{LayerTrace, MaxKind, Observe, Spike, VoltageMax, Workspace};
use super::{FeedForwardNet, InputSpike, LayerKind};
use crate::LifError;

/// The shared input of one layer: its sorted events and the decay of every slot.
struct LayerInput<'a> {
    ev_time: &'a [f64],
    decays: &'a [Decay],
    t_end: f64,
    layer: usize,
}

impl LayerInput<'_> {
    #[inline]
    fn slot_start(&self, s: usize) -> f64 {
        if s == 0 {
            0.0
        } else {
            self.ev_time[s - 1]
        }
    }
    #[inline]
    fn slot_end(&self, s: usize) -> f64 {
        self.ev_time.get(s).copied().unwrap_or(self.t_end)
    }
}

impl FeedForwardNet {
    /// Simulates one sample on `[0, t_end]` and records spikes, readout maxima and probe values in
    /// `ws`. Input spikes need not be sorted (they are sorted once if they are not); spikes later
    /// than `t_end` are ignored.
    pub fn forward(
        &self,
        input: &[InputSpike],
        observe: Observe<'_>,
        ws: &mut Workspace,
    ) -> Result<(), LifError> {
        self.validate()?;
        let k = self.params.kernel()?;
        ws.shape.clear();
        ws.min_abs_vdot = f64::INFINITY;
        let n_layers = self.layers.len();
        if ws.layers.len() < n_layers {
            ws.layers.resize_with(n_layers, LayerTrace::default);
        }
        self.load_inputs(input, ws)?;
        self.load_probes(observe.probes, ws)?;

        let mut probe_cursor = 0;
        for l in 0..n_layers {
            let (below, rest) = ws.layers.split_at_mut(l);
            let trace = &mut rest[0];
            if l > 0 {
                events_from_spikes(&below[l - 1], trace, &mut ws.scratch_idx);
            }
            slot_decays(&k, trace, self.t_end);
            let layer = &self.layers[l];
            let inp = LayerInput {
                ev_time: &trace.ev_time,
                decays: &trace.decays,
                t_end: self.t_end,
                layer: l,
            };
            let track_silent = observe.silent_output_maxima && l + 1 == n_layers;
            trace.spikes.clear();
            trace.offsets.clear();
            trace.offsets.push(0);
            trace.maxima.clear();
            for j in 0..layer.n_out {
                let start = probe_cursor;
                while let Some(&q) = ws.probe_order.get(probe_cursor) {
                    let p = &ws.probes[q as usize];
                    if (p.layer, p.neuron) != (l, j) {
                        break;
                    }
                    probe_cursor += 1;
                }
                let mut probes = NeuronProbes {
                    order: &ws.probe_order[start..probe_cursor],
                    probes: &ws.probes,
                    values: &mut ws.probe_values,
                    slots: &mut ws.probe_slot,
                    next: 0,
                };
                // Gather this neuron's weight of every input event first: independent loads that
                // the CPU overlaps, instead of one cache miss per event inside the dependent loop.
                let w_row = &layer.weights[j * layer.n_in..(j + 1) * layer.n_in];
                ws.scratch_w.clear();
                ws.scratch_w
                    .extend(trace.ev_pre.iter().map(|&p| w_row[p as usize]));
                let w_ev = &ws.scratch_w[..];
                match layer.kind {
                    LayerKind::Spiking => {
                        let before = trace.spikes.len();
                        run_spiking(
                            &k,
                            &inp,
                            w_ev,
                            j,
                            &mut probes,
                            &mut trace.spikes,
                            ws.max_spikes_per_neuron,
                        )?;
                        if track_silent {
                            trace.maxima.push(if trace.spikes.len() == before {
                                run_readout(&k, &inp, w_ev, j, &mut no_probes())?
                            } else {
                                VoltageMax::NOT_TRACKED
                            });
                        }
                    }
                    LayerKind::Readout => {
                        let m = run_readout(&k, &inp, w_ev, j, &mut probes)?;
                        trace.maxima.push(m);
                    }
                }
                trace.offsets.push(trace.spikes.len() as u32);
            }
            for s in &trace.spikes {
                ws.min_abs_vdot = ws
                    .min_abs_vdot
                    .min((s.i_syn - k.threshold).abs() * k.inv_tau_mem);
            }
        }
        ws.shape
            .extend(self.layers.iter().map(|layer| (layer.n_in, layer.n_out)));
        Ok(())
    }

    /// Validates the input spikes and writes them, sorted by time, as layer 0's events.
    fn load_inputs(&self, input: &[InputSpike], ws: &mut Workspace) -> Result<(), LifError> {
        let trace = &mut ws.layers[0];
        trace.ev_time.clear();
        trace.ev_pre.clear();
        trace.ev_src.clear();
        let mut sorted = true;
        let mut last = f64::NEG_INFINITY;
        for (index, s) in input.iter().enumerate() {
            if !(s.time.is_finite() && s.time >= 0.0) {
                return Err(LifError::InvalidInputTime {
                    index,
                    time: s.time,
                });
            }
            if s.source as usize >= self.n_inputs {
                return Err(LifError::InputSourceOutOfRange {
                    index,
                    source_index: s.source,
                    n_inputs: self.n_inputs,
                });
            }
            if s.time <= self.t_end {
                sorted &= s.time >= last;
                last = s.time;
                trace.ev_time.push(s.time);
                trace.ev_pre.push(s.source);
            }
        }
        if !sorted {
            let idx = &mut ws.scratch_idx;
            idx.clear();
            idx.extend(0..trace.ev_time.len() as u32);
            let t = &trace.ev_time;
            idx.sort_unstable_by(|&a, &b| t[a as usize].total_cmp(&t[b as usize]).then(a.cmp(&b)));
            let times: Vec<f64> = idx.iter().map(|&a| t[a as usize]).collect();
            let pres: Vec<u32> = idx.iter().map(|&a| trace.ev_pre[a as usize]).collect();
            trace.ev_time = times;
            trace.ev_pre = pres;
        }
        Ok(())
    }
}

/// The layer's input events are the spikes of the layer below, sorted by time (ties by neuron).
fn events_from_spikes(below: &LayerTrace, trace: &mut LayerTrace, idx: &mut Vec<u32>) {
    let sp = &below.spikes;
    idx.clear();
    idx.extend(0..sp.len() as u32);
    idx.sort_unstable_by(|&a, &b| {
        let (x, y) = (&sp[a as usize], &sp[b as usize]);
        x.time.total_cmp(&y.time).then(a.cmp(&b))
    });
    trace.ev_time.clear();
    trace.ev_pre.clear();
    trace.ev_src.clear();
    for &a in idx.iter() {
        let s = &sp[a as usize];
        trace.ev_time.push(s.time);
        trace.ev_pre.push(s.neuron);
        trace.ev_src.push(a);
    }
}

/// The `Decay` of every slot, shared by all neurons of the layer (and by the backward pass).
fn slot_decays(k: &Kernel, trace: &mut LayerTrace, t_end: f64) {
    trace.decays.clear();
    let mut prev = 0.0;
    for &t in trace.ev_time.iter().chain(std::iter::once(&t_end)) {
        trace.decays.push(k.decay(t - prev));
        prev = t;
    }
}

/// One spiking neuron through its layer's events (`w_ev[s]`: its weight of event `s`); appends
/// its spikes in time order.
fn run_spiking(
    k: &Kernel,
    inp: &LayerInput<'_>,
    w_ev: &[f64],
    j: usize,
    probes: &mut NeuronProbes<'_>,
    spikes: &mut Vec<Spike>,
    max_spikes: usize,
) -> Result<(), LifError> {
    let thr = k.threshold;
    let n_ev = inp.ev_time.len();
    let first = spikes.len();
    // Below this the bound of the interior maximum excludes a crossing (margin for rounding).
    let thr_bound = thr * (1.0 - 8.0 * f64::EPSILON);
    let (mut v, mut i) = (0.0_f64, 0.0_f64);
    for s in 0..=n_ev {
        let d = &inp.decays[s];
        let slot_end = inp.slot_end(s);
        let v_end = d.voltage(v, i);
        let i_end = d.syn * i;
        // A crossing needs V(end) >= ϑ, or an interior maximum (V̇ > 0 at the start, < 0 at the
        // end) whose upper bound reaches ϑ (the same tests as `Kernel::first_crossing`).
        let may_cross = v_end >= thr
            || v >= thr
            || (i > thr && i_end < v_end && k.max_upper_bound(v, i) >= thr_bound);
        if may_cross || probes.next_time() <= slot_end {
            // Slow path: possible crossings (or probes) in this slot.
            let start = inp.slot_start(s);
            let len = slot_end - start;
            let mut off = 0.0;
            loop {
                if !i.is_finite() {
                    return Err(non_finite("synaptic current", inp.layer, j, start + off));
                }
                let dd = if off == 0.0 { *d } else { k.decay(len - off) };
                match k.first_crossing(v, i, len - off, &dd) {
                    Some(tau) => {
                        let t_spike = (start + off + tau).min(slot_end);
                        probes.record(k, v, i, start + off, t_spike, false, s);
                        i *= (-tau * k.inv_tau_syn).exp();
                        spikes.push(Spike {
                            time: t_spike,
                            neuron: j as u32,
                            i_syn: i,
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
                        v = 0.0;
                        off += tau;
                    }
                    None => {
                        probes.record(k, v, i, start + off, slot_end, true, s);
                        v = dd.voltage(v, i);
                        i *= dd.syn;
                        break;
                    }
                }
            }
        } else {
            v = v_end;
            i = i_end;
        }
        if s < n_ev {
            i += w_ev[s];
        }
    }
    if !(v.is_finite() && i.is_finite()) {
        return Err(non_finite("membrane state", inp.layer, j, inp.t_end));
    }
    Ok(())
}

/// One non-spiking neuron through its layer's events; returns its exact voltage maximum.
///
/// Candidates (datasets.md, MNIST): the interior stationary point of each slot (only if `V̇ > 0`
/// at the slot start and `V̇ < 0` at its end, and only if its upper bound
/// `Kernel::max_upper_bound` can beat the best so far) and every slot end.
fn run_readout(
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
        return Err(non_finite("membrane state", inp.layer, j, inp.t_end));
    }
    Ok(best)
}

pub(crate) fn non_finite(what: &'static str, layer: usize, neuron: usize, time: f64) -> LifError {
    LifError::NonFinite {
        what,
        layer,
        neuron,
        time,
    }
}
