#![doc = include_str!("../README.md")]
//! Umbrella package of the workspace: it owns `examples/`, `tests/` and `benches/`.
