//! The bouncing ball and the gradient check kit for Python: `simulate`, `gradient` (adjoint or
//! forward sensitivities) and `check_gradients` of the least-squares height loss
//! `½ Σ_i (y(s_i) − ŷ_i)²`, with the Zeno-aware entry points of `bouncing-ball`.

use bouncing_ball::{BouncingBall, HeightLoss};
use hybrid_core::{Integrator, SolverOptions};
use hybrid_testkit::Tolerances;
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{detached, Error, Result};

/// Solver options from Python's keyword arguments (the rest at their defaults).
fn solver_options(rtol: f64, atol: f64, integrator: &str) -> Result<SolverOptions> {
    let integrator = match integrator {
        "dopri5" => Integrator::Dopri5,
        "dop853" => Integrator::Dop853,
        other => {
            return Err(Error::input(format!(
                "unknown integrator {other:?}: use \"dopri5\" or \"dop853\""
            )))
        }
    };
    let opts = SolverOptions {
        rtol,
        atol,
        integrator,
        ..SolverOptions::default()
    };
    opts.validate()?;
    Ok(opts)
}

/// `p = [y0, v0, e, g]` from NumPy.
fn parameters(p: &PyReadonlyArray1<'_, f64>) -> Result<Vec<f64>> {
    let p = p.as_array().to_vec();
    bouncing_ball::check_parameters(&p)?;
    Ok(p)
}

/// The height loss of the observations.
fn height_loss(
    times: &PyReadonlyArray1<'_, f64>,
    heights: &PyReadonlyArray1<'_, f64>,
) -> Result<HeightLoss> {
    Ok(HeightLoss::new(
        times.as_array().to_vec(),
        heights.as_array().to_vec(),
    )?)
}

/// Rows of `n` values as a `[rows, n]` array.
fn rows<'py>(py: Python<'py>, data: Vec<f64>, n: usize) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let r = data.len() / n.max(1);
    PyArray1::from_vec(py, data).reshape([r, n])
}

/// Simulates the ball on `[0, t_end]`: `samples` equally spaced states, and every impact.
#[pyfunction]
#[pyo3(signature = (p, t_end, samples, rtol, atol, integrator))]
pub(crate) fn ball_simulate<'py>(
    py: Python<'py>,
    p: PyReadonlyArray1<'py, f64>,
    t_end: f64,
    samples: usize,
    rtol: f64,
    atol: f64,
    integrator: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let p = parameters(&p)?;
    let opts = solver_options(rtol, atol, integrator)?;
    let sol = detached(py, || Ok(bouncing_ball::simulate(&p, t_end, &opts)?))?;
    let sampled = sol.trajectory.sample(samples);
    let out = PyDict::new(py);
    out.set_item(
        "t",
        PyArray1::from_vec(py, sampled.iter().map(|(t, _)| *t).collect()),
    )?;
    out.set_item(
        "x",
        rows(py, sampled.iter().flat_map(|(_, x)| x.clone()).collect(), 2)?,
    )?;
    out.set_item(
        "impact_times",
        PyArray1::from_vec(py, sol.events.iter().map(|e| e.t).collect()),
    )?;
    out.set_item(
        "x_minus",
        rows(
            py,
            sol.events.iter().flat_map(|e| e.x_minus.clone()).collect(),
            2,
        )?,
    )?;
    out.set_item(
        "x_plus",
        rows(
            py,
            sol.events.iter().flat_map(|e| e.x_plus.clone()).collect(),
            2,
        )?,
    )?;
    out.set_item("x_end", PyArray1::from_vec(py, sol.x_end.clone()))?;
    out.set_item("steps", sol.stats.accepted)?;
    Ok(out)
}

/// `(L, dL/dp)` of the height loss, by the adjoint or by forward sensitivities.
#[pyfunction]
#[pyo3(signature = (p, times, heights, method, rtol, atol, integrator))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn ball_gradient<'py>(
    py: Python<'py>,
    p: PyReadonlyArray1<'py, f64>,
    times: PyReadonlyArray1<'py, f64>,
    heights: PyReadonlyArray1<'py, f64>,
    method: &str,
    rtol: f64,
    atol: f64,
    integrator: &str,
) -> PyResult<(f64, Bound<'py, PyArray1<f64>>)> {
    let p = parameters(&p)?;
    let loss = height_loss(&times, &heights)?;
    let opts = solver_options(rtol, atol, integrator)?;
    let t_end = loss.t_end();
    let g = match method {
        "adjoint" => detached(py, || {
            Ok(bouncing_ball::adjoint_gradient(&p, t_end, &loss, &opts)?)
        })?,
        "forward" => detached(py, || {
            Ok(bouncing_ball::forward_gradient(&p, t_end, &loss, &opts)?)
        })?,
        other => {
            return Err(Error::input(format!(
                "unknown method {other:?}: use \"adjoint\" or \"forward\""
            ))
            .into())
        }
    };
    Ok((g.loss, PyArray1::from_vec(py, g.gradient)))
}

/// The gradient check kit on the ball: adjoint, forward sensitivities and central differences
/// of the height loss, which must agree within the tolerances.
#[pyfunction]
#[pyo3(signature = (p, times, heights, rtol, atol, integrator, methods, finite_differences, fd_step, fd_floor))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn ball_check_gradients<'py>(
    py: Python<'py>,
    p: PyReadonlyArray1<'py, f64>,
    times: PyReadonlyArray1<'py, f64>,
    heights: PyReadonlyArray1<'py, f64>,
    rtol: f64,
    atol: f64,
    integrator: &str,
    methods: f64,
    finite_differences: f64,
    fd_step: f64,
    fd_floor: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let p = parameters(&p)?;
    let loss = height_loss(&times, &heights)?;
    let opts = solver_options(rtol, atol, integrator)?;
    let tol = Tolerances {
        methods,
        finite_differences,
        fd_step,
        fd_floor,
    };
    for (name, v) in [
        ("methods", methods),
        ("finite_differences", finite_differences),
        ("fd_step", fd_step),
        ("fd_floor", fd_floor),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::input(format!("{name} = {v}: must be finite and > 0")).into());
        }
    }
    let t_end = loss.t_end();
    let report = detached(py, || {
        // The Zeno-aware simulation first, so that a horizon past t_Z is named as such.
        bouncing_ball::simulate(&p, t_end, &opts)?;
        Ok(hybrid_testkit::check_gradients(
            &BouncingBall,
            &p,
            0.0,
            t_end,
            &loss,
            &opts,
            &tol,
        )?)
    })?;
    let out = PyDict::new(py);
    out.set_item("loss", report.loss)?;
    out.set_item("forward", PyArray1::from_vec(py, report.forward))?;
    out.set_item("adjoint", PyArray1::from_vec(py, report.adjoint))?;
    out.set_item("central", PyArray1::from_vec(py, report.central))?;
    out.set_item("adjoint_vs_forward", report.adjoint_vs_forward)?;
    out.set_item("forward_vs_central", report.forward_vs_central)?;
    out.set_item("min_abs_gdot", report.min_abs_gdot)?;
    Ok(out)
}
