//! Input spike trains from NumPy: one `(times, sources)` pair of 1-D arrays per sample, checked
//! (same lengths, finite non-negative non-decreasing times, sources in range) before any
//! simulation.

use lif_network::InputSpike;
use numpy::PyReadonlyArray1;

use crate::errors::{Error, Result};

/// One sample as NumPy gives it: spike times (ms) and input indices.
pub(crate) type PySpikeTrain<'py> = (PyReadonlyArray1<'py, f64>, PyReadonlyArray1<'py, i64>);

/// The spike trains of a batch, checked against `n_inputs`.
pub(crate) fn spike_trains(
    batch: &[PySpikeTrain<'_>],
    n_inputs: usize,
) -> Result<Vec<Vec<InputSpike>>> {
    batch
        .iter()
        .enumerate()
        .map(|(b, (times, sources))| {
            let t = times
                .as_slice()
                .map_err(|_| Error::input(format!("sample {b}: spike times are not contiguous")))?;
            let s = sources.as_slice().map_err(|_| {
                Error::input(format!("sample {b}: spike sources are not contiguous"))
            })?;
            spike_train(b, t, s, n_inputs)
        })
        .collect()
}

/// One sample's spikes, checked: `times` and `sources` of the same length, times finite, `>= 0`
/// and non-decreasing, sources in `0..n_inputs`.
pub(crate) fn spike_train(
    sample: usize,
    times: &[f64],
    sources: &[i64],
    n_inputs: usize,
) -> Result<Vec<InputSpike>> {
    if times.len() != sources.len() {
        return Err(Error::input(format!(
            "sample {sample}: {} spike times but {} sources (need one source per time)",
            times.len(),
            sources.len()
        )));
    }
    let mut out = Vec::with_capacity(times.len());
    let mut last = 0.0f64;
    for (i, (&time, &source)) in times.iter().zip(sources).enumerate() {
        if !(time.is_finite() && time >= 0.0) {
            return Err(Error::input(format!(
                "sample {sample}: spike {i} has time {time} (must be finite and >= 0)"
            )));
        }
        if time < last {
            return Err(Error::input(format!(
                "sample {sample}: spike times are not sorted: spike {i} at {time} ms comes after \
                 one at {last} ms (sort each sample's spikes by time, e.g. with numpy.argsort)"
            )));
        }
        last = time;
        if source < 0 || source as u64 >= n_inputs as u64 || source > u32::MAX as i64 {
            return Err(Error::input(format!(
                "sample {sample}: spike {i} has source {source}, but there are {n_inputs} inputs \
                 (0..{n_inputs})"
            )));
        }
        out.push(InputSpike {
            time,
            source: source as u32,
        });
    }
    Ok(out)
}
