"""The trainer of ``snn-train``: the paper's Yin-Yang and MNIST experiments (and any IDX images
or HDF5 spike events), run from Python with a callback after every epoch, a checkpoint after
every epoch and on a stop request, and resume from the checkpoint bit for bit.

A configuration is a plain dict (the JSON of the run directory's ``config.json``); start from
:func:`default_config` and change what you need::

    config = default_config("yin_yang")
    config["train"]["epochs"] = 5
    result = train(config, "runs/yy", callback=lambda m: print(m["validation_accuracy"]))
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from . import _native
from .errors import InvalidInputError

__all__ = [
    "default_config", "read_run_config", "load_data", "train", "TrainResult", "write_events",
]

Config = Dict[str, Any]


class TrainResult(NamedTuple):
    """How a run ended."""

    finished: bool
    """True when every epoch was done (and the test set scored)."""
    summary: Dict[str, Any]
    """Finished: the run's ``summary.json`` (test accuracy, best epoch, timings, the
    configuration). Interrupted: ``checkpoint``, ``epochs_done``, ``batches_done``,
    ``while_scoring`` (the stop came while a set was scored: resuming scores it again), and
    ``weights`` when every epoch was trained and only the final test scoring was abandoned."""


def default_config(
    task: str = "yin_yang", *, mnist_dir: "Optional[os.PathLike[str] | str]" = None
) -> Config:
    """The default configuration of ``"yin_yang"`` or ``"mnist"`` (the paper's Table 3), or
    ``"events"`` (HDF5 spike events). ``mnist_dir``: the directory of the four MNIST IDX files
    (raw or ``.gz``) for ``"mnist"``; other image and event data need their files set in
    ``config["data"]``."""
    config = json.loads(_native.default_config(task))
    if mnist_dir is not None:
        if task != "mnist":
            raise InvalidInputError("mnist_dir is for the 'mnist' task")
        config["data"] = json.loads(_native.mnist_data_config(os.fspath(mnist_dir)))
    return config


def read_run_config(out_dir: "os.PathLike[str] | str") -> Config:
    """The configuration of the run in ``out_dir`` (its ``config.json``)."""
    return json.loads(_native.read_run_config(os.fspath(out_dir)))


def _config_json(config: Config) -> str:
    if not isinstance(config, dict):
        raise InvalidInputError(
            f"config must be a dict (see default_config), got {type(config).__name__}"
        )
    return json.dumps(config)


def load_data(config: Config) -> Dict[str, Any]:
    """Loads and encodes a configuration's data (with its limits and validation split).

    Returns ``{"train", "validation", "test"}``, each ``{"inputs": [(times, sources), ...],
    "labels": int64 array}``, and ``n_inputs``, ``n_classes``: ready for
    :class:`hybrid_adjoint.FeedForwardNet`.
    """
    return _native.load_data(_config_json(config))


def write_events(
    path: "os.PathLike[str] | str",
    examples: Sequence[Tuple[Any, Any]],
    labels: Any,
) -> None:
    """Writes spike events in the HDF5 layout the trainer reads (that of the Spiking Heidelberg
    Digits: groups ``spikes/times`` and ``spikes/units`` of variable-length arrays, and
    ``labels``), to train on event data of one's own with ``default_config("events")``.

    Args:
        path: the HDF5 file to create (replaced if it exists).
        examples: one ``(times, units)`` pair of 1-D arrays per example: event times in the
            file's unit (``encoding.events.time_scale`` milliseconds each; SHD: seconds) and
            the channel of each event.
        labels: the class of each example.
    """
    pairs = []
    for i, example in enumerate(examples):
        try:
            times, units = example
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"example {i}: expected a pair (times, units), got {type(example).__name__}"
            ) from None
        t, u = np.asarray(times, dtype=np.float64), np.asarray(units)
        if u.size and not np.issubdtype(u.dtype, np.integer):
            raise InvalidInputError(f"example {i}: units must be integers, got dtype {u.dtype}")
        if t.ndim != 1 or u.ndim != 1:
            raise InvalidInputError(f"example {i}: times and units must be 1-D arrays")
        pairs.append((np.ascontiguousarray(t), np.ascontiguousarray(u, dtype=np.int64)))
    lab = np.asarray(labels)
    if lab.ndim != 1 or (lab.size and not np.issubdtype(lab.dtype, np.integer)):
        raise InvalidInputError("labels must be a 1-D array of integers")
    _native.write_events(os.fspath(path), pairs, np.ascontiguousarray(lab, dtype=np.int64))


def train(
    config: Optional[Config],
    out_dir: "os.PathLike[str] | str",
    *,
    mode: str = "new",
    epochs: Optional[int] = None,
    callback: Optional[Callable[[Dict[str, Any]], Optional[bool]]] = None,
    test_each_epoch: bool = False,
) -> TrainResult:
    """Trains as the ``snn-train`` program does, writing the same run directory: after every
    epoch ``weights.safetensors``, ``best.safetensors``, ``metrics.csv``/``.json`` and
    ``checkpoint.safetensors``; at the end ``summary.json`` and ``curves.svg``.

    Args:
        config: the experiment (a dict, see :func:`default_config`); with ``mode="resume"``
            it may be None: the run's own ``config.json`` is used.
        out_dir: the run directory.
        mode: ``"new"`` (refuse a directory holding a run), ``"force"`` (replace it) or
            ``"resume"`` (continue from its checkpoint, bit for bit as if never stopped).
        epochs: with ``mode="resume"``, the new total number of epochs (to extend a run).
        callback: called after every epoch with its metrics (``epoch``, ``train_loss``,
            ``train_accuracy``, ``validation_accuracy``, ``seconds``, ...). Returning
            ``False`` stops the run after writing its checkpoint (after the last epoch: the
            final test scoring is abandoned; resuming scores it); an exception does the same,
            then propagates. Ctrl-C (KeyboardInterrupt) stops it after the current minibatch,
            or the current chunk of examples of a scoring, with a checkpoint.
        test_each_epoch: also score the test set after every epoch.

    The GIL is released while training; examples of a minibatch run on rayon's thread pool
    (``RAYON_NUM_THREADS`` sets its size before the first call).
    """
    path = os.fspath(out_dir)
    if config is None:
        if mode != "resume":
            raise InvalidInputError("config is required unless mode='resume'")
        config = read_run_config(path)
    if epochs is not None:
        config = json.loads(json.dumps(config))
        config["train"]["epochs"] = int(epochs)
    outcome, text = _native.train(_config_json(config), path, mode, callback, test_each_epoch)
    return TrainResult(outcome == "finished", json.loads(text))
