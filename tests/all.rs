//! Every integration test of this package in one test binary: one link and one optimised
//! copy of the generic code the tests instantiate, instead of one per file. Each file of
//! `tests/` is a module here; tests that count allocations need a process of their own and
//! stay separate targets (`Cargo.toml`).

mod random_system;

// The examples' models that the tests check, each loaded once.
#[path = "../examples/grazing_sweep/oscillator.rs"]
mod oscillator;
#[path = "../examples/thermostat/model.rs"]
mod thermostat;

mod ball_gradient_floor;
mod docs_snippets_are_real;
mod grazing_sweep_refuses_or_is_exact;
mod one_primal_trajectory;
mod random_hybrid_systems;
mod thermostat_gradients;
