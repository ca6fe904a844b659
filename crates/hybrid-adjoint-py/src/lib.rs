//! Python bindings of hybrid-adjoint (PyO3, NumPy): the native module `hybrid_adjoint._native`
//! behind the Python package `hybrid_adjoint` (`python/hybrid_adjoint`), which is the documented
//! API (`docs/python.md`).
//!
//! - `network`: layered LIF networks, batched forward passes, the paper's losses with their
//!   gradients, and the vector-Jacobian product of spike times and voltage maxima;
//! - `general`: general networks (populations, dense or sparse projections, recurrent ones,
//!   refractory periods), forward passes and the vector-Jacobian product; `projections`: their
//!   weights from NumPy and back; `outputs`: forward records and cotangents of both kinds;
//! - `training`: the `snn-train` trainer (configurations, data, resumable runs with a callback);
//! - `ball`: the bouncing ball and the gradient check kit;
//! - `batch`: batch gradients summed in sample order, per-sample buffers reused;
//! - `spikes`: input spike trains from NumPy, checked; `errors`: Rust errors as Python
//!   exceptions, panics caught.
//!
//! Every call that simulates releases the GIL and runs samples in parallel on rayon's pool.

mod ball;
mod batch;
mod errors;
mod general;
mod network;
mod outputs;
mod projections;
mod spikes;
mod training;

use pyo3::prelude::*;

/// The native part of the `hybrid_adjoint` Python package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<network::PyFeedForward>()?;
    m.add_class::<general::PyNetwork>()?;
    m.add_function(wrap_pyfunction!(ball::ball_simulate, m)?)?;
    m.add_function(wrap_pyfunction!(ball::ball_gradient, m)?)?;
    m.add_function(wrap_pyfunction!(ball::ball_check_gradients, m)?)?;
    m.add_function(wrap_pyfunction!(training::default_config, m)?)?;
    m.add_function(wrap_pyfunction!(training::read_run_config, m)?)?;
    m.add_function(wrap_pyfunction!(training::mnist_data_config, m)?)?;
    m.add_function(wrap_pyfunction!(training::load_data, m)?)?;
    m.add_function(wrap_pyfunction!(training::train, m)?)?;
    m.add_function(wrap_pyfunction!(training::write_events, m)?)?;
    m.add_function(wrap_pyfunction!(rayon_threads, m)?)?;
    Ok(())
}

/// Threads of rayon's global pool, which every parallel call uses (set `RAYON_NUM_THREADS`
/// before the first call to choose).
#[pyfunction]
fn rayon_threads() -> usize {
    rayon::current_num_threads()
}
