"""The bouncing ball (Fig. 1A of the EventProp paper) and the gradient check kit.

Parameters ``p = [y0, v0, e, g]``: initial height and velocity, restitution, gravity. The ball
falls under ``g``, and at each impact with the floor its velocity becomes ``-e v``. The loss of
:func:`gradient` and :func:`check_gradients` is the least-squares fit of heights observed at
fixed times, ``L = 1/2 sum_i (y(s_i) - h_i)^2``, simulated up to the last observation time.
Horizons at or past the Zeno time (where infinitely many impacts accumulate) are refused.
"""

from __future__ import annotations

from typing import Dict, Sequence, Tuple, Union

import numpy as np

from . import _native
from .errors import InvalidInputError

ArrayLike = Union[np.ndarray, Sequence[float]]

__all__ = ["simulate", "gradient", "check_gradients"]


def _vector(name: str, a: ArrayLike) -> np.ndarray:
    try:
        v = np.ascontiguousarray(a, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"{name} is not numeric: {e}") from None
    if v.ndim != 1:
        raise InvalidInputError(f"{name} must be 1-D, got shape {v.shape}")
    return v


def simulate(
    p: ArrayLike,
    t_end: float,
    *,
    samples: int = 200,
    rtol: float = 1e-10,
    atol: float = 1e-10,
    integrator: str = "dopri5",
) -> Dict[str, np.ndarray]:
    """Simulates the ball on ``[0, t_end]``.

    Returns a dict: ``t`` and ``x`` (``samples`` equally spaced times and states ``[y, v]``),
    ``impact_times``, ``x_minus`` and ``x_plus`` (states before and after each impact),
    ``x_end``, ``steps`` (accepted integrator steps).

    Raises:
        BallError: parameters out of the domain, ``t_end`` at or past the Zeno time.
    """
    return _native.ball_simulate(
        _vector("p", p), float(t_end), int(samples), float(rtol), float(atol), integrator
    )


def gradient(
    p: ArrayLike,
    times: ArrayLike,
    heights: ArrayLike,
    *,
    method: str = "adjoint",
    rtol: float = 1e-10,
    atol: float = 1e-10,
    integrator: str = "dopri5",
) -> Tuple[float, np.ndarray]:
    """``(L, dL/dp)`` of the height loss, by the adjoint (``method="adjoint"``) or forward
    sensitivities (``"forward"``), with the jump conditions at every impact."""
    return _native.ball_gradient(
        _vector("p", p),
        _vector("times", times),
        _vector("heights", heights),
        method,
        float(rtol),
        float(atol),
        integrator,
    )


def check_gradients(
    p: ArrayLike,
    times: ArrayLike,
    heights: ArrayLike,
    *,
    rtol: float = 1e-10,
    atol: float = 1e-10,
    integrator: str = "dopri5",
    methods: float = 1e-8,
    finite_differences: float = 1e-5,
    fd_step: float = 1e-5,
    fd_floor: float = 1e-4,
) -> Dict[str, object]:
    """The gradient check kit on the ball: ``dL/dp`` by forward sensitivities, by the adjoint
    and by central differences of whole simulations (step ``fd_step * max(1, |p_j|)``) must
    agree: adjoint vs forward within ``methods``, forward vs central differences within
    ``finite_differences`` (relative, on the scale of the gradient; entries below
    ``fd_floor`` times the largest are judged on that scale).

    Returns a report dict (``loss``, ``forward``, ``adjoint``, ``central``, the two largest
    deviations and ``min_abs_gdot``, the smallest guard rate at an impact).

    Raises:
        GradientCheckError: the methods disagree (the message names the worst entry).
    """
    return _native.ball_check_gradients(
        _vector("p", p),
        _vector("times", times),
        _vector("heights", heights),
        float(rtol),
        float(atol),
        integrator,
        float(methods),
        float(finite_differences),
        float(fd_step),
        float(fd_floor),
    )
