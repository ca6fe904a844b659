//! One event-driven engine for spiking networks of any shape: populations of LIF neurons
//! (Table 1, per-population parameters and absolute refractory period) connected by projections
//! (sparse fan-out lists; dense ones are the special case with every pair), from the inputs or
//! between populations, feed-forward or recurrent.
//!
//! - `params`: Table 1's parameters ([`LifParams`], Table 3 defaults) and derived constants.
//! - `closed_form`: the solution between events, the membrane maximum, spike-time root finding.
//! - `network`: [`Network`], [`Population`], [`Projection`], [`Source`], [`InputSpike`] and their
//!   validation.
//! - `model`: the borrowed view the passes run on, built from a [`Network`] or from a layered
//!   [`crate::FeedForwardNet`] (dense projections in the layers' own weight layout, no copy).
//! - `prepared`: [`PreparedNetwork`], a network validated and laid out once for many passes,
//!   and the event queue's plan (projection signs, merged fans) it keeps.
//! - `clock`: the lazy per-neuron closed form with exponentials shared per event.
//! - `coeffs`: the forward queue's neuron state, two absolute-time coefficients (a delivery is
//!   two multiply-adds).
//! - `forward`: the forward pass's entry (inputs and probes validated and loaded, the pass handed
//!   to the sweeps or the queue) and the spike record both keep.
//! - `forward_queue`: exact event-driven simulation with a priority queue of next threshold
//!   crossings.
//! - `forward_delivery`: the queue's delivery of a spike through a fan-out list (two passes
//!   behind a branch-free gate, per projection or through a merged fan).
//! - `peak`: the membrane maxima of readout (and silent) neurons, tracked per segment;
//!   `peak_lanes`: a block of readout neurons through their slots side by side, in lanes
//!   (`peak_lanes512`: in AVX-512F lanes).
//! - `sweep`: the forward pass of feed-forward networks population by population, each over its
//!   sorted input events with shared decays (same record; chosen by `Model::sweeps`).
//! - `sweep_neuron`: a small spiking or readout population of the sweeps neuron by neuron
//!   (fewer per-slot costs, same bits).
//! - `sweep_first`: a population read only by its first spikes (a layered network's
//!   time-to-first-spike output): each neuron stops at its first spike.
//! - `sweep_back`: the backward pass of feed-forward networks, population by population in
//!   reverse (when the forward pass sweeps); `arrival_lanes`: a small population's run of
//!   arrival slots there, in lanes (`arrival_lanes512`: in AVX-512F lanes).
//! - `queue`: that queue, an indexed 4-ary heap holding at most one event per neuron.
//! - `backward`: EventProp (Table 2, Algorithm 1) in reverse event order, lazily per neuron.
//! - `workspace`: what the forward pass keeps (24 bytes per spike, refractory or not) and
//!   the reusable buffers; [`NeuronProbe`] and [`AdjointSample`].
//!
//! Populations are spiking (LIF) or non-spiking readouts (their membrane maxima are recorded).
//! Gradients are one vector per projection, aligned with its weights; cotangents
//! ([`NetworkCotangents`]) are one entry per recorded spike (`∂l/∂t_k`), per probe (`∂l/∂V`) and
//! per readout maximum (`∂l/∂max V`).
//!
//! ```
//! use lif_network::engine::{
//!     Network, NetworkCotangents, NetworkWorkspace, Population, Projection, Source,
//! };
//! use lif_network::{InputSpike, LifParams};
//!
//! // Two inputs into a population of 3 with sparse recurrent connections.
//! let mut net = Network::new(2, vec![Population::new("hidden", 3, LifParams::default())], 30.0);
//! net.projections.push(Projection::dense(Source::Input, 0, 2, 3, &[4.0; 6]));
//! net.projections.push(Projection::sparse(Source::Population(0), 0, 3, &[(0, 1, 2.0), (1, 2, 2.0)]));
//! let mut ws = NetworkWorkspace::new();
//! let input = [InputSpike { time: 1.0, source: 0 }, InputSpike { time: 2.0, source: 1 }];
//! net.forward(&input, &[], &mut ws)?;
//! assert!(!ws.spikes().is_empty());
//! let mut cot = NetworkCotangents::zeros_for(&ws);
//! cot.spike_times.fill(1.0); // L = Σ spike times
//! let mut grad = net.zero_gradient();
//! net.backward(&mut ws, &cot, &mut grad)?;
//! assert!(grad[0].iter().all(|&g| g <= 0.0)); // stronger inputs, earlier spikes
//! # Ok::<(), lif_network::LifError>(())
//! ```

mod arrival_lanes;
mod arrival_lanes512;
mod backward;
mod clock;
pub(crate) mod closed_form;
mod coeffs;
mod forward;
mod forward_delivery;
mod forward_queue;
pub(crate) mod model;
mod network;
pub(crate) mod params;
mod peak;
mod peak_lanes;
mod peak_lanes512;
mod prepared;
mod queue;
mod simd;
mod sweep;
mod sweep_back;
mod sweep_first;
mod sweep_neuron;
mod workspace;

pub use network::{InputSpike, Network, Population, Projection, Source};
pub use params::LifParams;
pub use prepared::PreparedNetwork;
pub use simd::VectorWidth;
pub use workspace::{
    AdjointSample, NetworkCotangents, NetworkWorkspace, NeuronProbe, PeakCause, Spike, VoltagePeak,
};
