//! Every Rust snippet of `docs/writing-a-model.md` is quoted verbatim from a file that compiles and
//! runs (the thermostat example, its model and its test, and a bouncing-ball test). Guards against the walk-through drifting
//! from the code: a snippet edited in the chapter, or the code changed without the chapter, fails
//! here, naming the snippet.

use std::path::Path;

const CHAPTER: &str = "docs/writing-a-model.md";
const SOURCES: [&str; 4] = [
    "examples/thermostat/model.rs",
    "examples/thermostat/main.rs",
    "tests/thermostat_gradients.rs",
    "crates/bouncing-ball/tests/repeated_gradients_allocate_nothing.rs",
];

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of every fenced ```` ```rust ```` block, in order.
fn rust_snippets(markdown: &str) -> Vec<Vec<&str>> {
    let mut snippets = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        match current.as_mut() {
            None if line.trim() == "```rust" => current = Some(Vec::new()),
            None => {}
            Some(_) if line.trim() == "```" => snippets.extend(current.take()),
            Some(lines) => lines.push(line),
        }
    }
    assert!(current.is_none(), "unterminated ```rust block");
    snippets
}

/// Whether `snippet` occurs as consecutive, identical lines of `source`.
fn quotes(source: &str, snippet: &[&str]) -> bool {
    let lines: Vec<&str> = source.lines().collect();
    !snippet.is_empty() && lines.windows(snippet.len()).any(|w| w == snippet)
}

#[test]
fn every_rust_snippet_of_the_chapter_is_quoted_verbatim_from_a_source() {
    let chapter = read(CHAPTER);
    let sources: Vec<String> = SOURCES.iter().map(|s| read(s)).collect();
    let snippets = rust_snippets(&chapter);
    // The chapter quotes the model, the loss, the calls, the checks and the errors.
    assert!(snippets.len() >= 15, "only {} snippets", snippets.len());
    for (i, snippet) in snippets.iter().enumerate() {
        assert!(
            sources.iter().any(|s| quotes(s, snippet)),
            "snippet {i} of {CHAPTER} is in none of {SOURCES:?}:\n{}",
            snippet.join("\n")
        );
    }
}

#[test]
fn an_edited_snippet_is_not_taken_for_a_quote() {
    let source = read(SOURCES[0]);
    let chapter = read(CHAPTER);
    let snippet = rust_snippets(&chapter)
        .into_iter()
        .find(|s| s.len() > 3 && quotes(&source, s))
        .expect("a multi-line snippet from the model file");
    assert!(quotes(&source, &snippet));
    let mut edited = snippet.clone();
    edited[1] = "    // a line that is not in the source";
    assert!(!quotes(&source, &edited));
    assert!(!quotes(&source, &snippet[..0]));
}
