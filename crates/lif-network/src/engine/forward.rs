//! The forward pass: exact, event-driven, lazy.
//!
//! Events are the input spikes, the probes, and per neuron at most one pending event in a
//! priority queue: its next threshold crossing, or the end of its refractory period. An event
//! touches only the neurons it reaches: a spike of neuron `n` advances each target of `n`'s
//! fan-out lists to the spike time in closed form (`clock.rs`: two multiplications for the
//! decays), adds the weight to its current, and recomputes that target's next crossing only if
//! a crossing is possible at all (`I > ϑ` and the bound of the membrane maximum reaches `ϑ`,
//! else there is none: `V <= max(V, I)` until the next input). A spike costs
//! `O(fan-out · log N)`; neurons no event reaches cost nothing.
//!
//! Ties at one time: queue events first (ends of refractory periods before crossings, then by
//! neuron), then probes, then inputs. The next crossing is located by
//! `Kernel::first_crossing` over `[t, t_end]` from the touched state, which misses none (one
//! stationary point per inter-event interval).

use super::clock::{Mark, PopConsts};
use super::network::{Network, Source};
use super::workspace::{NetworkWorkspace, NeuronProbe, Pending};
use crate::eventprop::Spike;
use crate::{InputSpike, LifError};

impl Network {
    /// Simulates one sample on `[0, t_end]`, recording spikes and probe values in `ws`. Input
    /// spikes need not be sorted; spikes later than `t_end` are ignored.
    pub fn forward(
        &self,
        input: &[InputSpike],
        probes: &[NeuronProbe],
        ws: &mut NetworkWorkspace,
    ) -> Result<(), LifError> {
        self.validate()?;
        ws.shape.clear();
        self.load(input, probes, ws)?;
        let n = ws.pop_of.len();
        ws.x_v.clear();
        ws.x_v.resize(n, 0.0);
        ws.x_i.clear();
        ws.x_i.resize(n, 0.0);
        ws.version.clear();
        ws.version.resize(n, 0);
        ws.ref_until.clear();
        ws.ref_until.resize(n, f64::NEG_INFINITY);
        ws.last_spike.clear();
        ws.last_spike.resize(n, 0);
        ws.queue.clear();
        ws.spikes.clear();
        ws.wake_current.clear();
        ws.min_abs_vdot = f64::INFINITY;
        ws.events = 0;
        ws.clocks.reset(&ws.consts, 0.0);
        let zero: Vec<Mark> = (0..ws.consts.len())
            .map(|p| Mark::forward(&ws.consts[p].clock(0.0, 0.0)))
            .collect();
        ws.mark.clear();
        ws.mark.extend(ws.pop_of.iter().map(|&p| zero[p as usize]));
        let any_refractory = ws.consts.iter().any(|c| c.t_ref > 0.0);

        let (mut next_in, mut next_pr) = (0usize, 0usize);
        loop {
            while let Some(top) = ws.queue.peek() {
                let j = top.neuron as usize;
                let stale = top.version != ws.version[j];
                if stale {
                    ws.queue.pop();
                } else {
                    break;
                }
            }
            let t_q = ws.queue.peek().map_or(f64::INFINITY, |e| e.time);
            let t_in = ws.inputs.get(next_in).map_or(f64::INFINITY, |s| s.time);
            let t_pr = ws
                .probe_order
                .get(next_pr)
                .map_or(f64::INFINITY, |&q| ws.probes[q as usize].time);
            let t = t_q.min(t_in).min(t_pr);
            if t == f64::INFINITY {
                break;
            }
            if ws.clocks.needs_rebase(t) {
                rebase_forward(ws, t);
            }
            if t_q == t {
                let Some(e) = ws.queue.pop() else { break };
                if e.wake {
                    self.wake(ws, e.neuron as usize, t);
                } else {
                    self.spike(ws, e.neuron as usize, t, any_refractory)?;
                }
            } else if t_pr == t {
                let q = ws.probe_order[next_pr] as usize;
                let p = ws.probes[q];
                let j = ws.offsets[p.population] + p.neuron;
                ws.probe_values[q] = voltage_at(ws, j, t);
                next_pr += 1;
            } else {
                let src = ws.inputs[next_in].source as usize;
                for k in 0..ws.from_inputs.len() {
                    let proj = &self.projections[ws.from_inputs[k] as usize];
                    self.deliver(ws, proj, src, t);
                }
                next_in += 1;
            }
        }
        for j in 0..n {
            if !(ws.x_v[j].is_finite() && ws.x_i[j].is_finite()) {
                return Err(self.non_finite(ws, "membrane state", j, self.t_end));
            }
        }
        ws.shape = self.shape();
        Ok(())
    }

    /// Validates and loads inputs and probes, the per-population constants and the fan-out
    /// tables.
    fn load(
        &self,
        input: &[InputSpike],
        probes: &[NeuronProbe],
        ws: &mut NetworkWorkspace,
    ) -> Result<(), LifError> {
        ws.inputs.clear();
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
                ws.inputs.push(*s);
            }
        }
        if !ws.inputs.windows(2).all(|w| w[0].time <= w[1].time) {
            ws.inputs.sort_by(|a, b| a.time.total_cmp(&b.time));
        }
        for (index, p) in probes.iter().enumerate() {
            let ok = self
                .populations
                .get(p.population)
                .is_some_and(|pop| p.neuron < pop.size)
                && p.time.is_finite()
                && (0.0..=self.t_end).contains(&p.time);
            if !ok {
                return Err(LifError::InvalidNeuronProbe {
                    index,
                    population: p.population,
                    neuron: p.neuron,
                    time: p.time,
                    t_end: self.t_end,
                });
            }
        }
        ws.probes.clear();
        ws.probes.extend_from_slice(probes);
        ws.probe_values.clear();
        ws.probe_values.resize(probes.len(), 0.0);
        ws.probe_order.clear();
        ws.probe_order.extend(0..probes.len() as u32);
        let pr = &ws.probes;
        ws.probe_order
            .sort_by(|&a, &b| pr[a as usize].time.total_cmp(&pr[b as usize].time));
        ws.consts.clear();
        for pop in &self.populations {
            ws.consts.push(PopConsts::new(pop.params, pop.refractory)?);
        }
        ws.offsets = self.neuron_offsets();
        ws.pop_of.clear();
        for (p, pop) in self.populations.iter().enumerate() {
            ws.pop_of.extend(std::iter::repeat_n(p as u32, pop.size));
        }
        ws.out_of.iter_mut().for_each(Vec::clear);
        ws.out_of.resize_with(self.populations.len(), Vec::new);
        ws.from_inputs.clear();
        for (k, proj) in self.projections.iter().enumerate() {
            match proj.source {
                Source::Input => ws.from_inputs.push(k as u32),
                Source::Population(p) => ws.out_of[p].push(k as u32),
            }
        }
        Ok(())
    }

    /// A spike of presynaptic neuron `pre` of `proj` at `t`: every synapse touches its target.
    #[inline]
    fn deliver(&self, ws: &mut NetworkWorkspace, proj: &super::Projection, pre: usize, t: f64) {
        let p = proj.target;
        let base = ws.offsets[p];
        let pc = ws.consts[p];
        let clock = ws.clocks.at(&ws.consts, p, t);
        let range = proj.fan_out(pre);
        ws.events += range.len();
        for s in range {
            let j = base + proj.targets[s] as usize;
            let w = proj.weights[s];
            let d = ws.mark[j].decay_to(&pc, &clock);
            ws.mark[j] = Mark::forward(&clock);
            let i = ws.x_i[j];
            if ws.ref_until[j] > t {
                // Refractory: V stays clamped at 0, I integrates; the wake-up schedules.
                ws.x_i[j] = d.syn * i + w;
                continue;
            }
            let v = d.voltage(ws.x_v[j], i);
            let i = d.syn * i + w;
            ws.x_v[j] = v;
            ws.x_i[j] = i;
            ws.version[j] = ws.version[j].wrapping_add(1);
            schedule(ws, &pc, j, t, v, i, self.t_end);
        }
    }

    /// The next crossing of neuron `j` fired at `t`: record, reset, deliver.
    fn spike(
        &self,
        ws: &mut NetworkWorkspace,
        j: usize,
        t: f64,
        any_refractory: bool,
    ) -> Result<(), LifError> {
        let p = ws.pop_of[j] as usize;
        let pc = ws.consts[p];
        let clock = ws.clocks.at(&ws.consts, p, t);
        let d = ws.mark[j].decay_to(&pc, &clock);
        let i = d.syn * ws.x_i[j];
        ws.mark[j] = Mark::forward(&clock);
        if !i.is_finite() {
            return Err(self.non_finite(ws, "synaptic current", j, t));
        }
        ws.min_abs_vdot = ws
            .min_abs_vdot
            .min((i - pc.k.threshold).abs() * pc.k.inv_tau_mem);
        ws.last_spike[j] = ws.spikes.len() as u32;
        ws.spikes.push(Spike {
            time: t,
            neuron: j as u32,
            i_syn: i,
            slot: 0,
        });
        if any_refractory {
            ws.wake_current.push(f64::NAN);
        }
        if ws.spikes.len() >= ws.max_spikes {
            let (pop, neuron) = self.locate(j).unwrap_or((0, j));
            return Err(LifError::SpikeLimit {
                population: self.populations[pop].name.clone(),
                neuron,
                time: t,
                count: ws.spikes.len(),
            });
        }
        ws.x_v[j] = 0.0;
        ws.x_i[j] = i;
        ws.version[j] = ws.version[j].wrapping_add(1);
        if pc.t_ref > 0.0 {
            let until = t + pc.t_ref;
            ws.ref_until[j] = until;
            if until < self.t_end {
                let version = ws.version[j];
                ws.queue.push(Pending {
                    time: until,
                    neuron: j as u32,
                    version,
                    wake: true,
                });
            }
        } else {
            schedule(ws, &pc, j, t, 0.0, i, self.t_end);
        }
        for k in 0..ws.out_of[p].len() {
            let proj = &self.projections[ws.out_of[p][k] as usize];
            self.deliver(ws, proj, j - ws.offsets[p], t);
        }
        Ok(())
    }

    /// End of neuron `j`'s refractory period at `t`: its current is recorded, the membrane is
    /// released from 0, and its next crossing scheduled.
    fn wake(&self, ws: &mut NetworkWorkspace, j: usize, t: f64) {
        let p = ws.pop_of[j] as usize;
        let pc = ws.consts[p];
        let clock = ws.clocks.at(&ws.consts, p, t);
        let d = ws.mark[j].decay_to(&pc, &clock);
        let i = d.syn * ws.x_i[j];
        ws.mark[j] = Mark::forward(&clock);
        ws.x_v[j] = 0.0;
        ws.x_i[j] = i;
        ws.ref_until[j] = f64::NEG_INFINITY;
        ws.wake_current[ws.last_spike[j] as usize] = i;
        ws.version[j] = ws.version[j].wrapping_add(1);
        schedule(ws, &pc, j, t, 0.0, i, self.t_end);
    }

    pub(crate) fn non_finite(
        &self,
        _ws: &NetworkWorkspace,
        what: &'static str,
        j: usize,
        time: f64,
    ) -> LifError {
        let (pop, neuron) = self.locate(j).unwrap_or((0, j));
        LifError::NonFiniteIn {
            what,
            population: self.populations[pop].name.clone(),
            neuron,
            time,
        }
    }
}

/// Queues neuron `j`'s next threshold crossing from `(v, i)` at `t`, if it has one before `t_end`.
#[inline]
fn schedule(
    ws: &mut NetworkWorkspace,
    pc: &PopConsts,
    j: usize,
    t: f64,
    v: f64,
    i: f64,
    t_end: f64,
) {
    let k = &pc.k;
    if v < k.threshold && (!(i > k.threshold) || k.max_upper_bound(v, i) < pc.thr_bound) {
        return;
    }
    let len = t_end - t;
    if let Some(tau) = k.first_crossing(v, i, len, &k.decay(len)) {
        let version = ws.version[j];
        ws.queue.push(Pending {
            time: (t + tau).min(t_end),
            neuron: j as u32,
            version,
            wake: false,
        });
    }
}

/// The membrane voltage of neuron `j` at `t` (0 while refractory), without changing its state.
fn voltage_at(ws: &mut NetworkWorkspace, j: usize, t: f64) -> f64 {
    if ws.ref_until[j] > t {
        return 0.0;
    }
    let p = ws.pop_of[j] as usize;
    let clock = ws.clocks.at(&ws.consts, p, t);
    let d = ws.mark[j].decay_to(&ws.consts[p], &clock);
    d.voltage(ws.x_v[j], ws.x_i[j])
}

/// Moves the epoch to `t`, rescaling every neuron's mark.
fn rebase_forward(ws: &mut NetworkWorkspace, t: f64) {
    let shift = t - ws.clocks.epoch;
    for (m, &p) in ws.mark.iter_mut().zip(&ws.pop_of) {
        m.rebase(&ws.consts[p as usize], shift, true);
    }
    ws.clocks.set_epoch(t);
}
