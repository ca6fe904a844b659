//! Errors crossing into Python: every Rust error becomes an exception of the class hierarchy in
//! `hybrid_adjoint.errors` (all under `HybridAdjointError`) with the Rust error's message, and no
//! panic crosses the boundary ([`guard`] turns one into an `InternalError`).

use std::panic::{catch_unwind, AssertUnwindSafe};

use lif_network::LifError;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// The exception class an error becomes (a class of `hybrid_adjoint.errors`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Arrays of the wrong shape, NaN, unsorted spikes, unknown names (`InvalidInputError`, also
    /// a `ValueError`).
    InvalidInput,
    /// A network that cannot be built or a loss that does not fit it (`NetworkError`, also a
    /// `ValueError`).
    Network,
    /// A simulation or gradient that failed on valid input: runaway spiking, a grazing spike, a
    /// non-finite state (`SimulationError`).
    Simulation,
    /// The bouncing ball (`BallError`).
    Ball,
    /// The trainer: data, options, run directories (`TrainingError`).
    Training,
    /// A gradient check that found a disagreement (`GradientCheckError`).
    GradientCheck,
    /// A panic: a bug (`InternalError`).
    Internal,
}

impl Kind {
    fn class_name(self) -> &'static str {
        match self {
            Kind::InvalidInput => "InvalidInputError",
            Kind::Network => "NetworkError",
            Kind::Simulation => "SimulationError",
            Kind::Ball => "BallError",
            Kind::Training => "TrainingError",
            Kind::GradientCheck => "GradientCheckError",
            Kind::Internal => "InternalError",
        }
    }
}

/// An error on its way to Python: the class and the message.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Error {
    pub kind: Kind,
    pub message: String,
}

/// Result with [`Error`].
pub(crate) type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An `InvalidInputError` with `message`.
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::InvalidInput,
            message: message.into(),
        }
    }
}

impl From<LifError> for Error {
    fn from(e: LifError) -> Self {
        let kind = match e {
            LifError::SpikeLimit { .. }
            | LifError::NonFiniteIn { .. }
            | LifError::GrazingSpikeIn { .. } => Kind::Simulation,
            LifError::InputSourceOutOfRange { .. }
            | LifError::InvalidInputTime { .. }
            | LifError::NonFiniteCotangent { .. }
            | LifError::LabelOutOfRange { .. } => Kind::InvalidInput,
            _ => Kind::Network,
        };
        Self {
            kind,
            message: e.to_string(),
        }
    }
}

impl From<snn_train::TrainError> for Error {
    fn from(e: snn_train::TrainError) -> Self {
        match e {
            snn_train::TrainError::Network(inner) => {
                let mut out = Error::from(inner);
                out.message = format!("network: {}", out.message);
                out
            }
            other => Self {
                kind: Kind::Training,
                message: other.to_string(),
            },
        }
    }
}

impl From<bouncing_ball::BallError> for Error {
    fn from(e: bouncing_ball::BallError) -> Self {
        Self {
            kind: Kind::Ball,
            message: e.to_string(),
        }
    }
}

impl From<hybrid_core::Error> for Error {
    fn from(e: hybrid_core::Error) -> Self {
        Self {
            kind: Kind::Ball,
            message: e.to_string(),
        }
    }
}

impl From<hybrid_testkit::CheckError> for Error {
    fn from(e: hybrid_testkit::CheckError) -> Self {
        let kind = match e {
            hybrid_testkit::CheckError::Disagreement { .. } => Kind::GradientCheck,
            _ => Kind::Ball,
        };
        Self {
            kind,
            message: e.to_string(),
        }
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        Python::attach(|py| {
            let class = py
                .import("hybrid_adjoint.errors")
                .and_then(|m| m.getattr(e.kind.class_name()))
                .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
            match class {
                Ok(class) => PyErr::from_type(class, e.message),
                Err(import_failed) => import_failed,
            }
        })
    }
}

/// Runs `f`, turning a panic into an `InternalError` that names it as a bug.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(Error {
                kind: Kind::Internal,
                message: format!(
                    "internal error (a bug in hybrid-adjoint, please report it): {what}"
                ),
            })
        }
    }
}

/// Runs `f` without the GIL (other Python threads run meanwhile), inside [`guard`].
pub(crate) fn detached<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T> + Send,
) -> PyResult<T> {
    py.detach(|| guard(f)).map_err(PyErr::from)
}
