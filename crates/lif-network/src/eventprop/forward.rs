//! Forward pass of a layered network (Table 1, Algorithm 1's first half): exact integration
//! between events with the closed form, spike times by bracketing root finding, layer by layer.
//!
//! In a feed-forward layer the neurons do not interact, so each neuron is run on its own through
//! the layer's sorted input events (`neuron.rs`; spiking neurons without probes four at a time in
//! lockstep). The decay factors of every inter-event interval ("slot") are shared by all neurons
//! of the layer and computed once; a slot in which a neuron cannot reach the threshold (see
//! `Kernel::first_crossing`) costs a few multiply-adds and comparisons. Each neuron's weights of
//! the events are gathered before its loop, so the cache misses overlap.

use super::neuron::{run_readout, run_spiking, run_spiking_lanes, LayerInput};
use super::params::Kernel;
use super::probes::{no_probes, NeuronProbes};
use super::trajectory::{LayerTrace, Observe, VoltageMax, Workspace, LANES};
use super::{FeedForwardNet, InputSpike, LayerKind};
use crate::LifError;

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
            let mut j = 0;
            while j < layer.n_out {
                let unprobed_up_to = |end: usize| {
                    ws.probe_order.get(probe_cursor).is_none_or(|&q| {
                        let p = &ws.probes[q as usize];
                        p.layer != l || p.neuron >= end
                    })
                };
                if layer.kind == LayerKind::Spiking
                    && j + LANES <= layer.n_out
                    && unprobed_up_to(j + LANES)
                {
                    // Gather the LANES rows' weight of every event, interleaved by event.
                    ws.scratch_w.clear();
                    for &pre in &trace.ev_pre {
                        ws.scratch_w.extend(
                            (j..j + LANES).map(|jj| layer.weights[jj * layer.n_in + pre as usize]),
                        );
                    }
                    ws.lane_spikes.iter_mut().for_each(Vec::clear);
                    let max = ws.max_spikes_per_neuron;
                    run_spiking_lanes(&k, &inp, &ws.scratch_w, j, &mut ws.lane_spikes, max)?;
                    for lane in 0..LANES {
                        let spikes = &ws.lane_spikes[lane];
                        trace.spikes.extend_from_slice(spikes);
                        trace.offsets.push(trace.spikes.len() as u32);
                        if track_silent {
                            trace.maxima.push(if spikes.is_empty() {
                                let w = &mut ws.scratch_lane_w;
                                w.clear();
                                w.extend(ws.scratch_w.iter().skip(lane).step_by(LANES));
                                run_readout(&k, &inp, w, j + lane, &mut no_probes())?
                            } else {
                                VoltageMax::NOT_TRACKED
                            });
                        }
                    }
                    j += LANES;
                    continue;
                }
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
                j += 1;
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
            s.check(index, self.n_inputs)?;
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
