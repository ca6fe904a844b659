//! The crate README (the crate's rustdoc) shows `src/model.rs` in full as the template for a
//! user's model, and compiles it as a doctest; this guards against the copy drifting from the file.

#[test]
fn readme_contains_the_model_file_verbatim() {
    let readme = include_str!("../README.md");
    let model = include_str!("../src/model.rs");
    assert!(
        readme.contains(&format!("```rust\n{model}```")),
        "README's model block differs from src/model.rs"
    );
}
