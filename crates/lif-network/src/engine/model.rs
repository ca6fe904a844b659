//! The engine's borrowed view of a network: what the forward and backward passes read, built
//! without copying weights from a [`Network`] (sparse fan-out lists) or from a layered
//! network (`crate::FeedForwardNet`: dense projections in its pre-major layout). Both
//! kinds of network run on the same forward and backward pass through this view.

use super::network::{Network, Source};
use super::params::LifParams;
use crate::LifError;

/// How a population is named in errors (built only when an error is reported).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Name<'a> {
    /// A [`super::Population`]'s name.
    Named(&'a str),
    /// Layer `l` of a layered network: `"layer l"`.
    Layer(usize),
}

impl Name<'_> {
    pub fn to_owned_name(self) -> String {
        match self {
            Name::Named(s) => s.to_owned(),
            Name::Layer(l) => format!("layer {l}"),
        }
    }
}

/// One population as the engine sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pop<'a> {
    pub name: Name<'a>,
    pub size: usize,
    pub params: LifParams,
    pub t_ref: f64,
    pub spiking: bool,
    /// Spiking population whose neurons' membrane maxima are tracked until they first fire.
    pub silent_maxima: bool,
    /// Spiking population read only by its first spikes (time-to-first-spike): each neuron
    /// stops after its first spike, as after an infinite refractory period, so only that one is
    /// recorded. Set only on a population that nothing reads but the loss (a layered network's
    /// output layer, `Observe::first_spike_output`).
    pub first_spike_only: bool,
}

/// The synapses of one projection.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Fan<'a> {
    /// Compressed sparse rows by presynaptic neuron (see [`super::Projection`]).
    Sparse {
        offsets: &'a [u32],
        targets: &'a [u32],
    },
    /// Every pair, weights pre-major `[pre · n_post + post]` (a layer's layout, and the order of
    /// [`super::Projection`]'s synapses): a presynaptic neuron's fan-out is one contiguous row.
    Dense { n_pre: usize, n_post: usize },
}

/// One projection as the engine sees it; `weights` (and gradients) in the layout of `fan`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Proj<'a> {
    pub source: Source,
    pub target: usize,
    pub fan: Fan<'a>,
    pub weights: &'a [f64],
}

/// A validated network, borrowed.
#[derive(Clone, Debug)]
pub(crate) struct Model<'a> {
    pub n_inputs: usize,
    pub pops: Vec<Pop<'a>>,
    pub projs: Vec<Proj<'a>>,
    pub t_end: f64,
}

impl<'a> Model<'a> {
    /// The view of a validated [`Network`].
    pub fn of_network(net: &'a Network) -> Result<Self, LifError> {
        net.validate()?;
        Ok(Self {
            n_inputs: net.n_inputs,
            pops: net
                .populations
                .iter()
                .map(|p| Pop {
                    name: Name::Named(&p.name),
                    size: p.size,
                    params: p.params,
                    t_ref: p.refractory,
                    spiking: p.spiking,
                    silent_maxima: false,
                    first_spike_only: false,
                })
                .collect(),
            projs: net
                .projections
                .iter()
                .map(|p| Proj {
                    source: p.source,
                    target: p.target,
                    fan: Fan::Sparse {
                        offsets: &p.offsets,
                        targets: &p.targets,
                    },
                    weights: &p.weights,
                })
                .collect(),
            t_end: net.t_end,
        })
    }

    /// `(population, neuron in it)` of a global neuron index.
    pub fn locate(&self, global: usize) -> (usize, usize) {
        let mut rest = global;
        for (p, pop) in self.pops.iter().enumerate() {
            if rest < pop.size {
                return (p, rest);
            }
            rest -= pop.size;
        }
        (self.pops.len().saturating_sub(1), rest)
    }

    /// The name of the population of global neuron `j`, and `j`'s index in it.
    pub fn name_of(&self, j: usize) -> (String, usize) {
        let (p, n) = self.locate(j);
        (self.pops[p].name.to_owned_name(), n)
    }

    /// A fingerprint of the structure (sizes, synapse counts, kinds), without allocating: a
    /// backward pass on a workspace filled by another network is refused.
    pub fn fingerprint(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut mix = |x: u64| {
            h ^= x;
            h = h.wrapping_mul(0x0100_0000_01b3);
        };
        mix(self.n_inputs as u64);
        mix(self.t_end.to_bits());
        for p in &self.pops {
            mix(p.size as u64);
            mix(u64::from(p.spiking)
                | (u64::from(p.silent_maxima) << 1)
                | (u64::from(p.first_spike_only) << 2));
            mix(p.t_ref.to_bits());
        }
        for pr in &self.projs {
            mix(pr.weights.len() as u64);
            mix(pr.target as u64);
            mix(match pr.source {
                Source::Input => u64::MAX,
                Source::Population(p) => p as u64,
            });
            mix(u64::from(matches!(pr.fan, Fan::Dense { .. })));
        }
        h
    }
}
