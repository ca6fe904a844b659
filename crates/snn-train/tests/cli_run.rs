//! End-to-end check of the `snn-train` program: a tiny Yin-Yang run writes every promised file
//! (configuration, per-epoch metrics as CSV and JSON, last and best weights, checkpoint,
//! summary, SVG plot), and `evaluate` on the saved weights reproduces the run's test accuracy
//! and names the file it scored. Guards against weights that are saved or reloaded wrongly and
//! against missing outputs.

use std::path::PathBuf;
use std::process::Command;

use snn_train::report::{read_json, read_metrics_csv};
use snn_train::run::{files, RunSummary};

/// `snn-train yin-yang` on a tiny network and data set: `epochs` epochs, `hidden` neurons,
/// `[training, validation, test]` samples; each test adds its own options.
fn tiny_yin_yang(epochs: u32, hidden: usize, [train, validation, test]: [usize; 3]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snn-train"));
    cmd.arg("yin-yang");
    for (option, value) in [
        ("--epochs", epochs as usize),
        ("--hidden", hidden),
        ("--train-samples", train),
        ("--validation-samples", validation),
        ("--test-samples", test),
    ] {
        cmd.args([option, &value.to_string()]);
    }
    cmd
}

#[test]
fn run_writes_all_outputs_and_evaluate_reproduces_test_accuracy() {
    let out = std::env::temp_dir().join(format!("snn-train-cli-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run = tiny_yin_yang(2, 30, [64, 50, 40])
        .args(["--threads", "2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(stdout.lines().filter(|l| l.starts_with("epoch")).count(), 2);

    for name in files::ALL {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    let metrics = read_metrics_csv(&out.join(files::METRICS_CSV)).unwrap();
    assert_eq!(metrics.len(), 2);
    assert_eq!(metrics[1].epoch, 2);
    let summary: RunSummary = read_json(&out.join(files::SUMMARY)).unwrap();
    assert_eq!(summary.sizes, [64, 50, 40]);
    assert_eq!(summary.test.n, 40);
    assert!(std::fs::read_to_string(out.join(files::PLOT))
        .unwrap()
        .starts_with("<svg"));

    let weights: PathBuf = out.join(files::WEIGHTS);
    let eval = Command::new(env!("CARGO_BIN_EXE_snn-train"))
        .args(["evaluate", "--samples", "40", "--weights"])
        .arg(&weights)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&eval.stdout);
    assert!(eval.status.success(), "{text}");
    assert!(
        text.contains("weights.safetensors (after epoch 2)"),
        "{text}"
    );
    let expected = format!(
        "accuracy {:.2}% ({}/40)",
        100.0 * summary.test.accuracy,
        summary.test.correct
    );
    assert!(text.contains(&expected), "{text:?} lacks {expected:?}");

    // A run directory scores its best-validation weights, and says so.
    let best = summary.best.expect("a best epoch");
    let eval = Command::new(env!("CARGO_BIN_EXE_snn-train"))
        .args(["evaluate", "--samples", "40", "--weights"])
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&eval.stdout);
    assert!(eval.status.success(), "{text}");
    let named = format!("best.safetensors (after epoch {})", best.epoch);
    assert!(text.contains(&named), "{text:?} lacks {named:?}");
    let best_test = summary.best_test.expect("best weights scored");
    let expected = format!("({}/40)", best_test.correct);
    assert!(text.contains(&expected), "{text:?} lacks {expected:?}");
    let _ = std::fs::remove_dir_all(&out);
}

// With stdout a pipe (a log file), progress is plain lines: the data loading, every
// `--log-every` minibatches, and one line per epoch.
#[test]
fn progress_in_a_log_file_is_plain_lines() {
    let out = std::env::temp_dir().join(format!("snn-train-cli-log-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run = tiny_yin_yang(1, 10, [48, 10, 10])
        .args(["--batch-size", "8", "--log-every", "2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}");
    assert!(stdout.contains("loading and encoding the data"), "{stdout}");
    assert!(
        stdout.contains("data: 48 training, 10 validation, 10 test"),
        "{stdout}"
    );
    for batch in ["minibatch 2/6", "minibatch 4/6"] {
        assert!(stdout.contains(batch), "{batch} not in {stdout}");
    }
    assert!(!stdout.contains("minibatch 3/6"), "{stdout}");
    assert!(
        !stdout.contains('\r'),
        "terminal control characters in a log: {stdout:?}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

// `--adam-fixed-bias-correction` reaches the run: it is recorded in `config.json`, it changes
// the trained weights with the default β's, and it changes no bit of them when β1 = β2 = 0,
// where the constant corrections 1 - β and Adam's 1 - βᵗ are both exactly 1 (so the option
// acts only through the bias correction).
#[test]
fn adam_fixed_bias_correction_acts_only_through_the_correction() {
    use snn_train::config::ExperimentConfig;
    use snn_train::store::read_tensors;
    let run = |tag: &str, extra: &[&str]| {
        let out =
            std::env::temp_dir().join(format!("snn-train-cli-adam-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let status = tiny_yin_yang(1, 10, [48, 20, 10])
            .args(["--quiet", "--batch-size", "8", "--threads", "1"])
            .args(extra)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(status.status.success(), "{tag}: {status:?}");
        let config: ExperimentConfig = read_json(&out.join(files::CONFIG)).unwrap();
        let (tensors, _) = read_tensors(&out.join(files::WEIGHTS)).unwrap();
        let _ = std::fs::remove_dir_all(&out);
        let bits: Vec<u64> = tensors
            .into_iter()
            .flat_map(|(_, _, values)| values)
            .map(f64::to_bits)
            .collect();
        (config.train.adam.fixed_bias_correction, bits)
    };
    let flag = ["--adam-fixed-bias-correction"];
    let zero = ["--beta1", "0", "--beta2", "0"];
    let zero_flag = [&zero[..], &flag[..]].concat();
    let (off, adam) = run("adam", &[]);
    let (on, fixed) = run("fixed", &flag);
    assert!(!off && on);
    assert_eq!(adam.len(), fixed.len());
    assert_ne!(adam, fixed, "weights after 6 steps");
    let (_, zero_adam) = run("zero", &zero);
    let (_, zero_fixed) = run("zero-fixed", &zero_flag);
    assert_eq!(zero_adam, zero_fixed);
}

// The weights file is standard safetensors, read here by hand from the format's specification
// as any other tool would (an 8-byte little-endian header length, a JSON header giving each
// tensor's dtype, shape and byte range, then the little-endian data): one F64 tensor
// `layer{l}.weights` of shape [n_out, n_in] per layer, with the values this crate loads, and
// the configuration in the metadata equal to the config.json beside the file.
#[test]
fn weights_file_is_safetensors_by_the_specification_with_config_json_beside_it() {
    use serde_json::{json, Value};
    use snn_train::checkpoint::load_weights;
    let out = std::env::temp_dir().join(format!("snn-train-cli-st-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run = tiny_yin_yang(1, 10, [48, 10, 10])
        .args(["--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let path = out.join(files::WEIGHTS);
    let raw = std::fs::read(&path).unwrap();
    let n = u64::from_le_bytes(raw[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&raw[8..8 + n]).unwrap();
    let data = &raw[8 + n..];

    let beside: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(files::CONFIG)).unwrap()).unwrap();
    let stored: Value =
        serde_json::from_str(header["__metadata__"]["config"].as_str().unwrap()).unwrap();
    assert_eq!(stored, beside);

    let (model, _, _) = load_weights(&path).unwrap();
    // Yin-Yang: 5 inputs, 10 hidden neurons (the command above), 3 classes.
    let shapes = [[10, 5], [3, 10]];
    assert_eq!(header.as_object().unwrap().len(), shapes.len() + 1);
    for (l, shape) in shapes.iter().enumerate() {
        let tensor = &header[format!("layer{l}.weights")];
        assert_eq!(tensor["dtype"], "F64");
        assert_eq!(tensor["shape"], json!(shape));
        let offset = |i: usize| tensor["data_offsets"][i].as_u64().unwrap() as usize;
        let values: Vec<f64> = data[offset(0)..offset(1)]
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(values.len(), shape[0] * shape[1]);
        // The file is post-major `[post * n_in + pre]`; the layer pre-major.
        let layer = &model.net.layers[l];
        let post_major: Vec<f64> = (0..layer.n_out)
            .flat_map(|post| (0..layer.n_in).map(move |pre| layer.weights[layer.index(pre, post)]))
            .collect();
        assert_eq!(values, post_major, "layer {l}");
    }
    let _ = std::fs::remove_dir_all(&out);
}
