"""hybrid_adjoint: exact gradients through hybrid dynamical systems, from NumPy.

- :class:`FeedForwardNet`: layered spiking (LIF) networks, their forward pass on batches of
  input spike trains, the EventProp paper's losses (eq. 3 and eq. 4) with exact gradients, and a
  vector-Jacobian product for any loss written in Python.
- :class:`Network` (with :class:`Population`, :class:`Projection`): general networks of named
  populations (own parameters, refractory periods, spiking or readout) and dense or sparse
  projections, recurrent ones included; forward passes and the vector-Jacobian product.
- :mod:`hybrid_adjoint.training`: the ``snn-train`` trainer (Yin-Yang, MNIST, IDX, HDF5) with a
  per-epoch callback, checkpoints and resume.
- :mod:`hybrid_adjoint.ball`: the bouncing ball, its gradients and the gradient check kit.
- :mod:`hybrid_adjoint.errors`: the exceptions.

Adapters: :mod:`hybrid_adjoint.jax` (``jax.custom_vjp``) and :mod:`hybrid_adjoint.torch`
(``torch.autograd.Function``), imported on demand.
"""

from . import ball, errors, training
from ._native import __version__, rayon_threads
from .errors import (
    BallError,
    GradientCheckError,
    HybridAdjointError,
    InternalError,
    InvalidInputError,
    NetworkError,
    SimulationError,
    TrainingError,
)
from .general import Network, Population, Projection
from .network import FeedForwardNet, ForwardResult, LossResult, as_spike_trains
from .training import (
    TrainResult,
    default_config,
    load_data,
    read_run_config,
    train,
    write_events,
)

__all__ = [
    "__version__",
    "rayon_threads",
    "FeedForwardNet",
    "ForwardResult",
    "LossResult",
    "Network",
    "Population",
    "Projection",
    "as_spike_trains",
    "ball",
    "errors",
    "training",
    "default_config",
    "load_data",
    "read_run_config",
    "train",
    "TrainResult",
    "write_events",
    "HybridAdjointError",
    "InvalidInputError",
    "NetworkError",
    "SimulationError",
    "BallError",
    "TrainingError",
    "GradientCheckError",
    "InternalError",
]
