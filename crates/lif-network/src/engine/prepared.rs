//! A network checked and laid out once for many forward passes ([`PreparedNetwork`]), and what
//! the event queue's forward pass derives from the projections alone ([`QueuePlan`]: the sign of
//! each projection and the merged fans), built once there instead of at every pass.
//!
//! A [`PreparedNetwork`] borrows its [`Network`]: while it lives, neither the structure nor a
//! weight can change, so its plan is never stale; changing a weight ends the borrow, and the
//! next [`Network::prepare`] lays the fans out again. [`Network::forward`] builds the plan at
//! every pass (in the workspace's buffers), so a network changed between two passes with the
//! same workspace is always seen as it is.

use super::model::{Fan, Model};
use super::network::{InputSpike, Network, Source};
use super::workspace::{AdjointSample, NetworkCotangents, NetworkWorkspace, NeuronProbe};
use crate::LifError;

/// What the event queue's forward pass needs of the projections beyond the [`Model`]: built by
/// [`QueuePlan::build`] from the model (its structure and weights) alone.
#[derive(Clone, Debug, Default)]
pub(crate) struct QueuePlan {
    /// Per projection: no weight is negative (NaN counts as negative).
    pub excitatory: Vec<bool>,
    /// Per source, the inputs' then each population's: its merged fan (off where not allowed).
    pub merged: Vec<MergedFans>,
    /// Scratch: per source, its projections in order; per population, the global index of its
    /// first neuron.
    sources: Vec<Vec<u32>>,
    first: Vec<u32>,
}

impl QueuePlan {
    /// Builds the plan of `model` in place (buffers kept); `allow_merge: false` leaves every
    /// merged fan off (the comparison test of `forward.rs`).
    #[inline(never)]
    pub fn build(&mut self, model: &Model<'_>, allow_merge: bool) {
        self.excitatory.clear();
        self.excitatory.extend(model.projs.iter().map(|proj| {
            // Branch-free, so that it vectorises; NaN counts as negative.
            proj.weights.iter().fold(true, |all, &w| all & (w >= 0.0))
        }));
        let n_sources = 1 + model.pops.len();
        self.sources.iter_mut().for_each(Vec::clear);
        self.sources.resize_with(n_sources, Vec::new);
        for (k, proj) in model.projs.iter().enumerate() {
            let s = match proj.source {
                Source::Input => 0,
                Source::Population(p) => 1 + p,
            };
            self.sources[s].push(k as u32);
        }
        self.first.clear();
        let mut n = 0;
        for pop in &model.pops {
            self.first.push(n as u32);
            n += pop.size;
        }
        self.merged.resize_with(n_sources, MergedFans::default);
        for s in 0..n_sources {
            let projs = &self.sources[s];
            let n_pre = if s == 0 {
                model.n_inputs
            } else {
                model.pops[s - 1].size
            };
            let m = &mut self.merged[s];
            m.on = false;
            let Some(&first) = projs.first() else {
                continue;
            };
            let (p0, excitatory) = (
                model.projs[first as usize].target,
                self.excitatory[first as usize],
            );
            let c0 = &model.pops[p0];
            let mergeable = allow_merge
                && projs.len() >= 2
                && projs.iter().enumerate().all(|(k, &pj)| {
                    let proj = &model.projs[pj as usize];
                    let c = &model.pops[proj.target];
                    matches!(proj.fan, Fan::Sparse { .. })
                        && c.spiking
                        && !c.silent_maxima
                        && c.params == c0.params
                        && c.t_ref == c0.t_ref
                        && self.excitatory[pj as usize] == excitatory
                        && projs[..k]
                            .iter()
                            .all(|&q| model.projs[q as usize].target != proj.target)
                });
            if !mergeable {
                continue;
            }
            m.on = true;
            m.pop = p0;
            m.excitatory = excitatory;
            // Sized first (every entry is overwritten below, so a kept buffer is not cleared)
            // and filled by slices (the copies vectorise).
            let total = projs
                .iter()
                .map(|&pj| model.projs[pj as usize].weights.len())
                .sum();
            m.offsets.resize(n_pre + 1, 0);
            m.targets.resize(total, 0);
            m.weights.resize(total, 0.0);
            m.offsets[0] = 0;
            let mut end = 0;
            for pre in 0..n_pre {
                for &pj in projs {
                    let proj = &model.projs[pj as usize];
                    if let Fan::Sparse { offsets, targets } = proj.fan {
                        let range = offsets[pre] as usize..offsets[pre + 1] as usize;
                        let base = self.first[proj.target];
                        let to = end..end + range.len();
                        for (g, &t) in m.targets[to.clone()]
                            .iter_mut()
                            .zip(&targets[range.clone()])
                        {
                            *g = base + t;
                        }
                        m.weights[to.clone()].copy_from_slice(&proj.weights[range]);
                        end = to.end;
                    }
                }
                m.offsets[pre + 1] = end as u32;
            }
        }
    }
}

/// The projections of one source (the inputs, or one population) as one fan, for the event
/// queue's deliveries: per presynaptic neuron, the fans of the projections in their order, with
/// global neuron indices. Built when every projection of the source is sparse, of one sign
/// ([`QueuePlan::excitatory`]) and targets a different spiking population (maxima not
/// tracked) with the same parameters and refractory period: their neurons then share the clock
/// and the gate, so one delivery loop serves them all. The queue sees the same operations in the
/// same order as with one loop per projection: the second pass settles the marked targets of
/// the first projection before those of the second, and the first pass of the second touches
/// none of the first's neurons.
#[derive(Clone, Debug, Default)]
pub(crate) struct MergedFans {
    /// Whether this source's deliveries go through the merged fan.
    pub on: bool,
    /// A target population (all have its constants).
    pub pop: usize,
    /// No weight is negative.
    pub excitatory: bool,
    /// Per presynaptic neuron, its range in `targets` and `weights`.
    pub offsets: Vec<u32>,
    /// Global neuron indices.
    pub targets: Vec<u32>,
    pub weights: Vec<f64>,
}

/// A [`Network`] validated and laid out once (the engine's view of it and the event queue's
/// plan: the projections' signs and the merged fans), for many forward and backward passes with
/// different inputs: [`forward`](Self::forward) and [`backward`](Self::backward) give the same
/// bits as [`Network::forward`] and [`Network::backward`] without validating the network and
/// building its fans again. It borrows the network, so the network cannot change while it lives.
///
/// ```
/// use lif_network::engine::{Network, NetworkWorkspace, Population, Projection, Source};
/// use lif_network::{InputSpike, LifParams};
///
/// let mut net = Network::new(1, vec![Population::new("one", 2, LifParams::default())], 30.0);
/// net.projections.push(Projection::sparse(Source::Input, 0, 1, &[(0, 0, 9.0), (0, 1, 9.0)]));
/// let input = [InputSpike { time: 1.0, source: 0 }];
/// let mut ws = NetworkWorkspace::new();
/// let prepared = net.prepare()?;
/// for _ in 0..3 {
///     prepared.forward(&input, &[], &mut ws)?;
///     assert_eq!(ws.spikes().len(), 2);
/// }
/// # Ok::<(), lif_network::LifError>(())
/// ```
#[derive(Clone, Debug)]
pub struct PreparedNetwork<'a> {
    net: &'a Network,
    model: Model<'a>,
    plan: QueuePlan,
}

impl Network {
    /// Validates the network and lays out what every forward pass would derive from it
    /// ([`PreparedNetwork`]).
    pub fn prepare(&self) -> Result<PreparedNetwork<'_>, LifError> {
        let model = Model::of_network(self)?;
        let mut plan = QueuePlan::default();
        plan.build(&model, true);
        Ok(PreparedNetwork {
            net: self,
            model,
            plan,
        })
    }
}

impl PreparedNetwork<'_> {
    /// Which sources' fans are merged (the inputs, then each population).
    #[cfg(test)]
    pub(crate) fn plan_merged(&self) -> Vec<bool> {
        self.plan.merged.iter().map(|m| m.on).collect()
    }

    /// The network.
    pub fn network(&self) -> &Network {
        self.net
    }

    /// [`Network::forward`].
    pub fn forward(
        &self,
        input: &[InputSpike],
        probes: &[NeuronProbe],
        ws: &mut NetworkWorkspace,
    ) -> Result<(), LifError> {
        self.model
            .forward_planned(input, probes, ws, Some(&self.plan))
    }

    /// [`Network::backward`].
    pub fn backward(
        &self,
        ws: &mut NetworkWorkspace,
        cot: &NetworkCotangents,
        grad: &mut [Vec<f64>],
    ) -> Result<(), LifError> {
        self.backward_sampled(ws, cot, grad, &[], &mut Vec::new())
    }

    /// [`Network::backward_sampled`].
    pub fn backward_sampled(
        &self,
        ws: &mut NetworkWorkspace,
        cot: &NetworkCotangents,
        grad: &mut [Vec<f64>],
        times: &[f64],
        samples: &mut Vec<AdjointSample>,
    ) -> Result<(), LifError> {
        self.model.backward(ws, cot, grad, times, samples)
    }
}
