//! Every integration test of this package in one test binary: one link and one optimised
//! copy of the generic code the tests instantiate, instead of one per file. Each file of
//! `tests/` is a module here; tests that count allocations need a process of their own and
//! stay separate targets (`Cargo.toml`).

mod common;

mod crossings_between_samples;
mod event_edge_cases;
mod event_location;
mod exact_polynomial_events;
mod failure_modes;
mod hybrid_closed_form;
mod integrator_accuracy;
mod integrator_contract;
mod integrator_ode_solvers;
mod smooth_linear_closed_form;
