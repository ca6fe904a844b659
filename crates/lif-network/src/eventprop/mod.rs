//! EventProp (Wunderlich & Pehle 2021): exact gradients of spiking networks by the adjoint method
//! with jumps at spikes, computed event by event — the paper's two network shapes on the one
//! event-driven engine ([`crate::engine`]).
//!
//! - `network`: layered feed-forward networks ([`FeedForwardNet`]): populations `"layer l"` with
//!   dense projections, run on the engine without copying their weights.
//! - `recurrent`: one fully connected recurrent population with input weights ([`RecurrentNet`]),
//!   post-major weight matrices mapped to the engine's projections.
//! - `layout`: a layer's pre-major weights ([`Layer::index`]) and [`transpose`] from and to
//!   post-major `(n_out, n_in)` matrices.
//! - `loss`: eq. (3) and eq. (4) on a layered network's output layer; `sample`: the one-call API
//!   for training.
//!
//! Sign and scale: the adjoints are those of `docs/maths.md` §"3. The adjoint, derived";
//! `λ_V(paper) = -λ_V/τ_mem`, `λ_I(paper) = -λ_I/τ_syn` (`docs/maths.md` §"10. The LIF network",
//! "Map to the paper"), so eq. (2) reads `dL/dw_ji = Σ_{spikes of i} λ_I,j`.

mod layout;
mod loss;
mod network;
mod recurrent;
mod sample;

pub use crate::engine::{
    AdjointSample, InputSpike, LifParams, NetworkCotangents, NetworkWorkspace, NeuronProbe,
    PeakCause, Spike, VectorWidth, VoltagePeak,
};
pub use crate::kind::LayerKind;
pub use layout::{transpose, transpose_into};
pub use loss::Loss;
pub use network::{FeedForwardNet, Layer, Observe};
pub use recurrent::{RecurrentGradient, RecurrentNet, RecurrentProbe, RecurrentWorkspace};
pub use sample::{SampleResult, SampleScratch, SampleStats};
