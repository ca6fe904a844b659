#![doc = include_str!("../README.md")]
//!
//! Layers, from data to results:
//! - data: [`source`] (what a run reads, with checksums), [`yinyang`] (bit-exact published
//!   split, via [`mt19937`]), [`idx`] and [`mnist`] (any IDX images), [`events`] (HDF5 spike
//!   events, Spiking Heidelberg Digits layout);
//! - [`encoding`]: latency codes and input dropout; [`datasets`]: encoded splits;
//! - [`model`]: what training needs from a network ([`gradient`]: the buffers its gradients
//!   are written into); [`snn`]: the `lif-network` classifier,
//!   [`recurrent`] its recurrent hidden population on the event-driven engine;
//! - [`init`], [`optim`] (Adam), [`quiet`] (the paper code's quiet-neuron rule, opt-in), [`train`] (deterministic parallel minibatches), [`trainer`] (the resumable loop), [`evaluate`];
//! - [`config`] (Table 3 defaults), [`run`] (a run directory), [`checkpoint`] and [`store`]
//!   (safetensors, atomic writes), [`report`] (CSV, JSON, SVG).

pub mod checkpoint;
pub mod config;
pub mod datasets;
pub mod encoding;
pub mod error;
pub mod evaluate;
pub mod events;
pub mod gradient;
pub mod idx;
pub mod init;
pub mod mnist;
pub mod model;
pub mod mt19937;
pub mod optim;
pub mod quiet;
pub mod recurrent;
pub mod report;
pub mod run;
pub mod snn;
pub mod source;
pub mod store;
pub mod train;
pub mod trainer;
pub mod yinyang;

#[cfg(test)]
mod test_util;

pub use error::{Result, TrainError};
