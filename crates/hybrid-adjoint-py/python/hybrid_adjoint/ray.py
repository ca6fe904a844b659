"""Ray: beyond one machine on an existing engine.

- :func:`sweep`: trainer runs (seeds, hyperparameters) as Ray tasks, each in its own run
  directory and resumable: calling :func:`sweep` again after a crash, a preemption or a stop
  continues every unfinished run from its checkpoint (finished runs are only re-scored).
- :class:`DataParallel`: the gradient of a minibatch computed by Ray actors, each on a shard of
  the batch, combined in a fixed order, so that training gives bit for bit the weights of a
  single process using :func:`blocked_gradient` with the same batch order, whatever the number
  of workers.

The reduction order: a batch is cut into blocks of ``block`` consecutive samples; a block's
gradient is the sum of its samples' gradients in sample order (``loss_and_gradient`` with
``reduction="sum"``); the batch gradient is the sum of the block gradients in block order,
scaled by ``1/len(batch)`` (the batch mean). Workers get whole blocks, so the sums are the
same whoever computes them. Communication per step: the weights to each worker, one gradient
per block back.

On a multi-machine cluster the same code runs unchanged: start Ray on the machines
(``ray start --head`` on one, ``ray start --address=HEAD:6379`` on the others), install this
package on each, and call ``ray.init(address="auto")`` before :func:`sweep` or
:class:`DataParallel`. Run directories of a sweep must then be on a file system every machine
sees (or each run resumes on the machine that holds its directory).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import ray

from .network import FeedForwardNet, LossResult, SpikeTrain, as_spike_trains
from .training import TrainResult, train

__all__ = ["sweep", "DataParallel", "blocked_gradient"]


def _run(config: Dict[str, Any], out_dir: str) -> TrainResult:
    if (Path(out_dir) / "config.json").is_file():
        return train(None, out_dir, mode="resume", epochs=config["train"]["epochs"])
    return train(config, out_dir)


def sweep(
    configs: Dict[str, Dict[str, Any]],
    out_root: "os.PathLike[str] | str",
    *,
    cpus_per_run: int = 1,
) -> Dict[str, TrainResult]:
    """Runs every configuration as a Ray task into ``out_root/<name>``; returns the results by
    name. A run directory that already holds a run is resumed (to the configuration's number of
    epochs), so a sweep is restarted by calling it again. Each task gets ``cpus_per_run`` CPUs
    and as many rayon threads."""
    env = {"env_vars": {"RAYON_NUM_THREADS": str(cpus_per_run)}}
    task = ray.remote(num_cpus=cpus_per_run)(_run).options(runtime_env=env)
    refs = {name: task.remote(c, os.fspath(Path(out_root) / name)) for name, c in configs.items()}
    return {name: ray.get(ref) for name, ref in refs.items()}


def _blocks(n: int, block: int) -> List[slice]:
    return [slice(s, min(s + block, n)) for s in range(0, n, block)]


def _block_gradients(net, inputs, labels, loss_args):
    """Per block: (losses, predictions, summed gradient)."""
    return net.loss_and_gradient(inputs, labels, reduction="sum", **loss_args)


def _combine(parts: Sequence[LossResult], n: int) -> LossResult:
    total = [np.zeros_like(g) for g in parts[0].gradient]
    for p in parts:  # block order
        for t, g in zip(total, p.gradient):
            t += g
    scale = 1.0 / n
    return LossResult(
        np.concatenate([p.loss for p in parts]),
        np.concatenate([p.prediction for p in parts]),
        [t * scale for t in total],
    )


def blocked_gradient(
    net: FeedForwardNet,
    inputs: Sequence[SpikeTrain],
    labels: Sequence[int],
    *,
    block: int = 8,
    **loss_args: Any,
) -> LossResult:
    """The batch-mean loss gradient with :class:`DataParallel`'s reduction order, in one
    process (the reference a data-parallel run reproduces bit for bit)."""
    labels = np.asarray(labels)
    parts = [
        _block_gradients(net, inputs[s], labels[s], loss_args) for s in _blocks(len(inputs), block)
    ]
    return _combine(parts, len(inputs))


@ray.remote
class _Worker:
    def __init__(self, net: FeedForwardNet, inputs, labels):
        self.net = net
        self.inputs = as_spike_trains(inputs)
        self.labels = np.asarray(labels)

    def gradients(self, weights, blocks: List[np.ndarray], loss_args):
        start, cpu = time.perf_counter(), time.process_time()
        self.net.set_weights(weights)
        out = [
            _block_gradients(self.net, [self.inputs[i] for i in idx], self.labels[idx], loss_args)
            for idx in blocks
        ]
        return out, time.perf_counter() - start, time.process_time() - cpu


class DataParallel:
    """Data-parallel loss and gradient over Ray actors.

    Args:
        net: the network (its structure; the weights are sent with every call).
        inputs, labels: the training set, sent once to every worker.
        workers: number of Ray actors.
        block: samples per block of the fixed reduction order.
        loss_args: passed to :meth:`FeedForwardNet.loss_and_gradient` (``loss``, ``tau0``, ...).
    """

    def __init__(
        self,
        net: FeedForwardNet,
        inputs: Sequence[SpikeTrain],
        labels: Sequence[int],
        *,
        workers: int = 2,
        block: int = 8,
        cpus_per_worker: int = 1,
        **loss_args: Any,
    ) -> None:
        if workers < 1 or block < 1:
            raise ValueError("workers and block must be at least 1")
        self.block, self.loss_args = block, loss_args
        data_in, data_lab = ray.put(list(inputs)), ray.put(np.asarray(labels))
        env = {"env_vars": {"RAYON_NUM_THREADS": str(cpus_per_worker)}}
        self.workers = [
            _Worker.options(num_cpus=cpus_per_worker, runtime_env=env).remote(
                net, data_in, data_lab)
            for _ in range(workers)
        ]
        self.last_timing: Optional[Dict[str, Any]] = None

    def loss_and_gradient(self, weights: Sequence[np.ndarray], batch: Sequence[int]) -> LossResult:
        """Loss per sample, predictions and the batch-mean gradient of the samples ``batch``
        (indices into the training set) at ``weights``.

        ``last_timing`` then tells where the call's time went, in seconds: ``wall`` (the whole
        call), ``put`` (the weights into Ray's object store), ``worker_compute`` and
        ``worker_cpu`` (per worker: wall and CPU time of its gradient work, from setting the
        weights to its last block gradient), ``combine`` (the sum in block order) and
        ``communication`` (``wall - put - max(worker_compute) - combine``: sending tasks and
        results, scheduling, waiting for the slowest worker to start)."""
        start = time.perf_counter()
        batch = np.asarray(batch)
        blocks = [batch[s] for s in _blocks(len(batch), self.block)]
        # Contiguous runs of whole blocks per worker.
        per = -(-len(blocks) // len(self.workers))
        weights_ref = ray.put([np.asarray(w, dtype=np.float64) for w in weights])
        put = time.perf_counter() - start
        refs = [
            w.gradients.remote(weights_ref, blocks[k * per:(k + 1) * per], self.loss_args)
            for k, w in enumerate(self.workers)
            if blocks[k * per:(k + 1) * per]
        ]
        results = ray.get(refs)
        combine_start = time.perf_counter()
        parts = [p for r, _, _ in results for p in r]
        out = _combine(parts, len(batch))
        end = time.perf_counter()
        compute = [t for _, t, _ in results]
        self.last_timing = {
            "wall": end - start,
            "put": put,
            "worker_compute": compute,
            "worker_cpu": [c for _, _, c in results],
            "combine": end - combine_start,
            "communication": combine_start - start - put - max(compute),
        }
        return out

    def shutdown(self) -> None:
        """Stops the workers."""
        for w in self.workers:
            ray.kill(w)
        self.workers = []
