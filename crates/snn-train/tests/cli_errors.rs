//! Guards against the `snn-train` program failing badly on bad input: a wrong MNIST path, a
//! corrupt data or weights file, or an out-of-range option must each give exactly one line
//! `error: ...` on stderr and a non-zero exit, never a panic trace or a multi-line dump.

use std::path::{Path, PathBuf};
use std::process::Command;

fn snn_train(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_snn-train"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts a non-zero exit with one stderr line `error: ...` containing every `needle`.
fn assert_one_line_error(args: &[&str], needles: &[&str]) {
    let (code, _stdout, stderr) = snn_train(args);
    assert_ne!(code, 0, "{args:?} succeeded");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{args:?}: stderr is not one line: {stderr:?}"
    );
    assert!(lines[0].starts_with("error: "), "{args:?}: {stderr:?}");
    for needle in needles {
        assert!(
            lines[0].contains(needle),
            "{args:?}: {needle:?} not in {stderr:?}"
        );
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("snn-train-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn missing_mnist_directory_is_one_error_line() {
    assert_one_line_error(
        &["mnist", "--data", "/nonexistent/mnist", "--quiet"],
        &["/nonexistent/mnist"],
    );
}

#[test]
fn mnist_directory_without_files_names_the_missing_file() {
    let dir = TempDir::new("empty");
    assert_one_line_error(
        &["mnist", "--data", dir.arg(), "--quiet"],
        &["train-images-idx3-ubyte"],
    );
}

#[test]
fn corrupt_mnist_file_is_one_error_line() {
    let dir = TempDir::new("corrupt");
    for name in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
        std::fs::write(dir.path().join(name), [0u8; 8]).unwrap();
    }
    // A gzip header followed by garbage, and a raw file with a wrong magic number.
    std::fs::write(
        dir.path().join("train-images-idx3-ubyte.gz"),
        [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5],
    )
    .unwrap();
    std::fs::write(
        dir.path().join("train-labels-idx1-ubyte"),
        [0u8, 0, 8, 3, 0, 0],
    )
    .unwrap();
    assert_one_line_error(&["mnist", "--data", dir.arg(), "--quiet"], &["gzip"]);
    std::fs::remove_file(dir.path().join("train-images-idx3-ubyte.gz")).unwrap();
    std::fs::write(
        dir.path().join("train-images-idx3-ubyte"),
        [0u8, 0, 8, 1, 0, 0, 0, 0],
    )
    .unwrap();
    assert_one_line_error(&["mnist", "--data", dir.arg(), "--quiet"], &["magic"]);
}

#[test]
fn out_of_range_options_are_one_error_line_naming_the_option() {
    for (args, needle) in [
        (vec!["yin-yang", "--batch-size", "0"], "batch-size"),
        (vec!["yin-yang", "--lr", "-1"], "lr"),
        (vec!["yin-yang", "--lr-decay", "0"], "lr-decay"),
        (vec!["yin-yang", "--dropout", "1.5"], "dropout"),
        (vec!["yin-yang", "--hidden", "0"], "hidden"),
        (vec!["yin-yang", "--t-end", "-5"], "t-end"),
        (vec!["yin-yang", "--threads", "0"], "threads"),
        (vec!["yin-yang", "--train-samples", "0"], "train-samples"),
        (vec!["yin-yang", "--hidden-std", "-0.1"], "weight std"),
        (vec!["mnist", "--data", "x", "--tau0", "1"], "tau0"),
        (
            vec![
                "yin-yang",
                "--quiet-bump",
                "5e-3",
                "--quiet-hidden-threshold",
                "1.5",
            ],
            "quiet-hidden-threshold",
        ),
        (vec!["yin-yang", "--quiet-bump", "inf"], "quiet-bump"),
        (
            vec!["yin-yang", "--recurrent", "--quiet-bump", "5e-3"],
            "quiet-bump",
        ),
    ] {
        let mut args = args;
        args.push("--quiet");
        assert_one_line_error(&args, &[needle]);
    }
}

#[test]
fn unparsable_arguments_are_one_error_line() {
    assert_one_line_error(&["yin-yang", "--batch-size", "abc"], &["batch-size"]);
    assert_one_line_error(&["yin-yang", "--no-such-option"], &["no-such-option"]);
    assert_one_line_error(&["fly"], &["fly"]);
    assert_one_line_error(&["evaluate"], &["--weights"]);
}

#[test]
fn missing_or_malformed_weights_file_is_one_error_line() {
    assert_one_line_error(
        &["evaluate", "--weights", "/nonexistent/weights.safetensors"],
        &["/nonexistent/weights.safetensors"],
    );
    let dir = TempDir::new("weights");
    let path = dir.path().join("weights.safetensors");
    // A safetensors header that claims more bytes than the file has, then plain JSON.
    std::fs::write(&path, [200u8, 0, 0, 0, 0, 0, 0, 0, b'{', b'}']).unwrap();
    assert_one_line_error(
        &["evaluate", "--weights", path.to_str().unwrap()],
        &["weights.safetensors"],
    );
    std::fs::write(&path, "{\"format\": \"other\"}").unwrap();
    assert_one_line_error(
        &["evaluate", "--weights", path.to_str().unwrap()],
        &["weights.safetensors"],
    );
    // A directory without a run.
    let empty = TempDir::new("weights-empty");
    assert_one_line_error(&["evaluate", "--weights", empty.arg()], &["no run"]);
}

#[test]
fn help_succeeds_on_stdout() {
    let (code, stdout, _) = snn_train(&["--help"]);
    assert_eq!(code, 0);
    for task in ["yin-yang", "mnist", "images", "events", "evaluate"] {
        assert!(stdout.contains(task), "{task} not in {stdout}");
    }
    let (code, stdout, _) = snn_train(&["yin-yang", "--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("--batch-size") && stdout.contains("--train-samples"));
}

// Each task's help lists its own options and none of the others'.
#[test]
fn task_help_lists_only_the_options_of_that_task() {
    let help = |task: &str| snn_train(&[task, "--help"]).1;
    let yin_yang = help("yin-yang");
    for own in ["--tau0", "--silent-remedy", "--t-bias", "--resume"] {
        assert!(yin_yang.contains(own), "yin-yang lacks {own}");
    }
    for foreign in ["--data", "--validation <", "--time-scale", "--train-images"] {
        assert!(!yin_yang.contains(foreign), "yin-yang lists {foreign}");
    }
    let mnist = help("mnist");
    assert!(mnist.contains("--data") && mnist.contains("--validation <"));
    for foreign in ["--tau0", "--silent-remedy", "--t-bias", "--time-scale"] {
        assert!(!mnist.contains(foreign), "mnist lists {foreign}");
    }
    let events = help("events");
    assert!(events.contains("--time-scale") && events.contains("--validation-file"));
    assert!(!events.contains("--tau0") && !events.contains("--train-images"));
    let images = help("images");
    assert!(images.contains("--train-images") && images.contains("--validation-labels"));
    assert!(!images.contains("--tau0") && !images.contains("--time-scale"));
}

// `--resume` on a run of another kind of data names both kinds and the command that continues
// the run (it said "invalid resume = DIR: holds a run on another kind of data").
#[test]
fn resuming_a_run_on_other_data_names_the_command_that_continues_it() {
    let dir = TempDir::new("other-task");
    snn_train::report::write_json(
        &dir.path().join(snn_train::run::files::CONFIG),
        &snn_train::config::ExperimentConfig::events(),
    )
    .unwrap();
    let continue_with = format!("continue it with: snn-train events --resume {}", dir.arg());
    assert_one_line_error(
        &["images", "--resume", dir.arg()],
        &[
            "holds a run on events data, not images data",
            &continue_with,
        ],
    );
}
