//! What a forward pass gives Python and what a vector-Jacobian product takes from it, shared by
//! every network class: first spike times, voltage maxima and all spikes of a sample
//! ([`Record`]); cotangents on them, checked, set into the engine's [`NetworkCotangents`]
//! ([`Cotangents`]); and the per-thread workspace both passes run in ([`with_scratch`]).

use std::cell::RefCell;

use lif_network::eventprop::{NetworkCotangents, NetworkWorkspace, PeakCause};
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::errors::{Error, Result};

thread_local! {
    static SCRATCH: RefCell<(NetworkWorkspace, NetworkCotangents)> =
        RefCell::new((NetworkWorkspace::new(), NetworkCotangents::default()));
}

/// Runs `f` on this thread's workspace and cotangents (reused across samples and calls).
pub(crate) fn with_scratch<T>(
    f: impl FnOnce(&mut NetworkWorkspace, &mut NetworkCotangents) -> T,
) -> T {
    SCRATCH.with(|s| {
        let (ws, cot) = &mut *s.borrow_mut();
        f(ws, cot)
    })
}

/// What a forward pass of one sample gives Python.
pub(crate) struct Record {
    first: Vec<f64>,
    maxima: Vec<f64>,
    spike_times: Vec<f64>,
    spike_neurons: Vec<i64>,
}

impl Record {
    /// The record of the last forward pass in `ws` of a network of `n` neurons: first spike
    /// time per neuron (`+inf` if silent), membrane maximum per neuron (`-inf` if not tracked),
    /// every spike.
    pub(crate) fn of(ws: &NetworkWorkspace, n: usize) -> Self {
        Self {
            first: (0..n)
                .map(|j| {
                    ws.first_spike(j)
                        .map_or(f64::INFINITY, |k| ws.spikes()[k].time)
                })
                .collect(),
            maxima: ws.peaks()[..n].iter().map(|p| p.value).collect(),
            spike_times: ws.spikes().iter().map(|s| s.time).collect(),
            spike_neurons: ws.spikes().iter().map(|s| i64::from(s.neuron)).collect(),
        }
    }
}

/// `forward`'s result in Python: `(first_spike_times [B, N], max_voltage [B, N], spike_times,
/// spike_neurons)`.
pub(crate) type ForwardArrays<'py> = (
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray2<f64>>,
    Vec<Bound<'py, PyArray1<f64>>>,
    Vec<Bound<'py, PyArray1<i64>>>,
);

/// The records of a batch (networks of `n` neurons) as NumPy arrays.
pub(crate) fn forward_arrays(
    py: Python<'_>,
    records: Vec<Record>,
    n: usize,
) -> PyResult<ForwardArrays<'_>> {
    let b = records.len();
    let mut first = Vec::with_capacity(b * n);
    let mut maxima = Vec::with_capacity(b * n);
    let mut times = Vec::with_capacity(b);
    let mut neurons = Vec::with_capacity(b);
    for r in records {
        first.extend(r.first);
        maxima.extend(r.maxima);
        times.push(PyArray1::from_vec(py, r.spike_times));
        neurons.push(PyArray1::from_vec(py, r.spike_neurons));
    }
    Ok((
        PyArray1::from_vec(py, first).reshape([b, n])?,
        PyArray1::from_vec(py, maxima).reshape([b, n])?,
        times,
        neurons,
    ))
}

/// A `[rows, cols]` float64 array from NumPy as a row-major vector, shape checked.
pub(crate) fn matrix(
    what: &str,
    a: &Option<PyReadonlyArray2<'_, f64>>,
    rows: usize,
    cols: usize,
) -> Result<Option<Vec<f64>>> {
    let Some(a) = a else { return Ok(None) };
    let view = a.as_array();
    if view.dim() != (rows, cols) {
        return Err(Error::input(format!(
            "{what} has shape {:?}; expected ({rows}, {cols}) = (samples, neurons)",
            view.dim()
        )));
    }
    Ok(Some(view.iter().copied().collect()))
}

/// Cotangents of a batch of `B` samples on the outputs of `forward`: first spike times and
/// maxima `[B, N]` (row-major), and per sample one value per spike.
pub(crate) struct Cotangents {
    n: usize,
    d_first: Option<Vec<f64>>,
    d_max: Option<Vec<f64>>,
    d_spikes: Option<Vec<Vec<f64>>>,
}

impl Cotangents {
    /// The cotangents from NumPy for `b` samples of a network of `n` neurons, shapes checked.
    pub(crate) fn from_py(
        b: usize,
        n: usize,
        d_first_spike_times: &Option<PyReadonlyArray2<'_, f64>>,
        d_max_voltage: &Option<PyReadonlyArray2<'_, f64>>,
        d_spike_times: &Option<Vec<PyReadonlyArray1<'_, f64>>>,
    ) -> Result<Self> {
        let d_spikes = match d_spike_times {
            None => None,
            Some(list) if list.len() != b => {
                return Err(Error::input(format!(
                    "d_spike_times has {} arrays for {b} samples",
                    list.len()
                )))
            }
            Some(list) => Some(list.iter().map(|a| a.as_array().to_vec()).collect()),
        };
        Ok(Self {
            n,
            d_first: matrix("d_first_spike_times", d_first_spike_times, b, n)?,
            d_max: matrix("d_max_voltage", d_max_voltage, b, n)?,
            d_spikes,
        })
    }

    /// Sets the cotangents of `sample` into `cot` for the forward pass in `ws`. A silent
    /// neuron's first spike time (`+inf`) and an untracked maximum do not depend on the
    /// weights: their cotangents are ignored (but must be finite).
    pub(crate) fn fill(
        &self,
        sample: usize,
        ws: &NetworkWorkspace,
        cot: &mut NetworkCotangents,
    ) -> Result<()> {
        let row = sample * self.n..(sample + 1) * self.n;
        cot.reset_for(ws);
        if let Some(d) = &self.d_spikes {
            let d = &d[sample];
            if d.len() != ws.spikes().len() {
                return Err(Error::input(format!(
                    "sample {sample}: {} spike-time cotangents but the forward pass has {} \
                     spikes (give one per spike, in the order forward returns them)",
                    d.len(),
                    ws.spikes().len()
                )));
            }
            cot.spike_times.copy_from_slice(d);
        }
        if let Some(d) = &self.d_first {
            for (j, &dj) in d[row.clone()].iter().enumerate() {
                if let Some(k) = ws.first_spike(j) {
                    cot.spike_times[k] += dj;
                } else if !dj.is_finite() {
                    return Err(Error::input(format!(
                        "sample {sample}: cotangent of first spike time {j} is {dj}: \
                         cotangents must be finite"
                    )));
                }
            }
        }
        if let Some(d) = &self.d_max {
            for (j, &dj) in d[row].iter().enumerate() {
                if ws.peaks()[j].cause == PeakCause::NotTracked {
                    if !dj.is_finite() {
                        return Err(Error::input(format!(
                            "sample {sample}: cotangent of voltage maximum {j} is {dj}: \
                             cotangents must be finite"
                        )));
                    }
                } else {
                    cot.peaks[j] = dj;
                }
            }
        }
        Ok(())
    }
}
