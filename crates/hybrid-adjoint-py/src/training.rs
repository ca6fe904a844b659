//! The trainer of `snn-train` for Python: configurations as JSON (the `ExperimentConfig` a run
//! directory's `config.json` holds), the encoded datasets, and whole runs with checkpoints after
//! every epoch, resume, and a Python callback after every epoch that may stop the run (which
//! then writes its checkpoint, as Ctrl-C does; Ctrl-C in Python does the same).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use snn_train::config::ExperimentConfig;
use snn_train::model::Dataset;
use snn_train::run::{run_experiment, OutMode, RunOptions, RunOutcome};
use snn_train::train::{EpochMetrics, Observer};

use crate::errors::{detached, Error, Result};

/// A configuration from JSON.
fn config_from_json(json: &str) -> Result<ExperimentConfig> {
    let c: ExperimentConfig = serde_json::from_str(json)
        .map_err(|e| Error::input(format!("invalid training configuration: {e}")))?;
    c.validate()?;
    Ok(c)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::input(format!("cannot write JSON: {e}")))
}

/// The default configuration of a task as JSON: `"yin_yang"`, `"mnist"` or `"events"` (the
/// paper's Table 3 for the first two).
#[pyfunction]
pub(crate) fn default_config(task: &str) -> PyResult<String> {
    let c = match task {
        "yin_yang" => ExperimentConfig::yin_yang(),
        "mnist" => ExperimentConfig::mnist(),
        "events" => ExperimentConfig::events(),
        other => {
            return Err(Error::input(format!(
                "unknown task {other:?}: use \"yin_yang\", \"mnist\" or \"events\""
            ))
            .into())
        }
    };
    Ok(to_json(&c)?)
}

/// The data configuration of the four MNIST IDX files in `dir` (raw or `.gz`), as JSON.
#[pyfunction]
pub(crate) fn mnist_data_config(dir: PathBuf) -> PyResult<String> {
    let data = snn_train::config::DataConfig::mnist_dir(&dir).map_err(Error::from)?;
    Ok(to_json(&data)?)
}

/// The configuration of the run in `out_dir` (its `config.json`), as JSON.
#[pyfunction]
pub(crate) fn read_run_config(out_dir: PathBuf) -> PyResult<String> {
    Ok(to_json(
        &snn_train::run::read_run_config(&out_dir).map_err(Error::from)?,
    )?)
}

/// One dataset as Python lists: `[(times, sources), ...]` and the labels.
fn dataset<'py>(py: Python<'py>, d: &Dataset) -> PyResult<Bound<'py, PyDict>> {
    let inputs = PyList::empty(py);
    for sample in &d.inputs {
        let times = PyArray1::from_vec(py, sample.iter().map(|s| s.time).collect());
        let sources = PyArray1::from_vec(py, sample.iter().map(|s| i64::from(s.source)).collect());
        inputs.append((times, sources))?;
    }
    let out = PyDict::new(py);
    out.set_item("inputs", inputs)?;
    out.set_item(
        "labels",
        PyArray1::from_vec(py, d.labels.iter().map(|&l| l as i64).collect()),
    )?;
    Ok(out)
}

/// Loads and encodes the data of a configuration: `{"train", "validation", "test"}` datasets
/// with `n_inputs` and `n_classes`.
#[pyfunction]
pub(crate) fn load_data<'py>(py: Python<'py>, config_json: &str) -> PyResult<Bound<'py, PyDict>> {
    let config = config_from_json(config_json)?;
    let splits = detached(py, || Ok(snn_train::datasets::load_splits(&config)?))?;
    let out = PyDict::new(py);
    out.set_item("train", dataset(py, &splits.train)?)?;
    out.set_item("validation", dataset(py, &splits.validation)?)?;
    out.set_item("test", dataset(py, &splits.test)?)?;
    out.set_item("n_inputs", splits.n_inputs)?;
    out.set_item("n_classes", splits.n_classes)?;
    Ok(out)
}

/// Writes spike events in the HDF5 layout the trainer reads (`spikes/times`, `spikes/units`,
/// `labels`, as the Spiking Heidelberg Digits): one `(times, units)` pair per example, times in
/// the file's unit (SHD: seconds), units and labels non-negative.
#[pyfunction]
pub(crate) fn write_events(
    py: Python<'_>,
    path: PathBuf,
    examples: Vec<(PyReadonlyArray1<'_, f64>, PyReadonlyArray1<'_, i64>)>,
    labels: PyReadonlyArray1<'_, i64>,
) -> PyResult<()> {
    let as_u32 = |what: String, v: i64| {
        u32::try_from(v).map_err(|_| Error::input(format!("{what} is {v} (must be in 0..2^32)")))
    };
    let labels = labels.as_array();
    if labels.len() != examples.len() {
        return Err(Error::input(format!(
            "{} labels for {} examples (need one label per example)",
            labels.len(),
            examples.len()
        ))
        .into());
    }
    let labels = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| as_u32(format!("label {i}"), l))
        .collect::<Result<Vec<u32>>>()?;
    let mut events = Vec::with_capacity(examples.len());
    for (i, (times, units)) in examples.iter().enumerate() {
        let (times, units) = (times.as_array(), units.as_array());
        if times.len() != units.len() {
            return Err(Error::input(format!(
                "example {i}: {} times and {} units (need one unit per event)",
                times.len(),
                units.len()
            ))
            .into());
        }
        if let Some(t) = times.iter().find(|t| !t.is_finite()) {
            return Err(Error::input(format!("example {i}: event time {t} is not finite")).into());
        }
        let units = units
            .iter()
            .map(|&u| as_u32(format!("example {i}: unit"), u))
            .collect::<Result<Vec<u32>>>()?;
        events.push((times.to_vec(), units));
    }
    detached(py, || {
        Ok(snn_train::events::write_events(&path, &events, &labels)?)
    })
}

/// What the training loop and Python share: a stop request and the first Python error.
struct Shared {
    stop: AtomicBool,
    error: Mutex<Option<PyErr>>,
}

impl Shared {
    fn fail(&self, e: PyErr) {
        if let Ok(mut slot) = self.error.lock() {
            slot.get_or_insert(e);
        }
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Calls the Python callback after every epoch with the epoch's metrics as a dict; a callback
/// returning `False` (or raising) stops the run after a checkpoint.
struct Callback<'a> {
    callback: Option<Py<PyAny>>,
    shared: &'a Shared,
}

impl Observer for Callback<'_> {
    fn epoch_finished(&mut self, metrics: &EpochMetrics) {
        let Some(callback) = &self.callback else {
            return;
        };
        let json = match to_json(metrics) {
            Ok(j) => j,
            Err(e) => return self.shared.fail(e.into()),
        };
        Python::attach(|py| {
            let result = py
                .import("json")
                .and_then(|m| m.call_method1("loads", (json,)))
                .and_then(|d| callback.call1(py, (d,)));
            match result {
                Ok(r) => {
                    if r.bind(py).is(pyo3::types::PyBool::new(py, false)) {
                        self.shared.stop.store(true, Ordering::SeqCst);
                    }
                }
                Err(e) => self.shared.fail(e),
            }
        });
    }
}

/// Runs an experiment into `out_dir` (`mode`: `"new"`, `"force"` or `"resume"`). Returns
/// `("finished", summary JSON)` or `("interrupted", JSON with the checkpoint and position;
/// `while_scoring`: the stop came while a set was scored, which the resumed run scores again;
/// `weights` when the training was complete and only the final test scoring was abandoned)`.
#[pyfunction]
#[pyo3(signature = (config_json, out_dir, mode, callback, test_each_epoch))]
pub(crate) fn train(
    py: Python<'_>,
    config_json: &str,
    out_dir: PathBuf,
    mode: &str,
    callback: Option<Py<PyAny>>,
    test_each_epoch: bool,
) -> PyResult<(String, String)> {
    let config = config_from_json(config_json)?;
    let mode = match mode {
        "new" => OutMode::New,
        "force" => OutMode::Force,
        "resume" => OutMode::Resume,
        other => {
            return Err(Error::input(format!(
                "unknown mode {other:?}: use \"new\", \"force\" or \"resume\""
            ))
            .into())
        }
    };
    let run = RunOptions {
        out_dir,
        mode,
        test_each_epoch,
    };
    let shared = Shared {
        stop: AtomicBool::new(false),
        error: Mutex::new(None),
    };
    let outcome = detached(py, || {
        let mut observer = Callback {
            callback,
            shared: &shared,
        };
        // Asked before every minibatch: a callback's request, or Ctrl-C in Python.
        let stop = || {
            if let Err(e) = Python::attach(|py| py.check_signals()) {
                shared.fail(e);
            }
            shared.stop.load(Ordering::SeqCst)
        };
        Ok(run_experiment(&config, &run, &mut observer, &stop)?)
    })?;
    if let Some(e) = shared.error.lock().ok().and_then(|mut e| e.take()) {
        return Err(e);
    }
    Ok(match outcome {
        RunOutcome::Finished(summary) => ("finished".to_string(), to_json(&*summary)?),
        RunOutcome::Interrupted {
            checkpoint,
            epochs_done,
            batches_done,
            while_scoring,
        } => (
            "interrupted".to_string(),
            to_json(&serde_json::json!({
                "checkpoint": checkpoint,
                "epochs_done": epochs_done,
                "batches_done": batches_done,
                "while_scoring": while_scoring,
            }))?,
        ),
        // Every epoch trained and saved; the final test scoring was abandoned (resume scores).
        RunOutcome::FinalScoringStopped {
            weights,
            checkpoint,
            epochs_done,
        } => (
            "interrupted".to_string(),
            to_json(&serde_json::json!({
                "checkpoint": checkpoint,
                "epochs_done": epochs_done,
                "batches_done": 0,
                "while_scoring": true,
                "weights": weights,
            }))?,
        ),
    })
}
