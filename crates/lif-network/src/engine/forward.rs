//! The forward pass's entry points: [`Network::forward`], the inputs and probes validated and
//! loaded with the per-population constants and the fan-out tables, the pass handed to the
//! population sweeps (`sweep.rs`, feed-forward networks) or to the event queue
//! (`forward_queue.rs`); and the spike record both keep for the backward pass.

use super::clock::PopConsts;
use super::model::Model;
use super::network::{InputSpike, Network, Source};
use super::prepared::QueuePlan;
use super::workspace::{NetworkWorkspace, NeuronProbe, Spike, VoltagePeak, NO_SPIKE};
use crate::LifError;

impl Network {
    /// Simulates one sample on `[0, t_end]`, recording spikes and probe values in `ws`. Input
    /// spikes need not be sorted; spikes later than `t_end` are ignored.
    pub fn forward(
        &self,
        input: &[InputSpike],
        probes: &[NeuronProbe],
        ws: &mut NetworkWorkspace,
    ) -> Result<(), LifError> {
        Model::of_network(self)?.forward(input, probes, ws)
    }
}

impl Model<'_> {
    /// The forward pass of a validated model (see [`Network::forward`]), the event queue's
    /// [`QueuePlan`] built for this pass.
    pub(crate) fn forward(
        &self,
        input: &[InputSpike],
        probes: &[NeuronProbe],
        ws: &mut NetworkWorkspace,
    ) -> Result<(), LifError> {
        self.forward_planned(input, probes, ws, None)
    }

    /// [`forward`](Self::forward) with the event queue's plan built before
    /// (`super::PreparedNetwork`), or, for `None`, built now in the workspace's buffers.
    pub(crate) fn forward_planned(
        &self,
        input: &[InputSpike],
        probes: &[NeuronProbe],
        ws: &mut NetworkWorkspace,
        plan: Option<&QueuePlan>,
    ) -> Result<(), LifError> {
        ws.fingerprint = 0;
        self.load(input, probes, ws)?;
        let n = ws.pop_of.len();
        ws.first_spike.clear();
        ws.first_spike.resize(n, NO_SPIKE);
        ws.spikes.clear();
        ws.min_abs_vdot = f64::INFINITY;
        ws.events = 0;
        ws.peaks.clear();
        for (c, size) in ws
            .consts
            .iter()
            .zip(ws.offsets.windows(2).map(|w| w[1] - w[0]))
        {
            let peak = if c.spiking && !c.silent {
                VoltagePeak::NOT_TRACKED
            } else {
                VoltagePeak::REST
            };
            ws.peaks.extend(std::iter::repeat_n(peak, size));
        }

        // Only a sweeping pass leaves its input events for the backward sweeps.
        ws.sweep.kept_pops = 0;
        if ws.allow_sweeps && self.sweeps() {
            self.sweep_forward(ws)?;
        } else if let Some(plan) = plan {
            self.run_queue(ws, plan)?;
        } else {
            let mut own = std::mem::take(&mut ws.plan);
            own.build(self, ws.allow_merge);
            let run = self.run_queue(ws, &own);
            ws.plan = own;
            run?;
        }
        ws.fingerprint = self.fingerprint();
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
            s.check(index, self.n_inputs)?;
            if s.time <= self.t_end {
                ws.inputs.push(*s);
            }
        }
        if !ws.inputs.windows(2).all(|w| w[0].time <= w[1].time) {
            ws.inputs.sort_by(|a, b| a.time.total_cmp(&b.time));
        }
        for (index, p) in probes.iter().enumerate() {
            let ok = self
                .pops
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
        // The constants (a few logarithms per population) are kept while the populations'
        // parameters stay the same.
        let kept = ws.consts.len() == self.pops.len()
            && ws
                .consts
                .iter()
                .zip(&self.pops)
                .all(|(c, pop)| c.built_from(pop));
        if !kept {
            ws.consts.clear();
            for pop in &self.pops {
                ws.consts.push(PopConsts::new(pop)?);
            }
        }
        ws.offsets.clear();
        ws.pop_of.clear();
        for (p, pop) in self.pops.iter().enumerate() {
            ws.offsets.push(ws.pop_of.len());
            ws.pop_of.extend(std::iter::repeat_n(p as u32, pop.size));
        }
        ws.offsets.push(ws.pop_of.len());
        ws.out_of.iter_mut().for_each(Vec::clear);
        ws.out_of.resize_with(self.pops.len(), Vec::new);
        ws.from_inputs.clear();
        for (k, proj) in self.projs.iter().enumerate() {
            match proj.source {
                Source::Input => ws.from_inputs.push(k as u32),
                Source::Population(p) => ws.out_of[p].push(k as u32),
            }
        }
        Ok(())
    }

    /// Record a spike of neuron `j` at `t` with synaptic current `i_syn` just before it (the
    /// record the backward pass reads), or fail with [`LifError::SpikeLimit`] at the workspace's
    /// limit. Shared by the event queue and the population sweeps.
    pub(crate) fn push_spike(
        &self,
        ws: &mut NetworkWorkspace,
        j: usize,
        t: f64,
        i_syn: f64,
    ) -> Result<(), LifError> {
        ws.spikes.push(Spike {
            time: t,
            neuron: j as u32,
            i_syn,
        });
        if ws.spikes.len() >= ws.max_spikes {
            let (population, neuron) = self.name_of(j);
            return Err(LifError::SpikeLimit {
                population,
                neuron,
                time: t,
                count: ws.spikes.len(),
            });
        }
        Ok(())
    }

    /// The `pending` time of a neuron without queue entry: the next number above `t_end`, so
    /// that `at < pending` also says `at <= t_end`.
    #[inline(always)]
    pub(crate) fn idle(&self) -> f64 {
        f64::from_bits(self.t_end.to_bits() + 1)
    }

    pub(crate) fn non_finite(&self, what: &'static str, j: usize, time: f64) -> LifError {
        let (population, neuron) = self.name_of(j);
        LifError::NonFiniteIn {
            what,
            population,
            neuron,
            time,
        }
    }
}
