//! The crate's error type: every variant carries the numbers a user needs to act on it. It
//! imports only the leaf module `kind` (no import circle through the network modules).

use crate::kind::LayerKind;

/// Errors of network construction, simulation, losses and gradients.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LifError {
    /// A neuron or simulation parameter is out of range (non-finite, or not positive).
    #[error("invalid parameter `{name}` = {value}: {requirement}")]
    InvalidParameter {
        /// Name of the parameter (e.g. `tau_mem`, `t_end`).
        name: &'static str,
        /// Its value.
        value: f64,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// The network has no layer, or a layer (or the input) has no neuron.
    #[error("layer {layer} has size 0 (layer 0 of the sizes is the input)")]
    EmptyLayer {
        /// Index in `[inputs, layer 0, layer 1, ..]`; 0 is the input, `usize::MAX` if there are no layers.
        layer: usize,
    },
    /// A non-spiking readout layer is followed by another layer (it would never send spikes).
    #[error("readout layer {layer} is not the last of {n_layers} layers")]
    ReadoutNotLast {
        /// Index of the readout layer.
        layer: usize,
        /// Number of layers.
        n_layers: usize,
    },
    /// A weight vector, or another slice, has the wrong length.
    #[error("`{what}` has length {found}, expected {expected}")]
    WrongLength {
        /// Which slice (e.g. "layer 1 weights", "spike-time cotangents of layer 0").
        what: &'static str,
        /// Layer index the slice belongs to (0 when not applicable).
        layer: usize,
        /// Expected length.
        expected: usize,
        /// Actual length.
        found: usize,
    },
    /// An input spike names an input that does not exist.
    #[error("input spike {index} has source {source_index}, but there are only {n_inputs} inputs")]
    InputSourceOutOfRange {
        /// Position of the spike in the input slice.
        index: usize,
        /// Its source.
        source_index: u32,
        /// Number of inputs.
        n_inputs: usize,
    },
    /// An input spike time is negative or not finite.
    #[error("input spike {index} has time {time} (must be finite and >= 0)")]
    InvalidInputTime {
        /// Position of the spike in the input slice.
        index: usize,
        /// Its time (ms).
        time: f64,
    },
    /// A loss names a label outside the output layer.
    #[error("label {label} is out of range for {n_out} output neurons")]
    LabelOutOfRange {
        /// The label.
        label: usize,
        /// Size of the output layer.
        n_out: usize,
    },
    /// A cotangent given to a backward pass is NaN or infinite (the gradient would be too).
    #[error("{what} {index} (layer {layer}) is {value}: cotangents must be finite")]
    NonFiniteCotangent {
        /// Which cotangents (e.g. "spike-time cotangent").
        what: &'static str,
        /// Layer (0 for a population network, whose cotangents are numbered globally).
        layer: usize,
        /// Position in its slice.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A weight matrix too large to index or to allocate.
    #[error("`{what}` of {rows} × {cols} weights is too large to allocate")]
    TooLarge {
        /// Which matrix (e.g. "layer weights").
        what: &'static str,
        /// Rows (postsynaptic neurons).
        rows: usize,
        /// Columns (presynaptic neurons).
        cols: usize,
    },
    /// A loss term names a neuron the network does not have.
    #[error("neuron {neuron} is out of range for a network of {neurons} neurons")]
    NeuronOutOfRange {
        /// The neuron named.
        neuron: usize,
        /// Number of neurons of the network.
        neurons: usize,
    },
    /// The loss does not fit the kind of the output layer.
    #[error("loss `{loss}` needs a {needs:?} output layer")]
    LossNeedsOutputKind {
        /// Name of the loss.
        loss: &'static str,
        /// The kind of output layer it needs.
        needs: LayerKind,
    },
    /// A recurrent weight matrix has a non-zero self-connection (Table 1 requires a zero diagonal).
    #[error("recurrent weight w[{neuron}][{neuron}] = {value} must be 0 (no self-connections)")]
    NonZeroDiagonal {
        /// The neuron.
        neuron: usize,
        /// The diagonal weight.
        value: f64,
    },
    /// A population of a [`crate::engine::Network`] has no neuron, or the network has none.
    #[error("population `{population}` is empty")]
    EmptyPopulation {
        /// Name of the population.
        population: String,
    },
    /// A parameter of a population of a [`crate::engine::Network`] is out of range.
    #[error("population `{population}`: invalid parameter `{name}` = {value}: {requirement}")]
    InvalidPopulationParameter {
        /// Name of the population.
        population: String,
        /// Name of the parameter (`tau_mem`, `tau_syn`, `threshold`, `refractory`).
        name: &'static str,
        /// Its value.
        value: f64,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// A projection of a [`crate::engine::Network`] is malformed.
    #[error("projection {projection} (into `{target}`): {problem}")]
    InvalidProjection {
        /// Index of the projection.
        projection: usize,
        /// Name of its target population (or `#index` if there is no such population).
        target: String,
        /// What is wrong, with the numbers.
        problem: String,
    },
    /// A recurrent projection connects a neuron to itself (Table 1 requires `w_nn = 0`).
    #[error("population `{population}` neuron {neuron} is connected to itself")]
    SelfConnection {
        /// Name of the population.
        population: String,
        /// The neuron.
        neuron: usize,
    },
    /// The spikes of one sample reached the workspace's limit (runaway excitation).
    #[error("{count} spikes by t = {time} ms (limit reached), the last of population `{population}` neuron {neuron}")]
    SpikeLimit {
        /// Population of the last spike.
        population: String,
        /// Neuron (in its population) of the last spike.
        neuron: usize,
        /// Time of the last spike (ms).
        time: f64,
        /// Number of spikes.
        count: usize,
    },
    /// A state, spike time or adjoint of a [`crate::engine::Network`] became NaN or infinite.
    #[error("non-finite {what} in population `{population}` neuron {neuron} at t = {time} ms")]
    NonFiniteIn {
        /// What was not finite.
        what: &'static str,
        /// Name of the population.
        population: String,
        /// Neuron in the population.
        neuron: usize,
        /// Time (ms).
        time: f64,
    },
    /// A spike with `V̇⁻ = 0` in a [`crate::engine::Network`] (the spike time is not
    /// differentiable).
    #[error("grazing spike of population `{population}` neuron {neuron} at t = {time} ms")]
    GrazingSpikeIn {
        /// Name of the population.
        population: String,
        /// Neuron in the population.
        neuron: usize,
        /// Spike time (ms).
        time: f64,
    },
    /// A voltage probe of a [`crate::engine::Network`] names a neuron that does not exist or a
    /// time outside `[0, t_end]`.
    #[error("probe {index} (population {population}, neuron {neuron}, t = {time}) is outside the network or [0, {t_end}]")]
    InvalidNeuronProbe {
        /// Position of the probe.
        index: usize,
        /// Population index of the probe.
        population: usize,
        /// Neuron of the probe.
        neuron: usize,
        /// Time of the probe (ms).
        time: f64,
        /// End of the simulation (ms).
        t_end: f64,
    },
    /// [`Observe::first_spike_output`](crate::eventprop::Observe::first_spike_output) on a
    /// layered network it does not fit.
    #[error("layer {layer} cannot be a first-spike-only output: {reason}")]
    FirstSpikeOnly {
        /// The output layer.
        layer: usize,
        /// Why not.
        reason: &'static str,
    },
    /// `backward` was called without a matching `forward` on this workspace and network.
    #[error("backward needs a forward pass of the same network on this workspace first")]
    NoForwardPass,
}

/// `rows · cols`, or [`LifError::TooLarge`] if it overflows `usize`.
pub(crate) fn weight_count(
    what: &'static str,
    rows: usize,
    cols: usize,
) -> Result<usize, LifError> {
    rows.checked_mul(cols)
        .ok_or(LifError::TooLarge { what, rows, cols })
}

/// A zero `rows × cols` weight matrix, or [`LifError::TooLarge`] if it cannot be allocated.
pub(crate) fn zero_weights(
    what: &'static str,
    rows: usize,
    cols: usize,
) -> Result<Vec<f64>, LifError> {
    let len = weight_count(what, rows, cols)?;
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| LifError::TooLarge { what, rows, cols })?;
    v.resize(len, 0.0);
    Ok(v)
}

/// [`LifError::NonFiniteCotangent`] for the first non-finite entry of `values`.
pub(crate) fn finite_cotangents(
    what: &'static str,
    layer: usize,
    values: &[f64],
) -> Result<(), LifError> {
    // One pass without branches (an `&` of flags, which vectorises: the backward pass checks
    // every neuron's peak cotangent per sample), the failing entry looked for only on failure.
    if values.iter().fold(true, |all, v| all & v.is_finite()) {
        return Ok(());
    }
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(LifError::NonFiniteCotangent {
            what,
            layer,
            index,
            value: values[index],
        }),
    }
}
