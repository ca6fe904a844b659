//! Every integration test of this package in one test binary: one link and one optimised
//! copy of the generic code the tests instantiate, instead of one per file. Each file of
//! `tests/` is a module here; tests that count allocations need a process of their own and
//! stay separate targets (`Cargo.toml`).

mod common;

mod closed_form_agreement;
mod closed_form_inputs;
mod fit_recovers_parameters;
mod paper_jump_relations;
mod readme_shows_model;
mod solver_reuse_is_bit_identical;
mod testkit_checks;
mod thrown_from_the_floor;
mod zeno_time;
