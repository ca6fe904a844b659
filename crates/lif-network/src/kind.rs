//! What a layer's neurons do at the threshold: a leaf module (it imports nothing of the crate),
//! so that the error type can name it without importing the network modules.

/// What a layer's neurons do at the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// Leaky integrate-and-fire neurons (Table 1): spike and reset at the threshold.
    Spiking,
    /// Non-spiking leaky integrators (the paper's MNIST readout): the same flow, no threshold.
    /// Only allowed as the last layer.
    Readout,
}
