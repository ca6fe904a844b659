//! Guards against a training program that only works on the paper's two datasets: IDX images of
//! another size and class count, and spike events in the Spiking Heidelberg Digits HDF5 layout,
//! must train end to end with input and class counts taken from the files, record the files'
//! SHA-256, refuse to resume on changed data, and warn (with a hint) when the network is silent;
//! `evaluate` must find such files where they moved to, and refuse changed ones unless told.
//! The files are made here, tiny; nothing is downloaded.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use snn_train::config::ExperimentConfig;
use snn_train::events::write_events;
use snn_train::idx::{to_idx_bytes, IdxArray};
use snn_train::report::read_json;
use snn_train::run::{files, RunSummary};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("snn-train-own-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn snn_train(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snn-train"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "status {:?}: {}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `snn-train images` on the four files `[train images, train labels, test images, test
/// labels]`, then `options`.
fn images_run(files: [&str; 4], options: &[&str]) -> Output {
    let [tri, trl, tei, tel] = files;
    let mut args = vec![
        "images",
        "--train-images",
        tri,
        "--train-labels",
        trl,
        "--test-images",
        tei,
        "--test-labels",
        tel,
    ];
    args.extend_from_slice(options);
    snn_train(&args)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `n` images of 3x5 pixels, class `i % 3`: class k has its row k black, the rest white.
fn write_images(dir: &TempDir, prefix: &str, n: usize) -> (PathBuf, PathBuf) {
    write_images_of(dir, prefix, n, |i| i % 3)
}

/// `n` images of 3x5 pixels, image `i` of class `class(i)` (< 3), drawn as in [`write_images`].
fn write_images_of(
    dir: &TempDir,
    prefix: &str,
    n: usize,
    class: impl Fn(usize) -> usize,
) -> (PathBuf, PathBuf) {
    let mut pixels = Vec::new();
    for i in 0..n {
        for row in 0..3 {
            for _ in 0..5 {
                pixels.push(if row == class(i) { 255 } else { 0 });
            }
        }
    }
    let (im, lb) = (
        dir.join(&format!("{prefix}-images")),
        dir.join(&format!("{prefix}-labels")),
    );
    let images = IdxArray {
        dims: vec![n, 3, 5],
        data: pixels,
    };
    let labels = IdxArray {
        dims: vec![n],
        data: (0..n).map(|i| class(i) as u8).collect(),
    };
    std::fs::write(&im, to_idx_bytes(&images)).unwrap();
    std::fs::write(&lb, to_idx_bytes(&labels)).unwrap();
    (im, lb)
}

#[test]
fn idx_images_of_any_size_train_with_sizes_from_the_files_and_checked_data() {
    let dir = TempDir::new("images");
    let (tri, trl) = write_images(&dir, "train", 40);
    let (tei, tel) = write_images(&dir, "test", 9);
    let out = dir.join("run");
    let run = images_run(
        [s(&tri), s(&trl), s(&tei), s(&tel)],
        &[
            "--validation",
            "0.25",
            "--hidden",
            "20",
            "--hidden-mean",
            "0.5",
            "--batch-size",
            "5",
            "--epochs",
            "2",
            "--out",
            s(&out),
        ],
    );
    assert_ok(&run);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("30 training, 10 validation, 9 test"),
        "{stdout}"
    );
    let config: ExperimentConfig = read_json(&out.join(files::CONFIG)).unwrap();
    assert_eq!((config.n_inputs, config.n_classes), (15, 3));
    assert_eq!(config.data_files.len(), 4);
    assert!(config.data_files.iter().all(|f| f.sha256.len() == 64));

    // Changed data: the resumed run refuses it, naming the file.
    write_images(&dir, "train", 41);
    let resumed = snn_train(&["images", "--resume", s(&out), "--epochs", "3", "--quiet"]);
    assert_eq!(resumed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        stderr.contains("SHA-256") && stderr.contains("train-images"),
        "{stderr}"
    );
}

#[test]
fn shd_layout_events_train_and_evaluate() {
    let dir = TempDir::new("events");
    // Class k: spikes on channels 4k..4k+3 at 1-4 ms (times in seconds).
    let example = |k: u32| {
        let times = vec![0.001, 0.002, 0.003, 0.004];
        let units = (4 * k..4 * k + 4).collect();
        (times, units)
    };
    let examples: Vec<_> = (0..24).map(|i| example(i % 3)).collect();
    let labels: Vec<u32> = (0..24).map(|i| i % 3).collect();
    let (train, test, val) = (
        dir.join("train.h5"),
        dir.join("test.h5"),
        dir.join("val.h5"),
    );
    write_events(&train, &examples, &labels).unwrap();
    write_events(&test, &examples[..6], &labels[..6]).unwrap();
    write_events(&val, &examples[..3], &labels[..3]).unwrap();
    let out = dir.join("run");
    let run = snn_train(&[
        "events",
        "--train",
        s(&train),
        "--test",
        s(&test),
        "--validation-file",
        s(&val),
        "--t-max",
        "20",
        "--hidden",
        "16",
        "--hidden-mean",
        "0.6",
        "--epochs",
        "2",
        "--batch-size",
        "6",
        "--out",
        s(&out),
    ]);
    assert_ok(&run);
    let config: ExperimentConfig = read_json(&out.join(files::CONFIG)).unwrap();
    assert_eq!((config.n_inputs, config.n_classes), (12, 3));
    assert_eq!(config.t_end, 40.0);
    let eval = snn_train(&["evaluate", "--weights", s(&out)]);
    assert_ok(&eval);
    let stdout = String::from_utf8_lossy(&eval.stdout);
    assert!(
        stdout.contains("test accuracy") && stdout.contains("(events data)"),
        "{stdout}"
    );
}

#[test]
fn a_silent_network_is_reported_with_the_initial_weight_hint() {
    let dir = TempDir::new("silent");
    let (tri, trl) = write_images(&dir, "train", 30);
    let (tei, tel) = write_images(&dir, "test", 3);
    let run = images_run(
        [s(&tri), s(&trl), s(&tei), s(&tel)],
        &[
            "--validation",
            "6",
            "--hidden",
            "10",
            "--hidden-mean",
            "0",
            "--hidden-std",
            "0",
            "--epochs",
            "1",
            "--batch-size",
            "2",
            "--quiet",
            "--out",
            s(&dir.join("run")),
        ],
    );
    assert_ok(&run);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("warning: no spike") && stderr.contains("--hidden-mean, now 0"),
        "{stderr}"
    );
}

// In a log file (stdout a pipe) a long validation reports its progress as plain lines, one per
// 1024 examples scored, and no terminal control characters.
#[test]
fn progress_in_a_log_file_covers_a_long_validation() {
    let dir = TempDir::new("val-progress");
    let (tri, trl) = write_images(&dir, "train", 1100);
    let (tei, tel) = write_images(&dir, "test", 3);
    let run = images_run(
        [s(&tri), s(&trl), s(&tei), s(&tel)],
        &[
            "--validation",
            "1050",
            "--hidden",
            "5",
            "--epochs",
            "1",
            "--batch-size",
            "10",
            "--out",
            s(&dir.join("run")),
        ],
    );
    assert_ok(&run);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("data: 50 training, 1050 validation, 3 test"),
        "{stdout}"
    );
    assert!(stdout.contains("validation 1024/1050"), "{stdout}");
    assert!(!stdout.contains('\r'), "control characters: {stdout:?}");
}

// A training file sorted by class gives a validation set (its first examples) of one class:
// the run says so, and says nothing when the classes are mixed.
#[test]
fn a_validation_split_lacking_classes_is_reported() {
    let dir = TempDir::new("sorted");
    let (tei, tel) = write_images(&dir, "test", 3);
    let run = |prefix: &str| {
        images_run(
            [
                s(&dir.join(&format!("{prefix}-images"))),
                s(&dir.join(&format!("{prefix}-labels"))),
                s(&tei),
                s(&tel),
            ],
            &[
                "--validation",
                "0.25",
                "--hidden",
                "5",
                "--hidden-mean",
                "0.5",
                "--epochs",
                "1",
                "--quiet",
                "--out",
                s(&dir.join(&format!("run-{prefix}"))),
            ],
        )
    };
    write_images_of(&dir, "sorted", 36, |i| i / 12);
    let sorted = run("sorted");
    assert_ok(&sorted);
    let stderr = String::from_utf8_lossy(&sorted.stderr);
    assert!(
        stderr.contains("holds 1 of the 3 classes") && stderr.contains("sorted by class"),
        "{stderr}"
    );
    write_images(&dir, "mixed", 36);
    let mixed = run("mixed");
    assert_ok(&mixed);
    let stderr = String::from_utf8_lossy(&mixed.stderr);
    assert!(!stderr.contains("classes"), "{stderr}");
}

/// Lower-case hex SHA-256 of a file (computed here, not by the crate).
fn sha256(path: &Path) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(std::fs::read(path).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Moves `files` into `dir`, keeping their names; returns the new paths.
fn move_into(dir: &Path, files: &[&Path]) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    files
        .iter()
        .map(|f| {
            let to = dir.join(f.file_name().unwrap());
            std::fs::rename(f, &to).unwrap();
            to
        })
        .collect()
}

/// Asserts a failure whose one-line error contains every needle.
fn assert_error(o: &Output, needles: &[&str]) {
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
}

// The data of an `images` run moved: `evaluate` takes the training options' names for the new
// places, checks the files against the checksums recorded by the run (a changed file is refused,
// naming both checksums, unless --other-data), and scores what the run scored. Options of
// another kind of data are refused by name.
#[test]
fn evaluate_finds_moved_image_files_and_refuses_changed_ones_unless_told() {
    let dir = TempDir::new("eval-moved-images");
    let (tri, trl) = write_images(&dir, "train", 40);
    let (tei, tel) = write_images(&dir, "test", 9);
    let out = dir.join("run");
    assert_ok(&images_run(
        [s(&tri), s(&trl), s(&tei), s(&tel)],
        &[
            "--validation",
            "0.25",
            "--hidden",
            "20",
            "--hidden-mean",
            "0.5",
            "--batch-size",
            "5",
            "--epochs",
            "2",
            "--quiet",
            "--out",
            s(&out),
        ],
    ));
    let summary: RunSummary = read_json(&out.join(files::SUMMARY)).unwrap();
    let best = summary.best_test.unwrap();
    let moved = move_into(&dir.join("moved"), &[&tri, &trl, &tei, &tel]);
    let [tri, trl, tei, tel] = [&moved[0], &moved[1], &moved[2], &moved[3]];

    // Where the run recorded them, the files are gone.
    let lost = snn_train(&["evaluate", "--weights", s(&out)]);
    assert_error(&lost, &[s(&dir.join("train-images"))]);

    let at = |test_images: &Path, extra: &[&str]| {
        let mut args = vec![
            "evaluate",
            "--weights",
            s(&out),
            "--train-images",
            s(tri),
            "--train-labels",
            s(trl),
            "--test-images",
            s(test_images),
            "--test-labels",
            s(tel),
        ];
        args.extend(extra);
        snn_train(&args)
    };
    let found = at(tei, &[]);
    assert_ok(&found);
    let stdout = String::from_utf8_lossy(&found.stdout);
    let expected = format!(
        "test accuracy {:.2}% ({}/{})",
        100.0 * best.accuracy,
        best.correct,
        best.n
    );
    assert!(
        stdout.contains(&expected) && stdout.contains("(images data)"),
        "{expected:?} not in {stdout}"
    );

    // Other test images of the same layout: refused with both checksums, scored when told.
    let config: ExperimentConfig = read_json(&out.join(files::CONFIG)).unwrap();
    let recorded = config.data_files[2].sha256.clone();
    let (other, _) = write_images_of(&dir, "other", 9, |i| (i + 1) % 3);
    let now = sha256(&other);
    assert_ne!(now, recorded);
    let refused = at(&other, &[]);
    assert_error(&refused, &[&recorded, &now, "--other-data", s(&other)]);
    let scored = at(&other, &["--other-data"]);
    assert_ok(&scored);
    assert!(String::from_utf8_lossy(&scored.stdout).contains("test accuracy"));

    // An events option for an image run names itself and the options that apply.
    let wrong = snn_train(&["evaluate", "--weights", s(&out), "--test", s(tei)]);
    assert_error(&wrong, &["invalid test", "--test-images"]);
}

// The same for an `events` run (SHD layout, with a validation file): `--train`, `--test` and
// `--validation-file` give the new places; a changed file is refused with both checksums.
#[test]
fn evaluate_finds_moved_event_files_and_refuses_changed_ones() {
    let dir = TempDir::new("eval-moved-events");
    let example = |k: u32| (vec![0.001, 0.002, 0.003], (4 * k..4 * k + 3).collect());
    let examples: Vec<(Vec<f64>, Vec<u32>)> = (0..18).map(|i| example(i % 3)).collect();
    let labels: Vec<u32> = (0..18).map(|i| i % 3).collect();
    let (train, test, val) = (
        dir.join("train.h5"),
        dir.join("test.h5"),
        dir.join("val.h5"),
    );
    write_events(&train, &examples, &labels).unwrap();
    write_events(&test, &examples[..6], &labels[..6]).unwrap();
    write_events(&val, &examples[..3], &labels[..3]).unwrap();
    let out = dir.join("run");
    assert_ok(&snn_train(&[
        "events",
        "--train",
        s(&train),
        "--test",
        s(&test),
        "--validation-file",
        s(&val),
        "--t-max",
        "20",
        "--hidden",
        "16",
        "--hidden-mean",
        "0.6",
        "--epochs",
        "1",
        "--batch-size",
        "6",
        "--quiet",
        "--out",
        s(&out),
    ]));
    let summary: RunSummary = read_json(&out.join(files::SUMMARY)).unwrap();
    let moved = move_into(&dir.join("moved"), &[&train, &test, &val]);
    let args = |test: &Path| {
        let weights = out.join(files::WEIGHTS);
        let a = [
            "evaluate".to_string(),
            "--weights".into(),
            s(&weights).into(),
            "--train".into(),
            s(&moved[0]).into(),
            "--test".into(),
            s(test).into(),
            "--validation-file".into(),
            s(&moved[2]).into(),
        ];
        Command::new(env!("CARGO_BIN_EXE_snn-train"))
            .args(a)
            .output()
            .unwrap()
    };
    let found = args(&moved[1]);
    assert_ok(&found);
    let stdout = String::from_utf8_lossy(&found.stdout);
    let expected = format!(
        "test accuracy {:.2}% ({}/{})",
        100.0 * summary.test.accuracy,
        summary.test.correct,
        summary.test.n
    );
    assert!(
        stdout.contains(&expected) && stdout.contains("(events data)"),
        "{expected:?} not in {stdout}"
    );

    let other = dir.join("other.h5");
    write_events(&other, &examples[1..7], &labels[1..7]).unwrap();
    let config: ExperimentConfig = read_json(&out.join(files::CONFIG)).unwrap();
    let recorded = config.data_files[1].sha256.clone();
    let now = sha256(&other);
    assert_ne!(now, recorded);
    assert_error(&args(&other), &[&recorded, &now, s(&other)]);
}
