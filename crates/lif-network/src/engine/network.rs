//! A network as populations of LIF neurons and projections between them (Table 1 with a sparse
//! `W` and per-population parameters), and its validation.

use super::params::positive;
use super::params::LifParams;
use crate::LifError;

/// A fixed input spike: at `time` (ms) the input neuron `source` sends a spike across its weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputSpike {
    /// Spike time in ms; must be finite and `>= 0`. Spikes after the network's `t_end` are ignored.
    pub time: f64,
    /// Index of the input neuron, `< n_inputs`.
    pub source: u32,
}

impl InputSpike {
    /// The one validation of an input spike, shared by every network kind and the generic model:
    /// a finite time `>= 0` and a source `< n_inputs`; `index` is its position in the input.
    #[inline]
    pub fn check(&self, index: usize, n_inputs: usize) -> Result<(), LifError> {
        if !(self.time.is_finite() && self.time >= 0.0) {
            return Err(LifError::InvalidInputTime {
                index,
                time: self.time,
            });
        }
        if self.source as usize >= n_inputs {
            return Err(LifError::InputSourceOutOfRange {
                index,
                source_index: self.source,
                n_inputs,
            });
        }
        Ok(())
    }
}

/// A group of neurons sharing their parameters (Table 1's flow, threshold and reset).
#[derive(Clone, Debug, PartialEq)]
pub struct Population {
    /// Name, used in errors.
    pub name: String,
    /// Number of neurons (> 0).
    pub size: usize,
    /// `τ_mem`, `τ_syn`, `ϑ`.
    pub params: LifParams,
    /// Absolute refractory period `t_ref` in ms (finite, `>= 0`; 0 = none): after a spike the
    /// membrane is clamped at the reset value `V = 0` for `t_ref` while the synaptic current keeps
    /// integrating its input; at `t_ref` after the spike the membrane is released from `V = 0`.
    pub refractory: f64,
    /// `true`: LIF neurons (threshold, spike, reset). `false`: a non-spiking readout (the same
    /// flow without threshold), whose membrane maximum over `[0, t_end]` is recorded
    /// ([`super::NetworkWorkspace::peaks`]).
    pub spiking: bool,
}

impl Population {
    /// A population of `size` neurons without refractory period.
    pub fn new(name: impl Into<String>, size: usize, params: LifParams) -> Self {
        Self {
            name: name.into(),
            size,
            params,
            refractory: 0.0,
            spiking: true,
        }
    }

    /// A non-spiking readout population of `size` leaky integrators (the paper's MNIST output).
    pub fn readout(name: impl Into<String>, size: usize, params: LifParams) -> Self {
        Self {
            spiking: false,
            ..Self::new(name, size, params)
        }
    }

    /// The same population with an absolute refractory period of `t_ref` ms.
    pub fn with_refractory(mut self, t_ref: f64) -> Self {
        self.refractory = t_ref;
        self
    }
}

/// Where the spikes of a projection come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// The network's inputs (fixed [`crate::InputSpike`] trains).
    Input,
    /// Population `p` (index into [`Network::populations`]).
    Population(usize),
}

/// Synapses from every neuron of `source` to neurons of population `target`, stored by
/// presynaptic neuron (compressed sparse rows, "fan-out lists"): the synapses of presynaptic
/// neuron `pre` are `offsets[pre]..offsets[pre + 1]`, synapse `s` goes to neuron `targets[s]` of
/// the target population with weight `weights[s]`. A spike of `pre` adds `weights[s]` to the
/// synaptic current of `targets[s]`. Gradients are aligned with `weights`.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// Presynaptic side.
    pub source: Source,
    /// Postsynaptic population.
    pub target: usize,
    /// `n_pre + 1` offsets into `targets` / `weights`, non-decreasing, from 0 to their length.
    pub offsets: Vec<u32>,
    /// Postsynaptic neuron (index in the target population) of each synapse.
    pub targets: Vec<u32>,
    /// Weight of each synapse.
    pub weights: Vec<f64>,
}

impl Projection {
    /// Every pair `(pre, post)` connected, weights pre-major `weights[pre * n_post + post]` (the
    /// layout of [`crate::Layer::weights`] and of the synapses here). If `source` is the target population itself, the
    /// self-connections `pre == post` are left out (Table 1: `w_nn = 0`), whatever their weight.
    pub fn dense(
        source: Source,
        target: usize,
        n_pre: usize,
        n_post: usize,
        weights: &[f64],
    ) -> Self {
        let recurrent = source == Source::Population(target);
        let mut p = Self {
            source,
            target,
            offsets: Vec::with_capacity(n_pre + 1),
            targets: Vec::with_capacity(n_pre * n_post),
            weights: Vec::with_capacity(n_pre * n_post),
        };
        p.offsets.push(0);
        for pre in 0..n_pre {
            for post in (0..n_post).filter(|&post| !(recurrent && post == pre)) {
                p.targets.push(post as u32);
                p.weights.push(
                    weights
                        .get(pre * n_post + post)
                        .copied()
                        .unwrap_or(f64::NAN),
                );
            }
            p.offsets.push(p.targets.len() as u32);
        }
        p
    }

    /// The synapses `(pre, post, weight)` given in any order, for `n_pre` presynaptic neurons.
    /// Duplicates are kept as separate synapses; [`Network::validate`] checks the indices.
    pub fn sparse(
        source: Source,
        target: usize,
        n_pre: usize,
        synapses: &[(u32, u32, f64)],
    ) -> Self {
        let mut sorted = synapses.to_vec();
        sorted.sort_by_key(|&(pre, post, _)| (pre, post));
        let mut offsets = vec![0u32; n_pre + 1];
        for &(pre, _, _) in &sorted {
            if let Some(o) = offsets.get_mut(pre as usize + 1) {
                *o += 1;
            }
        }
        for k in 0..n_pre {
            offsets[k + 1] += offsets[k];
        }
        let kept = sorted.iter().filter(|s| (s.0 as usize) < n_pre);
        Self {
            source,
            target,
            offsets,
            targets: kept.clone().map(|s| s.1).collect(),
            weights: kept.map(|s| s.2).collect(),
        }
    }

    /// Number of presynaptic neurons.
    pub fn n_pre(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// The synapse range of presynaptic neuron `pre`.
    #[inline]
    pub fn fan_out(&self, pre: usize) -> std::ops::Range<usize> {
        self.offsets[pre] as usize..self.offsets[pre + 1] as usize
    }

    /// Index of the synapse `pre → post`, if there is one (the first of duplicates); `None` also
    /// for a `pre` outside `0..n_pre()`.
    pub fn synapse(&self, pre: usize, post: usize) -> Option<usize> {
        if pre >= self.n_pre() {
            return None;
        }
        self.fan_out(pre)
            .find(|&s| self.targets.get(s).is_some_and(|&t| t as usize == post))
    }
}

/// A spiking network: populations, the projections between them and from the inputs, simulated
/// on `[0, t_end]`. Neuron `j` of population `p` has the global index
/// `neuron_offsets()[p] + j` (the numbering of spikes and adjoint samples).
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// Number of input neurons.
    pub n_inputs: usize,
    /// The populations.
    pub populations: Vec<Population>,
    /// The projections (any number per pair, from inputs or populations, recurrent or not).
    pub projections: Vec<Projection>,
    /// End of the simulated interval (ms).
    pub t_end: f64,
}

impl Network {
    /// A network of `populations` without projections.
    pub fn new(n_inputs: usize, populations: Vec<Population>, t_end: f64) -> Self {
        Self {
            n_inputs,
            populations,
            projections: Vec::new(),
            t_end,
        }
    }

    /// Global index of neuron 0 of every population, and the total number of neurons last.
    pub fn neuron_offsets(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.populations.len() + 1);
        let mut total = 0;
        for p in &self.populations {
            out.push(total);
            total += p.size;
        }
        out.push(total);
        out
    }

    /// Total number of neurons.
    pub fn n_neurons(&self) -> usize {
        self.populations.iter().map(|p| p.size).sum()
    }

    /// `(population, neuron in it)` of a global neuron index (`None` if out of range).
    pub fn locate(&self, global: usize) -> Option<(usize, usize)> {
        let mut rest = global;
        for (p, pop) in self.populations.iter().enumerate() {
            if rest < pop.size {
                return Some((p, rest));
            }
            rest -= pop.size;
        }
        None
    }

    /// A zero gradient, one vector per projection aligned with its weights.
    pub fn zero_gradient(&self) -> Vec<Vec<f64>> {
        self.projections
            .iter()
            .map(|p| vec![0.0; p.weights.len()])
            .collect()
    }

    /// Checks parameters, sizes and every projection's structure (not weight values: a non-finite
    /// weight that a sample uses is reported by the simulation as `NonFinite`).
    pub fn validate(&self) -> Result<(), LifError> {
        positive("t_end", self.t_end)?;
        if self.populations.is_empty() {
            return Err(LifError::EmptyPopulation {
                population: String::from("(none: the network has no population)"),
            });
        }
        for pop in &self.populations {
            let named = |e| match e {
                LifError::InvalidParameter {
                    name,
                    value,
                    requirement,
                } => LifError::InvalidPopulationParameter {
                    population: pop.name.clone(),
                    name,
                    value,
                    requirement,
                },
                other => other,
            };
            pop.params.validate().map_err(named)?;
            if pop.size == 0 {
                return Err(LifError::EmptyPopulation {
                    population: pop.name.clone(),
                });
            }
            if !(pop.refractory.is_finite() && pop.refractory >= 0.0) {
                return Err(named(LifError::InvalidParameter {
                    name: "refractory",
                    value: pop.refractory,
                    requirement: "finite and >= 0",
                }));
            }
        }
        for (index, proj) in self.projections.iter().enumerate() {
            self.validate_projection(index, proj)?;
        }
        Ok(())
    }

    fn validate_projection(&self, index: usize, proj: &Projection) -> Result<(), LifError> {
        let bad = |problem: String| LifError::InvalidProjection {
            projection: index,
            target: self
                .populations
                .get(proj.target)
                .map_or_else(|| format!("#{}", proj.target), |p| p.name.clone()),
            problem,
        };
        let Some(post) = self.populations.get(proj.target) else {
            return Err(bad(format!(
                "target population {} does not exist ({} populations)",
                proj.target,
                self.populations.len()
            )));
        };
        let n_pre = match proj.source {
            Source::Input => self.n_inputs,
            Source::Population(p) => match self.populations.get(p) {
                Some(pop) => pop.size,
                None => return Err(bad(format!("source population {p} does not exist"))),
            },
        };
        if proj.offsets.len() != n_pre + 1 {
            return Err(bad(format!(
                "{} offsets for {n_pre} presynaptic neurons (needs {})",
                proj.offsets.len(),
                n_pre + 1
            )));
        }
        let n_syn = proj.targets.len();
        if proj.weights.len() != n_syn {
            return Err(bad(format!(
                "{} weights for {n_syn} synapses",
                proj.weights.len()
            )));
        }
        if proj.offsets[0] != 0
            || proj.offsets[n_pre] as usize != n_syn
            || proj.offsets.windows(2).any(|w| w[0] > w[1])
        {
            return Err(bad(format!(
                "offsets must rise from 0 to the number of synapses {n_syn}"
            )));
        }
        // The largest target first (a loop without early exit, which vectorises); the position
        // only when there is an error to report.
        let largest = proj.targets.iter().copied().max().unwrap_or(0) as usize;
        if !proj.targets.is_empty() && largest >= post.size {
            let s = proj
                .targets
                .iter()
                .position(|&t| t as usize >= post.size)
                .unwrap_or(0);
            return Err(bad(format!(
                "synapse {s} targets neuron {} of a population of {}",
                proj.targets[s], post.size
            )));
        }
        if proj.source == Source::Population(proj.target) {
            for (pre, w) in proj.offsets.windows(2).enumerate() {
                let fan = &proj.targets[w[0] as usize..w[1] as usize];
                if fan.contains(&(pre as u32)) {
                    return Err(LifError::SelfConnection {
                        population: post.name.clone(),
                        neuron: pre,
                    });
                }
            }
        }
        Ok(())
    }
}
