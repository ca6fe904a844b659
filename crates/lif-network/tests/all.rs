//! Every integration test of this package in one test binary: one link and one optimised
//! copy of the generic code the tests instantiate, instead of one per file. Each file of
//! `tests/` is a module here; tests that count allocations need a process of their own and
//! stay separate targets (`Cargo.toml`).

mod generic_common;
mod support;

mod engine_long_simulations;
mod eventprop_equal_time_constants;
mod eventprop_errors;
mod eventprop_fig2_two_neurons;
mod eventprop_gradients_match_finite_differences;
mod eventprop_losses;
mod eventprop_no_missed_crossings;
mod eventprop_vs_generic;
mod generic_fast_paths;
mod generic_gradients;
mod generic_model;
mod network_errors;
mod network_layered;
mod network_long_refractory;
mod network_sparse_recurrent;
mod public_api_no_panics;
mod sweeps_wide_vectors;
