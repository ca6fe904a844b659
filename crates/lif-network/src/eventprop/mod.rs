//! EventProp (Wunderlich & Pehle 2021): exact gradients of spiking networks by the adjoint method
//! with jumps at spikes, computed event by event.
//!
//! - `params`: Table 1's parameters (Table 3 defaults).
//! - `closed_form`: the solution between events, the membrane maximum, spike-time root finding.
//! - `network`: layered feed-forward networks; `recurrent`: recurrent networks, a layout over
//!   the event-driven [`crate::engine`].
//! - `forward` / `backward`: the layered forward pass and the adjoint of Table 2 with eq. (2) and
//!   eq. (56), layer by layer, downstream first.
//! - `trajectory`: what the forward pass keeps (`O(spikes)`), the per-thread [`Workspace`], and
//!   [`Cotangents`] for any differentiable loss of spike times, probed voltages and maxima.
//! - `loss`: eq. (3) and eq. (4); `sample`: the one-call API for training.
//!
//! Sign and scale: the adjoints here are those of `docs/maths.md` §"3. The adjoint, derived";
//! `λ_V(paper) = -λ_V/τ_mem`, `λ_I(paper) = -λ_I/τ_syn` (`docs/maths.md` §"10. The LIF network",
//! "Map to the paper"), so eq. (2) reads
//! `dL/dw_ji = Σ_{spikes of i} λ_I,j`.

pub(crate) mod backward;
pub(crate) mod closed_form;
pub(crate) mod forward;
mod loss;
mod network;
pub(crate) mod neuron;
pub(crate) mod params;
mod probes;
mod recurrent;
mod sample;
mod trajectory;

pub use crate::engine::AdjointSample;
pub use loss::Loss;
pub use network::{FeedForwardNet, InputSpike, Layer, LayerKind};
pub use params::LifParams;
pub use recurrent::{RecurrentGradient, RecurrentNet, RecurrentProbe, RecurrentWorkspace};
pub use sample::{SampleResult, SampleScratch, SampleStats};
pub use trajectory::{Cotangents, MaxKind, Observe, Spike, VoltageMax, VoltageProbe, Workspace};
