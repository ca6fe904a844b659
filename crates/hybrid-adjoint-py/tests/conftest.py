"""Shared cases of the Python tests: small layered networks and input spike trains drawn from a
fixed seed (Yin-Yang-like sizes, weights from the paper's initialisation, Table 3)."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import hybrid_adjoint as ha

REPO = Path(__file__).resolve().parents[3]


def spike_trains(rng, n_samples, n_inputs, t_max=30.0, per_input=1):
    """Random input spike trains, each input spiking `per_input` times in [0, t_max), sorted."""
    out = []
    for _ in range(n_samples):
        sources = np.repeat(np.arange(n_inputs), per_input)
        times = rng.uniform(0.0, t_max, sources.size)
        order = np.argsort(times, kind="stable")
        out.append((times[order], sources[order].astype(np.int64)))
    return out


@pytest.fixture
def spiking_net():
    """5-16-3, all spiking; weights N(2, 0.78) and N(0.93, 0.1) (Table 3's Yin-Yang values, the
    hidden mean raised so that most neurons of these few-spike inputs fire)."""
    rng = np.random.default_rng(7)
    w = [rng.normal(2.0, 0.78, (16, 5)), rng.normal(0.93, 0.1, (3, 16))]
    return ha.FeedForwardNet(w, ["spiking", "spiking"], t_end=60.0)


@pytest.fixture
def readout_net():
    """12-10-4 with a readout output layer (the paper's MNIST shape, scaled down)."""
    rng = np.random.default_rng(11)
    w = [rng.normal(1.0, 0.3, (10, 12)), rng.normal(0.2, 0.37, (4, 10))]
    return ha.FeedForwardNet(w, ["spiking", "readout"], t_end=40.0)


@pytest.fixture
def inputs5():
    return spike_trains(np.random.default_rng(3), 6, 5)


@pytest.fixture
def inputs12():
    return spike_trains(np.random.default_rng(5), 5, 12, t_max=20.0)


def cargo():
    """The cargo executable, or skip (the installed package without a checkout and toolchain)."""
    exe = shutil.which("cargo")
    if exe is None or not (REPO / "Cargo.toml").is_file():
        pytest.skip("needs the repository checkout and cargo (Rust reference program)")
    return exe
