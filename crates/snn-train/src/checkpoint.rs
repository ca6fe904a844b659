//! Weights and checkpoint files, both safetensors (see [`crate::store`]).
//!
//! - A weights file holds one `F64` tensor per layer, `layer{l}.weights` of shape
//!   `[n_out, n_in]` (post-major `[post * n_in + pre]`: the transpose of the pre-major
//!   [`lif_network::Layer::weights`] in memory, so files keep the layout they had before the
//!   layers became pre-major, and old files load unchanged), and the metadata `format`
//!   ([`WEIGHTS_FORMAT`]), `config` (the [`ExperimentConfig`] as JSON), `kinds` (`spiking` or
//!   `readout` per layer, comma-separated) and `epoch`. Any safetensors reader (Python's
//!   `safetensors`, PyTorch, NumPy) opens it.
//! - A checkpoint holds the same weights plus Adam's moments (`adam.m{l}`, `adam.v{l}`, flat, in
//!   the post-major order of the weights tensors for the layers) and the
//!   metadata `format` ([`CHECKPOINT_FORMAT`]), `config`, `adam_step`, `learning_rate`, `state`
//!   (the [`TrainState`]: epochs and minibatches done, metrics so far, as JSON) and `best`
//!   (epoch and validation accuracy of the best weights so far). With the seed in the config,
//!   that is everything a resumed run needs: the random streams are functions of
//!   `(seed, epoch, example)`.

use std::collections::HashMap;
use std::path::Path;

use lif_network::eventprop::transpose;
use serde::{Deserialize, Serialize};

use crate::config::ExperimentConfig;
use crate::error::{Result, TrainError};
use crate::model::Model;
use crate::optim::AdamState;
use crate::snn::{SavedLayer, SavedNetwork, SnnClassifier, WEIGHTS_FORMAT};
use crate::store::{read_tensors, take_tensor, write_tensors, Tensors};
use crate::train::TrainState;

/// Format tag of checkpoint files.
pub const CHECKPOINT_FORMAT: &str = "snn-train-checkpoint-v1";

/// The best validation accuracy seen so far, and when.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BestEpoch {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Its validation accuracy.
    pub validation_accuracy: f64,
}

/// Everything a checkpoint holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The experiment.
    pub config: ExperimentConfig,
    /// The weights, one array per layer.
    pub weights: Vec<Vec<f64>>,
    /// Adam's step count and moments.
    pub adam: AdamState,
    /// Position and metrics.
    pub state: TrainState,
    /// Best validation accuracy so far.
    pub best: Option<BestEpoch>,
}

fn format_error(path: &Path, message: String) -> TrainError {
    TrainError::Format {
        path: path.to_path_buf(),
        message,
    }
}

fn json<T: Serialize>(value: &T, path: &Path) -> Result<String> {
    serde_json::to_string(value).map_err(|e| format_error(path, e.to_string()))
}

fn meta_json<T: serde::de::DeserializeOwned>(
    meta: &HashMap<String, String>,
    key: &str,
    path: &Path,
) -> Result<T> {
    let text = meta
        .get(key)
        .ok_or_else(|| format_error(path, format!("no metadata {key:?}")))?;
    serde_json::from_str(text).map_err(|e| format_error(path, format!("metadata {key:?}: {e}")))
}

fn check_format(meta: &HashMap<String, String>, expected: &str, path: &Path) -> Result<()> {
    match meta.get("format") {
        Some(f) if f == expected => Ok(()),
        other => Err(format_error(
            path,
            format!("format {other:?}, expected {expected:?}"),
        )),
    }
}

fn layer_tensors(saved: &SavedNetwork) -> Tensors {
    saved
        .layers
        .iter()
        .enumerate()
        .map(|(l, layer)| {
            (
                format!("layer{l}.weights"),
                vec![layer.n_out, layer.n_in],
                layer.weights.clone(),
            )
        })
        .collect()
}

fn kinds(saved: &SavedNetwork) -> String {
    saved
        .layers
        .iter()
        .map(|l| if l.spiking { "spiking" } else { "readout" })
        .collect::<Vec<_>>()
        .join(",")
}

/// Writes the weights of `model` with `config` and the epoch they were taken after.
pub fn save_weights(
    path: &Path,
    model: &SnnClassifier,
    config: &ExperimentConfig,
    epoch: usize,
) -> Result<()> {
    let saved = model.to_saved(config);
    let meta = HashMap::from([
        ("format".to_string(), WEIGHTS_FORMAT.to_string()),
        ("config".to_string(), json(config, path)?),
        ("kinds".to_string(), kinds(&saved)),
        ("epoch".to_string(), epoch.to_string()),
    ]);
    write_tensors(path, &layer_tensors(&saved), meta)
}

/// Reads the layers of a weights or checkpoint file into a [`SavedNetwork`].
fn saved_network(
    tensors: &mut Tensors,
    meta: &HashMap<String, String>,
    config: ExperimentConfig,
    path: &Path,
) -> Result<SavedNetwork> {
    let kinds: Vec<bool> = meta
        .get("kinds")
        .ok_or_else(|| format_error(path, "no metadata \"kinds\"".into()))?
        .split(',')
        .map(|k| k == "spiking")
        .collect();
    let mut layers = Vec::with_capacity(kinds.len());
    for (l, spiking) in kinds.into_iter().enumerate() {
        let (shape, weights) = take_tensor(tensors, &format!("layer{l}.weights"), path)?;
        let [n_out, n_in] = shape[..] else {
            return Err(format_error(
                path,
                format!("layer {l} has shape {shape:?}, expected [n_out, n_in]"),
            ));
        };
        layers.push(SavedLayer {
            n_in,
            n_out,
            spiking,
            weights,
        });
    }
    Ok(SavedNetwork {
        format: WEIGHTS_FORMAT.to_string(),
        config,
        layers,
    })
}

/// Loads a weights file: the classifier, its configuration and the epoch it was saved after.
pub fn load_weights(path: &Path) -> Result<(SnnClassifier, ExperimentConfig, usize)> {
    let (mut tensors, meta) = read_tensors(path)?;
    check_format(&meta, WEIGHTS_FORMAT, path)?;
    let config: ExperimentConfig = meta_json(&meta, "config", path)?;
    let epoch: usize = meta_json(&meta, "epoch", path)?;
    let saved = saved_network(&mut tensors, &meta, config.clone(), path)?;
    Ok((SnnClassifier::from_saved(&saved, path)?, config, epoch))
}

/// Writes a checkpoint of `model` and the loop state.
pub fn save_checkpoint(
    path: &Path,
    model: &SnnClassifier,
    config: &ExperimentConfig,
    adam: &AdamState,
    learning_rate: f64,
    state: &TrainState,
    best: Option<BestEpoch>,
) -> Result<()> {
    let saved = model.to_saved(config);
    let mut tensors = layer_tensors(&saved);
    for (l, (m, v)) in adam.m.iter().zip(&adam.v).enumerate() {
        let (m, v) = (post_major(model, l, m), post_major(model, l, v));
        tensors.push((format!("adam.m{l}"), vec![m.len()], m));
        tensors.push((format!("adam.v{l}"), vec![v.len()], v));
    }
    let meta = HashMap::from([
        ("format".to_string(), CHECKPOINT_FORMAT.to_string()),
        ("config".to_string(), json(config, path)?),
        ("kinds".to_string(), kinds(&saved)),
        ("adam_step".to_string(), adam.step.to_string()),
        ("learning_rate".to_string(), json(&learning_rate, path)?),
        ("state".to_string(), json(state, path)?),
        ("best".to_string(), json(&best, path)?),
    ]);
    write_tensors(path, &tensors, meta)
}

/// A per-parameter array of `model` (Adam's moments) in the file's order: a layer's pre-major
/// array transposed to post-major; the recurrent weights' (post-major already) as they are.
fn post_major(model: &SnnClassifier, l: usize, a: &[f64]) -> Vec<f64> {
    match model.net.layers.get(l) {
        Some(layer) if a.len() == layer.weights.len() => transpose(a, layer.n_in, layer.n_out),
        _ => a.to_vec(),
    }
}

/// The inverse of [`post_major`], for an array read from a file.
fn pre_major(model: &SnnClassifier, l: usize, a: Vec<f64>) -> Vec<f64> {
    match model.net.layers.get(l) {
        Some(layer) if a.len() == layer.weights.len() => transpose(&a, layer.n_out, layer.n_in),
        _ => a,
    }
}

/// Loads a checkpoint, checking the weights against its configuration.
pub fn load_checkpoint(path: &Path) -> Result<Checkpoint> {
    let (mut tensors, meta) = read_tensors(path)?;
    check_format(&meta, CHECKPOINT_FORMAT, path)?;
    let config: ExperimentConfig = meta_json(&meta, "config", path)?;
    let saved = saved_network(&mut tensors, &meta, config.clone(), path)?;
    let model = SnnClassifier::from_saved(&saved, path)?;
    let n_layers = model.param_lengths().len();
    let (mut m, mut v) = (Vec::new(), Vec::new());
    for l in 0..n_layers {
        let ml = take_tensor(&mut tensors, &format!("adam.m{l}"), path)?.1;
        let vl = take_tensor(&mut tensors, &format!("adam.v{l}"), path)?.1;
        m.push(pre_major(&model, l, ml));
        v.push(pre_major(&model, l, vl));
    }
    Ok(Checkpoint {
        weights: model.net.layers.iter().map(|l| l.weights.clone()).collect(),
        adam: AdamState {
            step: meta_json(&meta, "adam_step", path)?,
            m,
            v,
        },
        state: meta_json(&meta, "state", path)?,
        best: meta_json(&meta, "best", path)?,
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;

    fn small() -> (ExperimentConfig, SnnClassifier) {
        let mut c = ExperimentConfig::yin_yang();
        c.hidden = 7;
        let model = SnnClassifier::new(&c).unwrap();
        (c, model)
    }

    #[test]
    fn weights_round_trip_bit_for_bit_with_config_and_epoch() {
        let dir = TempDir::new("ckpt-weights");
        let path = dir.path().join("weights.safetensors");
        let (config, model) = small();
        save_weights(&path, &model, &config, 3).unwrap();
        let (back, back_config, epoch) = load_weights(&path).unwrap();
        assert_eq!(back.net, model.net);
        assert_eq!(back_config, config);
        assert_eq!(epoch, 3);
        // A checkpoint is not a weights file.
        let ckpt = dir.path().join("checkpoint.safetensors");
        let adam = crate::optim::Adam::new(config.train.adam, &[35, 21])
            .unwrap()
            .state();
        save_checkpoint(
            &ckpt,
            &model,
            &config,
            &adam,
            5e-3,
            &TrainState::default(),
            None,
        )
        .unwrap();
        assert!(matches!(
            load_weights(&ckpt),
            Err(TrainError::Format { .. })
        ));
    }

    // The files keep the post-major layout they had before the layers became pre-major (so
    // files written before load unchanged): tensor entry `[post * n_in + pre]` is the layer's
    // `weights[pre * n_out + post]`, for the weights and for Adam's moments of a layer.
    #[test]
    fn files_hold_post_major_matrices_of_the_pre_major_layers() {
        let dir = TempDir::new("ckpt-layout");
        let path = dir.path().join("checkpoint.safetensors");
        let (config, model) = small();
        let l0 = &model.net.layers[0];
        let (n_in, n_out) = (l0.n_in, l0.n_out);
        let moment: Vec<f64> = (0..n_in * n_out).map(|k| k as f64).collect();
        let adam = AdamState {
            step: 1,
            m: vec![moment.clone(), vec![0.0; 21]],
            v: vec![vec![1.0; n_in * n_out], vec![2.0; 21]],
        };
        let state = TrainState::default();
        save_checkpoint(&path, &model, &config, &adam, 1e-3, &state, None).unwrap();
        let (mut tensors, _) = read_tensors(&path).unwrap();
        let (shape, w) = take_tensor(&mut tensors, "layer0.weights", &path).unwrap();
        let (_, m) = take_tensor(&mut tensors, "adam.m0", &path).unwrap();
        assert_eq!(shape, [n_out, n_in]);
        for post in 0..n_out {
            for pre in 0..n_in {
                assert_eq!(w[post * n_in + pre], l0.weights[pre * n_out + post]);
                assert_eq!(m[post * n_in + pre], moment[pre * n_out + post]);
            }
        }
        let back = load_checkpoint(&path).unwrap();
        assert_eq!(back.adam, adam);
        assert_eq!(back.weights[0], l0.weights);
    }

    #[test]
    fn checkpoint_round_trips_state_moments_and_best() {
        let dir = TempDir::new("ckpt-state");
        let path = dir.path().join("checkpoint.safetensors");
        let (config, model) = small();
        let adam = AdamState {
            step: 17,
            m: vec![(0..35).map(|i| i as f64 * 0.1).collect(), vec![0.5; 21]],
            v: vec![
                vec![1e-9; 35],
                (0..21).map(|i| 1.0 / (1 + i) as f64).collect(),
            ],
        };
        let state = TrainState {
            epochs_done: 2,
            batches_done: 5,
            partial: None,
            history: vec![],
            test_each_epoch: true,
        };
        let best = Some(BestEpoch {
            epoch: 2,
            validation_accuracy: 0.75,
        });
        save_checkpoint(&path, &model, &config, &adam, 4.75e-3, &state, best).unwrap();
        let c = load_checkpoint(&path).unwrap();
        assert_eq!(c.adam, adam);
        assert_eq!(c.state, state);
        assert_eq!(c.best, best);
        assert_eq!(c.config, config);
        let weights: Vec<Vec<f64>> = model.net.layers.iter().map(|l| l.weights.clone()).collect();
        assert_eq!(c.weights, weights);
    }
}
