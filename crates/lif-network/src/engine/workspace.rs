//! What a forward pass of a [`Network`](super::Network) keeps for its backward pass, and the
//! reusable per-thread buffers of both passes.
//!
//! The record is `O(spikes)`: per spike its time, global neuron index and synaptic current
//! ([`Spike`], 24 bytes), with or without refractory periods (the current at a release from
//! refractoriness is rebuilt by the backward pass, see `backward.rs`); per neuron its first spike
//! and, for readouts, its membrane maximum. The inputs and probes are kept as given (sorted).

use super::clock::{Clocks, PopConsts};
use super::coeffs::{Adjoint, Neuron, Segment};
use super::network::InputSpike;
use super::prepared::QueuePlan;
use super::queue::EventQueue;
use super::simd::{Isa, VectorWidth};
use super::sweep::SweepScratch;
use super::sweep_back::BackScratch;

/// One spike of a network neuron, as kept for the backward pass (24 bytes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spike {
    /// Spike time (ms).
    pub time: f64,
    /// Global index of the firing neuron (see [`super::Network::neuron_offsets`]).
    pub neuron: u32,
    /// Synaptic current `I_n` of the firing neuron at the spike; `V̇⁻ = (I_n - ϑ)/τ_mem`.
    pub i_syn: f64,
}

/// No spike (in [`NetworkWorkspace::first_spike`]).
pub(crate) const NO_SPIKE: u32 = u32::MAX;

/// A request for the membrane voltage of one neuron at a fixed time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NeuronProbe {
    /// Population index.
    pub population: usize,
    /// Neuron index in the population.
    pub neuron: usize,
    /// Time in `[0, t_end]` (ms). During a refractory period the voltage is the reset value 0;
    /// at a spike time of the probed neuron it is the value after the reset.
    pub time: f64,
}

/// Where the membrane maximum of a readout neuron was attained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeakCause {
    /// Not a readout neuron.
    NotTracked,
    /// The resting value `V = 0` at `t = 0` (or `V` never became positive): independent of the
    /// weights.
    Rest,
    /// An interior stationary point `V̇ = 0` (envelope theorem: no term from its time moving).
    Stationary,
    /// The arrival of an input spike (a kink at a fixed time).
    InputArrival,
    /// The arrival of network spike `k` (index into [`NetworkWorkspace::spikes`]): a kink whose
    /// time moves with the weights, which adds `(∂l/∂max) V̇⁻` to that spike's `∂l/∂t_k`.
    SpikeArrival(usize),
    /// The end of the simulation.
    End,
}

/// The maximum over `[0, t_end]` of a readout neuron's membrane voltage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VoltagePeak {
    /// `max_t V(t)` (`-inf` if not tracked).
    pub value: f64,
    /// Its time (ms).
    pub time: f64,
    /// Where it was attained.
    pub cause: PeakCause,
    /// `V̇` just before it (for a kink at an arrival).
    pub(crate) vdot_minus: f64,
}

impl VoltagePeak {
    pub(crate) const NOT_TRACKED: Self = Self {
        value: f64::NEG_INFINITY,
        time: 0.0,
        cause: PeakCause::NotTracked,
        vdot_minus: 0.0,
    };
    pub(crate) const REST: Self = Self {
        value: 0.0,
        time: 0.0,
        cause: PeakCause::Rest,
        vdot_minus: 0.0,
    };
}

/// Derivatives of a loss with respect to what a forward pass recorded: the input of
/// [`Network::backward`](super::Network::backward).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NetworkCotangents {
    /// `∂l/∂t_k` per spike, aligned with [`NetworkWorkspace::spikes`].
    pub spike_times: Vec<f64>,
    /// `∂l/∂V` per probe, aligned with [`NetworkWorkspace::probe_values`].
    pub probes: Vec<f64>,
    /// `∂l/∂(max_t V_j)` per neuron (global index; used for readout neurons only), aligned with
    /// [`NetworkWorkspace::peaks`].
    pub peaks: Vec<f64>,
}

impl NetworkCotangents {
    /// Zero cotangents shaped for the last forward pass in `ws`.
    pub fn zeros_for(ws: &NetworkWorkspace) -> Self {
        let mut c = Self::default();
        c.reset_for(ws);
        c
    }

    /// Resizes to the last forward pass in `ws` and sets every entry to zero.
    pub fn reset_for(&mut self, ws: &NetworkWorkspace) {
        for (v, n) in [
            (&mut self.spike_times, ws.spikes.len()),
            (&mut self.probes, ws.probe_values.len()),
            (&mut self.peaks, ws.peaks.len()),
        ] {
            v.clear();
            v.resize(n, 0.0);
        }
    }
}

/// The adjoint of every neuron at one time (the generic adjoints: `λ_V = dL/dV`,
/// `λ_I = dL/dI`; the paper's are `-λ_V/τ_mem` and `-λ_I/τ_syn`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdjointSample {
    /// The time (ms).
    pub time: f64,
    /// `λ_V` per neuron (global index).
    pub lambda_v: Vec<f64>,
    /// `λ_I` per neuron (global index).
    pub lambda_i: Vec<f64>,
}

/// Reusable buffers and the record of one sample of a [`Network`](super::Network). Keep one
/// per thread; buffers grow to the largest sample and are then reused.
#[derive(Clone, Debug)]
pub struct NetworkWorkspace {
    /// Limit on the number of spikes of one sample (runaway excitation). Default 1 000 000.
    pub max_spikes: usize,
    /// Whether feed-forward networks may run population by population (`sweep.rs`; default
    /// `true`). `false` makes every pass with this workspace take the event-driven queue, which
    /// gives the same results up to rounding (for comparisons; see `docs/performance.md`).
    pub allow_sweeps: bool,
    /// The widest vector build the population sweeps' per-neuron loops may run in (default
    /// [`VectorWidth::Widest`]: on x86-64 AVX-512F or AVX2 if the CPU has it, detected at run
    /// time). The results are the same bits in every build (for comparisons and tests; see
    /// `engine/simd.rs`).
    pub vectors: VectorWidth,
    /// Fingerprint of the network of the last forward pass (0: none).
    pub(crate) fingerprint: u64,
    pub(crate) inputs: Vec<InputSpike>,
    pub(crate) probes: Vec<NeuronProbe>,
    /// Probe indices sorted by time.
    pub(crate) probe_order: Vec<u32>,
    pub(crate) probe_values: Vec<f64>,
    pub(crate) spikes: Vec<Spike>,
    pub(crate) min_abs_vdot: f64,
    pub(crate) events: usize,
    /// Per neuron: its membrane maximum (readout neurons) or `NOT_TRACKED`.
    pub(crate) peaks: Vec<VoltagePeak>,
    /// Backward scratch: spike-time cotangents plus the kink terms of peaks; observations.
    pub(crate) spike_cot: Vec<f64>,
    pub(crate) observations: Vec<(f64, u32, f64)>,
    pub(crate) pop_of: Vec<u32>,
    /// Per-neuron adjoint of the backward pass (16 bytes each).
    pub(crate) cells: Vec<Adjoint>,
    /// Per-neuron coefficients of the forward pass's event queue (16 bytes each).
    pub(crate) neurons: Vec<Neuron>,
    /// Per neuron in the event queue's forward pass: its queue entry, the time if it is a
    /// check or the end of a refractory period, `-time` (sign bit set, also for time 0) if it
    /// is an exact crossing; if none, `Model::idle`, a time after the end of the simulation.
    pub(crate) pending: Vec<f64>,
    /// Per neuron: the end of its refractory period (`-inf`: not refractory).
    pub(crate) ref_until: Vec<f64>,
    /// Per neuron whose maximum is tracked: the start of its current segment.
    pub(crate) segments: Vec<Segment>,
    /// Per neuron: index of its first spike in `spikes` (`NO_SPIKE`: none).
    pub(crate) first_spike: Vec<u32>,
    pub(crate) queue: EventQueue,
    pub(crate) consts: Vec<PopConsts>,
    pub(crate) clocks: Clocks,
    // Backward scratch.
    pub(crate) spike_offsets: Vec<u32>,
    pub(crate) spike_index: Vec<u32>,
    pub(crate) cursor: Vec<u32>,
    /// Per neuron, between its spike and its release `t_w` in reverse (`backward.rs`):
    /// `λ_V(t_w⁺)/τm`; the sum of `w e^{-(t_w - t_a)/τs}` over the arrivals `a` in between;
    /// and `Es(t_w)` in units of the current epoch (what turns an arrival's `1/Es(t_a)` into
    /// `e^{-(t_w - t_a)/τs}`).
    pub(crate) wake_scale: Vec<f64>,
    pub(crate) wake_sum: Vec<f64>,
    pub(crate) wake_es: Vec<f64>,
    /// Scratch of `rebase_backward`: the releases it takes.
    pub(crate) released: Vec<(u32, f64)>,
    pub(crate) wake_done: Vec<bool>,
    /// Per population: the projections leaving it; and the projections from the inputs.
    pub(crate) out_of: Vec<Vec<u32>>,
    pub(crate) from_inputs: Vec<u32>,
    /// Scratch of the queue's delivery loop: the targets of one fan that passed its gate.
    pub(crate) marked: Vec<u32>,
    /// The event queue's plan of [`crate::engine::Network::forward`] (`prepared.rs`), built at
    /// every pass in these buffers.
    pub(crate) plan: QueuePlan,
    /// Whether the queue may merge fans (default `true`; `false` for the comparison test).
    pub(crate) allow_merge: bool,
    /// Whether small populations may sweep neuron by neuron (`sweep_neuron.rs`; default
    /// `true`; `false` for the comparison test).
    pub(crate) by_neuron: bool,
    pub(crate) offsets: Vec<usize>,
    /// Scratch of the population sweeps (`sweep.rs`).
    pub(crate) sweep: SweepScratch,
    pub(crate) sweep_back: BackScratch,
}

impl Default for NetworkWorkspace {
    fn default() -> Self {
        Self {
            max_spikes: 1_000_000,
            allow_sweeps: true,
            vectors: VectorWidth::Widest,
            fingerprint: 0,
            inputs: Vec::new(),
            probes: Vec::new(),
            probe_order: Vec::new(),
            probe_values: Vec::new(),
            spikes: Vec::new(),
            min_abs_vdot: f64::INFINITY,
            events: 0,
            peaks: Vec::new(),
            spike_cot: Vec::new(),
            observations: Vec::new(),
            pop_of: Vec::new(),
            cells: Vec::new(),
            neurons: Vec::new(),
            pending: Vec::new(),
            ref_until: Vec::new(),
            segments: Vec::new(),
            first_spike: Vec::new(),
            queue: EventQueue::default(),
            consts: Vec::new(),
            clocks: Clocks::default(),
            spike_offsets: Vec::new(),
            spike_index: Vec::new(),
            cursor: Vec::new(),
            wake_scale: Vec::new(),
            wake_sum: Vec::new(),
            wake_es: Vec::new(),
            released: Vec::new(),
            wake_done: Vec::new(),
            out_of: Vec::new(),
            from_inputs: Vec::new(),
            marked: Vec::new(),
            plan: QueuePlan::default(),
            allow_merge: true,
            by_neuron: true,
            offsets: Vec::new(),
            sweep: SweepScratch::default(),
            sweep_back: BackScratch::default(),
        }
    }
}

impl NetworkWorkspace {
    /// An empty workspace.
    pub fn new() -> Self {
        Self::default()
    }

    /// All spikes of the last forward pass in the order they were processed (time order; ties in
    /// queue order), with global neuron indices. Spike-time cotangents are aligned with it.
    pub fn spikes(&self) -> &[Spike] {
        &self.spikes
    }

    /// Index in [`spikes`](Self::spikes) of the first spike of global neuron `j`, if it fired
    /// (`None` also for `j` out of range).
    pub fn first_spike(&self, j: usize) -> Option<usize> {
        self.first_spike
            .get(j)
            .filter(|&&k| k != NO_SPIKE)
            .map(|&k| k as usize)
    }

    /// Indices in [`spikes`](Self::spikes) of the spikes of global neuron `j`, in time order
    /// (a scan of all spikes, for inspection).
    pub fn spikes_of(&self, j: usize) -> impl Iterator<Item = usize> + '_ {
        let first = self.first_spike(j).unwrap_or(self.spikes.len());
        (first..self.spikes.len()).filter(move |&k| self.spikes[k].neuron as usize == j)
    }

    /// Number of neurons of the last forward pass.
    pub fn n_neurons(&self) -> usize {
        self.pop_of.len()
    }

    /// The input spikes of the last forward pass that fell in `[0, t_end]`, sorted by time.
    pub fn inputs(&self) -> &[InputSpike] {
        &self.inputs
    }

    /// The probes of the last forward pass, in the order they were given.
    pub fn probes(&self) -> &[NeuronProbe] {
        &self.probes
    }

    /// Probe voltages, in the order the probes were given.
    pub fn probe_values(&self) -> &[f64] {
        &self.probe_values
    }

    /// Membrane maxima of the last forward pass, one per neuron (global index): tracked for
    /// readout neurons (and, on request, for neurons of a spiking output layer that never
    /// fired), `PeakCause::NotTracked` for the others.
    pub fn peaks(&self) -> &[VoltagePeak] {
        &self.peaks
    }

    /// `min |V̇⁻|` over all spikes, `V̇⁻ = (I - ϑ)/τ_mem` (`+inf` without spikes).
    pub fn min_abs_vdot(&self) -> f64 {
        self.min_abs_vdot
    }

    /// The build of the population sweeps' per-neuron loops that this workspace runs on this
    /// CPU: `"avx512f"`, `"avx2"` or `"baseline"` (see [`vectors`](Self::vectors)).
    pub fn vector_build(&self) -> &'static str {
        Isa::select(self.vectors).name()
    }

    /// Number of synaptic events delivered by the last forward pass (one per synapse a spike or
    /// an input spike crossed).
    pub fn synaptic_events(&self) -> usize {
        self.events
    }

    /// Bytes of the record the backward pass reads, per spike: the [`Spike`]s and, with a
    /// refractory population, the currents at the ends of refractory periods.
    pub fn record_bytes_per_spike(&self) -> usize {
        std::mem::size_of::<Spike>()
    }
}
