//! Training spiking networks with EventProp (Wunderlich & Pehle 2021): the Yin-Yang and MNIST
//! datasets, their latency encodings, Adam, weight initialisation and the training loop behind
//! the `snn-train` program.

pub mod config;
pub mod encoding;
pub mod error;
pub mod evaluate;
pub mod idx;
pub mod init;
pub mod mnist;
pub mod model;
pub mod mt19937;
pub mod optim;
pub mod report;
pub mod train;
pub mod yinyang;

#[cfg(test)]
mod test_util;

pub use error::{Result, TrainError};
