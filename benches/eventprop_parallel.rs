//! Placeholder: written by the benchmarks issue.
fn main() {}
