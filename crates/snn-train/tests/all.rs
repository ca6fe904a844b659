//! Every integration test of this package in one test binary: one link and one optimised
//! copy of the generic code the tests instantiate, instead of one per file. Each file of
//! `tests/` is a module here; tests that count allocations need a process of their own and
//! stay separate targets (`Cargo.toml`).

mod batch_step_bits;
mod cli_errors;
mod cli_run;
mod mnist_files;
mod own_data;
mod public_api_no_panics;
mod resume;
mod yinyang_smoke;
