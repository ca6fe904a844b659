//! The pieces of the event loop, each owning its scratch (docs/maths.md, "Event semantics"):
//!
//! - [`probe`]: a guard's value and time derivatives along the flow (`ġ`, `g̈`), its noise
//!   `σ_g` and the grazing index;
//! - [`detect`]: which guards cross inside a step, or fire at once at a restart point (on a
//!   polynomial step, guards affine in the state exactly: `detect/exact.rs`);
//! - [`locate`]: the crossing time, bracketed on the dense output and polished on the full-order
//!   step;
//! - [`checks`]: Zeno protection while simulating, and the refusal of gradients through events at
//!   which the loss is not differentiable.
//!
//! [`crate::engine`] strings them together; nothing here allocates once constructed.

pub(crate) mod checks;
pub(crate) mod detect;
pub(crate) mod locate;
pub(crate) mod probe;
