//! What the forward pass keeps for the backward pass (Algorithm 1: per spike its time, neuron and
//! synaptic current; per readout neuron its voltage maximum; per probe its voltage), held in a
//! reusable per-thread [`Workspace`], and the loss cotangents the backward pass consumes.

use super::closed_form::Decay;

/// Neurons simulated together in lockstep by the layered forward pass (`neuron::run_spiking_lanes`).
pub(crate) const LANES: usize = 4;

/// One spike of a network neuron: `O(1)` memory per spike.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spike {
    /// Spike time (ms).
    pub time: f64,
    /// Index of the firing neuron in its layer.
    pub neuron: u32,
    /// Synaptic current `I_n` of the firing neuron at the spike; `V̇⁻ = (I_n - ϑ)/τ_mem`.
    pub i_syn: f64,
    /// Inter-event interval of the neuron's input (slot `s` lies between input events `s-1` and `s`).
    pub(crate) slot: u32,
}

impl Spike {
    /// Index of the inter-event interval of the layer's input in which the spike fell: the number
    /// of input events of the layer that arrived before it (ties: a spike at the time of an input
    /// event comes first). A change of slot under a small weight change means the spike crossed
    /// an input event, where its time is only piecewise differentiable (`V̇⁻` jumps).
    pub fn slot(&self) -> usize {
        self.slot as usize
    }
}

/// Where a voltage maximum over `[0, t_end]` was attained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxKind {
    /// No maximum was computed for this neuron (a spiking neuron that fired).
    NotTracked,
    /// The maximum is the resting value `V = 0` before any input (or `V` never became positive):
    /// it does not depend on the weights.
    Initial,
    /// An interior stationary point `V̇ = 0` (envelope theorem: no term from the time moving).
    Stationary,
    /// The arrival of input event `index` of the layer (a kink where `V̇` jumps from `>= 0` to
    /// `<= 0`). If the event is a spike of the layer below, its time moves with the weights and the
    /// gradient has the extra term `V̇⁻ dt/dw` (see `backward.rs`).
    AtEvent(usize),
    /// The end of the simulation, `t_end`.
    End,
}

/// The maximum over time of one neuron's membrane voltage, computed exactly from the closed form.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VoltageMax {
    /// `max_t V(t)` (`-inf` when not tracked).
    pub value: f64,
    /// Time of the maximum (ms).
    pub time: f64,
    /// Where it was attained.
    pub kind: MaxKind,
    /// Slot (inter-event interval) of the maximum.
    pub(crate) slot: u32,
    /// `V̇` just before the maximum (non-zero only for `AtEvent`).
    pub(crate) vdot_minus: f64,
}

impl VoltageMax {
    /// Index of the inter-event interval of the layer's input that holds the maximum.
    pub fn slot(&self) -> usize {
        self.slot as usize
    }

    pub(crate) const NOT_TRACKED: Self = Self {
        value: f64::NEG_INFINITY,
        time: 0.0,
        kind: MaxKind::NotTracked,
        slot: 0,
        vdot_minus: 0.0,
    };
    pub(crate) const INITIAL: Self = Self {
        value: 0.0,
        time: 0.0,
        kind: MaxKind::Initial,
        slot: 0,
        vdot_minus: 0.0,
    };
}

/// A request for the membrane voltage of one neuron at a fixed time (a voltage loss `l_V` with a
/// Dirac delta at `time`, as in the paper's discussion of Algorithm 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VoltageProbe {
    /// Layer index.
    pub layer: usize,
    /// Neuron index in the layer.
    pub neuron: usize,
    /// Time in `[0, t_end]` (ms). At a spike time of the probed neuron the value is ambiguous
    /// (before or after the reset); avoid it.
    pub time: f64,
}

/// What the forward pass should record besides spikes (readout maxima are always recorded).
#[derive(Clone, Copy, Debug, Default)]
pub struct Observe<'a> {
    /// Voltage probes; their values are in [`Workspace::probe_values`], in this order.
    pub probes: &'a [VoltageProbe],
    /// Also compute the voltage maximum of every output neuron of a *spiking* output layer that
    /// never fired (used by the silent-label remedy of the first-spike loss). Default `false`.
    pub silent_output_maxima: bool,
}

/// Per-layer record of one forward pass.
#[derive(Clone, Debug, Default)]
pub(crate) struct LayerTrace {
    /// Times of the layer's input events (sorted).
    pub ev_time: Vec<f64>,
    /// Presynaptic index of each input event.
    pub ev_pre: Vec<u32>,
    /// For layers above the first: index of the event's spike in the layer below's `spikes`.
    pub ev_src: Vec<u32>,
    /// `Decay` of every slot: slot `s` spans `[ev_time[s-1], ev_time[s]]` (from 0, to `t_end`).
    pub decays: Vec<Decay>,
    /// This layer's spikes, grouped by neuron (neuron-major), each group in time order.
    pub spikes: Vec<Spike>,
    /// `spikes[offsets[j]..offsets[j+1]]` are the spikes of neuron `j`.
    pub offsets: Vec<u32>,
    /// Voltage maxima (all neurons of a readout layer; silent output neurons on request).
    pub maxima: Vec<VoltageMax>,
    /// Backward scratch: per spike, `Σ_m w_mn (λ_V - ρ λ_I)_m - τ_mem ∂l/∂t` (numerator of the jump).
    pub jump: Vec<f64>,
}

impl LayerTrace {
    pub(crate) fn slot_start(&self, s: usize) -> f64 {
        if s == 0 {
            0.0
        } else {
            self.ev_time[s - 1]
        }
    }
}

/// Reusable buffers of one sample's forward and backward pass. Keep one per thread; after
/// [`FeedForwardNet::forward`](super::FeedForwardNet::forward) it holds the sample's spikes,
/// maxima and probe values, which [`FeedForwardNet::backward`](super::FeedForwardNet::backward)
/// consumes. Buffers grow to the largest sample seen and are then reused without allocation.
#[derive(Clone, Debug)]
pub struct Workspace {
    /// Maximum number of spikes of one neuron in one sample before the simulation stops with
    /// `TooManySpikes` (runaway excitation). Default 10 000.
    pub max_spikes_per_neuron: usize,
    pub(crate) layers: Vec<LayerTrace>,
    /// Layer sizes `(n_in, n_out)` of the net of the last forward pass (empty: none yet).
    pub(crate) shape: Vec<(usize, usize)>,
    pub(crate) probes: Vec<VoltageProbe>,
    /// Probe indices sorted by `(layer, neuron, time)`.
    pub(crate) probe_order: Vec<u32>,
    pub(crate) probe_values: Vec<f64>,
    pub(crate) probe_slot: Vec<u32>,
    pub(crate) scratch_idx: Vec<u32>,
    /// Per input event: the current neuron's weight (forward) or `(λ_I, λ_V - ρ λ_I)` (backward).
    pub(crate) scratch_w: Vec<f64>,
    pub(crate) scratch_lam: Vec<(f64, f64)>,
    /// Lockstep forward (`forward::run_spiking_lanes`): per-lane spikes and one lane's weights.
    pub(crate) lane_spikes: [Vec<Spike>; LANES],
    pub(crate) scratch_lane_w: Vec<f64>,
    pub(crate) items: Vec<Item>,
    pub(crate) min_abs_vdot: f64,
}

impl Default for Workspace {
    fn default() -> Self {
        Self {
            max_spikes_per_neuron: 10_000,
            layers: Vec::new(),
            shape: Vec::new(),
            probes: Vec::new(),
            probe_order: Vec::new(),
            probe_values: Vec::new(),
            probe_slot: Vec::new(),
            scratch_idx: Vec::new(),
            scratch_w: Vec::new(),
            scratch_lam: Vec::new(),
            lane_spikes: Default::default(),
            scratch_lane_w: Vec::new(),
            items: Vec::new(),
            min_abs_vdot: f64::INFINITY,
        }
    }
}

impl Workspace {
    /// An empty workspace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of layers of the last forward pass.
    pub fn n_layers(&self) -> usize {
        self.shape.len()
    }

    /// Number of neurons of layer `l` of the last forward pass. Panics if `l >= n_layers()`.
    pub fn n_neurons(&self, l: usize) -> usize {
        self.shape[l].1
    }

    /// The record of layer `l` of the last forward pass. Panics if `l >= n_layers()`.
    fn trace(&self, l: usize) -> &LayerTrace {
        &self.layers[..self.shape.len()][l]
    }

    /// All spikes of layer `l`, grouped by neuron (neuron-major), each neuron's in time order.
    /// Spike-time cotangents are indexed like this slice. Panics if `l >= n_layers()`.
    pub fn spikes(&self, l: usize) -> &[Spike] {
        &self.trace(l).spikes
    }

    /// The spikes of neuron `j` of layer `l`, in time order. Panics if out of range.
    pub fn spikes_of(&self, l: usize, j: usize) -> &[Spike] {
        let t = self.trace(l);
        &t.spikes[t.offsets[j] as usize..t.offsets[j + 1] as usize]
    }

    /// Index in [`spikes`](Self::spikes)`(l)` of the first spike of neuron `j`, if it fired.
    /// Panics if out of range.
    pub fn first_spike_index(&self, l: usize, j: usize) -> Option<usize> {
        let t = self.trace(l);
        (t.offsets[j] < t.offsets[j + 1]).then_some(t.offsets[j] as usize)
    }

    /// Time of the first spike of neuron `j` of layer `l`, if it fired. Panics if out of range.
    pub fn first_spike_time(&self, l: usize, j: usize) -> Option<f64> {
        self.first_spike_index(l, j)
            .map(|k| self.layers[l].spikes[k].time)
    }

    /// Voltage maxima of layer `l`: one per neuron for a readout layer, or for a spiking output layer
    /// observed with `silent_output_maxima`; empty otherwise. Panics if `l >= n_layers()`.
    pub fn maxima(&self, l: usize) -> &[VoltageMax] {
        &self.trace(l).maxima
    }

    /// Voltages at the probes of the last forward pass, in the order they were given.
    pub fn probe_values(&self) -> &[f64] {
        &self.probe_values
    }

    /// For each probe, the inter-event interval of its layer's input that holds its time.
    pub fn probe_slots(&self) -> &[u32] {
        &self.probe_slot
    }

    /// Total number of spikes of all layers (input spikes not counted).
    pub fn spike_count(&self) -> usize {
        self.layers[..self.shape.len()]
            .iter()
            .map(|t| t.spikes.len())
            .sum()
    }

    /// `min |V̇⁻|` over all spikes, `V̇⁻ = (I_n - ϑ)/τ_mem` (`+inf` without spikes): how close the
    /// sample is to a critical point where a spike appears or vanishes and gradients diverge.
    pub fn min_abs_vdot(&self) -> f64 {
        self.min_abs_vdot
    }

    /// Number of synaptic events of the last forward pass: `Σ_layers (input events × n_out)`.
    pub fn synaptic_events(&self) -> usize {
        self.shape
            .iter()
            .zip(&self.layers)
            .map(|(&(_, n_out), t)| t.ev_time.len() * n_out)
            .sum()
    }
}

/// Derivatives of a loss with respect to what the forward pass recorded: the input of
/// [`FeedForwardNet::backward`](super::FeedForwardNet::backward).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cotangents {
    /// `∂l/∂t_k` per layer, aligned with [`Workspace::spikes`]`(l)` (any differentiable function of
    /// spike times: the paper's `l_p`).
    pub spike_times: Vec<Vec<f64>>,
    /// `∂l/∂V` per probe, aligned with [`Workspace::probe_values`].
    pub probes: Vec<f64>,
    /// `∂l/∂(max_t V_j)` per layer, aligned with [`Workspace::maxima`]`(l)`.
    pub max_voltage: Vec<Vec<f64>>,
}

impl Cotangents {
    /// Zero cotangents shaped for the last forward pass in `ws`.
    pub fn zeros_for(ws: &Workspace) -> Self {
        let mut c = Self::default();
        c.reset_for(ws);
        c
    }

    /// Resizes to the last forward pass in `ws` and sets every entry to zero (reuses memory).
    pub fn reset_for(&mut self, ws: &Workspace) {
        let n = ws.n_layers();
        self.spike_times.resize_with(n, Vec::new);
        self.max_voltage.resize_with(n, Vec::new);
        for l in 0..n {
            self.spike_times[l].clear();
            self.spike_times[l].resize(ws.layers[l].spikes.len(), 0.0);
            self.max_voltage[l].clear();
            self.max_voltage[l].resize(ws.layers[l].maxima.len(), 0.0);
        }
        self.probes.clear();
        self.probes.resize(ws.probe_values.len(), 0.0);
    }
}

/// One loss-carrying point on a neuron's timeline, walked in reverse.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    pub slot: u32,
    pub time: f64,
    /// Order of insertion, to break ties like the forward pass (spike before probe).
    pub order: u32,
    pub kind: ItemKind,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum ItemKind {
    /// An own spike with its current and the jump numerator from downstream and `∂l/∂t`.
    Spike { i_syn: f64, jump: f64 },
    /// A jump of `λ_V` by `∂l/∂V` (probe or maximum).
    Observe { dl_dv: f64 },
}
