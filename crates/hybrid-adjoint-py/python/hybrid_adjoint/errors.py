"""Exceptions raised by hybrid_adjoint.

Every error of the Rust library arrives as one of these classes with the library's message.
All derive from :class:`HybridAdjointError`; the ones caused by bad arguments are also
:class:`ValueError`.
"""


class HybridAdjointError(Exception):
    """Base class of every error raised by hybrid_adjoint."""


class InvalidInputError(HybridAdjointError, ValueError):
    """An argument is malformed: wrong shape or dtype, NaN or infinite values, unsorted input
    spikes, a source or label out of range, an unknown name."""


class NetworkError(HybridAdjointError, ValueError):
    """A network that cannot be built (sizes, parameters, layer kinds) or a loss that does not
    fit it."""


class SimulationError(HybridAdjointError):
    """A simulation or gradient failed on valid input: runaway spiking (spike limit), a grazing
    spike (not differentiable), a non-finite state."""


class BallError(HybridAdjointError, ValueError):
    """The bouncing ball: parameters out of its domain, a horizon past the Zeno time, solver
    options, invalid observations."""


class TrainingError(HybridAdjointError):
    """The trainer: data files, options, run directories, checkpoints."""


class GradientCheckError(HybridAdjointError, AssertionError):
    """A gradient check found two methods that disagree beyond the tolerance."""


class InternalError(HybridAdjointError):
    """A bug in hybrid_adjoint (a Rust panic, caught at the boundary). Please report it."""


__all__ = [
    "HybridAdjointError",
    "InvalidInputError",
    "NetworkError",
    "SimulationError",
    "BallError",
    "TrainingError",
    "GradientCheckError",
    "InternalError",
]
