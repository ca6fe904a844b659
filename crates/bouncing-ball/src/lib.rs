#![doc = include_str!("../README.md")]

pub mod closed_form;
mod error;
pub mod fit;
/// The model: the one file a user copies to write their own (shown in full in the crate docs).
mod model;
mod solve;

pub use error::BallError;
pub use fit::{fit_heights, FitIterate, FitOptions, FitReport, HeightLoss};
pub use model::BouncingBall;
pub use solve::{
    adjoint_gradient, check_parameters, forward_gradient, forward_sensitivities, loss_value,
    simulate,
};

/// Index of the initial height `y0` in `p = [y0, v0, e, g]`.
pub const Y0: usize = 0;
/// Index of the initial velocity `v0` in `p`.
pub const V0: usize = 1;
/// Index of the restitution coefficient `e` in `p`.
pub const E: usize = 2;
/// Index of the gravitational acceleration `g` in `p`.
pub const G: usize = 3;
