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
    /// merged fan off (the comparison test below).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{LifParams, Population, Projection};

    /// Two populations with equal parameters (40 excitatory, 10 inhibitory neurons) and 40
    /// inputs projecting to both, every pair connected with probability 0.3. `unmergeable`:
    /// also a second projection from the inputs to the first population (the same target
    /// twice) and one negative weight among the first population's excitatory ones (mixed
    /// signs), so that neither source may be merged.
    fn two_populations(seed: u64, t_ref: f64, unmergeable: bool) -> (Network, Vec<InputSpike>) {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut uniform = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let params = LifParams {
            tau_mem: 20.0,
            tau_syn: 5.0,
            threshold: 1.0,
        };
        let sizes = [40, 10];
        let pops = vec![
            Population::new("exc", sizes[0], params).with_refractory(t_ref),
            Population::new("inh", sizes[1], params).with_refractory(t_ref),
        ];
        let (n_inputs, t_end) = (40, 300.0);
        let mut net = Network::new(n_inputs, pops, t_end);
        let mut synapses = |n_pre: usize, n_post: usize, w: f64, recurrent: bool| {
            let mut out = Vec::new();
            for pre in 0..n_pre as u32 {
                for post in 0..n_post as u32 {
                    if !(recurrent && pre == post) && uniform() < 0.3 {
                        out.push((pre, post, w * (0.5 + uniform())));
                    }
                }
            }
            out
        };
        for (post, &n_post) in sizes.iter().enumerate() {
            let syn = synapses(n_inputs, n_post, 0.6, false);
            net.projections
                .push(Projection::sparse(Source::Input, post, n_inputs, &syn));
        }
        for (pre, &n_pre) in sizes.iter().enumerate() {
            for (post, &n_post) in sizes.iter().enumerate() {
                let w = if pre == 0 { 0.1 } else { -0.3 };
                let mut syn = synapses(n_pre, n_post, w, pre == post);
                if unmergeable && pre == 0 && post == 1 {
                    syn[0].2 = -0.1;
                }
                net.projections.push(Projection::sparse(
                    Source::Population(pre),
                    post,
                    n_pre,
                    &syn,
                ));
            }
        }
        if unmergeable {
            let syn = synapses(n_inputs, sizes[0], 0.2, false);
            net.projections
                .push(Projection::sparse(Source::Input, 0, n_inputs, &syn));
        }
        let mut input = Vec::new();
        for source in 0..n_inputs as u32 {
            let mut t = 0.0;
            loop {
                t -= 25.0 * (1.0 - uniform()).ln();
                if t >= t_end {
                    break;
                }
                input.push(InputSpike { time: t, source });
            }
        }
        (net, input)
    }

    /// Spikes (neuron, bits of the time and of the current) and the bits of the gradient of
    /// the loss Σ spike times, with merged fans allowed or not; and which sources were merged.
    #[allow(clippy::type_complexity)]
    fn run(
        net: &Network,
        input: &[InputSpike],
        allow_merge: bool,
    ) -> (Vec<(u32, u64, u64)>, Vec<Vec<u64>>, usize, Vec<bool>) {
        let mut ws = NetworkWorkspace::new();
        ws.allow_merge = allow_merge;
        run_in(net, input, &mut ws)
    }

    /// [`run`] in the workspace `ws` (its plan built by `Network::forward`).
    #[allow(clippy::type_complexity)]
    fn run_in(
        net: &Network,
        input: &[InputSpike],
        ws: &mut NetworkWorkspace,
    ) -> (Vec<(u32, u64, u64)>, Vec<Vec<u64>>, usize, Vec<bool>) {
        net.forward(input, &[], ws).unwrap();
        let spikes = ws
            .spikes()
            .iter()
            .map(|s| (s.neuron, s.time.to_bits(), s.i_syn.to_bits()))
            .collect();
        let mut cot = NetworkCotangents::zeros_for(ws);
        cot.spike_times.fill(1.0);
        let mut grad = net.zero_gradient();
        net.backward(ws, &cot, &mut grad).unwrap();
        let grad = grad
            .iter()
            .map(|g| g.iter().map(|x| x.to_bits()).collect())
            .collect();
        let merged = ws.plan.merged.iter().map(|m| m.on).collect();
        (spikes, grad, ws.synaptic_events(), merged)
    }

    /// [`run`] through `Network::prepare` (the plan built once, kept outside the workspace).
    #[allow(clippy::type_complexity)]
    fn run_prepared(
        net: &Network,
        input: &[InputSpike],
    ) -> (Vec<(u32, u64, u64)>, Vec<Vec<u64>>, usize, Vec<bool>) {
        let prepared = net.prepare().unwrap();
        let mut ws = NetworkWorkspace::new();
        // Twice: the second pass reuses the workspace and the plan.
        prepared.forward(input, &[], &mut ws).unwrap();
        prepared.forward(input, &[], &mut ws).unwrap();
        let spikes = ws
            .spikes()
            .iter()
            .map(|s| (s.neuron, s.time.to_bits(), s.i_syn.to_bits()))
            .collect();
        let mut cot = NetworkCotangents::zeros_for(&ws);
        cot.spike_times.fill(1.0);
        let mut grad = net.zero_gradient();
        prepared.backward(&mut ws, &cot, &mut grad).unwrap();
        let grad = grad
            .iter()
            .map(|g| g.iter().map(|x| x.to_bits()).collect())
            .collect();
        let merged = prepared.plan_merged();
        (spikes, grad, ws.synaptic_events(), merged)
    }

    /// Oracle: `Network::forward` and `Network::backward` with a fresh workspace (their plan
    /// built in that pass).
    #[test]
    fn prepared_network_gives_the_bits_of_network_forward_and_backward() {
        for seed in 1..=3 {
            for t_ref in [0.0, 2.0] {
                for unmergeable in [false, true] {
                    let (net, input) = two_populations(seed, t_ref, unmergeable);
                    let case = format!("seed {seed}, t_ref {t_ref}, unmergeable {unmergeable}");
                    let prepared = run_prepared(&net, &input);
                    let fresh = run(&net, &input, true);
                    assert!(fresh.0.len() > 300, "{case}: {} spikes", fresh.0.len());
                    assert_eq!(prepared, fresh, "{case}");
                }
            }
        }
    }

    /// A workspace that ran one network runs the network changed in place (weights scaled, a
    /// weight's sign flipped, a projection added) as a fresh workspace does: nothing of the
    /// first network's fans is kept.
    #[test]
    fn a_reused_workspace_sees_weights_and_projections_changed_in_place() {
        let (mut net, input) = two_populations(4, 2.0, false);
        let mut ws = NetworkWorkspace::new();
        let before = run_in(&net, &input, &mut ws);
        assert_eq!(before.3, [true, true, true]);
        for w in &mut net.projections[0].weights {
            *w *= 1.25;
        }
        let scaled = run_in(&net, &input, &mut ws);
        assert_ne!(scaled.0, before.0, "the scaled weights change the spikes");
        assert_eq!(scaled, run(&net, &input, true), "scaled weights");
        // A negative weight among the excitatory population's: its source is not merged.
        net.projections[2].weights[0] = -0.05;
        let mixed = run_in(&net, &input, &mut ws);
        assert_eq!(mixed.3, [true, false, true]);
        assert_eq!(mixed, run(&net, &input, true), "mixed signs");
        let extra = net.projections[0].clone();
        net.projections.push(extra);
        let added = run_in(&net, &input, &mut ws);
        assert_eq!(added.3, [false, false, true]);
        assert_eq!(added, run(&net, &input, true), "a projection added");
        assert_eq!(
            added,
            run_prepared(&net, &input),
            "prepared after the change"
        );
    }

    /// Oracle: the delivery loop per projection (the path of every network before the merge,
    /// and of every source that cannot be merged).
    #[test]
    fn merged_fans_give_the_same_spikes_and_gradients_to_the_bit() {
        for seed in 1..=3 {
            for t_ref in [0.0, 2.0] {
                for unmergeable in [false, true] {
                    let (net, input) = two_populations(seed, t_ref, unmergeable);
                    let merged = run(&net, &input, true);
                    let single = run(&net, &input, false);
                    let case = format!("seed {seed}, t_ref {t_ref}, unmergeable {unmergeable}");
                    assert!(merged.0.len() > 300, "{case}: {} spikes", merged.0.len());
                    assert_eq!(merged.0, single.0, "{case}: spikes");
                    assert_eq!(merged.1, single.1, "{case}: gradients");
                    assert_eq!(merged.2, single.2, "{case}: synaptic events");
                    // Inputs, excitatory, inhibitory sources.
                    let expected = if unmergeable {
                        [false, false, true]
                    } else {
                        [true, true, true]
                    };
                    assert_eq!(merged.3, expected, "{case}: merged sources");
                    assert_eq!(single.3, [false; 3], "{case}: nothing merged");
                }
            }
        }
    }
}
