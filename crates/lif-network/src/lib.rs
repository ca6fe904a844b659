#![doc = include_str!("../README.md")]

pub mod engine;
mod error;
pub mod eventprop;
pub mod generic;
mod kind;

pub use error::LifError;
pub use eventprop::{
    FeedForwardNet, InputSpike, Layer, LayerKind, LifParams, Loss, RecurrentNet, SampleResult,
};
