//! Umbrella package of the hybrid-adjoint workspace: it owns `examples/`, `tests/` and `benches/`.
