//! The same network and inputs on the generic path: [`LifNetwork`] from the EventProp network
//! types, and the flat generic gradient mapped back to their weight layouts.
//!
//! A layered network is Table 1 with a block-triangular `W` (`docs/maths.md` §"10. The LIF network"): neuron `j` of layer `l` is
//! network neuron `layer_offsets(net)[l] + j`, layer 0 receives the inputs, and layer `l + 1`
//! receives the spikes of layer `l`. With the parameter order of [`LifNetwork`] (input synapses,
//! then recurrent ones, both row-major by target) the flat parameter vector is the
//! concatenation of the layers' weights in post-major order (`[post * n_in + pre]`), each the
//! transpose of the layer's pre-major [`crate::Layer::weights`].

use std::collections::HashMap;

use super::{LifNetwork, Presynaptic};
use crate::engine::{Network, Source};
use crate::eventprop::{transpose, RecurrentGradient};
use crate::{FeedForwardNet, InputSpike, LayerKind, LifError, RecurrentNet};

/// Network index of neuron 0 of every layer, and the total number of neurons as the last entry.
pub fn layer_offsets(net: &FeedForwardNet) -> Vec<usize> {
    let mut offsets = Vec::with_capacity(net.layers.len() + 1);
    let mut total = 0;
    for layer in &net.layers {
        offsets.push(total);
        total += layer.n_out;
    }
    offsets.push(total);
    offsets
}

impl LifNetwork {
    /// The layered network `net` with inputs `input`, and its weights as the parameter vector
    /// (the layers' weights concatenated, each post-major `[post * n_in + pre]`, the transpose
    /// of its pre-major layout). Readout layers become neurons without threshold.
    /// Simulate it on `[0, net.t_end]`.
    pub fn from_feed_forward(
        net: &FeedForwardNet,
        input: &[InputSpike],
    ) -> Result<(Self, Vec<f64>), LifError> {
        net.validate()?;
        let offsets = layer_offsets(net);
        let layer_of = |n: usize| offsets.partition_point(|&o| o <= n) - 1;
        let spiking = (0..offsets[net.layers.len()])
            .map(|n| net.layers[layer_of(n)].kind == LayerKind::Spiking)
            .collect();
        let model = Self::new(
            net.params,
            spiking,
            net.n_inputs,
            input,
            |src, target| match src {
                Presynaptic::Input(_) => layer_of(target) == 0,
                Presynaptic::Neuron(s) => layer_of(target) == layer_of(s) + 1,
            },
        )?;
        let p: Vec<f64> = net
            .layers
            .iter()
            .flat_map(|l| transpose(&l.weights, l.n_in, l.n_out))
            .collect();
        debug_assert_eq!(p.len(), model.synapses().len());
        Ok((model, p))
    }

    /// The recurrent network `net` with inputs `input`, and its weights as the parameter vector:
    /// the input weights `[post * n_inputs + input]`, then `W` row-major without its diagonal.
    /// Simulate it on `[0, net.t_end]`.
    pub fn from_recurrent(
        net: &RecurrentNet,
        input: &[InputSpike],
    ) -> Result<(Self, Vec<f64>), LifError> {
        net.validate()?;
        let model = Self::all_to_all(net.params, net.n, net.n_inputs, input)?;
        let mut p = net.input_weights.clone();
        for post in 0..net.n {
            for pre in (0..net.n).filter(|&pre| pre != post) {
                p.push(net.weights[post * net.n + pre]);
            }
        }
        debug_assert_eq!(p.len(), model.synapses().len());
        Ok((model, p))
    }
}

impl LifNetwork {
    /// The engine network `net` (all populations with the same [`crate::LifParams`]; refractory
    /// periods per population) with inputs `input`: the model, its parameter vector, and for each
    /// parameter the `(projection, synapse)` of `net` it is. Global neuron indices are the
    /// engine's. Fails on populations with different parameters or two synapses between the same
    /// pair of neurons. Simulate it on `[0, net.t_end]`.
    #[allow(clippy::type_complexity)]
    pub fn from_network(
        net: &Network,
        input: &[InputSpike],
    ) -> Result<(Self, Vec<f64>, Vec<(usize, usize)>), LifError> {
        net.validate()?;
        let params = net.populations[0].params;
        if let Some(pop) = net.populations.iter().find(|p| p.params != params) {
            return Err(LifError::InvalidProjection {
                projection: 0,
                target: pop.name.clone(),
                problem: String::from(
                    "the generic model needs the same LifParams in every population",
                ),
            });
        }
        let offsets = net.neuron_offsets();
        let mut where_: HashMap<(Presynaptic, usize), (usize, usize)> = HashMap::new();
        for (k, proj) in net.projections.iter().enumerate() {
            let post0 = offsets[proj.target];
            for pre in 0..proj.n_pre() {
                let source = match proj.source {
                    Source::Input => Presynaptic::Input(pre),
                    Source::Population(p) => Presynaptic::Neuron(offsets[p] + pre),
                };
                for s in proj.fan_out(pre) {
                    let target = post0 + proj.targets[s] as usize;
                    if where_.insert((source, target), (k, s)).is_some() {
                        return Err(LifError::InvalidProjection {
                            projection: k,
                            target: net.populations[proj.target].name.clone(),
                            problem: format!("two synapses {source:?} -> neuron {target}"),
                        });
                    }
                }
            }
        }
        let n = net.n_neurons();
        let model = Self::new(params, vec![true; n], net.n_inputs, input, |src, target| {
            where_.contains_key(&(src, target))
        })?;
        let mut t_ref = vec![0.0; n];
        for (p, pop) in net.populations.iter().enumerate() {
            t_ref[offsets[p]..offsets[p + 1]].fill(pop.refractory);
        }
        let model = model.with_refractory(t_ref)?;
        let map: Vec<(usize, usize)> = model
            .synapses()
            .iter()
            .map(|syn| where_[&(syn.source, syn.target)])
            .collect();
        let p = map
            .iter()
            .map(|&(k, s)| net.projections[k].weights[s])
            .collect();
        Ok((model, p, map))
    }
}

fn check_len(what: &'static str, expected: usize, found: usize) -> Result<(), LifError> {
    if expected == found {
        Ok(())
    } else {
        Err(LifError::WrongLength {
            what,
            layer: 0,
            expected,
            found,
        })
    }
}

/// A flat gradient of [`LifNetwork::from_feed_forward`]'s parameters, split into the shapes of
/// `net`'s layer weights and transposed to their pre-major layout (that of
/// [`crate::SampleResult::gradient`]).
pub fn layer_gradient(net: &FeedForwardNet, flat: &[f64]) -> Result<Vec<Vec<f64>>, LifError> {
    let total = net.layers.iter().map(|l| l.weights.len()).sum();
    check_len("flat gradient", total, flat.len())?;
    let mut rest = flat;
    Ok(net
        .layers
        .iter()
        .map(|l| {
            let (head, tail) = rest.split_at(l.weights.len());
            rest = tail;
            transpose(head, l.n_out, l.n_in)
        })
        .collect())
}

/// Sets `net`'s layer weights from a flat parameter vector of [`LifNetwork::from_feed_forward`]
/// (e.g. a perturbed one, for finite differences).
pub fn set_layer_weights(net: &mut FeedForwardNet, flat: &[f64]) -> Result<(), LifError> {
    let weights = layer_gradient(net, flat)?;
    for (layer, w) in net.layers.iter_mut().zip(weights) {
        layer.weights = w;
    }
    Ok(())
}

/// A flat gradient of [`LifNetwork::from_recurrent`]'s parameters in the layout of
/// [`RecurrentGradient`] (the diagonal of `dL/dW` is 0).
pub fn recurrent_gradient(net: &RecurrentNet, flat: &[f64]) -> Result<RecurrentGradient, LifError> {
    let (n, n_in) = (net.n, net.n_inputs);
    check_len("flat gradient", n * n_in + n * (n - 1), flat.len())?;
    let (input, recurrent) = flat.split_at(n * n_in);
    let mut weights = vec![0.0; n * n];
    let mut it = recurrent.iter();
    for post in 0..n {
        for pre in (0..n).filter(|&pre| pre != post) {
            weights[post * n + pre] = *it.next().unwrap_or(&0.0);
        }
    }
    Ok(RecurrentGradient {
        weights,
        input_weights: input.to_vec(),
    })
}
