//! `Network` for Python: a general spiking network of `lif-network`'s engine (populations with
//! their own LIF parameters and refractory periods, spiking or readout; dense or sparse
//! projections from the inputs or from populations, recurrent ones included) with weights as
//! NumPy arrays; batched forward passes and the vector-Jacobian product of first spike times,
//! voltage maxima and all spike times. Samples run in parallel (rayon) without the GIL; batch
//! gradients are summed in sample order, so a result does not depend on the number of threads.

use lif_network::engine::{Network, Population, Source};
use lif_network::{InputSpike, LifParams};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use rayon::prelude::*;

use crate::batch::{summed_in_order, Grad, GradPool};
use crate::errors::{detached, Error, Result};
use crate::outputs::{forward_arrays, with_scratch, Cotangents, ForwardArrays, Record};
use crate::projections::{to_caller, Ends, Layout, PySynapses};
use crate::spikes::{spike_trains, PySpikeTrain};

/// A population from Python: `(name, size, tau_mem, tau_syn, threshold, kind, t_ref)`.
type PyPopulation = (String, usize, f64, f64, f64, String, f64);

/// A projection from Python: `(source, target, dense weights, sparse synapses)`, exactly one of
/// the last two given.
type PyProjection<'py> = (
    String,
    String,
    Option<PyReadonlyArray2<'py, f64>>,
    Option<PySynapses<'py>>,
);

/// The name of the network's inputs as a projection source.
const INPUT: &str = "input";

/// A general LIF network (see the Python class `hybrid_adjoint.Network`).
#[pyclass(module = "hybrid_adjoint._native", name = "Network")]
pub(crate) struct PyNetwork {
    net: Network,
    /// Per projection, how Python lays out its weights.
    layouts: Vec<Layout>,
    /// Per projection, the names of its source and target.
    names: Vec<(String, String)>,
    /// Per-sample gradient buffers reused by `vjp`.
    grads: GradPool,
}

/// The population `pop` from Python, checked (name, kind; the parameters are checked by
/// `Network::validate`).
fn population(pop: &PyPopulation) -> Result<Population> {
    let (name, size, tau_mem, tau_syn, threshold, kind, t_ref) = pop;
    if name == INPUT {
        return Err(Error::input(
            "a population cannot be named \"input\": that name is the inputs' (as a projection \
             source)",
        ));
    }
    let params = LifParams {
        tau_mem: *tau_mem,
        tau_syn: *tau_syn,
        threshold: *threshold,
    };
    match kind.as_str() {
        "spiking" => Ok(Population::new(name.clone(), *size, params).with_refractory(*t_ref)),
        "readout" if *t_ref == 0.0 => Ok(Population::readout(name.clone(), *size, params)),
        "readout" => Err(Error::input(format!(
            "population {name:?}: t_ref is {t_ref} but a readout population does not spike \
             (give t_ref = 0)"
        ))),
        other => Err(Error::input(format!(
            "population {name:?}: unknown kind {other:?}: use \"spiking\" or \"readout\""
        ))),
    }
}

impl PyNetwork {
    /// Index of the population named `name`, or an error listing the names.
    fn population_index(&self, name: &str, what: &str, index: usize) -> Result<usize> {
        self.net
            .populations
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| {
                let known: Vec<String> = std::iter::once(format!("{INPUT:?} (sources only)"))
                    .chain(self.net.populations.iter().map(|p| format!("{:?}", p.name)))
                    .collect();
                Error::input(format!(
                    "projection {index}: unknown {what} population {name:?} (known: {})",
                    known.join(", ")
                ))
            })
    }

    /// The source, target and sizes of projection `index` from `source` to `target` (names).
    fn resolve<'a>(&self, index: usize, source: &'a str, target: &'a str) -> Result<Ends<'a>> {
        let (src, n_pre) = if source == INPUT {
            (Source::Input, self.net.n_inputs)
        } else {
            let p = self.population_index(source, "source", index)?;
            if !self.net.populations[p].spiking {
                return Err(Error::input(format!(
                    "projection {index}: source {source:?} is a readout population, which does \
                     not spike"
                )));
            }
            (Source::Population(p), self.net.populations[p].size)
        };
        if target == INPUT {
            return Err(Error::input(format!(
                "projection {index}: the inputs cannot be a target (they are fixed spike trains)"
            )));
        }
        let t = self.population_index(target, "target", index)?;
        Ok(Ends {
            index,
            source: src,
            target: t,
            source_name: source,
            target_name: target,
            n_pre,
            n_post: self.net.populations[t].size,
        })
    }

    /// Where projection `i` runs.
    fn ends(&self, i: usize) -> Ends<'_> {
        let (source, target) = &self.names[i];
        let p = &self.net.projections[i];
        Ends {
            index: i,
            source: p.source,
            target: p.target,
            source_name: source,
            target_name: target,
            n_pre: p.n_pre(),
            n_post: self.net.populations[p.target].size,
        }
    }

    /// Per-projection values (weights or gradients) as NumPy arrays in the caller's layout.
    fn caller_arrays<'py>(
        &self,
        py: Python<'py>,
        values: &[Vec<f64>],
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.net
            .projections
            .iter()
            .zip(&self.layouts)
            .zip(values)
            .map(|((proj, layout), v)| {
                let a = PyArray1::from_vec(py, to_caller(proj, layout, v));
                Ok(match layout {
                    Layout::Dense { n_pre, n_post } => a.reshape([*n_post, *n_pre])?.into_any(),
                    Layout::Sparse { .. } => a.into_any(),
                })
            })
            .collect()
    }

    /// Forward pass of one sample in this thread's workspace, then `read` of it.
    fn with_forward<T>(
        &self,
        input: &[InputSpike],
        read: impl FnOnce(
            &mut lif_network::engine::NetworkWorkspace,
            &mut lif_network::engine::NetworkCotangents,
        ) -> Result<T>,
    ) -> Result<T> {
        with_scratch(|ws, cot| {
            self.net.forward(input, &[], ws)?;
            read(ws, cot)
        })
    }

    /// The gradient of one sample (number `sample` of the batch) for its cotangents.
    fn vjp_sample(&self, input: &[InputSpike], cots: &Cotangents, sample: usize) -> Result<Grad> {
        let mut grad = self.grads.take(|| self.net.zero_gradient());
        self.with_forward(input, |ws, cot| {
            cots.fill(sample, ws, cot)?;
            self.net.backward(ws, cot, &mut grad)?;
            Ok(())
        })?;
        Ok(grad)
    }
}

#[pymethods]
impl PyNetwork {
    #[new]
    #[pyo3(signature = (n_inputs, populations, projections, t_end))]
    fn new(
        n_inputs: usize,
        populations: Vec<PyPopulation>,
        projections: Vec<PyProjection<'_>>,
        t_end: f64,
    ) -> PyResult<Self> {
        let pops = populations
            .iter()
            .map(population)
            .collect::<Result<Vec<_>>>()?;
        for (i, p) in pops.iter().enumerate() {
            if pops[..i].iter().any(|q| q.name == p.name) {
                return Err(Error::input(format!(
                    "two populations are named {:?}: names must be unique",
                    p.name
                ))
                .into());
            }
        }
        let mut this = Self {
            net: Network::new(n_inputs, pops, t_end),
            layouts: Vec::with_capacity(projections.len()),
            names: Vec::with_capacity(projections.len()),
            grads: GradPool::default(),
        };
        this.net.validate().map_err(Error::from)?;
        for (index, (source, target, dense, sparse)) in projections.iter().enumerate() {
            let ends = this.resolve(index, source, target)?;
            let (proj, layout) = match (dense, sparse) {
                (Some(w), None) => ends.dense(w)?,
                (None, Some(s)) => ends.sparse(s)?,
                _ => {
                    return Err(Error::input(format!(
                        "{}: give either dense weights or sparse synapses (exactly one)",
                        ends.describe()
                    ))
                    .into())
                }
            };
            this.net.projections.push(proj);
            this.layouts.push(layout);
            this.names.push((source.clone(), target.clone()));
        }
        this.net.validate().map_err(Error::from)?;
        Ok(this)
    }

    /// Number of input neurons.
    #[getter]
    fn n_inputs(&self) -> usize {
        self.net.n_inputs
    }

    /// End of each simulation (ms).
    #[getter]
    fn t_end(&self) -> f64 {
        self.net.t_end
    }

    /// Per population `(name, size, tau_mem, tau_syn, threshold, kind, t_ref)`.
    #[getter]
    fn populations(&self) -> Vec<PyPopulation> {
        self.net
            .populations
            .iter()
            .map(|p| {
                let kind = if p.spiking { "spiking" } else { "readout" };
                (
                    p.name.clone(),
                    p.size,
                    p.params.tau_mem,
                    p.params.tau_syn,
                    p.params.threshold,
                    kind.to_string(),
                    p.refractory,
                )
            })
            .collect()
    }

    /// Per projection `(source, target, "dense" or "sparse")`.
    #[getter]
    fn projections(&self) -> Vec<(String, String, &'static str)> {
        self.names
            .iter()
            .zip(&self.layouts)
            .map(|((s, t), l)| {
                let kind = match l {
                    Layout::Dense { .. } => "dense",
                    Layout::Sparse { .. } => "sparse",
                };
                (s.clone(), t.clone(), kind)
            })
            .collect()
    }

    /// Global index of each population's first neuron, and the number of neurons last.
    #[getter]
    fn neuron_offsets(&self) -> Vec<usize> {
        self.net.neuron_offsets()
    }

    /// `(pre, post)` of the synapses of sparse projection `index`, in the order given.
    #[allow(clippy::type_complexity)]
    fn synapses<'py>(
        &self,
        py: Python<'py>,
        index: usize,
    ) -> PyResult<(Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i64>>)> {
        match self.layouts.get(index) {
            Some(Layout::Sparse { pre, post, .. }) => Ok((
                PyArray1::from_slice(py, pre),
                PyArray1::from_slice(py, post),
            )),
            Some(Layout::Dense { .. }) => {
                Err(Error::input(format!("{} is dense", self.ends(index).describe())).into())
            }
            None => Err(Error::input(format!(
                "no projection {index} ({} projections)",
                self.layouts.len()
            ))
            .into()),
        }
    }

    /// Copies of the weights: `[n_post, n_pre]` per dense projection, one per synapse (in the
    /// order given) per sparse one.
    fn get_weights<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let w: Vec<Vec<f64>> = self
            .net
            .projections
            .iter()
            .map(|p| p.weights.clone())
            .collect();
        self.caller_arrays(py, &w)
    }

    /// Replaces the weights (the layouts of `get_weights`; finite). Nothing changes on error.
    fn set_weights(&mut self, weights: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        if weights.len() != self.layouts.len() {
            return Err(Error::input(format!(
                "{} weight arrays for {} projections",
                weights.len(),
                self.layouts.len()
            ))
            .into());
        }
        let mut new = self.net.projections.clone();
        for (i, (w, proj)) in weights.iter().zip(&mut new).enumerate() {
            let ends = self.ends(i);
            match &self.layouts[i] {
                layout @ Layout::Dense { .. } => {
                    let a = w.extract::<PyReadonlyArray2<'_, f64>>().map_err(|_| {
                        Error::input(format!(
                            "{}: expected a 2-D float64 array [n_post, n_pre]",
                            ends.describe()
                        ))
                    })?;
                    ends.set_dense(proj, layout, &a)?;
                }
                layout @ Layout::Sparse { .. } => {
                    let a = w.extract::<PyReadonlyArray1<'_, f64>>().map_err(|_| {
                        Error::input(format!(
                            "{}: expected a 1-D float64 array, one weight per synapse",
                            ends.describe()
                        ))
                    })?;
                    ends.set_sparse(proj, layout, &a.as_array().to_vec())?;
                }
            }
        }
        self.net.projections = new;
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
        let n = self.net.n_neurons();
        let records: Vec<Record> = detached(py, || {
            trains
                .par_iter()
                .map(|t| self.with_forward(t, |ws, _| Ok(Record::of(ws, n))))
                .collect::<Result<Vec<_>>>()
        })?;
        forward_arrays(py, records, n)
    }

    /// The batch gradient (sum over samples, in sample order) of `Σ_b <d_first[b], t_first[b]>
    /// + <d_max[b], max V[b]> + <d_spikes[b], spike times[b]>`, per projection in the layout of
    /// its weights.
    #[pyo3(signature = (inputs, d_first_spike_times, d_max_voltage, d_spike_times))]
    fn vjp<'py>(
        &self,
        py: Python<'py>,
        inputs: Vec<PySpikeTrain<'py>>,
        d_first_spike_times: Option<PyReadonlyArray2<'py, f64>>,
        d_max_voltage: Option<PyReadonlyArray2<'py, f64>>,
        d_spike_times: Option<Vec<PyReadonlyArray1<'py, f64>>>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let trains = spike_trains(&inputs, self.net.n_inputs)?;
        let b = trains.len();
        let cots = Cotangents::from_py(
            b,
            self.net.n_neurons(),
            &d_first_spike_times,
            &d_max_voltage,
            &d_spike_times,
        )?;
        let grad = detached(py, || {
            summed_in_order(b, self.net.zero_gradient(), &self.grads, |s| {
                self.vjp_sample(&trains[s], &cots, s)
            })
        })?;
        self.caller_arrays(py, &grad)
    }
}
