//! `FeedForwardNet` for Python: a layered network of `lif-network` (populations `layer l` with
//! dense projections on the event-driven engine) with weights as NumPy arrays; batched forward
//! passes, the paper's losses with their gradients, and the vector-Jacobian product of first
//! spike times, voltage maxima and all spike times. Samples run in parallel (rayon) without the
//! GIL; batch gradients are summed in sample order, so a result does not depend on the number
//! of threads.

use std::cell::RefCell;

use lif_network::eventprop::{
    transpose, NetworkCotangents, NetworkWorkspace, Observe, SampleScratch,
};
use lif_network::{FeedForwardNet, InputSpike, LayerKind, LifParams, Loss};
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use rayon::prelude::*;

use crate::batch::{add_into, in_order, summed_in_order, Grad, GradPool};
use crate::errors::{detached, Error, Result};
use crate::outputs::{forward_arrays, with_scratch, Cotangents, ForwardArrays, Record};
use crate::spikes::{spike_trains, PySpikeTrain};

thread_local! {
    static SAMPLE_SCRATCH: RefCell<SampleScratch> = RefCell::new(SampleScratch::default());
}

/// A layered feed-forward LIF network (see the Python class `hybrid_adjoint.FeedForwardNet`).
#[pyclass(module = "hybrid_adjoint._native", name = "FeedForwardNet")]
pub(crate) struct PyFeedForward {
    net: FeedForwardNet,
    /// Per-sample gradient buffers reused by `loss_and_gradient` and `vjp`.
    grads: GradPool,
}

/// The layer kind named `name`.
fn layer_kind(name: &str) -> Result<LayerKind> {
    match name {
        "spiking" => Ok(LayerKind::Spiking),
        "readout" => Ok(LayerKind::Readout),
        other => Err(Error::input(format!(
            "unknown layer kind {other:?}: use \"spiking\" or \"readout\""
        ))),
    }
}

/// Weight matrices `[n_out, n_in]` from NumPy, checked: finite, and each layer's `n_in` the size
/// of the layer below (`n_inputs` for the first).
fn weight_matrices(
    weights: &[PyReadonlyArray2<'_, f64>],
    n_inputs: usize,
) -> Result<Vec<(usize, usize, Vec<f64>)>> {
    let mut n_in = n_inputs;
    let mut out = Vec::with_capacity(weights.len());
    for (l, w) in weights.iter().enumerate() {
        let view = w.as_array();
        let (rows, cols) = view.dim();
        if cols != n_in {
            return Err(Error::input(format!(
                "weights[{l}] has shape ({rows}, {cols}); expected (n_out, {n_in}): its columns \
                 are the {n_in} neurons of the {}",
                if l == 0 {
                    "inputs".to_string()
                } else {
                    format!("layer {}", l - 1)
                }
            )));
        }
        if let Some((k, v)) = view.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::input(format!(
                "weights[{l}] entry ({}, {}) is {v}: weights must be finite",
                k / cols.max(1),
                k % cols.max(1)
            )));
        }
        out.push((rows, cols, view.iter().copied().collect()));
        n_in = rows;
    }
    Ok(out)
}

/// The loss of one sample by name.
pub(crate) fn make_loss(
    name: &str,
    label: usize,
    tau0: f64,
    tau1: f64,
    alpha: f64,
    kappa: Option<f64>,
) -> Result<Loss> {
    match (name, kappa) {
        ("first_spike", None) => Ok(Loss::FirstSpike {
            label,
            tau0,
            tau1,
            alpha,
        }),
        ("first_spike", Some(kappa)) => Ok(Loss::FirstSpikeSilentRemedy {
            label,
            tau0,
            tau1,
            alpha,
            kappa,
        }),
        ("max_voltage", None) => Ok(Loss::MaxVoltage { label }),
        ("max_voltage", Some(_)) => Err(Error::input(
            "kappa (the silent-neuron remedy) applies to the first-spike loss only",
        )),
        (other, _) => Err(Error::input(format!(
            "unknown loss {other:?}: use \"first_spike\" (eq. 3) or \"max_voltage\" (eq. 4)"
        ))),
    }
}

/// Labels from NumPy, checked against the batch size.
fn labels(labels: &PyReadonlyArray1<'_, i64>, batch: usize) -> Result<Vec<usize>> {
    let view = labels.as_array();
    if view.len() != batch {
        return Err(Error::input(format!(
            "{} labels for {batch} samples (need one label per sample)",
            view.len()
        )));
    }
    view.iter()
        .enumerate()
        .map(|(b, &l)| {
            usize::try_from(l).map_err(|_| Error::input(format!("label {b} is {l} (must be >= 0)")))
        })
        .collect()
}

impl PyFeedForward {
    fn n_neurons(&self) -> usize {
        self.net.layers.iter().map(|l| l.n_out).sum()
    }

    /// Forward pass of one sample into the thread's workspace, then `read` of it.
    fn with_forward<T>(
        &self,
        input: &[InputSpike],
        read: impl FnOnce(&mut NetworkWorkspace, &mut NetworkCotangents) -> Result<T>,
    ) -> Result<T> {
        with_scratch(|ws, cot| {
            self.net.forward(input, Observe::default(), ws)?;
            read(ws, cot)
        })
    }

    fn record(&self, input: &[InputSpike]) -> Result<Record> {
        let n = self.n_neurons();
        self.with_forward(input, |ws, _| Ok(Record::of(ws, n)))
    }

    /// The gradient of one sample (number `sample` of the batch) for cotangents on its first
    /// spike times, maxima and spikes.
    fn vjp_sample(&self, input: &[InputSpike], cots: &Cotangents, sample: usize) -> Result<Grad> {
        let mut grad = self.grads.take(|| self.net.zero_gradient());
        self.with_forward(input, |ws, cot| {
            cots.fill(sample, ws, cot)?;
            self.net.backward(ws, cot, &mut grad)?;
            Ok(())
        })?;
        Ok(grad)
    }

    /// One loss per label by name ([`make_loss`]), each validated against this network.
    fn losses(
        &self,
        labels: &[usize],
        name: &str,
        tau0: f64,
        tau1: f64,
        alpha: f64,
        kappa: Option<f64>,
    ) -> Result<Vec<Loss>> {
        labels
            .iter()
            .map(|&l| {
                let loss = make_loss(name, l, tau0, tau1, alpha, kappa)?;
                loss.validate(&self.net)?;
                Ok(loss)
            })
            .collect()
    }

    fn gradient_arrays<'py>(
        &self,
        py: Python<'py>,
        grad: Grad,
    ) -> PyResult<Vec<Bound<'py, PyArray2<f64>>>> {
        grad.into_iter()
            .zip(&self.net.layers)
            .map(|(g, l)| {
                // The layer's pre-major array as NumPy's `[n_out, n_in]` (post-major).
                let post_major = transpose(&g, l.n_in, l.n_out);
                PyArray1::from_vec(py, post_major).reshape([l.n_out, l.n_in])
            })
            .collect()
    }
}

#[pymethods]
impl PyFeedForward {
    #[new]
    #[pyo3(signature = (weights, kinds, tau_mem, tau_syn, threshold, t_end))]
    fn new(
        weights: Vec<PyReadonlyArray2<'_, f64>>,
        kinds: Vec<String>,
        tau_mem: f64,
        tau_syn: f64,
        threshold: f64,
        t_end: f64,
    ) -> PyResult<Self> {
        if weights.is_empty() || weights.len() != kinds.len() {
            return Err(Error::input(format!(
                "{} weight matrices and {} layer kinds: give one of each per layer (at least one)",
                weights.len(),
                kinds.len()
            ))
            .into());
        }
        let n_inputs = weights[0].as_array().dim().1;
        let matrices = weight_matrices(&weights, n_inputs)?;
        let kinds = kinds
            .iter()
            .map(|k| layer_kind(k))
            .collect::<Result<Vec<_>>>()?;
        let sizes: Vec<(usize, LayerKind)> = matrices
            .iter()
            .zip(&kinds)
            .map(|(m, &k)| (m.0, k))
            .collect();
        let params = LifParams {
            tau_mem,
            tau_syn,
            threshold,
        };
        let mut net = FeedForwardNet::new(n_inputs, &sizes, params, t_end).map_err(Error::from)?;
        for (layer, (rows, cols, w)) in net.layers.iter_mut().zip(matrices) {
            layer.weights = transpose(&w, rows, cols);
        }
        Ok(Self {
            net,
            grads: GradPool::default(),
        })
    }

    /// Number of input neurons.
    #[getter]
    fn n_inputs(&self) -> usize {
        self.net.n_inputs
    }

    /// Neurons per layer.
    #[getter]
    fn layer_sizes(&self) -> Vec<usize> {
        self.net.layers.iter().map(|l| l.n_out).collect()
    }

    /// `"spiking"` or `"readout"` per layer.
    #[getter]
    fn layer_kinds(&self) -> Vec<&'static str> {
        self.net
            .layers
            .iter()
            .map(|l| match l.kind {
                LayerKind::Spiking => "spiking",
                LayerKind::Readout => "readout",
            })
            .collect()
    }

    /// `(tau_mem, tau_syn, threshold, t_end)`.
    #[getter]
    fn params(&self) -> (f64, f64, f64, f64) {
        let p = self.net.params;
        (p.tau_mem, p.tau_syn, p.threshold, self.net.t_end)
    }

    /// Global index of each layer's first neuron, and the number of neurons last.
    #[getter]
    fn neuron_offsets(&self) -> Vec<usize> {
        self.net.neuron_offsets()
    }

    /// Copies of the weight matrices, `[n_out, n_in]` per layer.
    fn get_weights<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyArray2<f64>>>> {
        self.gradient_arrays(
            py,
            self.net.layers.iter().map(|l| l.weights.clone()).collect(),
        )
    }

    /// Replaces the weights (same shapes, finite).
    fn set_weights(&mut self, weights: Vec<PyReadonlyArray2<'_, f64>>) -> PyResult<()> {
        if weights.len() != self.net.layers.len() {
            return Err(Error::input(format!(
                "{} weight matrices for {} layers",
                weights.len(),
                self.net.layers.len()
            ))
            .into());
        }
        let matrices = weight_matrices(&weights, self.net.n_inputs)?;
        for (l, (layer, (rows, _, _))) in self.net.layers.iter().zip(&matrices).enumerate() {
            if *rows != layer.n_out {
                return Err(Error::input(format!(
                    "weights[{l}] has {rows} rows; layer {l} has {} neurons",
                    layer.n_out
                ))
                .into());
            }
        }
        for (layer, (rows, cols, w)) in self.net.layers.iter_mut().zip(matrices) {
            layer.weights = transpose(&w, rows, cols);
        }
        Ok(())
    }

    /// Simulates a batch; returns `(first_spike_times [B, N], max_voltage [B, N], spike_times,
    /// spike_neurons)`.
    fn forward<'py>(
        &self,
        py: Python<'py>,
        inputs: Vec<PySpikeTrain<'py>>,
    ) -> PyResult<ForwardArrays<'py>> {
        let trains = spike_trains(&inputs, self.net.n_inputs)?;
        let records: Vec<Record> = detached(py, || {
            trains
                .par_iter()
                .map(|t| self.record(t))
                .collect::<Result<Vec<_>>>()
        })?;
        forward_arrays(py, records, self.n_neurons())
    }

    /// Loss per sample, prediction per sample (-1: none) and the batch gradient (sum or mean).
    #[pyo3(signature = (inputs, labels, loss, tau0, tau1, alpha, kappa, reduction))]
    #[allow(clippy::type_complexity)]
    fn loss_and_gradient<'py>(
        &self,
        py: Python<'py>,
        inputs: Vec<PySpikeTrain<'py>>,
        labels: PyReadonlyArray1<'py, i64>,
        loss: &str,
        tau0: f64,
        tau1: f64,
        alpha: f64,
        kappa: Option<f64>,
        reduction: &str,
    ) -> PyResult<(
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<i64>>,
        Vec<Bound<'py, PyArray2<f64>>>,
    )> {
        let trains = spike_trains(&inputs, self.net.n_inputs)?;
        let labels = self::labels(&labels, trains.len())?;
        let mean = match reduction {
            "mean" => true,
            "sum" => false,
            other => {
                return Err(Error::input(format!(
                    "unknown reduction {other:?}: use \"mean\" or \"sum\""
                ))
                .into())
            }
        };
        let losses = self.losses(&labels, loss, tau0, tau1, alpha, kappa)?;
        let (values, predictions, grad) = detached(py, || {
            let n = trains.len();
            let mut values = vec![0.0; n];
            let mut predictions = vec![-1i64; n];
            let mut sum = self.net.zero_gradient();
            in_order(
                n,
                |b| {
                    let mut g = self.grads.take(|| self.net.zero_gradient());
                    let stats = SAMPLE_SCRATCH.with(|s| {
                        self.net.accumulate_gradient(
                            &trains[b],
                            &losses[b],
                            &mut s.borrow_mut(),
                            &mut g,
                        )
                    })?;
                    Ok((stats, g))
                },
                |b, (stats, g)| {
                    values[b] = stats.loss;
                    predictions[b] = stats.prediction.map_or(-1, |p| p as i64);
                    add_into(&mut sum, &g);
                    self.grads.give(g);
                },
            )?;
            if mean && n > 0 {
                let scale = 1.0 / n as f64;
                sum.iter_mut().flatten().for_each(|g| *g *= scale);
            }
            Ok((values, predictions, sum))
        })?;
        Ok((
            PyArray1::from_vec(py, values),
            PyArray1::from_vec(py, predictions),
            self.gradient_arrays(py, grad)?,
        ))
    }

    /// Loss and prediction per sample (forward passes only).
    #[pyo3(signature = (inputs, labels, loss, tau0, tau1, alpha, kappa))]
    #[allow(clippy::type_complexity)]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        inputs: Vec<PySpikeTrain<'py>>,
        labels: PyReadonlyArray1<'py, i64>,
        loss: &str,
        tau0: f64,
        tau1: f64,
        alpha: f64,
        kappa: Option<f64>,
    ) -> PyResult<(Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<i64>>)> {
        let trains = spike_trains(&inputs, self.net.n_inputs)?;
        let labels = self::labels(&labels, trains.len())?;
        let losses = self.losses(&labels, loss, tau0, tau1, alpha, kappa)?;
        let stats = detached(py, || {
            trains
                .par_iter()
                .zip(&losses)
                .map(|(t, l)| Ok(self.net.loss_value(t, l)?))
                .collect::<Result<Vec<_>>>()
        })?;
        Ok((
            PyArray1::from_vec(py, stats.iter().map(|s| s.loss).collect()),
            PyArray1::from_vec(
                py,
                stats
                    .iter()
                    .map(|s| s.prediction.map_or(-1, |p| p as i64))
                    .collect(),
            ),
        ))
    }

    /// The batch gradient (sum over samples, in sample order) of `Σ_b <d_first[b], t_first[b]>
    /// + <d_max[b], max V[b]> + <d_spikes[b], spike times[b]>`.
    #[pyo3(signature = (inputs, d_first_spike_times, d_max_voltage, d_spike_times))]
    fn vjp<'py>(
        &self,
        py: Python<'py>,
        inputs: Vec<PySpikeTrain<'py>>,
        d_first_spike_times: Option<PyReadonlyArray2<'py, f64>>,
        d_max_voltage: Option<PyReadonlyArray2<'py, f64>>,
        d_spike_times: Option<Vec<PyReadonlyArray1<'py, f64>>>,
    ) -> PyResult<Vec<Bound<'py, PyArray2<f64>>>> {
        let trains = spike_trains(&inputs, self.net.n_inputs)?;
        let b = trains.len();
        let cots = Cotangents::from_py(
            b,
            self.n_neurons(),
            &d_first_spike_times,
            &d_max_voltage,
            &d_spike_times,
        )?;
        let grad = detached(py, || {
            summed_in_order(b, self.net.zero_gradient(), &self.grads, |s| {
                self.vjp_sample(&trains[s], &cots, s)
            })
        })?;
        self.gradient_arrays(py, grad)
    }
}
