//! Guards against lost or mixed runs: "4 epochs" and "2 epochs, then `--resume` for 2 more" must
//! give bit-identical weights; SIGINT (or SIGTERM) during training, or during a scoring (an
//! epoch's validation, the final test scoring), must stop it, write (or keep) a checkpoint, name
//! it, exit 130, and resuming from it must again give the weights of an uninterrupted run; an
//! output directory holding another run is refused unless `--force` or `--resume`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use snn_train::checkpoint::{load_checkpoint, load_weights};
use snn_train::idx::{to_idx_bytes, IdxArray};
use snn_train::report::read_metrics_csv;
use snn_train::run::files;

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("snn-train-resume-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A tiny Yin-Yang run: 30 hidden neurons, 96 training examples in batches of 16.
const TINY: [&str; 14] = [
    "yin-yang",
    "--hidden",
    "30",
    "--train-samples",
    "96",
    "--batch-size",
    "16",
    "--validation-samples",
    "20",
    "--test-samples",
    "20",
    "--threads",
    "2",
    "--quiet",
];

fn snn_train(args: &[&str], extra: &[&str], out: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snn-train"));
    cmd.args(args).args(extra);
    if let Some(out) = out {
        cmd.arg("--out").arg(out);
    }
    cmd.output().expect("the binary runs")
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

fn final_weights(dir: &Path) -> Vec<Vec<f64>> {
    let (model, _, _) = load_weights(&dir.join(files::WEIGHTS)).unwrap();
    model.net.layers.iter().map(|l| l.weights.clone()).collect()
}

/// Resumes the interrupted run in `run` (`epochs_done` epochs in its checkpoint) for two more
/// epochs, trains `reference` uninterrupted to the same total, and asserts the same weights bit
/// for bit.
fn resume_for_two_more_and_compare(run: &Path, reference: &Path, epochs_done: usize) {
    let total = (epochs_done + 2).to_string();
    let run_arg = run.to_str().unwrap();
    assert_ok(&snn_train(
        &[
            "yin-yang", "--resume", run_arg, "--epochs", &total, "--quiet",
        ],
        &[],
        None,
    ));
    assert_ok(&snn_train(&TINY, &["--epochs", &total], Some(reference)));
    assert_eq!(final_weights(run), final_weights(reference));
}

#[test]
fn four_epochs_equal_two_then_two_resumed_bit_for_bit() {
    let (a, b) = (TempDir::new("a"), TempDir::new("b"));
    assert_ok(&snn_train(
        &TINY,
        &["--epochs", "4", "--test-each-epoch"],
        Some(&a.0),
    ));
    assert_ok(&snn_train(
        &TINY,
        &["--epochs", "2", "--test-each-epoch"],
        Some(&b.0),
    ));
    let after_two = final_weights(&b.0);
    let b_arg = b.0.to_str().unwrap();
    let resumed = snn_train(
        &[
            "yin-yang",
            "--resume",
            b_arg,
            "--epochs",
            "4",
            "--threads",
            "1",
            "--quiet",
        ],
        &[],
        None,
    );
    assert_ok(&resumed);
    let (wa, wb) = (final_weights(&a.0), final_weights(&b.0));
    assert_ne!(wb, after_two, "the resumed run did not train");
    assert_eq!(wa, wb);
    let metrics = std::fs::read_to_string(b.0.join(files::METRICS_CSV)).unwrap();
    assert_eq!(metrics.lines().count(), 5, "{metrics}");
    // The resumed run goes on scoring the test set every epoch, as the run it continues.
    let (ma, mb) = (
        read_metrics_csv(&a.0.join(files::METRICS_CSV)).unwrap(),
        read_metrics_csv(&b.0.join(files::METRICS_CSV)).unwrap(),
    );
    assert!(mb.iter().all(|m| m.test_accuracy.is_some()));
    for (x, y) in ma.iter().zip(&mb) {
        assert_eq!(
            (x.train_loss, x.validation_accuracy, x.test_accuracy),
            (y.train_loss, y.validation_accuracy, y.test_accuracy)
        );
    }

    // Other options than the epochs are refused with --resume.
    let refused = snn_train(
        &["yin-yang", "--resume", b_arg, "--lr", "0.1", "--quiet"],
        &[],
        None,
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--lr"));
}

#[test]
fn an_output_directory_with_a_run_is_refused_unless_forced() {
    let dir = TempDir::new("refuse");
    assert_ok(&snn_train(&TINY, &["--epochs", "1"], Some(&dir.0)));
    let again = snn_train(&TINY, &["--epochs", "1", "--seed", "3"], Some(&dir.0));
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("holds another run") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_ok(&snn_train(
        &TINY,
        &["--epochs", "1", "--seed", "3", "--force"],
        Some(&dir.0),
    ));
    let (_, config, _) = load_weights(&dir.0.join(files::WEIGHTS)).unwrap();
    assert_eq!(config.train.seed, 3);
}

/// Starts a long tiny run in `dir`, waits for its first checkpoint, sends `signal`, and returns
/// the exit code and stderr.
fn interrupt(dir: &Path, signal: &str) -> (Option<i32>, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_snn-train"))
        .args(TINY)
        .args(["--epochs", "100000", "--out"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !dir.join(files::CHECKPOINT).exists() {
        assert!(start.elapsed() < Duration::from_secs(120), "no checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn sigterm_also_checkpoints_and_exits_130() {
    let run = TempDir::new("sigterm");
    let (code, stderr) = interrupt(&run.0, "-TERM");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("checkpoint written to"), "{stderr}");
    assert!(load_checkpoint(&run.0.join(files::CHECKPOINT)).is_ok());
}

#[test]
fn sigint_writes_a_checkpoint_and_the_resumed_run_matches_an_uninterrupted_one() {
    let (run, reference) = (TempDir::new("sigint"), TempDir::new("sigint-ref"));
    let (code, stderr) = interrupt(&run.0, "-INT");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("stop requested"), "{stderr}");
    assert!(stderr.contains("checkpoint written to"), "{stderr}");
    assert!(stderr.contains(files::CHECKPOINT), "{stderr}");

    let state = load_checkpoint(&run.0.join(files::CHECKPOINT))
        .unwrap()
        .state;
    resume_for_two_more_and_compare(&run.0, &reference.0, state.epochs_done);
}

// Outside training there is nothing to checkpoint: the first SIGINT stops `evaluate` at once
// with status 130 (it used to be swallowed as a checkpoint request, so that Ctrl-C seemed not to
// work). The network is large (3000 hidden neurons, seconds to score 5000 examples) so that the
// signal, sent once `evaluate` has announced the scoring, arrives long before it could finish.
#[test]
fn evaluate_stops_at_the_first_signal_with_status_130() {
    use std::io::{BufRead, BufReader};
    let run = TempDir::new("eval-sigint");
    assert_ok(&snn_train(
        &[
            "yin-yang",
            "--epochs",
            "1",
            "--hidden",
            "3000",
            "--train-samples",
            "32",
            "--validation-samples",
            "10",
            "--test-samples",
            "10",
            "--quiet",
        ],
        &[],
        Some(&run.0),
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_snn-train"))
        .args(["evaluate", "--split", "train", "--weights"])
        .arg(&run.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("scoring"), "{first:?}");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{rest}");
    assert!(!rest.contains("accuracy"), "evaluate finished: {rest}");
}

// "Killed, resumed": SIGKILL gives the program no chance to write anything, so the run resumes
// from the checkpoint of its last finished epoch (written atomically, never half) and must still
// end with the weights of an uninterrupted run.
#[test]
fn a_killed_run_resumes_from_its_last_checkpoint_bit_for_bit() {
    let (run, reference) = (TempDir::new("sigkill"), TempDir::new("sigkill-ref"));
    let (code, _) = interrupt(&run.0, "-KILL");
    assert_eq!(code, None, "SIGKILL ends the process without a status");
    let state = load_checkpoint(&run.0.join(files::CHECKPOINT))
        .unwrap()
        .state;
    assert_eq!(
        state.batches_done, 0,
        "only epoch-end checkpoints without a signal"
    );
    resume_for_two_more_and_compare(&run.0, &reference.0, state.epochs_done);
    let metrics = read_metrics_csv(&run.0.join(files::METRICS_CSV)).unwrap();
    assert_eq!(metrics.len(), state.epochs_done + 2);
}

/// `n` images of 3x5 pixels in `dir`, class `i % 3`: class k has its row k white, the rest
/// black. Returns the image and label files.
fn write_images(dir: &Path, prefix: &str, n: usize) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let pixels = (0..n)
        .flat_map(|i| (0..15).map(move |p| if p / 5 == i % 3 { 255 } else { 0 }))
        .collect();
    let (images, labels) = (
        dir.join(format!("{prefix}-images")),
        dir.join(format!("{prefix}-labels")),
    );
    let images_idx = IdxArray {
        dims: vec![n, 3, 5],
        data: pixels,
    };
    let labels_idx = IdxArray {
        dims: vec![n],
        data: (0..n).map(|i| (i % 3) as u8).collect(),
    };
    std::fs::write(&images, to_idx_bytes(&images_idx)).unwrap();
    std::fs::write(&labels, to_idx_bytes(&labels_idx)).unwrap();
    (images, labels)
}

/// An image run of 20 training examples (2 minibatches per epoch) whose scoring is long: 200
/// busy hidden neurons (~400 spikes per example) and 4 chunks of 1024 examples to score in the
/// validation set (`long_validation`) or else in the test set. Returns its arguments but `--out`.
fn slow_scoring_run(data: &Path, long_validation: bool, epochs: usize) -> Vec<String> {
    let long = 4 * 1024;
    let (validation, test) = if long_validation {
        (long, 9)
    } else {
        (10, long)
    };
    let (train_images, train_labels) = write_images(data, "train", 20 + validation);
    let (test_images, test_labels) = write_images(data, "test", test);
    let mut args: Vec<String> = vec!["images".into()];
    for (option, path) in [
        ("--train-images", &train_images),
        ("--train-labels", &train_labels),
        ("--test-images", &test_images),
        ("--test-labels", &test_labels),
    ] {
        args.extend([option.to_string(), path.to_str().unwrap().to_string()]);
    }
    let validation = validation.to_string();
    let epochs = epochs.to_string();
    for a in [
        "--validation",
        &validation,
        "--epochs",
        &epochs,
        "--hidden",
        "200",
        "--hidden-mean",
        "3",
        "--batch-size",
        "10",
        "--threads",
        "2",
    ] {
        args.push(a.to_string());
    }
    args
}

/// Runs `args` with `--out dir`, reads its progress lines (stdout a pipe: plain lines) until one
/// starts with `line`, then sends `signal`; returns the exit code and stderr. The scoring that
/// follows `line` takes seconds (3 or 4 more chunks of 1024 examples), the signal milliseconds.
fn interrupt_at(args: &[String], dir: &Path, line: &str, signal: &str) -> (Option<i32>, String) {
    use std::io::{BufRead, BufReader, Read};
    let mut child = Command::new(env!("CARGO_BIN_EXE_snn-train"))
        .args(args)
        .arg("--out")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut next = String::new();
        let read = stdout.read_line(&mut next).unwrap();
        assert!(read > 0, "the run ended before {line:?}: {seen}");
        seen.push_str(&next);
        if next.trim_start().starts_with(line) {
            break;
        }
    }
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    stdout.read_to_string(&mut seen).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), format!("{stderr}\nstdout:\n{seen}"))
}

// Ctrl-C while an epoch's validation set is scored stops the scoring after its current chunk
// (it used to wait for the whole validation): the run exits 130 with its checkpoint, the epoch
// recorded as trained (every minibatch) but not scored; the resumed run scores it again and
// ends with the weights and metrics of an uninterrupted run, bit for bit. The run scores the
// test set every epoch; stopped before its first epoch ended, it has no epoch's metrics to show
// that, and its resumption (without the option) used to drop it: the checkpoint keeps it now.
#[test]
fn a_signal_during_validation_exits_130_and_the_resumed_run_equals_an_uninterrupted_one() {
    let (run, reference, data) = (
        TempDir::new("sig-validation"),
        TempDir::new("sig-validation-ref"),
        TempDir::new("sig-validation-data"),
    );
    let mut args = slow_scoring_run(&data.0, true, 2);
    args.push("--test-each-epoch".into());
    let (code, stderr) = interrupt_at(&args, &run.0, "validation 1024/4096", "-INT");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted while scoring epoch 1")
            && stderr.contains("checkpoint written to")
            && stderr.contains(files::CHECKPOINT),
        "{stderr}"
    );
    assert!(
        !stderr.contains("epoch   1/2"),
        "the validation finished: {stderr}"
    );
    let state = load_checkpoint(&run.0.join(files::CHECKPOINT))
        .unwrap()
        .state;
    assert_eq!((state.epochs_done, state.batches_done), (0, 2));
    assert!(state.history.is_empty() && state.test_each_epoch);
    assert!(!run.0.join(files::WEIGHTS).exists());

    let run_arg = run.0.to_str().unwrap();
    assert_ok(&snn_train(
        &["images", "--resume", run_arg, "--quiet"],
        &[],
        None,
    ));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_ok(&snn_train(&args, &["--quiet"], Some(&reference.0)));
    assert_eq!(final_weights(&run.0), final_weights(&reference.0));
    let (mr, mf) = (
        read_metrics_csv(&run.0.join(files::METRICS_CSV)).unwrap(),
        read_metrics_csv(&reference.0.join(files::METRICS_CSV)).unwrap(),
    );
    assert_eq!(mr.len(), 2);
    assert!(mr.iter().all(|m| m.test_accuracy.is_some()), "{mr:?}");
    for (x, y) in mr.iter().zip(&mf) {
        assert_eq!(
            (
                x.train_loss,
                x.validation_loss,
                x.validation_accuracy,
                x.test_accuracy
            ),
            (
                y.train_loss,
                y.validation_loss,
                y.validation_accuracy,
                y.test_accuracy
            )
        );
    }
}

// Ctrl-C during the test scoring at the end of a run used to be ignored (the program finished
// and exited 0). Now it abandons the scoring, says the weights are complete and where, and exits
// 130; the run keeps every epoch's files, has no summary, and resuming it finishes the scoring.
#[test]
fn a_signal_during_the_final_scoring_exits_130_and_says_the_weights_are_complete() {
    let (run, data) = (TempDir::new("sig-final"), TempDir::new("sig-final-data"));
    let args = slow_scoring_run(&data.0, false, 1);
    let (code, stderr) = interrupt_at(&args, &run.0, "scoring the test set", "-TERM");
    assert_eq!(code, Some(130), "{stderr}");
    let weights = run.0.join(files::WEIGHTS);
    assert!(
        stderr.contains("final test scoring, which was abandoned")
            && stderr.contains("the weights are complete (epoch 1 of 1)")
            && stderr.contains(weights.to_str().unwrap()),
        "{stderr}"
    );
    assert!(
        !stderr.contains("test accuracy"),
        "the scoring finished: {stderr}"
    );
    assert!(weights.is_file() && run.0.join(files::BEST).is_file());
    assert!(!run.0.join(files::SUMMARY).exists());
    assert_eq!(
        load_checkpoint(&run.0.join(files::CHECKPOINT))
            .unwrap()
            .state
            .epochs_done,
        1
    );

    let finished = snn_train(
        &["images", "--resume", run.0.to_str().unwrap(), "--quiet"],
        &[],
        None,
    );
    assert_ok(&finished);
    assert!(String::from_utf8_lossy(&finished.stdout).contains("test accuracy"));
    assert!(run.0.join(files::SUMMARY).is_file());
}
